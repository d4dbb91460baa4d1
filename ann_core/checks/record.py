"""The record/replay protocol between a grading kernel and the grader.

In a grading kernel (``RECORD_ENV`` set to "1": autograder/execute.py asks the sandbox for it) ``check`` displays,
as output of MIME type ``RECORD_MIME``, a record of what the learner's function did on each
case (``core.record``): the value it returned, whether it changed its inputs, or the exception
it raised. The kernel decides nothing (its ann_core has no reference to decide with). The
grader ``judge``\\ s the record in its own process, where learner code cannot reach: the cases
and expected values are regenerated from the seed there.
"""

from __future__ import annotations

import os

import numpy as np

from .calling import overflow_text
from .compare import _close, _show_case
from .spec import SPECS, _plan, _wrapped

RECORD_MIME = "application/vnd.ann-course.check-record+json"
# "1" inside a grading kernel: the one definition (autograder/execute.py gives it to the grader's kernels)
RECORD_ENV = "ANN_AUTOGRADER"


def grading() -> bool:
    """True inside the grader's kernel."""
    return os.environ.get(RECORD_ENV) == "1"


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


def judge(record: dict, name: str, seed: int, hidden: bool, value=_unportable):
    """Decide a kernel's record of ``check(name, fn, seed=seed, hidden=hidden)``, here.

    Returns ``(plan, None)`` when every case passed, else ``(plan, (i, failure))``: ``plan`` is
    ``_plan``'s list, ``i`` the first failing case and ``failure`` a dict whose ``kind`` is
    ``not_callable``, ``reference``, ``withheld``, ``not_implemented``, ``error`` (with ``error``,
    ``text``), ``value`` (with ``got`` from ``value(portable)``, ``why``, ``warned``), ``mutated``,
    ``overflow`` (with ``got``, ``warning``: the spec promises no overflow, ``Spec.no_overflow``) or
    ``incomplete``. A record that does not fit raises (``ValueError``, ``KeyError``, ...).
    """
    plan = list(_plan(_wrapped(SPECS[name]), seed, hidden))
    failed, outcomes = record.get("failed"), record["outcomes"]
    if failed is not None:
        if not isinstance(failed, dict) or failed.get("kind") not in ("not_callable", "reference"):
            raise ValueError("failed")
        return plan, (0, dict(failed))
    if not isinstance(outcomes, list) or len(outcomes) > len(plan):
        raise ValueError("outcomes")
    for i, (out, (case_spec, _case, expected)) in enumerate(zip(outcomes, plan, strict=False)):
        if "error" in out:
            etype, text = str(out["error"]), str(out.get("text", ""))
            if etype == "ReferenceUnavailable":
                return plan, (i, {"kind": "withheld", "text": text})
            if etype == "NotImplementedError":
                return plan, (i, {"kind": "not_implemented", "where": str(out.get("where", ""))})
            return plan, (i, {"kind": "error", "error": etype, "text": text})
        got = value(out["value"])
        ok, why = _close(got, expected, case_spec.rtol, case_spec.atol)
        if not ok:
            return plan, (i, {"kind": "value", "got": got, "why": why, "warned": bool(out.get("warned"))})
        if out.get("mutated"):
            return plan, (i, {"kind": "mutated", "got": got})
        warning = overflow_text(out.get("overflow"))
        if case_spec.no_overflow and warning:
            return plan, (i, {"kind": "overflow", "got": got, "warning": warning})
    if len(outcomes) < len(plan):
        return plan, (len(outcomes), {"kind": "incomplete"})
    return plan, None


def replay(record: dict) -> str:
    """'' if a kernel's record shows its check passing, judged here (``judge``); otherwise why not, briefly."""
    try:
        name = record["name"]
        plan, failure = judge(record, name, int(record["seed"]), bool(record["hidden"]))
    except Exception as exc:  # a forged or damaged record
        return f"the check record could not be read ({type(exc).__name__})"
    if failure is None:
        return ""
    i, f = failure
    case_spec, case, _ = plan[min(i, len(plan) - 1)]
    return f"{name}({_show_case(case_spec, case)}) failed: {f['kind']}" + (f" ({f['why']})" if "why" in f else "")
