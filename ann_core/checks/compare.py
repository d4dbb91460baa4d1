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
    bad = _bad(gv, wv, rtol, atol)
    if not bad:
        return True, ""
    i = bad[0]
    where = f" (first at index {tuple(int(k) for k in np.unravel_index(i, ws))})" if ws else ""
    return False, (
        f"{len(bad)} of {len(wv)} values differ{where}: got {_fmt(gv[i])}, expected {_fmt(wv[i])}"
    )


def _bad(gv: list, wv: list, rtol, atol) -> list[int]:
    """The flat indices where ``gv`` differs from ``wv`` by more than ``atol + rtol·|want|``."""
    bad = []
    for i, (a, b) in enumerate(zip(gv, wv, strict=True)):
        if not (a == a) or a in (math.inf, -math.inf):
            if not (b != b or a == b):
                bad.append(i)
        elif not (a - b <= atol + rtol * (b if b >= 0 else -b) and b - a <= atol + rtol * (b if b >= 0 else -b)):
            bad.append(i)
    return bad


def _fmt(x: float) -> str:
    return f"{x + 0.0:.6g}"  # + 0.0: no "-0"


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
        if arr.dtype.kind in "biuf" and arr.size <= 4:  # on one line: a message's first line is one line
            return " ".join(np.array2string(arr, precision=4, separator=", ").split()) if arr.ndim else _fmt(float(arr))
        return f"<array {arr.shape}>"

    parts = [one(a) for a in args] + [f"{k}={one(v) if callable(v) else repr(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)


def _show_case(spec, case) -> str:
    """How messages show ``case``'s arguments: its label where the spec says so, else the values."""
    return case.label if spec.label_args else _show_args(case.args, case.kwargs)


# ---------------------------------------------------------------- the details under a failing public case
SMALL = 20  # arrays with at most this many entries are shown in full
FIRST = 3  # how many differing entries a larger mismatch lists
MAX_MESSAGE = 1000  # a whole message: it goes to items.csv and feedback HTML (as autograder.score.MAX_MESSAGE)
MAX_DETAILS = 750  # at most this much of it: the detail lines


def _num(x: float) -> str:
    return f"{x + 0.0:.4g}"  # + 0.0: no "-0"


def _pair(a: float, b: float) -> tuple[str, str]:
    """``a`` and ``b`` with the fewest significant digits (at least 4) that tell them apart."""
    for digits in (4, 6, 8, 10, 13, 17):
        sa, sb = f"{a + 0.0:.{digits}g}", f"{b + 0.0:.{digits}g}"
        if sa != sb:
            break
    return sa, sb


def _array_text(shape: tuple, values: list) -> str:
    """An array on one line, 4 significant digits: ``[[0.1192, 0.8808], [0.5, 0.5]]``."""
    if not shape:
        return _num(values[0])
    arr = np.array(values, dtype=np.float64).reshape(shape)
    text = np.array2string(arr, separator=", ", formatter={"float_kind": _num}, max_line_width=10**6,
                           threshold=10**6)
    return " ".join(text.split())


def _index(i: int, shape: tuple) -> str:
    return "[" + ", ".join(str(int(k)) for k in np.unravel_index(i, shape)) + "]" if shape else "[]"


def _param_names(fn, n: int) -> list[str]:
    """The names of ``fn``'s first ``n`` positional parameters, or ``argument 1``, … when unknown."""
    import inspect

    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(names) < n or any(p.kind is p.VAR_POSITIONAL for p in params[:n]):
        return [f"argument {k + 1}" for k in range(n)]
    return names[:n]


def _input_lines(spec, case) -> list[tuple[str, str]]:
    """``(full, short)`` lines for each array argument that the call ``spec.name(…)`` does not show itself
    (more than 4 entries): in full up to ``SMALL`` entries, else by shape and dtype."""
    if spec.label_args:
        return []
    named = list(zip(_param_names(spec.reference, len(case.args)), case.args, strict=True)) + list(
        case.kwargs.items())
    out = []
    for name, a in named:
        if callable(a) or isinstance(a, str):
            continue
        try:
            arr = np.asarray(a)
        except (TypeError, ValueError):
            continue
        if arr.dtype.kind not in "biuf" or arr.size <= 4:
            continue
        short = f"  {name}: an array of shape {arr.shape}, dtype {arr.dtype}"
        if arr.size <= SMALL:
            out.append((f"  {name} = {_array_text(arr.shape, [float(v) for v in arr.ravel().tolist()])}", short))
        else:
            out.append((short, short))
    return out


def _first_bad(got, want, rtol, atol, path=""):
    """``(path, got item, expected item)`` of the first differing array of a (tuple of) result(s)."""
    if isinstance(want, tuple):
        if not isinstance(got, tuple | list) or len(got) != len(want):
            return None
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            if not _close(g, w, rtol, atol)[0]:
                return _first_bad(g, w, rtol, atol, f"{path}[{i}]")
        return None
    return path, got, want


def _value_lines(got, want, rtol, atol, show_got: bool = True) -> tuple[list[str], list[str]]:
    """``(full arrays, differences)``: expected and actual in full when small, and the first differing
    entries, each with its index, expected and actual value. Without ``show_got``: the expected value only,
    in full when small (``details``)."""
    bad = _first_bad(got, want, rtol, atol)
    if bad is None:
        return [], []
    _, got, want = bad  # the message's first line names the item of a returned tuple
    g, w = _flatten(got), _flatten(want)
    if w is None:
        return [], []
    ws, wv = w
    expected = [f"  expected {_array_text(ws, wv)}"] if 1 < len(wv) <= SMALL else []
    if not show_got:  # up to 4 numbers, the message itself says what is right (verify._expected_text)
        return [], (expected + [GOT_IN_NOTEBOOK]) if len(wv) > 4 and expected else []
    if g is None:
        return [], []
    gs, gv = g
    if gs != ws:
        got_line = [f"  got      {_array_text(gs, gv)}"] if len(gv) <= SMALL else []
        return (expected + got_line if expected and got_line else []), [f"  expected shape {ws}, got shape {gs}"]
    idx = _bad(gv, wv, rtol, atol)
    if len(wv) <= 1 or not idx:  # one number: the message itself says got and expected
        return [], []
    full = expected + [f"  got      {_array_text(gs, gv)}"] if expected else []
    shown = []
    for i in idx[:FIRST]:
        e, a = _pair(wv[i], gv[i])
        shown.append(f"at {_index(i, ws)}: expected {e}, got {a}")
    more = "" if len(idx) <= FIRST else "; …"
    return full, [f"  {len(idx)} of {len(wv)} entries differ: " + "; ".join(shown) + more]


# The grader's message in place of the returned values: it repeats no number a submission returned
# (a submission written to steal could encode in them what it reads in the grading kernel).
GOT_IN_NOTEBOOK = "  (your values against these: run this test cell in your notebook)"


_NOTHING = object()


def details(spec, case, got=_NOTHING, want=None, budget: int = MAX_DETAILS, show_got: bool = True) -> str:
    """The lines under a failing *public* case's message ('' when there is nothing to add), at most
    ``budget`` characters: the inputs the call does not show (``_input_lines``) and, when ``got`` is
    given, expected against actual (``_value_lines``; the grader passes ``show_got=False``). Never for
    a hidden case: it shows the inputs."""
    if budget < 40:
        return ""
    inputs = _input_lines(spec, case)
    full, diffs = _value_lines(got, want, spec.rtol, spec.atol, show_got) if got is not _NOTHING else ([], [])
    for lines in ([f for f, _ in inputs] + full + diffs,  # everything
                  [f for f, _ in inputs] + diffs,  # no full arrays
                  [s for _, s in inputs] + diffs,  # inputs by shape
                  diffs):
        text = "\n".join(lines)
        if len(text) <= budget:
            return text
    return diffs[0][:budget - 1] + "…" if diffs else ""
