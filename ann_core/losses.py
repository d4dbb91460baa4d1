"""Loss functions and their gradients (lessons 03a and 03b, 損失函數 / 损失函数).

Every loss takes ``(y_true, y_pred)`` in that order, arrays of the same shape (no
silent broadcasting), and returns a Python float. ``<name>_grad(y_true, y_pred)``
returns ``∂loss/∂y_pred`` of *exactly* that float, so a mean carries its ``1/N``.

==============================  ===========================================  ===============
loss                            formula (``d = y_pred − y_true``)             reduction
==============================  ===========================================  ===============
``mse``                         ``d²``                                       mean, all elems
``half_sse``                    ``½ d²``                                     sum
``mae``                         ``|d|``                                      mean
``huber`` (δ)                   ``½ d²`` if ``|d| < δ`` else ``δ(|d| − ½δ)``  mean
``binary_cross_entropy``        ``−[t log p + (1 − t) log(1 − p)]``          mean
``categorical_cross_entropy``   ``−Σ_c t_c log p_c`` (one-hot ``t``)         sum classes,
                                                                             mean samples
``sparse_categorical_...``      ``−log p_{n, label_n}`` (integer labels)     mean samples
``focal_loss`` (α, γ)           ``−α_t (1 − p_t)^γ log p_t``                 mean
``zero_one_loss``               1 if the predicted class is wrong else 0     mean
==============================  ===========================================  ===============

``l2_penalty(weights, lam)`` is not a loss of a prediction but the regularisation term
(正則化 / 正则化) added to one: ``λ/2 Σ ‖W‖²`` over the given weight arrays (lesson 12).

Cross-entropies take probabilities and clip them to ``[1e-12, 1 − 1e-12]`` so that
``log(0)`` never appears. Focal loss follows Lin et al. (2017) and torchvision:
``α_t = α`` for positives and ``1 − α`` for negatives.

Each differentiable loss is written once, in a private kernel (``_mse``, ``_cce``, …) that
takes checked float64 arrays ``(t, p)`` and returns the loss and its gradient. ``mse`` checks
its input and returns the kernel's loss, ``mse_grad`` its gradient; the training loop
(``training.train_step``) checks its input once and calls the kernel for both.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ._validate import as_float_array, same_shape

EPS = 1e-12


# ------------------------------------------------------------------ checks
def _pair(y_true, y_pred):
    """``(y_true, y_pred)`` as float64 arrays of one shape, not empty."""
    t = as_float_array(y_true, "y_true")
    p = as_float_array(y_pred, "y_pred")
    same_shape(t, p, ("y_true", "y_pred"))
    if t.size == 0:
        raise ValueError("y_true and y_pred are empty; a loss needs at least one element")
    return t, p


def _in_unit_interval(a, loss: str, name: str, what: str, hint: str = "") -> None:
    """Raise ``ValueError`` naming the first bad values unless ``a`` lies in [0, 1]."""
    if not (0.0 <= a.min() and a.max() <= 1.0):  # False for NaN too
        bad = a[(a < 0) | (a > 1) | ~np.isfinite(a)][:3]
        raise ValueError(f"{loss}: {name} must hold {what} in [0, 1], found {bad.tolist()}{hint}")


def _probabilities(y_true, y_pred, loss: str):
    """``_pair`` for the cross-entropies: targets in [0, 1] and probabilities in [0, 1]."""
    t, p = _pair(y_true, y_pred)
    _in_unit_interval(t, loss, "y_true", "labels")
    _in_unit_interval(p, loss, "y_pred", "probabilities",
                      " (did you pass logits? apply sigmoid/softmax first)")
    return t, p


def _one_hot_pair(y_true, y_pred):
    """``_probabilities`` for the categorical cross-entropy, as rows ``(N, C)``."""
    t, p = _probabilities(y_true, y_pred, "categorical_cross_entropy")
    if t.ndim == 0:
        raise ValueError("categorical_cross_entropy needs one-hot rows of shape (C,) or (N, C)")
    if t.ndim == 2:
        return t, p
    return t.reshape(-1, t.shape[-1]), p.reshape(-1, p.shape[-1])


# ------------------------------------------------------------------ kernels: (loss, gradient)
def _mean(a) -> float:
    # np.mean(a) over every element, the same number without np.mean's Python-level overhead
    return float(np.add.reduce(a, axis=None) / a.size)


def _clip(p):
    """``p`` clipped to ``[EPS, 1 − EPS]``, and where the clip changed nothing (None: everywhere).

    Where the clip is active the clipped loss is flat in ``p``, so its gradient is 0 there.
    """
    if EPS <= p.min() and p.max() <= 1 - EPS:  # the usual case: nothing to clip
        return p, None
    return np.clip(p, EPS, 1 - EPS), (p >= EPS) & (p <= 1 - EPS)


def _zero_outside(g, inside):
    return g if inside is None else np.where(inside, g, 0.0)


def _mse(t, p):
    return _mean((p - t) ** 2), 2.0 * (p - t) / p.size


def _half_sse(t, p):
    return float(0.5 * np.sum((p - t) ** 2)), p - t


def _mae(t, p):
    return _mean(np.abs(p - t)), np.sign(p - t) / p.size


def _huber(t, p, delta=1.0):
    d = p - t
    a = np.abs(d)
    loss = _mean(np.where(a < delta, 0.5 * a**2, delta * (a - 0.5 * delta)))
    return loss, np.where(a < delta, d, delta * np.sign(d)) / p.size


def _bce(t, p):
    p, inside = _clip(p)
    loss = _mean(-(t * np.log(p) + (1 - t) * np.log(1 - p)))
    return loss, _zero_outside((p - t) / (p * (1 - p)), inside) / p.size


def _cce(t, p):
    # t, p: (N, C)
    p, inside = _clip(p)
    loss = _mean(-(t * np.log(p)).sum(axis=-1))
    return loss, _zero_outside(-t / p, inside) / t.shape[0]


def _focal(t, p, alpha=0.25, gamma=2.0):
    p, inside = _clip(p)
    ce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    dce = -t / p + (1 - t) / (1 - p)
    p_t = p * t + (1 - p) * (1 - t)
    dp_t = 2 * t - 1
    alpha_t = alpha * t + (1 - alpha) * (1 - t)
    loss = _mean(alpha_t * (1 - p_t) ** gamma * ce)
    g = alpha_t * (-gamma * (1 - p_t) ** (gamma - 1) * dp_t * ce + (1 - p_t) ** gamma * dce)
    return loss, _zero_outside(g, inside) / p.size


# ------------------------------------------------------------------ the losses
def mse(y_true, y_pred) -> float:
    """Mean squared error ``mean((y_pred − y_true)²)`` over every element. ``mse([2], [3]) = 1``."""
    return _mse(*_pair(y_true, y_pred))[0]


def mse_grad(y_true, y_pred):
    """``∂mse/∂y_pred = 2 (y_pred − y_true) / N``, N the number of elements; shape of ``y_pred``."""
    return _mse(*_pair(y_true, y_pred))[1]


def half_sse(y_true, y_pred) -> float:
    """Half the sum of squared errors ``½ Σ (y_pred − y_true)²`` (the articles' ``E``)."""
    return _half_sse(*_pair(y_true, y_pred))[0]


def half_sse_grad(y_true, y_pred):
    """``∂half_sse/∂y_pred = y_pred − y_true`` (the ½ cancels the 2); shape of ``y_pred``."""
    return _half_sse(*_pair(y_true, y_pred))[1]


def mae(y_true, y_pred) -> float:
    """Mean absolute error (L1) ``mean(|y_pred − y_true|)``."""
    return _mae(*_pair(y_true, y_pred))[0]


def mae_grad(y_true, y_pred):
    """``sign(y_pred − y_true) / N`` (0 where they are equal, as in PyTorch)."""
    return _mae(*_pair(y_true, y_pred))[1]


def _huber_delta(delta):
    if not delta > 0:
        raise ValueError(f"huber: delta must be positive, got {delta}")
    return delta


def huber(y_true, y_pred, delta: float = 1.0) -> float:
    """Huber loss, mean over elements: quadratic inside ``|d| < δ``, linear outside.

    Matches ``torch.nn.HuberLoss(delta=δ)``. ``huber([0], [2], delta=1) = 1.5``.
    """
    delta = _huber_delta(delta)
    return _huber(*_pair(y_true, y_pred), delta)[0]


def huber_grad(y_true, y_pred, delta: float = 1.0):
    """``∂huber/∂y_pred``: ``d / N`` inside ``|d| < δ``, ``δ sign(d) / N`` outside."""
    delta = _huber_delta(delta)
    return _huber(*_pair(y_true, y_pred), delta)[1]


def binary_cross_entropy(y_true, y_pred) -> float:
    """Binary cross-entropy, mean over elements; ``y_pred`` are probabilities in [0, 1].

    ``binary_cross_entropy([1], [0.9]) ≈ 0.1054``.
    """
    return _bce(*_probabilities(y_true, y_pred, "binary_cross_entropy"))[0]


def binary_cross_entropy_grad(y_true, y_pred):
    """``(p − t) / (p (1 − p)) / N`` with ``p`` clipped (0 where the clip is active)."""
    return _bce(*_probabilities(y_true, y_pred, "binary_cross_entropy"))[1]


def categorical_cross_entropy(y_true, y_pred) -> float:
    """Categorical cross-entropy ``mean_n(−Σ_c t_nc log p_nc)``.

    Shapes: ``y_true`` one-hot and ``y_pred`` probabilities (softmax outputs), both
    ``(N, C)`` (or ``(C,)`` for one sample). Integer class labels must be one-hot
    encoded first (``ann_core.datasets.one_hot``).
    """
    return _cce(*_one_hot_pair(y_true, y_pred))[0]


def categorical_cross_entropy_grad(y_true, y_pred):
    """``−t / p / N`` with ``N`` the number of samples (rows); shape of ``y_pred``."""
    return _cce(*_one_hot_pair(y_true, y_pred))[1].reshape(np.shape(y_pred))


def _labels_probs(labels, y_pred):
    """Validate integer ``labels`` (N,) against probabilities ``y_pred`` (N, C)."""
    try:
        lab = np.asarray(labels)
    except Exception as exc:
        raise TypeError(f"labels must be array-like of integers, got {type(labels).__name__}: {exc}") from exc
    p = as_float_array(y_pred, "y_pred")
    if p.ndim != 2:
        raise ValueError(
            f"sparse_categorical_cross_entropy: y_pred must be probabilities of shape (N, C), "
            f"got shape {p.shape} (one sample is [[p_1, ..., p_C]])"
        )
    if lab.dtype.kind == "f":
        if not np.all(np.isfinite(lab)) or np.any(lab != np.round(lab)):
            raise TypeError(
                f"sparse_categorical_cross_entropy: labels must be integer class indices, "
                f"got non-integer values {lab[lab != np.round(lab)][:3].tolist()}"
            )
        lab = lab.astype(np.int64)
    elif lab.dtype.kind not in "iu" or lab.dtype.kind == "b":
        raise TypeError(f"sparse_categorical_cross_entropy: labels must be integers, got dtype {lab.dtype}")
    if lab.ndim != 1:
        hint = " (these look one-hot: use categorical_cross_entropy, or labels = y.argmax(axis=1))" \
            if lab.ndim == 2 else ""
        raise ValueError(
            f"sparse_categorical_cross_entropy: labels must have shape (N,), got {lab.shape}{hint}"
        )
    if lab.shape[0] != p.shape[0]:
        raise ValueError(f"labels has {lab.shape[0]} entries but y_pred has {p.shape[0]} rows")
    if lab.size == 0:
        raise ValueError("sparse_categorical_cross_entropy: no samples")
    if np.any((lab < 0) | (lab >= p.shape[1])):
        bad = lab[(lab < 0) | (lab >= p.shape[1])][:3].tolist()
        raise ValueError(
            f"sparse_categorical_cross_entropy: labels must be class indices in 0..{p.shape[1] - 1}, "
            f"found {bad}"
        )
    _in_unit_interval(p, "sparse_categorical_cross_entropy", "y_pred", "probabilities",
                      " (did you pass logits? apply softmax first)")
    return lab, p


def _sparse_cce(lab, p):
    p, inside = _clip(p)
    rows = np.arange(lab.size)
    g = np.zeros_like(p)
    g[rows, lab] = -1.0 / p[rows, lab]
    return _mean(-np.log(p[rows, lab])), _zero_outside(g, inside) / lab.size


def sparse_categorical_cross_entropy(labels, y_pred) -> float:
    """Categorical cross-entropy with integer labels: ``mean_n(−log p[n, labels[n]])``.

    Shapes: ``labels`` integers ``(N,)`` in ``0..C−1``; ``y_pred`` probabilities ``(N, C)``.
    Equal to ``categorical_cross_entropy(one_hot(labels, C), y_pred)`` (Keras's
    ``sparse_categorical_crossentropy``). ``sparse_categorical_cross_entropy([2],
    softmax([[1, 2, 3]])) ≈ 0.4076``.
    """
    return _sparse_cce(*_labels_probs(labels, y_pred))[0]


def sparse_categorical_cross_entropy_grad(labels, y_pred):
    """``∂/∂y_pred``: ``−1 / (p[n, labels[n]] N)`` at each true class, 0 elsewhere; shape ``(N, C)``."""
    return _sparse_cce(*_labels_probs(labels, y_pred))[1]


def _weight_list(weights, lam):
    if isinstance(weights, np.ndarray):
        raise TypeError(
            "l2_penalty: weights must be a list of weight arrays, e.g. [W1, W2]; "
            f"got one array of shape {weights.shape} (wrap it: [W])"
        )
    if not isinstance(weights, (list, tuple)):
        raise TypeError(f"l2_penalty: weights must be a list of weight arrays, got {type(weights).__name__}")
    try:
        lam = float(lam)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"l2_penalty: lam must be a number, got {lam!r}") from exc
    if not lam >= 0:
        raise ValueError(f"l2_penalty: lam (λ) must be >= 0, got {lam}")
    arrays = [as_float_array(W, f"weights[{i}]") for i, W in enumerate(weights)]
    for i, W in enumerate(arrays):
        if not np.all(np.isfinite(W)):
            raise ValueError(f"l2_penalty: weights[{i}] contains NaN or infinity")
    return arrays, lam


def l2_penalty(weights, lam) -> float:
    """L2 regularisation term ``λ/2 Σ_l ‖W_l‖²`` (sum of every squared weight, times λ/2).

    ``weights`` is a list of arrays (the weight matrices ``W`` of each layer, any shapes;
    biases are usually left out); ``lam`` is λ ≥ 0. ``l2_penalty([[[1, 2], [3, 4]]],
    lam=0.1) = 0.05 · 30 = 1.5``.
    """
    arrays, lam = _weight_list(weights, lam)
    return float(0.5 * lam * sum(float(np.sum(W * W)) for W in arrays))


def l2_penalty_grad(weights, lam):
    """``∂/∂W_l`` of ``l2_penalty``: ``λ W_l`` for each array; a list of the same shapes.

    Added to a layer's ``dW`` it turns the update into weight decay:
    ``W ← W − α(dW + λW) = (1 − αλ) W − α dW``.
    """
    arrays, lam = _weight_list(weights, lam)
    return [lam * W for W in arrays]


def _focal_params(alpha, gamma):
    if not 0 <= alpha <= 1:
        raise ValueError(f"focal_loss: alpha must be in [0, 1], got {alpha}")
    if not gamma >= 0:
        raise ValueError(f"focal_loss: gamma must be >= 0, got {gamma}")


def focal_loss(y_true, y_pred, alpha: float = 0.25, gamma: float = 2.0) -> float:
    """Binary focal loss ``−α_t (1 − p_t)^γ log p_t``, mean over elements.

    ``p_t = p`` and ``α_t = α`` where ``t = 1``; ``p_t = 1 − p`` and ``α_t = 1 − α``
    where ``t = 0`` (Lin et al. 2017; torchvision's ``sigmoid_focal_loss`` on
    probabilities). With ``γ = 0`` and ``α = 0.5`` it is half the binary cross-entropy.
    """
    t, p = _probabilities(y_true, y_pred, "focal_loss")
    _focal_params(alpha, gamma)
    return _focal(t, p, alpha, gamma)[0]


def focal_loss_grad(y_true, y_pred, alpha: float = 0.25, gamma: float = 2.0):
    """``∂focal_loss/∂y_pred`` (product rule on ``α_t (1 − p_t)^γ · ce``), shape of ``y_pred``."""
    t, p = _probabilities(y_true, y_pred, "focal_loss")
    _focal_params(alpha, gamma)
    return _focal(t, p, alpha, gamma)[1]


def zero_one_loss(y_true, y_pred) -> float:
    """Fraction of wrong predictions (0-1 loss); not differentiable, so no gradient.

    Accepts class labels ``(N,)``, one-hot targets / class scores ``(N, C)`` (the
    class is the argmax), or binary probabilities ``(N,)`` (thresholded at 0.5). A
    single column ``(N, 1)`` (a sigmoid output) is binary, never an argmax over one class.
    """
    t = as_float_array(y_true, "y_true")
    p = as_float_array(y_pred, "y_pred")
    t = t[:, 0] if t.ndim == 2 and t.shape[1] == 1 else t
    p = p[:, 0] if p.ndim == 2 and p.shape[1] == 1 else p
    t_cls = t.argmax(axis=-1) if t.ndim == 2 else t
    if p.ndim == 2:
        p_cls = p.argmax(axis=-1)
    elif np.all(p == np.round(p)):
        p_cls = p
    else:
        p_cls = (p >= 0.5).astype(np.float64)
    same_shape(np.asarray(t_cls), np.asarray(p_cls), ("true classes", "predicted classes"))
    if t_cls.size == 0:
        raise ValueError("zero_one_loss: no samples")
    return float(np.mean(t_cls != p_cls))


# The (y_true, y_pred)-shaped losses by name (``training`` looks them up). The integer-label
# sparse_categorical_cross_entropy and the l2_penalty regulariser take other arguments.
LOSSES = {
    "mse": mse,
    "half_sse": half_sse,
    "mae": mae,
    "huber": huber,
    "binary_cross_entropy": binary_cross_entropy,
    "categorical_cross_entropy": categorical_cross_entropy,
    "focal_loss": focal_loss,
    "zero_one_loss": zero_one_loss,
}

GRADIENTS = {
    "mse": mse_grad,
    "half_sse": half_sse_grad,
    "mae": mae_grad,
    "huber": huber_grad,
    "binary_cross_entropy": binary_cross_entropy_grad,
    "categorical_cross_entropy": categorical_cross_entropy_grad,
    "focal_loss": focal_loss_grad,
}

# The training loop's view of the same losses: each name's checks of ``(y_true, y_pred)`` and
# its kernel. ``training.train_step`` checks once and calls the kernel for the loss and its
# gradient: the numbers of ``LOSSES[name]`` and ``GRADIENTS[name]``, bit for bit.
_TRAINING = {
    "mse": (_pair, _mse),
    "half_sse": (_pair, _half_sse),
    "mae": (_pair, _mae),
    "huber": (_pair, _huber),
    "binary_cross_entropy": (partial(_probabilities, loss="binary_cross_entropy"), _bce),
    "categorical_cross_entropy": (_one_hot_pair, _cce),
    "focal_loss": (partial(_probabilities, loss="focal_loss"), _focal),
}
