"""Checks for lesson 06: mini-batches and one epoch of gradient descent (``ann_core.training``).

Both graded functions take a ``np.random.Generator``. A generator is consumed as it is
used, so the checks never hand the learner, the reference and the known mistakes the
same object: a case stores a seed, shown in messages as ``rng_seed=…``, and each call
gets a fresh ``np.random.default_rng(rng_seed)``. The batches match the reference only
when the rows are shuffled with ``rng.permutation(n)`` (called once per epoch).

``iterate_minibatches`` is a generator; it is checked as the tuple of the ``(X_batch,
Y_batch)`` pairs it yields, in order.
"""

from __future__ import annotations

import numpy as np

from .. import training as ref
from ..optimizers import sgd_update
from . import Case, Mistake, Spec, register


def linear_mse(w, X, y):
    """Loss and gradient of linear regression ``ŷ = X @ w`` with the mean squared error.

    Returns ``(mean((X @ w − y)²), 2 Xᵀ (X @ w − y) / r.size)`` with ``r = X @ w − y``;
    works for ``w`` ``(d,)`` with ``y`` ``(N,)`` and ``w`` ``(d, k)`` with ``y`` ``(N, k)``.
    """
    r = X @ w - y
    return float(np.mean(r**2)), 2.0 * X.T @ r / r.size


# ---------------------------------------------------------------- iterate_minibatches
def _batches_wrap(f):
    def run(X, Y, batch_size, rng_seed):
        return tuple(tuple(b) for b in f(X, Y, batch_size, np.random.default_rng(rng_seed)))

    return run


def _batch_cases(rng, hidden):
    # (N, batch_size): a partial last batch, an exact split, batch = everything, one row each
    sizes = [(10, 4), (9, 3), (6, 6), (5, 1)]
    if hidden:
        sizes += [(37, 8), (12, 5), (7, 20), (64, 16), (3, 2)]
    out = []
    for n, b in sizes:
        X = rng.normal(size=(n, 2))
        Y = rng.normal(size=(n,)) if n % 2 else rng.normal(size=(n, 3))
        out.append(Case((X, Y, b), {"rng_seed": int(rng.integers(1000))}, label=f"N={n}, B={b}"))
    return out


def _mb_replacement(X, Y, batch_size, rng):
    n = len(X)
    idx = rng.integers(0, n, size=n)
    for s in range(0, n, batch_size):
        yield X[idx[s:s + batch_size]], Y[idx[s:s + batch_size]]


def _mb_no_shuffle(X, Y, batch_size, rng):
    yield from ref.iterate_minibatches(X, Y, batch_size, shuffle=False)


def _mb_drop_last(X, Y, batch_size, rng):
    n = len(X)
    idx = rng.permutation(n)
    for s in range(0, n - batch_size + 1, batch_size):
        yield X[idx[s:s + batch_size]], Y[idx[s:s + batch_size]]


def _mb_two_perms(X, Y, batch_size, rng):
    n = len(X)
    ix, iy = rng.permutation(n), rng.permutation(n)
    for s in range(0, n, batch_size):
        yield X[ix[s:s + batch_size]], Y[iy[s:s + batch_size]]


def _mb_choice(X, Y, batch_size, rng):
    n = len(X)
    idx = rng.choice(n, size=n, replace=False)
    for s in range(0, n, batch_size):
        yield X[idx[s:s + batch_size]], Y[idx[s:s + batch_size]]


def _mb_perm_per_batch(X, Y, batch_size, rng):
    n = len(X)
    for s in range(0, n, batch_size):
        idx = rng.permutation(n)[:batch_size]
        if s + batch_size > n:
            idx = idx[: n - s]
        yield X[idx], Y[idx]


register(Spec(
    "iterate_minibatches", ref.iterate_minibatches, _batch_cases,
    mistakes=[
        Mistake("rows were drawn with replacement (some appear twice, others never); an epoch "
                "visits every row exactly once: shuffle with idx = rng.permutation(n), then "
                "cut idx into consecutive slices.", _mb_replacement),
        Mistake("the rows are not shuffled: take idx = rng.permutation(n) (once per call) "
                "and slice X[idx[start:start + batch_size]].", _mb_no_shuffle),
        Mistake("the last, smaller batch is missing: with N rows there are ceil(N / batch_size) "
                "batches, and the last one holds the N mod batch_size leftover rows.",
                _mb_drop_last),
        Mistake("X and Y were shuffled with two different permutations, so the rows no longer "
                "match their targets: draw one idx = rng.permutation(n) and use it for both.",
                _mb_two_perms),
        Mistake("rng.choice(n, n, replace=False) is a valid shuffle but draws a different order; "
                "the course fixes idx = rng.permutation(n) so your batches can be compared.",
                _mb_choice),
        Mistake("a new permutation was drawn for every batch, so rows repeat and others are "
                "skipped: draw idx = rng.permutation(n) once, before the loop.",
                _mb_perm_per_batch),
    ],
    wrap=_batches_wrap,
))


# ---------------------------------------------------------------- train_epoch
def _epoch_wrap(f):
    def run(w, X, y, grad_fn, lr, batch_size, rng_seed):
        return f(w, X, y, grad_fn, lr, batch_size, np.random.default_rng(rng_seed))

    return run


def _epoch_cases(rng, hidden):
    # (N, d, batch_size, lr)
    setups = [(10, 3, 4, 0.1), (10, 3, 10, 0.1), (10, 3, 1, 0.05)]
    if hidden:
        setups += [(37, 5, 8, 0.05), (12, 2, 20, 0.2), (25, 4, 1, 0.01), (16, 3, 16, 0.3)]
    out = []
    for n, d, b, lr in setups:
        X = np.column_stack([np.ones(n), rng.normal(size=(n, d - 1))])
        y = X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
        out.append(Case((rng.normal(size=d), X, y, linear_mse, lr, b),
                        {"rng_seed": int(rng.integers(1000))}, label=f"N={n}, B={b}"))
    if hidden:  # several outputs: w (d, k), y (N, k)
        X = rng.normal(size=(9, 3))
        out.append(Case((rng.normal(size=(3, 2)), X, rng.normal(size=(9, 2)), linear_mse, 0.1, 4),
                        {"rng_seed": 11}, label="w (3, 2)"))
    return out


def _ep_loss_after(w, X, y, grad_fn, lr, batch_size, rng):
    w = np.asarray(w, dtype=np.float64)
    losses = []
    for xb, yb in ref.iterate_minibatches(X, y, batch_size, rng):
        w = sgd_update(w, grad_fn(w, xb, yb)[1], lr)
        losses.append(float(grad_fn(w, xb, yb)[0]))
    return w, losses


def _ep_full_gradient(w, X, y, grad_fn, lr, batch_size, rng):
    w = np.asarray(w, dtype=np.float64)
    losses = []
    for _xb, _yb in ref.iterate_minibatches(X, y, batch_size, rng):
        loss, g = grad_fn(w, X, y)
        losses.append(float(loss))
        w = sgd_update(w, g, lr)
    return w, losses


def _ep_plus(w, X, y, grad_fn, lr, batch_size, rng):
    w = np.asarray(w, dtype=np.float64)
    losses = []
    for xb, yb in ref.iterate_minibatches(X, y, batch_size, rng):
        loss, g = grad_fn(w, xb, yb)
        losses.append(float(loss))
        w = w + lr * g
    return w, losses


def _ep_one_update(w, X, y, grad_fn, lr, batch_size, rng):
    w = np.asarray(w, dtype=np.float64)
    losses, grads = [], []
    for xb, yb in ref.iterate_minibatches(X, y, batch_size, rng):
        loss, g = grad_fn(w, xb, yb)
        losses.append(float(loss))
        grads.append(g)
    return sgd_update(w, np.mean(grads, axis=0), lr), losses


def _ep_no_shuffle(w, X, y, grad_fn, lr, batch_size, rng):
    return ref.train_epoch(w, X, y, grad_fn, lr, batch_size, _NoShuffle())


class _NoShuffle:
    """Stands in for a generator whose permutation is the identity (rows in order)."""

    def permutation(self, n):
        return np.arange(n)


def _ep_drop_last(w, X, y, grad_fn, lr, batch_size, rng):
    w = np.asarray(w, dtype=np.float64)
    losses = []
    for xb, yb in _mb_drop_last(X, y, batch_size, rng):
        loss, g = grad_fn(w, xb, yb)
        losses.append(float(loss))
        w = sgd_update(w, g, lr)
    return w, losses


register(Spec(
    "train_epoch", ref.train_epoch, _epoch_cases,
    mistakes=[
        Mistake("each loss was recorded after its update; record the loss grad_fn returns "
                "together with the gradient, before the step w ← w − lr·g.", _ep_loss_after),
        Mistake("the gradient was computed on the whole data set; call grad_fn(w, X_batch, "
                "y_batch) on the current mini-batch only.", _ep_full_gradient),
        Mistake("the sign of the step: w ← w − lr·g (downhill), not w + lr·g.", _ep_plus),
        Mistake("w was updated once per epoch (with the averaged gradient); mini-batch gradient "
                "descent updates after every batch: ceil(N / batch_size) updates.", _ep_one_update),
        Mistake("the rows were visited in order; loop over iterate_minibatches(X, y, batch_size, "
                "rng) with the rng passed in, so the rows are shuffled.", _ep_no_shuffle),
        Mistake("the last, smaller batch was skipped: an epoch makes ceil(N / batch_size) "
                "updates.", _ep_drop_last),
    ],
    wrap=_epoch_wrap,
))
