"""Step 1, release: ``solutions/`` → ``lessons/`` through nbgrader's ``generate_assignment``.

nbgrader strips solutions (``### BEGIN SOLUTION`` regions become a stub), hidden tests
and outputs, locks read-only cells and records checksums. Afterwards every generated
notebook is scanned: a lesson that still holds a solution marker, a hidden-test marker,
stored outputs or a line of solution code fails the release.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

from .course import Course, api, nbgrader_config

MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


class ReleaseError(RuntimeError):
    pass


def release(course: Course, lessons: list[str], dest: Path | None = None, quiet: bool = False) -> list[Path]:
    """Generate the learner notebooks of ``lessons`` into ``dest`` (default ``lessons/``).

    Returns the written notebook paths; raises ``ReleaseError`` on an nbgrader failure
    or a leak. The gradebook nbgrader insists on writing goes to a temporary directory.
    """
    dest = (dest or course.lessons_dir).resolve()
    written = []
    with tempfile.TemporaryDirectory(prefix="ann-release-") as tmp:
        nbg = api(nbgrader_config(course, Path(tmp), dest))
        for lesson in lessons:
            result = nbg.generate_assignment(lesson, force=True, create=True)
            if not result["success"]:
                raise ReleaseError(f"nbgrader could not release {lesson}:\n{result.get('error') or result.get('log')}")
            out = dest / lesson / f"{lesson}.ipynb"
            problems = leaks(course.solution(lesson), out)
            if problems:
                shutil.rmtree(dest / lesson, ignore_errors=True)
                raise ReleaseError(f"{lesson} would leak:\n  " + "\n  ".join(problems))
            written.append(out)
            if not quiet:
                print(f"released {lesson} → {out.relative_to(course.root) if out.is_relative_to(course.root) else out}")
    return written


def _solution_lines(solution_nb: dict) -> set[str]:
    """Distinctive code lines inside ``### BEGIN SOLUTION`` regions of the source notebook."""
    lines, inside = set(), False
    for cell in solution_nb["cells"]:
        for line in "".join(cell.get("source", "")).splitlines():
            s = line.strip()
            if "BEGIN SOLUTION" in s:
                inside = True
            elif "END SOLUTION" in s:
                inside = False
            elif inside and len(s) >= 12 and not s.startswith("#"):
                lines.add(s)
    return lines


def leaks(solution: Path, lesson: Path) -> list[str]:
    """What the learner notebook ``lesson`` reveals that it should not (empty if nothing)."""
    nb = json.loads(lesson.read_text())
    problems = []
    for i, cell in enumerate(nb["cells"]):
        src = "".join(cell.get("source", ""))
        for m in MARKERS:
            if m in src:
                problems.append(f"cell {i} contains the marker {m!r}")
        if cell.get("cell_type") == "code" and cell.get("outputs"):
            problems.append(f"cell {i} has stored outputs")
    secret = _solution_lines(json.loads(solution.read_text()))
    visible = {line.strip() for c in nb["cells"] for line in "".join(c.get("source", "")).splitlines()}
    problems += [f"solution line visible: {s!r}" for s in sorted(secret & visible)]
    return problems


def strip_markers(source: str) -> str:
    """Remove the ``### BEGIN/END SOLUTION`` marker lines, keeping the code between them."""
    return re.sub(r"^[ \t]*#+ *(BEGIN|END) SOLUTION[^\n]*\n?", "", source, flags=re.M)
