"""Grades that reflect the learner's work (issue 10, point 4; own work is tests/test_own_work.py).

* lesson 11's accuracy is measured by the grader on digits made for the run, from the
  parameters the kernel handed back: a lookup table scores 0;
* nothing of the hidden tests (seeds, source, cases) reaches what a learner reads, even from
  a submission written to steal it;
* two perfect learners in the same batches keep full marks.

The message composition is tested without kernels (fast); one batch of lesson 02 and lesson 11
submissions is graded for the end-to-end cases.
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
    assert "failed" not in record  # the kernel decides nothing
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
    assert record["outcomes"][-1]["text"] == "my secret text 42"  # the kernel says it; the grader does not repeat it
    assert judge_check(record, "sigmoid", 0, False) == "sigmoid(2): it raised ValueError."


def test_a_forged_record_does_not_pass(monkeypatch):
    record = _record(monkeypatch, "sigmoid", lambda z: SPECS["sigmoid"].reference(z) + 0.0, 5, True)
    assert judge_check(record, "sigmoid", 5, True) == ""
    forged = dict(record, outcomes=[dict(o, value={"array": [o["value"]["array"][0], ["0.5"] * len(
        o["value"]["array"][1])]}) for o in record["outcomes"]])
    assert "wrong values" in judge_check(forged, "sigmoid", 5, True)
    assert "incomplete" in judge_check(dict(record, outcomes=record["outcomes"][:-1]), "sigmoid", 5, True)
    assert "could not be read" in judge_check(dict(record, failed={"kind": "value"}), "sigmoid", 5, True)
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


def test_public_failures_of_the_training_loop_show_the_calls_that_build_its_arguments(monkeypatch):
    """train_step's arguments are recipes (a fresh network and optimizer per call): the grader's
    message spells them through the case's label, as the notebook's check does."""
    spec = SPECS["train_step"]
    record = _record(monkeypatch, "train_step", spec.mistakes[0].fn, 0, False)
    message = judge_check(record, "train_step", 0, False)
    assert re.match(r"train_step\(Sequential\.from_sizes\(\[\d.*\], seed=\d+\), <array \(\d+, \d+\)>, "
                    r"<array \(\d+, \d+\)>, '\w+', \w+\(lr=[\d.]+.*\), steps=\d+\): ", message), message
    assert spec.mistakes[0].hint in message
