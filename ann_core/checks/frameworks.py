"""Checks for lesson 14: the course's parameters in a framework's layout (``ann_core.frameworks``).

``torch_params`` returns a list of ``(weight, bias)`` pairs; the check compares it as a tuple
of pairs (``[k][0]`` is layer k+1's weight, ``[k][1]`` its bias).
"""

from __future__ import annotations

import numpy as np

from .. import frameworks as ref
from .spec import Case, Mistake, Spec, register


def _pairs_wrap(f):
    def run(params):
        out = f(params)
        if out is None or not hasattr(out, "__iter__"):
            what = "None (did you forget `return`?)" if out is None else type(out).__name__
            raise TypeError(f"torch_params should return a list of (weight, bias) pairs, but returned {what}")
        return tuple(tuple(pair) if isinstance(pair, (tuple, list)) else pair for pair in out)

    return run


def _layers(rng, sizes):
    return [(rng.normal(size=(m, n)), rng.normal(size=n)) for m, n in zip(sizes, sizes[1:], strict=False)]


def _cases(rng, hidden):
    worked = [(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), np.array([0.5, -0.5]))]
    out = [Case((worked,), label="[(W = [[1, 2], [3, 4], [5, 6]], b = [0.5, -0.5])]")]
    shapes = [[3, 4, 2], [64, 64, 10]] + ([[5, 1], [2, 7, 3, 4], [4, 4, 4]] if hidden else [])
    for sizes in shapes:
        out.append(Case((_layers(rng, sizes),), label=f"a {'-'.join(map(str, sizes))} network's params"))
    return out


def _tp_no_transpose(params): return [(np.array(W), np.array(b)) for W, b in params]
def _tp_reshape(params): return [(np.reshape(W, (np.shape(W)[1], np.shape(W)[0])), np.array(b)) for W, b in params]
def _tp_bias_column(params): return [(np.array(W).T, np.reshape(b, (-1, 1))) for W, b in params]
def _tp_flat(params): return [a for W, b in params for a in (np.array(W).T, np.array(b))]


register(Spec(
    "torch_params", ref.torch_params, _cases,
    lesson="14_frameworks",
    mistakes=[
        Mistake("nn.Linear stores weight as (n_out, n_in), the transpose of the course's W (n_in, n_out): "
                "use W.T.", _tp_no_transpose),
        Mistake("W.reshape(n_out, n_in) has the right shape but puts the numbers in the wrong places "
                "(it keeps their memory order); the transpose W.T swaps rows and columns.", _tp_reshape),
        Mistake("the bias keeps its shape (n_out,) in PyTorch too; only the weight is transposed.",
                _tp_bias_column),
        Mistake("return one (weight, bias) pair per layer, [(W1.T, b1), (W2.T, b2), ...], not a flat list.",
                _tp_flat),
    ],
    wrap=_pairs_wrap,
    examples=False,
    label_args=True,
))
