"""ann_core.gradcheck against known derivatives, and ann_core.datasets."""

from __future__ import annotations

import numpy as np
import pytest

from ann_core import datasets
from ann_core.gradcheck import numerical_gradient, rel_error


# ---------------------------------------------------------------- gradcheck
def test_numerical_gradient_of_a_known_function():
    rng = np.random.default_rng(501)
    x = rng.normal(size=(3, 4))

    def f(v):
        return np.sum(np.sin(v) * v**2)

    analytic = np.cos(x) * x**2 + 2 * x * np.sin(x)
    numeric = numerical_gradient(f, x.copy())
    assert numeric.shape == x.shape
    assert rel_error(numeric, analytic) < 1e-8


def test_numerical_gradient_is_a_central_difference():
    # For f = Σ x³ the central difference is exactly 3x² + h² (the forward one is off by ~3xh).
    x = np.array([-1.5, 0.3, 2.0])
    for h in (1e-2, 1e-3):
        numeric = numerical_gradient(lambda v: np.sum(v**3), x.copy(), h=h)
        np.testing.assert_allclose(numeric, 3 * x**2 + h**2, rtol=1e-9)


def test_numerical_gradient_restores_x_and_reads_through_a_closure():
    W = np.array([[1.0, -2.0], [0.5, 3.0]])
    W0 = W.copy()
    v = np.array([2.0, -1.0])
    numeric = numerical_gradient(lambda _: float(v @ W @ v), W)  # x = W, read through the closure
    np.testing.assert_array_equal(W, W0)
    np.testing.assert_allclose(numeric, np.outer(v, v), rtol=1e-9)


def test_numerical_gradient_rejects_non_float_arrays():
    with pytest.raises(TypeError, match="float ndarray"):
        numerical_gradient(np.sum, np.array([1, 2, 3]))
    with pytest.raises(TypeError, match="float ndarray"):
        numerical_gradient(np.sum, [1.0, 2.0])


def test_rel_error():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert rel_error([1.0], [3.0]) == pytest.approx(0.5)
    assert rel_error([1.0, 1.0], [1.0, -1.0]) == pytest.approx(1.0)  # the largest element counts
    assert rel_error([0.0], [0.0]) == 0.0
    assert rel_error([1e-12], [0.0]) == pytest.approx(1e-4)  # tiny values are not blown up
    assert rel_error(np.zeros((0,)), np.zeros((0,))) == 0.0
    with pytest.raises(ValueError, match="shapes"):
        rel_error(np.ones(2), np.ones(3))


# ---------------------------------------------------------------- synthetic data
def test_xor():
    X, y = datasets.xor()
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [[0], [1], [1], [0]])
    np.testing.assert_array_equal(y[:, 0], np.logical_xor(X[:, 0], X[:, 1]))
    assert X.dtype == y.dtype == np.float64


def test_two_moons_shapes_labels_and_geometry():
    X, y = datasets.two_moons(201, noise=0.0, seed=7)
    assert X.shape == (201, 2) and y.shape == (201,)
    assert set(np.unique(y)) == {0, 1}
    assert np.sum(y == 0) == 100 and np.sum(y == 1) == 101
    # without noise: upper unit half circle, and the lower one centred at (1, 0.5)
    np.testing.assert_allclose(np.linalg.norm(X[y == 0], axis=1), 1.0, rtol=1e-12)
    assert np.all(X[y == 0, 1] >= -1e-12)
    np.testing.assert_allclose(np.linalg.norm(X[y == 1] - [1.0, 0.5], axis=1), 1.0, rtol=1e-12)
    assert np.all(X[y == 1, 1] <= 0.5 + 1e-12)
    assert not np.array_equal(y, np.sort(y))  # shuffled
    with pytest.raises(ValueError, match="n >= 2"):
        datasets.two_moons(1)


def test_two_moons_determinism():
    a, b, c = datasets.two_moons(seed=1), datasets.two_moons(seed=1), datasets.two_moons(seed=2)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    X, y = datasets.two_moons()
    assert X.shape == (200, 2) and np.bincount(y).tolist() == [100, 100]


def test_spirals_shapes_labels_and_geometry():
    X, y = datasets.spirals(n_per_class=50, n_classes=4, seed=3)
    assert X.shape == (200, 2) and y.shape == (200,)
    assert np.bincount(y).tolist() == [50] * 4
    for k in range(4):  # the noise is in the angle only, so the radii are exact
        np.testing.assert_allclose(np.linalg.norm(X[y == k], axis=1), np.linspace(0, 1, 50),
                                   atol=1e-12)
    a, b = datasets.spirals(seed=3), datasets.spirals(seed=3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], datasets.spirals(seed=4)[0])
    assert datasets.spirals()[0].shape == (300, 2)


def test_one_hot():
    np.testing.assert_array_equal(datasets.one_hot([2, 0, 1]), np.eye(3)[[2, 0, 1]])
    out = datasets.one_hot(np.array([1, 1]), n_classes=4)
    np.testing.assert_array_equal(out, [[0, 1, 0, 0], [0, 1, 0, 0]])
    assert out.dtype == np.float64
    with pytest.raises(ValueError, match=r"0\.\.2.*found 0\.\.3"):
        datasets.one_hot([0, 3], n_classes=3)
    with pytest.raises(ValueError, match="labels must lie"):
        datasets.one_hot([-1, 0, 1])
    with pytest.raises(ValueError, match="integer labels"):
        datasets.one_hot([0.0, 1.0])
    with pytest.raises(ValueError, match="1-D"):
        datasets.one_hot([[0, 1]])


# ---------------------------------------------------------------- digits
@pytest.fixture(scope="module")
def digits():
    pytest.importorskip("sklearn")
    return datasets.digits()


def test_digits_split_sizes_and_ranges(digits):
    X_train, y_train, X_test, y_test = digits
    assert X_train.shape == (1437, 64) and y_train.shape == (1437,)
    assert X_test.shape == (360, 64) and y_test.shape == (360,)
    for X in (X_train, X_test):
        assert X.dtype == np.float64
        assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y_train)) == set(range(10)) == set(np.unique(y_test))
    assert y_train.dtype.kind in "iu"


def test_digits_is_a_stratified_partition_of_all_1797_images(digits):
    from sklearn.datasets import load_digits

    X_train, y_train, X_test, y_test = digits
    data = load_digits()
    full = np.bincount(data.target, minlength=10)
    test_counts = np.bincount(y_test, minlength=10)
    np.testing.assert_array_equal(np.bincount(y_train, minlength=10) + test_counts, full)
    assert np.all(np.abs(test_counts - full * 360 / 1797) <= 1)  # stratified
    # the union of the two sets is exactly the data set, pixels scaled by 1/16
    ours = np.vstack([X_train, X_test]) * 16
    ours_rows = sorted(map(tuple, np.column_stack([ours, np.r_[y_train, y_test]]).tolist()))
    ref_rows = sorted(map(tuple, np.column_stack([data.data, data.target]).tolist()))
    assert ours_rows == ref_rows


def test_digits_is_deterministic(digits):
    again = datasets.digits()
    for a, b in zip(digits, again, strict=True):
        np.testing.assert_array_equal(a, b)
