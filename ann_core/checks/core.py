"""The check itself: ``check(name, fn)`` runs a spec's plan on the learner's ``fn``.

A learner's function is checked in three ways, in this order:

1. against the worked examples of ``ann_core.examples`` (numbers computed by hand);
2. against the reference implementation on random inputs of several shapes;
3. when it disagrees, against the spec's *known mistakes* (wrong implementations
   learners plausibly write); a mistake that reproduces the learner's output names
   the likely error in the message (``diagnose``).
"""

from __future__ import annotations

from .calling import _quiet, call
from .compare import _close, _describe, _show_case
from .record import _emit, _portable, grading
from .spec import SPECS, Case, Spec, _plan, _wrapped


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
        if grading():
            failed = dict(getattr(exc, "failed", None) or {"kind": "other"}, index=len(returned))
            _emit({"name": name, "seed": seed, "hidden": hidden, "values": returned, "failed": failed})
        raise
    if grading():
        _emit({"name": name, "seed": seed, "hidden": hidden, "values": returned})
    if not quiet:
        print(f"✔ {name}: {len(returned)} checks passed" + (" (hidden tests)" if hidden else ""))
