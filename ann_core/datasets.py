"""Small data sets that need no network (數據集 / 数据集).

``xor``, ``two_moons`` and ``spirals`` are generated from a seed; ``digits`` is
scikit-learn's bundled 8×8 handwritten digits (1,797 images, shipped inside the
package, never downloaded) with a fixed stratified split.
"""

from __future__ import annotations

import numpy as np

DIGITS_TEST_SIZE = 360  # 20 % of 1,797, stratified by class
DIGITS_SEED = 0


def xor():
    """The four XOR points: ``X`` ``(4, 2)`` and targets ``y`` ``(4, 1)`` in {0, 1}."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    return X, np.array([[0], [1], [1], [0]], dtype=np.float64)


def two_moons(n: int = 200, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles: ``X`` ``(n, 2)``, labels ``y`` ``(n,)`` in {0, 1}."""
    if n < 2:
        raise ValueError(f"two_moons needs n >= 2, got {n}")
    rng = np.random.default_rng(seed)
    n0 = n // 2
    a0 = np.linspace(0, np.pi, n0)
    a1 = np.linspace(0, np.pi, n - n0)
    X = np.vstack([
        np.column_stack([np.cos(a0), np.sin(a0)]),
        np.column_stack([1 - np.cos(a1), 0.5 - np.sin(a1)]),
    ])
    X += rng.normal(0, noise, X.shape)
    y = np.r_[np.zeros(n0, int), np.ones(n - n0, int)]
    idx = rng.permutation(n)
    return X[idx], y[idx]


def spirals(n_per_class: int = 100, n_classes: int = 3, noise: float = 0.2, seed: int = 0):
    """Interleaved spiral arms (CS231n's toy set): ``X`` ``(n_per_class·K, 2)``, ``y`` in 0..K−1."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for k in range(n_classes):
        r = np.linspace(0.0, 1.0, n_per_class)
        theta = np.linspace(k * 4.0, (k + 1) * 4.0, n_per_class) + rng.normal(0, noise, n_per_class)
        X.append(np.column_stack([r * np.sin(theta), r * np.cos(theta)]))
        y.append(np.full(n_per_class, k))
    return np.vstack(X), np.concatenate(y)


def one_hot(y, n_classes: int | None = None):
    """Integer labels ``(N,)`` → one-hot matrix ``(N, n_classes)`` of floats."""
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iub":
        raise ValueError(f"one_hot needs a 1-D array of integer labels, got shape {y.shape}, dtype {y.dtype}")
    k = int(y.max()) + 1 if n_classes is None else n_classes
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"labels must lie in 0..{k - 1}, found {y.min()}..{y.max()}")
    out = np.zeros((y.size, k))
    out[np.arange(y.size), y] = 1.0
    return out


def digits():
    """scikit-learn's 8×8 digits, pixels scaled to [0, 1], split once and for all.

    Returns ``X_train (1437, 64), y_train (1437,), X_test (360, 64), y_test (360,)``;
    labels are integers 0-9. The split is stratified by class with seed 0, so every
    run, lesson and benchmark sees the same test images.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    X = data.data.astype(np.float64) / 16.0
    X_train, X_test, y_train, y_test = train_test_split(
        X, data.target, test_size=DIGITS_TEST_SIZE, stratify=data.target, random_state=DIGITS_SEED
    )
    return X_train, y_train, X_test, y_test
