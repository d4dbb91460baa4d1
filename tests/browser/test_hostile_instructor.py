"""A hostile class seen by the instructor: no learner script runs in the instructor's browser, in
two independent layers, and formgrader's Autograde grades in the sandbox.

``mallory`` hands in lesson 01 with every payload of ``tests/hostile_payloads.py`` as markdown
cells, and a code cell that *displays* them (HTML, JavaScript, SVG, markdown outputs); her
name in the gradebook is HTML too. Each script payload, if it ran, sets ``window.__pwned`` and
writes ``pwned.txt`` through the contents API with the instructor's session. Chromium opens
formgrader's pages (manage, gradebook, students, mallory's submission) and the feedback pages
(``grade``'s, nbgrader's, the nbconvert view), and each test fails if a script ran or a file of
the course changed:

* both layers (the sanitizer in ``grade``, the server's CSP): nothing runs;
* the CSP alone (the notebook graded *without* ``Sanitize``): nothing runs, though the page holds the payloads;
* the sanitizer alone (formgrader *without* ``autograder.instructor``): nothing runs;
* neither (the control): the payloads do run, so this test can see them.

Run with ``pytest -m browser tests/browser/test_hostile_instructor.py -p no:nbval -o addopts=""``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import urllib.request
from pathlib import Path

import pytest
from browser_helpers import ROOT, free_port, jupyter_server, require_browser

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hostile_payloads import JS, MARKDOWN_VECTORS, SVG_OUTPUT, VECTORS  # noqa: E402

pytestmark = pytest.mark.browser

LESSON = "01_layers"
TOKEN = "hostile-test"
DISPLAY = f"""from IPython.display import HTML, SVG, Javascript, Markdown, display
display(HTML({json.dumps("".join(VECTORS.values()))}))
display(Javascript({JS!r}))
display(SVG({SVG_OUTPUT!r}))
display(Markdown({json.dumps(chr(10).join(MARKDOWN_VECTORS.values()))}))
display({{"text/html": "<img src=x onerror=\\"{JS.replace('"', '&quot;')}\\">"}}, raw=True)
"""
# Eve's notebook tries to write into the course and every folder above the kernel's
EVE = """import os, pathlib
hits = []
for d in [pathlib.Path.cwd(), *pathlib.Path.cwd().parents, pathlib.Path(os.environ.get('HOME', '/tmp'))]:
    try:
        (d / 'eve-was-here.txt').write_text('eve')
        hits.append(str(d))
    except OSError:
        pass
print('wrote into', hits)
"""


def _snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file of the course (solutions, lessons and config through their symlinks too)."""
    out = {}
    for top, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = [d for d in dirs if d not in (".ipynb_checkpoints", "__pycache__", ".jupyter")]
        for f in files:
            p = Path(top, f)
            if p.name.endswith(".log") or "runtime" in p.parts:
                continue
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def hostile_course(tmp_path_factory):
    """The course (symlinked) with mallory's class graded twice: with the sanitizer (grading/safe)
    and without it (grading/raw), plus nbgrader's feedback HTML of both."""
    require_browser()
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell
    from nbgrader.api import Gradebook

    import autograder.grade as grade_module
    from autograder import steps
    from autograder.collect import Imported, register_students
    from autograder.course import COURSE_ID, Course
    from autograder.sanitize import Sanitize
    from autograder.submissions import learner_notebook, write

    root = tmp_path_factory.mktemp("hostile") / "course"
    root.mkdir()
    for name in ("solutions", "lessons", "pyproject.toml", "nbgrader_config.py"):
        (root / name).symlink_to(ROOT / name)
    course = Course(root)
    subs = root / "grading" / "submissions"
    nb = learner_notebook(course, LESSON)
    for i, html in enumerate([*VECTORS.values(), *MARKDOWN_VECTORS.values()]):
        nb.cells.insert(2 + i, new_markdown_cell(html))
    nb.cells.insert(1, new_code_cell(DISPLAY))
    write(nb, subs, "mallory", LESSON)
    write(learner_notebook(course, LESSON), subs, "ada", LESSON)
    eve = learner_notebook(course, LESSON, untouched=True)
    eve.cells.insert(1, new_code_cell(EVE))
    write(eve, subs, "eve", LESSON)

    results = {}
    for out, finish in (("safe", steps.FINISH), ("raw", [s for s in steps.FINISH if s is not Sanitize])):
        saved = grade_module.FINISH
        grade_module.FINISH = finish
        try:
            results[out] = grade_module.grade(course, subs, root / "grading" / out, [LESSON], workers=1,
                                              progress=False)
        finally:
            grade_module.FINISH = saved
        name = VECTORS["img-onerror"] + " <b>M</b>"
        if out == "safe":  # her name as an LMS download brings it (import-lms registers it)
            register_students(course, root / "grading" / out, [Imported("x", student_id="mallory", name=name)])
        else:  # no first layer: the name as it is, in the gradebook
            with Gradebook(f"sqlite:///{root / 'grading' / out / 'nbgrader' / 'gradebook.db'}", COURSE_ID) as gb:
                gb.update_or_create_student("mallory", first_name=VECTORS["img-onerror"], last_name="<b>M</b>")
        import subprocess

        subprocess.run([sys.executable, "-m", "autograder", "feedback", "--out", str(root / "grading" / out)],
                       cwd=root, check=True, capture_output=True)
    raw = nbformat.read(str(root / "grading/raw/nbgrader/autograded/mallory" / LESSON / f"{LESSON}.ipynb"), 4)
    assert any("onerror" in c.source for c in raw.cells)  # the raw workspace does hold the payloads
    for f in root.rglob("eve-was-here.txt"):
        pytest.fail(f"grading let eve write {f}")
    return root, results


def _formgrader(root, out, *, csp: bool, log: str):
    port = free_port()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               JUPYTER_PLATFORM_DIRS="1", AUTOGRADER_OUT=str(root / "grading" / out))
    if csp:  # the command the README gives
        argv = [sys.executable, "-m", "autograder", "formgrader", "--out", f"grading/{out}", f"--port={port}",
                "--no-browser", "--", f"--IdentityProvider.token={TOKEN}", "--ServerApp.ip=127.0.0.1"]
    else:  # the same JupyterLab without autograder.instructor: formgrader as nbgrader ships it
        argv = [str(Path(sys.executable).with_name("jupyter")), "lab", f"--ServerApp.root_dir={root}",
                f"--port={port}", "--no-browser", f"--IdentityProvider.token={TOKEN}", "--ServerApp.ip=127.0.0.1",
                *(["--allow-root"] if os.geteuid() == 0 else [])]
    return jupyter_server(argv, env=env, cwd=root, token=TOKEN, log=root / log)


def _pages(base: str, out: str, submission_id: str) -> list[str]:
    fb = f"grading/{out}"
    return [f"{base}/formgrader/manage_assignments", f"{base}/formgrader/manage_submissions/{LESSON}",
            f"{base}/formgrader/gradebook", f"{base}/formgrader/gradebook/{LESSON}/{LESSON}",
            f"{base}/formgrader/manage_students", f"{base}/formgrader/manage_students/mallory",
            f"{base}/formgrader/manage_students/mallory/{LESSON}",
            f"{base}/formgrader/submissions/{submission_id}/",
            f"{base}/files/{fb}/feedback/mallory/{LESSON}/{LESSON}.html",
            f"{base}/files/{fb}/feedback-notebooks/mallory/{LESSON}/{LESSON}.html",
            f"{base}/nbconvert/html/{fb}/nbgrader/autograded/mallory/{LESSON}/{LESSON}.ipynb?download=false"]


def _visit(browser, base, out, root) -> tuple[dict, list[str]]:
    """Open every instructor page; returns how many payloads ran on each, and the submission page's HTML."""
    req = urllib.request.Request(f"{base}/formgrader/api/submitted_notebooks/{LESSON}/{LESSON}",
                                 headers={"Authorization": f"token {TOKEN}"})
    notebooks = json.loads(urllib.request.urlopen(req, timeout=30).read())
    submission_id = next(n["id"] for n in notebooks if n["student"] == "mallory")
    ctx = browser.new_context()
    pg = ctx.new_page()
    pg.goto(f"{base}/formgrader?token={TOKEN}")
    ran, shown = {}, []
    try:
        for url in _pages(base, out, submission_id):
            # the Jupyter server serves /files/ and /nbconvert/ only to its own pages (a referer)
            response = pg.goto(url, referer=f"{base}/lab")
            assert response.ok, (url, response.status)
            pg.wait_for_load_state("load")
            pg.wait_for_timeout(1500)  # formgrader draws its tables from its API; handlers fire on load
            pg.evaluate("() => document.querySelectorAll('a[href^=\"javascript\" i]').forEach(a => a.click())")
            pg.wait_for_timeout(300)
            ran[url.removeprefix(base)] = int(pg.evaluate("() => window.__pwned || 0") or 0)
            if "/formgrader/submissions/" in url:
                shown.append(pg.content())
                assert "def weighted_sum" in pg.inner_text("body")  # the page works: the learner's code shows
    finally:
        ctx.close()
    if (root / "pwned.txt").exists():
        ran["pwned.txt written"] = 1
    return {k: v for k, v in ran.items() if v}, shown


@pytest.mark.parametrize("out,csp", [("safe", True), ("raw", True), ("safe", False)],
                         ids=["both-layers", "csp-alone", "sanitizer-alone"])
def test_no_learner_script_runs_for_the_instructor(hostile_course, browser, out, csp):
    root, _ = hostile_course
    before = _snapshot(root)
    with _formgrader(root, out, csp=csp, log=f"fg-{out}-{csp}.log") as base:
        ran, shown = _visit(browser, base, out, root)
    assert ran == {}, f"a learner script ran in the instructor's browser ({out}, CSP {csp}): {ran}"
    if out == "raw":  # the CSP alone: the payloads were on the page, and did not run
        assert "onerror" in shown[0] and "__pwned" in shown[0]
    assert _snapshot(root) == before


def test_control_without_either_layer_the_payloads_run(hostile_course, browser):
    """Neither layer: nbgrader's own formgrader on the unsanitized notebook runs them (this test can fail)."""
    root, _ = hostile_course
    with _formgrader(root, "raw", csp=False, log="fg-control.log") as base:
        ran, _ = _visit(browser, base, "raw", root)
    assert ran, "the payloads did not run even without protection: this test could not fail"
    (root / "pwned.txt").unlink(missing_ok=True)


def test_formgrader_autograde_runs_grade_in_the_sandbox(hostile_course):
    """The Autograde endpoint: eve's notebook writes nowhere, and gets a low grade with its reason."""
    root, _ = hostile_course
    (root / "grading/safe/nbgrader/autograded/eve").rename(root / "grading/safe/eve-before")  # graded afresh
    before = {k: v for k, v in _snapshot(root).items() if not k.startswith("grading/")}
    with _formgrader(root, "safe", csp=True, log="fg-autograde.log") as base:
        req = urllib.request.Request(f"{base}/formgrader/api/submission/{LESSON}/eve/autograde", data=b"",
                                     method="POST", headers={"Authorization": f"token {TOKEN}"})
        reply = json.loads(urllib.request.urlopen(req, timeout=600).read())
    assert reply["success"], reply
    assert "graded in the sandbox by `python -m autograder grade`" in reply["log"]
    line = next(x for x in reply["log"].splitlines() if x.split()[:2] == ["eve", LESSON])
    assert "graded" in line and "failed:" in line  # a low grade, with the items that failed
    assert list(root.rglob("eve-was-here.txt")) == [] and not list(Path(os.environ.get("HOME", "/tmp")).glob(
        "eve-was-here.txt"))
    assert (root / "grading/safe/nbgrader/autograded/eve" / LESSON / f"{LESSON}.ipynb").exists()
    assert {k: v for k, v in _snapshot(root).items() if not k.startswith("grading/")} == before
