"""ann_core.checks: every registered spec accepts right answers and names known mistakes.

The specs are collected when this module is imported, so a spec added to any
``ann_core/checks/*.py`` module is covered without touching this file.
"""

from __future__ import annotations

import re
import sys
import warnings

import numpy as np
import pytest

from ann_core.checks import SPECS, CheckFailed, check

NAMES = sorted(SPECS)
MISTAKES = [(name, i) for name in NAMES for i in range(len(SPECS[name].mistakes))]
PLAIN = [name for name in NAMES if SPECS[name].wrap is None]


def _copy_of(spec):
    """The reference behind a new function object (so ``check`` cannot recognise it). It delegates, so
    the tests that use it let it: ``withheld_open`` (own work is tested in test_own_work.py)."""
    ref = spec.reference
    return lambda *args, **kwargs: ref(*args, **kwargs)


@pytest.fixture(autouse=True)
def withheld_open(monkeypatch):
    """``check`` without withholding the lesson's references while it calls the function: these tests
    call the references and the known mistakes (which use them) as learners' functions."""
    import contextlib

    import ann_core.checks.core as core

    monkeypatch.setattr(core, "unavailable", lambda names: contextlib.nullcontext([]))


def _count(out: str, name: str) -> int:
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out  # one line, nothing the checked code printed
    m = re.fullmatch(rf"✔ {re.escape(name)}: (\d+) checks passed( \(hidden tests\))?", lines[0])
    assert m, lines[0]
    return int(m.group(1))


def test_specs_are_registered():
    assert len(NAMES) >= 13
    for name, spec in SPECS.items():
        assert spec.name == name
        assert callable(spec.reference)
        assert spec.mistakes, f"{name} has no known mistakes to diagnose"
        for m in spec.mistakes:
            assert m.hint.strip() and callable(m.fn)
        hints = [m.hint for m in spec.mistakes]
        assert len(set(hints)) == len(hints), f"{name} repeats a hint"


@pytest.mark.parametrize(("name", "index"), MISTAKES)
def test_known_mistake_is_a_named_function(name, index):
    """Declared one way: a module-level function of ann_core (or NumPy), found under its own name."""
    fn = SPECS[name].mistakes[index].fn
    assert fn.__name__ != "<lambda>" and "<locals>" not in getattr(fn, "__qualname__", ""), fn
    if fn.__module__ != "numpy":  # np.abs and the like are named functions too
        assert getattr(sys.modules[fn.__module__], fn.__name__) is fn, fn


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_public_and_hidden(name, capsys, withheld_open):
    spec = SPECS[name]
    check(name, _copy_of(spec))
    n_public = _count(capsys.readouterr().out, name)
    check(name, _copy_of(spec), seed=12345, hidden=True)
    captured = capsys.readouterr()
    n_hidden = _count(captured.out, name)
    assert captured.err == ""
    assert n_public >= 1
    assert n_hidden >= n_public  # the hidden block adds cases, never drops any
    check(name, _copy_of(spec), seed=7, quiet=True)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(("name", "index"), MISTAKES,
                         ids=[f"{n}-{i}" for n, i in MISTAKES])
def test_known_mistake_fails_with_its_hint(name, index, capsys):
    mistake = SPECS[name].mistakes[index]
    failure = None
    for hidden in (False, True):
        try:
            check(name, mistake.fn, hidden=hidden, quiet=True)
        except CheckFailed as exc:
            failure = exc
            break
    assert failure is not None, f"the mistake {mistake.hint!r} passes every check of {name}"
    assert mistake.hint in str(failure), f"expected hint {mistake.hint!r}, got: {failure}"
    assert str(failure).startswith(name)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("name", NAMES)
def test_reference_object_itself_is_refused(name):
    with pytest.raises(CheckFailed, match="reference"):
        check(name, SPECS[name].reference, quiet=True)


@pytest.mark.parametrize("name", NAMES)
def test_non_callable_is_refused(name, capsys):
    for value in (None, 42, np.zeros(3)):
        with pytest.raises(CheckFailed, match="should be a function"):
            check(name, value, quiet=True)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("name", NAMES)
def test_unimplemented_stub_says_not_implemented(name, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented"):
        check(name, stub, quiet=True)
    with pytest.raises(CheckFailed, match="not implemented"):
        check(name, stub, hidden=True, quiet=True)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("name", NAMES)
def test_noisy_but_correct_code_passes_without_writing_to_stderr(name, capsys):
    ref = SPECS[name].reference

    def noisy(*args, **kwargs):
        print("debugging output", file=sys.stderr)
        print("more debugging output")
        warnings.warn("a learner's warning", UserWarning, stacklevel=1)
        np.log(np.zeros(1))  # a NumPy divide-by-zero RuntimeWarning
        return ref(*args, **kwargs)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may escape check's own capture
        check(name, noisy, hidden=True)
    captured = capsys.readouterr()
    assert captured.err == ""
    _count(captured.out, name)


@pytest.mark.parametrize("name", NAMES)
def test_wrong_code_fails_without_writing_to_stderr(name, capsys):
    def wrong(*args, **kwargs):
        print("debugging output", file=sys.stderr)
        return "not a number"

    with pytest.raises(CheckFailed):
        check(name, wrong, quiet=True)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("name", PLAIN)
def test_mutating_the_inputs_is_refused(name, capsys):
    """The right value, but the float arrays passed in are changed afterwards."""
    spec = SPECS[name]
    cases = spec.cases(np.random.default_rng(0), False)
    if not any(isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.size
               for c in cases for a in c.args):
        pytest.skip(f"no case of {name} passes a float array")
    ref = spec.reference

    def mutating(*args, **kwargs):
        value = ref(*args, **kwargs)
        value = tuple(np.array(v) for v in value) if isinstance(value, tuple) else (
            np.array(value) if isinstance(value, np.ndarray) else value)
        for a in args:
            if isinstance(a, np.ndarray) and a.dtype.kind == "f":
                a += 1.0
        return value

    with pytest.raises(CheckFailed, match="in place"):
        check(name, mutating, quiet=True)
    assert capsys.readouterr().err == ""


def test_in_place_relu_is_refused():
    def relu_in_place(z):
        z = np.asarray(z)
        np.maximum(z, 0.0, out=z)
        return z

    with pytest.raises(CheckFailed, match="changed its input arrays in place"):
        check("relu", relu_in_place, quiet=True)


def test_in_place_sgd_update_is_refused():
    if "sgd_update" not in SPECS:
        pytest.skip("no sgd_update spec registered")

    def sgd_in_place(w, g, lr):
        w -= lr * g
        return w

    with pytest.raises(CheckFailed, match="in place"):
        check("sgd_update", sgd_in_place, quiet=True)


def test_missing_return_is_named():
    with pytest.raises(CheckFailed, match=r"forget `return`"):
        check("sigmoid", lambda z: None, quiet=True)
    with pytest.raises(CheckFailed, match=r"not a number"):
        check("momentum_update", lambda w, g, v, lr, mu=0.9: (w - lr * g, None), quiet=True)


def test_messages_are_specific():
    with pytest.raises(CheckFailed, match=r"sigmoid\(2\)"):
        check("sigmoid", lambda z: None, quiet=True)
    with pytest.raises(CheckFailed, match=r"shape \(1, 3\), expected shape \(3,\)"):
        check("softmax", lambda z: SPECS["softmax"].reference(np.atleast_2d(z)), quiet=True)
    with pytest.raises(CheckFailed, match=r"raised ZeroDivisionError"):
        check("tanh", lambda z: 1 / 0, quiet=True)
    with pytest.raises(KeyError, match="no checks registered"):
        check("no_such_function", lambda z: z)
    assert issubclass(CheckFailed, AssertionError)  # an nbgrader test cell scores 0


def test_almost_right_is_not_right():
    ref = SPECS["sigmoid"].reference
    with pytest.raises(CheckFailed, match="values differ"):
        check("sigmoid", lambda z: ref(z) * (1 + 1e-4), quiet=True)
    check("sigmoid", lambda z: ref(z) * (1 + 1e-9), quiet=True)  # rounding noise is fine


def test_replay_rechecks_recorded_values_outside_the_kernel(monkeypatch):
    """In a grading kernel ``check`` only records what the function did, case by case, and decides
    nothing; ``replay`` decides here, from the seed."""
    from ann_core.checks import RECORD_ENV, RECORD_MIME, replay

    shown = []
    monkeypatch.setenv(RECORD_ENV, "1")
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    ref = SPECS["sigmoid"].reference
    check("sigmoid", lambda z: ref(z), seed=3, hidden=True, quiet=True)
    record = shown[-1][RECORD_MIME]
    assert (record["name"], record["seed"], record["hidden"]) == ("sigmoid", 3, True)
    assert all(set(o) == {"value", "mutated", "warned"} for o in record["outcomes"])
    assert replay(record) == ""
    forged = dict(record, outcomes=[dict(o, value={"array": [o["value"]["array"][0],
                                                             ["0.5"] * len(o["value"]["array"][1])]})
                                    for o in record["outcomes"]])
    assert "value" in replay(forged)  # a wrong value is caught
    assert "incomplete" in replay(dict(record, outcomes=record["outcomes"][:-1]))  # a missing one too
    assert replay(dict(record, seed=4)) != ""  # the values belong to the seed
    assert "could not be read" in replay({"name": "sigmoid"})
    check("sigmoid", lambda z: 1 / 0, seed=3, quiet=True)  # a wrong function: recorded, not raised
    assert shown[-1][RECORD_MIME]["outcomes"] == [{"error": "ZeroDivisionError", "text": "division by zero",
                                                   "where": ""}]
