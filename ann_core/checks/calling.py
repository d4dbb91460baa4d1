"""Calling code: the learner's with warnings, stderr and stdout captured (nbgrader zeroes a
test cell that writes to stderr), the reference's and the known mistakes' quietly. Every call
gets copies of the arguments, so a function that changes its inputs in place shows up.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# NumPy's floating-point overflow warning, e.g. "overflow encountered in exp" or "… in scalar power"
_OVERFLOW = re.compile(r"overflow encountered in (?:scalar )?[a-z_]{1,30}")


def overflow_text(text) -> str:
    """``text`` when it is exactly NumPy's overflow warning, else '' (kernels' records are not trusted)."""
    return text if isinstance(text, str) and _OVERFLOW.fullmatch(text) else ""


@dataclass
class Call:
    """What calling the learner's code gave: a value or an error, warnings, and whether it changed its inputs."""

    value: Any = None
    error: BaseException | None = None
    warnings: list = field(default_factory=list)
    mutated: bool = False
    overflow: str = ""  # NumPy's first overflow RuntimeWarning, e.g. "overflow encountered in exp"


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
    res.overflow = next((overflow_text(str(w.message)) for w in caught if issubclass(w.category, RuntimeWarning)
                         and overflow_text(str(w.message))), "")
    res.mutated = any(
        isinstance(x, np.ndarray) and (x.shape != y.shape or not np.array_equal(x, y, equal_nan=True))
        for x, y in zip(a, args, strict=True)
    )
    return res


def _quiet(fn, args, kwargs) -> Call:
    """Call a reference or mistake implementation on copies of ``args``, warnings silenced."""
    res = Call()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            res.value = fn(*_copy(args), **kwargs)
        except Exception as exc:
            res.error = exc
    return res
