"""ann_core's training shortcuts give bit for bit the numbers of the checked functions they stand for.

The training loop takes shortcuts on input it knows to be valid (``training._loss_and_grad``,
``Dense.forward``/``_backward``, ``Optimizer.step``) so that it runs close to a hand-fused
NumPy loop (benchmarks/bench_mlp.py); these tests keep them in step with the functions
the lessons teach.
"""

from __future__ import annotations

import numpy as np
import pytest

from ann_core import activations as act
from ann_core import losses, network, training
from ann_core.layers import Dense, dense_backward
from ann_core.network import Sequential
from ann_core.optimizers import Adam, adam_update


# ---------------------------------------------------------------- fast paths = checked paths
def _same(a, b):
    np.testing.assert_array_equal(a, b)
    assert np.asarray(a).dtype == np.asarray(b).dtype


@pytest.mark.parametrize("loss", ["categorical_cross_entropy", "binary_cross_entropy", "mse"])
def test_loss_and_gradient_shortcut_gives_the_losses_numbers(loss):
    rng = np.random.default_rng(1)
    Y = np.eye(5)[rng.integers(0, 5, size=7)]
    P_inside = act.softmax(rng.normal(size=(7, 5)))
    P_clipped = P_inside.copy()
    P_clipped[0] = [1.0, 0.0, 0.0, 0.0, 0.0]  # outside [EPS, 1 − EPS]: the checked path
    for P in (P_inside, P_clipped):
        for targets_ok in (False, True):
            value, grad = training._loss_and_grad(loss, Y, P, targets_ok)
            assert value == losses.LOSSES[loss](Y, P)
            assert type(value) is float
            _same(grad, losses.GRADIENTS[loss](Y, P))
    with pytest.raises(ValueError, match="labels in"):  # bad targets still get the clear error
        training._loss_and_grad(loss if loss != "mse" else "binary_cross_entropy", Y * 2, P_inside)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "leaky_relu", "identity", "softmax"])
def test_dense_shortcuts_give_the_functional_layers_numbers(activation):
    rng = np.random.default_rng(2)
    X, dA = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    layer = Dense(4, 3, activation, rng=rng)
    W, b = layer.W.copy(), layer.b.copy()
    A, cache = network.layer_forward(X, W, b, activation)
    _same(layer.forward(X), A)
    dX, dW, db = network.layer_backward(dA, cache, W, activation)
    _same(layer.backward(dA), dX)
    _same(layer.dW, dW)
    _same(layer.db, db)
    assert layer._backward(dA, need_dX=False) is None  # the training-only shortcut
    _same(layer.dW, dW)
    # inputs the shortcut does not take (lists, integers, one sample) give the same numbers
    _same(layer.forward(X.tolist()), A)
    _same(layer.forward(X[0]), network.layer_forward(X[:1], W, b, activation)[0])


def test_train_step_equals_forward_loss_backward_step_by_hand():
    rng = np.random.default_rng(3)
    X, Y = rng.uniform(size=(16, 64)), np.eye(10)[rng.integers(0, 10, size=16)]
    net = Sequential.from_sizes([64, 64, 10], ["relu", "softmax"], seed=4)
    twin = Sequential.from_sizes([64, 64, 10], ["relu", "softmax"], seed=4)
    opt = Adam(0.01)
    state = [(np.zeros_like(p), np.zeros_like(p)) for p in twin.params]
    for t in range(1, 6):
        value = training.train_step(net, X, Y, "categorical_cross_entropy", opt)
        out = twin.forward(X)
        assert value == losses.categorical_cross_entropy(Y, out)
        twin.backward(losses.categorical_cross_entropy_grad(Y, out))
        for i, (p, g) in enumerate(zip(twin.params, twin.grads, strict=True)):
            new_p, m, v = adam_update(p, g, *state[i], t, 0.01)
            state[i] = (m, v)
            p[...] = new_p
        for a, b in zip(net.params, twin.params, strict=True):
            _same(a, b)
    for i, (m, v) in enumerate(state):  # the optimizer's flat state, seen per array
        _same(opt.state[i][0], m)
        _same(opt.state[i][1], v)


def test_dense_backward_of_the_functional_form_is_unchanged():
    # the shortcut inlines dense_backward's three products; keep them in step
    rng = np.random.default_rng(5)
    dZ, X, W = rng.normal(size=(5, 3)), rng.normal(size=(5, 4)), rng.normal(size=(4, 3))
    dX, dW, db = dense_backward(dZ, X, W)
    _same(dX, dZ @ W.T)
    _same(dW, X.T @ dZ)
    _same(db, dZ.sum(axis=0))
