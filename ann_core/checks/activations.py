"""Checks for lesson 02: activation functions and their derivatives (``ann_core.activations``)."""

from __future__ import annotations

import numpy as np

from .. import activations as ref
from .spec import Case, Mistake, Spec, arrays, register


def _elementwise_cases(extreme: bool = True):
    def cases(rng, hidden):
        shapes = [(5,), (3, 4)] + ([(2, 3, 4), (1,)] if hidden else [])
        out = [Case((a,), label=f"shape {a.shape}") for a in arrays(rng, shapes)]
        out.append(Case((np.array([-2.0, -0.5, 0.0, 0.5, 2.0]),), label="around 0"))
        if extreme:
            # e^750 and e^800 overflow float64 (the limit is about e^709.78): a textbook
            # formula that divides inf by inf returns nan here.
            big = [-800.0, -40.0, 40.0, 800.0] if hidden else [-750.0, -30.0, 30.0, 750.0]
            out.append(Case((np.array(big),), label="large |z|"))
        return out

    return cases


def _sigmoid_naive(z):
    return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))


def _tanh_naive(z):
    z = np.asarray(z, dtype=float)
    return (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))


_OVERFLOW_TANH = ("(e^z − e^(−z)) / (e^z + e^(−z)) is right on paper, but for |z| > 709 "
                  "e^|z| overflows to inf and inf/inf = nan. Use the stable form "
                  "sign(z)·(1 − e^(−2|z|)) / (1 + e^(−2|z|)), whose exponent is never positive.")


def _sigmoid_of_minus_z(z): return 1 / (1 + np.exp(np.asarray(z, dtype=float)))
def _sigmoid_garbled(z): return np.exp(-np.asarray(z, dtype=float)) / (1 + np.exp(np.asarray(z, dtype=float)))
def _sigmoid_is_tanh(z): return np.tanh(z)
def _sigmoid_precedence(z): return 1 / 1 + np.exp(-np.asarray(z, dtype=float))


_OVERFLOW_SIGMOID = ("1 / (1 + np.exp(-z)) computes e^(−z) = e^750 = inf for z = −750 (NumPy warns "
                     "\"overflow encountered in exp\"); 1/inf = 0 happens to be right, but the docstring promises "
                     "no overflow. np.where(z >= 0, 1/(1+np.exp(-z)), …) does not help: NumPy computes both "
                     "branches for every element. Compute e = np.exp(-np.abs(z)), which is at most 1, then "
                     "1/(1 + e) where z ≥ 0 and e/(1 + e) where z < 0.")


register(Spec(
    "sigmoid", ref.sigmoid, _elementwise_cases(),
    lesson="02_activations", kernels=("ann_core.activations._sigmoid",), no_overflow=True,
    mistakes=[
        Mistake("the sign of the exponent: σ(z) = 1 / (1 + e^(−z)); you computed σ(−z) = 1 − σ(z).",
                _sigmoid_of_minus_z),
        Mistake("σ(z) = 1 / (1 + e^(−z)), not e^(−z) / (1 + e^z) or similar; check the formula.", _sigmoid_garbled),
        Mistake("this is tanh, not the logistic sigmoid.", _sigmoid_is_tanh),
        Mistake("operator precedence: 1 / 1 + np.exp(-z) is 1 + e^(−z); put the whole "
                "denominator in parentheses, 1 / (1 + np.exp(-z)).", _sigmoid_precedence),
        Mistake(_OVERFLOW_SIGMOID, _sigmoid_naive),
    ],
))


def _tanh_is_sinh(z): return (np.exp(z) - np.exp(-np.asarray(z))) / 2
def _tanh_numerator_sign(z): return (np.exp(-np.asarray(z)) - np.exp(z)) / (np.exp(z) + np.exp(-np.asarray(z)))
def _tanh_precedence(z): return np.exp(z) - np.exp(-np.asarray(z)) / np.exp(z) + np.exp(-np.asarray(z))


register(Spec(
    "tanh", ref.tanh, _elementwise_cases(),
    lesson="02_activations", no_overflow=True,
    mistakes=[
        Mistake("tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z)); you computed sinh(z) (no denominator).", _tanh_is_sinh),
        Mistake("the numerator's sign: tanh has e^z − e^(−z) on top, e^z + e^(−z) below.", _tanh_numerator_sign),
        Mistake("this is the sigmoid, not tanh (tanh ranges over (−1, 1)).", ref.sigmoid),
        Mistake("operator precedence: write (e^z − e^(−z)) / (e^z + e^(−z)) with both "
                "brackets; without them only e^(−z) is divided.", _tanh_precedence),
        Mistake(_OVERFLOW_TANH, _tanh_naive),
    ],
))


def _relu_negative_part(z): return np.minimum(0, z)
def _relu_np_max(z): return np.max(0, np.asarray(z, dtype=float))
def _relu_builtin_max(z): return max(0, np.asarray(z, dtype=float))


register(Spec(
    "relu", ref.relu, _elementwise_cases(extreme=False),
    lesson="02_activations", kernels=("ann_core.activations._relu",),
    mistakes=[
        Mistake("ReLU is max(0, z): negatives become 0, positives pass unchanged (not |z|).", np.abs),
        Mistake("ReLU is max(0, z); you kept the negative part instead.", _relu_negative_part),
        Mistake("this is Leaky ReLU; plain ReLU sends every negative z to exactly 0.", ref.leaky_relu),
        Mistake("np.max(0, z) reduces one array (its second argument is an axis); the "
                "elementwise maximum of 0 and z is np.maximum(0, z).", _relu_np_max),
        Mistake("Python's built-in max(0, z) compares whole arrays; use NumPy's elementwise "
                "np.maximum(0, z).", _relu_builtin_max),
    ],
))

def _leaky_cases(rng, hidden):
    """The elementwise cases, plus one with a non-default ``slope`` keyword."""
    out = _elementwise_cases(extreme=False)(rng, hidden)
    z = np.concatenate([rng.normal(0.0, 2.0, size=9 if hidden else 4), [0.0, -3.0]])
    slope = 0.3 if hidden else 0.2
    out.append(Case((z,), {"slope": slope}, label=f"slope={slope}"))
    return out


def _leaky_slope_0_1(z): return np.where(np.asarray(z) > 0, z, 0.1 * np.asarray(z))
def _leaky_max_slope(z): return np.maximum(0.01, z)
def _leaky_fixed_slope(z, slope=0.01): return ref.leaky_relu(z)


register(Spec(
    "leaky_relu", ref.leaky_relu, _leaky_cases,
    lesson="02_activations", kernels=("ann_core.activations._leaky_relu",),
    mistakes=[
        Mistake("the slope for z ≤ 0 is 0.01 (the course's, and PyTorch's default).", _leaky_slope_0_1),
        Mistake("this is plain ReLU: for z ≤ 0 Leaky ReLU returns 0.01·z, not 0.", ref.relu),
        Mistake("max(0.01, z) is not max(0.01·z, z): multiply z by the slope.", _leaky_max_slope),
        Mistake("the `slope` argument is ignored: use slope·z for z ≤ 0, not a hard-coded 0.01.", _leaky_fixed_slope),
    ],
))


def _softmax_cases(rng, hidden):
    shapes = [(3,), (4, 5), (2, 3)] + ([(3, 2, 4), (1, 10)] if hidden else [])
    out = [Case((a,), label=f"shape {a.shape}") for a in arrays(rng, shapes, scale=3.0)]
    out.append(Case((np.array([[1000.0, 1001.0, 1002.0], [-5.0, 0.0, 5.0]]),), label="large scores"))
    return out


def _softmax_naive(z):
    e = np.exp(np.asarray(z, dtype=float))
    return e / e.sum(axis=-1, keepdims=True)


def _softmax_axis0(z): return (np.exp(z - np.max(z, axis=0, keepdims=True))
            / np.exp(z - np.max(z, axis=0, keepdims=True)).sum(axis=0, keepdims=True))

def _softmax_whole_sum(z): return np.exp(z - np.max(z)) / np.exp(z - np.max(z)).sum()
def _softmax_no_keepdims(z): return np.exp(z - np.max(z, axis=-1)) / np.exp(z - np.max(z, axis=-1)).sum(axis=-1)


register(Spec(
    "softmax", ref.softmax, _softmax_cases,
    lesson="02_activations", kernels=("ann_core.activations._softmax",), no_overflow=True,
    mistakes=[
        Mistake("exp overflows for large scores (e^1000 = inf, inf/inf = nan): subtract each "
                "row's maximum first, z − max(z), which leaves the result unchanged.", _softmax_naive),
        Mistake("normalised along the wrong axis: each row (the last axis) must sum to 1 — "
                "use axis=-1 with keepdims=True.", _softmax_axis0),
        Mistake("divided by the sum over the whole array; each row must sum to 1 on its own "
                "(sum over axis=-1, keepdims=True).", _softmax_whole_sum),
        Mistake("keepdims is missing: z.max(axis=-1) has shape (N,), which cannot be "
                "subtracted from an (N, C) array; use keepdims=True (for the sum too).", _softmax_no_keepdims),
    ],
))


def _sigmoid_grad_of_z(z): return np.asarray(z) * (1 - np.asarray(z))
def _sigmoid_grad_sign(z): return -ref.sigmoid(z) * (1 - ref.sigmoid(z))
def _sigmoid_grad_naive(z): return np.exp(-np.asarray(z, dtype=float)) / (1 + np.exp(-np.asarray(z, dtype=float))) ** 2


register(Spec(
    "sigmoid_grad", ref.sigmoid_grad, _elementwise_cases(),
    lesson="02_activations", kernels=("ann_core.activations._sigmoid_grad",),
    mistakes=[
        Mistake("z·(1 − z) is only right when its argument is already σ(z); here the argument "
                "is z, so compute s = σ(z) first and return s·(1 − s).", _sigmoid_grad_of_z),
        Mistake("σ'(z) = σ(z)(1 − σ(z)); you returned σ(z) itself.", ref.sigmoid),
        Mistake("the sign: σ'(z) = σ(z)(1 − σ(z)) is never negative.", _sigmoid_grad_sign),
        Mistake("e^(−z) / (1 + e^(−z))² is right on paper, but for z < −709 it is inf/inf = nan; "
                "compute s = σ(z) with your stable sigmoid and return s·(1 − s).", _sigmoid_grad_naive),
    ],
))


def _tanh_grad_of_z(z): return 1 - np.asarray(z) ** 2
def _tanh_grad_no_square(z): return 1 - np.tanh(z)
def _tanh_grad_naive(z): return 1 - _tanh_naive(z) ** 2


register(Spec(
    "tanh_grad", ref.tanh_grad, _elementwise_cases(),
    lesson="02_activations", kernels=("ann_core.activations._tanh_grad",),
    mistakes=[
        Mistake("1 − z² is only right when its argument is already tanh(z); compute "
                "t = tanh(z) first and return 1 − t².", _tanh_grad_of_z),
        Mistake("the square is missing: tanh'(z) = 1 − tanh(z)².", _tanh_grad_no_square),
        Mistake("this is the sigmoid's derivative; tanh'(z) = 1 − tanh(z)².", ref.sigmoid_grad),
        Mistake("tanh'(z) = 1 − tanh(z)²; you returned tanh(z) itself.", ref.tanh),
        Mistake("1 − t² is right, but t came from a tanh that overflows for |z| > 709 "
                "(inf/inf = nan); use your stable tanh.", _tanh_grad_naive),
    ],
))


def _relu_grad_kink(z): return (np.asarray(z) >= 0).astype(float)
def _relu_grad_sign(z): return np.sign(z)


register(Spec(
    "relu_grad", ref.relu_grad, _elementwise_cases(extreme=False),
    lesson="02_activations", kernels=("ann_core.activations._relu_grad",),
    mistakes=[
        Mistake("at z = 0 the course (and PyTorch) uses derivative 0: return 1 only where z > 0.", _relu_grad_kink),
        Mistake("the derivative of ReLU is 1 for z > 0 and 0 otherwise, not ReLU itself.", ref.relu),
        Mistake("the derivative is 1 where z > 0; a boolean mask must become 1.0 / 0.0 floats "
                "of the same shape.", _relu_grad_sign),
    ],
))


def _leaky_grad_kink(z): return np.where(np.asarray(z) >= 0, 1.0, 0.01)
def _leaky_grad_slope_0_1(z): return np.where(np.asarray(z) > 0, 1.0, 0.1)
def _leaky_grad_fixed_slope(z, slope=0.01): return ref.leaky_relu_grad(z)


register(Spec(
    "leaky_relu_grad", ref.leaky_relu_grad, _leaky_cases,
    lesson="02_activations", kernels=("ann_core.activations._leaky_relu_grad",),
    mistakes=[
        Mistake("for z ≤ 0 the derivative is the slope 0.01, not 0.", ref.relu_grad),
        Mistake("at z = 0 the course (and PyTorch) uses the slope 0.01: 1 only where z > 0.", _leaky_grad_kink),
        Mistake("the slope is 0.01 (PyTorch's default), not 0.1.", _leaky_grad_slope_0_1),
        Mistake("this is Leaky ReLU itself; its derivative is 1 for z > 0 and the slope otherwise.",
                ref.leaky_relu),
        Mistake("the `slope` argument is ignored: the derivative for z ≤ 0 is slope, "
                "not a hard-coded 0.01.", _leaky_grad_fixed_slope),
    ],
))
