"""Checks for lesson 05: the finite-difference gradient (``ann_core.gradcheck``).

``numerical_gradient(f, x, h)`` is compared on fixed functions of ``x`` alone (a cubic, a
coupled smooth function, an exponential with a big step, a small softmax cross-entropy),
so learners may nudge ``x`` in place or work on copies. The adapter hands the learner's
function a private copy of ``x`` and raises when that copy is not restored afterwards:
a gradient checker that leaves the parameters nudged corrupts the network it checks.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import activations as act
from .. import gradcheck as ref
from .spec import Case, Mistake, Spec, register


class NotRestored(RuntimeError):
    """The learner's numerical_gradient left ``x`` changed."""


def _restoring(fn):
    @functools.wraps(fn)  # keep the learner's name for check's "not implemented" message
    def run(f, x, *args, **kwargs):
        x = np.asarray(x)
        mine = x.copy()
        g = fn(f, mine, *args, **kwargs)
        if mine.shape != x.shape or not np.allclose(mine, x, rtol=1e-12, atol=1e-12):
            raise NotRestored(
                "x is not restored: after the call x differs from what was passed in; put each "
                "element back to its old value after nudging it"
            )
        return g
    return run


# Fixed functions of x alone (named, so failure messages can show them).
def sum_cubes(x):
    return float(np.sum(x ** 3))


_M = np.array([[0.5, -1.0], [1.5, 0.3], [-0.7, 0.8]])


def coupled(x):
    """Non-separable: ∂f/∂x_i depends on the other elements (so an unrestored x shows)."""
    return float(np.sum(np.tanh(x @ _M)) + np.sum(x) ** 2)


def sum_exp2(x):
    return float(np.sum(np.exp(2 * x)))


_Y = np.eye(4)[[2, 0, 3]]


def softmax_ce(x):
    """Mean cross-entropy of the logits ``x`` (3, 4) against fixed one-hot targets."""
    p = act.softmax(x)
    return float(-np.mean(np.sum(_Y * np.log(p), axis=1)))


def _cases(rng, hidden):
    out = [
        Case((sum_cubes, rng.normal(0.0, 1.5, size=5)), label="sum of cubes"),
        Case((sum_cubes, rng.normal(0.0, 1.5, size=(2, 3))), {"h": 1e-3}, label="h = 1e-3"),
        Case((coupled, rng.normal(size=(2, 3))), {"h": 1e-3}, label="coupled, 2-D x"),
        Case((softmax_ce, rng.normal(size=(3, 4))), label="softmax cross-entropy"),
        Case((sum_exp2, rng.normal(size=4)), {"h": 1e-2}, label="h = 1e-2"),
    ]
    if hidden:
        out += [
            Case((sum_cubes, rng.normal(0.0, 2.0, size=(2, 2, 2))), {"h": 1e-4}, label="3-D x"),
            Case((coupled, rng.normal(size=(4, 3))), label="coupled, default h"),
            Case((sum_exp2, np.array([0.5])), {"h": 0.05}, label="one element, h = 0.05"),
            Case((softmax_ce, rng.normal(0.0, 3.0, size=(3, 4))), {"h": 1e-4},
                 label="larger logits"),
        ]
    return out


def _numgrad(x, f, h, *, step="central", restore=True, denom=2.0, all_at_once=False, flat=False):
    """A configurable (and mostly wrong) numerical gradient for the mistake table."""
    x = np.asarray(x)
    if all_at_once:
        g = np.full(x.shape, (f(x + h) - f(x - h)) / (denom * h))
        return g
    g = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        if step == "forward":
            f0 = f(x)
            x[i] = old + h
            g[i] = (f(x) - f0) / h
        else:
            x[i] = old + h
            fp = f(x)
            x[i] = old - h
            fm = f(x)
            g[i] = (fp - fm) / (denom * h)
        if restore:
            x[i] = old
    return g.ravel() if flat else g


def _ng_not_restored(f, x, h=1e-5): return _numgrad(x, f, h, restore=False)
def _ng_forward(f, x, h=1e-5): return _numgrad(x, f, h, step="forward")
def _ng_over_h(f, x, h=1e-5): return _numgrad(x, f, h, denom=1.0)
def _ng_all_at_once(f, x, h=1e-5): return _numgrad(x, f, h, all_at_once=True)
def _ng_flat(f, x, h=1e-5): return _numgrad(x, f, h, flat=True)
def _ng_fixed_h(f, x, h=1e-5): return _numgrad(x, f, 1e-5)


register(Spec(
    "numerical_gradient", ref.numerical_gradient, _cases,
    lesson="05_backprop",
    mistakes=[
        Mistake("x is not restored: after nudging x[i] put its old value back (x[i] = old), "
                "or every later element is measured at a shifted point.", _ng_not_restored),
        Mistake("this is the one-sided (forward) difference (f(x + h) − f(x)) / h, whose error "
                "shrinks only like h; use the central difference (f(x + h) − f(x − h)) / 2h.", _ng_forward),
        Mistake("the central difference divides by 2h (the distance from x − h to x + h), "
                "not by h.", _ng_over_h),
        Mistake("nudge one element at a time: adding h to every element at once gives the same "
                "directional derivative in every entry.", _ng_all_at_once),
        Mistake("the gradient must have x's shape: build it with np.zeros_like(x), not as a "
                "flat array.", _ng_flat),
        Mistake("the step h passed in is ignored: use the argument h, not a fixed 1e-5.", _ng_fixed_h),
    ],
    wrap=_restoring,
))
