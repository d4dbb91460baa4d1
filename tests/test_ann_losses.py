"""ann_core.losses: values against a second implementation, gradients, properties, errors."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ann_core import losses as L
from ann_core.gradcheck import numerical_gradient, rel_error

SETTINGS = settings(max_examples=50, deadline=None, database=None)


# ---------------------------------------------------------------- a second implementation
# Plain Python, one element at a time, straight from the formulas in COURSE_SPEC.md.
def _flat(t, p):
    return [float(v) for v in np.ravel(t)], [float(v) for v in np.ravel(p)]


def py_mse(t, p):
    t, p = _flat(t, p)
    return sum((b - a) ** 2 for a, b in zip(t, p, strict=True)) / len(t)


def py_half_sse(t, p):
    t, p = _flat(t, p)
    return 0.5 * sum((b - a) ** 2 for a, b in zip(t, p, strict=True))


def py_mae(t, p):
    t, p = _flat(t, p)
    return sum(abs(b - a) for a, b in zip(t, p, strict=True)) / len(t)


def py_huber(t, p, delta=1.0):
    t, p = _flat(t, p)
    total = 0.0
    for a, b in zip(t, p, strict=True):
        d = abs(b - a)
        total += 0.5 * d * d if d < delta else delta * (d - 0.5 * delta)
    return total / len(t)


def _clip(p):
    return min(max(p, 1e-12), 1 - 1e-12)


def py_bce(t, p):
    t, p = _flat(t, p)
    return sum(-(a * math.log(_clip(b)) + (1 - a) * math.log(1 - _clip(b)))
               for a, b in zip(t, p, strict=True)) / len(t)


def py_cce(t, p):
    t, p = np.atleast_2d(t), np.atleast_2d(p)
    rows = [-sum(a * math.log(_clip(b)) for a, b in zip(tr, pr, strict=True))
            for tr, pr in zip(t.tolist(), p.tolist(), strict=True)]
    return sum(rows) / len(rows)


def py_focal(t, p, alpha=0.25, gamma=2.0):
    t, p = _flat(t, p)
    total = 0.0
    for a, b in zip(t, p, strict=True):
        b = _clip(b)
        if a == 1:
            total += -alpha * (1 - b) ** gamma * math.log(b)
        else:
            assert a == 0
            total += -(1 - alpha) * b**gamma * math.log(1 - b)
    return total / len(t)


def _binary(rng, shape):
    return rng.integers(0, 2, size=shape).astype(float)


def _one_hot(rng, n, c):
    return np.eye(c)[rng.integers(0, c, size=n)]


def _probs(rng, n, c):
    e = np.exp(rng.normal(size=(n, c)))
    return e / e.sum(axis=1, keepdims=True)


SHAPES = [(1,), (7,), (4, 3), (2, 3, 2)]
PROBABILITY_LOSSES = ["binary_cross_entropy", "categorical_cross_entropy", "focal_loss"]


@pytest.mark.parametrize("shape", SHAPES)
def test_regression_losses_match_second_implementation(shape):
    rng = np.random.default_rng(201)
    t, p = rng.normal(size=shape), rng.normal(0, 2, size=shape)
    assert L.mse(t, p) == pytest.approx(py_mse(t, p), rel=1e-13)
    assert L.half_sse(t, p) == pytest.approx(py_half_sse(t, p), rel=1e-13)
    assert L.mae(t, p) == pytest.approx(py_mae(t, p), rel=1e-13)
    for delta in (1.0, 0.3, 2.5):
        assert L.huber(t, p, delta=delta) == pytest.approx(py_huber(t, p, delta), rel=1e-13)
    assert L.huber(t, p) == pytest.approx(py_huber(t, p, 1.0), rel=1e-13)


@pytest.mark.parametrize("shape", SHAPES)
def test_probability_losses_match_second_implementation(shape):
    rng = np.random.default_rng(202)
    t, p = _binary(rng, shape), rng.uniform(0.01, 0.99, size=shape)
    assert L.binary_cross_entropy(t, p) == pytest.approx(py_bce(t, p), rel=1e-12)
    soft = rng.uniform(0, 1, size=shape)
    assert L.binary_cross_entropy(soft, p) == pytest.approx(py_bce(soft, p), rel=1e-12)
    for alpha in (0.25, 0.5, 0.8):
        for gamma in (0.0, 0.5, 2.0, 3.0):
            got = L.focal_loss(t, p, alpha=alpha, gamma=gamma)
            assert got == pytest.approx(py_focal(t, p, alpha, gamma), rel=1e-12)
    assert L.focal_loss(t, p) == pytest.approx(py_focal(t, p, 0.25, 2.0), rel=1e-12)


@pytest.mark.parametrize(("n", "c"), [(1, 3), (5, 4), (16, 10)])
def test_categorical_cross_entropy_matches_second_implementation(n, c):
    rng = np.random.default_rng(203)
    t, p = _one_hot(rng, n, c), _probs(rng, n, c)
    assert L.categorical_cross_entropy(t, p) == pytest.approx(py_cce(t, p), rel=1e-12)
    # the same as the mean of -log p of the true class
    labels = t.argmax(axis=1)
    assert L.categorical_cross_entropy(t, p) == pytest.approx(
        -np.mean(np.log(p[np.arange(n), labels])), rel=1e-12)
    # one sample as a (C,) vector
    assert L.categorical_cross_entropy(t[0], p[0]) == pytest.approx(py_cce(t[:1], p[:1]), rel=1e-12)


def test_losses_return_python_floats():
    t, p = [0.0, 1.0], [0.2, 0.7]
    for name, f in L.LOSSES.items():
        out = f(t, p)
        assert type(out) is float, name
    for name, g in L.GRADIENTS.items():
        assert np.shape(g(t, p)) == (2,), name


def test_reductions_follow_the_spec():
    t, p = np.zeros((2, 3)), np.ones((2, 3))
    assert L.mse(t, p) == 1.0  # mean over all 6 elements
    assert L.half_sse(t, p) == 3.0  # half the sum
    assert L.mae(t, p) == 1.0
    assert L.huber(t, p, delta=1.0) == 0.5
    eye = np.eye(3)[:2]
    p = np.full((2, 3), 1 / 3)
    # sum over classes, mean over the 2 samples
    assert L.categorical_cross_entropy(eye, p) == pytest.approx(math.log(3), rel=1e-14)


def test_focal_loss_alpha_belongs_to_the_positives():
    # Lin et al. (2017): alpha_t = alpha where t = 1 (the articles' snippet had it reversed).
    assert L.focal_loss([1.0], [0.3], alpha=0.25, gamma=0.0) == pytest.approx(-0.25 * math.log(0.3))
    assert L.focal_loss([0.0], [0.3], alpha=0.25, gamma=0.0) == pytest.approx(-0.75 * math.log(0.7))
    assert L.focal_loss([1.0], [0.3], alpha=0.25, gamma=2.0) == pytest.approx(
        -0.25 * 0.7**2 * math.log(0.3))


def test_focal_loss_reduces_to_half_bce():
    rng = np.random.default_rng(204)
    t, p = _binary(rng, (10,)), rng.uniform(0.05, 0.95, size=10)
    assert L.focal_loss(t, p, alpha=0.5, gamma=0.0) == pytest.approx(
        0.5 * L.binary_cross_entropy(t, p), rel=1e-13)


def test_cross_entropies_clip_probabilities():
    big = -math.log(1e-12)
    assert L.binary_cross_entropy([1.0], [0.0]) == pytest.approx(big, rel=1e-6)
    assert L.binary_cross_entropy([0.0], [1.0]) == pytest.approx(big, rel=1e-3)
    assert L.categorical_cross_entropy([[0.0, 1.0]], [[1.0, 0.0]]) == pytest.approx(big, rel=1e-6)
    assert math.isfinite(L.focal_loss([1.0, 0.0], [0.0, 1.0]))
    assert np.all(np.isfinite(L.binary_cross_entropy_grad([1.0, 0.0], [0.0, 1.0])))
    assert np.all(np.isfinite(L.categorical_cross_entropy_grad([[0.0, 1.0]], [[1.0, 0.0]])))


# ---------------------------------------------------------------- zero-one loss
def test_zero_one_loss_accepts_labels_one_hot_and_probabilities():
    assert L.zero_one_loss([0, 1, 2, 2], [0, 2, 2, 1]) == 0.5
    onehot = np.eye(3)[[0, 1, 2, 2]]
    scores = np.array([[5.0, 1, 0], [0, 0.1, 3], [0, 0, 1], [1, 2, 0.5]])
    assert L.zero_one_loss(onehot, scores) == 0.5
    assert L.zero_one_loss([0, 1, 2, 2], scores) == 0.5
    assert L.zero_one_loss([0, 1, 1, 0], [0.2, 0.7, 0.4, 0.51]) == 0.5


def test_zero_one_loss_on_a_single_sigmoid_column():
    # (N, 1) targets and outputs, as xor() and a one-unit sigmoid network produce them:
    # an argmax over a single column would always say "class 0" and report 0 errors.
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    assert L.zero_one_loss(y, np.array([[0.9], [0.1], [0.8], [0.2]])) == 0.5
    assert L.zero_one_loss(y, np.array([[0.1], [0.9], [0.8], [0.2]])) == 0.0
    assert L.zero_one_loss(y.ravel(), np.array([[0.9], [0.1], [0.2], [0.6]])) == 1.0


def test_zero_one_loss_errors():
    with pytest.raises(ValueError, match="shape"):
        L.zero_one_loss([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="no samples"):
        L.zero_one_loss([], [])


# ---------------------------------------------------------------- gradients
def _check_grad(loss, grad, t, p, **kw):
    p = np.array(p, dtype=np.float64)
    analytic = grad(t, p, **kw)
    assert analytic.shape == p.shape
    numeric = numerical_gradient(lambda q: loss(t, q, **kw), p.copy(), h=1e-5)
    err = rel_error(analytic, numeric)
    assert err < 1e-6, err


@pytest.mark.parametrize("shape", SHAPES)
def test_mse_half_sse_gradients(shape):
    rng = np.random.default_rng(205)
    t, p = rng.normal(size=shape), rng.normal(size=shape)
    _check_grad(L.mse, L.mse_grad, t, p)
    _check_grad(L.half_sse, L.half_sse_grad, t, p)


@pytest.mark.parametrize("shape", SHAPES)
def test_mae_gradient_away_from_the_kink(shape):
    rng = np.random.default_rng(206)
    t = rng.normal(size=shape)
    p = t + rng.uniform(0.1, 2, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    _check_grad(L.mae, L.mae_grad, t, p)
    assert np.all(L.mae_grad(t, t) == 0)  # sign(0) = 0, as in PyTorch


@pytest.mark.parametrize("delta", [1.0, 0.25, 3.0])
@pytest.mark.parametrize("shape", SHAPES)
def test_huber_gradient_both_regions(shape, delta):
    rng = np.random.default_rng(207)
    t = rng.normal(size=shape)
    # |d| in (0, 0.8 delta) or (1.2 delta, 3 delta): both regions, never on a kink
    inner, outer = rng.uniform(0.05, 0.8, shape), rng.uniform(1.2, 3, shape)
    mag = np.where(rng.random(shape) < 0.5, inner, outer)
    p = t + delta * mag * rng.choice([-1.0, 1.0], size=shape)
    _check_grad(L.huber, L.huber_grad, t, p, delta=delta)


@pytest.mark.parametrize("shape", SHAPES)
def test_binary_cross_entropy_gradient(shape):
    rng = np.random.default_rng(208)
    p = rng.uniform(0.02, 0.98, size=shape)
    _check_grad(L.binary_cross_entropy, L.binary_cross_entropy_grad, _binary(rng, shape), p)
    _check_grad(L.binary_cross_entropy, L.binary_cross_entropy_grad, rng.uniform(size=shape), p)


@pytest.mark.parametrize(("n", "c"), [(1, 2), (4, 3), (6, 5)])
def test_categorical_cross_entropy_gradient(n, c):
    rng = np.random.default_rng(209)
    t, p = _one_hot(rng, n, c), _probs(rng, n, c)
    p = np.clip(p, 0.01, 0.99)
    _check_grad(L.categorical_cross_entropy, L.categorical_cross_entropy_grad, t, p)
    _check_grad(L.categorical_cross_entropy, L.categorical_cross_entropy_grad, t[0], p[0])


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("alpha", [0.25, 0.5, 0.9])
def test_focal_loss_gradient(alpha, gamma):
    rng = np.random.default_rng(210)
    for shape in SHAPES:
        p = rng.uniform(0.02, 0.98, size=shape)
        _check_grad(L.focal_loss, L.focal_loss_grad, _binary(rng, shape), p,
                    alpha=alpha, gamma=gamma)
    _check_grad(L.focal_loss, L.focal_loss_grad, np.ones(5), rng.uniform(0.02, 0.98, 5))


def test_default_keyword_gradients():
    rng = np.random.default_rng(211)
    t, p = _binary(rng, (8,)), rng.uniform(0.05, 0.95, size=8)
    _check_grad(L.focal_loss, L.focal_loss_grad, t, p)
    t2 = rng.normal(size=8)
    _check_grad(L.huber, L.huber_grad, t2, t2 + rng.choice([-0.4, 0.5, 1.7, -2.1], size=8))


def test_gradient_registry_is_complete():
    assert set(L.GRADIENTS) == set(L.LOSSES) - {"zero_one_loss"}
    for name in L.GRADIENTS:
        assert L.GRADIENTS[name] is getattr(L, f"{name}_grad")
        assert L.LOSSES[name] is getattr(L, name)


def test_losses_do_not_modify_their_inputs():
    rng = np.random.default_rng(212)
    t, p = _binary(rng, (3, 4)), rng.uniform(0, 1, size=(3, 4))
    p[0, 0], p[1, 1] = 0.0, 1.0  # clipping must not write back
    t0, p0 = t.copy(), p.copy()
    for name in L.LOSSES:
        L.LOSSES[name](t, p)
    for name in L.GRADIENTS:
        L.GRADIENTS[name](t, p)
    np.testing.assert_array_equal(t, t0)
    np.testing.assert_array_equal(p, p0)


# ---------------------------------------------------------------- properties
@st.composite
def regression_pairs(draw):
    shape = draw(hnp.array_shapes(max_dims=2, min_side=1, max_side=6))
    el = st.floats(-1e3, 1e3, allow_nan=False)
    return (draw(hnp.arrays(np.float64, shape, elements=el)),
            draw(hnp.arrays(np.float64, shape, elements=el)))


@st.composite
def binary_pairs(draw):
    shape = draw(hnp.array_shapes(max_dims=2, min_side=1, max_side=6))
    t = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0])))
    p = draw(hnp.arrays(np.float64, shape, elements=st.floats(0, 1)))
    return t, p


@SETTINGS
@given(pair=regression_pairs(), delta=st.floats(0.01, 10))
def test_regression_losses_nonnegative_and_zero_at_target(pair, delta):
    t, p = pair
    for value in (L.mse(t, p), L.half_sse(t, p), L.mae(t, p), L.huber(t, p, delta=delta)):
        assert value >= 0
    assert L.mse(t, t) == L.half_sse(t, t) == L.mae(t, t) == L.huber(t, t, delta=delta) == 0.0
    for grad in (L.mse_grad(t, t), L.half_sse_grad(t, t), L.mae_grad(t, t), L.huber_grad(t, t)):
        assert np.all(grad == 0)
    # Huber lies between its quadratic and linear parts
    assert L.huber(t, p, delta=delta) <= 0.5 * L.mse(t, p) + 1e-9 * (1 + L.mse(t, p))


@SETTINGS
@given(pair=binary_pairs(), alpha=st.floats(0, 1), gamma=st.sampled_from([0.0, 0.5, 1.0, 2.0]))
def test_probability_losses_nonnegative_and_near_zero_at_target(pair, alpha, gamma):
    t, p = pair
    assert L.binary_cross_entropy(t, p) >= 0
    assert L.focal_loss(t, p, alpha=alpha, gamma=gamma) >= 0
    assert L.binary_cross_entropy(t, t) < 1e-11
    assert L.focal_loss(t, t, alpha=alpha, gamma=gamma) < 1e-11
    assert 0 <= L.zero_one_loss(t.ravel(), p.ravel()) <= 1
    # focal loss never exceeds the alpha-weighted cross-entropy it down-weights
    assert L.focal_loss(t, p, alpha=alpha, gamma=gamma) <= max(alpha, 1 - alpha) * (
        L.binary_cross_entropy(t, p)) * (1 + 1e-12) + 1e-15


@SETTINGS
@given(n=st.integers(1, 5), c=st.integers(2, 6), seed=st.integers(0, 2**32 - 1))
def test_categorical_cross_entropy_nonnegative_and_near_zero_at_target(n, c, seed):
    rng = np.random.default_rng(seed)
    t, p = _one_hot(rng, n, c), _probs(rng, n, c)
    assert L.categorical_cross_entropy(t, p) >= 0
    assert L.categorical_cross_entropy(t, t) < 1e-11
    assert L.zero_one_loss(t, t) == 0.0


@SETTINGS
@given(t=hnp.arrays(np.float64, st.integers(1, 8), elements=st.floats(0.01, 0.99)))
def test_bce_with_soft_targets_is_minimal_at_p_equals_t(t):
    at_t = L.binary_cross_entropy(t, t)
    np.testing.assert_allclose(L.binary_cross_entropy_grad(t, t), 0, atol=1e-12)
    for eps in (-0.005, 0.005):
        assert L.binary_cross_entropy(t, np.clip(t + eps, 0, 1)) >= at_t - 1e-15


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("name", sorted(L.LOSSES))
def test_mismatched_shapes_are_refused(name):
    with pytest.raises(ValueError, match=r"shape"):
        L.LOSSES[name]([[0.0, 1.0, 0.0]], [[0.2], [0.3], [0.5]])
    if name != "zero_one_loss":
        with pytest.raises(ValueError, match=r"\(3,\).*\(3, 1\)"):
            L.LOSSES[name]([0.0, 1.0, 0.0], [[0.2], [0.3], [0.5]])
        with pytest.raises(ValueError, match=r"shape"):
            L.GRADIENTS.get(name, L.LOSSES[name])([0.0, 1.0], [0.2, 0.3, 0.5])


@pytest.mark.parametrize("name", sorted(L.LOSSES))
def test_string_dtype_is_a_type_error(name):
    with pytest.raises(TypeError, match="y_pred.*dtype"):
        L.LOSSES[name]([0.0, 1.0], np.array(["0.1", "0.9"]))
    with pytest.raises(TypeError, match="y_true.*dtype"):
        L.LOSSES[name](["a", "b"], [0.1, 0.9])


@pytest.mark.parametrize("name", PROBABILITY_LOSSES)
def test_labels_outside_unit_interval_are_refused(name):
    for f in (L.LOSSES[name], L.GRADIENTS[name]):
        with pytest.raises(ValueError, match=r"y_true.*\[0, 1\].*2\.0"):
            f([[2.0, 0.0]], [[0.5, 0.5]])
        with pytest.raises(ValueError, match=r"y_true.*\[0, 1\]"):
            f([[-1.0, 1.0]], [[0.5, 0.5]])
        with pytest.raises(ValueError, match=r"y_true"):
            f([[np.nan, 1.0]], [[0.5, 0.5]])


@pytest.mark.parametrize("name", PROBABILITY_LOSSES)
def test_predictions_outside_unit_interval_are_refused(name):
    for f in (L.LOSSES[name], L.GRADIENTS[name]):
        with pytest.raises(ValueError, match=r"y_pred.*probabilities.*logits"):
            f([[1.0, 0.0]], [[2.3, -1.2]])
        with pytest.raises(ValueError, match=r"y_pred"):
            f([[1.0, 0.0]], [[np.inf, 0.0]])


def test_empty_input_and_bad_hyperparameters():
    with pytest.raises(ValueError, match="empty"):
        L.mse([], [])
    for delta in (0.0, -1.0):
        with pytest.raises(ValueError, match="delta"):
            L.huber([0.0], [1.0], delta=delta)
        with pytest.raises(ValueError, match="delta"):
            L.huber_grad([0.0], [1.0], delta=delta)
    with pytest.raises(ValueError, match="alpha"):
        L.focal_loss([1.0], [0.5], alpha=1.5)
    with pytest.raises(ValueError, match="gamma"):
        L.focal_loss_grad([1.0], [0.5], gamma=-1.0)
    with pytest.raises(ValueError, match="one-hot"):
        L.categorical_cross_entropy(1.0, 0.5)


# ---------------------------------------------------------------- sparse CE and the L2 penalty
@pytest.mark.parametrize(("n", "c"), [(1, 3), (5, 4), (12, 10)])
def test_sparse_cce_equals_one_hot_cce_and_a_python_loop(n, c):
    rng = np.random.default_rng(n * c)
    labels = rng.integers(0, c, size=n)
    p = _probs(rng, n, c)
    t = np.eye(c)[labels]
    value = L.sparse_categorical_cross_entropy(labels, p)
    assert value == pytest.approx(py_cce(t, p), rel=1e-12)
    assert value == pytest.approx(
        sum(-math.log(p[i, k]) for i, k in enumerate(labels.tolist())) / n, rel=1e-12)
    assert type(value) is float
    np.testing.assert_allclose(L.sparse_categorical_cross_entropy_grad(labels, p),
                               L.categorical_cross_entropy_grad(t, p), rtol=1e-12)


def test_sparse_cce_worked_example_and_gradient_by_finite_differences():
    p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    assert L.sparse_categorical_cross_entropy([2], [p]) == pytest.approx(0.40760596, abs=1e-8)
    rng = np.random.default_rng(3)
    labels = np.array([0, 2, 1, 2])
    q = _probs(rng, 4, 3)
    num = numerical_gradient(lambda y: L.sparse_categorical_cross_entropy(labels, y), q.copy(), h=1e-6)
    assert rel_error(L.sparse_categorical_cross_entropy_grad(labels, q), num) < 1e-6
    # a confident wrong prediction is clipped, not infinite
    assert L.sparse_categorical_cross_entropy([1], [[1.0, 0.0]]) == pytest.approx(-math.log(1e-12))


@pytest.mark.parametrize(("labels", "p", "error", "words"), [
    ([0.5], [[0.5, 0.5]], TypeError, "integer"),
    ([[1, 0]], [[0.5, 0.5]], ValueError, "one-hot"),
    ([2], [[0.5, 0.5]], ValueError, "0..1"),
    ([-1], [[0.5, 0.5]], ValueError, "0..1"),
    ([0, 1], [[0.5, 0.5]], ValueError, "rows"),
    ([0], [0.5, 0.5], ValueError, "(N, C)"),
    ([0], [[2.0, -1.0]], ValueError, "logits"),
    (["a"], [[0.5, 0.5]], TypeError, "integers"),
])
def test_sparse_cce_errors_name_the_problem(labels, p, error, words):
    with pytest.raises(error, match=re.escape(words)):
        L.sparse_categorical_cross_entropy(labels, p)
    with pytest.raises(error, match=re.escape(words)):
        L.sparse_categorical_cross_entropy_grad(labels, p)


def test_sparse_cce_accepts_float_labels_that_are_whole_numbers():
    assert L.sparse_categorical_cross_entropy(np.array([1.0]), [[0.2, 0.8]]) == pytest.approx(-math.log(0.8))


def test_l2_penalty_worked_example_and_python_loop():
    assert L.l2_penalty([[[1, 2], [3, 4]]], lam=0.1) == pytest.approx(1.5, abs=1e-15)
    rng = np.random.default_rng(5)
    Ws = [rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=5)]
    loop = 0.0
    for W in Ws:
        for v in np.ravel(W).tolist():
            loop += v * v
    assert L.l2_penalty(Ws, 0.3) == pytest.approx(0.5 * 0.3 * loop, rel=1e-13)
    assert L.l2_penalty(Ws, 0.0) == 0.0
    assert L.l2_penalty([], 0.5) == 0.0
    assert type(L.l2_penalty(Ws, 0.3)) is float


def test_l2_penalty_grad_by_finite_differences_and_weight_decay():
    rng = np.random.default_rng(6)
    Ws = [rng.normal(size=(3, 4)), rng.normal(size=(4, 2))]
    lam = 0.7
    grads = L.l2_penalty_grad(Ws, lam)
    assert isinstance(grads, list) and len(grads) == 2
    for i, W in enumerate(Ws):
        def f(Wi, i=i):
            return L.l2_penalty([Wi if j == i else Ws[j] for j in range(len(Ws))], lam)
        num = numerical_gradient(f, W.copy(), h=1e-6)
        assert rel_error(grads[i], num) < 1e-7
    # one gradient step on the penalty alone shrinks every weight by the factor (1 − αλ)
    lr = 0.1
    np.testing.assert_allclose(Ws[0] - lr * grads[0], (1 - lr * lam) * Ws[0], rtol=1e-14)
    before = [W.copy() for W in Ws]
    L.l2_penalty_grad(Ws, lam)
    assert all(np.array_equal(a, b) for a, b in zip(Ws, before, strict=True))  # inputs untouched


@pytest.mark.parametrize(("weights", "lam", "error", "words"), [
    (np.ones((2, 2)), 0.1, TypeError, "[W]"),
    ([np.ones(2)], -0.1, ValueError, ">= 0"),
    ([np.ones(2)], "a", TypeError, "lam must be a number"),
    ([np.array([1.0, np.nan])], 0.1, ValueError, "NaN"),
    ([np.array(["a"])], 0.1, TypeError, "weights[0]"),
    (3.0, 0.1, TypeError, "list of weight arrays"),
])
def test_l2_penalty_errors_name_the_problem(weights, lam, error, words):
    with pytest.raises(error, match=re.escape(words)):
        L.l2_penalty(weights, lam)
    with pytest.raises(error, match=re.escape(words)):
        L.l2_penalty_grad(weights, lam)
