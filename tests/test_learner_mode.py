"""The learner's side (issue 11): short failure blocks, where-you-stand, course status, learner mode."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from ann_core.checks import RECORD_ENV, CheckFailed, check
from ann_core.checks import display as D
from ann_core.checks.progress import progress, run_item
from autograder import lab
from autograder.course import KERNEL_ARGS, Course
from autograder.release import strip_markers

ROOT = Path(__file__).resolve().parent.parent
COURSE = Course(ROOT)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def wrong_sigmoid(z):
    import numpy as np

    return 1 / (1 + np.exp(np.asarray(z, dtype=float)))


def crashing_sigmoid(z):
    return z + "oops"  # the learner's own bug: a TypeError on this line


def _failure(fn) -> CheckFailed:
    with pytest.raises(CheckFailed) as info:
        check("sigmoid", fn, quiet=True)
    return info.value


# ---------------------------------------------------------------- the short block
def test_a_failing_check_is_one_short_block_with_the_likely_mistake():
    exc = _failure(wrong_sigmoid)
    text = ANSI.sub("", "\n".join(D.short_check_failed(exc)))
    assert text.startswith("CheckFailed: sigmoid(2) 1 of 1 values differ: got 0.119203, expected 0.8808.")
    assert "\n  Likely mistake: the sign of the exponent" in text
    assert len(text.splitlines()) <= D.MAX_LINES


def test_the_learners_own_error_still_shows_the_learners_line():
    exc = _failure(crashing_sigmoid)
    text = ANSI.sub("", "\n".join(D.short_check_failed(exc)))
    assert "raised TypeError" in text.splitlines()[0]
    assert 'return z + "oops"' in text  # the line, from this file (the learner's code here)
    assert "in crashing_sigmoid" in text and "ann_core" not in text
    assert len(text.splitlines()) <= D.MAX_LINES


def test_message_lines_split_failure_and_hint():
    lines = D.message_lines("f(1) 1 of 1 values differ: got 2, expected 1. Likely mistake: a sign.", "> ", "  ")
    assert lines == ["> f(1) 1 of 1 values differ: got 2, expected 1.", "  Likely mistake: a sign."]


def test_in_a_kernel_the_error_output_is_short_nbgrader_still_scores_zero_and_verbose_shows_all():
    from nbgrader.utils import determine_grade

    meta = {"nbgrader": {"grade": True, "grade_id": "test_sigmoid", "points": 1, "solution": False,
                         "locked": True, "schema_version": 3, "task": False}}
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in (
        "import numpy as np\nfrom ann_core.checks import check",
        "def sigmoid(z):\n    return 1 / (1 + np.exp(np.asarray(z, dtype=float)))",
        'check("sigmoid", sigmoid)',
        "def tanh(z):\n    # YOUR CODE HERE\n    raise NotImplementedError()",
        "print(tanh(1.0))",
        "print('stub back' if 'NotImplementedError' in tanh.__code__.co_names else 'still the reference')",
        "%xmode Verbose",
        'check("sigmoid", sigmoid)',
    )]
    nb.cells[2].metadata.update(meta)
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True, extra_arguments=KERNEL_ARGS).execute()
    short, demo, verbose = (next(o for o in nb.cells[i].outputs if o.output_type == "error") for i in (2, 4, 7))
    # the demo then ran once more with the reference tanh, labelled as such, and the stub is back
    shown = "".join(o.get("text", "") for o in nb.cells[4].outputs if o.output_type == "stream")
    assert "with ann_core's reference `tanh` — not yet yours" in shown and "0.76159415" in shown, shown
    assert "stub back" in "".join(o.get("text", "") for o in nb.cells[5].outputs)
    text = ANSI.sub("", "\n".join(short.traceback))
    assert short.ename == "CheckFailed" and short.evalue.startswith("sigmoid(2) 1 of 1 values differ")
    assert len(text.splitlines()) <= 8 and "Likely mistake" in text and "ann_core/checks" not in text
    assert determine_grade(nb.cells[2])[0] == 0  # still an error output: no points
    demo_text = ANSI.sub("", "\n".join(demo.traceback))
    assert "`tanh` is not written yet" in demo_text and len(demo_text.splitlines()) <= 4
    assert "ann_core/checks/core.py" in ANSI.sub("", "\n".join(verbose.traceback))  # on request: all of it


# ---------------------------------------------------------------- where you stand
def test_progress_reruns_the_checks_and_adds_up_the_points():
    import numpy as np

    def tanh(z):
        return np.tanh(np.asarray(z, dtype=float))  # right, and the learner's own (not ann_core's tanh)

    out = io.StringIO()
    progress({"sigmoid": 1, "tanh": 2, "relu": 1}, {"sigmoid": wrong_sigmoid, "tanh": tanh}, lesson="02", out=out)
    text = out.getvalue()
    assert "✘ sigmoid  0/1  sigmoid(2) 1 of 1 values differ" in text
    assert "✔ tanh     2/2" in text
    assert "✘ relu     0/1  not run yet: run the cell that defines `relu`" in text
    assert "1 of 3 exercises pass: 2/4 points so far." in text
    assert "Next: sigmoid." in text


def test_progress_never_raises_and_stays_quiet_in_the_grader(monkeypatch):
    assert run_item("digits_accuracy", {"model": None})[0] is False
    assert run_item("sigmoid", {"sigmoid": 42})[1].startswith("sigmoid should be a function")
    monkeypatch.setenv(RECORD_ENV, "1")
    out = io.StringIO()
    progress({"sigmoid": 1}, {"sigmoid": wrong_sigmoid}, out=out)
    assert "the grader scores this notebook" in out.getvalue() and "✘" not in out.getvalue()


def test_every_lesson_ends_with_where_you_stand_listing_its_graded_items():
    for lesson in COURSE.lessons():
        nb = nbformat.read(COURSE.lesson(lesson), as_version=4)
        items = [c.metadata.nbgrader["grade_id"].removeprefix("test_") for c in nb.cells
                 if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
                 and not c.metadata.nbgrader.get("solution")]
        if not items:  # the start page: nothing to stand on
            assert not any("progress(" in c.source for c in nb.cells), lesson
            continue
        last = nb.cells[-1]
        assert "progress(" in last.source, lesson
        auto, _, written = last.source.partition("written=")  # written questions: listed apart, not checked
        listed = re.findall(r'"(\w+)": [\d.]+', auto)
        assert listed == items, lesson
        questions = [c.metadata.nbgrader["grade_id"] for c in nb.cells if c.cell_type == "markdown"
                     and c.metadata.get("nbgrader", {}).get("grade") and c.metadata.nbgrader.get("solution")]
        assert re.findall(r'"(\w+)": [\d.]+', written) == questions, lesson


# ---------------------------------------------------------------- course status
def _fill(path: Path, lesson: str, only: set[str] | None = None):
    sol = nbformat.read(COURSE.solution(lesson), as_version=4)
    code = {c.metadata.nbgrader["grade_id"]: c.source for c in sol.cells
            if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(path, as_version=4)
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if c.metadata.get("nbgrader", {}).get("solution") and (only is None or gid in only):
            c.source = strip_markers(code[gid])
    nbformat.write(nb, path)


def test_check_without_a_notebook_prints_every_lessons_status(tmp_path):
    from autograder.check import course_status

    lessons = ["04_forward", "07_momentum", "08_adagrad"]
    for lesson in lessons:
        shutil.copytree(COURSE.lessons_dir / lesson, tmp_path / lesson)
    _fill(tmp_path / "04_forward" / "04_forward.ipynb", "04_forward", only={"layer_forward"})
    _fill(tmp_path / "07_momentum" / "07_momentum.ipynb", "07_momentum")
    out = io.StringIO()
    results = course_status(tmp_path, lessons + ["09_rmsprop"], out=out)
    status = {r.lesson: (r.status, r.passed, r.items) for r in results}
    assert status == {"04_forward": ("in progress", 1, 2), "07_momentum": ("done", 2, 2),
                      "08_adagrad": ("not started", 0, 0), "09_rmsprop": ("missing", 0, 0)}
    text = out.getvalue()
    assert re.search(r"04_forward\s+1 of 2 passing", text) and re.search(r"08_adagrad\s+not started", text)
    assert "1 of 4 lessons done, 2 started" in text and "Next: 04_forward." in text


def test_check_cli_prints_the_message_on_lines_of_its_own(tmp_path):
    shutil.copytree(COURSE.lessons_dir / "07_momentum", tmp_path / "07_momentum")
    notebook = tmp_path / "07_momentum" / "07_momentum.ipynb"
    r = subprocess.run([sys.executable, "-m", "autograder", "check", str(notebook)],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("✘ momentum_update"))
    assert lines[i + 1].strip().startswith("momentum_update is not implemented yet")


# ---------------------------------------------------------------- learner mode
def _nbgrader_plugin_ids() -> set[str]:
    ext = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyter" / "nbgrader" / "static"
    return {m for f in ext.glob("*.js") for m in re.findall(r'id:"(@jupyter/nbgrader:[\w-]+)"', f.read_text())}


def test_the_disabled_plugins_and_server_extensions_are_nbgraders_real_ones():
    ids = _nbgrader_plugin_ids() | {"@jupyter/nbgrader:formgrader"}  # formgrader's id is a variable in the bundle
    for d in (lab.LEARNER, lab.NO_EXCHANGE):
        disabled = json.loads((d / "labconfig" / "page_config.json").read_text())["disabledExtensions"]
        assert set(disabled) <= ids, set(disabled) - ids
        for module in json.loads((d / "jupyter_server_config.json").read_text())["ServerApp"]["jpserver_extensions"]:
            __import__(module)
    assert "@jupyter/nbgrader:validate-assignment" in ids  # kept: learners validate


def test_lab_command_learner_and_instructor(tmp_path):
    argv, env = lab.command(tmp_path, exchange=False, env={"PATH": "/usr/bin"})
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(lab.LEARNER), str(lab.NO_EXCHANGE)]
    assert f"--ServerApp.root_dir={tmp_path.resolve()}" in argv
    assert ("--ServerApp.allow_root=True" in argv) == (os.geteuid() == 0)
    _, env = lab.command(tmp_path, exchange=True, env={"JUPYTER_CONFIG_PATH": "/mine"})
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(lab.LEARNER), "/mine"]
    _, env = lab.command(tmp_path, instructor=True, env={})
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(lab.INSTRUCTOR)]  # autograder.instructor


def test_exchange_is_detected_from_nbgraders_configuration(tmp_path):
    assert not lab.exchange_configured(tmp_path) or Path(lab.DEFAULT_EXCHANGE).is_dir()
    (tmp_path / "exchange").mkdir()
    (tmp_path / "nbgrader_config.py").write_text(f"c.Exchange.root = {str(tmp_path / 'exchange')!r}\n")
    assert lab.exchange_configured(tmp_path)


def test_learner_mode_server_serves_no_instructor_tools(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"))
    argv, env = lab.command(tmp_path, port=port, ip="127.0.0.1", open_browser=False, exchange=False,
                            extra=["--IdentityProvider.token=t"], env=env)
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                page = urllib.request.urlopen(f"{base}/lab?token=t", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start")
        config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>\s*(\{.*?\})\s*</script>', page, re.S).group(1))
        off = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
               "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:assignment-list"}
        assert off <= set(config["disabledExtensions"])
        assert config["news"] == {"disabled": True}
        settings = json.loads(urllib.request.urlopen(
            f"{base}/lab/api/settings/@jupyterlab/notebook-extension:tracker?token=t").read())
        assert settings["schema"]["properties"]["kernelShutdown"]["default"] is True
        with pytest.raises(urllib.error.HTTPError):  # no formgrader server extension
            urllib.request.urlopen(f"{base}/formgrader?token=t", timeout=5)
    finally:
        proc.terminate()
        proc.wait(20)


def test_the_reference_run_of_a_demo_never_happens_in_a_grading_kernel(monkeypatch, capsys):
    def tanh(z):
        raise NotImplementedError()

    class Shell:
        user_ns = {"_ih": ["", "print(round(float(tanh(1.0)), 4))"], "tanh": tanh}

    monkeypatch.setenv(RECORD_ENV, "1")
    assert not D.show_with_reference(Shell())
    monkeypatch.delenv(RECORD_ENV)
    assert D.show_with_reference(Shell()) and "0.7616" in capsys.readouterr().out
    assert Shell.user_ns["tanh"] is tanh  # the learner's own function is back
