"""From the course's network to a framework's (lesson 14; 框架): where the same numbers live.

A dense layer of the course has ``W`` of shape ``(n_in, n_out)`` and ``b`` of shape ``(n_out,)``
(``Z = X @ W + b``). The frameworks store the same layer as:

==================================  ===========================  ============================
framework                           weight                       bias
==================================  ===========================  ============================
Keras ``Dense`` (``get_weights``)   ``kernel`` ``(n_in, n_out)``  ``bias`` ``(n_out,)``
PyTorch ``nn.Linear``               ``weight`` ``(n_out, n_in)``  ``bias`` ``(n_out,)``
==================================  ===========================  ============================

PyTorch computes ``X @ weight.T + bias``: its ``weight`` is the transpose of ours (and is the
articles' column form ``z = W x + b``). NumPy only: nothing here imports a framework.

``digits_784()`` is the lesson's offline stand-in for MNIST's shape: scikit-learn's 8×8 digits
drawn as 28×28 images (784 inputs, as the article's Keras program declares), not MNIST.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array


def _pairs(params):
    out = []
    for k, pair in enumerate(params):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"params[{k}] should be a (W, b) pair")
        W, b = as_float_array(pair[0], f"W{k + 1}"), as_float_array(pair[1], f"b{k + 1}")
        if W.ndim != 2 or b.shape != (W.shape[1],):
            raise ValueError(f"layer {k + 1}: W has shape {W.shape} and b {b.shape}; "
                             "expected (n_in, n_out) and (n_out,)")
        out.append((W, b))
    return out


def torch_params(params):
    """The course's ``[(W, b), ...]`` as ``torch.nn.Linear`` stores them: ``[(W.T, b), ...]``.

    ``W`` ``(n_in, n_out)`` becomes ``weight`` ``(n_out, n_in)`` — a transpose, not a reshape;
    ``b`` ``(n_out,)`` is unchanged. Returns new arrays (a list of pairs).
    """
    return [(W.T.copy(), b.copy()) for W, b in _pairs(params)]


def keras_weights(params):
    """The course's ``[(W, b), ...]`` as Keras's ``model.set_weights`` takes them: ``[W1, b1, W2, b2, ...]``
    (a ``Dense`` layer's ``kernel`` is ``(n_in, n_out)``, as ours), in float32."""
    return [np.asarray(a, dtype=np.float32) for W, b in _pairs(params) for a in (W, b)]


def upscale_8x8(X):
    """8×8 images as 28×28 ones: each pixel becomes a 3×3 block (24×24), with 2 blank pixels around.

    X: array (N, 64), one 8×8 image per row (row-major), values in [0, 1].
    Returns a new array (N, 784), one 28×28 image per row (row-major), values unchanged in [0, 1]:
    pixel (r, c) of the small image fills rows 2 + 3r … 4 + 3r and columns 2 + 3c … 4 + 3c.
    """
    X = as_float_array(X, "X")
    if X.ndim != 2 or X.shape[1] != 64:
        raise ValueError(f"upscale_8x8 needs rows of 64 pixels (8×8 images), got shape {X.shape}")
    big = np.kron(X.reshape(-1, 8, 8), np.ones((1, 3, 3)))        # (N, 24, 24)
    return np.pad(big, ((0, 0), (2, 2), (2, 2))).reshape(len(X), 28 * 28)


def digits_784():
    """The stand-in for MNIST's shape: ``datasets.digits()`` (same split) as 28×28 images.

    Returns ``(X_train, y_train, X_test, y_test)``: ``X`` (1437, 784) and (360, 784), floats in [0, 1]
    (``upscale_8x8``); ``y`` integer labels 0–9. These are scikit-learn's 8×8 digits, coarser and far
    fewer than MNIST's 70,000 images: only their shape is MNIST's. Deterministic, no download.
    """
    from . import datasets

    X_train, y_train, X_test, y_test = datasets.digits()
    return upscale_8x8(X_train), y_train, upscale_8x8(X_test), y_test


NOTE = ('PyTorch and Keras are not installed, so the framework cells of this lesson skip themselves '
        '(each does nothing). Install them with  pip install -e ".[frameworks]"  and run the lesson again; '
        'the exercise needs only NumPy.')


def load_frameworks():
    """``(torch, keras)`` with Keras 3 on the PyTorch backend, or ``(None, None)`` after printing one note.

    Sets ``KERAS_BACKEND=torch`` before importing Keras and gives PyTorch one thread (the lesson's
    matrices are tiny: one thread is faster and gives the same numbers everywhere). Inside the
    grader's kernel it imports nothing (only the exercise is graded).
    """
    import os

    from .checks.record import grading

    if grading():
        print("The grader skips the framework cells (only the exercise is graded).")
        return None, None
    os.environ["KERAS_BACKEND"] = "torch"
    try:
        import keras
        import torch
    except Exception as exc:  # noqa: BLE001  (not installed, or installed but unusable: the same note)
        print(NOTE if isinstance(exc, ImportError) else f"{NOTE} ({type(exc).__name__}: {exc})"[:400])
        return None, None
    if keras.backend.backend() != "torch":
        print(f"{NOTE} (Keras was already imported with the {keras.backend.backend()} backend: restart the kernel)")
        return None, None
    torch.set_num_threads(1)
    return torch, keras
