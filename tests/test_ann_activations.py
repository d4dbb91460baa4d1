"""ann_core.activations: values, derivatives against finite differences, and properties."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ann_core import activations as act
from ann_core.gradcheck import rel_error

SETTINGS = settings(max_examples=50, deadline=None, database=None)
H = 1e-6


def central_diff_elementwise(f, z, h=H):
    """Derivative of an elementwise ``f`` at every entry of ``z``, written here independently."""
    z = np.asarray(z, dtype=np.float64)
    return (np.asarray(f(z + h)) - np.asarray(f(z - h))) / (2 * h)


def central_diff_scalar(f, x, h=H):
    """Gradient of a scalar function of the array ``x`` (one coordinate at a time)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        grad[i] = (float(f(xp)) - float(f(xm))) / (2 * h)
    return grad


def away_from_zero(rng, shape, low=0.05, high=4.0):
    """Random values whose magnitude is in [low, high], with random signs (no kink at 0)."""
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


# ---------------------------------------------------------------- values
def test_sigmoid_matches_formula_and_scipy():
    from scipy.special import expit

    z = np.linspace(-30, 30, 241)
    np.testing.assert_allclose(act.sigmoid(z), 1.0 / (1.0 + np.exp(-z)), rtol=1e-13, atol=0)
    np.testing.assert_allclose(act.sigmoid(z), expit(z), rtol=1e-13, atol=1e-300)
    big = np.array([-1000.0, -745.0, -700.0, 700.0, 1000.0])
    np.testing.assert_allclose(act.sigmoid(big), expit(big), rtol=1e-13, atol=1e-300)


def test_tanh_relu_leaky_relu_values():
    z = np.array([-3.0, -1.0, -0.25, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(
        act.tanh(z), [(math.exp(v) - math.exp(-v)) / (math.exp(v) + math.exp(-v)) for v in z],
        rtol=1e-14, atol=1e-15,
    )
    np.testing.assert_array_equal(act.relu(z), [0.0, 0.0, 0.0, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(act.leaky_relu(z), [-0.03, -0.01, -0.0025, 0.0, 0.5, 2.0],
                               rtol=1e-15)
    assert act.LEAKY_SLOPE == 0.01
    np.testing.assert_allclose(act.leaky_relu(z, slope=0.2), [-0.6, -0.2, -0.05, 0.0, 0.5, 2.0])


def test_softmax_values_and_axes():
    np.testing.assert_allclose(
        act.softmax([1.0, 2.0, 3.0]), np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum(), rtol=1e-14
    )
    rng = np.random.default_rng(101)
    Z = rng.normal(size=(2, 3, 5))
    S = act.softmax(Z)
    assert S.shape == Z.shape
    for i in range(2):
        for j in range(3):
            e = np.exp(Z[i, j])
            np.testing.assert_allclose(S[i, j], e / e.sum(), rtol=1e-13)


def test_identity_and_registries():
    z = np.array([[-1.5, 0.0, 2.0]])
    out = act.identity(z)
    np.testing.assert_array_equal(out, z)
    assert out is not z
    np.testing.assert_array_equal(act.identity_grad(z), np.ones_like(z))
    assert set(act.DERIVATIVES) == set(act.ACTIVATIONS) - {"softmax"}
    for name, f in act.ACTIVATIONS.items():
        assert f is getattr(act, name)


def test_scalar_in_scalar_out_and_shapes_preserved():
    for f in (act.sigmoid, act.tanh, act.relu, act.leaky_relu, act.sigmoid_grad, act.tanh_grad,
              act.relu_grad, act.leaky_relu_grad):
        assert np.ndim(f(0.3)) == 0
        assert float(f(0.3)) == pytest.approx(float(f(np.array([0.3]))[0]))
        assert f(np.zeros((2, 3, 4))).shape == (2, 3, 4)


def test_integer_and_bool_input_are_converted():
    np.testing.assert_allclose(act.sigmoid([0, 2]), [0.5, 1 / (1 + math.exp(-2))])
    np.testing.assert_array_equal(act.relu(np.array([-2, 3])), [0.0, 3.0])
    assert act.relu(np.array([-2, 3])).dtype == np.float64


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "leaky_relu", "softmax",
                                  "sigmoid_grad", "tanh_grad", "relu_grad", "leaky_relu_grad"])
def test_string_input_is_a_type_error(name):
    with pytest.raises(TypeError, match="dtype"):
        getattr(act, name)(np.array(["1", "2"]))


def test_softmax_of_a_scalar_is_refused():
    with pytest.raises(ValueError, match="scalar"):
        act.softmax(3.0)


def test_inputs_are_not_modified():
    rng = np.random.default_rng(102)
    z = rng.normal(size=(4, 3))
    z0 = z.copy()
    for f in list(act.ACTIVATIONS.values()) + list(act.DERIVATIVES.values()):
        f(z)
    act.softmax_backward(z, act.softmax(z))
    np.testing.assert_array_equal(z, z0)


# ---------------------------------------------------------------- derivatives
@pytest.mark.parametrize(
    ("f", "df"),
    [
        (act.sigmoid, act.sigmoid_grad),
        (act.tanh, act.tanh_grad),
        (act.relu, act.relu_grad),
        (act.leaky_relu, act.leaky_relu_grad),
        (act.identity, act.identity_grad),
    ],
    ids=["sigmoid", "tanh", "relu", "leaky_relu", "identity"],
)
def test_derivative_matches_central_difference(f, df):
    rng = np.random.default_rng(103)
    z = away_from_zero(rng, (6, 7))
    assert rel_error(df(z), central_diff_elementwise(f, z)) < 1e-7


def test_sigmoid_grad_is_of_z_not_of_the_activation():
    # The articles' x * (1 - x) is only right when x = sigma(z).
    z = np.array([-2.0, 0.0, 1.0, 3.0])
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(act.sigmoid_grad(z), s * (1 - s), rtol=1e-14)
    assert not np.allclose(act.sigmoid_grad(z), z * (1 - z))
    np.testing.assert_allclose(act.tanh_grad(z), 1 - np.tanh(z) ** 2, rtol=1e-14)


def test_kink_conventions_follow_pytorch():
    z = np.array([-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(act.relu_grad(z), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(act.leaky_relu_grad(z), [0.01, 0.01, 1.0])
    np.testing.assert_array_equal(act.leaky_relu_grad(z, slope=0.3), [0.3, 0.3, 1.0])


def test_softmax_backward_matches_finite_differences():
    rng = np.random.default_rng(104)
    Z = rng.normal(0, 2, size=(4, 5))
    G = rng.normal(size=(4, 5))  # upstream dE/dA for E = sum(G * softmax(Z))
    analytic = act.softmax_backward(G, act.softmax(Z))
    numeric = central_diff_scalar(lambda z: np.sum(G * act.softmax(z)), Z)
    assert rel_error(analytic, numeric) < 1e-7


def test_softmax_backward_equals_explicit_jacobian():
    rng = np.random.default_rng(105)
    z = rng.normal(size=6)
    g = rng.normal(size=6)
    s = act.softmax(z)
    jac = np.diag(s) - np.outer(s, s)
    np.testing.assert_allclose(act.softmax_backward(g, s), jac.T @ g, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(act.ACTIVATIONS))
def test_activation_backward_matches_finite_differences(name):
    rng = np.random.default_rng(106)
    Z = away_from_zero(rng, (3, 4))
    G = rng.normal(size=(3, 4))
    f = act.ACTIVATIONS[name]
    analytic = act.activation_backward(G, Z, name)
    numeric = central_diff_scalar(lambda z: np.sum(G * f(z)), Z)
    assert rel_error(analytic, numeric) < 1e-7


def test_activation_backward_errors():
    with pytest.raises(ValueError, match="unknown activation"):
        act.activation_backward(np.ones(3), np.ones(3), "swish")
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        act.activation_backward(np.ones(3), np.ones(4), "tanh")


# ---------------------------------------------------------------- properties
finite_rows = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6),
    elements=st.floats(-50, 50, allow_nan=False),
)


@SETTINGS
@given(z=finite_rows, shift=st.floats(-1e3, 1e3, allow_nan=False))
def test_softmax_rows_sum_to_one_and_are_shift_invariant(z, shift):
    s = act.softmax(z)
    assert s.shape == z.shape
    assert np.all(s >= 0) and np.all(s <= 1)
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    # one constant for the whole array, and a different constant per row
    np.testing.assert_allclose(act.softmax(z + shift), s, rtol=1e-9, atol=1e-12)
    per_row = np.linspace(-shift, shift, int(np.prod(z.shape[:-1]))).reshape(z.shape[:-1] + (1,))
    np.testing.assert_allclose(act.softmax(z + per_row), s, rtol=1e-9, atol=1e-12)


@SETTINGS
@given(z=hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 6)),
                    elements=st.floats(-1e300, 1e300, allow_nan=False)))
def test_softmax_of_huge_scores_stays_finite(z):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = act.softmax(z)
    assert np.all(np.isfinite(s))
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, atol=1e-12)
    # the largest score of each row gets the largest probability
    rows = np.arange(z.shape[0])
    assert np.all(s[rows, z.argmax(axis=-1)] == s.max(axis=-1))


def test_softmax_of_large_scores_equals_shifted_scores():
    np.testing.assert_allclose(act.softmax([1000.0, 1001.0, 1002.0]), act.softmax([0.0, 1.0, 2.0]),
                               rtol=1e-14)
    np.testing.assert_allclose(act.softmax([-1000.0, -1001.0]), act.softmax([0.0, -1.0]),
                               rtol=1e-14)


@SETTINGS
@given(z=hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=8),
                    elements=st.floats(-1e3, 1e3, allow_nan=False)))
def test_sigmoid_is_stable_and_bounded(z):
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        s = np.asarray(act.sigmoid(z))
        ds = np.asarray(act.sigmoid_grad(z))
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(ds))
    assert np.all((s >= 0) & (s <= 1))
    moderate = np.abs(z) <= 30
    assert np.all((s[moderate] > 0) & (s[moderate] < 1))  # strictly inside where float64 can tell
    np.testing.assert_allclose(np.asarray(act.sigmoid(-z)), 1 - s, atol=1e-15)
    assert np.all((ds >= 0) & (ds <= 0.25))


@SETTINGS
@given(z=hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=8),
                    elements=st.floats(-1e3, 1e3, allow_nan=False)))
def test_tanh_relu_ranges(z):
    t = np.asarray(act.tanh(z))
    assert np.all((t >= -1) & (t <= 1))
    np.testing.assert_allclose(np.asarray(act.tanh(-z)), -t)  # zero-centred, odd
    r = np.asarray(act.relu(z))
    assert np.all(r >= 0) and np.all(r == np.maximum(z, 0))
    lr = np.asarray(act.leaky_relu(z))
    np.testing.assert_allclose(lr, np.where(z > 0, z, 0.01 * z))
    assert np.all(np.asarray(act.leaky_relu_grad(z)) > 0)  # never a dead gradient
