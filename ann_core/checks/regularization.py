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


register(Spec(
    "l2_penalty", ref.l2_penalty, _l2_cases,
    mistakes=[
        Mistake("the ½ is missing: the penalty is λ/2 Σ‖W‖² (the ½ makes its gradient λW).",
                lambda ws, lam: lam * sum(_sq(W) for W in ws)),
        Mistake("λ is missing (or fixed): multiply the sum of squares by lam/2, using the `lam` "
                "argument.", lambda ws, lam: 0.5 * sum(_sq(W) for W in ws)),
        Mistake("only the first weight array counts; sum ‖W‖² over EVERY array in the list.",
                lambda ws, lam: 0.5 * lam * _sq(ws[0])),
        Mistake("‖W‖² is the SQUARED norm (the sum of the squared weights); you added the norms "
                "√(Σ w²) themselves.",
                lambda ws, lam: 0.5 * lam * sum(float(np.sqrt(_sq(W))) for W in ws)),
        Mistake("you averaged the squared weights; the penalty SUMS them: λ/2 Σ_l Σ w².",
                lambda ws, lam: 0.5 * lam * sum(float(np.mean(np.asarray(W) ** 2)) for W in ws)),
        Mistake("this is the L1 penalty (absolute values); L2 squares each weight: λ/2 Σ w².",
                lambda ws, lam: 0.5 * lam * sum(float(np.sum(np.abs(W))) for W in ws)),
    ],
))


def _as_tuple(f):
    """The gradient is a list of arrays of different shapes: compare it item by item."""
    def run(*args, **kwargs):
        out = f(*args, **kwargs)
        return tuple(out) if isinstance(out, list) else out

    return run


def _grad_mistake(per_array):
    return lambda ws, lam: [per_array(np.asarray(W, dtype=float), lam) for W in ws]


register(Spec(
    "l2_penalty_grad", ref.l2_penalty_grad, lambda rng, hidden: [c for c in _l2_cases(rng, hidden)
                                                               if c.args[1] != 0.0],
    mistakes=[
        Mistake("the ½ of λ/2 ‖W‖² cancels the 2 of d(w²)/dw = 2w, so the gradient is λW, not "
                "λW/2.", _grad_mistake(lambda W, lam: 0.5 * lam * W)),
        Mistake("with the ½ in the penalty the gradient is λW, not 2λW.",
                _grad_mistake(lambda W, lam: 2 * lam * W)),
        Mistake("λ is missing (or fixed): the gradient is lam * W for each array.",
                _grad_mistake(lambda W, lam: W)),
        Mistake("the sign: the penalty grows with |w|, so its gradient λW points away from 0 "
                "(the update −α·λW then pulls w back).", _grad_mistake(lambda W, lam: -lam * W)),
        Mistake("λ·sign(W) is the gradient of the L1 penalty; L2's is λW.",
                _grad_mistake(lambda W, lam: lam * np.sign(W))),
        Mistake("return one gradient per weight array, a list [λ W_1, λ W_2, …], not only the "
                "first.", lambda ws, lam: [lam * np.asarray(ws[0], dtype=float)]),
    ],
    wrap=_as_tuple,
))
