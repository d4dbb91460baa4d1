"""A learner's view of the released lessons (issue 11).

* Run All on an untouched lesson reaches the last cell. JupyterLab's Run All sends
  ``stop_on_error`` except for cells tagged ``raises-exception``; nbclient with
  ``allow_errors=False`` does exactly the same, so it stands in for the browser here
  (tests/test_browser.py checks the real one).
* Every failing check shows as a short block, and the last cell says where you stand.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.course import KERNEL_ARGS, Course

ROOT = Path(__file__).resolve().parent.parent
COURSE = Course(ROOT)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _run_all(path: Path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=False, extra_arguments=KERNEL_ARGS,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def _text(cell) -> str:
    parts = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            parts.append(o.text)
        elif o.output_type == "error":
            parts.append(ANSI.sub("", "\n".join(o.traceback)))
        elif "text/plain" in o.get("data", {}):
            parts.append(o.data["text/plain"])
    return "\n".join(parts)


@pytest.mark.parametrize("lesson", COURSE.lessons())
def test_run_all_reaches_the_last_cell_of_an_untouched_lesson(lesson):
    t0 = time.perf_counter()
    nb = _run_all(COURSE.lesson(lesson))  # raises CellExecutionError at the first error that would stop Run All
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "a code cell was not run"
    last = code[-1]
    n_items = sum(1 for c in code if c.metadata.get("nbgrader", {}).get("grade")
                  and not c.metadata.get("nbgrader", {}).get("solution"))
    if n_items:
        assert f"0 of {n_items} exercises pass" in _text(last)
    else:  # the start page ends with the course's progress table: every lesson released, none started
        assert re.search(r"0 of \d+ lessons done, 0 started", _text(last)), _text(last)
    for c in code:
        for o in c.outputs:
            if o.output_type != "error":
                continue
            text = ANSI.sub("", "\n".join(o.traceback))
            if o.ename == "CheckFailed":
                assert len(text.splitlines()) <= 8, text
                assert "ann_core/checks" not in text, text
            if o.ename == "NotImplementedError":  # an unfinished exercise, or a demo that needs one
                assert "not written yet" in text and len(text.splitlines()) <= 4, text
    print(f"{lesson}: {len(code)} code cells in {time.perf_counter() - t0:.1f} s")


def test_the_solutions_are_as_the_tagging_tool_leaves_them(tmp_path):
    """Every cell that may raise for a learner carries `raises-exception` and every lesson ends with
    "Where you stand": running `python -m autograder.tags` changes nothing (add a cell, run it)."""
    import shutil
    from pathlib import Path

    from autograder.tags import edit

    root = Path(__file__).resolve().parent.parent
    shutil.copytree(root / "solutions", tmp_path / "solutions")
    changed = [p.parent.name for p in sorted((tmp_path / "solutions").glob("*/*.ipynb")) if edit(p)["changed"]]
    assert changed == [], f"run `python -m autograder.tags` and refresh: {changed}"
