"""Lesson 00_start_here: a lesson without graded cells, and what the harness does with one."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import nbformat

from autograder import check as check_module
from autograder.course import Course
from autograder.release import strip_markers

ROOT = Path(__file__).resolve().parent.parent
COURSE = Course(ROOT)
START = "00_start_here"


def test_the_start_page_comes_first_and_has_nothing_to_grade():
    assert COURSE.lessons()[0] == START
    assert not COURSE.graded(START)
    assert COURSE.graded_lessons() == COURSE.lessons()[1:]  # every other lesson is graded
    nb = nbformat.read(COURSE.lesson(START), as_version=4)
    assert not any(c.metadata.get("nbgrader", {}).get("grade") for c in nb.cells)
    assert not check_module.has_exercises(nb)


def test_the_start_page_lists_every_lesson_and_the_five_articles():
    text = "\n".join(c.source for c in nbformat.read(COURSE.solution(START), as_version=4).cells
                     if c.cell_type == "markdown")
    for lesson in COURSE.lessons() + ["13_autodiff", "14_frameworks"]:
        assert f"| {lesson} |" in text, lesson
    for title in ("類神經網路", "人工智能与机器学习原理精解【22】", "神經網路簡介 多層神經網路",
                  "深度学习图像分类相关概念简析+个人举例1(ANN相关概念与计算)",
                  "Let's Go To The AI Party!", "Day9-前向傳播與反向傳播演算法"):
        assert title in text, title
    assert "seed" not in text.lower()  # the articles are named by title, never by an internal label


def _fill(path: Path, lesson: str):
    sol = nbformat.read(COURSE.solution(lesson), as_version=4)
    code = {c.metadata.nbgrader["grade_id"]: c.source for c in sol.cells
            if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(path, as_version=4)
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("solution"):
            c.source = strip_markers(code[c.metadata.nbgrader["grade_id"]])
    nbformat.write(nb, path)


def test_course_status_lists_the_start_page_and_never_runs_it(tmp_path, monkeypatch):
    for lesson in (START, "07_momentum", "08_adagrad"):
        shutil.copytree(COURSE.lessons_dir / lesson, tmp_path / lesson)
    _fill(tmp_path / "07_momentum" / "07_momentum.ipynb", "07_momentum")
    ran = []
    real = check_module.grade_like

    def spy(nb, path, timeout=60):
        ran.append(Path(path).parent.name)
        return real(nb, path, timeout)

    monkeypatch.setattr(check_module, "grade_like", spy)
    assert check_module.lessons_in(tmp_path) == [START, "07_momentum", "08_adagrad"]
    out = io.StringIO()
    results = check_module.course_status(tmp_path, check_module.lessons_in(tmp_path), out=out)
    assert [(r.lesson, r.status) for r in results] == [
        (START, "no exercises"), ("07_momentum", "done"), ("08_adagrad", "not started")]
    assert ran == ["07_momentum"]  # the start page (whose table runs the course) is never run
    text = out.getvalue()
    assert re.search(r"00_start_here\s+no exercises", text)
    assert "1 of 2 lessons done, 1 started" in text and "Next: 08_adagrad." in text


def test_check_on_the_start_page_has_nothing_to_check(tmp_path):
    out = io.StringIO()
    assert check_module.check(COURSE.lesson(START), out=out) == 0
    assert out.getvalue() == "✔ 00_start_here.ipynb has no exercises: nothing to check (it is read, not graded).\n"


def test_tags_give_a_lesson_without_exercises_no_where_you_stand(tmp_path):
    from autograder.tags import CODE_ID, MD_ID, edit, progress_cells

    path = tmp_path / START / f"{START}.ipynb"
    path.parent.mkdir()
    nb = json.loads(COURSE.solution(START).read_text())
    md, code = progress_cells("00", [])  # a stale "Where you stand" is removed, not refreshed
    nb["cells"] += [md, code]
    path.write_text(json.dumps(nb))
    r = edit(path)
    assert r["items"] == 0 and r["changed"]
    ids = [c.get("id") for c in json.loads(path.read_text())["cells"]]
    assert MD_ID not in ids and CODE_ID not in ids
    assert not edit(path)["changed"]


def test_grade_and_selftest_skip_a_lesson_without_graded_cells(tmp_path):
    from autograder.grade import Inline, grade
    from autograder.selftest import selftest
    from autograder.submissions import learner_notebook, write

    write(learner_notebook(COURSE, START), tmp_path / "subs", "ada", START)
    results = grade(COURSE, tmp_path / "subs", tmp_path / "out", [START], executor=Inline(), progress=False,
                    unsafe_no_sandbox=True)
    assert results == []
    lines = []
    assert selftest(COURSE, [START], out=lines.append, progress=False) == []
    assert lines == ["nothing to selftest: 00_start_here has no graded cells"]


def test_the_start_page_shows_the_learners_own_progress(tmp_path):
    """Run All on the released start page, in a course where the learner finished 07 and began nothing else:
    its table is the learner's, read from the lessons saved beside it."""
    from nbclient import NotebookClient

    from autograder.course import KERNEL_ARGS

    for lesson in (START, "07_momentum", "08_adagrad"):
        shutil.copytree(COURSE.lessons_dir / lesson, tmp_path / lesson)
    _fill(tmp_path / "07_momentum" / "07_momentum.ipynb", "07_momentum")
    path = tmp_path / START / f"{START}.ipynb"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=False, extra_arguments=KERNEL_ARGS,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    table = "".join(o.get("text", "") for o in nb.cells[[c.get("id") for c in nb.cells].index("progress-code")].outputs)
    assert f"saved in {tmp_path}" in table
    assert re.search(r"07_momentum\s+done\s+2/2 exercises, 6/6 points", table), table
    assert re.search(r"08_adagrad\s+not started", table) and "1 of 2 lessons done, 1 started" in table, table
