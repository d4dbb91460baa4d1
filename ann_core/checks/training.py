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

from .. import losses as _losses
from .. import training as ref
from ..network import Sequential
from ..optimizers import OPTIMIZERS, sgd_update
from .calling import call
from .compare import _describe, _show_args
from .core import CheckFailed
from .record import _emit, grading
from .spec import Case, Mistake, Spec, register


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
    lesson="06_gradient_descent",
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
    lesson="06_gradient_descent",
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


# ================================================================ lesson 11: the training loop
# ``train_step`` and ``fit`` change a network and an optimizer in place, so a case never holds
# those objects: it holds *recipes*, functions that build a fresh network or optimizer on every
# call, so that every run (the learner's, the reference's, each known mistake's) starts from
# the same initial weights. A case's ``label`` spells its arguments as the calls that make
# them (``Spec.label_args``), so failure messages read ``train_step(Sequential.from_sizes([2,
# 3, 1], ['sigmoid', 'sigmoid'], seed=1), <array (4, 2)>, <array (4, 1)>,
# 'binary_cross_entropy', SGD(lr=0.5), steps=3)``.
#
# What is compared, as a tuple (failure messages say "item [k] of the returned tuple"):
#   train_step, called ``steps`` times in a row on the same batch:
#       item 0: the ``steps`` losses it returned; items 1, 2, …: W1, b1, W2, b2, … afterwards
#   fit: item 0 history["loss"], item 1 history["acc"], then (with validation)
#       history["val_loss"], history["val_acc"], then the parameters after training.

def _net(sizes, acts, seed):
    """A recipe for a fresh ``Sequential.from_sizes(sizes, acts, seed=seed)``, and that call as text."""
    sizes, acts = list(sizes), list(acts)

    def network():
        return Sequential.from_sizes(sizes, acts, seed=seed)

    return network, f"Sequential.from_sizes({sizes}, {acts}, seed={seed})"


def _opt(name, lr):
    """A recipe for a fresh optimizer ``name`` with learning rate ``lr``, and its call as text."""
    cls = OPTIMIZERS[name]

    def optimizer():
        return cls(lr)

    return optimizer, f"{cls.__name__}(lr={lr})"


def _validation(X_val, Y_val):
    """A recipe for fit's ``validation`` pair (fresh copies), and how messages show it."""

    def validation():
        return X_val.copy(), Y_val.copy()

    return validation, f"(<array {X_val.shape}>, <array {Y_val.shape}>)"


def _as_loss(value, name):
    """The float a training function returned, or a TypeError that says what came back."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(())[()]
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        what = "None (did you forget `return`?)" if value is None else f"{type(value).__name__}"
        raise TypeError(f"{name} should return the batch loss as a float, but returned {what}")
    return float(value)


def _params(net):
    return tuple(np.array(p, dtype=np.float64) for p in net.params)


def _step_wrap(f):
    def run(net, X, Y, loss, optimizer, steps=1):
        model, opt = net(), optimizer()
        values = [_as_loss(f(model, X, Y, loss, opt), "train_step") for _ in range(steps)]
        return (np.array(values), *_params(model))

    return run


# short names in the case tables: the loss, and the targets it is given
_LOSS = {"bce": "binary_cross_entropy", "cce": "categorical_cross_entropy", "mse": "mse"}


def _data(rng, n, n_in, n_out, loss):
    """Inputs ``(n, n_in)`` and targets ``(n, n_out)`` that suit ``loss`` (a short name)."""
    X = rng.normal(size=(n, n_in))
    if loss == "cce":  # one-hot rows
        return X, np.eye(n_out)[rng.integers(0, n_out, size=n)]
    if loss == "bce":  # 0/1 labels
        return X, rng.integers(0, 2, size=(n, n_out)).astype(np.float64)
    return X, rng.uniform(0.0, 1.0, size=(n, n_out))  # regression targets


def _step_cases(rng, hidden):
    # (sizes, activations, loss, optimizer, N, steps); steps >= 2 everywhere, because a first
    # step with the still-zero gradients of a fresh network cannot show a step made too early
    setups = [
        ([2, 3, 1], ["sigmoid", "sigmoid"], "bce", ("sgd", 0.5), 6, 3),
        ([3, 4, 3], ["relu", "softmax"], "cce", ("sgd", 0.3), 6, 2),
        ([3, 4, 3], ["tanh", "softmax"], "cce", ("adam", 0.05), 5, 3),
        ([3, 4, 2], ["tanh", "sigmoid"], "mse", ("momentum", 0.2), 6, 2),
    ]
    if hidden:
        setups += [
            ([5, 8, 4], ["relu", "softmax"], "cce", ("sgd", 0.2), 9, 4),
            ([4, 5, 3, 1], ["tanh", "relu", "sigmoid"], "bce", ("rmsprop", 0.01), 7, 3),
            ([2, 1], ["sigmoid"], "bce", ("sgd", 1.0), 5, 2),
            ([6, 6, 6], ["leaky_relu", "softmax"], "cce", ("adagrad", 0.1), 12, 3),
        ]
    out = []
    for sizes, acts, loss, (opt, lr), n, steps in setups:
        X, Y = _data(rng, n, sizes[0], sizes[-1], loss)
        seed = int(rng.integers(100))
        (net, net_text), (make_opt, opt_text) = _net(sizes, acts, seed), _opt(opt, lr)
        shown = f"{net_text}, {_show_args((X, Y, _LOSS[loss]), {})}, {opt_text}, steps={steps}"
        out.append(Case((net, X, Y, _LOSS[loss], make_opt), {"steps": steps}, label=shown))
    return out


def _ts_no_step(net, X, Y, loss, optimizer):
    Y_hat = net.forward(X)
    value = _losses.LOSSES[loss](Y, Y_hat)
    net.backward(_losses.GRADIENTS[loss](Y, Y_hat))
    return value


def _ts_loss_after(net, X, Y, loss, optimizer):
    Y_hat = net.forward(X)
    net.backward(_losses.GRADIENTS[loss](Y, Y_hat))
    optimizer.step(net.params, net.grads)
    return _losses.LOSSES[loss](Y, net.forward(X))


def _ts_step_first(net, X, Y, loss, optimizer):
    Y_hat = net.forward(X)
    value = _losses.LOSSES[loss](Y, Y_hat)
    optimizer.step(net.params, net.grads)
    net.backward(_losses.GRADIENTS[loss](Y, Y_hat))
    return value


def _ts_no_mean(net, X, Y, loss, optimizer):
    Y_hat = net.forward(X)
    value = _losses.LOSSES[loss](Y, Y_hat)
    net.backward(_losses.GRADIENTS[loss](Y, Y_hat) * len(Y))
    optimizer.step(net.params, net.grads)
    return value


def _ts_delta(net, X, Y, loss, optimizer):
    Y_hat = net.forward(X)
    value = _losses.LOSSES[loss](Y, Y_hat)
    net.backward((Y_hat - Y) / len(Y))
    optimizer.step(net.params, net.grads)
    return value


def _ts_swapped(net, X, Y, loss, optimizer):
    Y_hat = net.forward(X)
    value = _losses.LOSSES[loss](Y_hat, Y)
    net.backward(_losses.GRADIENTS[loss](Y_hat, Y))
    optimizer.step(net.params, net.grads)
    return value


# What lesson 11's code may not call: ann_core's references of every function the learner's toolbox
# holds (lessons 01-10; ``ann_core.toolbox.TOOLBOX``), so that the capstone runs on the learner's own
# formulas. The methods of ann_core's classes stay allowed (the checks hand ann_core networks and
# optimizers to train_step and fit, which call their ``forward``/``backward``/``step``).
EARLIER_REFERENCES = tuple(
    f"ann_core.{module}.{name}"
    for module, names in {
        "layers": ("dense_forward",),
        "activations": ("sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad", "leaky_relu",
                        "leaky_relu_grad", "softmax"),
        "losses": ("mse", "binary_cross_entropy", "categorical_cross_entropy", "mse_grad",
                   "binary_cross_entropy_grad", "categorical_cross_entropy_grad"),
        "network": ("layer_forward", "network_forward", "network_backward"),
        "optimizers": ("sgd_update", "momentum_update", "adagrad_update", "rmsprop_update", "adam_update"),
        "training": ("iterate_minibatches",),
    }.items()
    for name in names
)
# All of them are withheld from lesson 11's grading kernel (the activations too: the checks' ann_core
# networks compute theirs with the kernels, which stay); tests/test_capstone.py also runs the solution
# with every one of them disabled outside the checks.
CAPSTONE_FORBIDDEN = EARLIER_REFERENCES

register(Spec(
    "train_step", ref.train_step, _step_cases,
    lesson="11_mlp",
    forbidden=("ann_core.training.fit", *CAPSTONE_FORBIDDEN),
    mistakes=[
        Mistake("the parameters never changed: after net.backward(...), call "
                "optimizer.step(net.params, net.grads) to update them.", _ts_no_step),
        Mistake("the returned loss was computed after the update; return the loss of the "
                "forward pass the gradients came from (computed before optimizer.step).",
                _ts_loss_after),
        Mistake("optimizer.step ran before net.backward, so each update used the previous "
                "call's gradients; the order is forward → loss → backward → step.",
                _ts_step_first),
        Mistake("the loss gradient misses the 1/N of the mean (the updates are N times too "
                "large); use GRADIENTS[loss](Y, Y_hat), the gradient of exactly the "
                "mean loss that LOSSES[loss] returns.", _ts_no_mean),
        Mistake("net.backward was given (Y_hat − Y) / N, the delta at the pre-activations; it "
                "expects ∂loss/∂Y_hat = GRADIENTS[loss](Y, Y_hat) and applies the output "
                "activation's derivative itself.", _ts_delta),
        Mistake("the loss's arguments are swapped: losses take (y_true, y_pred), so call "
                "LOSSES[loss](Y, Y_hat) and GRADIENTS[loss](Y, Y_hat).",
                _ts_swapped),
    ],
    wrap=_step_wrap,
    examples=False,
    label_args=True,
))


# ---------------------------------------------------------------- fit
_FIT_KEYS = ("loss", "acc")
_VAL_KEYS = ("val_loss", "val_acc")


def _fit_wrap(f):
    def run(net, X, Y, loss, optimizer, epochs, batch_size, seed=0, validation=None):
        model, opt = net(), optimizer()
        val = validation() if validation is not None else None
        history = f(model, X, Y, loss, opt, epochs, batch_size, seed, val)
        if not isinstance(history, dict):
            what = type(history).__name__
            if history is None:
                what = "None (did you forget `return history`?)"
            raise TypeError(f"fit should return the history dict, but returned {what}")
        keys = _FIT_KEYS + (_VAL_KEYS if val is not None else ())
        missing = [k for k in keys if k not in history]
        if missing:
            raise KeyError(f"the history has no {', '.join(map(repr, missing))}; it needs the keys "
                           f"{', '.join(map(repr, keys))}, each a list with one value per epoch")
        return (*(np.array(history[k], dtype=np.float64) for k in keys), *_params(model))

    return run


def _fit_cases(rng, hidden):
    # (sizes, activations, loss, optimizer, N, epochs, batch_size, validation rows)
    setups = [
        ([2, 3, 1], ["sigmoid", "sigmoid"], "bce", ("sgd", 0.5), 10, 3, 4, 0),
        ([3, 4, 3], ["tanh", "softmax"], "cce", ("adam", 0.05), 11, 3, 4, 5),
        ([3, 5, 3], ["relu", "softmax"], "cce", ("sgd", 0.3), 9, 2, 3, 4),
    ]
    if hidden:
        setups += [
            ([4, 6, 3], ["relu", "softmax"], "cce", ("momentum", 0.1), 13, 4, 3, 6),
            ([2, 3, 1], ["sigmoid", "sigmoid"], "bce", ("sgd", 2.0), 6, 6, 6, 0),
            ([5, 8, 4], ["leaky_relu", "softmax"], "cce", ("adam", 0.01), 20, 3, 8, 7),
            ([3, 4, 1], ["tanh", "sigmoid"], "bce", ("rmsprop", 0.02), 8, 3, 1, 3),
        ]
    out = []
    for sizes, acts, loss, (opt, lr), n, epochs, batch, n_val in setups:
        X, Y = _data(rng, n + n_val, sizes[0], sizes[-1], loss)
        kwargs = {"seed": int(rng.integers(1, 1000))}
        (net, net_text), (make_opt, opt_text) = _net(sizes, acts, int(rng.integers(100))), _opt(opt, lr)
        shown = (f"{net_text}, {_show_args((X[:n], Y[:n], _LOSS[loss]), {})}, {opt_text}, "
                 f"{_show_args((epochs, batch), kwargs)}")
        if n_val:
            kwargs["validation"], val_text = _validation(X[n:], Y[n:])
            shown += f", validation={val_text}"
        out.append(Case((net, X[:n], Y[:n], _LOSS[loss], make_opt, epochs, batch), kwargs, label=shown))
    return out


def _labels(Y):
    return Y.argmax(axis=1) if Y.ndim == 2 and Y.shape[1] > 1 else Y.reshape(-1)


def _fit_like(net, X, Y, loss, optimizer, epochs, batch_size, seed=0, validation=None, *,
              batches_of, record="mean", acc_on="train", rng_seed=None):
    """A fit, right or wrong: ``batches_of(X, Y, batch_size, seed, rng)`` gives an epoch's batches.

    ``record`` is what history["loss"] holds: ``"mean"`` of the batch losses (right),
    the ``"last"`` one, or the loss on the whole set ``"after"`` the epoch; ``acc_on`` is
    ``"train"`` (right) or the last ``"batch"``; ``rng_seed`` overrides the seed.
    """
    rng = np.random.default_rng(seed if rng_seed is None else rng_seed)
    history = {"loss": [], "acc": [], "val_loss": [], "val_acc": []}
    for _ in range(epochs):
        values, last = [], None
        for xb, yb in batches_of(X, Y, batch_size, seed, rng):
            values.append(ref.train_step(net, xb, yb, loss, optimizer))
            last = (xb, yb)
        if record == "mean":
            history["loss"].append(float(np.mean(values)))
        elif record == "last":
            history["loss"].append(values[-1])
        else:
            history["loss"].append(_losses.LOSSES[loss](Y, net.forward(X)))
        xa, ya = (X, Y) if acc_on == "train" else last
        history["acc"].append(ref.accuracy(net, xa, _labels(ya)))
        if validation is not None:
            Xv, Yv = validation
            history["val_loss"].append(_losses.LOSSES[loss](Yv, net.forward(Xv)))
            history["val_acc"].append(ref.accuracy(net, Xv, _labels(Yv)))
    return {k: v for k, v in history.items() if v}


def _shuffled(X, Y, batch_size, seed, rng):
    return ref.iterate_minibatches(X, Y, batch_size, rng)


def _same_order(X, Y, batch_size, seed, rng):
    return ref.iterate_minibatches(X, Y, batch_size, np.random.default_rng(seed))


def _in_order(X, Y, batch_size, seed, rng):
    return ref.iterate_minibatches(X, Y, batch_size, shuffle=False)


def _whole_set(X, Y, batch_size, seed, rng):
    return [(X, Y)]


def _one_batch(X, Y, batch_size, seed, rng):
    first = next(iter(ref.iterate_minibatches(X, Y, batch_size, rng)))
    return [first] * ref.n_updates(len(X), batch_size)


def _fit_same_order(*args): return _fit_like(*args, batches_of=_same_order)
def _fit_in_order(*args): return _fit_like(*args, batches_of=_in_order)
def _fit_whole_set(*args): return _fit_like(*args, batches_of=_whole_set)
def _fit_one_batch(*args): return _fit_like(*args, batches_of=_one_batch)
def _fit_seed_ignored(*args): return _fit_like(*args, batches_of=_shuffled, rng_seed=0)
def _fit_last_loss(*args): return _fit_like(*args, batches_of=_shuffled, record="last")
def _fit_loss_after(*args): return _fit_like(*args, batches_of=_shuffled, record="after")
def _fit_batch_acc(*args): return _fit_like(*args, batches_of=_shuffled, acc_on="batch")


register(Spec(
    "fit", ref.fit, _fit_cases,
    lesson="11_mlp",
    forbidden=("ann_core.training.train_step", *CAPSTONE_FORBIDDEN),
    mistakes=[
        Mistake("every epoch visited the batches in the same order: make rng = "
                "np.random.default_rng(seed) once, before the epoch loop, and pass it to "
                "iterate_minibatches in every epoch.",
                _fit_same_order),
        Mistake("the rows were not shuffled: loop over iterate_minibatches(X, Y, batch_size, rng) "
                "with rng = np.random.default_rng(seed).", _fit_in_order),
        Mistake("one update per epoch on the whole training set: an epoch makes one train_step per "
                "mini-batch of iterate_minibatches(X, Y, batch_size, rng).", _fit_whole_set),
        Mistake("every update used the same mini-batch: call train_step once on each batch that "
                "iterate_minibatches yields.", _fit_one_batch),
        Mistake("the seed argument was ignored: make the generator with "
                "rng = np.random.default_rng(seed).", _fit_seed_ignored),
        Mistake("history['loss'] holds the last batch's loss; record the mean of the epoch's "
                "batch losses.", _fit_last_loss),
        Mistake("history['loss'] holds the loss of the whole training set after the epoch; record "
                "the mean of the batch losses that train_step returned during the epoch.",
                _fit_loss_after),
        Mistake("history['acc'] is the accuracy on the last batch; measure it on the whole "
                "training set (X, Y) after the epoch.", _fit_batch_acc),
    ],
    wrap=_fit_wrap,
    examples=False,
    label_args=True,
))


# ---------------------------------------------------------------- the digits model
# measured over 40 initialisations and shufflings of the lesson's recipe (benchmarks/bench_private_digits.py
# --runs 40; README "Lesson 11's accuracy bar"): the public accuracy spans 0.9667-0.9806
DIGITS_THRESHOLD = 0.96


def _b64(a) -> list:
    import base64

    a = np.ascontiguousarray(a, dtype="<f8")
    return [list(a.shape), base64.b64encode(a.tobytes()).decode("ascii")]


def network_record(model) -> dict:
    """What the grader needs to rebuild ``model``: each layer's activation, ``W`` and ``b``.

    ``{"layers": [{"activation": "relu", "W": [shape, base64 float64], "b": [...]}, ...]}``
    for a network whose ``layers`` each hold ``W``, ``b`` and an ``activation`` name (ann_core's
    ``Sequential`` of ``Dense`` layers, or lesson 11's ``Network`` of ``Layer`` objects built on the
    learner's toolbox); ``{"not_network": type name}`` otherwise. The grader rebuilds the network
    from these numbers with its own code and measures it, so nothing else of ``model`` counts.
    """
    from ..activations import ACTIVATIONS

    layers = getattr(model, "layers", None)
    if not isinstance(layers, list | tuple) or not layers or not all(
            isinstance(getattr(layer, "activation", None), str) and layer.activation in ACTIVATIONS
            and isinstance(getattr(layer, "W", None), np.ndarray) and isinstance(getattr(layer, "b", None), np.ndarray)
            for layer in layers):
        return {"not_network": type(model).__name__}
    try:
        return {"layers": [{"activation": str(layer.activation), "W": _b64(layer.W), "b": _b64(layer.b)}
                           for layer in model.layers]}
    except (TypeError, ValueError):
        return {"not_network": type(model).__name__}


def check_digits_accuracy(model, threshold: float = DIGITS_THRESHOLD) -> None:
    """Lesson 11's last test: ``model`` classifies the digits test split well enough.

    The accuracy is computed here, from ``model.predict`` on the 360 test images of
    ``ann_core.datasets.digits()`` (pixels in [0, 1], as the lesson feeds them), and must
    be at least ``threshold``. Prints one line on success; raises ``CheckFailed`` saying
    what is wrong otherwise (no model yet, predict failed or gave the wrong shape, or the
    accuracy and how far it is from the threshold).
    """
    from ..datasets import digits

    name = "digits_accuracy"
    if grading():  # the grader measures the accuracy itself
        _emit({"name": name, "network": network_record(model)})
    if model is None:
        raise CheckFailed(f"{name}: model is None, so Exercise 3 is not implemented yet: build and "
                          "train the network in the cell above, leaving it in `model`.")
    if not callable(getattr(model, "predict", None)):
        raise CheckFailed(f"{name}: model should be the trained network (a Network), but it is "
                          f"{_describe(model)}, which has no predict method.")
    _, _, X_test, y_test = digits()
    res = call(model.predict, (X_test,))
    if res.error is not None:
        raise CheckFailed(f"{name}: model.predict(X_test) raised "
                          f"{type(res.error).__name__}: {res.error}"[:300])
    pred = np.asarray(res.value)
    if pred.shape != y_test.shape:
        raise CheckFailed(f"{name}: model.predict(X_test) should return one label per image, shape "
                          f"{y_test.shape}, but returned shape {pred.shape}: is the last layer a "
                          "softmax layer of 10 units?")
    n_right = int(np.sum(pred == y_test))
    acc = n_right / len(y_test)
    if not acc >= threshold:
        raise CheckFailed(
            f"{name}: test accuracy {acc:.4f} ({n_right} of {len(y_test)} images) is below "
            f"{threshold:.2f}. Train for more epochs or try another learning rate (the learning "
            "curves show whether the validation loss was still falling), and train on all of "
            "X_train."
        )
    print(f"✔ {name}: test accuracy {acc:.4f} ({n_right} of {len(y_test)} images) ≥ {threshold:.2f}")
