"""Written questions (nbgrader's manually graded answer cells): scored by a person, never by a test.

The grader leaves their points pending ("needs manual grading"), the autograded points are
graded as before, formgrader's manual score comes back through the gradebook, and the
learner-facing views (``check``, *Where you stand*, the feedback page) say who grades them.
"""

from __future__ import annotations

import csv
import io

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell, new_notebook

from autograder import submissions as subs
from autograder.check import lesson_status
from autograder.grade import grade
from autograder.score import MANUAL, NOT_ANSWERED, autograded_total, score_notebook

LESSON = "02_activations"


def _answer_cell(source, checksum_of=None):
    from nbgrader import utils

    cell = new_markdown_cell(source)
    cell.metadata.nbgrader = {"grade": True, "solution": True, "grade_id": "q_demo", "points": 1,
                              "locked": False, "schema_version": 3, "task": False}
    if checksum_of is not None:
        released = new_markdown_cell(checksum_of)
        released.metadata.nbgrader = dict(cell.metadata.nbgrader)
        cell.metadata.nbgrader["checksum"] = utils.compute_checksum(released)
    return cell


def test_a_written_answer_is_an_item_pending_manual_grading():
    answered = new_notebook(cells=[_answer_cell("Because the bias shifts the line.", "YOUR ANSWER HERE")])
    blank = new_notebook(cells=[_answer_cell("YOUR ANSWER HERE", "YOUR ANSWER HERE")])
    (item,) = score_notebook(answered)  # before: markdown cells were not items at all
    assert (item.grade_id, item.score, item.max_score, item.status, item.manual) == ("q_demo", 0, 1, MANUAL, True)
    assert "graded by your instructor" in item.message
    (item,) = score_notebook(blank)
    assert item.status == NOT_ANSWERED and item.score == 0
    assert autograded_total([item]) == (0, 0)


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    released = nbformat.read(str(course.lesson(LESSON)), as_version=4)
    assert any(c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")
               for c in released.cells), f"{LESSON} has no written question"
    tmp = tmp_path_factory.mktemp("written")
    sub_dir = tmp / "submissions"
    subs.write(subs.learner_notebook(course, LESSON), sub_dir, "perfect", LESSON)
    subs.write(subs.learner_notebook(course, LESSON, untouched=True), sub_dir, "untouched", LESSON)
    out = tmp / "out"
    results = grade(course, sub_dir, out, [LESSON], timeout=60, progress=False)
    return course, sub_dir, out, {r.student_id: r for r in results}


def test_grading_leaves_written_points_pending_and_counts_them_once_given(graded):
    course, sub_dir, out, results = graded
    perfect, untouched = results["perfect"], results["untouched"]
    written = [i for i in perfect.items if i.manual]
    assert written and all(i.status == MANUAL and i.score == 0 for i in written)
    got, best = autograded_total(perfect.items)
    assert got == best > 0  # every autograded item passes
    assert perfect.score == got and perfect.max_score == best + sum(i.max_score for i in written)
    assert "all items pass" in perfect.message and "written answers to grade in formgrader" in perfect.message
    assert untouched.score == 0
    assert all(i.status == NOT_ANSWERED for i in untouched.items if i.manual)
    rows = list(csv.DictReader((out / "items.csv").open()))
    row = next(r for r in rows if r["student_id"] == "perfect" and r["grade_id"] == written[0].grade_id)
    assert (row["status"], float(row["score"]), float(row["max_score"])) == (MANUAL, 0, written[0].max_score)
    page = (out / "feedback" / "perfect" / LESSON / f"{LESSON}.html").read_text()
    assert "to be graded by your instructor" in page

    # formgrader's manual score, through nbgrader's gradebook: the resumed grading counts it
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{out / 'nbgrader' / 'gradebook.db'}", "ann-from-scratch") as gb:
        g = gb.find_grade(written[0].grade_id, LESSON, LESSON, "perfect")
        assert g.needs_manual_grade  # formgrader lists it for manual grading
        g.manual_score = written[0].max_score
        gb.db.commit()
    again = {r.student_id: r for r in grade(course, sub_dir, out, [LESSON], timeout=60, progress=False)}
    item = next(i for i in again["perfect"].items if i.grade_id == written[0].grade_id)
    assert (item.status, item.score) == ("graded", written[0].max_score)
    assert again["perfect"].score == perfect.score + written[0].max_score


def test_check_and_where_you_stand_do_not_count_written_questions_as_failing(course, tmp_path):
    from ann_core.checks.progress import progress

    path = subs.write(subs.learner_notebook(course, LESSON), tmp_path, "me", LESSON)
    status = lesson_status(LESSON, path)
    assert status.status == "done" and status.passed == status.items  # written question not an exercise
    out = io.StringIO()
    progress({}, {}, lesson="02", out=out, written={"q_demo": 1})
    assert "✎ q_demo" in out.getvalue() and "graded by your instructor" in out.getvalue()
