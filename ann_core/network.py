"""Forward and backward propagation through a stack of dense layers (lessons 04, 05, 11).

Functional form, as the lessons build it (``params`` is a list of ``(W, b)`` pairs,
``activations`` a list of names from ``ann_core.activations.ACTIVATIONS``):

    layer_forward(X, W, b, activation)          -> A, cache=(X, Z)
    layer_backward(dA, cache, W, activation)    -> dX, dW, db
    network_forward(X, params, activations)     -> Y, caches
    network_backward(dY, caches, params, acts)  -> [(dW, db), ...]

and the object form used for training, ``Sequential([Dense(...), ...])``.

Backpropagation (反向傳播 / 反向传播): with ``δ(l) = ∂E/∂Z(l)``,
``δ(L) = ∂E/∂A(L) ⊙ f'(Z(L))``, ``δ(l) = (δ(l+1) @ W(l+1).T) ⊙ f'(Z(l))``,
``∂E/∂W(l) = A(l−1).T @ δ(l)`` and ``∂E/∂b(l) = Σ_rows δ(l)`` (the row-batch form of
the articles' ``δ(l) = (W(l+1)ᵀ δ(l+1)) ⊙ f'(z(l))`` and ``∂E/∂W = δ aᵀ``).
"""

from __future__ import annotations

import numpy as np

from . import activations as act
from ._validate import as_float_array
from .layers import Dense, dense_backward, dense_forward


def layer_forward(X, W, b, activation: str):
    """``A = f(X @ W + b)``; returns ``(A, cache)`` with ``cache = (X, Z)`` for backward.

    Shapes: ``X`` ``(N, n_in)``, ``W`` ``(n_in, n_out)``, ``b`` ``(n_out,)``, ``A`` ``(N, n_out)``.
    """
    if activation not in act.ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(act.ACTIVATIONS)}")
    Z = dense_forward(X, W, b)
    return act.ACTIVATIONS[activation](Z), (as_float_array(X, "X"), Z)


def layer_backward(dA, cache, W, activation: str):
    """Backward through ``f(X @ W + b)``: ``dA`` ``(N, n_out)`` → ``(dX, dW, db)``."""
    X, Z = cache
    dZ = act.activation_backward(dA, Z, activation)
    return dense_backward(dZ, X, W)


def _check_stack(params, activations):
    if len(params) != len(activations):
        raise ValueError(f"{len(params)} (W, b) pairs but {len(activations)} activations")


def network_forward(X, params, activations):
    """Propagate ``X`` ``(N, n_0)`` through every layer; returns ``(Y, caches)``.

    ``caches[l] = (A(l−1), Z(l))`` holds what backward needs for layer ``l``.
    """
    _check_stack(params, activations)
    A, caches = X, []
    for (W, b), name in zip(params, activations, strict=True):
        A, cache = layer_forward(A, W, b, name)
        caches.append(cache)
    return A, caches


def network_backward(dY, caches, params, activations):
    """Backpropagate ``dY = ∂E/∂Y`` ``(N, n_L)``; returns ``[(dW, db), ...]`` in layer order."""
    _check_stack(params, activations)
    grads, dA = [], dY
    for cache, (W, _), name in zip(reversed(caches), reversed(params), reversed(activations), strict=True):
        dA, dW, db = layer_backward(dA, cache, W, name)
        grads.append((dW, db))
    return grads[::-1]


class Sequential:
    """Layers applied in order: ``Sequential([Dense(64, 64, "relu"), Dense(64, 10, "softmax")])``.

    ``forward(X)`` ``(N, n_in)`` → ``(N, n_out)``; ``backward(dY)`` takes ``∂E/∂Y`` and
    fills every layer's ``dW``, ``db``; ``predict(X)`` returns class labels ``(N,)``.
    """

    def __init__(self, layers):
        self.layers = list(layers)
        for a, b in zip(self.layers, self.layers[1:], strict=False):
            if a.W.shape[1] != b.W.shape[0]:
                raise ValueError(f"{a} outputs {a.W.shape[1]} values but {b} expects {b.W.shape[0]}")

    @classmethod
    def from_sizes(cls, sizes, activations, seed: int = 0):
        """Build from layer sizes, e.g. ``from_sizes([64, 64, 10], ["relu", "softmax"])``."""
        if len(sizes) != len(activations) + 1:
            raise ValueError(f"{len(sizes)} sizes need {len(sizes) - 1} activations, got {len(activations)}")
        rng = np.random.default_rng(seed)
        return cls(Dense(m, n, a, rng=rng) for m, n, a in zip(sizes, sizes[1:], activations, strict=False))

    def forward(self, X, *, check_input: bool = True):
        """``X`` ``(N, n_in)`` → ``(N, n_out)``. Only the first layer checks its input (not
        even it with ``check_input=False``): every other layer's input is a layer's output."""
        for k, layer in enumerate(self.layers):
            X = layer.forward(X, check_input=check_input and k == 0)
        return X

    __call__ = forward

    def backward(self, dY, *, check_input: bool = True, need_dX: bool = True):
        """``dY = ∂E/∂Y`` ``(N, n_out)`` → ``∂E/∂X`` ``(N, n_in)``; fills every ``dW``, ``db``.

        Only the last layer checks ``dY`` (not even it with ``check_input=False``).
        ``need_dX=False`` returns None instead of ``∂E/∂X``, which training does not use.
        """
        last = len(self.layers) - 1
        for k, layer in enumerate(reversed(self.layers)):
            dY = layer.backward(dY, check_input=check_input and k == 0, need_dX=need_dX or k < last)
        return dY

    def predict_proba(self, X):
        """The network's output, ``(N, n_out)``."""
        return self.forward(X)

    def predict(self, X):
        """Class labels ``(N,)``: argmax of a multi-class output, ``p ≥ 0.5`` of a single unit."""
        Y = self.forward(X)
        return Y.argmax(axis=1) if Y.shape[1] > 1 else (Y[:, 0] >= 0.5).astype(int)

    @property
    def params(self):
        return [p for layer in self.layers for p in layer.params]

    @property
    def grads(self):
        return [g for layer in self.layers for g in layer.grads]

    def __repr__(self):
        return "Sequential([" + ", ".join(map(repr, self.layers)) + "])"


def output_delta(y_true, y_pred):
    """Output-layer delta of a sigmoid output trained on ``half_sse``: ``(ŷ − y) ⊙ ŷ (1 − ŷ)``.

    Here ``σ'`` is written from the activation ``ŷ = σ(z)``, which is why ``ŷ (1 − ŷ)``
    is right (the articles' ``sigmoid_derivative(x) = x (1 − x)`` with ``x = ŷ``).
    Shapes equal; for target [0.8, 0.2] and output [0.6, 0.3] it is [−0.048, 0.021].
    """
    t = as_float_array(y_true, "y_true")
    y = as_float_array(y_pred, "y_pred")
    if t.shape != y.shape:
        raise ValueError(f"y_true has shape {t.shape} but y_pred has shape {y.shape}")
    return (y - t) * y * (1 - y)


def softmax_cross_entropy_delta(y_true, Z):
    """Delta at the logits of a softmax output trained on the mean cross-entropy: ``(ŷ − y) / N``.

    ``ŷ = softmax(Z)`` row by row; softmax's Jacobian and the loss's ``−y / ŷ`` cancel to
    ``ŷ − y`` per sample (for rows of ``y_true`` that sum to 1), and the mean over the ``N``
    rows brings the ``1/N``. This is ``∂ categorical_cross_entropy(y_true, softmax(Z)) / ∂Z``.
    Shapes ``(N, C)``; for ``Z = [[1, 2, 3]]``, ``y_true = [[0, 0, 1]]`` it is
    ``[[0.0900, 0.2447, −0.3348]]``.
    """
    t = as_float_array(y_true, "y_true")
    Z = as_float_array(Z, "Z")
    if Z.ndim != 2 or t.shape != Z.shape:
        raise ValueError(
            f"y_true has shape {t.shape} and Z has shape {Z.shape}; both must be (N, C), "
            "one row of class scores per sample"
        )
    return (act.softmax(Z) - t) / Z.shape[0]
