"""A real browser on formgrader, started the way the README says (`python -m autograder formgrader`),
on a demo class graded by `grade`: every learner and lesson with its autograded score, the
per-cell scores and the notebook, and a score the instructor changed by hand.

Run with ``pytest -m browser tests/browser/test_formgrader.py -p no:nbval -o addopts=""``.
Needs Playwright for Python and Debian's /usr/bin/chromium (never ``playwright install``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from browser_helpers import ROOT, free_port, jupyter_server, require_browser

pytestmark = pytest.mark.browser

LESSONS = ["01_layers", "02_activations"]
TOKEN = "formgrader-test"


@pytest.fixture(scope="module")
def graded_demo(tmp_path_factory):
    """The course (symlinked, so nothing in the repository is written) with a demo class graded in grading/demo."""
    require_browser()  # before grading: skip at once where there is no browser
    from nbgrader.api import Gradebook

    from autograder.course import COURSE_ID, Course
    from autograder.grade import grade
    from autograder.submissions import demo_class

    root = tmp_path_factory.mktemp("fg") / "course"
    root.mkdir()
    for name in ("solutions", "lessons", "pyproject.toml", "nbgrader_config.py"):
        (root / name).symlink_to(ROOT / name)
    course, out = Course(root), root / "grading" / "demo"
    demo_class(course, LESSONS, out / "submissions")
    results = grade(course, out / "submissions", out, LESSONS, workers=2, progress=False)
    with Gradebook(f"sqlite:///{out / 'nbgrader' / 'gradebook.db'}", COURSE_ID) as gb:  # as formgrader writes it
        gb.find_grade("test_weighted_sum", "01_layers", "01_layers", "cy").manual_score = 1.0
        gb.db.commit()
    results = grade(course, out / "submissions", out, LESSONS, workers=1, progress=False)  # resume: reads it back
    return root, out, {(r.student_id, r.assignment): r.score for r in results}


@pytest.fixture(scope="module")
def formgrader(graded_demo):
    """`python -m autograder formgrader --out grading/demo` in the course root; yields its base URL."""
    root, out, _ = graded_demo
    port = free_port()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               JUPYTER_PLATFORM_DIRS="1")
    argv = [sys.executable, "-m", "autograder", "formgrader", "--out", "grading/demo", f"--port={port}",
            "--no-browser", "--", f"--IdentityProvider.token={TOKEN}", "--ServerApp.ip=127.0.0.1"]
    with jupyter_server(argv, env=env, cwd=root, token=TOKEN, log=root / "formgrader.log") as base:
        yield base
    assert "not a subdirectory of the notebook server root" not in (root / "formgrader.log").read_text()


@pytest.fixture(scope="module")
def page(formgrader, browser):
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    pg.goto(f"{formgrader}/formgrader?token={TOKEN}")  # log in once (the token sets a cookie)
    yield pg
    pg.close()


def _table(pg, url):
    pg.goto(url)
    pg.wait_for_selector("#main-table tr td a", timeout=30000)  # rows come from formgrader's API
    return [[td.inner_text().strip() for td in tr.query_selector_all("td")]
            for tr in pg.query_selector_all("#main-table tr")]


def test_formgrader_lists_every_lesson_and_student(page, formgrader, graded_demo, tmp_path):
    _, _, scores = graded_demo
    rows = _table(page, f"{formgrader}/formgrader/gradebook")
    by_lesson = {r[0]: r for r in rows}  # every lesson of the course; the graded ones with their mean score
    assert set(LESSONS) <= set(by_lesson)
    for lesson in LESSONS:
        mean = sum(scores[(s, lesson)] for s in ("ada", "ben", "cy")) / 3
        assert abs(float(by_lesson[lesson][-1].split("/")[0]) - mean) < 0.006, by_lesson[lesson]
    rows = _table(page, f"{formgrader}/formgrader/manage_assignments")
    page.screenshot(path=str(os.environ.get("FORMGRADER_SHOTS", tmp_path)) + "/assignments.png", full_page=True)
    submissions = {r[0]: r[8] for r in rows}  # name, due date, status, 5 buttons, # submissions, ...
    assert [submissions[k] for k in LESSONS] == ["3", "3"], rows
    rows = _table(page, f"{formgrader}/formgrader/manage_students")
    assert {r[1] for r in rows} >= {"ada", "ben", "cy"}
    page.screenshot(path=str(tmp_path / "students.png"), full_page=True)
    by_student = {r[1]: r for r in rows}  # name, id, email, total score
    maxima = {k: float(by_lesson[k][-1].split("/")[1]) for k in LESSONS}  # from the assignments page
    for student in ("ada", "ben", "cy"):
        total = sum(scores[(student, lesson)] for lesson in LESSONS)
        assert by_student[student][3] == f"{total:g} / {sum(maxima[k] for k in LESSONS):g}", by_student[student]


def test_formgrader_shows_the_autograded_scores_and_the_notebook(page, formgrader, graded_demo, tmp_path):
    _, _, scores = graded_demo
    rows = _table(page, f"{formgrader}/formgrader/gradebook/01_layers/01_layers")
    assert len(rows) == 3
    shown = sorted(float(r[2].split("/")[0]) for r in rows)  # "Overall Score": "4 / 6"
    assert shown == sorted(scores[(s, "01_layers")] for s in ("ada", "ben", "cy"))
    page.screenshot(path=str(os.environ.get("FORMGRADER_SHOTS", tmp_path)) + "/submissions.png", full_page=True)
    # open cy's notebook: its cells, with per-cell scores (the manual 1 point included)
    page.locator("#toggle_names").click()
    page.locator("#main-table a", has_text="cy").first.click()
    page.wait_for_selector(".nbgrader_cell", timeout=30000)
    text = page.inner_text("body")
    assert "def column_forward" in text  # the learner's notebook
    assert "test_weighted_sum" in text or "weighted_sum" in text
    # formgrader fills the score fields from its API after the cells are drawn: wait for that
    import nbformat

    released = nbformat.read(str(ROOT / "lessons" / "01_layers" / "01_layers.ipynb"), as_version=4)
    graded = [c.metadata["nbgrader"] for c in released.cells if c.metadata.get("nbgrader", {}).get("grade")]
    points = [g["points"] for g in graded if not g.get("solution")]  # the test cells, in order
    written = sum(1 for g in graded if g.get("solution"))  # written questions: no automatic score
    page.wait_for_function("n => { const f = [...document.querySelectorAll('input.score')];"
                           " return f.filter(i => i.placeholder !== '').length >= n; }", arg=len(points),
                           timeout=30000)
    score_inputs = page.query_selector_all("input.score")
    assert score_inputs, "no per-cell score fields"
    # formgrader shows the automatic score as the field's placeholder and a manual score as its value.
    # Cells in order: test_weighted_sum (automatic 0, set by hand to 1), test_neuron (its check fails
    # through weighted_sum: 0), then every later test cell with its full points
    shown = [(i.get_attribute("placeholder"), i.input_value()) for i in score_inputs]
    assert len(shown) == len(points) + written, shown  # a written question's field waits for the instructor
    shown = [(p, v) for p, v in shown if p]
    assert shown == [("0", "1"), ("0", "")] + [(f"{p:g}", "") for p in points[2:]], shown
    score_inputs[0].scroll_into_view_if_needed()
    page.mouse.wheel(0, -250)
    page.screenshot(path=str(os.environ.get("FORMGRADER_SHOTS", tmp_path)) + "/notebook.png", full_page=False)
