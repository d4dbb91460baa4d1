"""Gradient checking with finite differences (lesson 05, 梯度檢驗 / 梯度检验).

``numerical_gradient(f, x)`` estimates ``∂f/∂x`` with the central difference
``(f(x + h e_i) − f(x − h e_i)) / 2h``, whose error shrinks like ``h²``. Compare it with
an analytic gradient through ``rel_error``: below about 1e-7 the backprop is right;
around 1e-2 or above something is wrong.
"""

from __future__ import annotations

import numpy as np


def numerical_gradient(f, x, h: float = 1e-5):
    """Central-difference gradient of the scalar function ``f`` at ``x``.

    ``x`` is a float ndarray of any shape; each element is nudged *in place* by ``±h``
    (and restored), and ``f(x)`` is called, so ``f`` may also read ``x`` through a
    closure (``lambda _: loss_of(W)`` with ``x = W``). Returns an array of ``x``'s shape.
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError(
            f"x must be a float ndarray (it is nudged in place), got {type(x).__name__}"
            + (f" of dtype {x.dtype}" if isinstance(x, np.ndarray) else "")
        )
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        f_plus = float(f(x))
        x[i] = old - h
        f_minus = float(f(x))
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def rel_error(a, b) -> float:
    """Largest elementwise relative error ``|a − b| / max(1e-8, |a| + |b|)``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes {a.shape} and {b.shape} differ")
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)), initial=0.0))
