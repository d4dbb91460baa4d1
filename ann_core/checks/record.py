"""The record/replay protocol between a grading kernel and the grader.

In a grading kernel (``RECORD_ENV`` set to "1": autograder/execute.py asks the sandbox for it) ``check`` displays,
as output of MIME type ``RECORD_MIME``, a record of every value the learner's function
returned. The grader reads it and ``replay``\\ s it in its own process, where learner code
cannot reach: the cases and expected values are regenerated from the seed there.
"""

from __future__ import annotations

import os

import numpy as np

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
                return f"{name}({_show_case(case_spec, case)}) {why}"
    except Exception as exc:  # a forged or damaged record
        return f"the check record could not be read ({type(exc).__name__})"
    return ""
