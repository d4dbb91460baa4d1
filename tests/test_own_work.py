"""Own work by construction (issue 19): the grading kernel has no reference to call.

* **withheld**: while a lesson is graded, the kernel's ann_core holds, in place of the lesson's
  references, their kernels and what the specs forbid (and the checks' known mistakes), a body
  that raises ``ReferenceUnavailable``; no source of them is left (``autograder/integrity.py``);
* **delegation attempts** on lesson 02's ``sigmoid``, each scoring 0 with "uses ann_core's …";
* **honest habits**, each keeping full marks (scratch cells, standard imports, pickle,
  ``SimpleNamespace``, magics, shell escapes, cells that do not parse, ``_``, plots, earlier
  lessons' functions, the lesson's own earlier functions);
* **the same verdict everywhere**: the notebook's check (full ann_core, withheld code swapped
  while the learner's function runs), ``python -m autograder check`` (the grader's own steps
  and sandbox) and ``grade``.

The grading batch runs as root and as the unprivileged account ``anngrader`` (as
tests/test_sandbox_attacks.py does); the rest needs no kernel.
"""

from __future__ import annotations

import ast
import csv
import io
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

import ann_core
from ann_core.checks import SPECS, CheckFailed, check
from ann_core.checks.progress import run_item
from ann_core.checks.withhold import lesson_names, withheld
from autograder import submissions as subs
from autograder.integrity import build, graded_names, lesson_withheld
from autograder.sandbox import probe
from autograder.score import MANUAL, NOT_ANSWERED

LESSON = "02_activations"
ACCOUNT = "anngrader"
ROOT = Path(__file__).resolve().parent.parent
SIG = "def sigmoid(z):\n    return {}\n"

# Each replaces the sigmoid cell; lesson 02's setup cell has `import numpy as np` and
# `from ann_core import activations as act`. Each must score 0 for sigmoid.
ATTEMPTS = {
    "direct": "import ann_core.activations\n" + SIG.format("ann_core.activations.sigmoid(z)"),
    "aliased": "from ann_core.activations import sigmoid as s\n" + SIG.format("s(z)"),
    "sys.modules": "import sys\n" + SIG.format("sys.modules['ann_core.activations'].sigmoid(z)"),
    "examples": "import ann_core.examples\n" + SIG.format(
        "ann_core.examples.for_function('sigmoid')[0].reference()(z)"),
    "EXAMPLES": "from ann_core.examples import EXAMPLES\n" + SIG.format("EXAMPLES[0].reference()(z)"),
    "table": SIG.format("act.ACTIVATIONS['sigmoid'](z)"),
    "kernel table": SIG.format("act._KERNELS['sigmoid'](np.asarray(z, dtype=float))"),
    "kernel": SIG.format("act._sigmoid(np.asarray(z, dtype=float))"),
    "a layer": "from ann_core.layers import Dense\n" + SIG.format(
        "Dense(1, 1, 'sigmoid', W=[[1.0]], b=[0.0]).forward(np.reshape(z, (-1, 1))).reshape(np.shape(z))"),
    "the checks' spec": "from ann_core.checks import SPECS\n" + SIG.format("SPECS['sigmoid'].reference(z)"),
    "functools.partial": "import functools\n_p = functools.partial(act.sigmoid)\n" + SIG.format("_p(z)"),
    "default argument": "def sigmoid(z, _f=act.sigmoid):\n    return _f(z)\n",
    "decorator": "def _use_theirs(f):\n    return lambda z: act.sigmoid(z)\n\n@_use_theirs\n" + SIG.format("z"),
    "closure": "def _make():\n    f = act.sigmoid\n    def sigmoid(z):\n        return f(z)\n    return sigmoid\n"
               "sigmoid = _make()\n",
    "class attribute": "class _K:\n    f = staticmethod(act.sigmoid)\n\n" + SIG.format("_K.f(z)"),
    "importlib.reload": "import importlib\n" + SIG.format("importlib.reload(act).sigmoid(z)"),
    "star import": "from ann_core.activations import *\n_s = sigmoid\n" + SIG.format("_s(z)"),
    "module-level rebinding": "_theirs = act.sigmoid\n" + SIG.format("_theirs(z)"),
    "exec of ann_core's source": (
        "import inspect\n_ns = {'__name__': 'ann_core.activations', '__package__': 'ann_core'}\n"
        "exec(compile(inspect.getsource(act), 'activations.py', 'exec'), _ns)\n" + SIG.format("_ns['sigmoid'](z)")),
    "exec of ann_core's file": (
        "_ns = {'__name__': 'ann_core.activations', '__package__': 'ann_core'}\n"
        "exec(open(act.__file__).read(), _ns)\n" + SIG.format("_ns['_sigmoid'](np.asarray(z, dtype=float))")),
}
# How the live notebook's check can tell: the grading kernel also stops these, the live one cannot
# (the reference's source is there to read, and the check does not analyse code).
LIVE_CANNOT = {"exec of ann_core's source", "exec of ann_core's file"}

OWN_SIGMOID = ("def sigmoid(z):\n    z = np.asarray(z, dtype=float)\n    e = np.exp(-np.abs(z))\n"
               "    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))\n")
# Extra cells a learner may leave anywhere in the notebook; each must cost nothing.
HABITS = {
    "scratch cells": ["x = np.linspace(-3, 3, 7)\nsigmoid(x)", "print(tanh(0.5), relu(-1.0))"],
    "standard imports": ["import math, os, json, collections, itertools, functools, random\nprint(math.pi)"],
    "pickle": ["import pickle\nsaved = pickle.dumps({'w': np.ones(3)})\nprint(len(pickle.loads(saved)['w']))"],
    "SimpleNamespace": ["from types import SimpleNamespace\ncfg = SimpleNamespace(lr=0.1, epochs=3)\nprint(cfg)"],
    "magics": ["%timeit -n 1 -r 1 sigmoid(np.zeros(3))", "%%time\ny = sigmoid(np.ones(4))"],
    "shell escapes": ["!echo hello", "files = !ls\nprint(type(files))"],
    "a cell that does not parse": ["def half_typed(:\n    return"],
    "_ throwaways": ["_ = sigmoid(np.zeros(2))\n_, _ = 1, 2\nprint(_)"],
    "plots": ["import matplotlib.pyplot as plt\nz = np.linspace(-5, 5, 50)\n_ = plt.plot(z, sigmoid(z))\nplt.show()"],
    "earlier lessons": ["from ann_core.layers import weighted_sum, dense_forward\n"
                        "print(weighted_sum([1.0, 2.0], [0.5, 0.5], 0.1), dense_forward([1.0], [[2.0]], [0.0]))"],
    "the reference, outside a graded function": ["print(np.allclose(sigmoid(np.ones(3)), act.sigmoid(np.ones(3))))"],
    "an import of ann_core": ["import ann_core.activations as A\nfrom ann_core.activations import softmax as sm"],
}


def _notebook(course, sigmoid_code=None, extra=()):
    nb = subs.learner_notebook(course, LESSON, {"sigmoid": sigmoid_code} if sigmoid_code else None)
    at = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "sigmoid")
    for k, source in enumerate(extra):
        nb.cells.insert(at + 2 + k, nbformat.v4.new_code_cell(source))  # after sigmoid's test cell
    return nb


# ---------------------------------------------------------------- what is withheld, no kernel
def test_each_lessons_specs_name_its_released_graded_functions(course):
    """``Spec.lesson`` (what the live check withholds) and the released notebook (what the grader
    withholds) agree, so the notebook's check and the grader withhold the same."""
    for lesson in course.lessons():
        released = nbformat.read(str(course.lesson(lesson)), as_version=4)
        graded = [n for n in graded_names(released) if n in SPECS]
        assert sorted(graded) == sorted(n for n, s in SPECS.items() if s.lesson == lesson), lesson
        for name in graded:
            assert sorted(lesson_names(name)) == sorted(graded)
            assert set(withheld(lesson_names(name))) == set(lesson_withheld(lesson, released))


def test_withheld_names_exist_and_earlier_lessons_stay(course):
    """Every kernel and forbidden name exists (a rename must not silently open a hole); a lesson
    withholds its own references only."""
    for lesson in course.lessons():
        build(Path(tempfile.mkdtemp(prefix="own-")), lesson_withheld(lesson))  # LookupError names a missing one
    w = set(lesson_withheld("03a_regression_losses"))
    assert {"ann_core.losses.mse", "ann_core.losses._mse", "ann_core.losses.huber_grad"} <= w
    assert not {n for n in w if n.startswith(("ann_core.activations.", "ann_core.layers."))}
    assert not {"ann_core.losses._bce", "ann_core.losses.binary_cross_entropy"} & w  # lesson 03b's
    w = set(lesson_withheld("03b_classification_losses"))
    assert {"ann_core.losses.binary_cross_entropy", "ann_core.losses._bce", "ann_core.losses._cce"} <= w
    assert not {"ann_core.losses.mse", "ann_core.losses._mse"} & w  # lesson 03a's: available
    w = set(lesson_withheld("05_backprop"))
    assert {"ann_core.layers.Dense.backward", "ann_core.activations._softmax_backward"} <= w
    assert "ann_core.network.network_forward" not in w  # lesson 04's: available


def test_the_checks_keep_what_calls_the_learners_code_and_withhold_the_mistakes():
    only = set(withheld([]))
    for spec in SPECS.values():
        assert f"{spec.cases.__module__}.{spec.cases.__qualname__.split('.')[0]}" not in only
        for m in spec.mistakes:
            if m.fn.__module__.startswith("ann_core.checks."):
                assert f"{m.fn.__module__}.{m.fn.__qualname__}" in only, m.fn
    assert "ann_core.checks.network._nb" in only  # its defaults are a right network_backward


def test_the_stubbed_copy_keeps_signatures_and_docstrings_and_no_source(tmp_path):
    package = build(tmp_path, lesson_withheld(LESSON))
    tree = ast.parse((package / "activations.py").read_text())
    fns = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    for name in ("sigmoid", "_sigmoid", "softmax", "relu_grad"):
        body = [s for s in fns[name].body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        assert ast.unparse(body[-1]) == f"unavailable('ann_core.activations.{name}')", name
    assert ast.get_docstring(fns["sigmoid"]) == ann_core.activations.sigmoid.__doc__.strip().replace("\n    ", "\n")
    assert ast.unparse(fns["leaky_relu"].args) == "z, slope: float=LEAKY_SLOPE"
    assert "np.exp(-z[pos])" not in (package / "activations.py").read_text()
    assert ast.unparse(fns["activation_backward"].body[-1]).startswith("return _backward(")  # lesson 05's: intact
    assert (package / "layers.py").read_text() == (Path(ann_core.__file__).parent / "layers.py").read_text()


def test_in_the_stubbed_copy_the_lessons_references_raise_and_the_rest_works(tmp_path):
    package = build(tmp_path, lesson_withheld("03a_regression_losses") + lesson_withheld("03b_classification_losses"))
    code = """
import numpy as np, ann_core, ann_core.checks
from ann_core.checks.spec import _cases
from ann_core._unavailable import ReferenceUnavailable
assert ann_core.__file__.startswith({package!r})
print(float(ann_core.activations.sigmoid(0.0)), ann_core.layers.dense_forward([1.0], [[2.0]], [1.0]))
for call in (lambda: ann_core.losses.mse([1.0], [2.0]), lambda: ann_core.losses.LOSSES['mae']([1.0], [2.0]),
             lambda: ann_core.losses._bce(np.ones(2), np.ones(2) / 2)):
    try:
        call()
        print('NOT WITHHELD')
    except ReferenceUnavailable as exc:
        print(str(exc).split(' is ')[0])
for name, spec in ann_core.checks.SPECS.items():  # every lesson's cases can be made in any kernel
    assert list(_cases(spec, 3, True))
""".replace("{package!r}", repr(str(package)))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env=dict(os.environ, PYTHONPATH=str(package.parent)))
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split("\n")[:4] == ["0.5 [3.]", "ann_core.losses.mse", "ann_core.losses.mae",
                                          "ann_core.losses._bce"], run.stdout


def test_every_lessons_copy_imports_and_makes_every_case(course, tmp_path):
    """What the kernel needs of ann_core.checks (cases, adapters, the record) survives in every
    lesson's copy: it imports, and the lesson's cases are made and its adapters applied (the
    cases of a later lesson may use this one's references: they are never run here)."""
    code = """
import sys, ann_core, ann_core.checks
from ann_core.checks.spec import _cases
for name, spec in ann_core.checks.SPECS.items():
    if spec.lesson != sys.argv[1]:
        continue
    assert list(_cases(spec, 5, True)), name
    if spec.wrap is not None:
        spec.wrap(lambda *a, **k: None)
print('ok')
"""
    for lesson in course.lessons():
        package = build(tmp_path / lesson, lesson_withheld(lesson))
        run = subprocess.run([sys.executable, "-c", code, lesson], capture_output=True, text=True, cwd=tmp_path,
                             env=dict(os.environ, PYTHONPATH=str(package.parent)))
        assert run.stdout == "ok\n", (lesson, run.stderr[-1500:])


# ---------------------------------------------------------------- the live notebook: the same verdict
def _namespace(code):
    import ann_core.activations as act

    ns = {"np": np, "act": act, "__name__": "__main__"}
    exec(compile(code, "<cell>", "exec"), ns)  # noqa: S102
    return ns


@pytest.mark.parametrize("attempt", sorted(set(ATTEMPTS) - LIVE_CANNOT))
def test_the_notebooks_check_refuses_delegation(attempt):
    ns = _namespace(ATTEMPTS[attempt])
    with pytest.raises(CheckFailed, match=r"uses ann_core's activations\.|reference implementation"):
        check("sigmoid", ns["sigmoid"], quiet=True)
    ok, message = run_item("sigmoid", ns)  # "Where you stand" says the same
    assert not ok and ("uses ann_core's" in message or "reference implementation" in message)
    assert ann_core.activations.sigmoid(0.0) == 0.5  # put back afterwards


def test_the_notebooks_check_passes_own_work_built_on_own_earlier_functions():
    ns = _namespace(OWN_SIGMOID + "def sigmoid_grad(z):\n    s = sigmoid(z)\n    return s * (1 - s)\n"
                    "def tanh(z):\n    return 2 * sigmoid(2 * np.asarray(z, dtype=float)) - 1\n")
    for name in ("sigmoid", "sigmoid_grad", "tanh"):
        check(name, ns[name], quiet=True)
        assert run_item(name, ns) == (True, "")
    ns = _namespace("def tanh(z):\n    return 2 * act.sigmoid(2 * np.asarray(z, dtype=float)) - 1\n")
    with pytest.raises(CheckFailed, match="uses ann_core's activations.sigmoid"):  # the lesson's other reference
        check("tanh", ns["tanh"], quiet=True)
    earlier = "from ann_core.layers import weighted_sum\ndef mae(t, p):\n    return float(np.mean(np.abs(" \
              "np.asarray(p, float) - t))) + 0 * {}\n"
    ns = _namespace(earlier.format("weighted_sum([0.0], [0.0], 0.0)"))  # an earlier lesson's function: allowed
    check("mae", ns["mae"], quiet=True)
    ns = _namespace("from ann_core.losses import mse\n" + earlier.format("mse([0.0], [0.0])"))
    with pytest.raises(CheckFailed, match="uses ann_core's losses.mse"):  # the same lesson's: withheld
        check("mae", ns["mae"], quiet=True)


# ---------------------------------------------------------------- grading, as root and as anngrader
def _account_ready() -> str:
    try:
        pwd.getpwnam(ACCOUNT)
    except KeyError:
        return f"no account {ACCOUNT!r} (tests/system-setup.sh creates it)"
    run = subprocess.run(["runuser", "-u", ACCOUNT, "--", sys.executable, "-c", "import autograder"],
                         capture_output=True, text=True, cwd="/")
    return "" if run.returncode == 0 else f"{ACCOUNT} cannot run {sys.executable}: {run.stderr.strip()[-200:]}"


def _student(key: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in key).strip("-")


def _grade(mode: str, tmp: Path, course) -> dict:
    as_account = mode == "unprivileged" and os.geteuid() == 0
    if mode == "root" and os.geteuid() != 0:
        pytest.skip("grading as root needs root")
    if as_account and (why := _account_ready()):
        pytest.skip(why)
    course_root = ROOT
    if as_account:  # a course the account owns: what it may not read must be the sandbox's doing
        course_root = tmp / "course"
        for name in ("solutions", "lessons", "ann_core", "autograder"):
            shutil.copytree(ROOT / name, course_root / name, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / "pyproject.toml", course_root)
    sub_dir, out = tmp / "submissions", tmp / "out"
    subs.write(_notebook(course), sub_dir, "perfect", LESSON)
    for key, code in ATTEMPTS.items():
        subs.write(_notebook(course, code), sub_dir, "attempt-" + _student(key), LESSON)
    for key, cells in HABITS.items():
        subs.write(_notebook(course, OWN_SIGMOID, cells), sub_dir, "habit-" + _student(key), LESSON)
    cmd = [sys.executable, "-m", "autograder", "grade", str(sub_dir), "--lesson", LESSON, "--out", str(out),
           "--workers", "2", "--timeout", "30", "--quiet"]
    env = dict(os.environ)
    if as_account:
        (tmp / "home").mkdir()
        env.update(HOME=str(tmp / "home"), PYTHONPATH=str(course_root))
        subprocess.run(["chown", "-R", ACCOUNT, str(tmp)], check=True)
        cmd = ["runuser", "-u", ACCOUNT, "--", *cmd]
    run = subprocess.run(cmd, cwd=course_root, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    items: dict = {}
    for row in csv.DictReader(io.StringIO((out / "items.csv").read_text())):
        items.setdefault(row["student_id"], {})[row["grade_id"]] = row
    return items


@pytest.fixture(scope="module", params=["root", "unprivileged"])
def graded(request, course):
    if probe():
        pytest.skip(f"no sandbox on this machine: {probe()}")
    tmp = Path(tempfile.mkdtemp(prefix=f"own-work-{request.param}-"))
    os.chmod(tmp, 0o755)  # the account needs a way in
    try:
        yield _grade(request.param, tmp / "work", course)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _points(row) -> tuple[float, float]:
    """(score, max_score) of an autograded item; a written question's point waits for a person: (0, 0)."""
    if row["status"] in (MANUAL, NOT_ANSWERED) or row["message"].startswith("written"):
        return 0.0, 0.0
    return float(row["score"]), float(row["max_score"])


@pytest.mark.slow
@pytest.mark.parametrize("attempt", list(ATTEMPTS))
def test_every_delegation_attempt_scores_zero_and_says_why(graded, attempt):
    row = graded["attempt-" + _student(attempt)]["test_sigmoid"]
    assert _points(row)[0] == 0, row
    assert "uses ann_core's activations." in row["message"] or "reference implementation" in row["message"], row


@pytest.mark.slow
@pytest.mark.parametrize("habit", ["perfect", *HABITS])
def test_every_honest_habit_keeps_full_marks(graded, habit):
    rows = graded["perfect" if habit == "perfect" else "habit-" + _student(habit)]
    lost = {g: r["message"] for g, r in rows.items() if _points(r)[0] < _points(r)[1]}
    assert not lost and sum(_points(r)[1] for r in rows.values()) > 0, lost


@pytest.mark.slow
def test_the_learners_check_command_gives_the_graders_verdict(course, tmp_path):
    """``python -m autograder check`` runs the notebook as the grader does: the same 0 and the same words."""
    if probe():
        pytest.skip(f"no sandbox on this machine: {probe()}")
    path = tmp_path / LESSON / f"{LESSON}.ipynb"
    path.parent.mkdir()
    nbformat.write(_notebook(course, ATTEMPTS["examples"], HABITS["magics"]), str(path))
    run = subprocess.run([sys.executable, "-m", "autograder", "check", str(path)], capture_output=True, text=True,
                         cwd=ROOT, timeout=600)
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert any(line.startswith("✘ sigmoid ") and "0/1" in line for line in lines), run.stdout
    assert "sigmoid uses ann_core's activations.sigmoid, which this lesson asks you to write" in " ".join(
        " ".join(line.split()) for line in lines)
    assert any(line.startswith("✔ tanh ") for line in lines)


def test_the_checks_own_helpers_are_withheld_too():
    """``_nb`` with its defaults is a right network_backward: it is not the learner's work either."""
    ns = _namespace("from ann_core.checks.network import _nb\n"
                    "def network_backward(dY, caches, params, activations):\n"
                    "    return _nb(dY, caches, params, activations)\n")
    with pytest.raises(CheckFailed, match=r"uses checks\.network\._nb, one of the checks' own helpers"):
        check("network_backward", ns["network_backward"], quiet=True)


def _child_base(_):
    from autograder.execute import _worker_base

    return str(_worker_base())


def test_each_forked_worker_writes_its_own_copies():
    """A pool worker forked from a process that graded already must not share its parent's work
    directory: two workers writing the same lesson's ann_core copy there at once left a kernel an
    empty package (seen as "cannot import name 'datasets' from 'ann_core' (unknown location)")."""
    import multiprocessing

    from autograder.execute import _worker_base

    parent = str(_worker_base())
    with multiprocessing.get_context("fork").Pool(2) as pool:
        children = pool.map(_child_base, range(2), chunksize=1)
    assert parent not in children and all(Path(c).name.startswith("ann-grade-") for c in children)
