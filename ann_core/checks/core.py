"""The check itself: ``check(name, fn)`` runs a spec's plan on the learner's ``fn``.

A learner's function is checked in three ways, in this order:

1. against the worked examples of ``ann_core.examples`` (numbers computed by hand);
2. against the reference implementation on random inputs of several shapes;
3. when it disagrees, against the spec's *known mistakes* (wrong implementations
   learners plausibly write); a mistake that reproduces the learner's output names
   the likely error in the message (``diagnose``).
"""

from __future__ import annotations

import re

from .. import examples as _examples
from .calling import _quiet, call
from .compare import MAX_DETAILS, MAX_MESSAGE, _close, _describe, _show_case, details
from .record import _emit, _portable, grading
from .spec import SPECS, Case, Spec, _cases, _plan, _wrapped
from .withhold import lesson_names, unavailable

_WITHHELD = re.compile(r"(ann_core(?:\.\w+)+) is ")


def uses_withheld(name: str, text: str, known=None) -> str:
    """The message for ``name`` raising ``ReferenceUnavailable`` with ``text``: it uses ann_core's own
    version of what the lesson asks for. ``known``: the dotted names that may be named (others are not)."""
    m = _WITHHELD.match(str(text))
    what = m.group(1) if m and (known is None or m.group(1) in known) else None
    if what and what.startswith("ann_core.checks."):
        return (f"{name} uses {what.removeprefix('ann_core.')}, one of the checks' own helpers (a known "
                "mistake): it is not available while your work is checked; write the function yourself.")
    what = f"ann_core's {what.removeprefix('ann_core.')}" if what else "a function of ann_core this lesson withholds"
    return (f"{name} uses {what}, which this lesson asks you to write: write it yourself (within a lesson, "
            "use your own earlier functions; earlier lessons' ann_core functions stay available).")


class CheckFailed(AssertionError):
    """A graded function gave a wrong answer; the message says what and why."""


def diagnose(spec: Spec, case: Case, got=None, error: BaseException | None = None) -> str:
    """The hint of the first known mistake that reproduces ``got`` (or ``error``) on ``case``."""
    for m in spec.mistakes:
        wrong = _quiet(m.fn, case.args, case.kwargs)
        if error is not None:
            if wrong.error is not None and type(wrong.error) is type(error) and str(wrong.error) == str(error):
                return f" Likely mistake: {m.hint}"
        elif wrong.error is None and wrong.value is not None and _close(got, wrong.value, 1e-6, 1e-9)[0]:
            return f" Likely mistake: {m.hint}"
    return ""


def diagnose_overflow(spec: Spec, case: Case, got, warning: str) -> str:
    """The hint of the first known mistake that returns ``got`` on ``case`` with the same NumPy
    ``warning`` (e.g. "overflow encountered in exp"); else the general advice (``OVERFLOW_FIX``)."""
    for m in spec.mistakes:
        wrong = call(m.fn, case.args, case.kwargs)
        if wrong.error is None and wrong.overflow == warning and _close(got, wrong.value, 1e-6, 1e-9)[0]:
            return f" Likely mistake: {m.hint}"
    return OVERFLOW_FIX


OVERFLOW_FIX = (" Fix: evaluate exp only where it cannot overflow, e.g. e = np.exp(-np.abs(z)) ≤ 1, or subtract "
                "the maximum first (np.where does not help: NumPy computes both branches for every element).")


def overflow_why(warning: str) -> str:
    """How a message says that a function whose docstring promises no overflow overflowed."""
    return (f"overflowed: NumPy warned \"{warning}\" (the values may still look right, but the docstring "
            "promises no overflow)")


def _failure(spec, case, why, hint="", public=True, **shown) -> CheckFailed:
    """The message of a failing case: the call, what went wrong, the likely mistake; then, for a public
    case, the inputs the call does not show and (given ``got`` and ``want``) expected against actual."""
    head = f"{spec.name}({_show_case(spec, case)}) {why}.{hint}"
    more = details(spec, case, budget=min(MAX_DETAILS, MAX_MESSAGE - 1 - len(head)), **shown) if public else ""
    return CheckFailed(head + (f"\n{more}" if more else ""))


def _failed(exc: CheckFailed, kind: str, **what) -> CheckFailed:
    """``exc`` carrying a record of what failed (``kind``: value, error, mutated, ...) for the grader."""
    exc.failed = {"kind": kind, **what}
    return exc


def _where(error: BaseException) -> str:
    """The function in which ``error`` was raised (the innermost frame)."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_name if tb is not None else ""


def run_case(spec: Spec, fn, case: Case, expected, public: bool = True):
    """Call ``fn`` on ``case``; raise ``CheckFailed`` unless it returns ``expected``; return its value.

    While ``fn`` runs, what its lesson withholds (``withhold.unavailable``) raises ``ReferenceUnavailable``.
    A ``public`` case's message shows its inputs and expected against actual (``compare.details``).
    """
    name = spec.name
    with unavailable(lesson_names(name)) as renewed:
        res = call(fn, case.args, case.kwargs)
    if type(res.error).__name__ == "ReferenceUnavailable" or renewed:
        text = str(res.error) if res.error is not None else f"{renewed[0]} is "
        raise _failed(CheckFailed(uses_withheld(name, text)), "withheld")
    if isinstance(res.error, NotImplementedError):
        where = _where(res.error)
        if where in (name, getattr(fn, "__name__", name), "<lambda>"):
            raise _failed(CheckFailed(
                f"{name} is not implemented yet: replace `raise NotImplementedError()` with your code."
            ), "not_implemented", where=name)
        raise _failed(CheckFailed(f"{name} calls {where}, which is not implemented yet: finish {where} first."),
                      "not_implemented", where=where)
    if res.error is not None:
        err = f"{type(res.error).__name__}: {res.error}"[:300]
        raise _failed(_failure(spec, case, f"raised {err}", diagnose(spec, case, error=res.error), public), "error",
                      error=type(res.error).__name__, text=str(res.error)[:1000]) from res.error
    ok, why = _close(res.value, expected, spec.rtol, spec.atol)
    if not ok:
        hint = diagnose(spec, case, res.value)
        if not hint and res.warnings:
            hint = f" NumPy warned: {res.warnings[0]} (overflow? see the lesson on numerical stability)"
        raise _failed(_failure(spec, case, why, hint, public, got=res.value, want=expected), "value",
                      value=_portable(res.value), warned=bool(res.warnings))
    if res.mutated:
        raise _failed(_failure(spec, case, "changed its input arrays in place",
                               " Compute new arrays (e.g. w - lr * g) instead of modifying the arguments.", public),
                      "mutated", value=_portable(res.value))
    if spec.no_overflow and res.overflow:
        raise _failed(_failure(spec, case, overflow_why(res.overflow),
                               diagnose_overflow(spec, case, res.value, res.overflow), public),
                      "overflow", warning=res.overflow, value=_portable(res.value))
    return res.value


def record(name: str, fn, seed: int, hidden: bool) -> None:
    """In a grading kernel: call ``fn`` on every case and display what happened, deciding nothing.

    Each case's *outcome* is the value returned (and whether the inputs were changed in place,
    whether NumPy warned, and NumPy's overflow warning if it gave one) or the exception raised
    (its type, text and, for ``NotImplementedError``, the function that raised it). Calling stops
    at the first exception. The grader compares the outcomes with the expected values and words
    every message (``autograder/verify.py``): the reference is not in this kernel's ann_core
    (``withhold``).
    """
    spec = SPECS[name]
    out: dict = {"name": name, "seed": seed, "hidden": hidden, "outcomes": []}
    if not callable(fn):
        out["failed"] = {"kind": "not_callable"}
    elif fn is spec.reference:
        out["failed"] = {"kind": "reference"}
    else:
        fn = spec.wrap(fn) if spec.wrap is not None else fn
        for _, case, _ in _cases(spec, seed, hidden):
            res = call(fn, case.args, case.kwargs)
            if res.error is not None:
                e = res.error
                out["outcomes"].append({"error": type(e).__name__, "text": str(e)[:1000],
                                        "where": _where(e) if isinstance(e, NotImplementedError) else ""})
                break
            outcome = {"value": _portable(res.value), "mutated": res.mutated, "warned": bool(res.warnings)}
            if res.overflow:
                outcome["overflow"] = res.overflow
            out["outcomes"].append(outcome)
    _emit(out)


def check(name: str, fn, *, seed: int = 0, hidden: bool = False, quiet: bool = False) -> None:
    """Check the learner's ``fn`` as the graded function ``name``; raise ``CheckFailed`` if wrong.

    Prints ``✔ name: N checks passed`` on success (unless ``quiet``); returns None, so
    a test cell never ends with a value nbgrader would read as partial credit. Inside
    a grading kernel it only records what ``fn`` did (``record``); the grader decides.
    """
    if name not in SPECS:
        raise KeyError(f"no checks registered for {name!r}; known: {sorted(SPECS)}")
    if grading():
        record(name, fn, seed, hidden)
        return
    spec = SPECS[name]
    n = 0
    if not callable(fn):
        raise _failed(CheckFailed(f"{name} should be a function, but it is {_describe(fn)}."), "not_callable")
    if fn is spec.reference:
        raise _failed(CheckFailed(f"{name} is ann_core's reference implementation; write your own version."),
                      "reference")
    if spec.wrap is not None:
        fn = spec.wrap(fn)
    n_examples = len(_examples.for_function(name)) if spec.examples else 0
    for i, (case_spec, case, expected) in enumerate(_plan(_wrapped(spec), seed, hidden)):
        run_case(case_spec, fn, case, expected, public=not hidden or i < n_examples)
        n += 1
    if not quiet:
        print(f"✔ {name}: {n} checks passed" + (" (hidden tests)" if hidden else ""))
