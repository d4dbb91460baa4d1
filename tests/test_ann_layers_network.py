"""ann_core.layers and ann_core.network: forward values, backprop against finite differences."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from ann_core import activations as act
from ann_core import layers, losses, network
from ann_core.gradcheck import numerical_gradient, rel_error
from ann_core.layers import Dense
from ann_core.network import Sequential

TOL = 1e-6


def loop_dense(X, W, b):
    """``Z = X @ W + b`` written as the node formula z_j = Σ_i w_ij x_i + b_j, sample by sample."""
    X = np.atleast_2d(X)
    Z = np.zeros((X.shape[0], W.shape[1]))
    for n in range(X.shape[0]):
        for j in range(W.shape[1]):
            Z[n, j] = sum(W[i, j] * X[n, i] for i in range(W.shape[0])) + b[j]
    return Z


def num_grad(f, x):
    return numerical_gradient(f, x, h=1e-5)


# ---------------------------------------------------------------- neuron and layer formulas
def test_weighted_sum_and_neuron():
    x, w, b = [1.0, 2.0, 3.0], [0.2, 0.8, -0.5], 0.5
    assert layers.weighted_sum(x, w, b) == pytest.approx(0.8, abs=1e-15)
    assert type(layers.weighted_sum(x, w, b)) is float
    assert layers.neuron(x, w, b) == pytest.approx(1 / (1 + math.exp(-0.8)), rel=1e-14)
    assert layers.neuron(x, w, b, activation=act.relu) == pytest.approx(0.8)
    assert layers.neuron(x, [0.5, -0.91, 0.26], -0.1, activation=act.tanh) == pytest.approx(
        math.tanh(-0.64), rel=1e-13)
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        layers.weighted_sum(x, [1.0, 2.0], 0.0)


def test_dense_forward_matches_node_formula():
    rng = np.random.default_rng(301)
    for n, i, o in [(1, 1, 1), (5, 3, 4), (8, 6, 2)]:
        X, W, b = rng.normal(size=(n, i)), rng.normal(size=(i, o)), rng.normal(size=o)
        np.testing.assert_allclose(layers.dense_forward(X, W, b), loop_dense(X, W, b), rtol=1e-12)
    x = rng.normal(size=3)
    W, b = rng.normal(size=(3, 2)), rng.normal(size=2)
    z = layers.dense_forward(x, W, b)
    assert z.shape == (2,)
    np.testing.assert_allclose(z, loop_dense(x, W, b)[0], rtol=1e-12)


def test_column_form_is_the_transpose_of_the_row_form():
    rng = np.random.default_rng(302)
    W_col, x, b = rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=4)
    np.testing.assert_allclose(layers.column_forward(W_col, x, b), W_col @ x + b, rtol=1e-14)
    np.testing.assert_allclose(layers.column_forward(W_col, x, b),
                               layers.dense_forward(x, W_col.T, b), rtol=1e-14)


def test_articles_shape_bug_gives_a_clear_error():
    # np.dot(inputs, weights) with inputs (3,) and weights (2, 3): the articles' mistake
    W_col = np.array([[0.2, 0.8, -0.5], [0.5, -0.91, 0.26]])
    with pytest.raises(ValueError) as info:
        layers.dense_forward([1.0, 2.0, 3.0], W_col, [0.5, -0.1])
    msg = str(info.value)
    assert "(3,)" in msg and "(2, 3)" in msg
    assert "W.T" in msg  # the hint: that W is in the column form
    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        layers.column_forward(W_col.T, [1.0, 2.0, 3.0], [0.5, -0.1])


def test_dense_forward_other_shape_errors():
    with pytest.raises(ValueError, match=r"b has shape \(3,\)"):
        layers.dense_forward(np.ones((2, 4)), np.ones((4, 2)), np.ones(3))
    with pytest.raises(ValueError, match=r"\(5, 3\).*\(4, 2\)"):
        layers.dense_forward(np.ones((5, 3)), np.ones((4, 2)), np.ones(2))
    with pytest.raises(ValueError, match="2-D"):
        layers.dense_forward(np.ones((2, 4)), np.ones(4), np.ones(1))
    with pytest.raises(ValueError, match="X must be"):
        layers.dense_forward(np.ones((2, 2, 4)), np.ones((4, 2)), np.ones(2))
    with pytest.raises(TypeError, match="dtype"):
        layers.dense_forward(np.array(["1", "2"]), np.ones((2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="disagree"):
        layers.dense_backward(np.ones((3, 2)), np.ones((3, 4)), np.ones((4, 5)))


# ---------------------------------------------------------------- backward
def test_dense_backward_matches_finite_differences():
    rng = np.random.default_rng(303)
    X, W, b = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=4)
    G = rng.normal(size=(5, 4))  # E = sum(G * Z), so dE/dZ = G

    def energy(X_, W_, b_):
        return np.sum(G * layers.dense_forward(X_, W_, b_))

    dX, dW, db = layers.dense_backward(G, X, W)
    assert (dX.shape, dW.shape, db.shape) == (X.shape, W.shape, b.shape)
    assert rel_error(dX, num_grad(lambda x: energy(x, W, b), X.copy())) < TOL
    assert rel_error(dW, num_grad(lambda w: energy(X, w, b), W.copy())) < TOL
    assert rel_error(db, num_grad(lambda c: energy(X, W, c), b.copy())) < TOL


def test_dense_backward_of_one_sample():
    rng = np.random.default_rng(304)
    x, W = rng.normal(size=3), rng.normal(size=(3, 2))
    dz = rng.normal(size=2)
    dX, dW, db = layers.dense_backward(dz, x, W)
    np.testing.assert_allclose(dW, np.outer(x, dz), rtol=1e-14)  # ∂E/∂W = δ · aᵀ (transposed)
    np.testing.assert_allclose(db, dz)
    np.testing.assert_allclose(np.ravel(dX), W @ dz, rtol=1e-14)


@pytest.mark.parametrize("name", sorted(act.ACTIVATIONS))
def test_layer_backward_matches_finite_differences(name):
    rng = np.random.default_rng(305)
    X, W, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=5)
    G = rng.normal(size=(4, 5))

    def energy(X_, W_, b_):
        return np.sum(G * network.layer_forward(X_, W_, b_, name)[0])

    A, cache = network.layer_forward(X, W, b, name)
    np.testing.assert_allclose(A, act.ACTIVATIONS[name](X @ W + b), rtol=1e-14)
    dX, dW, db = network.layer_backward(G, cache, W, name)
    assert rel_error(dX, num_grad(lambda x: energy(x, W, b), X.copy())) < TOL
    assert rel_error(dW, num_grad(lambda w: energy(X, w, b), W.copy())) < TOL
    assert rel_error(db, num_grad(lambda c: energy(X, W, c), b.copy())) < TOL


@pytest.mark.parametrize("name", sorted(act.ACTIVATIONS))
def test_dense_object_backward_matches_finite_differences(name):
    rng = np.random.default_rng(306)
    layer = Dense(3, 4, name, rng=rng)
    layer.b = rng.normal(size=4)
    X, G = rng.normal(size=(6, 3)), rng.normal(size=(6, 4))

    def energy(_):
        return np.sum(G * Dense(3, 4, name, W=layer.W, b=layer.b).forward(X_ref))

    X_ref = X.copy()
    layer.forward(X)
    dX = layer.backward(G)
    assert rel_error(dX, num_grad(energy, X_ref)) < TOL
    assert rel_error(layer.dW, num_grad(energy, layer.W)) < TOL
    assert rel_error(layer.db, num_grad(energy, layer.b)) < TOL
    assert layer.grads[0] is layer.dW and layer.params[0] is layer.W


def test_dense_object_details():
    W, b = np.arange(6.0).reshape(2, 3), np.array([1.0, -1.0, 0.5])
    layer = Dense(2, 3, "identity", W=W, b=b)
    W[0, 0] = 99.0  # the layer keeps its own copy
    assert layer.W[0, 0] == 0.0
    np.testing.assert_allclose(layer.forward([1.0, 2.0]), [[7.0, 8.0, 12.5]])  # 1-D becomes a row
    with pytest.raises(RuntimeError, match="forward"):
        Dense(2, 3).backward(np.ones((1, 3)))
    with pytest.raises(ValueError, match="unknown activation"):
        Dense(2, 3, "swish")
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        Dense(2, 3, W=np.ones((3, 2)))
    assert np.all(Dense(4, 5).b == 0)


def test_init_weights_scales():
    rng = np.random.default_rng(307)
    W, b = layers.init_weights(400, 300, "relu", rng)
    assert W.shape == (400, 300) and np.all(b == 0) and b.shape == (300,)
    assert W.std() == pytest.approx(math.sqrt(2 / 400), rel=0.02)  # He normal
    W, _ = layers.init_weights(400, 200, "sigmoid", rng)
    limit = math.sqrt(6 / 600)
    assert np.abs(W).max() <= limit and np.abs(W).max() > 0.99 * limit  # Glorot uniform
    assert W.std() == pytest.approx(limit / math.sqrt(3), rel=0.02)
    # reproducible from the generator, and different neurons get different weights
    a = layers.init_weights(3, 4, "tanh", np.random.default_rng(5))[0]
    np.testing.assert_array_equal(a, layers.init_weights(3, 4, "tanh", np.random.default_rng(5))[0])
    assert len(np.unique(a)) == a.size


# ---------------------------------------------------------------- deltas by hand
def test_output_delta_is_half_sse_grad_times_sigmoid_grad():
    rng = np.random.default_rng(308)
    z, t = rng.normal(size=(3, 2)), rng.uniform(size=(3, 2))
    y = act.sigmoid(z)
    np.testing.assert_allclose(network.output_delta(t, y),
                               losses.half_sse_grad(t, y) * act.sigmoid_grad(z), rtol=1e-13)
    with pytest.raises(ValueError, match="shape"):
        network.output_delta([0.1, 0.2], [0.3])


def test_softmax_cross_entropy_delta():
    if not hasattr(network, "softmax_cross_entropy_delta"):
        pytest.skip("network.softmax_cross_entropy_delta is not there")
    rng = np.random.default_rng(309)
    Z = rng.normal(size=(4, 3))
    T = np.eye(3)[[0, 2, 1, 2]]
    numeric = num_grad(lambda z: losses.categorical_cross_entropy(T, act.softmax(z)), Z.copy())
    assert rel_error(network.softmax_cross_entropy_delta(T, Z), numeric) < TOL
    np.testing.assert_allclose(network.softmax_cross_entropy_delta([[0, 0, 1]], [[1.0, 2, 3]]),
                               [[0.0900, 0.2447, -0.3348]], atol=5e-5)


def test_hidden_delta_formula_of_the_articles():
    # δ(l) = (W(l+1)ᵀ δ(l+1)) ⊙ f'(z(l)) in the column form, ∂E/∂W = δ · aᵀ, ∂E/∂b = δ
    rng = np.random.default_rng(310)
    x, t = np.array([1.0, 2.0, 3.0]), np.array([0.8, 0.2])
    W1c, b1 = rng.normal(size=(4, 3)), rng.normal(size=4)  # column form (n_out, n_in)
    W2c, b2 = rng.normal(size=(2, 4)), rng.normal(size=2)
    z1 = W1c @ x + b1
    a1 = act.sigmoid(z1)
    z2 = W2c @ a1 + b2
    y = act.sigmoid(z2)
    d2 = (y - t) * act.sigmoid_grad(z2)
    d1 = (W2c.T @ d2) * act.sigmoid_grad(z1)
    params = [(W1c.T, b1), (W2c.T, b2)]
    Y, caches = network.network_forward(x[None, :], params, ["sigmoid", "sigmoid"])
    np.testing.assert_allclose(Y[0], y, rtol=1e-14)
    (dW1, db1), (dW2, db2) = network.network_backward(
        losses.half_sse_grad(t[None, :], Y), caches, params, ["sigmoid", "sigmoid"])
    np.testing.assert_allclose(dW2, np.outer(d2, a1).T, rtol=1e-12)
    np.testing.assert_allclose(db2, d2, rtol=1e-12)
    np.testing.assert_allclose(dW1, np.outer(d1, x).T, rtol=1e-12)
    np.testing.assert_allclose(db1, d1, rtol=1e-12)


# ---------------------------------------------------------------- whole networks
def _random_params(rng, sizes):
    return [(rng.normal(0, 0.8, size=(m, n)), rng.normal(0, 0.3, size=n))
            for m, n in zip(sizes, sizes[1:], strict=False)]


@pytest.mark.parametrize(
    ("sizes", "acts", "loss"),
    [
        ([3, 4, 2], ["sigmoid", "sigmoid"], "half_sse"),
        ([3, 4, 2], ["sigmoid", "sigmoid"], "mse"),
        ([4, 5, 3], ["relu", "softmax"], "categorical_cross_entropy"),
        ([2, 6, 5, 1], ["tanh", "leaky_relu", "sigmoid"], "binary_cross_entropy"),
        ([3, 4, 2], ["tanh", "identity"], "huber"),
    ],
)
def test_functional_network_backward_matches_finite_differences(sizes, acts, loss):
    rng = np.random.default_rng(311)
    params = _random_params(rng, sizes)
    X = rng.normal(size=(5, sizes[0]))
    if acts[-1] == "softmax":
        T = np.eye(sizes[-1])[rng.integers(0, sizes[-1], size=5)]
    elif loss == "binary_cross_entropy":
        T = rng.integers(0, 2, size=(5, 1)).astype(float)
    else:
        T = rng.uniform(size=(5, sizes[-1]))

    def energy(_):
        return losses.LOSSES[loss](T, network.network_forward(X, params, acts)[0])

    Y, caches = network.network_forward(X, params, acts)
    grads = network.network_backward(losses.GRADIENTS[loss](T, Y), caches, params, acts)
    assert len(grads) == len(params)
    for (W, b), (dW, db) in zip(params, grads, strict=True):
        assert rel_error(dW, num_grad(energy, W)) < TOL
        assert rel_error(db, num_grad(energy, b)) < TOL


def test_network_forward_errors():
    rng = np.random.default_rng(312)
    params = _random_params(rng, [3, 4, 2])
    with pytest.raises(ValueError, match="activations"):
        network.network_forward(np.ones((1, 3)), params, ["sigmoid"])
    with pytest.raises(ValueError, match="unknown activation"):
        network.layer_forward(np.ones((1, 3)), *params[0], "swish")


def _sequential_gradcheck(net, X, T, loss):
    def energy(_):
        return losses.LOSSES[loss](T, net.forward(X))

    Y = net.forward(X)
    dX = net.backward(losses.GRADIENTS[loss](T, Y))
    analytic = [g.copy() for g in net.grads]
    for p, g in zip(net.params, analytic, strict=True):
        assert rel_error(g, num_grad(energy, p)) < TOL
    Xc = X.copy()
    assert rel_error(dX, num_grad(lambda x: losses.LOSSES[loss](T, net.forward(x)), Xc)) < TOL


def test_sequential_3_4_2_sigmoid_gradients():
    rng = np.random.default_rng(313)
    net = Sequential.from_sizes([3, 4, 2], ["sigmoid", "sigmoid"], seed=3)
    for layer in net.layers:
        layer.b = rng.normal(size=layer.b.shape)
    X = np.vstack([[1.0, 2.0, 3.0], rng.normal(size=(3, 3))])
    T = np.array([[0.8, 0.2]] * 4)
    _sequential_gradcheck(net, X, T, "half_sse")
    _sequential_gradcheck(net, X, T, "mse")


def test_sequential_relu_softmax_categorical_cross_entropy_gradients():
    rng = np.random.default_rng(314)
    net = Sequential.from_sizes([6, 8, 4], ["relu", "softmax"], seed=4)
    X = rng.normal(size=(7, 6))
    T = np.eye(4)[rng.integers(0, 4, size=7)]
    _sequential_gradcheck(net, X, T, "categorical_cross_entropy")


def test_sequential_matches_functional_network():
    rng = np.random.default_rng(315)
    acts = ["tanh", "relu", "softmax"]
    net = Sequential.from_sizes([5, 6, 4, 3], acts, seed=7)
    params = [(layer.W, layer.b) for layer in net.layers]
    X, G = rng.normal(size=(4, 5)), rng.normal(size=(4, 3))
    Y, caches = network.network_forward(X, params, acts)
    np.testing.assert_allclose(net.forward(X), Y, rtol=1e-14)
    np.testing.assert_allclose(net(X), Y, rtol=1e-14)
    net.backward(G)
    for layer, (dW, db) in zip(net.layers, network.network_backward(G, caches, params, acts),
                               strict=True):
        np.testing.assert_allclose(layer.dW, dW, rtol=1e-13)
        np.testing.assert_allclose(layer.db, db, rtol=1e-13)


def test_sequential_predict():
    multi = Sequential([Dense(2, 3, "softmax", W=np.array([[1.0, 0, -1], [0, 1, 0]]))])
    X = np.array([[3.0, 0.0], [0.0, 3.0], [-3.0, 0.0]])
    np.testing.assert_array_equal(multi.predict(X), [0, 1, 2])
    np.testing.assert_allclose(multi.predict_proba(X).sum(axis=1), 1.0)
    single = Sequential([Dense(2, 1, "sigmoid", W=np.array([[1.0], [-1.0]]))])
    np.testing.assert_array_equal(single.predict(np.array([[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]])),
                                  [1, 0, 1])  # p >= 0.5 is class 1, p = 0.5 included


def test_sequential_structure():
    with pytest.raises(ValueError, match="outputs 4 values"):
        Sequential([Dense(3, 4), Dense(5, 2)])
    with pytest.raises(ValueError, match="activations"):
        Sequential.from_sizes([3, 4, 2], ["relu"])
    net = Sequential.from_sizes([3, 4, 2], ["relu", "softmax"], seed=1)
    assert [p.shape for p in net.params] == [(3, 4), (4,), (4, 2), (2,)]
    assert all(p is q for p, q in zip(net.params, [net.layers[0].W, net.layers[0].b,
                                                    net.layers[1].W, net.layers[1].b], strict=True))
    again = Sequential.from_sizes([3, 4, 2], ["relu", "softmax"], seed=1)
    for p, q in zip(net.params, again.params, strict=True):
        np.testing.assert_array_equal(p, q)
    other = Sequential.from_sizes([3, 4, 2], ["relu", "softmax"], seed=2)
    assert not np.array_equal(net.params[0], other.params[0])


# ---------------------------------------------------------------- the perceptron
AND_OR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def test_perceptron_predict_is_a_step_of_the_weighted_sum():
    w, b = np.array([1.0, 1.0]), -1.5
    np.testing.assert_array_equal(layers.perceptron_predict(AND_OR_X, w, b), [0, 0, 0, 1])  # AND
    np.testing.assert_array_equal(layers.perceptron_predict(AND_OR_X, w, -0.5), [0, 1, 1, 1])  # OR
    # the step is 0 at exactly z = 0, 1 just above it
    assert layers.perceptron_predict([1.0, 0.0], [1.0, 0.0], -1.0) == 0.0
    assert layers.perceptron_predict([1.0, 0.0], [1.0, 0.0], -0.999) == 1.0
    rng = np.random.default_rng(8)
    X, w = rng.normal(size=(20, 3)), rng.normal(size=3)
    loop = [1.0 if sum(w[i] * x[i] for i in range(3)) + 0.2 > 0 else 0.0 for x in X]
    np.testing.assert_array_equal(layers.perceptron_predict(X, w, 0.2), loop)


def test_perceptron_update_worked_example_and_no_change_when_right():
    w, b = np.array([0.0, 0.0]), 0.0
    w1, b1 = layers.perceptron_update(w, b, np.array([1.0, 1.0]), 1, lr=0.1)  # predicted 0, label 1
    np.testing.assert_allclose(w1, [0.1, 0.1])
    assert b1 == pytest.approx(0.1)
    w2, b2 = layers.perceptron_update(w1, b1, np.array([0.0, 1.0]), 0, lr=0.1)  # predicted 1, label 0
    np.testing.assert_allclose(w2, [0.1, 0.0])
    assert b2 == pytest.approx(0.0, abs=1e-15)
    w3, b3 = layers.perceptron_update(w2, b2, np.array([1.0, 0.0]), 1, lr=0.1)  # right: no change
    np.testing.assert_array_equal(w3, w2)
    assert b3 == b2
    assert np.array_equal(w, [0.0, 0.0])  # not modified in place


def _train_perceptron(y, epochs=20, lr=0.1):
    w, b = np.zeros(2), 0.0
    for _ in range(epochs):
        for x, t in zip(AND_OR_X, y, strict=True):
            w, b = layers.perceptron_update(w, b, x, t, lr)
    return layers.perceptron_predict(AND_OR_X, w, b)


def test_perceptron_learns_and_or_but_not_xor():
    np.testing.assert_array_equal(_train_perceptron([0, 0, 0, 1]), [0, 0, 0, 1])
    np.testing.assert_array_equal(_train_perceptron([0, 1, 1, 1]), [0, 1, 1, 1])
    xor = np.array([0, 1, 1, 0])
    for epochs in (5, 20, 100):
        assert not np.array_equal(_train_perceptron(xor, epochs), xor)


@pytest.mark.parametrize(("call", "words"), [
    (lambda: layers.perceptron_predict([[1.0, 2.0]], [1.0, 2.0, 3.0], 0.0), "X must be (N, 3)"),
    (lambda: layers.perceptron_predict([[1.0, 2.0]], [[1.0, 2.0]], 0.0), "w must have shape (n,)"),
    (lambda: layers.perceptron_predict([[1.0, 2.0]], [1.0, 2.0], [0.0, 1.0]), "b must be a scalar"),
    (lambda: layers.perceptron_update(np.zeros(2), 0.0, np.ones(2), 2, 0.1), "label 0 or 1"),
    (lambda: layers.perceptron_update(np.zeros(2), 0.0, np.ones((1, 2)), 1, 0.1), "one sample"),
])
def test_perceptron_errors_name_the_problem(call, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        call()
