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

from .calling import _quiet, call
from .compare import _close, _describe, _show_case
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


def _failure(spec, case, why, hint="") -> CheckFailed:
    return CheckFailed(f"{spec.name}({_show_case(spec, case)}) {why}.{hint}")


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


def run_case(spec: Spec, fn, case: Case, expected):
    """Call ``fn`` on ``case``; raise ``CheckFailed`` unless it returns ``expected``; return its value.

    While ``fn`` runs, what its lesson withholds (``withhold.unavailable``) raises ``ReferenceUnavailable``.
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
        raise _failed(_failure(spec, case, f"raised {err}", diagnose(spec, case, error=res.error)), "error",
                      error=type(res.error).__name__, text=str(res.error)[:1000]) from res.error
    ok, why = _close(res.value, expected, spec.rtol, spec.atol)
    if not ok:
        hint = diagnose(spec, case, res.value)
        if not hint and res.warnings:
            hint = f" NumPy warned: {res.warnings[0]} (overflow? see the lesson on numerical stability)"
        raise _failed(_failure(spec, case, why, hint), "value", value=_portable(res.value),
                      warned=bool(res.warnings))
    if res.mutated:
        raise _failed(_failure(spec, case, "changed its input arrays in place",
                               " Compute new arrays (e.g. w - lr * g) instead of modifying the arguments."),
                      "mutated", value=_portable(res.value))
    return res.value


def record(name: str, fn, seed: int, hidden: bool) -> None:
    """In a grading kernel: call ``fn`` on every case and display what happened, deciding nothing.

    Each case's *outcome* is the value returned (and whether the inputs were changed in place
    and NumPy warned) or the exception raised (its type, text and, for ``NotImplementedError``,
    the function that raised it). Calling stops at the first exception. The grader compares
    the outcomes with the expected values and words every message (``autograder/verify.py``):
    the reference is not in this kernel's ann_core (``withhold``).
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
            out["outcomes"].append({"value": _portable(res.value), "mutated": res.mutated,
                                    "warned": bool(res.warnings)})
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
    for case_spec, case, expected in _plan(_wrapped(spec), seed, hidden):
        run_case(case_spec, fn, case, expected)
        n += 1
    if not quiet:
        print(f"✔ {name}: {n} checks passed" + (" (hidden tests)" if hidden else ""))
