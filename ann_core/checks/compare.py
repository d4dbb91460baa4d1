"""Comparing and showing values: what a returned value is, how far from the expected one.

Comparison uses plain float arithmetic on lists (nothing a learner's code can monkey-patch).
"""

from __future__ import annotations

import math

import numpy as np


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

    parts = [one(a) for a in args] + [f"{k}={one(v) if callable(v) else repr(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)


def _show_case(spec, case) -> str:
    """How messages show ``case``'s arguments: its label where the spec says so, else the values."""
    return case.label if spec.label_args else _show_args(case.args, case.kwargs)
