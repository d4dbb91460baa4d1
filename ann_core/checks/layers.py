"""Checks for lesson 01: the neuron and layer formulas (``ann_core.layers``)."""

from __future__ import annotations

import numpy as np

from .. import activations as act
from .. import layers as ref
from .spec import Case, Mistake, Spec, register


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


def _ws_no_bias(x, w, b): return float(np.dot(x, w))
def _ws_bias_per_input(x, w, b): return float(np.sum(np.asarray(w) * x + b))
def _ws_no_products(x, w, b): return float(np.sum(x) + np.sum(w) + b)
def _ws_no_sum(x, w, b): return np.asarray(w) * x + b
def _ws_bias_subtracted(x, w, b): return float(np.dot(x, w) - b)


register(Spec(
    "weighted_sum", ref.weighted_sum, _weighted_sum_cases,
    lesson="01_layers",
    forbidden=("ann_core.layers.column_forward", "ann_core.layers.dense_forward"),
    mistakes=[
        Mistake("the bias b is missing: z = Σ w_i x_i + b.", _ws_no_bias),
        Mistake("b is added once per input (inside the sum); add it once, after the sum.", _ws_bias_per_input),
        Mistake("the products are missing: multiply each input by its own weight, then sum.", _ws_no_products),
        Mistake("the Σ is missing: w * x + b is one number per input; sum the products to one z.", _ws_no_sum),
        Mistake("the bias is subtracted; the course adds it, z = w·x + b (a threshold θ is −b).", _ws_bias_subtracted),
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


def _neuron_no_activation(x, w, b, f): return float(np.dot(x, w) + b)
def _neuron_f_on_inputs(x, w, b, f): return float(np.dot(f(np.asarray(x)), w) + b)
def _neuron_bias_outside(x, w, b, f): return float(f(np.dot(x, w)))
def _neuron_always_sigmoid(x, w, b, f): return float(act.sigmoid(np.dot(x, w) + b))


register(Spec(
    "neuron", ref.neuron, _neuron_cases,
    lesson="01_layers",
    mistakes=[
        Mistake("the activation f is never applied: return f(z), not z.", _neuron_no_activation),
        Mistake("f is applied to the inputs before the weighted sum; apply it to z = w·x + b.", _neuron_f_on_inputs),
        Mistake("the bias b is missing inside f: y = f(w·x + b).", _neuron_bias_outside),
        Mistake("the activation is always the sigmoid; call the function f that is passed in.", _neuron_always_sigmoid),
    ],
))


def _column_cases(rng, hidden):
    shapes = [(2, 3), (3, 3), (4, 2)] + ([(5, 5), (1, 6), (3, 1)] if hidden else [])
    return [Case((rng.normal(size=(o, i)), rng.normal(size=i), rng.normal(size=o)),
                 label=f"W{(o, i)}") for o, i in shapes]


def _col_transposed(W, x, b): return np.asarray(W).T @ x + b
def _col_no_bias(W, x, b): return np.asarray(W) @ x
def _col_row_form(W, x, b): return np.asarray(x) @ W + b
def _col_articles_bug(W, x, b): return np.dot(x, W) + b
def _col_wrong_axis(W, x, b): return np.sum(np.asarray(W) * x, axis=0) + b


register(Spec(
    "column_forward", ref.column_forward, _column_cases,
    lesson="01_layers",
    forbidden=("ann_core.layers.dense_forward",),
    mistakes=[
        Mistake("W is transposed: in the column form W has shape (n_out, n_in) and z = W @ x + b.", _col_transposed),
        Mistake("the bias b is missing: z = W @ x + b.", _col_no_bias),
        Mistake("np.dot(x, W) is the row form; with the articles' W (n_out, n_in) use W @ x.", _col_row_form),
        Mistake("this is the articles' bug: np.dot(inputs, weights) cannot multiply x (n_in,) by "
                "W (n_out, n_in); the column form is np.dot(W, x) + b, i.e. W @ x + b.", _col_articles_bug),
        Mistake("the sum runs along the wrong axis: z_j sums row j of W times x, "
                "np.sum(W * x, axis=1), not axis=0.", _col_wrong_axis),
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


def _dense_transposed(X, W, b): return np.asarray(X) @ np.asarray(W).T + b
def _dense_no_bias(X, W, b): return np.asarray(X) @ W
def _dense_bias_axis(X, W, b): return np.asarray(X) @ W + np.asarray(b)[:, None]
def _dense_activated(X, W, b): return act.sigmoid(np.asarray(X) @ W + b)
def _dense_column_form(X, W, b): return np.asarray(W).T @ X + b
def _dense_always_2d(X, W, b): return np.atleast_2d(X) @ W + b


register(Spec(
    "dense_forward", ref.dense_forward, _dense_cases,
    lesson="01_layers", kernels=("ann_core.layers._dense_forward",),
    forbidden=("ann_core.layers.column_forward",),
    mistakes=[
        Mistake("W is used transposed: with W of shape (n_in, n_out) the row form is "
                "Z = X @ W + b.", _dense_transposed),
        Mistake("the bias b is missing: Z = X @ W + b.", _dense_no_bias),
        Mistake("the bias is added along the wrong axis; b has one entry per output column.", _dense_bias_axis),
        Mistake("an activation is applied; dense_forward returns the pre-activation Z.", _dense_activated),
        Mistake("W.T @ x is the column form and only works for one sample; a batch X has one "
                "sample per row, so compute X @ W + b.", _dense_column_form),
        Mistake("Z came out as (n_out, N), the column layout; in the row form each row of Z is one "
                "sample: Z = X @ W + b has shape (N, n_out).", _columns_out),
        Mistake("a 1-D x of shape (n_in,) must give a 1-D z of shape (n_out,), not (1, n_out); "
                "X @ W + b already does the right thing for both.", _dense_always_2d),
    ],
))


# ---------------------------------------------------------------- the perceptron
_LOGIC = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def _perceptron_predict_cases(rng, hidden):
    out = [
        Case((_LOGIC, np.array([1.0, 1.0]), -1.5), label="AND: w = [1, 1], b = −1.5"),
        Case((_LOGIC, np.array([1.0, 1.0]), -1.0), label="z exactly 0 on [0, 1] and [1, 0]"),
    ]
    sizes = [(6, 3), (10, 2)] + ([(40, 5), (8, 1)] if hidden else [])
    for n, d in sizes:
        out.append(Case((rng.normal(size=(n, d)), rng.normal(size=d), float(rng.normal())),
                        label=f"X{(n, d)}"))
    if hidden:  # integer inputs with many z exactly 0, and one sample as a 1-D x
        X = rng.integers(-2, 3, size=(12, 3))
        out.append(Case((X, np.array([1.0, -1.0, 2.0]), 0.0), label="integer X, z = 0 often"))
        out.append(Case((rng.normal(size=4), rng.normal(size=4), 0.3), label="one sample x (4,)"))
    return out


def _step(z, at_zero=0.0):
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, 1.0, np.where(z == 0, at_zero, 0.0))


def _z(X, w, b):
    return np.asarray(X, dtype=float) @ np.asarray(w, dtype=float) + b


def _pp_one_at_zero(X, w, b): return _step(_z(X, w, b), at_zero=1.0)
def _pp_sign(X, w, b): return np.sign(_z(X, w, b))
def _pp_reversed(X, w, b): return (_z(X, w, b) <= 0).astype(float)
def _pp_no_bias(X, w, b): return _step(_z(X, w, 0.0))
def _pp_sigmoid(X, w, b): return act.sigmoid(_z(X, w, b))


register(Spec(
    "perceptron_predict", ref.perceptron_predict, _perceptron_predict_cases,
    lesson="01_layers",
    mistakes=[
        Mistake("the step is 0 at exactly z = 0: predict 1 only where X @ w + b > 0 "
                "(strictly), not ≥ 0.", _pp_one_at_zero),
        Mistake("the step is missing: return 1 where z = X @ w + b > 0 and 0 elsewhere, not z "
                "itself.", _z),
        Mistake("the course's perceptron outputs 0 or 1 (the articles' 感知器), not −1/+1 "
                "(np.sign): use (z > 0).astype(float).", _pp_sign),
        Mistake("the comparison is reversed: the output is 1 where z > 0, 0 where z ≤ 0.", _pp_reversed),
        Mistake("the bias b is missing: the step is taken of z = X @ w + b.", _pp_no_bias),
        Mistake("sigmoid(z) is a soft step between 0 and 1; the perceptron's output is exactly "
                "0 or 1, (z > 0).", _pp_sigmoid),
    ],
))


def _perceptron_update_cases(rng, hidden):
    out = [
        Case((np.zeros(2), 0.0, np.array([1.0, 1.0]), 1, 0.1),
             label="w = 0, b = 0: predicts 0 for a 1, so w and b move towards x"),
        Case((np.array([0.1, 0.1]), 0.1, np.array([0.0, 1.0]), 0, 0.1),
             label="predicts 1 for a 0, so w and b move away from x"),
        Case((np.array([0.5, 0.5]), -0.7, np.array([1.0, 1.0]), 1, 0.1),
             label="already right: nothing changes"),
        Case((np.array([1.0, -1.0]), 0.0, np.array([1.0, 1.0]), 1, 0.5), label="z exactly 0, label 1"),
    ]
    n_cases = 8 if hidden else 4
    for _ in range(n_cases):
        d = int(rng.integers(2, 7 if hidden else 4))
        w, x = rng.normal(size=d), rng.normal(size=d)
        y = int(rng.integers(0, 2))
        out.append(Case((w, float(rng.normal()), x, y, float(rng.choice([0.1, 0.5, 1.0]))),
                        label=f"n={d}"))
    return out


def _predict(w, b, x):
    return 1.0 if float(_z(x, w, b)) > 0 else 0.0


def _sample(w, b, x, y):
    """The label as a float, the perceptron's prediction ŷ and its weighted sum z for one sample."""
    z = float(_z(np.asarray(x, dtype=float), np.asarray(w, dtype=float), b))
    return float(y), (1.0 if z > 0 else 0.0), z


def _perceptron_step(w, b, x, lr, error, move_b=True):
    """w + lr·error·x and b + lr·error (b unchanged unless ``move_b``)."""
    w, x = np.asarray(w, dtype=float), np.asarray(x, dtype=float)
    return w + lr * error * x, float(b) + (lr * error if move_b else 0.0)


def _pu_error_sign(w, b, x, y, lr):
    y, yhat, z = _sample(w, b, x, y)
    return _perceptron_step(w, b, x, lr, yhat - y)

def _pu_bias_fixed(w, b, x, y, lr):
    y, yhat, z = _sample(w, b, x, y)
    return _perceptron_step(w, b, x, lr, y - yhat, move_b=False)

def _pu_delta_rule(w, b, x, y, lr):
    y, yhat, z = _sample(w, b, x, y)
    return _perceptron_step(w, b, x, lr, y - z)

def _pu_always_update(w, b, x, y, lr):
    y, yhat, z = _sample(w, b, x, y)
    return _perceptron_step(w, b, x, lr, y)

def _pu_one_at_zero(w, b, x, y, lr):
    y, yhat, z = _sample(w, b, x, y)
    return _perceptron_step(w, b, x, lr, y - (1.0 if z >= 0 else 0.0))


register(Spec(
    "perceptron_update", ref.perceptron_update, _perceptron_update_cases,
    lesson="01_layers",
    mistakes=[
        Mistake("the sign of the error: it is (y − ŷ), the label minus the prediction, so a "
                "missed 1 moves w towards x.", _pu_error_sign),
        Mistake("the bias is not updated: b ← b + lr·(y − ŷ), like a weight whose input is "
                "always 1.", _pu_bias_fixed),
        Mistake("you used the error y − z of the weighted sum (the delta rule of Adaline); the "
                "perceptron rule uses the prediction after the step, y − ŷ, which is 0 when the "
                "sample is already right.", _pu_delta_rule),
        Mistake("the update runs even when the prediction is right; the error (y − ŷ) must "
                "switch it off: w ← w + lr·(y − ŷ)·x.", _pu_always_update),
        Mistake("the step is 0 at exactly z = 0 (ŷ = 1 only where z > 0); with ŷ = 1 at z = 0 "
                "a sample on the boundary counts as right.", _pu_one_at_zero),
    ],
))
