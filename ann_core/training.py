"""The training loop (lessons 06 and 11, 訓練 / 训练): mini-batches, one step, many epochs.

    for each epoch:
        shuffle the rows (without replacement), cut them into batches of ``batch_size``
        for each batch: forward → loss → backward → optimizer step

An epoch over ``N`` rows makes ``ceil(N / batch_size)`` updates (the last batch may be
smaller). ``batch_size = N`` is batch gradient descent, ``1`` is stochastic, anything
between is mini-batch.
"""

from __future__ import annotations

import math

import numpy as np

from . import losses
from ._validate import as_float_array
from .optimizers import sgd_update


def iterate_minibatches(X, Y, batch_size: int, rng=None, shuffle: bool = True):
    """Yield ``(X_batch, Y_batch)`` covering every row exactly once per call.

    Shapes: ``X`` ``(N, ...)`` and ``Y`` ``(N, ...)``; ``ceil(N / batch_size)`` batches.
    ``rng`` is a ``np.random.Generator`` (seeded by the caller) used when ``shuffle``.
    """
    n = len(X)
    if len(Y) != n:
        raise ValueError(f"X has {n} rows but Y has {len(Y)}")
    if not (isinstance(batch_size, int | np.integer) and batch_size >= 1):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    idx = (rng if rng is not None else np.random.default_rng(0)).permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, batch_size):
        j = idx[start : start + batch_size]
        yield X[j], Y[j]


def n_updates(n_samples: int, batch_size: int) -> int:
    """Number of optimizer steps in one epoch: ``ceil(n_samples / batch_size)``."""
    return math.ceil(n_samples / batch_size)


def train_epoch(w, X, y, grad_fn, lr, batch_size: int, rng):
    """One epoch of mini-batch gradient descent on a model with one parameter array ``w``.

    ``grad_fn(w, X_batch, y_batch)`` returns ``(loss, g)``: the loss on that batch (a
    float) and its gradient ``g = ∂loss/∂w`` (the shape of ``w``). For linear regression
    ``ŷ = X @ w`` with the mean squared error, ``loss = mean((X @ w − y)²)`` and
    ``g = 2 Xᵀ (X @ w − y) / len(y)``.

    Shapes: ``w`` ``(d,)``, ``X`` ``(N, d)``, ``y`` ``(N,)`` (any shapes ``grad_fn``
    accepts will do). The rows are visited through ``iterate_minibatches(X, y,
    batch_size, rng)`` — shuffled without replacement — and after every batch
    ``w ← w − lr g``, so an epoch makes ``ceil(N / batch_size)`` updates.

    Returns ``(w, losses)``: the new parameters (a new array; the ``w`` passed in is not
    modified) and the list of the ``ceil(N / batch_size)`` batch losses, each computed
    *before* its own update.
    """
    w = as_float_array(w, "w")
    losses_ = []
    for X_batch, y_batch in iterate_minibatches(X, y, batch_size, rng):
        loss, g = grad_fn(w, X_batch, y_batch)
        losses_.append(float(loss))
        w = sgd_update(w, g, lr)
    return w, losses_


def train_step(net, X, Y, loss: str, optimizer) -> float:
    """One forward → loss → backward → update on a batch; returns the batch loss."""
    _check_loss(loss)
    return _train_step(net, X, Y, loss, optimizer)


def _check_loss(loss):
    if loss not in losses.GRADIENTS:
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(losses.GRADIENTS)}")


def _train_step(net, X, Y, loss, optimizer, targets_ok: bool = False) -> float:
    # train_step; targets_ok: fit has checked once that all of Y lies in [0, 1]
    Y_hat = net.forward(X)
    value, dY = _loss_and_grad(loss, Y, Y_hat, targets_ok)
    getattr(net, "_backward_params", net.backward)(dY)  # Sequential skips the unused ∂E/∂X
    optimizer.step(net.params, net.grads)
    return value


def _loss_and_grad(loss: str, Y, Y_hat, targets_ok: bool = False):
    """``(losses.LOSSES[loss](Y, Y_hat), losses.GRADIENTS[loss](Y, Y_hat))``: the same numbers.

    A shortcut for the two cross-entropies on valid input — float64 arrays of one 2-D
    shape, targets in [0, 1], probabilities in [0, 1] — that runs the formulas of
    ``ann_core.losses`` (clip, mask, log, mean) once for both results, after four
    reductions of checking instead of two full validation passes, which on a batch of 32
    cost more than the arithmetic. When every probability lies inside ``[EPS, 1 − EPS]``
    the clip and the mask are the identity and are skipped. Anything else goes through
    ``ann_core.losses`` itself, which raises its clear errors.
    """
    if (loss in _FAST_LOSSES and type(Y) is np.ndarray and type(Y_hat) is np.ndarray
            and Y.dtype == np.float64 and Y_hat.dtype == np.float64
            and Y.ndim == 2 and Y.shape == Y_hat.shape and Y.size
            and (targets_ok or (0.0 <= Y.min() and Y.max() <= 1.0))):
        lo, hi = Y_hat.min(), Y_hat.max()
        if 0.0 <= lo and hi <= 1.0:  # False for NaN too
            return _FAST_LOSSES[loss](Y, Y_hat, not (losses.EPS <= lo and hi <= 1 - losses.EPS))
    return losses.LOSSES[loss](Y, Y_hat), losses.GRADIENTS[loss](Y, Y_hat)


def _cce_fast(t, p, clip: bool):
    # categorical_cross_entropy and its gradient, as ann_core.losses computes them;
    # add.reduce(x) / n is what np.mean(x) computes, without its Python-level overhead
    if clip:
        inside = (p >= losses.EPS) & (p <= 1 - losses.EPS)
        p = np.clip(p, losses.EPS, 1 - losses.EPS)
    rows = -(t * np.log(p)).sum(axis=-1)
    grad = -t / p
    if clip:
        grad = np.where(inside, grad, 0.0)
    return float(np.add.reduce(rows) / rows.size), grad / t.shape[0]


def _bce_fast(t, p, clip: bool):
    # binary_cross_entropy and its gradient, likewise
    if clip:
        inside = (p >= losses.EPS) & (p <= 1 - losses.EPS)
        p = np.clip(p, losses.EPS, 1 - losses.EPS)
    terms = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    grad = (p - t) / (p * (1 - p))
    if clip:
        grad = np.where(inside, grad, 0.0)
    return float(np.add.reduce(terms, axis=None) / terms.size), grad / p.size


_FAST_LOSSES = {"categorical_cross_entropy": _cce_fast, "binary_cross_entropy": _bce_fast}


def accuracy(net, X, y) -> float:
    """Fraction of rows whose predicted class equals the integer label ``y``."""
    return float(np.mean(net.predict(X) == np.asarray(y)))


def fit(net, X, Y, loss: str, optimizer, epochs: int, batch_size: int, seed: int = 0,
        validation=None, progress: bool = False):
    """Train ``net`` in place; returns a history dict of per-epoch lists.

    ``Y`` has the network's output shape (one-hot for softmax). ``validation`` is an
    optional ``(X_val, Y_val)``. History keys: ``loss`` (mean training batch loss),
    and with validation ``val_loss``; for classifiers also ``acc`` / ``val_acc``.
    """
    X = as_float_array(X, "X")
    Y = as_float_array(Y, "Y")
    targets_ok = bool(Y.size) and 0.0 <= Y.min() and Y.max() <= 1.0  # then so is every batch
    rng = np.random.default_rng(seed)
    history = {"loss": [], "acc": [], "val_loss": [], "val_acc": []}
    epochs_iter = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        epochs_iter = tqdm(epochs_iter, desc="epochs", leave=False)
    for _ in epochs_iter:
        _check_loss(loss)
        batch_losses = [_train_step(net, xb, yb, loss, optimizer, targets_ok)
                        for xb, yb in iterate_minibatches(X, Y, batch_size, rng)]
        history["loss"].append(float(np.mean(batch_losses)))
        history["acc"].append(_acc(net, X, Y))
        if validation is not None:
            Xv, Yv = validation
            history["val_loss"].append(losses.LOSSES[loss](Yv, net.forward(Xv)))
            history["val_acc"].append(_acc(net, Xv, Yv))
    return {k: v for k, v in history.items() if v}


def _acc(net, X, Y):
    labels = Y.argmax(axis=1) if Y.ndim == 2 and Y.shape[1] > 1 else Y.reshape(-1)
    return accuracy(net, X, labels)
