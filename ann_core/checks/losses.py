"""Checks for lessons 03a and 03b: loss functions and their gradients (``ann_core.losses``).

Cases only use inputs the reference accepts: regression targets are any floats,
binary labels are exactly 0 or 1, categorical targets are one-hot rows and every
``y_pred`` of a cross-entropy is a probability in [0, 1]. The loss specs include
probabilities of exactly 0 and 1 (public and hidden), where an unclipped ``log``
gives ``inf``/``nan``; the gradient specs keep ``0 < p < 1`` (their docstrings in
the lesson say so), so learners need not reproduce the "0 where the clip is active"
convention of ``ann_core``. Learners are never asked to reject bad input.
"""

from __future__ import annotations

import numpy as np

from .. import activations as act
from .. import losses as ref
from .spec import Case, Mistake, Spec, register

EPS = ref.EPS

# Cross-entropies: a learner may clip 1 − p instead of p (or use log1p); at p = 1 − ε
# the float 1 − (1 − 1e-12) is 1.00009e-12, a relative change of 3e-6 in −log. rtol 1e-5
# accepts those equivalent formulations and still separates every mistake below.
CE_RTOL = 1e-5


def _f(x):
    return np.asarray(x, dtype=float)


# ---------------------------------------------------------------- regression cases
def _regression_cases(rng, hidden):
    """Pairs (y_true, y_pred) of equal shape; none has exactly 2 elements (see half_sse)."""
    shapes = [(5,), (3, 4), (6, 1)] + ([(2, 3, 4), (40, 3), (1,)] if hidden else [])
    out = []
    for s in shapes:
        t = rng.normal(0.0, 2.0, size=s)
        out.append(Case((t, t + rng.normal(0.0, 1.5, size=s)), label=f"shape {s}"))
    if hidden:  # one outlier among small errors
        t = rng.normal(size=8)
        p = t + rng.normal(0.0, 0.1, size=8)
        p[3] += 25.0
        out.append(Case((t, p), label="an outlier"))
    return out


def _mean_over_rows(values):
    """Sum, then divide by the number of rows (samples) instead of the number of elements."""
    v = np.asarray(values)
    return float(np.sum(v) / (v.shape[0] if v.ndim else 1))


def _mse_sum(t, p): return float(np.sum((_f(p) - t) ** 2))
def _mse_per_row(t, p): return _mean_over_rows((_f(p) - t) ** 2)
def _mse_half_sse(t, p): return float(0.5 * np.sum((_f(p) - t) ** 2))
def _mse_rmse(t, p): return float(np.sqrt(np.mean((_f(p) - t) ** 2)))
def _mse_mae(t, p): return float(np.mean(np.abs(_f(p) - t)))
def _mse_not_squared(t, p): return float(np.mean(_f(p) - t))


register(Spec(
    "mse", ref.mse, _regression_cases,
    lesson="03a_regression_losses", kernels=("ann_core.losses._mse",),
    mistakes=[
        Mistake("you summed the squared errors; MSE takes their mean (divide by the number of "
                "elements, e.g. np.mean).", _mse_sum),
        Mistake("you divided by the number of rows (samples) only; MSE averages over every "
                "element, N = y.size, as PyTorch's MSELoss does.", _mse_per_row),
        Mistake("this is half_sse, ½ Σ (y_pred − y_true)²; MSE is the mean of the squares, "
                "with no ½.", _mse_half_sse),
        Mistake("you took the square root (that is RMSE); MSE is the mean of the squared errors.", _mse_rmse),
        Mistake("this is the mean absolute error; MSE squares each error: (y_pred − y_true)².", _mse_mae),
        Mistake("the errors are not squared: mean(y_pred − y_true) lets positive and negative "
                "errors cancel; square each one first.", _mse_not_squared),
    ],
))


def _hsse_no_half(t, p): return float(np.sum((_f(p) - t) ** 2))
def _hsse_mean(t, p): return float(np.mean((_f(p) - t) ** 2))
def _hsse_half_mean(t, p): return float(0.5 * np.mean((_f(p) - t) ** 2))
def _hsse_square_of_sum(t, p): return float(0.5 * np.sum(_f(p) - t) ** 2)


register(Spec(
    "half_sse", ref.half_sse, _regression_cases,
    lesson="03a_regression_losses", kernels=("ann_core.losses._half_sse",),
    mistakes=[
        Mistake("the ½ is missing: E = ½ Σ (y_k − t_k)².", _hsse_no_half),
        Mistake("you averaged (that is MSE); half_sse sums every squared error and halves the "
                "sum. (For 2 elements ½·sum and mean coincide — that is why the worked example "
                "passed.)", _hsse_mean),
        Mistake("you averaged (over the elements or over the samples) and halved; half_sse is "
                "½ times the plain SUM of every squared error, samples included.", _hsse_half_mean),
        Mistake("you squared the sum of the errors; square each error first, then sum: "
                "½ Σ (y_pred − y_true)², not ½ (Σ (y_pred − y_true))².", _hsse_square_of_sum),
    ],
))


def _mae_sum(t, p): return float(np.sum(np.abs(_f(p) - t)))
def _mae_no_abs(t, p): return float(np.mean(_f(p) - t))
def _mae_per_row(t, p): return _mean_over_rows(np.abs(_f(p) - t))
def _mae_mse(t, p): return float(np.mean((_f(p) - t) ** 2))


register(Spec(
    "mae", ref.mae, _regression_cases,
    lesson="03a_regression_losses", kernels=("ann_core.losses._mae",),
    mistakes=[
        Mistake("you summed the absolute errors; MAE takes their mean (np.mean).", _mae_sum),
        Mistake("the absolute value is missing: mean(|y_pred − y_true|), otherwise positive "
                "and negative errors cancel.", _mae_no_abs),
        Mistake("you divided by the number of rows (samples) only; MAE averages over every "
                "element (N = y.size).", _mae_per_row),
        Mistake("this is MSE; MAE (L1) uses |y_pred − y_true|, not the square.", _mae_mse),
    ],
))


# ---------------------------------------------------------------- Huber
def _huber_cases(rng, hidden):
    out = []
    for s, kw in [((6,), {}), ((3, 4), {"delta": 1.0}), ((5,), {"delta": 2.0})]:
        t = rng.normal(0.0, 2.0, size=s)
        out.append(Case((t, t + rng.normal(0.0, 2.0, size=s)), kw, label=f"shape {s}"))
    out.append(Case((np.zeros(6), np.array([-3.0, -1.5, -0.4, 0.2, 0.9, 4.0])), {"delta": 1.0},
                    label="errors both sides of δ"))
    if hidden:
        for s, d in [((4, 5), 0.3), ((2, 3, 4), 2.5), ((50,), 1.0)]:
            t = rng.normal(0.0, 2.0, size=s)
            out.append(Case((t, t + rng.normal(0.0, 2.5, size=s)), {"delta": d}, label=f"δ={d}"))
        out.append(Case((np.zeros(5), np.array([-40.0, -0.5, 0.0, 1.0, 30.0])), {"delta": 0.5},
                        label="outliers"))
    return out


def _huber_terms(t, p, delta, quad_half=True, lin_half=True):
    a = np.abs(_f(p) - t)
    quad = (0.5 if quad_half else 1.0) * a**2
    lin = delta * (a - 0.5 * delta) if lin_half else delta * a
    return np.where(a < delta, quad, lin)


def _huber_linear_no_offset(t, p, delta=1.0): return float(np.mean(_huber_terms(t, p, delta, lin_half=False)))
def _huber_fixed_delta(t, p, delta=1.0): return ref.huber(t, p, delta=1.0)
def _huber_smooth_l1(t, p, delta=1.0): return ref.huber(t, p, delta=delta) / delta
def _huber_sum(t, p, delta=1.0): return float(np.sum(_huber_terms(t, p, delta)))
def _huber_no_half(t, p, delta=1.0): return float(np.mean(_huber_terms(t, p, delta, quad_half=False)))


register(Spec(
    "huber", ref.huber, _huber_cases,
    lesson="03a_regression_losses", kernels=("ann_core.losses._huber",),
    mistakes=[
        Mistake("the linear part is δ(|d| − ½δ), not δ|d|: without the −½δ the two pieces do "
                "not meet at |d| = δ.", _huber_linear_no_offset),
        Mistake("δ is ignored: use the `delta` argument (not a hard-coded 1) both in the "
                "test |d| < δ and in the linear part δ(|d| − ½δ).", _huber_fixed_delta),
        Mistake("this is PyTorch's SmoothL1Loss (Huber divided by δ: ½d²/δ inside, |d| − ½δ "
                "outside); the course's Huber is ½d² inside and δ(|d| − ½δ) outside.", _huber_smooth_l1),
        Mistake("you summed over the elements; Huber takes the mean (like torch.nn.HuberLoss).", _huber_sum),
        Mistake("the quadratic part is ½d², with the ½.", _huber_no_half),
    ],
))


# ---------------------------------------------------------------- binary cross-entropy
def _binary_cases(rng, hidden):
    out = []
    for s in [(6,), (4, 3)] + ([(2, 3, 4), (60,), (1,)] if hidden else []):
        t = rng.integers(0, 2, size=s).astype(float)
        if t.size > 1:  # both labels present
            t.flat[0], t.flat[1] = 1.0, 0.0
        p = rng.uniform(0.02, 0.98, size=s)
        out.append(Case((t, p), label=f"shape {s}"))
    # probabilities of exactly 0 and 1: confident right, confident wrong
    t = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    p = np.array([1.0, 0.0, 0.0, 1.0, 0.7, 0.2])
    out.append(Case((t, p), label="p exactly 0 and 1"))
    if hidden:
        t = rng.integers(0, 2, size=(5, 4)).astype(float)
        t[0, :2] = [1.0, 0.0]
        p = rng.uniform(0.0, 1.0, size=(5, 4))
        p[1:3] = np.round(p[1:3])  # whole rows of exact 0s and 1s
        out.append(Case((t, p), label="exact 0/1 probabilities (5, 4)"))
    return out


def _bce_terms(t, p, eps=EPS, log=np.log):
    p = np.clip(_f(p), eps, 1 - eps)
    return -(t * log(p) + (1 - _f(t)) * log(1 - p))


def _bce_no_brackets(t, p):
    p, t = np.clip(_f(p), EPS, 1 - EPS), _f(t)
    return float(np.mean(-t * np.log(p) + (1 - t) * np.log(1 - p)))


def _bce_unclipped(t, p):
    p, t = _f(p), _f(t)
    return float(np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p))))


def _bce_no_negatives(t, p): return float(np.mean(-_f(t) * np.log(np.clip(_f(p), EPS, 1 - EPS))))
def _bce_keras_eps(t, p): return float(np.mean(_bce_terms(t, p, eps=1e-7)))
def _bce_log10(t, p): return float(np.mean(_bce_terms(t, p, log=np.log10)))
def _bce_sum(t, p): return float(np.sum(_bce_terms(t, p)))
def _bce_per_row(t, p): return _mean_over_rows(_bce_terms(t, p))
def _bce_sign(t, p): return -float(np.mean(_bce_terms(t, p)))


register(Spec(
    "binary_cross_entropy", ref.binary_cross_entropy, _binary_cases, rtol=CE_RTOL,
    lesson="03b_classification_losses", kernels=("ann_core.losses._bce",),
    mistakes=[
        Mistake("the (1 − y) log(1 − p) term is missing, so samples with label 0 cost nothing: "
                "L = −[y log p + (1 − y) log(1 − p)].", _bce_no_negatives),
        Mistake("no clipping: at p = 0 or 1, log(0) = −inf and 0·(−inf) = nan. Clip first: "
                "p = np.clip(p, 1e-12, 1 - 1e-12).", _bce_unclipped),
        Mistake("clip to [1e-12, 1 − 1e-12] exactly (the course's ε); you seem to use 1e-7 "
                "(Keras's default), which caps the loss of a confident mistake at 16.1 instead "
                "of 27.6.", _bce_keras_eps),
        Mistake("log base 10: cross-entropy uses the natural log, np.log (−ln 0.9 ≈ 0.1054).", _bce_log10),
        Mistake("you summed over the elements; binary cross-entropy takes the mean.", _bce_sum),
        Mistake("you divided by the number of rows only; average over every element "
                "(N = y.size), as PyTorch's BCELoss does.", _bce_per_row),
        Mistake("the sign: log p ≤ 0, so the loss needs the leading minus, "
                "−[y log p + (1 − y) log(1 − p)], to be ≥ 0.", _bce_sign),
        Mistake("the brackets are missing (as in one article's formula): the minus must cover "
                "both terms, −[y log p + (1 − y) log(1 − p)]; −y log p + (1 − y) log(1 − p) "
                "is negative for y = 0 (−2.30 at p = 0.9).", _bce_no_brackets),
    ],
))


# ---------------------------------------------------------------- categorical cross-entropy
def _one_hot_cases(rng, hidden, edge=True):
    shapes = [(4, 3), (6, 5), (1, 4)] + ([(30, 10), (7, 2)] if hidden else [])
    out = []
    for n, c in shapes:
        t = np.eye(c)[rng.integers(0, c, size=n)]
        p = act.softmax(rng.normal(0.0, 2.0, size=(n, c)))
        out.append(Case((t, p), label=f"N={n}, C={c}"))
    if edge:
        t = np.eye(3)[[0, 1, 2, 1]]
        p = np.array([[1.0, 0.0, 0.0],  # certain and right
                      [1.0, 0.0, 0.0],  # certain and wrong
                      [0.2, 0.3, 0.5],
                      [0.0, 0.6, 0.4]])
        out.append(Case((t, p), label="probabilities of exactly 0 and 1"))
        if hidden:
            c = 6
            t = np.eye(c)[rng.integers(0, c, size=8)]
            p = np.eye(c)[rng.integers(0, c, size=8)]  # hard (one-hot) predictions
            out.append(Case((t, p), label="one-hot predictions"))
    return out


def _cce_rows(t, p, eps=EPS, log=np.log):
    return -np.sum(_f(t) * log(np.clip(_f(p), eps, 1 - eps)), axis=-1)


def _cce_mean_over_classes(t, p): return float(np.mean(-_f(t) * np.log(np.clip(_f(p), EPS, 1 - EPS))))
def _cce_sum(t, p): return float(np.sum(_cce_rows(t, p)))
def _cce_unclipped(t, p): return float(np.mean(-np.sum(_f(t) * np.log(_f(p)), axis=-1)))
def _cce_log10(t, p): return float(np.mean(_cce_rows(t, p, log=np.log10)))
def _cce_sign(t, p): return -float(np.mean(_cce_rows(t, p)))
def _cce_binary_terms(t, p): return float(np.mean(np.sum(_bce_terms(t, p), axis=-1)))


register(Spec(
    "categorical_cross_entropy", ref.categorical_cross_entropy, _one_hot_cases, rtol=CE_RTOL,
    lesson="03b_classification_losses", kernels=("ann_core.losses._cce",),
    mistakes=[
        Mistake("you also averaged over the classes (np.mean of the whole array); sum over the "
                "classes of each row, then average over the samples: mean_n(−Σ_c t log p).", _cce_mean_over_classes),
        Mistake("you summed over the samples too; categorical cross-entropy averages the "
                "per-sample losses over the N samples.", _cce_sum),
        Mistake("no clipping: log(0) = −inf and 0·log(0) = nan for classes with p = 0. Clip "
                "first: np.clip(p, 1e-12, 1 - 1e-12).", _cce_unclipped),
        Mistake("log base 10: cross-entropy uses the natural log, np.log.", _cce_log10),
        Mistake("the sign: −Σ t log p is ≥ 0; you dropped the minus.", _cce_sign),
        Mistake("the (1 − t) log(1 − p) terms belong to binary cross-entropy; categorical "
                "cross-entropy is only −Σ_c t_c log p_c (softmax already ties the classes "
                "together).", _cce_binary_terms),
    ],
))


# ---------------------------------------------------------------- focal loss
def _focal_cases(rng, hidden):
    out = []
    params = [{}, {"alpha": 0.25, "gamma": 2.0}, {"alpha": 0.75, "gamma": 1.0}]
    if hidden:
        params += [{"alpha": 0.1, "gamma": 5.0}, {"alpha": 0.9, "gamma": 0.5}, {"alpha": 0.4}]
    for i, kw in enumerate(params):
        s = [(8,), (3, 4), (10,), (2, 3, 4), (50,), (6, 2)][i]
        t = (rng.uniform(size=s) < 0.3).astype(float)  # few positives
        t.flat[0], t.flat[1] = 1.0, 0.0
        out.append(Case((t, rng.uniform(0.02, 0.98, size=s)), kw, label=f"shape {s}"))
    t = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0])
    p = np.array([1.0, 0.0, 0.0, 1.0, 0.9, 0.1, 0.6])
    out.append(Case((t, p), label="easy, hard and exact 0/1 examples"))
    if hidden:
        out.append(Case((t, p), {"alpha": 0.6, "gamma": 3.0}, label="exact 0/1, α=0.6, γ=3"))
    return out


def _focal_terms(t, p, alpha, gamma, swap=False, factor="1-pt", clip=True, no_alpha=False):
    t, p = _f(t), _f(p)
    if clip:
        p = np.clip(p, EPS, 1 - EPS)
    p_t = np.where(t == 1, p, 1 - p)
    ce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    a = 1 - alpha if swap else alpha
    alpha_t = 1.0 if no_alpha else np.where(t == 1, a, 1 - a)
    mod = {"1-pt": (1 - p_t) ** gamma, "pt": p_t**gamma, "none": 1.0}[factor]
    return alpha_t * mod * ce


def _focal_alpha_swapped(t, p, alpha=0.25, gamma=2.0):
    return float(np.mean(_focal_terms(t, p, alpha, gamma, swap=True)))

def _focal_no_factor(t, p, alpha=0.25, gamma=2.0):
    return float(np.mean(_focal_terms(t, p, alpha, gamma, factor="none")))

def _focal_factor_pt(t, p, alpha=0.25, gamma=2.0): return float(np.mean(_focal_terms(t, p, alpha, gamma, factor="pt")))
def _focal_no_alpha(t, p, alpha=0.25, gamma=2.0): return float(np.mean(_focal_terms(t, p, alpha, gamma, no_alpha=True)))
def _focal_unclipped(t, p, alpha=0.25, gamma=2.0): return float(np.mean(_focal_terms(t, p, alpha, gamma, clip=False)))
def _focal_sum(t, p, alpha=0.25, gamma=2.0): return float(np.sum(_focal_terms(t, p, alpha, gamma)))


register(Spec(
    "focal_loss", ref.focal_loss, _focal_cases, rtol=CE_RTOL,
    lesson="03b_classification_losses", kernels=("ann_core.losses._focal",),
    mistakes=[
        Mistake("α and 1 − α are swapped (the articles' snippet has this bug): α_t = α for the "
                "positives (y = 1) and 1 − α for the negatives (Lin et al. 2017).", _focal_alpha_swapped),
        Mistake("the modulating factor (1 − p_t)^γ is missing, so easy examples are not "
                "down-weighted: FL = −α_t (1 − p_t)^γ log p_t.", _focal_no_factor),
        Mistake("the factor is (1 − p_t)^γ, not p_t^γ: it must shrink as the prediction gets "
                "more confident and right.", _focal_factor_pt),
        Mistake("α_t is missing: weight the positives by α and the negatives by 1 − α.", _focal_no_alpha),
        Mistake("no clipping: at p = 0 or 1, log(0) = −inf and 0·(−inf) = nan. Clip p to "
                "[1e-12, 1 − 1e-12] first.", _focal_unclipped),
        Mistake("you summed over the elements; the course's focal loss takes the mean.", _focal_sum),
    ],
))


# ---------------------------------------------------------------- 0-1 loss
def _zero_one_cases(rng, hidden):
    shapes = [(6, 3), (10, 4), (5, 2)] + ([(40, 10), (1, 3), (25, 25)] if hidden else [])
    out = []
    for n, c in shapes:
        t = np.eye(c)[rng.integers(0, c, size=n)]
        p = act.softmax(rng.normal(0.0, 1.5, size=(n, c)))
        if n > 1:  # at least one right and one wrong prediction
            p[0] = 0.5 * t[0] + 0.5 / c
            p[1] = 0.5 * np.roll(t[1], 1) + 0.5 / c
        out.append(Case((t, p), label=f"N={n}, C={c}"))
    return out


def _one_hot_entries(t, p):
    predicted = np.eye(_f(p).shape[-1])[np.argmax(_f(p), axis=-1)]
    return float(np.mean(_f(t) != predicted))


def _classes(t, p, axis=-1):
    return np.argmax(_f(t), axis=axis), np.argmax(_f(p), axis=axis)


def _zo_accuracy(t, p): return float(np.mean(np.equal(*_classes(t, p))))
def _zo_count(t, p): return float(np.sum(np.not_equal(*_classes(t, p))))
def _zo_axis0(t, p): return float(np.mean(np.not_equal(*_classes(t, p, 0))))


register(Spec(
    "zero_one_loss", ref.zero_one_loss, _zero_one_cases,
    lesson="03b_classification_losses",
    mistakes=[
        Mistake("this is the accuracy (fraction right); the 0-1 loss is the fraction WRONG, "
                "1 − accuracy.", _zo_accuracy),
        Mistake("you counted the mistakes; the 0-1 loss is their fraction (divide by N).", _zo_count),
        Mistake("argmax along the wrong axis: each row is one sample, so take the class with "
                "axis=-1 (or axis=1).", _zo_axis0),
        Mistake("you compared one-hot rows entry by entry and averaged over all N·C entries; "
                "compare the predicted class (argmax) with the true class, one number per sample.", _one_hot_entries),
    ],
))


# ---------------------------------------------------------------- gradients
def _grad_regression_cases(rng, hidden):
    """As for the losses (no case with exactly 2 elements, where 2(p − t)/N = p − t)."""
    return _regression_cases(rng, hidden)


def _mse_grad_no_n(t, p): return 2.0 * (_f(p) - t)
def _mse_grad_no_2(t, p): return (_f(p) - t) / _f(p).size
def _mse_grad_sign(t, p): return 2.0 * (_f(t) - p) / _f(p).size
def _mse_grad_per_row(t, p): return 2.0 * (_f(p) - t) / (_f(p).shape[0] if _f(p).ndim else 1)
def _mse_grad_half_sse(t, p): return _f(p) - t


register(Spec(
    "mse_grad", ref.mse_grad, _grad_regression_cases,
    lesson="03a_regression_losses", kernels=("ann_core.losses._mse",),
    mistakes=[
        Mistake("the 1/N is missing: MSE is a mean, so its gradient is 2 (y_pred − y_true) / N "
                "with N = y_pred.size.", _mse_grad_no_n),
        Mistake("the factor 2 is missing: d/dŷ (ŷ − y)² = 2 (ŷ − y); there is no ½ in MSE to "
                "cancel it.", _mse_grad_no_2),
        Mistake("the sign: the gradient is 2 (y_pred − y_true) / N (prediction minus target).", _mse_grad_sign),
        Mistake("N is the number of elements (y_pred.size), not the number of rows.", _mse_grad_per_row),
        Mistake("y_pred − y_true is the gradient of half_sse (the ½ cancels the 2, and a sum "
                "has no 1/N); MSE's is 2 (y_pred − y_true) / N.", _mse_grad_half_sse),
    ],
))


def _binary_grad_cases(rng, hidden):
    out = []
    for s in [(6,), (4, 3), (5, 1)] + ([(2, 3, 4), (60,), (1,)] if hidden else []):
        t = rng.integers(0, 2, size=s).astype(float)
        if t.size > 1:
            t.flat[0], t.flat[1] = 1.0, 0.0
        out.append(Case((t, rng.uniform(0.02, 0.98, size=s)), label=f"shape {s}"))
    if hidden:  # confident predictions, still strictly inside (0, 1)
        out.append(Case((np.array([1.0, 0.0, 1.0, 0.0]), np.array([1e-6, 1 - 1e-6, 0.999, 0.001])),
                        label="p near 0 and 1"))
    return out


def _bce_grad_terms(t, p):
    p, t = _f(p), _f(t)
    return (p - t) / (p * (1 - p))


def _bce_grad_sign(t, p): return -_bce_grad_terms(t, p) / _f(p).size
def _bce_grad_per_row(t, p): return _bce_grad_terms(t, p) / (_f(p).shape[0] if _f(p).ndim else 1)
def _bce_grad_logit(t, p): return (_f(p) - t) / _f(p).size
def _bce_grad_one_term(t, p): return -_f(t) / _f(p) / _f(p).size


register(Spec(
    "binary_cross_entropy_grad", ref.binary_cross_entropy_grad, _binary_grad_cases, rtol=CE_RTOL,
    lesson="03b_classification_losses", kernels=("ann_core.losses._bce",),
    mistakes=[
        Mistake("the 1/N is missing: the loss is a mean over N = y_pred.size elements, so "
                "each gradient entry is divided by N.", _bce_grad_terms),
        Mistake("the sign: ∂L/∂p = (p − y) / (p (1 − p)) / N — positive when p is too large.", _bce_grad_sign),
        Mistake("N is the number of elements (y_pred.size), not the number of rows.", _bce_grad_per_row),
        Mistake("(p − y) / N is the gradient with respect to the logit z of a sigmoid output "
                "(σ' cancels the denominator); here the gradient is with respect to p: "
                "(p − y) / (p (1 − p)) / N.", _bce_grad_logit),
        Mistake("−y / p / N differentiates only the y log p term; the (1 − y) log(1 − p) term "
                "adds (1 − y) / (1 − p).", _bce_grad_one_term),
    ],
))


def _cce_grad_no_n(t, p): return -_f(t) / _f(p)
def _cce_grad_per_element(t, p): return -_f(t) / _f(p) / _f(p).size
def _cce_grad_sign(t, p): return _f(t) / _f(p) / _f(p).shape[0]
def _cce_grad_logit(t, p): return (_f(p) - t) / _f(p).shape[0]
def _cce_grad_binary(t, p): return (-_f(t) / _f(p) + (1 - _f(t)) / (1 - _f(p))) / _f(p).shape[0]


def _one_hot_grad_cases(rng, hidden):
    """As for the loss, without probabilities of exactly 0 (the gradient −t / p needs p > 0)."""
    return _one_hot_cases(rng, hidden, edge=False)


register(Spec(
    "categorical_cross_entropy_grad", ref.categorical_cross_entropy_grad,
    _one_hot_grad_cases, rtol=CE_RTOL,
    lesson="03b_classification_losses", kernels=("ann_core.losses._cce",),
    mistakes=[
        Mistake("the 1/N is missing: the loss averages over the N samples (rows), so divide "
                "−t / p by N.", _cce_grad_no_n),
        Mistake("you divided by N·C (every element); the loss sums over classes and averages "
                "over the N rows only, so divide by N = y_pred.shape[0].", _cce_grad_per_element),
        Mistake("the sign: ∂/∂p of −Σ t log p is −t / p (then / N).", _cce_grad_sign),
        Mistake("(p − t) / N is the gradient with respect to the softmax INPUT z (softmax and "
                "cross-entropy combined); here the gradient is with respect to p: −t / p / N.", _cce_grad_logit),
        Mistake("that is the binary cross-entropy gradient; categorical cross-entropy has no "
                "(1 − t) log(1 − p) term, so its gradient is −t / p / N.", _cce_grad_binary),
    ],
))


def _mae_grad_no_n(t, p): return np.sign(_f(p) - t)
def _mae_grad_sign(t, p): return np.sign(_f(t) - p) / _f(p).size
def _mae_grad_per_row(t, p): return np.sign(_f(p) - t) / (_f(p).shape[0] if _f(p).ndim else 1)
def _mae_grad_mse(t, p): return (_f(p) - t) / _f(p).size
def _mae_grad_abs(t, p): return np.abs(_f(p) - t) / _f(p).size


register(Spec(
    "mae_grad", ref.mae_grad, _grad_regression_cases,  # random d: |d| > 0, never sign(d)'s kink
    lesson="03a_regression_losses", kernels=("ann_core.losses._mae",),
    mistakes=[
        Mistake("the 1/N is missing: MAE is a mean, so its gradient is sign(y_pred − y_true) / N "
                "with N = y_pred.size.", _mae_grad_no_n),
        Mistake("the sign: the gradient is sign(y_pred − y_true) / N (prediction minus target), "
                "+1/N where the prediction is too large.", _mae_grad_sign),
        Mistake("N is the number of elements (y_pred.size), not the number of rows.", _mae_grad_per_row),
        Mistake("(y_pred − y_true) / N is (half) the MSE gradient; d|d|/dd = sign(d), so every "
                "entry is ±1/N whatever the size of the error.", _mae_grad_mse),
        Mistake("|y_pred − y_true| / N is the loss's terms, not its slope; the derivative of |d| "
                "is sign(d) (np.sign), which is negative where the prediction is too small.", _mae_grad_abs),
    ],
))


def _huber_grad_no_n(t, p, delta=1.0):
    d = _f(p) - t
    return np.where(np.abs(d) < delta, d, delta * np.sign(d))

def _huber_grad_cap_1(t, p, delta=1.0):
    d = _f(p) - t
    return np.where(np.abs(d) < delta, d, np.sign(d)) / d.size

def _huber_grad_no_cap(t, p, delta=1.0):
    d = _f(p) - t
    return d / d.size

def _huber_grad_2d(t, p, delta=1.0):
    d = _f(p) - t
    return np.where(np.abs(d) < delta, 2 * d, delta * np.sign(d)) / d.size

def _huber_grad_fixed_delta(t, p, delta=1.0):
    d = _f(p) - t
    return np.where(np.abs(d) < 1.0, d, np.sign(d)) / d.size

def _huber_grad_sign(t, p, delta=1.0): return -ref.huber_grad(t, p, delta=delta)


register(Spec(
    "huber_grad", ref.huber_grad, _huber_cases,
    lesson="03a_regression_losses", kernels=("ann_core.losses._huber",),
    mistakes=[
        Mistake("the 1/N is missing: Huber is a mean over N = y_pred.size elements, so divide "
                "each entry by N.", _huber_grad_no_n),
        Mistake("outside |d| < δ the slope is δ·sign(d), not sign(d): the linear piece "
                "δ(|d| − ½δ) rises by δ per unit.", _huber_grad_cap_1),
        Mistake("outside |d| < δ the gradient no longer grows with d: it is capped at δ·sign(d) "
                "(that cap is what makes Huber robust to outliers); you used d everywhere.", _huber_grad_no_cap),
        Mistake("inside |d| < δ the loss is ½d², whose derivative is d, not 2d.", _huber_grad_2d),
        Mistake("δ is ignored: use the `delta` argument both in the test |d| < δ and in the cap "
                "δ·sign(d).", _huber_grad_fixed_delta),
        Mistake("the sign: the gradient is with respect to y_pred, d = y_pred − y_true, so it is "
                "positive where the prediction is too large.", _huber_grad_sign),
    ],
))


# ---------------------------------------------------------------- sparse categorical cross-entropy
def _sparse_cases(rng, hidden):
    shapes = [(4, 3), (6, 5), (1, 4)] + ([(30, 10), (7, 2)] if hidden else [])
    out = []
    for n, c in shapes:
        labels = rng.integers(0, c, size=n)
        p = act.softmax(rng.normal(0.0, 2.0, size=(n, c)))
        out.append(Case((labels, p), label=f"N={n}, C={c}"))
    p = np.array([[1.0, 0.0, 0.0],  # certain and right
                  [1.0, 0.0, 0.0],  # certain and wrong
                  [0.2, 0.3, 0.5],
                  [0.0, 0.6, 0.4]])
    out.append(Case((np.array([0, 1, 2, 1]), p), label="probabilities of exactly 0 and 1"))
    return out


def _true_class_p(labels, p, clip=True):
    p = _f(p)
    lab = np.asarray(labels).astype(int)
    q = p[np.arange(lab.size), lab]
    return np.clip(q, EPS, 1 - EPS) if clip else q


def _scce_block(lab, p): return float(np.mean(-np.log(np.clip(_f(p)[:, np.asarray(lab).astype(int)], EPS, 1 - EPS))))
def _scce_sum(lab, p): return float(np.sum(-np.log(_true_class_p(lab, p))))
def _scce_unclipped(lab, p): return float(np.mean(-np.log(_true_class_p(lab, p, clip=False))))
def _scce_log10(lab, p): return float(np.mean(-np.log10(_true_class_p(lab, p))))
def _scce_sign(lab, p): return float(np.mean(np.log(_true_class_p(lab, p))))
def _scce_one_based(lab, p): return float(np.mean(-np.log(_true_class_p(np.asarray(lab) - 1, p))))


register(Spec(
    "sparse_categorical_cross_entropy", ref.sparse_categorical_cross_entropy, _sparse_cases,
    lesson="03b_classification_losses", kernels=("ann_core.losses._sparse_cce",),
    rtol=CE_RTOL,
    mistakes=[
        Mistake("p[:, labels] takes an (N, N) block (every row at every label); pick ONE entry "
                "per row, the true class: p[np.arange(N), labels].", _scce_block),
        Mistake("you summed over the samples; the loss is the MEAN of −log p[n, label_n] over "
                "the N samples.", _scce_sum),
        Mistake("no clipping: a true class with p = 0 gives −log 0 = inf. Clip first: "
                "np.clip(p, 1e-12, 1 - 1e-12).", _scce_unclipped),
        Mistake("log base 10: cross-entropy uses the natural log, np.log (−ln 0.6652 ≈ 0.4076).", _scce_log10),
        Mistake("the sign: −log p ≥ 0; you dropped the minus.", _scce_sign),
        Mistake("the labels are 0-based class indices (0 … C−1, as Keras and NumPy count); you "
                "shifted them by one.", _scce_one_based),
    ],
))
