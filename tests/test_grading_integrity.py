"""Grades that reflect the learner's own work (issue 10, point 4).

* a graded function that delegates to ann_core's reference scores 0 with a reason that names
  it, however the reference is spelled; code that hides what it calls is not verifiable and
  scores 0 too; earlier lessons' functions stay allowed;
* lesson 11's accuracy is measured by the grader on digits made for the run, from the
  parameters the kernel handed back: a lookup table scores 0;
* nothing of the hidden tests (seeds, source, cases) reaches what a learner reads, even from
  a submission written to steal it;
* two perfect learners in the same batches keep full marks.

The static check and the message composition are tested without kernels (fast); one batch of
lesson 02 and lesson 11 submissions is graded for the end-to-end cases.
"""

from __future__ import annotations

import csv
import re

import nbformat
import numpy as np
import pytest

from ann_core.checks import RECORD_ENV, RECORD_MIME, SPECS, check
from autograder import submissions as subs
from autograder.execute import read
from autograder.grade import grade
from autograder.integrity import delegation
from autograder.score import autograded_total
from autograder.verify import (
    DIGITS_PRIVATE_THRESHOLD,
    digits_private,
    expected_checks,
    judge_check,
    judge_digits,
    new_hidden_seeds,
)

ACT = "02_activations"
MLP = "11_mlp"
HEAD = "def {name}(z):\n    z = np.asarray(z, dtype=float)\n"


def _sig(body, name="sigmoid"):
    return HEAD.format(name=name) + body


# ---------------------------------------------------------------- the static check, no kernel
DELEGATING = {  # how a learner may call ann_core.activations.sigmoid; each must score 0
    "the issue's": _sig("    return act.sigmoid(z) * 1.0\n"),
    "from-import alias": "from ann_core.activations import sigmoid as s\n" + _sig("    return s(z)\n"),
    "module alias": "import ann_core.activations as A\n" + _sig("    return A.sigmoid(z)\n"),
    "attribute chain": "import ann_core\n" + _sig("    return ann_core.activations.sigmoid(z)\n"),
    "star import": "from ann_core.activations import *\n_s = sigmoid\n" + _sig("    return _s(z) + 0.0\n"),
    "constant getattr": _sig("    return getattr(act, 'sigmoid')(z)\n"),
    "sys.modules": "import sys\n" + _sig("    return sys.modules['ann_core.activations'].sigmoid(z)\n"),
    "importlib": "import importlib\n" + _sig(
        "    return importlib.import_module('ann_core.activations').sigmoid(z)\n"),
    "__import__": _sig("    return __import__('ann_core.activations', fromlist=['x']).sigmoid(z)\n"),
    "a table": _sig("    return act.ACTIVATIONS['sigmoid'](z)\n"),
    "a helper": "def helper(z):\n    return act.sigmoid(z)\n" + _sig("    return helper(z)\n"),
    "a module-level name": "f = act.sigmoid\n" + _sig("    return f(z)\n"),
    "another ann_core function": "from ann_core import layers\n" + _sig(
        "    return np.vectorize(lambda v: layers.neuron([v], [1.0], 0.0))(z)\n"),
    "a layer": "from ann_core.layers import Dense\n" + _sig(
        "    return Dense(1, 1, 'sigmoid', W=[[1.0]], b=[0.0]).forward(z.reshape(-1, 1)).reshape(z.shape)\n"),
    "the checks' table": "from ann_core.checks import SPECS\n" + _sig("    return SPECS['sigmoid'].reference(z)\n"),
    "a global set in a function": "def setup():\n    global S\n    S = act.sigmoid\nsetup()\n" + _sig(
        "    return S(z)\n"),
    "a loop over a table": _sig("    for f in act.ACTIVATIONS.values():\n        if f.__name__ == 'sigmoid':\n"
                                "            return f(z)\n"),
    "a callable object": "class M:\n    def __call__(self, z):\n        return act.sigmoid(z)\nsigmoid = M()\n",
    "a local import": _sig("    from ann_core import activations as a\n    return a.sigmoid(z)\n"),
    "a default argument": "def sigmoid(z, f=act.sigmoid):\n    return f(z)\n",
    "a closure": "def make():\n    f = act.sigmoid\n    return lambda z: f(z)\nsigmoid = make()\n",
    "a %time magic": "%time S3 = act.sigmoid\n" + _sig("    return S3(z)\n"),
}
OBFUSCATED = {  # code the grader cannot resolve: not verifiable, 0
    "eval": (_sig("    return eval('act.sig' + 'moid')(z)\n"), "eval()"),
    "exec at module level": ("exec('S2 = act.sigmoid')\n" + _sig("    return S2(z)\n"), "exec()"),
    "computed getattr": (_sig("    n = 'sig' + 'moid'\n    return getattr(act, n)(z)\n"), "getattr"),
    "globals()": (_sig("    return globals()['act'].sigmoid(z)\n"), "globals()"),
    "__code__ swap": ("def g(z):\n    return act.sigmoid(z)\ndef sigmoid(z):\n    return z\n"
                      "sigmoid.__code__ = g.__code__\n", "__code__"),
    "FunctionType": ("import types\ndef g(z):\n    return act.sigmoid(z)\n"
                     "sigmoid = types.FunctionType(g.__code__, {'act': act})\n", "types"),
    "output history": (_sig("    return Out[3](z)\n"), "Out"),
    "computed import": ("import importlib\n" + _sig(
        "    return importlib.import_module('ann_core.' + 'activations').sigmoid(z)\n"), "computed name"),
    "computed sys.modules": ("import sys\n" + _sig(
        "    return sys.modules['ann_core.' + 'activations'].sigmoid(z)\n"), "sys.modules"),
    "reading ann_core's source": (_sig("    src = open('/opt/x/ann_core/activations.py').read()\n    return z\n"),
                                  "ann_core's files"),
    "a module the notebook wrote": ("open('mymod.py', 'w').write('from ann_core.activations import sigmoid')\n"
                                    "import mymod\n" + _sig("    return mymod.sigmoid(z)\n"), "mymod"),
    "frames": ("import sys\n" + _sig("    return sys._getframe(0).f_globals['act'].sigmoid(z)\n"), "_getframe"),
    "operator.attrgetter": ("import operator\n" + _sig("    return operator.attrgetter('sigmoid')(act)(z)\n"),
                            "attrgetter"),
    "getattr as a value": ("import functools\n" + _sig(
        "    return functools.reduce(getattr, ['activations', 'sigmoid'], ann_core)(z)\n"), "getattr"),
    "sys.modules as a value": ("import sys\n" + _sig(
        "    return dict.get(sys.modules, 'ann_core.activations').sigmoid(z)\n"), "sys.modules"),
    "a local import in a loop": (_sig("    import importlib as il\n    for m in ['ann_core.activations']:\n"
                                      "        return il.import_module(m).sigmoid(z)\n"), "computed name"),
    "patching the checks": ("import ann_core.checks as c\nc.check = lambda *a, **k: None\n"
                            + _sig("    return 1 / (1 + np.exp(-z))\n"), "changes ann_core.checks"),
    "an attribute planted on numpy": ("np.mysig = act.sigmoid\n" + _sig("    return np.mysig(z)\n"), "changes numpy"),
}


@pytest.fixture(scope="module")
def act_released(course):
    return nbformat.read(str(course.lesson(ACT)), as_version=4)


@pytest.mark.parametrize("spelling", list(DELEGATING))
def test_delegation_is_found_however_it_is_spelled(course, act_released, spelling):
    nb = subs.learner_notebook(course, ACT, {"sigmoid": DELEGATING[spelling]})
    why = delegation(nb, act_released, "sigmoid")
    assert "calls ann_core's reference implementation ann_core.activations.sigmoid" in why, why


@pytest.mark.parametrize("trick", list(OBFUSCATED))
def test_code_that_hides_what_it_calls_is_not_verifiable(course, act_released, trick):
    code, word = OBFUSCATED[trick]
    nb = subs.learner_notebook(course, ACT, {"sigmoid": code})
    why = delegation(nb, act_released, "sigmoid")
    assert why.startswith("the grader cannot verify that sigmoid does its own work") and word in why, why


def test_every_solution_does_its_own_work(course):
    """The instructor's solutions use ann_core only as the lessons intend: nothing is flagged."""
    for lesson in course.lessons():
        released = nbformat.read(str(course.lesson(lesson)), as_version=4)
        nb = subs.learner_notebook(course, lesson)
        for name in subs.graded_functions(course, lesson):
            if name in SPECS:
                assert delegation(nb, released, name) == "", (lesson, name)


def test_earlier_functions_stay_allowed(course, act_released):
    """sigmoid_grad may call the reference sigmoid, and sigmoid may build on tanh; not on itself."""
    nb = subs.learner_notebook(course, ACT, {
        "sigmoid": _sig("    return 0.5 * (act.tanh(z / 2) + 1)\n"),
        "sigmoid_grad": _sig("    s = act.sigmoid(z)\n    return s * (1 - s)\n", "sigmoid_grad")})
    assert delegation(nb, act_released, "sigmoid") == ""
    assert delegation(nb, act_released, "sigmoid_grad") == ""
    nb = subs.learner_notebook(course, ACT, {"sigmoid_grad": _sig(
        "    return act.sigmoid_grad(z)\n", "sigmoid_grad")})
    assert "ann_core.activations.sigmoid_grad" in delegation(nb, act_released, "sigmoid_grad")


def test_everyday_notebook_habits_are_not_flagged(course, act_released):
    """Magics, output of the last expression, a learner's own test cell, plots."""
    nb = subs.learner_notebook(course, ACT)
    nb.cells.insert(1, nbformat.v4.new_code_cell("%load_ext autoreload\n%autoreload 2\n%matplotlib inline"))
    nb.cells.append(nbformat.v4.new_code_cell(
        "from ann_core.checks import check\nz = np.linspace(-3, 3, 7)\n%timeit sigmoid(z)\n"
        "print(np.allclose(sigmoid(z), act.sigmoid(z)))\ncheck('sigmoid', sigmoid)\n_ = plt.plot(z, sigmoid(z))"))
    for name in ("sigmoid", "softmax"):
        assert delegation(nb, act_released, name) == ""


def test_the_optimizer_classes_count_as_the_reference(course):
    released = nbformat.read(str(course.lesson("07_momentum")), as_version=4)
    nb = subs.learner_notebook(course, "07_momentum", {"momentum_update": (
        "def momentum_update(w, g, v, lr, mu=0.9):\n    o = opt.Momentum(lr, mu)\n    w = np.array(w, dtype=float)\n"
        "    o.step([w], [g])\n    return w, v\n")})
    assert "ann_core.optimizers.Momentum" in delegation(nb, released, "momentum_update")


# ---------------------------------------------------------------- hidden seeds and messages, no kernel
def test_hidden_seeds_are_drawn_per_run_in_the_trusted_source():
    cell = nbformat.v4.new_code_cell('from ann_core.checks import check\ncheck("sigmoid", sigmoid)\n'
                                     '### BEGIN HIDDEN TESTS\ncheck("sigmoid", sigmoid, seed=201, hidden=True)\n'
                                     '### END HIDDEN TESTS')
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "test_sigmoid", "points": 1}
    nb = nbformat.v4.new_notebook(cells=[cell])
    seeds = new_hidden_seeds(nb)["test_sigmoid"]
    assert expected_checks(cell.source) == [("sigmoid", 0, False), ("sigmoid", seeds[0], True)]
    assert "seed=201" not in cell.source and seeds[0] != 201
    again = nbformat.v4.new_notebook(cells=[nbformat.from_dict(dict(cell, source=cell.source))])
    assert new_hidden_seeds(again)["test_sigmoid"] != seeds  # a new one every run


def _record(monkeypatch, name, fn, seed, hidden):
    shown = []
    monkeypatch.setenv(RECORD_ENV, "1")
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    try:
        check(name, fn, seed=seed, hidden=hidden, quiet=True)
    except AssertionError:
        pass
    return shown[-1][RECORD_MIME]


def test_hidden_failures_name_the_case_and_the_mistake_only(monkeypatch):
    spec = SPECS["sigmoid"]
    hint = spec.mistakes[0].hint
    right = spec.reference
    calls = []

    def wrong_on_big_inputs(z):  # right on the public cases, a known mistake on the hidden ones
        z = np.asarray(z, dtype=float)
        calls.append(z)
        return spec.mistakes[0].fn(z) if z.size > 12 else right(z)

    record = _record(monkeypatch, "sigmoid", wrong_on_big_inputs, 987654321, True)
    assert record["failed"]["kind"] == "value"
    message = judge_check(record, "sigmoid", 987654321, True)
    assert re.fullmatch(r"sigmoid: the hidden test case '[^']+' failed: the result has wrong values\. "
                        r"Likely mistake: .*", message), message
    assert hint in message and "987654321" not in message
    for z in calls:  # no input of any case appears
        digits = [f"{v:.6g}" for v in z.ravel()]
        assert not [d for d in digits if len(d.strip("-").replace(".", "")) >= 4 and d in message]


def test_public_failures_show_the_call_and_the_right_value_never_the_learners_numbers(monkeypatch):
    record = _record(monkeypatch, "sigmoid", lambda z: np.full(np.shape(z), 123456.75), 0, False)
    message = judge_check(record, "sigmoid", 0, False)
    assert message.startswith("sigmoid(2): the result has wrong values; the right result is 0.8808")
    assert "123456" not in message

    def raises(z):
        raise ValueError("my secret text 42")

    record = _record(monkeypatch, "sigmoid", raises, 0, False)
    assert record["failed"]["text"] == "my secret text 42"  # the kernel says it; the grader does not repeat it
    assert judge_check(record, "sigmoid", 0, False) == "sigmoid(2): it raised ValueError."


def test_a_forged_record_does_not_pass(monkeypatch):
    record = _record(monkeypatch, "sigmoid", lambda z: SPECS["sigmoid"].reference(z) + 0.0, 5, True)
    assert judge_check(record, "sigmoid", 5, True) == ""
    forged = dict(record, values=[{"array": [v["array"][0], ["0.5"] * len(v["array"][1])]} for v in record["values"]])
    assert "wrong values" in judge_check(forged, "sigmoid", 5, True)
    assert "incomplete" in judge_check(dict(record, values=record["values"][:-1]), "sigmoid", 5, True)
    assert judge_check(record, "sigmoid", 6, True) != ""  # the values belong to the seed
    assert "could not be read" in judge_check({"name": "sigmoid"}, "sigmoid", 5, True)


# ---------------------------------------------------------------- lesson 11's accuracy, no kernel
def _trained(epochs=60):
    from ann_core.datasets import digits, one_hot
    from ann_core.layers import Dense
    from ann_core.network import Sequential
    from ann_core.optimizers import Adam
    from ann_core.training import fit

    X_train, y_train, _, _ = digits()
    rng = np.random.default_rng(0)
    model = Sequential([Dense(64, 64, "relu", rng=rng), Dense(64, 10, "softmax", rng=rng)])
    fit(model, X_train, one_hot(y_train, 10), "categorical_cross_entropy", Adam(lr=1e-3), epochs=epochs,
        batch_size=32, seed=0)
    return model


def test_private_digits_are_new_and_the_lessons_model_passes_on_them():
    from ann_core.checks.training import network_record
    from ann_core.datasets import digits

    _, _, X_test, y_test = digits()
    X, y = digits_private(123)
    assert X.shape == (3 * len(X_test), 64) and (y == np.tile(y_test, 3)).all()
    public = {x.tobytes() for x in X_test}
    assert not any(x.tobytes() in public for x in X)
    assert not np.array_equal(X, digits_private(124)[0])  # another run, other images
    model = _trained()
    problem, ok = judge_digits({"name": "digits_accuracy", "network": network_record(model)}, 123)
    assert problem == "" and "fresh images" in ok
    acc = float(ok.split(": ")[1].split()[0])
    assert acc >= DIGITS_PRIVATE_THRESHOLD + 0.005


def test_what_is_not_a_trained_network_scores_zero():
    from ann_core.checks.training import network_record
    from ann_core.datasets import digits
    from ann_core.layers import Dense
    from ann_core.network import Sequential

    _, _, X_test, y_test = digits()
    problem, _ = judge_digits({"name": "digits_accuracy", "network": network_record(object())}, 1)
    assert "not a network of ann_core layers" in problem
    k = 200.0  # nearest neighbour over the public test split, written as two Dense layers
    lookup = Sequential([Dense(64, 360, "softmax", W=X_test.T * k, b=-0.5 * k * (X_test**2).sum(1)),
                         Dense(360, 10, "softmax", W=np.eye(10)[y_test] * 50.0, b=np.zeros(10))])
    assert (lookup.predict(X_test) == y_test).all()
    problem, _ = judge_digits({"name": "digits_accuracy", "network": network_record(lookup)}, 1)
    assert "stores the public test images" in problem
    record = {"name": "digits_accuracy", "network": network_record(_trained(1))}
    record["network"]["layers"][0]["W"][1] = "not base64!"
    assert "could not be read" in judge_digits(record, 1)[0]


# ---------------------------------------------------------------- end to end: one batch, two lessons
STEAL = r'''import os, re, sys
from IPython.display import HTML, display
LOOT = []

def _steal():
    found = set(re.findall(r"seed=(\d+)", " ".join(In)))         # IPython's input history
    f = sys._getframe()
    while f is not None:                                          # the check's call stack
        if isinstance(f.f_locals.get("seed"), int):
            found.add(str(f.f_locals["seed"]))
        f = f.f_back
    return sorted(found - {"0"})

def _shout(what):
    os.write(1, f"STOLEN {what}\n".encode())
    print("STOLEN", what, file=sys.__stdout__)
    display(HTML(f"<b>STOLEN {what}</b>"))
    LOOT.append(what)

def sigmoid(z):
    z = np.asarray(z, dtype=float)
    seeds = _steal()
    _shout(f"{seeds} {z.ravel()[:4].tolist()} {[l for l in In if 'hidden' in l]}")
    if seeds:
        raise ValueError(f"STOLEN seeds={seeds} inputs={z.ravel().tolist()}")
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
'''
STEAL_TANH = r'''def tanh(z):
    z = np.asarray(z, dtype=float)
    seeds = _steal()
    if seeds:   # a public case's "got" value that is the seed
        return np.full(z.shape, float(seeds[-1]))
    return np.tanh(z)
'''
STEAL_RELU = r'''def relu(z):
    z = np.asarray(z, dtype=float)
    for s in _steal():   # a forged record carrying the seed
        display({"application/vnd.ann-course.check-record+json": {"name": "relu", "seed": int(s), "hidden": True,
                 "values": [], "note": f"STOLEN {s}"}}, raw=True)
    return np.maximum(z, 0.0)
'''
STEAL_SOFTMAX = r'''def softmax(z):
    z = np.asarray(z, dtype=float)
    seeds = _steal()
    if seeds:   # a value whose type name is the seed
        return type(f"STOLEN{seeds[-1]}", (), {})()
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
'''
LOOKUP = ("class Lookup:\n"
          "    def __init__(self):\n"
          "        self.table = {x.tobytes(): y for x, y in zip(X_test, y_test)}\n"
          "    def predict(self, X):\n"
          "        return np.array([self.table.get(np.asarray(x, dtype=float).tobytes(), 0) for x in X])\n"
          "model, history = Lookup(), {}\n")


@pytest.fixture(scope="module")
def batch(course, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("integrity")
    sub_dir, out = tmp / "submissions", tmp / "out"
    act = {
        "perfect-a": {}, "perfect-b": {},
        "delegates": {"sigmoid": DELEGATING["the issue's"],
                      "tanh": "from ann_core.activations import tanh as t\n" + _sig("    return t(z)\n", "tanh"),
                      "relu": _sig("    return act.ACTIVATIONS['relu'](z)\n", "relu"),
                      "softmax": "import importlib\n" + _sig(
                          "    return importlib.import_module('ann_core.activations').softmax(z)\n", "softmax")},
        "obfuscates": {"sigmoid": OBFUSCATED["eval"][0],
                       "tanh": _sig("    return getattr(act, 'ta' + 'nh')(z)\n", "tanh")},
    }
    for student, answers in act.items():
        subs.write(subs.learner_notebook(course, ACT, answers), sub_dir, student, ACT)
    thief = subs.learner_notebook(course, ACT, {"sigmoid": STEAL, "tanh": STEAL_TANH, "relu": STEAL_RELU,
                                                "softmax": STEAL_SOFTMAX})
    thief.cells.append(nbformat.v4.new_code_cell(
        "print('STOLEN history', [line for line in In if 'hidden' in line])\nprint('STOLEN loot', LOOT)"))
    subs.write(thief, sub_dir, "thief", ACT)
    for student, answers in {"perfect-a": {}, "perfect-b": {}, "lookup": {"digits_accuracy": LOOKUP}}.items():
        subs.write(subs.learner_notebook(course, MLP, answers), sub_dir, student, MLP)
    results = grade(course, sub_dir, out, [ACT, MLP], timeout=120, workers=2, progress=False)
    from autograder.cli import main

    assert main(["feedback", "--out", str(out)]) == 0
    return {(r.student_id, r.assignment): r for r in results}, out


def _item(result, name):
    return next(i for i in result.items if i.name == name)


def test_perfect_learners_keep_full_marks(batch):
    results, _ = batch
    for student in ("perfect-a", "perfect-b"):
        for lesson in (ACT, MLP):
            r = results[(student, lesson)]
            failing = [(i.name, i.message) for i in r.items if i.status != "passed" and i.autograded]
            assert r.score == autograded_total(r.items)[1] > 0, failing


def test_delegating_items_score_zero_and_say_which_reference(batch):
    r = batch[0][("delegates", ACT)]
    for name in ("sigmoid", "tanh", "relu", "softmax"):
        item = _item(r, name)
        assert item.score == 0 and f"ann_core.activations.{name}" in item.message, item
    for name in ("sigmoid_grad", "tanh_grad", "relu_grad", "leaky_relu", "leaky_relu_grad"):
        assert _item(r, name).status == "passed"  # built on the reference sigmoid: allowed
    o = batch[0][("obfuscates", ACT)]
    assert _item(o, "sigmoid").score == 0 and "eval()" in _item(o, "sigmoid").message
    assert _item(o, "tanh").score == 0 and "getattr with a computed name" in _item(o, "tanh").message


def test_a_lookup_table_does_not_pass_lesson_11(batch):
    item = _item(batch[0][("lookup", MLP)], "digits_accuracy")
    assert item.score == 0 and "not a network of ann_core layers" in item.message


def _learner_can_read(out, student):
    texts = [(out / "items.csv").read_text(), (out / "grades.csv").read_text()]
    texts += [p.read_text() for d in ("feedback", "feedback-notebooks") for p in (out / d / student).rglob("*.html")]
    with (out / "items.csv").open() as fh:
        texts += [row["message"] for row in csv.DictReader(fh)]
    return "\n".join(texts)


def test_nothing_of_the_hidden_tests_reaches_the_learner(batch):
    results, out = batch
    autograded = read(out / "nbgrader" / "autograded" / "thief" / ACT / f"{ACT}.ipynb")
    seeds = [s for v in autograded.metadata["autograder"]["hidden_seeds"].values() for s in v]
    assert len(seeds) == 9
    kernel_saw = "".join(str(o) for c in autograded.cells if c.cell_type == "code" for o in c.outputs)
    stolen = [s for s in seeds if str(s) in kernel_saw]
    assert stolen, "the thief could not read any hidden seed: this test proves nothing"
    readable = _learner_can_read(out, "thief")
    assert (out / "feedback-notebooks" / "thief").exists() and (out / "feedback" / "thief").exists()
    for s in seeds:
        assert str(s) not in readable
    assert "STOLEN [" not in readable and "STOLEN history [" not in readable and "STOLEN loot [" not in readable
    assert "hidden=True" not in readable and "BEGIN HIDDEN TESTS" not in readable
    # the hidden cases: no input of a hidden sigmoid case appears
    from ann_core.checks import _plan, _wrapped
    from ann_core.examples import for_function

    for seed in autograded.metadata["autograder"]["hidden_seeds"]["test_sigmoid"]:
        n_examples = len(for_function("sigmoid"))  # the public worked examples come first
        for _, case, expected in list(_plan(_wrapped(SPECS["sigmoid"]), seed, True))[n_examples:]:
            for v in [*np.ravel(case.args[0])[:20], *np.ravel(expected)[:20]]:
                text = f"{float(v):.6g}"
                if len(text.strip("-").replace(".", "")) >= 4:
                    assert text not in readable and repr(float(v)) not in readable
    r = results[("thief", ACT)]
    assert _item(r, "sigmoid").message.endswith("it raised ValueError.")
    assert "the right result is" in _item(r, "tanh").message
    assert "more than one record" in _item(r, "relu").message
    assert "not a number" in _item(r, "softmax").message


def test_the_references_own_kernel_counts_as_the_reference(course, act_released):
    """ann_core computes each formula once, in a private kernel (``_sigmoid``): calling it is calling the reference."""
    nb = subs.learner_notebook(course, ACT, {"sigmoid": _sig("    return act._sigmoid(np.asarray(z, dtype=float))\n")})
    assert "ann_core.activations._sigmoid" in delegation(nb, act_released, "sigmoid")
    released = nbformat.read(str(course.lesson("10_adam")), as_version=4)
    nb = subs.learner_notebook(course, "10_adam", {"adam_update": (
        "def adam_update(w, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):\n"
        "    w, m, v = np.array(w, float), np.array(m, float), np.array(v, float)\n"
        "    opt._adam(w, np.asarray(g, float), m, v, t, lr, beta1, beta2, eps)\n    return w, m, v\n")})
    assert "ann_core.optimizers._adam" in delegation(nb, released, "adam_update")


def test_every_exercise_names_what_it_may_not_call():
    """Every Spec's forbidden names still exist in ann_core (a rename must not silently open a hole),
    and shared helpers such as input checks are no one's kernel."""
    from ann_core import losses
    from autograder.integrity import forbidden_for, kernels_of

    for name, spec in SPECS.items():
        assert spec.reference in forbidden_for(name), name
    assert losses._pair not in kernels_of(losses.mse) and losses._mse in kernels_of(losses.mse)


def test_public_failures_of_the_training_loop_show_the_calls_that_build_its_arguments(monkeypatch):
    """train_step's arguments are recipes (a fresh network and optimizer per call): the grader's
    message spells them through the case's label, as the notebook's check does."""
    spec = SPECS["train_step"]
    record = _record(monkeypatch, "train_step", spec.mistakes[0].fn, 0, False)
    message = judge_check(record, "train_step", 0, False)
    assert re.match(r"train_step\(Sequential\.from_sizes\(\[\d.*\], seed=\d+\), <array \(\d+, \d+\)>, "
                    r"<array \(\d+, \d+\)>, '\w+', \w+\(lr=[\d.]+.*\), steps=\d+\): ", message), message
    assert spec.mistakes[0].hint in message
