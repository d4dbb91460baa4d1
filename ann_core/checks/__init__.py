"""Checks that notebook test cells, pytest and ``python -m autograder check`` share.

A learner's function is checked in three ways, in this order:

1. against the worked examples of ``ann_core.examples`` (numbers computed by hand);
2. against the reference implementation on random inputs of several shapes;
3. when it disagrees, against a table of *known mistakes* (wrong implementations
   learners plausibly write); a mistake that reproduces the learner's output names
   the likely error in the message.

``check(name, fn)`` prints one line on success and raises ``CheckFailed`` (an
``AssertionError``) with a specific message otherwise, so an nbgrader test cell
scores full points or none. Test cells call it twice: ``check("sigmoid", sigmoid)``
in public, and ``check("sigmoid", sigmoid, seed=…, hidden=True)`` in the hidden
block, which adds larger shapes and edge cases drawn from another seed.

Every call to the learner's code runs with warnings and stderr captured, because
nbgrader zeroes a test cell that writes to stderr.
"""

from __future__ import annotations

import contextlib
import io
import math
import os as _os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import examples as _examples


class CheckFailed(AssertionError):
    """A graded function gave a wrong answer; the message says what and why."""


@dataclass
class Case:
    """One call: positional ``args``, keyword ``kwargs`` and a short ``label``."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    label: str = ""


@dataclass
class Mistake:
    """A plausible wrong implementation and the hint shown when it matches."""

    hint: str
    fn: Callable


@dataclass
class Spec:
    """How to check the graded function ``name``.

    ``cases(rng, hidden)`` returns the random cases; ``reference`` computes the right
    answer; ``mistakes`` diagnose wrong ones. ``rtol``/``atol`` set the tolerance.
    """

    name: str
    reference: Callable
    cases: Callable[[np.random.Generator, bool], list[Case]]
    mistakes: list[Mistake] = field(default_factory=list)
    rtol: float = 1e-6
    atol: float = 1e-8
    examples: bool = True  # also check the worked examples for this name
    # Optional adapter applied to the learner's function, the reference and every mistake
    # before calling them, e.g. ``lambda f: lambda *a: list(f(*a))`` for a generator.
    wrap: Callable[[Callable], Callable] | None = None
    # What the exercise may not call besides ``reference`` (dotted names such as
    # "ann_core.layers.Dense.forward"): other ann_core code that does the same job. The
    # grader checks the learner's code for them outside the kernel (autograder/integrity.py).
    forbidden: tuple[str, ...] = ()


SPECS: dict[str, Spec] = {}


def register(spec: Spec) -> Spec:
    SPECS[spec.name] = spec
    return spec


# ---------------------------------------------------------------- comparing values
def _flatten(value) -> tuple[tuple, list] | None:
    """``value`` as (shape, list of floats); tuples of arrays become a list of those.

    ``None`` anywhere (a forgotten ``return``) is not a number: NumPy would make it nan.
    """
    if value is None or (isinstance(value, (tuple, list)) and any(v is None for v in value)):
        return None
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr.shape, [float(v) for v in arr.ravel().tolist()]


def _close(got, want, rtol, atol, _path="") -> tuple[bool, str]:
    """Compare with plain float arithmetic (nothing a learner can monkey-patch)."""
    if isinstance(want, tuple):
        if not isinstance(got, tuple | list) or len(got) != len(want):
            if _path:
                return False, f"returned {_describe(got)} as item {_path}, which should be a tuple of {len(want)}"
            return False, f"should return a tuple of {len(want)} values, got {_describe(got)}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            ok, why = _close(g, w, rtol, atol, f"{_path}[{i}]")
            if not ok:
                return False, why
        return True, ""
    if _path:  # inside a returned tuple: say which item, e.g. [1][0] for the first of the second
        ok, why = _close(got, want, rtol, atol)
        return ok, (f"item {_path} of the returned tuple: {why}" if not ok else "")
    g, w = _flatten(got), _flatten(want)
    if g is None:
        return False, f"returned {_describe(got)}, which is not a number or array of numbers"
    (gs, gv), (ws, wv) = g, w
    if gs != ws:
        return False, f"returned shape {gs}, expected shape {ws}"
    bad = []
    for i, (a, b) in enumerate(zip(gv, wv, strict=True)):
        if not (a == a) or a in (math.inf, -math.inf):
            if not (b != b or a == b):
                bad.append(i)
        elif not (a - b <= atol + rtol * (b if b >= 0 else -b) and b - a <= atol + rtol * (b if b >= 0 else -b)):
            bad.append(i)
    if not bad:
        return True, ""
    i = bad[0]
    where = f" (first at index {tuple(int(k) for k in np.unravel_index(i, ws))})" if ws else ""
    return False, (
        f"{len(bad)} of {len(wv)} values differ{where}: got {_fmt(gv[i])}, expected {_fmt(wv[i])}"
    )


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if value is None:
        return "None (did you forget `return`?)"
    return f"{type(value).__name__} {value!r}"[:120]


def _show_args(args, kwargs) -> str:
    def one(a):
        if callable(a):
            return getattr(a, "__name__", "f")
        if isinstance(a, str):
            return repr(a)
        try:
            arr = np.asarray(a)
        except (ValueError, TypeError):  # ragged lists such as a network's params
            return f"<{type(a).__name__} of {len(a)}>" if hasattr(a, "__len__") else f"<{type(a).__name__}>"
        if arr.dtype == object:
            return f"<{type(a).__name__} of {len(a)}>" if hasattr(a, "__len__") else f"<{type(a).__name__}>"
        if arr.dtype.kind in "biuf" and arr.size <= 4:
            return np.array2string(arr, precision=4, separator=", ") if arr.ndim else _fmt(float(arr))
        return f"<array {arr.shape}>"

    parts = [one(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return ", ".join(parts)


# ---------------------------------------------------------------- calling learner code
@dataclass
class Call:
    value: Any = None
    error: BaseException | None = None
    warnings: list = field(default_factory=list)
    mutated: bool = False


def _copy(x):
    if isinstance(x, np.ndarray):
        return x.copy()
    if isinstance(x, list | tuple):
        return type(x)(_copy(v) for v in x)
    return x


def call(fn, args, kwargs=None) -> Call:
    """Call ``fn`` on copies of ``args`` with warnings and stderr captured."""
    kwargs = kwargs or {}
    a = _copy(args)
    res = Call()
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn"), \
            contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("always")
        try:
            res.value = fn(*a, **kwargs)
        except Exception as exc:  # the learner's code may raise anything
            res.error = exc
    res.warnings = [str(w.message) for w in caught]
    res.mutated = any(
        isinstance(x, np.ndarray) and (x.shape != y.shape or not np.array_equal(x, y, equal_nan=True))
        for x, y in zip(a, args, strict=True)
    )
    return res


def _silent(fn, args, kwargs):
    """Run a reference or mistake implementation quietly; None if it fails."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return fn(*_copy(args), **kwargs)
        except Exception:
            return None


# ---------------------------------------------------------------- the check itself
def _raises_same(fn, case: Case, error: BaseException) -> bool:
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            fn(*_copy(case.args), **case.kwargs)
    except Exception as exc:
        return type(exc) is type(error) and str(exc) == str(error)
    return False


def diagnose(spec: Spec, case: Case, got=None, error: BaseException | None = None) -> str:
    """The hint of the first known mistake that reproduces ``got`` (or ``error``) on ``case``."""
    if error is not None:
        for m in spec.mistakes:
            if _raises_same(m.fn, case, error):
                return f" Likely mistake: {m.hint}"
        return ""
    for m in spec.mistakes:
        wrong = _silent(m.fn, case.args, case.kwargs)
        if wrong is not None and _close(got, wrong, 1e-6, 1e-9)[0]:
            return f" Likely mistake: {m.hint}"
    return ""


def _failure(name, case, why, hint="") -> CheckFailed:
    return CheckFailed(f"{name}({_show_args(case.args, case.kwargs)}) {why}.{hint}")


def _failed(exc: CheckFailed, kind: str, **what) -> CheckFailed:
    """``exc`` carrying a record of what failed (``kind``: value, error, mutated, ...) for the grader."""
    exc.failed = {"kind": kind, **what}
    return exc


def run_case(spec: Spec, fn, case: Case, expected):
    """Call ``fn`` on ``case``; raise ``CheckFailed`` unless it returns ``expected``; return its value."""
    name = spec.name
    res = call(fn, case.args, case.kwargs)
    if isinstance(res.error, NotImplementedError):
        tb = res.error.__traceback__
        while tb.tb_next is not None:
            tb = tb.tb_next
        where = tb.tb_frame.f_code.co_name
        if where in (name, getattr(fn, "__name__", name), "<lambda>"):
            raise _failed(CheckFailed(
                f"{name} is not implemented yet: replace `raise NotImplementedError()` with your code."
            ), "not_implemented", where=name)
        raise _failed(CheckFailed(f"{name} calls {where}, which is not implemented yet: finish {where} first."),
                      "not_implemented", where=where)
    if res.error is not None:
        err = f"{type(res.error).__name__}: {res.error}"[:300]
        raise _failed(_failure(name, case, f"raised {err}", diagnose(spec, case, error=res.error)), "error",
                      error=type(res.error).__name__, text=str(res.error)[:1000]) from res.error
    ok, why = _close(res.value, expected, spec.rtol, spec.atol)
    if not ok:
        hint = diagnose(spec, case, res.value)
        if not hint and res.warnings:
            hint = f" NumPy warned: {res.warnings[0]} (overflow? see the lesson on numerical stability)"
        raise _failed(_failure(name, case, why, hint), "value", value=_portable(res.value),
                      warned=bool(res.warnings))
    if res.mutated:
        raise _failed(_failure(name, case, "changed its input arrays in place",
                               " Compute new arrays (e.g. w - lr * g) instead of modifying the arguments."),
                      "mutated", value=_portable(res.value))
    return res.value


def _plan(spec: Spec, seed: int, hidden: bool):
    """The cases ``check`` runs, in order, as ``(spec to use, case, expected value)``."""
    name = spec.name
    if spec.examples:
        for ex in _examples.for_function(name):
            tol = 0.5 * 10.0 ** (-ex.decimals) + 1e-12
            yield (Spec(name, spec.reference, spec.cases, spec.mistakes, rtol=0, atol=tol),
                   Case(ex.args, ex.kwargs, ex.text), ex.expected)
    rng = np.random.default_rng(seed)
    for case in spec.cases(rng, hidden):
        yield spec, case, spec.reference(*_copy(case.args), **case.kwargs)


def _wrapped(spec: Spec) -> Spec:
    if spec.wrap is None:
        return spec
    return Spec(spec.name, spec.wrap(spec.reference), spec.cases,
                [Mistake(m.hint, spec.wrap(m.fn)) for m in spec.mistakes],
                spec.rtol, spec.atol, spec.examples, forbidden=spec.forbidden)


def check(name: str, fn, *, seed: int = 0, hidden: bool = False, quiet: bool = False) -> None:
    """Check the learner's ``fn`` as the graded function ``name``; raise ``CheckFailed`` if wrong.

    Prints ``✔ name: N checks passed`` on success (unless ``quiet``); returns None, so
    a test cell never ends with a value nbgrader would read as partial credit. Inside
    a grading kernel it also displays a record of every value ``fn`` returned (and, when
    a case fails, of what failed), which the grader checks again outside the kernel
    (``replay``), where learner code cannot reach; the grader words its own messages.
    """
    if name not in SPECS:
        raise KeyError(f"no checks registered for {name!r}; known: {sorted(SPECS)}")
    spec = SPECS[name]
    returned = []
    try:
        if not callable(fn):
            raise _failed(CheckFailed(f"{name} should be a function, but it is {_describe(fn)}."), "not_callable")
        if fn is spec.reference:
            raise _failed(CheckFailed(f"{name} is ann_core's reference implementation; write your own version."),
                          "reference")
        if spec.wrap is not None:
            fn = spec.wrap(fn)
        for case_spec, case, expected in _plan(_wrapped(spec), seed, hidden):
            returned.append(_portable(run_case(case_spec, fn, case, expected)))
    except CheckFailed as exc:
        if _os.environ.get(RECORD_ENV) == "1":
            failed = dict(getattr(exc, "failed", None) or {"kind": "other"}, index=len(returned))
            _emit({"name": name, "seed": seed, "hidden": hidden, "values": returned, "failed": failed})
        raise
    if _os.environ.get(RECORD_ENV) == "1":
        _emit({"name": name, "seed": seed, "hidden": hidden, "values": returned})
    if not quiet:
        print(f"✔ {name}: {len(returned)} checks passed" + (" (hidden tests)" if hidden else ""))


# ---------------------------------------------------------------- replay outside the kernel
RECORD_MIME = "application/vnd.ann-course.check-record+json"
RECORD_ENV = "ANN_AUTOGRADER"  # set by the grader's sandboxed kernel (autograder/sandbox.py)


def _portable(value):
    """A JSON-safe copy of a returned value (floats as their exact ``repr``)."""
    if isinstance(value, tuple | list):
        return {type(value).__name__: [_portable(v) for v in value]}
    if value is None:
        return None
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        return {"other": type(value).__name__}
    return {"array": [list(arr.shape), [repr(float(v)) for v in arr.ravel().tolist()]]}


def _unportable(p):
    if p is None:
        return None
    if "tuple" in p:
        return tuple(_unportable(v) for v in p["tuple"])
    if "list" in p:
        return [_unportable(v) for v in p["list"]]
    if "array" in p:
        shape, values = p["array"]
        return np.array([float(v) for v in values], dtype=np.float64).reshape(shape)
    return object()


def _emit(record: dict) -> None:
    try:
        from IPython.display import display
    except ImportError:
        return
    display({RECORD_MIME: record}, raw=True)


def replay(record: dict) -> str:
    """Check a kernel's record of returned values again, here; '' if all are right.

    ``record`` is what ``check`` displayed: the graded function's name, the seed, whether
    the hidden cases ran, and every value returned. The cases and the expected values
    are regenerated from the seed in this process, so replacing ``check``, ``np.allclose``
    or the reference inside the learner's kernel cannot make a wrong value pass.
    """
    try:
        name, seed, hidden, values = record["name"], int(record["seed"]), bool(record["hidden"]), record["values"]
        if record.get("failed") is not None:
            return f"{name} failed its check"
        spec = _wrapped(SPECS[name])
        plan = list(_plan(spec, seed, hidden))
        if not isinstance(values, list) or len(values) != len(plan):
            got = len(values) if isinstance(values, list) else "?"
            return f"the record of {name} has {got} values, expected {len(plan)}"
        for (case_spec, case, expected), value in zip(plan, values, strict=True):
            ok, why = _close(_unportable(value), expected, case_spec.rtol, case_spec.atol)
            if not ok:
                return f"{name}({_show_args(case.args, case.kwargs)}) {why}"
    except Exception as exc:  # a forged or damaged record
        return f"the check record could not be read ({type(exc).__name__})"
    return ""


def arrays(rng: np.random.Generator, shapes, scale: float = 2.0):
    """Random float arrays of the given shapes, normal with standard deviation ``scale``."""
    return [rng.normal(0.0, scale, size=s) for s in shapes]


def _register_all() -> None:
    """Import every submodule of ``ann_core.checks``; each registers its lesson's specs."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


_register_all()
