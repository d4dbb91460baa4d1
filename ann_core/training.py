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


def train_step(net, X, Y, loss: str, optimizer, *, check_input: bool = True) -> float:
    """One forward → loss → backward → update on a batch; returns the batch loss.

    ``net`` is a ``Sequential``, ``X`` ``(N, n_in)``, ``Y`` the targets in the network's output
    shape ``(N, n_out)``, ``loss`` a key of ``losses.GRADIENTS``, ``optimizer`` an ann_core
    optimizer. The same numbers as

        Y_hat = net.forward(X)
        value = losses.LOSSES[loss](Y, Y_hat)
        net.backward(losses.GRADIENTS[loss](Y, Y_hat))
        optimizer.step(net.params, net.grads)

    with ``X``, ``Y`` and ``Y_hat`` checked once (not at all with ``check_input=False``, as
    ``fit`` calls it after checking its whole data set), the loss and its gradient computed
    in one pass, and the unused gradient of the input ``X`` not computed.
    """
    if check_input:
        _check_loss(loss)
    check_pair, kernel = losses._TRAINING[loss]
    Y_hat = net.forward(X, check_input=check_input)
    if check_input:
        Y, Y_hat = check_pair(Y, Y_hat)
    value, dY = kernel(Y, Y_hat)
    net.backward(dY, check_input=False, need_dX=False)
    optimizer.step(net.params, net.grads, check_input=False)
    return value


def _check_loss(loss):
    if loss not in losses.GRADIENTS:
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(losses.GRADIENTS)}")


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
    _check_loss(loss)
    X = as_float_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must have shape (N, n_in), one row per sample, got {X.shape}")
    # the checks train_step would make on every batch, made once on the whole set
    Y = losses._TRAINING[loss][0](Y, net.forward(X))[0]
    rng = np.random.default_rng(seed)
    history = {"loss": [], "acc": [], "val_loss": [], "val_acc": []}
    epochs_iter = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        epochs_iter = tqdm(epochs_iter, desc="epochs", leave=False)
    for _ in epochs_iter:
        batch_losses = [train_step(net, xb, yb, loss, optimizer, check_input=False)
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
