"""The grading harness, end to end through nbgrader's real SQLite gradebook."""

from __future__ import annotations

import csv
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import submissions as subs
from autograder.grade import grade
from autograder.release import leaks, release
from autograder.report import report
from autograder.score import autograded_total, score_notebook

ROOT = Path(__file__).resolve().parent.parent
GRADED = ["01_layers", "02_activations"]
# One realistic wrong function per lesson, and the hint its check must print.
WRONG = {
    "01_layers": ("column_forward", "def column_forward(W, x, b):\n    return np.asarray(W).T @ x + b\n",
                  "W is transposed"),
    "02_activations": ("sigmoid", "def sigmoid(z):\n    return 1 / (1 + np.exp(z))\n",
                       "the sign of the exponent"),
}


def test_lessons_are_exactly_what_release_generates(course, tmp_path):
    lessons = course.lessons()
    release(course, lessons, dest=tmp_path, quiet=True)
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(course.lessons_dir) for p in course.lessons_dir.rglob("*")
                       if p.is_file() and ".ipynb_checkpoints" not in p.parts)
    assert committed == generated, "lessons/ is out of date: run `python -m autograder release`"
    for rel in generated:
        if rel.suffix == ".ipynb":
            assert json.loads((course.lessons_dir / rel).read_text()) == json.loads((tmp_path / rel).read_text()), (
                f"lessons/{rel} differs from what nbgrader generates: run `python -m autograder release`")
        else:
            assert (course.lessons_dir / rel).read_bytes() == (tmp_path / rel).read_bytes()


def test_no_lesson_leaks_a_solution_or_hidden_test(course):
    for lesson in course.lessons():
        assert leaks(course.solution(lesson), course.lesson(lesson)) == []
        text = course.lesson(lesson).read_text()
        if course.graded(lesson):  # 00_start_here has no exercise
            assert "raise NotImplementedError()" in text


def test_leak_detector_catches_a_leak(course, tmp_path):
    lesson = course.graded_lessons()[0]
    nb = json.loads(course.lesson(lesson).read_text())
    sol = nbformat.read(str(course.solution(lesson)), as_version=4)
    secret = next(c for c in sol.cells if "BEGIN SOLUTION" in c.source)
    nb["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [
        {"output_type": "stream", "name": "stdout", "text": "x"}], "source": secret.source})
    leaky = tmp_path / "leaky.ipynb"
    leaky.write_text(json.dumps(nb))
    problems = leaks(course.solution(lesson), leaky)
    assert any("BEGIN SOLUTION" in p for p in problems)
    assert any("outputs" in p for p in problems)
    assert any("solution line visible" in p for p in problems)


@pytest.fixture(scope="module")
def graded_class(course, tmp_path_factory):
    """A class of five graded through nbgrader: perfect, untouched, one wrong, broken, missing."""
    tmp = tmp_path_factory.mktemp("class")
    sub_dir = tmp / "submissions"
    for lesson in GRADED:
        subs.write(subs.learner_notebook(course, lesson), sub_dir, "perfect", lesson)
        subs.write(subs.learner_notebook(course, lesson, untouched=True), sub_dir, "untouched", lesson)
        name, code, _ = WRONG[lesson]
        subs.write(subs.learner_notebook(course, lesson, {name: code}), sub_dir, "onewrong", lesson)
        broken = sub_dir / "broken" / lesson / f"{lesson}.ipynb"
        broken.parent.mkdir(parents=True)
        broken.write_text('{"cells": [ this is not json')
    (sub_dir / "missing").mkdir()
    results = grade(course, sub_dir, tmp / "out", GRADED, timeout=60, progress=False)
    return {(r.student_id, r.assignment): r for r in results}, tmp / "out"


def _items(results, student, lesson):
    return {i.grade_id: i for i in results[(student, lesson)].items}


@pytest.mark.parametrize("lesson", GRADED)
def test_perfect_submission_gets_full_marks(graded_class, lesson):
    results, _ = graded_class
    r = results[("perfect", lesson)]
    got, best = autograded_total(r.items)  # written questions wait for the instructor (test_written_answers)
    assert best > 0
    assert r.score == got == best, [(i.grade_id, i.message) for i in r.items if i.status != "passed"]


@pytest.mark.parametrize("lesson", GRADED)
def test_untouched_lesson_gets_zero(graded_class, lesson):
    results, _ = graded_class
    r = results[("untouched", lesson)]
    assert r.score == 0
    assert all("not implemented" in i.message for i in r.items if i.autograded)


@pytest.mark.parametrize("lesson", GRADED)
def test_one_wrong_function_loses_exactly_its_points(graded_class, lesson):
    results, _ = graded_class
    name, _, hint = WRONG[lesson]
    perfect, wrong = results[("perfect", lesson)], _items(results, "onewrong", lesson)
    lost = wrong[f"test_{name}"]
    assert lost.score == 0 and lost.max_score > 0
    assert hint in lost.message
    assert results[("onewrong", lesson)].score == perfect.score - lost.max_score
    assert all(i.status == "passed" for gid, i in wrong.items() if gid != f"test_{name}" and i.autograded)


def test_broken_and_missing_submissions_get_zero_with_a_reason(graded_class):
    results, _ = graded_class
    for lesson in GRADED:
        broken, missing = results[("broken", lesson)], results[("missing", lesson)]
        assert (broken.score, broken.status) == (0, "invalid") and "not a valid notebook" in broken.message
        assert (missing.score, missing.status) == (0, "missing") and "no submission" in missing.message
        assert broken.items and all(i.score == 0 for i in broken.items)


def test_gradebook_csvs_and_feedback(graded_class):
    results, out = graded_class
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{out / 'nbgrader' / 'gradebook.db'}", "ann-from-scratch") as gb:
        for (student, lesson), r in results.items():
            assert gb.find_submission(lesson, student).score == r.score  # zeros are recorded too
    grades = list(csv.DictReader((out / "grades.csv").open()))
    items = list(csv.DictReader((out / "items.csv").open()))
    assert {"student_id", "assignment", "score", "max_score"} <= set(grades[0])
    assert list(items[0]) == ["student_id", "assignment", "grade_id", "score", "max_score", "status", "message",
                              "adjustment"]  # the instructor's changes in the gradebook (issue 12)
    assert len(grades) == len(results) == 5 * len(GRADED)
    by = {(g["student_id"], g["assignment"]): float(g["score"]) for g in grades}
    assert all(by[k] == r.score for k, r in results.items())
    # items add up to the notebook's score
    for (student, lesson), r in results.items():
        mine = [float(i["score"]) for i in items if (i["student_id"], i["assignment"]) == (student, lesson)]
        assert sum(mine) == r.score
    # feedback: one page per graded notebook, with the hint, without the hidden tests
    name, _, hint = WRONG["02_activations"]
    html = (out / "feedback" / "onewrong" / "02_activations" / "02_activations.html").read_text()
    assert hint in html
    assert "BEGIN HIDDEN TESTS" not in html and "hidden=True" not in html


def test_report(graded_class):
    _, out = graded_class
    dest = report(out, quiet=True)
    rows = list(csv.DictReader((dest / "items.csv").open()))
    name, _, hint = WRONG["02_activations"]
    row = next(r for r in rows if r["assignment"] == "02_activations" and r["grade_id"] == f"test_{name}")
    assert float(row["pass_rate"]) == pytest.approx(1 / 5)  # only "perfect" passes it
    assert float(next(r for r in rows if r["grade_id"] == "test_relu")["pass_rate"]) == pytest.approx(2 / 5)
    assert (dest / "scores.png").stat().st_size > 1000
    lessons = list(csv.DictReader((dest / "lessons.csv").open()))
    assert {r["assignment"] for r in lessons} == set(GRADED)


def test_regrading_is_idempotent(graded_class, course):
    results, out = graded_class
    again = grade(course, out.parent / "submissions", out, GRADED, timeout=60, progress=False)
    assert {(r.student_id, r.assignment): r.score for r in again} == {k: r.score for k, r in results.items()}
    assert len(list(csv.DictReader((out / "grades.csv").open()))) == len(results)


def _cli(*args, env=None, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def test_check_command_passes_solutions_and_explains_failures(course, tmp_path):
    ok = _cli("check", str(course.solution("02_activations")))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "all checks pass" in ok.stdout
    nb = subs.learner_notebook(course, "02_activations", {"sigmoid": WRONG["02_activations"][1]})
    path = subs.write(nb, tmp_path, "me", "02_activations")
    bad = _cli("check", str(path))
    assert bad.returncode == 1
    lines = bad.stdout.splitlines()
    i = next(k for k, x in enumerate(lines) if x.startswith("✘"))
    block = [lines[i]] + list(itertools.takewhile(lambda x: x.startswith("      "), lines[i + 1:]))
    assert "sigmoid" in lines[i] and WRONG["02_activations"][2] in " ".join(x.strip() for x in block)
    assert len(block) <= 7  # the item, then its message: the failure and the likely mistake
    assert sum(x.startswith("✔") for x in bad.stdout.splitlines()) == sum(i.autograded for i in score_notebook(nb)) - 1


def test_check_command_rejects_a_malformed_notebook(tmp_path):
    bad = tmp_path / "x.ipynb"
    bad.write_text("not json")
    r = _cli("check", str(bad))
    assert r.returncode == 2 and "not a valid notebook" in r.stdout


def test_release_works_without_the_venv_on_path(tmp_path):
    """nbgrader runs `alembic` from PATH when it makes a gradebook; the CLI must find it next to its
    interpreter. (Grading an empty class makes a gradebook and registers the lesson as `release`
    does, in tmp_path: a release into lessons/ would race the tests that read it.)"""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = "/usr/bin:/bin"
    (tmp_path / "nobody").mkdir()
    r = _cli("grade", str(tmp_path / "nobody"), "--out", str(tmp_path / "out"), "--lesson", "01", env=env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "nbgrader" / "gradebook.db").is_file()


def test_score_rules_follow_nbgrader_and_fix_its_gaps():
    cell = nbformat.v4.new_code_cell("check()")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "test_f", "points": 2,
                                 "locked": True, "schema_version": 3}
    ran = nbformat.v4.new_notebook(cells=[cell])
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="✔ f: 3 checks passed\n")]
    assert score_notebook(ran)[0].score == 2
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="RuntimeWarning: overflow\n")]
    item = score_notebook(ran)[0]
    assert (item.score, item.status) == (0, "failed") and "stderr" in item.message
    cell.outputs = [nbformat.v4.new_output("error", ename="CellTimeoutError", evalue="", traceback=[])]
    assert score_notebook(ran)[0].status == "timeout"
    cell.execution_count, cell.outputs = None, []  # never ran: nbgrader alone would give full points
    assert score_notebook(ran)[0].score == 0


def test_nbgrader_notebook_feedback_hides_the_hidden_tests(graded_class):
    _, out = graded_class
    from autograder.cli import main

    assert main(["feedback", "--out", str(out)]) == 0
    pages = sorted((out / "feedback-notebooks").glob("*/*/*.html"))
    assert len(pages) == 3 * len(GRADED)  # perfect, untouched, onewrong (broken and missing have no notebook)
    assert all("(hidden tests not shown)" in p.read_text() for p in pages)
    assert "Score:" in (out / "feedback" / "perfect" / GRADED[0] / f"{GRADED[0]}.html").read_text()  # grade's page
    for page in pages:
        text = page.read_text()
        assert "BEGIN HIDDEN TESTS" not in text and "hidden=True" not in text and "seed=" not in text


def test_report_groups_failures_by_kind_without_mangling_names():
    from autograder.report import failure_kind

    assert failure_kind("l2_penalty is not implemented yet") == "l2_penalty is not implemented yet"
    assert failure_kind("sigmoid(2) 1 of 1 values differ: got 0.119, expected -8.8e-3") == \
        failure_kind("sigmoid(3) 2 of 5 values differ: got 1.5, expected 0.25")
    assert failure_kind("x. Likely mistake: the bias b is missing") == "Likely mistake: the bias b is missing"
