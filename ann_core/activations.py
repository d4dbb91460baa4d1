"""Activation functions and their derivatives (lesson 02, 激活函數 / 激活函数).

Every function here is elementwise on the pre-activation ``z`` (any shape), except
``softmax``, which normalises along the last axis. Derivatives are functions of ``z``,
not of the activation: ``sigmoid_grad(z) = σ(z) (1 − σ(z))``. (The source article's
``x * (1 - x)`` is the same number only when ``x`` is already ``σ(z)``.)

At the kink ``z = 0`` the course follows PyTorch: ``relu_grad(0) = 0`` and
``leaky_relu_grad(0) = slope``.

=================  ==============  ============  =================================
name               range           zero-centred  gradient trouble
=================  ==============  ============  =================================
``sigmoid``        (0, 1)          no            vanishes for large ``|z|``
``tanh``           (−1, 1)         yes           vanishes for large ``|z|``
``relu``           [0, ∞)          no            zero for ``z < 0`` ("dying ReLU")
``leaky_relu``     (−∞, ∞)         roughly       never zero (slope 0.01 below 0)
``softmax``        (0, 1), sums 1  no            used on the output layer
=================  ==============  ============  =================================

``ACTIVATIONS`` and ``DERIVATIVES`` map names to functions, as in scikit-learn's MLP.

Each formula is written once, in a private kernel (``_sigmoid``, ``_softmax``, …) that
works on float64 arrays already checked. A public function checks its input and calls its
kernel; the training loop (``layers.Dense``) checks its input once and calls the kernels.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array

LEAKY_SLOPE = 0.01


def _result(a: np.ndarray):
    """A 0-d result comes back as a NumPy scalar, anything else as an array."""
    return a[()]


# ------------------------------------------------------------------ the kernels
def _identity(z):
    return z.copy()


def _sigmoid(z):
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])  # z < 0 here, so exp cannot overflow
    out[~pos] = ez / (1.0 + ez)
    return out


def _relu(z):
    return np.maximum(0.0, z)


def _leaky_relu(z, slope=LEAKY_SLOPE):
    return np.where(z > 0, z, slope * z)


def _softmax(z):
    e = z - z.max(axis=-1, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=-1, keepdims=True)
    return e


def _identity_grad(z):
    return np.ones_like(z)


def _sigmoid_grad(z):
    s = _sigmoid(z)
    return s * (1.0 - s)


def _tanh_grad(z):
    t = np.tanh(z)
    return 1.0 - t * t


def _relu_grad(z):
    return (z > 0).astype(np.float64)


def _leaky_relu_grad(z, slope=LEAKY_SLOPE):
    return np.where(z > 0, 1.0, slope)


def _softmax_backward(dA, A):
    return A * (dA - (dA * A).sum(axis=-1, keepdims=True))


_KERNELS = {"identity": _identity, "sigmoid": _sigmoid, "tanh": np.tanh, "relu": _relu,
            "leaky_relu": _leaky_relu, "softmax": _softmax}
_GRAD_KERNELS = {"identity": _identity_grad, "sigmoid": _sigmoid_grad, "tanh": _tanh_grad,
                 "relu": _relu_grad, "leaky_relu": _leaky_relu_grad}


def _backward(dA, Z, A, name):
    """``∂E/∂Z``: ``dA ⊙ f'(Z)``, or for softmax the product with its Jacobian (from ``A``)."""
    if name == "softmax":
        return _softmax_backward(dA, A)
    return dA * _GRAD_KERNELS[name](Z)


# ------------------------------------------------------------------ the functions
def sigmoid(z):
    """Logistic sigmoid ``σ(z) = 1 / (1 + e^{−z})``, computed without overflow.

    Shape: any, elementwise. ``sigmoid(2) ≈ 0.8808``.
    """
    return _result(_sigmoid(as_float_array(z, "z")))


def tanh(z):
    """Hyperbolic tangent ``(e^z − e^{−z}) / (e^z + e^{−z})``; any shape. ``tanh(1) ≈ 0.7616``."""
    return _result(np.tanh(as_float_array(z, "z")))


def relu(z):
    """Rectified linear unit ``max(0, z)``; any shape. ``relu(-1) = 0``."""
    return _result(_relu(as_float_array(z, "z")))


def leaky_relu(z, slope: float = LEAKY_SLOPE):
    """Leaky ReLU: ``z`` for ``z > 0``, ``slope · z`` otherwise (slope 0.01); any shape."""
    return _result(_leaky_relu(as_float_array(z, "z"), slope))


def softmax(z):
    """Softmax along the last axis, stable: ``e^{z − max z} / Σ e^{z − max z}``.

    Shape: ``(..., n_classes)`` in, same shape out; each slice along the last axis
    sums to 1. Subtracting the row maximum changes nothing mathematically but keeps
    ``exp`` from overflowing. ``softmax([1, 2, 3]) ≈ [0.0900, 0.2447, 0.6652]``.
    """
    z = as_float_array(z, "z")
    if z.ndim == 0:
        raise ValueError("softmax needs at least one axis of class scores, got a scalar")
    return _softmax(z)


def sigmoid_grad(z):
    """Derivative of the sigmoid with respect to ``z``: ``σ(z) (1 − σ(z))``; any shape."""
    return _result(_sigmoid_grad(as_float_array(z, "z")))


def tanh_grad(z):
    """Derivative of tanh with respect to ``z``: ``1 − tanh²(z)``; any shape."""
    return _result(_tanh_grad(as_float_array(z, "z")))


def relu_grad(z):
    """Derivative of ReLU with respect to ``z``: 1 where ``z > 0``, else 0; any shape."""
    return _result(_relu_grad(as_float_array(z, "z")))


def leaky_relu_grad(z, slope: float = LEAKY_SLOPE):
    """Derivative of Leaky ReLU: 1 where ``z > 0``, else ``slope``; any shape."""
    return _result(_leaky_relu_grad(as_float_array(z, "z"), slope))


def identity(z):
    """The identity ``f(z) = z`` (a linear output layer, for regression)."""
    return _result(_identity(as_float_array(z, "z")))


def identity_grad(z):
    """Derivative of the identity: ones of the shape of ``z``."""
    return _result(_identity_grad(as_float_array(z, "z")))


def softmax_backward(dA, A):
    """Gradient through a softmax, given upstream ``dA = ∂E/∂A`` and its output ``A``.

    Shapes ``(N, C)``; returns ``∂E/∂Z = A ⊙ (dA − Σ_c dA ⊙ A)`` row by row (the
    Jacobian-vector product, never the ``C × C`` Jacobian itself).
    """
    return _softmax_backward(as_float_array(dA, "dA"), as_float_array(A, "A"))


ACTIVATIONS = {
    "identity": identity,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "softmax": softmax,
}

# Elementwise derivatives f'(z). softmax is not elementwise: use softmax_backward.
DERIVATIVES = {
    "identity": identity_grad,
    "sigmoid": sigmoid_grad,
    "tanh": tanh_grad,
    "relu": relu_grad,
    "leaky_relu": leaky_relu_grad,
}


def activation_backward(dA, Z, name: str):
    """Backpropagate ``dA = ∂E/∂A`` through the activation ``name`` applied to ``Z``.

    Elementwise activations give ``dA ⊙ f'(Z)``; softmax uses its Jacobian-vector
    product. Shapes: ``dA`` and ``Z`` equal, result the same shape.
    """
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    dA = as_float_array(dA, "dA")
    Z = as_float_array(Z, "Z")
    if dA.shape != Z.shape:
        raise ValueError(f"dA has shape {dA.shape} but Z has shape {Z.shape}; they must match")
    return _backward(dA, Z, softmax(Z) if name == "softmax" else None, name)
