"""Checks for lesson 12: the L2 penalty and its gradient (``ann_core.losses.l2_penalty``)."""

from __future__ import annotations

import numpy as np

from .. import losses as ref
from .spec import Case, Mistake, Spec, register


def _weights(rng, shapes):
    return [rng.normal(0.0, 1.5, size=s) for s in shapes]


def _l2_cases(rng, hidden):
    out = [
        Case((_weights(rng, [(3, 4), (4, 2)]), 0.1), label="two layers, λ = 0.1"),
        Case((_weights(rng, [(5, 3)]), 0.01), label="one layer, λ = 0.01"),
        Case((_weights(rng, [(2, 3), (3, 3), (3, 1)]), 1.0), label="three layers, λ = 1"),
        Case((_weights(rng, [(2, 2)]), 0.0), label="λ = 0"),
    ]
    if hidden:
        out += [
            Case((_weights(rng, [(64, 32), (32, 10)]), 1e-3), label="digits-sized, λ = 1e-3"),
            Case((_weights(rng, [(4,), (2, 3, 2)]), 0.5), label="other shapes"),
            Case((_weights(rng, [(1, 1), (6, 5), (5, 4), (4, 2)]), 0.3), label="four layers"),
        ]
    return out


def _sq(W):
    return float(np.sum(np.asarray(W, dtype=float) ** 2))


def _l2_no_half(ws, lam): return lam * sum(_sq(W) for W in ws)
def _l2_no_lambda(ws, lam): return 0.5 * sum(_sq(W) for W in ws)
def _l2_first_only(ws, lam): return 0.5 * lam * _sq(ws[0])
def _l2_norms(ws, lam): return 0.5 * lam * sum(float(np.sqrt(_sq(W))) for W in ws)
def _l2_mean(ws, lam): return 0.5 * lam * sum(float(np.mean(np.asarray(W) ** 2)) for W in ws)
def _l2_l1(ws, lam): return 0.5 * lam * sum(float(np.sum(np.abs(W))) for W in ws)


register(Spec(
    "l2_penalty", ref.l2_penalty, _l2_cases,
    lesson="12_regularization",
    mistakes=[
        Mistake("the ½ is missing: the penalty is λ/2 Σ‖W‖² (the ½ makes its gradient λW).", _l2_no_half),
        Mistake("λ is missing (or fixed): multiply the sum of squares by lam/2, using the `lam` "
                "argument.", _l2_no_lambda),
        Mistake("only the first weight array counts; sum ‖W‖² over EVERY array in the list.", _l2_first_only),
        Mistake("‖W‖² is the SQUARED norm (the sum of the squared weights); you added the norms "
                "√(Σ w²) themselves.", _l2_norms),
        Mistake("you averaged the squared weights; the penalty SUMS them: λ/2 Σ_l Σ w².", _l2_mean),
        Mistake("this is the L1 penalty (absolute values); L2 squares each weight: λ/2 Σ w².", _l2_l1),
    ],
))


def _as_tuple(f):
    """The gradient is a list of arrays of different shapes: compare it item by item."""
    def run(*args, **kwargs):
        out = f(*args, **kwargs)
        return tuple(out) if isinstance(out, list) else out

    return run


def _floats(ws):
    return [np.asarray(W, dtype=float) for W in ws]


def _l2_grad_half(ws, lam): return [0.5 * lam * W for W in _floats(ws)]
def _l2_grad_double(ws, lam): return [2 * lam * W for W in _floats(ws)]
def _l2_grad_no_lambda(ws, lam): return [W for W in _floats(ws)]
def _l2_grad_sign(ws, lam): return [-lam * W for W in _floats(ws)]
def _l2_grad_l1(ws, lam): return [lam * np.sign(W) for W in _floats(ws)]
def _l2_grad_first_only(ws, lam): return [lam * np.asarray(ws[0], dtype=float)]


def _l2_grad_cases(rng, hidden):
    """The penalty's cases but the one with λ = 0: its gradient is 0, and so is every mistake's that scales λ."""
    return [c for c in _l2_cases(rng, hidden) if c.args[1] != 0.0]


register(Spec(
    "l2_penalty_grad", ref.l2_penalty_grad, _l2_grad_cases,
    lesson="12_regularization",
    mistakes=[
        Mistake("the ½ of λ/2 ‖W‖² cancels the 2 of d(w²)/dw = 2w, so the gradient is λW, not "
                "λW/2.", _l2_grad_half),
        Mistake("with the ½ in the penalty the gradient is λW, not 2λW.", _l2_grad_double),
        Mistake("λ is missing (or fixed): the gradient is lam * W for each array.", _l2_grad_no_lambda),
        Mistake("the sign: the penalty grows with |w|, so its gradient λW points away from 0 "
                "(the update −α·λW then pulls w back).", _l2_grad_sign),
        Mistake("λ·sign(W) is the gradient of the L1 penalty; L2's is λW.", _l2_grad_l1),
        Mistake("return one gradient per weight array, a list [λ W_1, λ W_2, …], not only the "
                "first.", _l2_grad_first_only),
    ],
    wrap=_as_tuple,
))
