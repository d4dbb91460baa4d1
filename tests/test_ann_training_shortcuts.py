"""The training loop gives bit for bit the numbers of the checked functions the lessons teach.

ann_core writes each formula once, in a private kernel that the public (checked) functions and
the training loop both call; the training loop checks its input once, at its boundary
(``train_step``, ``fit``, ``check_input=``), instead of in every function of every batch.
These tests run the training loop against the public functions called one by one — forward,
``losses.LOSSES``/``GRADIENTS``, backward, the pure update functions — and demand equal
numbers, and check that bad input still fails with the clear errors.
"""

from __future__ import annotations

import numpy as np
import pytest

from ann_core import losses, network, training
from ann_core import optimizers as O
from ann_core.layers import Dense
from ann_core.network import Sequential

LOSS_SETUPS = [  # (loss, output activation, targets)
    ("categorical_cross_entropy", "softmax", "one_hot"),
    ("binary_cross_entropy", "sigmoid", "binary"),
    ("focal_loss", "sigmoid", "binary"),
    ("mse", "identity", "real"),
    ("half_sse", "tanh", "real"),
    ("mae", "identity", "real"),
    ("huber", "identity", "real"),
]
PURE = {  # optimizer class → (pure update function, number of state arrays)
    O.SGD: (O.sgd_update, 0), O.Momentum: (O.momentum_update, 1), O.AdaGrad: (O.adagrad_update, 1),
    O.RMSprop: (O.rmsprop_update, 1), O.Adam: (O.adam_update, 2),
}


def _same(a, b):
    np.testing.assert_array_equal(a, b)
    assert np.asarray(a).dtype == np.asarray(b).dtype


def _targets(kind, rng, n, c):
    if kind == "one_hot":
        return np.eye(c)[rng.integers(0, c, size=n)]
    if kind == "binary":
        return rng.integers(0, 2, size=(n, c)).astype(float)
    return rng.normal(size=(n, c))


class ByHand:
    """The step the lessons write, from the public functions only, with pure updates."""

    def __init__(self, cls, lr):
        self.update, n_state = PURE[cls]
        self.lr, self.state, self.t, self.n_state = lr, None, 0, n_state

    def step(self, net, X, Y, loss):
        Y_hat = net.forward(X)
        value = losses.LOSSES[loss](Y, Y_hat)
        net.backward(losses.GRADIENTS[loss](Y, Y_hat))
        if self.state is None:
            self.state = [[np.zeros_like(p) for _ in range(self.n_state)] for p in net.params]
        self.t += 1
        for i, (p, g) in enumerate(zip(net.params, net.grads, strict=True)):
            extra = (self.t,) if self.update is O.adam_update else ()
            out = self.update(p, g, *self.state[i], *extra, self.lr)
            if self.n_state:  # (w, state...) ; sgd_update returns w alone
                out, *self.state[i] = out
            p[...] = out
        return value


@pytest.mark.parametrize(("loss", "out_act", "kind"), LOSS_SETUPS)
@pytest.mark.parametrize("cls", [O.Adam, O.SGD, O.Momentum, O.AdaGrad, O.RMSprop])
@pytest.mark.parametrize("check_input", [True, False])
def test_train_step_equals_the_checked_functions_bit_for_bit(loss, out_act, kind, cls, check_input):
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(7, 5)), _targets(kind, rng, 7, 3)
    sizes, acts = [5, 6, 4, 3], ["relu", "leaky_relu", out_act]
    net, twin = Sequential.from_sizes(sizes, acts, seed=2), Sequential.from_sizes(sizes, acts, seed=2)
    opt, by_hand = cls(0.05), ByHand(cls, 0.05)
    for _ in range(4):
        value = training.train_step(net, X, Y, loss, opt, check_input=check_input)
        assert type(value) is float
        assert value == by_hand.step(twin, X, Y, loss)
        for a, b in zip(net.params, twin.params, strict=True):
            _same(a, b)
        for a, b in zip(net.grads, twin.grads, strict=True):
            _same(a, b)
    if cls is O.Adam:  # the optimizer's flat state, seen per array, is the pure functions' state
        for i, (m, v) in enumerate(by_hand.state):
            _same(opt.state[i][0], m)
            _same(opt.state[i][1], v)


@pytest.mark.parametrize("loss", ["categorical_cross_entropy", "binary_cross_entropy"])
def test_clipped_probabilities_give_the_same_numbers_as_an_explicit_clip(loss):
    # a second implementation of the cross-entropies, clip and mask written out
    rng = np.random.default_rng(3)
    T = np.eye(4)[rng.integers(0, 4, size=6)]
    P = rng.dirichlet(np.ones(4), size=6)
    P[0] = [1.0, 0.0, 0.0, 0.0]  # 0 and 1 exactly: outside [EPS, 1 − EPS], the clip is active
    P[1] = [1e-13, 1 - 1e-13, 0.0, 0.0]
    for p in (P, np.clip(P, 0.01, 0.99)):  # with and without clipping
        q = np.clip(p, losses.EPS, 1 - losses.EPS)
        inside = (p >= losses.EPS) & (p <= 1 - losses.EPS)
        if loss == "categorical_cross_entropy":
            value = np.mean(-np.sum(T * np.log(q), axis=-1))
            grad = np.where(inside, -T / q, 0.0) / len(T)
        else:
            value = np.mean(-(T * np.log(q) + (1 - T) * np.log(1 - q)))
            grad = np.where(inside, (q - T) / (q * (1 - q)), 0.0) / T.size
        assert losses.LOSSES[loss](T, p) == float(value)
        _same(losses.GRADIENTS[loss](T, p), grad)
        check, kernel = losses._TRAINING[loss]
        got_value, got_grad = kernel(*check(T, p))
        assert got_value == float(value)
        _same(got_grad, grad)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "leaky_relu", "identity", "softmax"])
def test_dense_object_equals_the_functional_layer(activation):
    rng = np.random.default_rng(4)
    X, dA = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    layer = Dense(4, 3, activation, rng=rng)
    W, b = layer.W.copy(), layer.b.copy()
    A, cache = network.layer_forward(X, W, b, activation)
    dX, dW, db = network.layer_backward(dA, cache, W, activation)
    for check_input in (True, False):
        _same(layer.forward(X, check_input=check_input), A)
        _same(layer.backward(dA, check_input=check_input), dX)
        _same(layer.dW, dW)
        _same(layer.db, db)
    layer.dW = layer.db = None
    assert layer.backward(dA, need_dX=False) is None  # training's first layer: dX not computed
    _same(layer.dW, dW)
    _same(layer.db, db)
    # inputs that need converting (lists, integers, one sample) give the same numbers
    _same(layer.forward(X.tolist()), A)
    _same(layer.forward(X[0]), network.layer_forward(X[:1], W, b, activation)[0])
    Xi = rng.integers(-3, 4, size=(6, 4))
    _same(layer.forward(Xi), network.layer_forward(Xi, W, b, activation)[0])


def _fit_by_hand(net, X, Y, loss, opt_cls, lr, epochs, batch_size, seed, validation):
    """fit as lesson 11 writes it, from the public functions and ByHand steps."""
    by_hand, rng = ByHand(opt_cls, lr), np.random.default_rng(seed)
    history = {"loss": [], "acc": [], "val_loss": [], "val_acc": []}
    labels = Y.argmax(axis=1) if Y.shape[1] > 1 else Y[:, 0]
    for _ in range(epochs):
        batch = [by_hand.step(net, xb, yb, loss)
                 for xb, yb in training.iterate_minibatches(X, Y, batch_size, rng)]
        history["loss"].append(float(np.mean(batch)))
        history["acc"].append(float(np.mean(net.predict(X) == labels)))
        Xv, Yv = validation
        history["val_loss"].append(losses.LOSSES[loss](Yv, net.forward(Xv)))
        history["val_acc"].append(float(np.mean(net.predict(Xv) == Yv.argmax(axis=1))))
    return history


def test_fit_equals_a_loop_of_the_checked_functions_bit_for_bit():
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(50, 6)), np.eye(3)[rng.integers(0, 3, size=50)]
    sizes, acts = [6, 8, 3], ["tanh", "softmax"]
    net, twin = Sequential.from_sizes(sizes, acts, seed=6), Sequential.from_sizes(sizes, acts, seed=6)
    hist = training.fit(net, X[:40], Y[:40], "categorical_cross_entropy", O.Adam(0.05), epochs=5,
                        batch_size=8, seed=7, validation=(X[40:], Y[40:]))
    expected = _fit_by_hand(twin, X[:40], Y[:40], "categorical_cross_entropy", O.Adam, 0.05, 5, 8, 7,
                            (X[40:], Y[40:]))
    assert hist == expected
    for a, b in zip(net.params, twin.params, strict=True):
        _same(a, b)


# ---------------------------------------------------------------- bad input: the clear errors
def _net(out="sigmoid"):
    return Sequential.from_sizes([3, 4, 2], ["tanh", out], seed=0)


X3, T2 = np.random.default_rng(8).normal(size=(5, 3)), np.random.default_rng(9).uniform(size=(5, 2))


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda f: f(_net(), X3, T2 * 3, "binary_cross_entropy"), ValueError, r"y_true must hold labels in \[0, 1\]"),
    (lambda f: f(_net("identity"), X3 * 50, T2, "binary_cross_entropy"), ValueError, "did you pass logits"),
    (lambda f: f(_net(), X3[:, :2], T2, "mse"), ValueError, "shapes disagree"),
    (lambda f: f(_net(), X3, T2[:, :1], "mse"), ValueError, r"y_true has shape \(5, 1\)"),
    (lambda f: f(_net(), X3, T2, "zero_one_loss"), ValueError, "unknown loss"),
    (lambda f: f(_net(), X3.astype(str), T2, "mse"), TypeError, "X must hold real numbers"),
    (lambda f: f(_net(), X3, np.full((5, 2), np.nan), "binary_cross_entropy"), ValueError, r"found \[nan"),
])
@pytest.mark.parametrize("entry", ["train_step", "fit"])
def test_bad_input_raises_the_clear_error_before_anything_changes(call, error, match, entry):
    seen = {}

    def run(net, X, Y, loss):
        seen["net"], seen["before"] = net, [p.copy() for p in net.params]
        if entry == "train_step":
            return training.train_step(net, X, Y, loss, O.SGD(0.1))
        return training.fit(net, X, Y, loss, O.SGD(0.1), epochs=2, batch_size=2)

    with pytest.raises(error, match=match):
        call(run)
    for a, b in zip(seen["net"].params, seen["before"], strict=True):  # nothing was trained
        _same(a, b)


def test_layers_network_and_optimizer_still_check_their_input():
    net = _net()
    with pytest.raises(ValueError, match="shapes disagree"):
        net.forward(np.ones((2, 4)))
    net.forward(X3)
    with pytest.raises(ValueError, match=r"dA has shape \(5, 3\)"):
        net.backward(np.ones((5, 3)))
    with pytest.raises(RuntimeError, match="forward"):
        Dense(2, 2).backward(np.ones((1, 2)))
    opt = O.Adam()
    with pytest.raises(ValueError, match=r"w has shape \(3, 4\) but its gradient g has shape \(4, 3\)"):
        opt.step(net.params, [g.T for g in net.grads])
    with pytest.raises(TypeError, match="must be a float NumPy array"):
        opt.step([[1.0, 2.0]], [np.ones(2)])
    with pytest.raises(ValueError, match="one optimizer per network"):
        opt.step(net.params, net.grads)
        opt.step(net.params[:2], net.grads[:2])
