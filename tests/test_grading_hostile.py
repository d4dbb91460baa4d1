"""Broken and hostile submissions: each gets a grade and a reason, the batch goes on, no grade is lost.

One class of lesson 01 submissions is graded in parallel (``workers=2``) with a short
per-cell timeout; every learner below does one bad thing.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import warnings

import nbformat
import pytest

from autograder import submissions as subs
from autograder.execute import MAX_OUTPUT_CHARS, read
from autograder.grade import grade
from autograder.score import autograded_total

pytestmark = pytest.mark.slow  # run by .ci/run (`pytest -m slow`), not by the default `pytest`

LESSON = "01_layers"
WRONG_WS = "def weighted_sum(x, w, b):\n    return float(np.dot(x, w))\n"  # forgets the bias


def _cells(nb):
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}


def _solution(course, name):
    return _cells(subs.learner_notebook(course, LESSON))[name].source


@pytest.fixture(scope="module")
def hostile(course, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    sub_dir, out = tmp / "submissions", tmp / "out"
    nb = lambda answers=None: subs.learner_notebook(course, LESSON, answers)  # noqa: E731
    ws = _solution(course, "weighted_sum")
    learners = {
        "perfect": nb(),
        "loop": nb({"neuron": "def neuron(x, w, b, f):\n    while True:\n        pass\n"}),
        "exit": nb({"column_forward": "import os\nos._exit(3)\n"}),
        "sysexit": nb({"weighted_sum": ws + "\nimport sys\nsys.exit(1)\n"}),
        "huge": nb({"weighted_sum": ws + "\nprint('x' * 5_000_000)\n"}),
        "memory": nb({"weighted_sum": ws + "\nhog = np.ones(2**31)  # 16 GiB\n"}),
        "comparisons": nb({"weighted_sum": WRONG_WS + (
            "import math, builtins, numpy.testing\n"
            "np.allclose = np.isclose = np.array_equal = lambda *a, **k: True\n"
            "numpy.testing.assert_allclose = numpy.testing.assert_array_almost_equal = lambda *a, **k: None\n"
            "math.isclose = lambda *a, **k: True\n")}),
        "fakecheck": nb({"weighted_sum": WRONG_WS + (
            "import ann_core.checks as _c\n_c.check = lambda name, fn, **k: print(f'✔ {name}: 4 checks passed')\n")}),
        "fakeclose": nb({"weighted_sum": WRONG_WS + (
            "import ann_core.checks as _c\n_c._close = lambda *a, **k: (True, '')\n")}),
    }
    cells = nb()  # duplicated, deleted, moved and edited cells
    c = _cells(cells)
    dup = copy.deepcopy(c["weighted_sum"])
    cells.cells.insert(cells.cells.index(c["weighted_sum"]) + 1, dup)
    cells.cells.remove(c["test_neuron"])
    cells.cells.remove(c["test_column_forward"])
    cells.cells.insert(cells.cells.index(c["column_forward"]), c["test_column_forward"])
    c["test_dense_forward"].source = "print('trust me')"
    learners["cells"] = cells
    with warnings.catch_warnings():  # nbformat warns about the duplicated cell id we planted
        warnings.simplefilter("ignore")
        for student, notebook in learners.items():
            subs.write(notebook, sub_dir, student, LESSON)
    results = grade(course, sub_dir, out, [LESSON], timeout=5, workers=2, progress=False)
    return {r.student_id: r for r in results}, out


def _item(result, name):
    return next(i for i in result.items if i.name == name)


def _full(result):
    """The autograded points: a written question's point waits for the instructor (test_written_answers)."""
    return autograded_total(result.items)[1]


def test_every_learner_gets_a_grade(hostile):
    results, _ = hostile
    assert set(results) >= {"perfect", "loop", "exit", "sysexit", "huge", "memory", "comparisons", "fakecheck",
                            "fakeclose", "cells"}
    assert all(r.status == "graded" for r in results.values()), {k: r.message for k, r in results.items()}
    assert results["perfect"].score == _full(results["perfect"]) > 0


def test_endless_loop_times_out_and_the_rest_is_graded(hostile):
    r = hostile[0]["loop"]
    assert _item(r, "neuron").status == "timeout" and _item(r, "neuron").score == 0
    assert r.score == _full(r) - _item(r, "neuron").max_score


def test_dead_kernel_keeps_what_ran(hostile):
    r = hostile[0]["exit"]
    assert _item(r, "weighted_sum").status == "passed" and _item(r, "neuron").status == "passed"
    assert _item(r, "column_forward").status == "not run" and _item(r, "dense_forward").score == 0
    assert "DeadKernelError" in r.message


def test_memory_is_limited_and_the_rest_is_graded(hostile):
    _, out = hostile
    nb = read(out / "nbgrader" / "autograded" / "memory" / LESSON / f"{LESSON}.ipynb")
    errors = [o.ename for c in nb.cells if c.cell_type == "code" and "nbgrader" in c.metadata
              for o in c.outputs if o.output_type == "error"]  # graded cells (a demo may miss what the
    assert errors == ["MemoryError"]                          # grader left out: steps.NeutraliseDemos)
    assert hostile[0]["memory"].score == _full(hostile[0]["memory"])


def test_sys_exit_is_just_an_error_in_that_cell(hostile):
    r = hostile[0]["sysexit"]
    assert r.score == _full(r)


def test_huge_output_is_truncated(hostile):
    _, out = hostile
    nb = read(out / "nbgrader" / "autograded" / "huge" / LESSON / f"{LESSON}.ipynb")
    sizes = [len(o.get("text", "")) for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert max(sizes) <= MAX_OUTPUT_CHARS + 200
    assert any("output truncated" in o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert hostile[0]["huge"].score == _full(hostile[0]["huge"])


@pytest.mark.parametrize("student", ["comparisons", "fakecheck", "fakeclose"])
def test_replaced_comparisons_do_not_fool_the_tests(hostile, student):
    item = _item(hostile[0][student], "weighted_sum")
    assert item.score == 0, item
    if student == "fakecheck":
        assert "left no record" in item.message
    if student == "fakeclose":
        assert "wrong values" in item.message and "bias" in item.message  # the grader's own diagnosis


def test_deleted_duplicated_moved_and_edited_cells_are_repaired(hostile):
    r = hostile[0]["cells"]
    assert r.score == _full(r), r.message
    assert "restored the deleted cell test_neuron" in r.message
    assert "moved test_column_forward back below column_forward" in r.message


def test_regrading_resumes_without_rerunning_or_duplicating(hostile, course):
    results, out = hostile
    done = out / "nbgrader" / "autograded" / "loop" / LESSON / f"{LESSON}.ipynb"
    done.unlink()  # as if the batch had been interrupted before this one was saved
    again = {r.student_id: r for r in grade(course, out.parent / "submissions", out, [LESSON], timeout=5,
                                            workers=2, progress=False)}
    assert {k: r.score for k, r in again.items()} == {k: r.score for k, r in results.items()}
    assert again["loop"].seconds > 0 and again["perfect"].seconds == 0  # only the lost one ran again
    with sqlite3.connect(out / "nbgrader" / "gradebook.db") as db:
        n = db.execute("select count(*) from submitted_assignment").fetchone()[0]
    assert n == len(results)


def test_a_notebook_that_is_not_a_notebook_is_invalid_not_fatal(course, tmp_path):
    sub_dir = tmp_path / "s"
    subs.write(subs.learner_notebook(course, LESSON), sub_dir, "ok", LESSON)
    bad = sub_dir / "schema" / LESSON / f"{LESSON}.ipynb"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"cells": 3, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    results = {r.student_id: r for r in grade(course, sub_dir, tmp_path / "out", [LESSON], progress=False)}
    assert results["schema"].status == "invalid" and results["schema"].score == 0
    assert "notebook" in results["schema"].message
    assert results["ok"].score == _full(results["ok"])
    assert nbformat  # the schema error came from nbformat's validator


def test_any_executor_can_run_the_execute_step(course, tmp_path):
    """The execute step is plain JSON in and out: a caller's executor (a Dask cluster's, say) runs it."""
    from concurrent.futures import ProcessPoolExecutor

    sub_dir = tmp_path / "s"
    subs.write(subs.learner_notebook(course, LESSON), sub_dir, "ok", LESSON)
    subs.write(subs.learner_notebook(course, LESSON, {"weighted_sum": WRONG_WS}), sub_dir, "slip", LESSON)
    with ProcessPoolExecutor(max_workers=1) as pool:
        results = {r.student_id: r for r in grade(course, sub_dir, tmp_path / "out", [LESSON], progress=False,
                                                  executor=pool)}
    assert results["ok"].score == _full(results["ok"])
    slip = _item(results["slip"], "weighted_sum")
    assert slip.score == 0 and "bias" in slip.message


def test_without_a_sandbox_grade_refuses_unless_told_it_is_unsafe(course, tmp_path, monkeypatch, capsys):
    """No user namespaces (or no bwrap): learner code does not run, unless --unsafe-no-sandbox, which is recorded."""
    from autograder.grade import SandboxUnavailable

    monkeypatch.setattr("autograder.grade.probe", lambda: "bwrap: No permissions to create new namespace")
    sub_dir = tmp_path / "s"
    subs.write(subs.learner_notebook(course, LESSON), sub_dir, "ok", LESSON)
    with pytest.raises(SandboxUnavailable, match="refusing to run learner code without a sandbox"):
        grade(course, sub_dir, tmp_path / "out", [LESSON], progress=False)
    assert not (tmp_path / "out" / "grades.csv").exists()
    (result,) = grade(course, sub_dir, tmp_path / "out", [LESSON], progress=False, unsafe_no_sandbox=True)
    assert result.score == _full(result)
    assert "graded WITHOUT a sandbox" in result.message and "No permissions" in result.message
    assert "WITHOUT a sandbox" in (tmp_path / "out" / "sandbox.txt").read_text()
    assert "WITHOUT a sandbox" in (tmp_path / "out" / "grades.csv").read_text()
    assert "WARNING" in capsys.readouterr().err


def test_duplicated_cell_ids_are_repaired_with_a_note(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1"), nbformat.v4.new_code_cell("2")])
    nb.cells[1].id = nb.cells[0].id  # a copy-pasted cell, written without nbformat's repair
    path = tmp_path / "dup.ipynb"
    path.write_text(json.dumps(nb))
    notes = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        repaired = read(path, notes)
    assert len({c.id for c in repaired.cells}) == 2
    assert notes == ["duplicated cells were given new ids"]
