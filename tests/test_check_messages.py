"""Failures that explain themselves (issue 20, item 3).

* a failing *public* case shows its inputs (small arrays in full, large ones by shape and dtype)
  and expected against actual (small in full; always the first differing entries with their
  index); the grader shows the same inputs and expected values, never the submission's numbers;
* a *hidden* case reveals neither its inputs nor its expected values, in the notebook or the grader;
* a function whose docstring promises no overflow (``Spec.no_overflow``: sigmoid, tanh, softmax)
  fails when NumPy warns "overflow encountered in …", with a hint, in the notebook's check and in
  the grader's verdict alike.

Everything but the last test runs without a kernel.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from ann_core.checks import RECORD_ENV, RECORD_MIME, SPECS, Case, CheckFailed, check, run_case
from ann_core.checks.compare import MAX_MESSAGE
from ann_core.checks.display import MAX_LINES, message_lines
from ann_core.checks.spec import _plan
from autograder.verify import judge_check

SOFTMAX = SPECS["softmax"].reference
SIGMOID = SPECS["sigmoid"].reference


@pytest.fixture(autouse=True)
def withheld_open(monkeypatch):
    """The wrong functions below are built on ann_core's references: let them call those."""
    import contextlib

    import ann_core.checks.core as core

    monkeypatch.setattr(core, "unavailable", lambda names: contextlib.nullcontext([]))


def _failure(name, fn, **kw) -> str:
    with pytest.raises(CheckFailed) as info:
        check(name, fn, quiet=True, **kw)
    return str(info.value)


def _record(monkeypatch, name, fn, seed, hidden) -> dict:
    """What a grading kernel records of ``check(name, fn, …)``."""
    shown = []
    monkeypatch.setenv(RECORD_ENV, "1")
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    check(name, fn, seed=seed, hidden=hidden, quiet=True)
    monkeypatch.delenv(RECORD_ENV)
    return shown[-1][RECORD_MIME]


def _digits(a) -> list[str]:
    """The entries of ``a`` as messages print them (4 significant digits)."""
    return [f"{v:.4g}" for v in np.asarray(a, dtype=float).ravel()]


def _squared_softmax(z):  # a mistake no spec knows, past the worked example: the (4, 5) case fails first
    return SOFTMAX(z) if np.size(z) == 3 else SOFTMAX(z) ** 2


def _first_random_case(name, seed=0, hidden=False, size=None):
    """The first random (not worked-example) case of ``name`` with ``size`` entries."""
    for _, case, expected in _plan(SPECS[name], seed, hidden):
        if case.label.startswith("shape") and (size is None or np.size(case.args[0]) == size):
            return case, expected
    raise AssertionError(f"no such case of {name}")


# ---------------------------------------------------------------- public cases: inputs, expected, actual
def test_a_public_failure_shows_its_input_and_the_located_differences():
    message = _failure("softmax", _squared_softmax)
    case, expected = _first_random_case("softmax", size=20)  # the (4, 5) case, the first random one to fail
    assert message.startswith("softmax(<array (4, 5)>) 20 of 20 values differ"), message
    z_line = next(line for line in message.splitlines() if line.startswith("  z = "))
    assert z_line == "  z = [[" + "], [".join(", ".join(_digits(row)) for row in case.args[0]) + "]]"
    assert "  expected [[" + ", ".join(_digits(expected[0])) + "], [" in message
    got = _squared_softmax(case.args[0])
    assert "  got      [[" + ", ".join(_digits(got[0])) + "], [" in message
    m = re.search(r"20 of 20 entries differ: at \[0, 0\]: expected (\S+), got (\S+);", message)
    assert m and (float(m.group(1)), float(m.group(2))) == pytest.approx((expected[0, 0], got[0, 0]), rel=1e-3)
    assert len(message) <= MAX_MESSAGE


def test_a_large_mismatch_is_bounded_and_lists_the_first_differing_entries():
    z = np.random.default_rng(5).normal(0.0, 3.0, size=(30, 8))
    wrong = SOFTMAX(z)
    wrong[2, 3] += 0.5
    wrong[7, 1] -= 0.25
    with pytest.raises(CheckFailed) as info:
        run_case(SPECS["softmax"], lambda z: wrong, Case((z,), label="shape (30, 8)"), SOFTMAX(z))
    message = str(info.value)
    assert len(message) <= MAX_MESSAGE
    assert "  z: an array of shape (30, 8), dtype float64" in message
    assert "expected [[" not in message and "got      [[" not in message  # 240 entries: not in full
    e1, g1 = f"{SOFTMAX(z)[2, 3]:.4g}", f"{wrong[2, 3]:.4g}"
    e2, g2 = f"{SOFTMAX(z)[7, 1]:.4g}", f"{wrong[7, 1]:.4g}"
    assert f"2 of 240 entries differ: at [2, 3]: expected {e1}, got {g1}; at [7, 1]: expected {e2}, got {g2}" \
        in message, message


def test_a_shape_mismatch_says_so():
    message = _failure("softmax", lambda z: SOFTMAX(z).T)
    assert "expected shape (4, 5), got shape (5, 4)" in message, message


def test_close_values_get_enough_digits_to_tell_them_apart():
    message = _failure("softmax", lambda z: SOFTMAX(z) * (1 + 1e-5))
    m = re.search(r"at \[0\]: expected (\S+), got (\S+?)[;\n]", message + "\n")
    assert m and m.group(1) != m.group(2), message


def test_the_notebook_block_and_the_cli_show_the_details_within_their_line_limits():
    message = _failure("softmax", _squared_softmax)
    lines = message_lines(message, "CheckFailed: ")
    assert len(lines) <= MAX_LINES
    assert any(line.startswith("  z = [[") for line in lines)
    assert any("entries differ: at [0, 0]" in line for line in lines)


def test_named_mistakes_come_first():
    message = _failure("softmax", SPECS["softmax"].mistakes[2].fn)  # divided by the sum of the whole array
    first, *details = message.split("\n")
    assert SPECS["softmax"].mistakes[2].hint in first
    assert details and details[0].startswith("  z = ")


def test_the_grader_shows_the_inputs_and_expected_values_but_not_the_submissions_numbers(monkeypatch):
    def constant(z):
        return SOFTMAX(z) if np.size(z) == 3 else np.full(np.shape(z), 0.123456)

    record = _record(monkeypatch, "softmax", constant, 0, False)
    case, expected = _first_random_case("softmax", size=20)
    message = judge_check(record, "softmax", 0, False)
    assert message.startswith("softmax(<array (4, 5)>): the result has wrong values"), message
    assert "  z = [[" + ", ".join(_digits(case.args[0][0])) + "], [" in message
    assert "  expected [[" + ", ".join(_digits(expected[0])) + "], [" in message
    assert "0.1235" not in message and "0.123456" not in message
    assert "run this test cell in your notebook" in message
    assert len(message) <= MAX_MESSAGE


# ---------------------------------------------------------------- hidden cases stay hidden
def test_a_hidden_case_reveals_neither_its_inputs_nor_its_expected_values(monkeypatch):
    def wrong_on_hidden_shapes(z):  # right on every public case, wrong on (3, 2, 4)
        return SOFTMAX(z) ** 2 if np.ndim(z) == 3 else SOFTMAX(z)

    seed = 424242
    case = next(c for _, c, _ in _plan(SPECS["softmax"], seed, True) if np.ndim(c.args[0]) == 3)
    secret = [d for d in _digits(case.args[0]) + _digits(SOFTMAX(case.args[0]))
              if len(d.strip("-").replace(".", "").lstrip("0")) >= 3]
    notebook = _failure("softmax", wrong_on_hidden_shapes, seed=seed, hidden=True)
    assert "\n" not in notebook and "z = " not in notebook and "expected [" not in notebook
    grader = judge_check(_record(monkeypatch, "softmax", wrong_on_hidden_shapes, seed, True), "softmax", seed, True)
    assert re.fullmatch(r"softmax: the hidden test case 'shape \(3, 2, 4\)' failed: the result has wrong values\.",
                        grader), grader
    assert not [d for d in secret if d in grader]


# ---------------------------------------------------------------- overflow where the docstring promises none
def _naive_sigmoid(z):
    return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))


def _where_sigmoid(z):  # looks stable, but np.where evaluates both branches everywhere
    z = np.asarray(z, dtype=float)
    return np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))


NAIVE_HINT = SPECS["sigmoid"].mistakes[-1].hint


@pytest.mark.parametrize("fn", [_naive_sigmoid, _where_sigmoid], ids=["naive", "np.where"])
def test_an_overflowing_sigmoid_fails_in_the_notebook_with_the_hint(fn):
    message = _failure("sigmoid", fn)
    assert message.startswith("sigmoid([-750., -30., 30., 750.]) overflowed: NumPy warned "
                              "\"overflow encountered in exp\""), message
    assert NAIVE_HINT in message and "np.exp(-np.abs(z))" in NAIVE_HINT


def test_an_overflow_no_mistake_explains_gets_the_general_advice():
    def overflowing_softmax(z):  # right values, but exp overflows on the way
        z = np.asarray(z, dtype=float)
        with np.errstate(invalid="ignore"):
            big = np.exp(z * 1e3)
        return SOFTMAX(z) + 0 * np.nan_to_num(big, posinf=0.0)

    message = _failure("softmax", overflowing_softmax)
    assert "overflowed: NumPy warned \"overflow encountered in exp\"" in message
    assert "Fix: evaluate exp only where it cannot overflow" in message


def test_other_warnings_and_unpromised_overflow_still_pass(capsys):
    def noisy_sigmoid(z):
        np.log(np.zeros(1))  # divide by zero: the docstring promises nothing about it
        return SIGMOID(z)

    check("sigmoid", noisy_sigmoid, hidden=True)
    assert not SPECS["relu"].no_overflow and SPECS["sigmoid"].no_overflow


def test_the_grader_reaches_the_same_overflow_verdict(monkeypatch):
    for hidden in (False, True):
        record = _record(monkeypatch, "sigmoid", _naive_sigmoid, 7, hidden)
        assert any(o.get("overflow") == "overflow encountered in exp" for o in record["outcomes"])
        message = judge_check(record, "sigmoid", 7, hidden)
        assert "overflowed: NumPy warned \"overflow encountered in exp\"" in message, message
        assert NAIVE_HINT in message
    right = _record(monkeypatch, "sigmoid", lambda z: SIGMOID(z) + 0.0, 7, True)
    assert judge_check(right, "sigmoid", 7, True) == ""
    forged = dict(right, outcomes=[dict(o, overflow="<b>overflow encountered in exp</b>") for o in right["outcomes"]])
    assert judge_check(forged, "sigmoid", 7, True) == ""  # only NumPy's exact words count, and nothing else is shown


@pytest.mark.slow
def test_a_graded_submission_with_a_naive_sigmoid_scores_0_with_the_overflow_hint(course, tmp_path):
    """The real path: lesson 02 run as ``grade`` runs it (sandboxed kernel, records, ``verify``)."""
    from autograder import submissions as subs
    from autograder.check import grade_like
    from autograder.score import score_notebook

    code = ("def sigmoid(z):\n    z = np.asarray(z, dtype=float)\n    return 1 / (1 + np.exp(-z))\n")
    nb = subs.learner_notebook(course, "02_activations", {"sigmoid": code})
    path = Path(tmp_path) / "02_activations" / "02_activations.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, str(path))
    graded, _ = grade_like(nb, path, timeout=120)
    items = {i.name: i for i in score_notebook(graded)}
    assert items["sigmoid"].score == 0, items["sigmoid"]
    assert "overflow encountered in exp" in items["sigmoid"].message and NAIVE_HINT[:60] in items["sigmoid"].message
    assert items["sigmoid_grad"].score == items["sigmoid_grad"].max_score  # it promises nothing about overflow
    assert items["tanh"].score == items["tanh"].max_score
