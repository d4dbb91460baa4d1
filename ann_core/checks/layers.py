"""Checks for lesson 01: the neuron and layer formulas (``ann_core.layers``)."""

from __future__ import annotations

import numpy as np

from .. import activations as act
from .. import layers as ref
from . import Case, Mistake, Spec, register


def _weighted_sum_cases(rng, hidden):
    sizes = [1, 3, 5] + ([8, 17] if hidden else [])
    out = [Case((np.array([1.0, 2.0, 3.0]), np.array([0.2, 0.8, -0.5]), 0.5),
                label="the articles' first neuron: 0.2·1 + 0.8·2 − 0.5·3 + 0.5 = 0.8")]
    out += [Case((rng.normal(size=n), rng.normal(size=n), float(rng.normal())), label=f"n={n}")
            for n in sizes]
    if hidden:  # integer inputs and a zero input vector (z must then equal b)
        out.append(Case((np.array([3, -1, 2, 0]), rng.normal(size=4), float(rng.normal())),
                        label="integer x"))
        out.append(Case((np.zeros(6), rng.normal(size=6), float(rng.normal())), label="x = 0"))
    return out


register(Spec(
    "weighted_sum", ref.weighted_sum, _weighted_sum_cases,
    forbidden=("ann_core.layers.column_forward", "ann_core.layers.dense_forward"),
    mistakes=[
        Mistake("the bias b is missing: z = Σ w_i x_i + b.", lambda x, w, b: float(np.dot(x, w))),
        Mistake("b is added once per input (inside the sum); add it once, after the sum.",
                lambda x, w, b: float(np.sum(np.asarray(w) * x + b))),
        Mistake("the products are missing: multiply each input by its own weight, then sum.",
                lambda x, w, b: float(np.sum(x) + np.sum(w) + b)),
        Mistake("the Σ is missing: w * x + b is one number per input; sum the products to one z.",
                lambda x, w, b: np.asarray(w) * x + b),
        Mistake("the bias is subtracted; the course adds it, z = w·x + b (a threshold θ is −b).",
                lambda x, w, b: float(np.dot(x, w) - b)),
    ],
))


def identity(z):
    return z


def _neuron_cases(rng, hidden):
    fs = [act.sigmoid, act.tanh, act.relu] + ([act.leaky_relu, identity] if hidden else [])
    out = []
    for f in fs:
        n = int(rng.integers(2, 9 if hidden else 5))
        out.append(Case((rng.normal(size=n), rng.normal(size=n), float(rng.normal()), f)))
    return out


register(Spec(
    "neuron", ref.neuron, _neuron_cases,
    mistakes=[
        Mistake("the activation f is never applied: return f(z), not z.",
                lambda x, w, b, f: float(np.dot(x, w) + b)),
        Mistake("f is applied to the inputs before the weighted sum; apply it to z = w·x + b.",
                lambda x, w, b, f: float(np.dot(f(np.asarray(x)), w) + b)),
        Mistake("the bias b is missing inside f: y = f(w·x + b).",
                lambda x, w, b, f: float(f(np.dot(x, w)))),
        Mistake("the activation is always the sigmoid; call the function f that is passed in.",
                lambda x, w, b, f: float(act.sigmoid(np.dot(x, w) + b))),
    ],
))


def _column_cases(rng, hidden):
    shapes = [(2, 3), (3, 3), (4, 2)] + ([(5, 5), (1, 6), (3, 1)] if hidden else [])
    return [Case((rng.normal(size=(o, i)), rng.normal(size=i), rng.normal(size=o)),
                 label=f"W{(o, i)}") for o, i in shapes]


register(Spec(
    "column_forward", ref.column_forward, _column_cases,
    forbidden=("ann_core.layers.dense_forward",),
    mistakes=[
        Mistake("W is transposed: in the column form W has shape (n_out, n_in) and z = W @ x + b.",
                lambda W, x, b: np.asarray(W).T @ x + b),
        Mistake("the bias b is missing: z = W @ x + b.", lambda W, x, b: np.asarray(W) @ x),
        Mistake("np.dot(x, W) is the row form; with the articles' W (n_out, n_in) use W @ x.",
                lambda W, x, b: np.asarray(x) @ W + b),
        Mistake("this is the articles' bug: np.dot(inputs, weights) cannot multiply x (n_in,) by "
                "W (n_out, n_in); the column form is np.dot(W, x) + b, i.e. W @ x + b.",
                lambda W, x, b: np.dot(x, W) + b),
        Mistake("the sum runs along the wrong axis: z_j sums row j of W times x, "
                "np.sum(W * x, axis=1), not axis=0.",
                lambda W, x, b: np.sum(np.asarray(W) * x, axis=0) + b),
    ],
))


def _dense_cases(rng, hidden):
    shapes = [(4, 3, 2), (5, 3, 3), (1, 2, 4)] + ([(7, 6, 6), (32, 8, 5)] if hidden else [])
    cases = [Case((rng.normal(size=(n, i)), rng.normal(size=(i, o)), rng.normal(size=o)),
                  label=f"X{(n, i)} W{(i, o)}") for n, i, o in shapes]
    i, o = (4, 4) if hidden else (3, 2)
    cases.append(Case((rng.normal(size=i), rng.normal(size=(i, o)), rng.normal(size=o)),
                      label="1-D x"))
    return cases


def _columns_out(X, W, b):
    """The column form applied to a batch: W.T @ X.T + b as a column, shape (n_out, N)."""
    X, W, b = np.asarray(X), np.asarray(W), np.asarray(b)
    if X.ndim == 1:
        return W.T @ X + b
    return W.T @ X.T + b[:, None]


register(Spec(
    "dense_forward", ref.dense_forward, _dense_cases,
    forbidden=("ann_core.layers.column_forward",),
    mistakes=[
        Mistake("W is used transposed: with W of shape (n_in, n_out) the row form is "
                "Z = X @ W + b.",
                lambda X, W, b: np.asarray(X) @ np.asarray(W).T + b),
        Mistake("the bias b is missing: Z = X @ W + b.", lambda X, W, b: np.asarray(X) @ W),
        Mistake("the bias is added along the wrong axis; b has one entry per output column.",
                lambda X, W, b: np.asarray(X) @ W + np.asarray(b)[:, None]),
        Mistake("an activation is applied; dense_forward returns the pre-activation Z.",
                lambda X, W, b: act.sigmoid(np.asarray(X) @ W + b)),
        Mistake("W.T @ x is the column form and only works for one sample; a batch X has one "
                "sample per row, so compute X @ W + b.",
                lambda X, W, b: np.asarray(W).T @ X + b),
        Mistake("Z came out as (n_out, N), the column layout; in the row form each row of Z is one "
                "sample: Z = X @ W + b has shape (N, n_out).", _columns_out),
        Mistake("a 1-D x of shape (n_in,) must give a 1-D z of shape (n_out,), not (1, n_out); "
                "X @ W + b already does the right thing for both.",
                lambda X, W, b: np.atleast_2d(X) @ W + b),
    ],
))
