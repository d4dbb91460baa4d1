"""The trainers bench_mlp.py times: lesson 11's MLP, one function per library.

The model is the articles' Keras classifier, Dense(64, relu) → Dense(10, softmax), trained
with Adam, mini-batches and the categorical cross-entropy on ``ann_core.datasets.digits()``.
Every trainer has the signature ``train(data, epochs, lr, batch_size, seed)`` and returns
``(clock, test_accuracy)``; the clock covers the training loop only (not imports, data
loading or the evaluation). ``prepare(variant, threads)`` imports a variant's library and
sets its thread count once per worker process.

``fused`` and both ``ann_core`` trainers start from the same weights and see the same
batches, so their accuracies agree: same model, only the code around it differs.
"""

from __future__ import annotations

import os
import time
from typing import NamedTuple

import numpy as np

SIZES = (64, 64, 10)  # inputs, hidden units, classes


class Data(NamedTuple):
    X: np.ndarray  # (1437, 64) training images
    y: np.ndarray  # (1437,) their labels
    Y: np.ndarray  # (1437, 10) the labels one-hot
    X_test: np.ndarray  # (360, 64)
    y_test: np.ndarray  # (360,)


def load_data() -> Data:
    from ann_core.datasets import digits, one_hot

    X, y, X_test, y_test = digits()
    return Data(X, y, one_hot(y, SIZES[2]), X_test, y_test)


class Clock:
    """Wall-clock and process CPU seconds of a ``with`` block."""

    def __enter__(self):
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def train_fused(data, epochs, lr, batch_size, seed):
    """The same model and optimizer as one function, every step inlined: NumPy's floor."""
    rng = np.random.default_rng(seed)  # the same initial weights as Sequential.from_sizes
    n_in, n_hidden, n_out = SIZES
    W1 = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_hidden))  # He (ReLU layer)
    limit = np.sqrt(6.0 / (n_hidden + n_out))
    W2 = rng.uniform(-limit, limit, size=(n_hidden, n_out))  # Glorot (softmax layer)
    b1, b2 = np.zeros(n_hidden), np.zeros(n_out)
    params = [W1, b1, W2, b2]
    ms = [np.zeros_like(p) for p in params]
    vs = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    shuffle = np.random.default_rng(seed)  # the same batches as iterate_minibatches
    X, Y, n, t = data.X, data.Y, len(data.X), 0
    with Clock() as clock:
        for _ in range(epochs):
            epoch_loss = 0.0  # computed as every other trainer computes it, though unused
            idx = shuffle.permutation(n)
            for s in range(0, n, batch_size):
                j = idx[s:s + batch_size]
                xb, yb = X[j], Y[j]
                z1 = xb @ W1
                z1 += b1
                a1 = np.maximum(z1, 0.0)
                z2 = a1 @ W2
                z2 += b2
                z2 -= z2.max(axis=1, keepdims=True)
                p = np.exp(z2)
                p /= p.sum(axis=1, keepdims=True)
                epoch_loss += -np.sum(yb * np.log(np.maximum(p, 1e-12))) / len(j)
                dz2 = p - yb  # softmax + cross-entropy: (p − y) / B at the logits
                dz2 /= len(j)
                da1 = dz2 @ W2.T
                da1 *= z1 > 0
                grads = (xb.T @ da1, da1.sum(axis=0), a1.T @ dz2, dz2.sum(axis=0))
                t += 1
                c1, c2 = 1.0 - beta1**t, 1.0 - beta2**t
                for w, g, m, v in zip(params, grads, ms, vs, strict=True):
                    m *= beta1
                    m += (1.0 - beta1) * g
                    v *= beta2
                    v += (1.0 - beta2) * (g * g)
                    w -= (lr / c1) * m / (np.sqrt(v / c2) + eps)
    pred = (np.maximum(data.X_test @ W1 + b1, 0.0) @ W2 + b2).argmax(axis=1)
    return clock, float(np.mean(pred == data.y_test))


def train_ann_core(data, epochs, lr, batch_size, seed):
    """The course's package: Sequential + Adam, iterate_minibatches + train_step."""
    from ann_core.network import Sequential
    from ann_core.optimizers import Adam
    from ann_core.training import accuracy, iterate_minibatches, train_step

    net = Sequential.from_sizes(list(SIZES), ["relu", "softmax"], seed=seed)
    opt = Adam(lr)
    rng = np.random.default_rng(seed)
    with Clock() as clock:
        for _ in range(epochs):
            for xb, yb in iterate_minibatches(data.X, data.Y, batch_size, rng):
                train_step(net, xb, yb, "categorical_cross_entropy", opt)
    return clock, accuracy(net, data.X_test, data.y_test)


def train_ann_core_fit(data, epochs, lr, batch_size, seed):
    """The same through training.fit, which also records the loss and the training accuracy
    after every epoch (the history a learner plots): the bookkeeping's cost."""
    from ann_core.network import Sequential
    from ann_core.optimizers import Adam
    from ann_core.training import accuracy, fit

    net = Sequential.from_sizes(list(SIZES), ["relu", "softmax"], seed=seed)
    with Clock() as clock:
        fit(net, data.X, data.Y, "categorical_cross_entropy", Adam(lr), epochs, batch_size, seed=seed)
    return clock, accuracy(net, data.X_test, data.y_test)


def train_sklearn(data, epochs, lr, batch_size, seed):
    """MLPClassifier forced to run every epoch (tol=0, no early stopping, no L2 penalty)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(SIZES[1],), activation="relu", solver="adam",
                        alpha=0.0, batch_size=batch_size, learning_rate_init=lr,
                        max_iter=epochs, tol=0.0, n_iter_no_change=10**9, shuffle=True,
                        early_stopping=False, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # "max_iter reached": intended
        with Clock() as clock:
            clf.fit(data.X, data.y)
    if clf.n_iter_ != epochs:
        raise RuntimeError(f"MLPClassifier stopped after {clf.n_iter_} of {epochs} epochs")
    return clock, float(np.mean(clf.predict(data.X_test) == data.y_test))


def train_torch(data, epochs, lr, batch_size, seed):
    """torch.nn: Linear → ReLU → Linear, CrossEntropyLoss on the logits (= softmax + CCE)."""
    import torch

    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.ReLU(),
                                torch.nn.Linear(SIZES[1], SIZES[2]))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xs, ys = torch.from_numpy(data.X).float(), torch.from_numpy(data.y).long()
    gen = torch.Generator().manual_seed(seed)
    n = len(Xs)
    with Clock() as clock:
        for _ in range(epochs):
            perm = torch.randperm(n, generator=gen)
            for s in range(0, n, batch_size):
                j = perm[s:s + batch_size]
                opt.zero_grad()
                loss_fn(model(Xs[j]), ys[j]).backward()
                opt.step()
    with torch.no_grad():
        pred = model(torch.from_numpy(data.X_test).float()).argmax(dim=1).numpy()
    return clock, float(np.mean(pred == data.y_test))


# variant → (trainer, the module it needs); "torch1" is PyTorch on one thread
TRAINERS = {
    "fused": (train_fused, "numpy"),
    "ann_core": (train_ann_core, "numpy"),
    "ann_core_fit": (train_ann_core_fit, "numpy"),
    "sklearn": (train_sklearn, "sklearn"),
    "torch": (train_torch, "torch"),
    "torch1": (train_torch, "torch"),
}


def torch_threads(variant: str, threads: int | None) -> int:
    """PyTorch's thread count: one for torch1, else ``threads`` (``--threads``) or every core."""
    return 1 if variant == "torch1" else threads or os.cpu_count() or 1


def prepare(variant: str, threads: int | None) -> str:
    """Import the variant's library (and set PyTorch's threads); return its version line."""
    if variant.startswith("torch"):
        import torch

        torch.set_num_threads(torch_threads(variant, threads))
        return f"torch {torch.__version__}, float32"
    if variant == "sklearn":
        import sklearn

        return f"scikit-learn {sklearn.__version__}, float64"
    return f"NumPy {np.__version__}, float64"
