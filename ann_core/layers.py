"""Neurons and dense layers (lessons 01, 04, 05; 神經元 / 神经元, 全連接層 / 全连接层).

A neuron (節點) computes ``z = Σ_i w_i x_i + b`` and outputs ``y = f(z)``.
A dense layer does that for ``n_out`` neurons at once and for a batch of rows:

    X: (N, n_in)    W: (n_in, n_out)    b: (n_out,)    Z = X @ W + b: (N, n_out)

The source articles write one sample as a column, ``z = W x + b`` with ``W`` of shape
``(n_out, n_in)``: that ``W`` is the transpose of ours (``column_forward``).

Backward, for ``Z = X @ W + b`` and upstream ``dZ = ∂E/∂Z`` of shape ``(N, n_out)``:

    dX = dZ @ W.T   (N, n_in)      dW = X.T @ dZ   (n_in, n_out)      db = Σ_rows dZ   (n_out,)
"""

from __future__ import annotations

import numpy as np

from . import activations as act
from ._validate import as_float_array


def weighted_sum(x, w, b) -> float:
    """One neuron's pre-activation ``z = Σ_i w_i x_i + b``.

    Shapes: ``x`` and ``w`` ``(n,)``, ``b`` a scalar; returns a float.
    """
    x = as_float_array(x, "x")
    w = as_float_array(w, "w")
    if x.ndim != 1 or x.shape != w.shape:
        raise ValueError(f"x has shape {x.shape} and w has shape {w.shape}; both must be (n,)")
    return float(x @ w + float(b))


def neuron(x, w, b, activation=act.sigmoid) -> float:
    """One neuron's output ``y = f(Σ_i w_i x_i + b)``; ``activation`` is a function."""
    return float(activation(weighted_sum(x, w, b)))


def column_forward(W, x, b):
    """The articles' column form ``z = W x + b`` for one sample.

    Shapes: ``W`` ``(n_out, n_in)``, ``x`` ``(n_in,)``, ``b`` ``(n_out,)``; returns ``(n_out,)``.
    """
    W = as_float_array(W, "W")
    x = as_float_array(x, "x")
    b = as_float_array(b, "b")
    if W.ndim != 2 or x.ndim != 1 or W.shape[1] != x.shape[0]:
        raise ValueError(
            f"W has shape {W.shape} and x has shape {x.shape}: the column form W @ x needs "
            f"W of shape (n_out, n_in) with n_in = len(x) = {x.shape[0] if x.ndim else '?'}"
        )
    if b.shape != (W.shape[0],):
        raise ValueError(f"b has shape {b.shape}; W @ x has shape ({W.shape[0]},), so b must too")
    return W @ x + b


def perceptron_predict(X, w, b):
    """The perceptron (感知器 / 感知机): a neuron with a step activation.

    ``ŷ = 1 where X @ w + b > 0, else 0`` (the step is 0 at exactly 0). Shapes: ``X``
    ``(N, n)`` (or ``(n,)`` for one sample), ``w`` ``(n,)``, ``b`` a scalar; returns
    float 0/1 of shape ``(N,)`` (or a 0-d array for one sample).
    """
    X = as_float_array(X, "X")
    w = as_float_array(w, "w")
    if w.ndim != 1:
        raise ValueError(f"w must have shape (n,), got {w.shape}")
    if X.ndim not in (1, 2) or X.shape[-1] != w.shape[0]:
        raise ValueError(f"X has shape {X.shape} but w has shape {w.shape}; "
                         f"X must be (N, {w.shape[0]}) or ({w.shape[0]},)")
    if np.ndim(b) != 0:
        raise ValueError(f"b must be a scalar (one perceptron), got shape {np.shape(b)}")
    return (X @ w + float(b) > 0).astype(np.float64)


def perceptron_update(w, b, x, y, lr):
    """One step of the perceptron learning rule (Rosenblatt) on one sample.

    ``ŷ = perceptron_predict(x, w, b)``; ``w ← w + lr (y − ŷ) x``, ``b ← b + lr (y − ŷ)``.
    Nothing changes when the sample is already right. Shapes: ``w`` and ``x`` ``(n,)``,
    ``b`` a scalar, ``y`` the label 0 or 1. Returns new ``(w, b)`` (``b`` a float); the
    arguments are not modified.
    """
    x = as_float_array(x, "x")
    if x.ndim != 1:
        raise ValueError(f"x must be one sample of shape (n,), got {x.shape}")
    if np.ndim(y) != 0 or float(y) not in (0.0, 1.0):
        raise ValueError(f"y must be the label 0 or 1, got {y!r}")
    error = float(y) - float(perceptron_predict(x, w, b))
    return as_float_array(w, "w") + lr * error * x, float(b) + lr * error


def _dense_shapes(X, W, b):
    X = as_float_array(X, "X")
    W = as_float_array(W, "W")
    b = as_float_array(b, "b")
    if W.ndim != 2:
        raise ValueError(f"W must be 2-D with shape (n_in, n_out), got shape {W.shape}")
    if X.ndim not in (1, 2):
        raise ValueError(f"X must be (n_in,) or (N, n_in), got shape {X.shape}")
    if X.shape[-1] != W.shape[0]:
        hint = ""
        if X.shape[-1] == W.shape[1]:
            hint = (
                f"; W looks like the column form (n_out, n_in) = {W.shape}: "
                "use W.T here, or compute W @ x for a single column vector"
            )
        raise ValueError(
            f"shapes disagree: X has shape {X.shape} ({X.shape[-1]} inputs per sample) but W has "
            f"shape {W.shape}, which expects {W.shape[0]} inputs; "
            f"X @ W needs W of shape (n_in, n_out) = ({X.shape[-1]}, n_out){hint}"
        )
    if b.shape != (W.shape[1],):
        raise ValueError(f"b has shape {b.shape}; it must be (n_out,) = ({W.shape[1]},)")
    return X, W, b


def _dense_forward(X, W, b):
    # the kernel of dense_forward, on checked float64 arrays (Dense uses it too)
    Z = X @ W
    Z += b
    return Z


def _dense_backward(dZ, X, W, need_dX=True):
    # the kernel of dense_backward: (dX, dW, db), on checked 2-D float64 arrays; dX is None
    # with need_dX=False (the first layer in training, whose input gradient nobody uses)
    return dZ @ W.T if need_dX else None, X.T @ dZ, dZ.sum(axis=0)


def dense_forward(X, W, b):
    """Affine part of a dense layer, ``Z = X @ W + b``.

    Shapes: ``X`` ``(N, n_in)`` or ``(n_in,)``; ``W`` ``(n_in, n_out)``; ``b`` ``(n_out,)``.
    Returns ``Z`` of shape ``(N, n_out)`` (or ``(n_out,)`` for a 1-D ``X``). Raises
    ``ValueError`` naming the shapes when they disagree.
    """
    return _dense_forward(*_dense_shapes(X, W, b))


def dense_backward(dZ, X, W):
    """Gradients of the affine part given ``dZ = ∂E/∂Z``.

    Shapes: ``dZ`` ``(N, n_out)``, ``X`` ``(N, n_in)``, ``W`` ``(n_in, n_out)``.
    Returns ``(dX, dW, db)`` with shapes ``(N, n_in)``, ``(n_in, n_out)``, ``(n_out,)``.
    """
    dZ = as_float_array(dZ, "dZ")
    X = as_float_array(X, "X")
    W = as_float_array(W, "W")
    if dZ.ndim == 1:
        dZ, X = dZ[None, :], X[None, :]
    if dZ.shape != (X.shape[0], W.shape[1]) or X.shape[1] != W.shape[0]:
        raise ValueError(
            f"dZ {dZ.shape}, X {X.shape} and W {W.shape} disagree: "
            "need dZ (N, n_out), X (N, n_in), W (n_in, n_out)"
        )
    return _dense_backward(dZ, X, W)


def init_weights(n_in: int, n_out: int, activation: str, rng: np.random.Generator):
    """He-normal weights for (leaky) ReLU, Glorot-uniform otherwise; zero bias.

    Shapes ``(n_in, n_out)`` and ``(n_out,)``. Small random weights break the symmetry
    between neurons; the scale keeps activations from exploding or vanishing.
    """
    if activation in ("relu", "leaky_relu"):
        W = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
    else:
        limit = np.sqrt(6.0 / (n_in + n_out))
        W = rng.uniform(-limit, limit, size=(n_in, n_out))
    return W, np.zeros(n_out)


class Dense:
    """A dense (fully connected) layer ``A = f(X @ W + b)``.

    Parameters are ``W`` ``(n_in, n_out)`` and ``b`` ``(n_out,)``. ``forward`` keeps
    ``X`` and ``Z`` for ``backward``, which takes ``dA = ∂E/∂A`` ``(N, n_out)``,
    stores ``dW`` and ``db``, and returns ``dX = ∂E/∂X`` ``(N, n_in)``.
    """

    def __init__(self, n_in: int, n_out: int, activation: str = "relu", *, rng=None, W=None, b=None):
        if activation not in act.ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(act.ACTIVATIONS)}")
        self.activation = activation
        if W is None:
            rng = rng if rng is not None else np.random.default_rng(0)
            W, b0 = init_weights(n_in, n_out, activation, rng)
            b = b0 if b is None else b
        self.W = as_float_array(W, "W").copy()
        self.b = np.zeros(n_out) if b is None else as_float_array(b, "b").copy()
        if self.W.shape != (n_in, n_out) or self.b.shape != (n_out,):
            raise ValueError(
                f"W {self.W.shape} and b {self.b.shape} must be ({n_in}, {n_out}) and ({n_out},)"
            )
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self._X = self._Z = self._A = None

    def forward(self, X, *, check_input: bool = True):
        """``X`` ``(N, n_in)`` → ``A`` ``(N, n_out)``; caches what ``backward`` needs.

        One sample ``(n_in,)`` is taken as ``(1, n_in)``. ``check_input=False`` skips the
        checks of ``X`` (``dense_forward``'s) for a caller that has made them already.
        """
        W, b = self.W, self.b
        if check_input:
            X = as_float_array(X, "X")
            X, W, b = _dense_shapes(X[None, :] if X.ndim == 1 else X, W, b)
        Z = _dense_forward(X, W, b)
        self._X, self._Z = X, Z
        self._A = act._KERNELS[self.activation](Z)
        return self._A

    def backward(self, dA, *, check_input: bool = True, need_dX: bool = True):
        """``dA`` ``(N, n_out)`` → ``dX`` ``(N, n_in)``; fills ``self.dW`` and ``self.db``.

        ``check_input=False`` skips the check that ``dA`` is a float array of the output's
        shape; ``need_dX=False`` returns None instead of ``dX`` (not computed).
        """
        if self._X is None:
            raise RuntimeError("call forward before backward")
        if check_input:
            dA = as_float_array(dA, "dA")
            if dA.shape != self._Z.shape:
                raise ValueError(f"dA has shape {dA.shape} but the layer's output has shape "
                                 f"{self._Z.shape}; they must match")
        dZ = act._backward(dA, self._Z, self._A, self.activation)
        dX, self.dW, self.db = _dense_backward(dZ, self._X, self.W, need_dX)
        return dX

    @property
    def params(self):
        """The parameter arrays ``[W, b]`` (updated in place by optimizers)."""
        return [self.W, self.b]

    @property
    def grads(self):
        """The gradients ``[dW, db]`` from the last ``backward``."""
        return [self.dW, self.db]

    def __repr__(self):
        return f"Dense({self.W.shape[0]}, {self.W.shape[1]}, activation={self.activation!r})"
