"""Checks for lessons 06-10: the optimizer update rules (``ann_core.optimizers``).

Every update is checked three ways:

* single steps from a zero state and from a random, non-zero state;
* hyper-parameters that separate the conventions textbooks disagree on — a large ε
  (0.5) that shows whether ε sits inside or outside the square root, unusual decay
  rates (μ = 0.5, ρ = 0.75, β1 = 0.5, β2 = 0.9) that show a hard-coded default or a
  missing ``(1 − ρ)``;
* a *chained* case, shown in messages as ``chained_steps=K``: the learner's function is
  called K times in a row, each call receiving the next gradient from ``g`` (shape
  ``(K, ...)``) and the state (and, for Adam, ``t + 1``) that the previous call
  returned. The path of ``w`` (shape ``(K, ...)``) and the final state are compared
  with the reference's, so a state that is returned wrong, or not fed back the way the
  formula says, fails even when a single step looks right.

Hidden cases draw other shapes and values from the lesson's seed and add longer chains.
"""

from __future__ import annotations

import numpy as np

from .. import optimizers as ref
from .spec import Case, Mistake, Spec, register


# ---------------------------------------------------------------- chaining steps
def _chained(n_state: int, counts_t: bool = False):
    """A ``Spec.wrap`` that adds the keyword ``chained_steps=K`` to an update function.

    Without it the function is called once, unchanged. With it, ``args`` are
    ``(w, grads, *state, [t,] *hyper)``: the function runs K times, fed ``grads[k]``
    and its own returned state; the result is ``(path of w, *final state)``.
    """

    def wrap(f):
        def run(*args, chained_steps=None, **kwargs):
            if chained_steps is None:
                return f(*args, **kwargs)
            w, grads, *rest = args
            state, rest = list(rest[:n_state]), list(rest[n_state:])
            t0 = rest.pop(0) if counts_t else None
            path = []
            for k in range(chained_steps):
                step_t = (t0 + k,) if counts_t else ()
                w, *state = f(w, grads[k], *state, *step_t, *rest, **kwargs)
                path.append(np.array(w, dtype=np.float64))  # a copy: in-place tricks show up
            return (np.stack(path), *state)

        return run

    return wrap


def _g(rng, shape, scale=2.0):
    return rng.normal(0.0, scale, size=shape)


def _sq(rng, shape):
    """A non-negative running average of squares (a valid AdaGrad/RMSprop/Adam state)."""
    return rng.normal(0.0, 1.5, size=shape) ** 2


# ---------------------------------------------------------------- SGD (lesson 06)
def _sgd_cases(rng, hidden):
    out = []
    shapes = [(3,), (2, 3)] + ([(7,), (4, 5), (2, 3, 2)] if hidden else [])
    for s in shapes:
        lr = float(rng.choice([0.01, 0.1, 0.5]))
        out.append(Case((_g(rng, s), _g(rng, s), lr), label=f"shape {s}, lr={lr}"))
    out.append(Case((np.array([3.0, -1.0]), np.array([-6.0, 2.0]), 0.1), label="by hand"))
    if hidden:
        out.append(Case((_g(rng, (5,)), _g(rng, (5,)), 1.3), label="lr > 1"))
        out.append(Case((_g(rng, (3,)), _g(rng, (3,)), 0.0), label="lr = 0"))
    return out


def _sgd_ascent(w, g, lr): return np.asarray(w, float) + lr * np.asarray(g, float)
def _sgd_no_lr(w, g, lr): return np.asarray(w, float) - np.asarray(g, float)
def _sgd_step_only(w, g, lr): return lr * np.asarray(g, float)
def _sgd_change_only(w, g, lr): return -lr * np.asarray(g, float)


register(Spec(
    "sgd_update", ref.sgd_update, _sgd_cases,
    lesson="06_gradient_descent", kernels=("ann_core.optimizers._sgd",),
    forbidden=("ann_core.optimizers.SGD", "ann_core.optimizers.SGD._update"),
    mistakes=[
        Mistake("the sign: gradient descent steps *against* the gradient, w − lr·g; "
                "w + lr·g climbs uphill (gradient ascent).", _sgd_ascent),
        Mistake("the learning rate is missing: the step is lr·g, not g.", _sgd_no_lr),
        Mistake("you returned the step lr·g; return the new weights w − lr·g.", _sgd_step_only),
        Mistake("you returned the change −lr·g; return the new weights w − lr·g.", _sgd_change_only),
    ],
))


# ---------------------------------------------------------------- Momentum (lesson 07)
def _momentum_cases(rng, hidden):
    out = [
        Case((_g(rng, (3,)), _g(rng, (3,)), np.zeros(3), 0.1), label="v = 0, default μ"),
        Case((_g(rng, (2, 3)), _g(rng, (2, 3)), _g(rng, (2, 3), 0.5), 0.05), label="v ≠ 0"),
        Case((_g(rng, (4,)), _g(rng, (4,)), _g(rng, (4,), 0.5), 0.1), {"mu": 0.5}, label="μ = 0.5"),
        Case((_g(rng, (4,)), _g(rng, (5, 4)), np.zeros(4), 0.1), {"mu": 0.5, "chained_steps": 5},
             label="5 chained steps"),
    ]
    if hidden:
        out += [
            Case((_g(rng, (7,)), _g(rng, (7,)), _g(rng, (7,), 0.5), 0.3), {"mu": 0.99}),
            Case((_g(rng, (3, 4)), _g(rng, (3, 4)), _g(rng, (3, 4)), 0.02), {"mu": 0.0}),
            Case((_g(rng, (2, 2, 3)), _g(rng, (2, 2, 3)), _g(rng, (2, 2, 3)), 0.5), {"mu": 0.5}),
            Case((_g(rng, (6,)), _g(rng, (8, 6)), _g(rng, (6,), 0.3), 0.05),
                 {"mu": 0.5, "chained_steps": 8}),
            Case((_g(rng, (3,)), _g(rng, (6, 3)), np.zeros(3), 0.01), {"chained_steps": 6}),
        ]
    return out


def _f(x):
    return np.asarray(x, dtype=np.float64)


def _mom_ema(w, g, v, lr, mu=0.9):
    v = mu * _f(v) + (1 - mu) * _f(g)
    return _f(w) - lr * v, v


def _mom_minus_v(w, g, v, lr, mu=0.9):
    v = mu * _f(v) - lr * _f(g)
    return _f(w) - v, v


def _mom_old_v(w, g, v, lr, mu=0.9):
    return _f(w) + _f(v), mu * _f(v) - lr * _f(g)


def _mom_fixed_mu(w, g, v, lr, mu=0.9):
    return ref.momentum_update(w, g, v, lr, 0.9)


def _mom_swapped(w, g, v, lr, mu=0.9):
    w, v = ref.momentum_update(w, g, v, lr, mu)
    return v, w


register(Spec(
    "momentum_update", ref.momentum_update, _momentum_cases,
    lesson="07_momentum", kernels=("ann_core.optimizers._momentum",),
    forbidden=("ann_core.optimizers.Momentum", "ann_core.optimizers.Momentum._update"),
    mistakes=[
        Mistake("this is momentum written as an exponential moving average, v ← μ·v + (1 − μ)·g, "
                "w ← w − lr·v — a different algorithm (each new gradient enters (1 − μ) times "
                "weaker, so the same lr gives a different path). The course (and the articles, "
                "and torch.optim.SGD) use v ← μ·v − lr·g, then w ← w + v.", _mom_ema),
        Mistake("with v ← μ·v − lr·g the velocity already points downhill: add it, w ← w + v "
                "(w − v climbs uphill).", _mom_minus_v),
        Mistake("w moved with the old velocity: first compute the new v ← μ·v − lr·g, then "
                "w ← w + (new) v.", _mom_old_v),
        Mistake("μ is fixed at 0.9: use the `mu` argument (checks pass other values such as 0.5).", _mom_fixed_mu),
        Mistake("the order of the results: return (w, v) — new weights first, then the velocity.", _mom_swapped),
    ],
    wrap=_chained(1),
))


# ---------------------------------------------------------------- AdaGrad (lesson 08)
def _adagrad_cases(rng, hidden):
    out = [
        Case((_g(rng, (3,)), _g(rng, (3,)), np.zeros(3), 0.1), label="G = 0, default ε"),
        Case((_g(rng, (2, 3)), _g(rng, (2, 3)), _sq(rng, (2, 3)), 0.5), label="G ≠ 0"),
        Case((_g(rng, (4,)), _g(rng, (4,), 0.5), _sq(rng, (4,)) * 0.1, 0.2), {"eps": 0.5},
             label="large ε"),
        Case((_g(rng, (4,)), _g(rng, (5, 4)), np.zeros(4), 0.3), {"eps": 0.1, "chained_steps": 5},
             label="5 chained steps"),
    ]
    if hidden:
        out += [
            Case((_g(rng, (7,)), _g(rng, (7,), 0.1), _sq(rng, (7,)) * 0.01, 0.05), {"eps": 0.5}),
            Case((_g(rng, (3, 4)), _g(rng, (3, 4)), _sq(rng, (3, 4)), 1.0), {"eps": 1.0}),
            Case((_g(rng, (2, 2, 3)), _g(rng, (2, 2, 3)), np.zeros((2, 2, 3)), 0.01)),
            Case((_g(rng, (6,)), _g(rng, (8, 6)), _sq(rng, (6,)), 0.5), {"eps": 0.5, "chained_steps": 8}),
            Case((_g(rng, (3,)), _g(rng, (6, 3)), np.zeros(3), 0.1), {"chained_steps": 6}),
        ]
    return out


def _ada_eps_inside(w, g, G, lr, eps=1e-10):
    G = _f(G) + _f(g) ** 2
    return _f(w) - lr * _f(g) / np.sqrt(G + eps), G


def _ada_no_sum(w, g, G, lr, eps=1e-10):
    G = _f(g) ** 2
    return _f(w) - lr * _f(g) / (np.sqrt(G) + eps), G


def _ada_old_G(w, g, G, lr, eps=1e-10):
    w = _f(w) - lr * _f(g) / (np.sqrt(_f(G)) + eps)
    return w, _f(G) + _f(g) ** 2


def _ada_no_sqrt(w, g, G, lr, eps=1e-10):
    G = _f(G) + _f(g) ** 2
    return _f(w) - lr * _f(g) / (G + eps), G


def _ada_fixed_eps(w, g, G, lr, eps=1e-10):
    return ref.adagrad_update(w, g, G, lr, 1e-10)


register(Spec(
    "adagrad_update", ref.adagrad_update, _adagrad_cases,
    lesson="08_adagrad", kernels=("ann_core.optimizers._adagrad",),
    forbidden=("ann_core.optimizers.AdaGrad", "ann_core.optimizers.AdaGrad._update"),
    mistakes=[
        Mistake("ε belongs outside the square root in this course: w ← w − lr·g / (√G + ε), as in "
                "PyTorch's Adagrad; √(G + ε) is Keras's (and the articles') convention, which gives "
                "different steps when G is small or ε is large (here ε = 0.5).", _ada_eps_inside),
        Mistake("G must accumulate every squared gradient so far, G ← G + g²; you kept only the "
                "latest g².", _ada_no_sum),
        Mistake("w was updated with the old G: first add the new g² (G ← G + g²), then divide by "
                "√G + ε.", _ada_old_G),
        Mistake("the square root is missing: divide by √G + ε, not G + ε.", _ada_no_sqrt),
        Mistake("ε is fixed at 1e-10: use the `eps` argument (checks pass other values).", _ada_fixed_eps),
    ],
    wrap=_chained(1),
))


# ---------------------------------------------------------------- RMSprop (lesson 09)
def _rmsprop_cases(rng, hidden):
    out = [
        Case((_g(rng, (3,)), _g(rng, (3,)), _sq(rng, (3,)), 0.01), label="s ≠ 0, defaults"),
        Case((_g(rng, (2, 3)), _g(rng, (2, 3)), _sq(rng, (2, 3)), 0.05), {"rho": 0.9},
             label="s ≠ 0, ρ = 0.9"),
        Case((_g(rng, (4,)), _g(rng, (4,), 0.5), _sq(rng, (4,)) * 0.1, 0.1), {"eps": 0.5},
             label="large ε"),
        Case((_g(rng, (4,)), _g(rng, (5, 4)), np.zeros(4), 0.1), {"rho": 0.75, "chained_steps": 5},
             label="5 chained steps"),
    ]
    if hidden:
        out += [
            Case((_g(rng, (7,)), _g(rng, (7,), 0.1), _sq(rng, (7,)) * 0.01, 0.05),
                 {"rho": 0.8, "eps": 0.5}),
            Case((_g(rng, (3, 4)), _g(rng, (3, 4)), _sq(rng, (3, 4)), 0.01), {"rho": 0.999}),
            Case((_g(rng, (2, 2, 3)), _g(rng, (2, 2, 3)), np.zeros((2, 2, 3)), 0.001)),
            Case((_g(rng, (6,)), _g(rng, (8, 6)), _sq(rng, (6,)), 0.05),
                 {"rho": 0.9, "eps": 0.5, "chained_steps": 8}),
            Case((_g(rng, (3,)), _g(rng, (6, 3)), np.zeros(3), 0.01), {"chained_steps": 6}),
        ]
    return out


def _rms_eps_inside(w, g, s, lr, rho=0.99, eps=1e-8):
    s = rho * _f(s) + (1 - rho) * _f(g) ** 2
    return _f(w) - lr * _f(g) / np.sqrt(s + eps), s


def _rms_no_one_minus(w, g, s, lr, rho=0.99, eps=1e-8):
    s = rho * _f(s) + _f(g) ** 2
    return _f(w) - lr * _f(g) / (np.sqrt(s) + eps), s


def _rms_swapped(w, g, s, lr, rho=0.99, eps=1e-8):
    s = (1 - rho) * _f(s) + rho * _f(g) ** 2
    return _f(w) - lr * _f(g) / (np.sqrt(s) + eps), s


def _rms_adagrad(w, g, s, lr, rho=0.99, eps=1e-8):
    s = _f(s) + _f(g) ** 2
    return _f(w) - lr * _f(g) / (np.sqrt(s) + eps), s


def _rms_no_sqrt(w, g, s, lr, rho=0.99, eps=1e-8):
    s = rho * _f(s) + (1 - rho) * _f(g) ** 2
    return _f(w) - lr * _f(g) / (s + eps), s


def _rms_fixed(w, g, s, lr, rho=0.99, eps=1e-8):
    return ref.rmsprop_update(w, g, s, lr)


register(Spec(
    "rmsprop_update", ref.rmsprop_update, _rmsprop_cases,
    lesson="09_rmsprop", kernels=("ann_core.optimizers._rmsprop",),
    forbidden=("ann_core.optimizers.RMSprop", "ann_core.optimizers.RMSprop._update"),
    mistakes=[
        Mistake("ε belongs outside the square root in this course: w ← w − lr·g / (√s + ε), as in "
                "PyTorch's RMSprop; √(s + ε) is Keras's (and the articles') convention, which gives "
                "different steps when s is small or ε is large (here ε = 0.5).", _rms_eps_inside),
        Mistake("the (1 − ρ) factor is missing: s ← ρ·s + (1 − ρ)·g² is an average of g²; "
                "ρ·s + g² grows to about g² / (1 − ρ) and makes the steps too small.", _rms_no_one_minus),
        Mistake("ρ and 1 − ρ are swapped: the old average keeps the weight ρ, the new g² gets "
                "1 − ρ, s ← ρ·s + (1 − ρ)·g².", _rms_swapped),
        Mistake("this is AdaGrad's sum s ← s + g²; RMSprop decays the old average: "
                "s ← ρ·s + (1 − ρ)·g².", _rms_adagrad),
        Mistake("the square root is missing: divide by √s + ε, not s + ε.", _rms_no_sqrt),
        Mistake("ρ or ε is fixed at its default: use the `rho` and `eps` arguments "
                "(checks pass other values).", _rms_fixed),
    ],
    wrap=_chained(1),
))


# ---------------------------------------------------------------- Adam (lesson 10)
def _adam_cases(rng, hidden):
    z3 = np.zeros(3)
    out = [
        Case((_g(rng, (3,)), _g(rng, (3,)), z3, z3, 1, 0.1), label="t = 1, defaults"),
        Case((_g(rng, (2, 3)), _g(rng, (2, 3)), _g(rng, (2, 3), 0.5), _sq(rng, (2, 3)), 3, 0.01),
             {"beta1": 0.5, "beta2": 0.9}, label="t = 3, β1 = 0.5, β2 = 0.9"),
        Case((_g(rng, (4,)), _g(rng, (4,), 0.5), _g(rng, (4,), 0.1), _sq(rng, (4,)) * 0.1, 2, 0.1),
             {"eps": 0.5}, label="large ε"),
        Case((_g(rng, (4,)), _g(rng, (5, 4)), np.zeros(4), np.zeros(4), 1, 0.1),
             {"beta1": 0.5, "beta2": 0.9, "chained_steps": 5}, label="5 chained steps"),
    ]
    if hidden:
        out += [
            Case((_g(rng, (7,)), _g(rng, (7,)), _g(rng, (7,), 0.5), _sq(rng, (7,)), 10, 0.001)),
            Case((_g(rng, (3, 4)), _g(rng, (3, 4), 0.1), _g(rng, (3, 4), 0.1), _sq(rng, (3, 4)) * 0.01,
                  4, 0.05), {"beta1": 0.8, "beta2": 0.95, "eps": 0.5}),
            Case((_g(rng, (2, 2, 3)), _g(rng, (2, 2, 3)), np.zeros((2, 2, 3)), np.zeros((2, 2, 3)), 1,
                  0.01), {"beta1": 0.5, "beta2": 0.9}),
            Case((_g(rng, (6,)), _g(rng, (8, 6)), np.zeros(6), np.zeros(6), 1, 0.05),
                 {"beta1": 0.5, "beta2": 0.9, "eps": 0.5, "chained_steps": 8}),
            Case((_g(rng, (3,)), _g(rng, (6, 3)), np.zeros(3), np.zeros(3), 1, 0.01),
                 {"chained_steps": 6}),
            Case((_g(rng, (5,)), _g(rng, (5, 5)), _g(rng, (5,), 0.5), _sq(rng, (5,)), 7, 0.02),
                 {"beta1": 0.5, "beta2": 0.9, "chained_steps": 5}),
        ]
    return out


def _adam_parts(w, g, m, v, beta1, beta2):
    g = _f(g)
    return _f(w), g, beta1 * _f(m) + (1 - beta1) * g, beta2 * _f(v) + (1 - beta2) * g * g


def _adam_no_correction(w, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    w, g, m, v = _adam_parts(w, g, m, v, beta1, beta2)
    return w - lr * m / (np.sqrt(v) + eps), m, v


def _adam_t_plus_1(w, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    w, g, m, v = _adam_parts(w, g, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1 ** (t + 1)), v / (1 - beta2 ** (t + 1))
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _adam_t_minus_1(w, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    w, g, m, v = _adam_parts(w, g, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1 ** (t - 1)), v / (1 - beta2 ** (t - 1))
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _adam_t_ignored(w, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    w, g, m, v = _adam_parts(w, g, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1), v / (1 - beta2)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _adam_eps_inside(w, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    w, g, m, v = _adam_parts(w, g, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m_hat / np.sqrt(v_hat + eps), m, v


def _adam_hat_state(w, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    w, g, m, v = _adam_parts(w, g, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_hat, v_hat


def _adam_fixed(w, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    return ref.adam_update(w, g, m, v, t, lr)


def _adam_no_square(w, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    g = _f(g)
    m = beta1 * _f(m) + (1 - beta1) * g
    v = beta2 * _f(v) + (1 - beta2) * np.abs(g)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return _f(w) - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


register(Spec(
    "adam_update", ref.adam_update, _adam_cases,
    lesson="10_adam", kernels=("ann_core.optimizers._adam",),
    forbidden=("ann_core.optimizers.Adam", "ann_core.optimizers.Adam._update"),
    mistakes=[
        Mistake("the bias correction is missing (the form one of the articles gives): divide "
                "m by 1 − β1^t and v by 1 − β2^t before the step — both start at 0, so early "
                "on they are far too small, and the first steps come out the wrong size.", _adam_no_correction),
        Mistake("t is off by one: the caller passes t = 1 on the first step, so use β^t as "
                "given; β^(t + 1) is what you get when counting from 0.", _adam_t_plus_1),
        Mistake("t − 1 in the bias correction: on the first step (t = 1) that is 1 − β^0 = 0, "
                "a division by zero; t already starts at 1, so use β^t.", _adam_t_minus_1),
        Mistake("the power t is missing in the bias correction: divide by 1 − β1^t and 1 − β2^t "
                "with the step number t the caller passes; 1 − β1 and 1 − β2 are right only on the "
                "first step (as if t stayed 1).", _adam_t_ignored),
        Mistake("ε belongs outside the square root: w ← w − lr·m̂ / (√v̂ + ε), the course's form "
                "and both PyTorch's and Keras's Adam; √(v̂ + ε), as in one of the articles (and "
                "Keras's RMSprop/Adagrad), differs when v̂ is small or ε is large (here ε = 0.5).", _adam_eps_inside),
        Mistake("return the raw moments m and v as the new state, not the bias-corrected m̂ and "
                "v̂ (those are recomputed from m and v at every step).", _adam_hat_state),
        Mistake("a hyper-parameter is fixed at its default: use the `beta1`, `beta2` and `eps` "
                "arguments (checks pass other values, such as β1 = 0.5, β2 = 0.9).", _adam_fixed),
        Mistake("the second moment averages the *squared* gradient: v ← β2·v + (1 − β2)·g².", _adam_no_square),
    ],
    wrap=_chained(2, counts_t=True),
))


# ---------------------------------------------------------------- what the rules do: closed forms (07-10)
# Each lesson's second exercise asks for a quantity derived from its update rule (not the rule
# again). The first visible case is the lesson's worked example by hand; a large ε (0.5) shows
# where ε sits; hidden cases add other shapes, hyper-parameters and lengths.
def _velocity_cases(rng, hidden):
    out = [
        Case((np.array([1.0, -2.0]), 0.1, 0.9, 3), label="by hand: g = (1, −2), α = 0.1, μ = 0.9, k = 3"),
        Case((_g(rng, (2, 3)), 0.05, 0.5, 4), label="μ = 0.5, k = 4"),
        Case((_g(rng, (3,)), 0.1, 0.9, 1), label="k = 1"),
        Case((_g(rng, (4,)), 0.01, 0.9, np.inf), label="k = ∞: the limit"),
    ]
    if hidden:
        out += [
            Case((_g(rng, (5,)), 0.2, 0.99, 50), label="μ = 0.99, k = 50"),
            Case((_g(rng, (2, 2, 3)), 0.03, 0.75, 7)),
            Case((_g(rng, (3,)), 0.1, 0.0, 5), label="μ = 0: plain gradient descent"),
            Case((_g(rng, (4,)), 0.1, 0.9, 0), label="k = 0"),
            Case((_g(rng, (6,)), 0.5, 0.5, np.inf), label="k = ∞, μ = 0.5"),
            Case((_g(rng, (3,)), 0.1, 0.9, 200), label="k = 200"),
        ]
    return out


def _vel_beta_k(g, lr, mu, k):
    return -lr * _f(g) * mu**k / (1 - mu)


def _vel_limit(g, lr, mu, k):
    return -lr * _f(g) / (1 - mu)


def _vel_k_plus_1(g, lr, mu, k):
    return -lr * _f(g) * (1 - mu ** (k + 1)) / (1 - mu)


def _vel_k_minus_1(g, lr, mu, k):
    return -lr * _f(g) * (1 - mu ** (k - 1)) / (1 - mu)


def _vel_uphill(g, lr, mu, k):
    return lr * _f(g) * (1 - mu**k) / (1 - mu)


def _vel_ema(g, lr, mu, k):
    return -lr * _f(g) * (1 - mu**k)


def _vel_last_term(g, lr, mu, k):
    return -lr * _f(g) * mu ** (k - 1)


register(Spec(
    "momentum_velocity", ref.momentum_velocity, _velocity_cases, lesson="07_momentum",
    mistakes=[
        Mistake("μ^k / (1 − μ) is what is still *missing* from the limit; the sum 1 + μ + … + μ^(k−1) "
                "is (1 − μ^k) / (1 − μ).", _vel_beta_k),
        Mistake("you returned the limit −α·g / (1 − μ) for every k; after finitely many steps the "
                "velocity has reached only the fraction 1 − μ^k of it.", _vel_limit),
        Mistake("one step too many: after k steps from v = 0 the sum has k terms, 1 + μ + … + μ^(k−1), "
                "so (1 − μ^k) / (1 − μ), not (1 − μ^(k+1)) / (1 − μ).", _vel_k_plus_1),
        Mistake("one step too few: after k steps the sum has k terms (after 1 step v = −α·g), so "
                "(1 − μ^k) / (1 − μ), not (1 − μ^(k−1)) / (1 − μ).", _vel_k_minus_1),
        Mistake("the sign: v ← μ·v − α·g points downhill, so a constant g gives a velocity of the "
                "opposite sign, −α·g·(1 − μ^k) / (1 − μ).", _vel_uphill),
        Mistake("(1 − μ^k)·α·g is the velocity of the moving-average form v ← μ·v + (1 − μ)·g (section 3); "
                "the course's v ← μ·v − α·g sums the gradients without the factor (1 − μ): "
                "−α·g·(1 − μ^k) / (1 − μ).", _vel_ema),
        Mistake("you returned only the last term of the sum, −α·μ^(k−1)·g (the contribution of the "
                "first gradient); the velocity is the whole sum −α·g·(1 + μ + … + μ^(k−1)).", _vel_last_term),
    ],
))


def _rates_cases(rng, hidden):
    out = [
        Case((np.array([[3.0, 1.0], [4.0, -1.0], [0.0, 2.0]]), 1.0),
             label="by hand: grads (3, 1), (4, −1), (0, 2), α = 1"),
        Case((_g(rng, (5, 3)), 0.1), label="5 steps, 3 weights"),
        Case((_g(rng, (4, 2), 0.3), 0.5, 0.5), label="large ε"),
    ]
    if hidden:
        out += [
            Case((_g(rng, (20, 4)), 0.01), label="20 steps"),
            Case((_g(rng, (6, 2, 3), 0.1), 0.2, 0.5), label="(6, 2, 3), large ε"),
            Case((_g(rng, (1, 5)), 0.3), label="one step"),
            Case((_g(rng, (8,)), 0.5, 1.0), label="one weight, 8 steps, ε = 1"),
        ]
    return out


def _rates_eps_inside(grads, lr, eps=1e-10):
    return lr / np.sqrt(np.cumsum(_f(grads) ** 2, axis=0) + eps)


def _rates_latest(grads, lr, eps=1e-10):
    return lr / (np.abs(_f(grads)) + eps)


def _rates_square_of_sum(grads, lr, eps=1e-10):
    return lr / (np.abs(np.cumsum(_f(grads), axis=0)) + eps)


def _rates_no_sqrt(grads, lr, eps=1e-10):
    return lr / (np.cumsum(_f(grads) ** 2, axis=0) + eps)


def _rates_before(grads, lr, eps=1e-10):
    G = np.cumsum(_f(grads) ** 2, axis=0) - _f(grads) ** 2
    return lr / (np.sqrt(G) + eps)


def _rates_total(grads, lr, eps=1e-10):
    G = np.sum(_f(grads) ** 2, axis=0)
    return lr / (np.sqrt(G) + eps) * np.ones_like(_f(grads))


register(Spec(
    "adagrad_effective_lr", ref.adagrad_effective_lr, _rates_cases, lesson="08_adagrad",
    mistakes=[
        Mistake("you kept only the latest g², α / (|g_t| + ε); G is the running sum of *every* squared "
                "gradient so far, G_t = g_1² + … + g_t² (np.cumsum along axis 0).", _rates_latest),
        Mistake("the square of the sum, (g_1 + … + g_t)², is not the sum of the squares "
                "g_1² + … + g_t²: square first, then add up.", _rates_square_of_sum),
        Mistake("the square root is missing: the rate is α / (√G_t + ε), not α / (G_t + ε).", _rates_no_sqrt),
        Mistake("step t divides by G after adding g_t², G_t = g_1² + … + g_t² (the update adds first, "
                "then steps); you used the sum before it.", _rates_before),
        Mistake("every row used the whole history's sum; the rate at step t only knows the gradients "
                "up to t, so G_t is a running (cumulative) sum.", _rates_total),
        Mistake("ε belongs outside the square root (section 4): α / (√G_t + ε), not α / √(G_t + ε); "
                "the check uses ε = 0.5, where the two differ clearly.", _rates_eps_inside),
    ],
))


def _sizes_cases(rng, hidden):
    out = [
        Case((np.array([1.0, -2.0]), 0.1, 3), {"rho": 0.9}, label="by hand: g = (1, −2), α = 0.1, ρ = 0.9"),
        Case((_g(rng, (3,)), 0.01, 10), label="default ρ, 10 steps"),
        Case((_g(rng, (2, 2), 0.3), 0.05, 4), {"rho": 0.75, "eps": 0.5}, label="large ε"),
    ]
    if hidden:
        out += [
            Case((_g(rng, (4,)), 0.001, 300), label="300 steps"),
            Case((_g(rng, (2, 3), 0.1), 0.1, 6), {"rho": 0.5, "eps": 0.5}),
            Case((_g(rng, (5,)), 0.3, 1), {"rho": 0.9}, label="one step"),
            Case((_g(rng, (3,), 10.0), 0.01, 20), {"rho": 0.999}),
        ]
    return out


def _sizes(g, lr, s, eps):
    return lr * np.abs(g) / (np.sqrt(s) + eps)


def _sizes_k(g, steps):
    g = _f(g)
    return g, np.arange(1, int(steps) + 1, dtype=np.float64).reshape((-1,) + (1,) * g.ndim)


def _sizes_swapped(g, lr, steps, rho=0.99, eps=1e-8):
    g, k = _sizes_k(g, steps)
    return _sizes(g, lr, (1 - (1 - rho) ** k) * g * g, eps)


def _sizes_no_one_minus(g, lr, steps, rho=0.99, eps=1e-8):
    g, k = _sizes_k(g, steps)
    return _sizes(g, lr, (1 - rho**k) / (1 - rho) * g * g, eps)


def _sizes_steady(g, lr, steps, rho=0.99, eps=1e-8):
    g, k = _sizes_k(g, steps)
    return _sizes(g, lr, g * g * np.ones_like(k), eps)


def _sizes_k_plus_1(g, lr, steps, rho=0.99, eps=1e-8):
    g, k = _sizes_k(g, steps)
    return _sizes(g, lr, (1 - rho ** (k + 1)) * g * g, eps)


def _sizes_signed(g, lr, steps, rho=0.99, eps=1e-8):
    g, k = _sizes_k(g, steps)
    return -lr * g / (np.sqrt((1 - rho**k) * g * g) + eps)


def _sizes_eps_inside(g, lr, steps, rho=0.99, eps=1e-8):
    g, k = _sizes_k(g, steps)
    return lr * np.abs(g) / np.sqrt((1 - rho**k) * g * g + eps)


register(Spec(
    "rmsprop_step_sizes", ref.rmsprop_step_sizes, _sizes_cases, lesson="09_rmsprop",
    mistakes=[
        Mistake("ρ and 1 − ρ are swapped: from s = 0, s ← ρ·s + (1 − ρ)·g² gives s_k = (1 − ρ^k)·g², "
                "not (1 − (1 − ρ)^k)·g².", _sizes_swapped),
        Mistake("the (1 − ρ) factor is missing: ρ·s + g² sums to (1 − ρ^k)/(1 − ρ)·g²; with "
                "(1 − ρ)·g² the sum is (1 − ρ^k)·g².", _sizes_no_one_minus),
        Mistake("you used the steady state s = g² at every step; s starts at 0 and reaches only "
                "(1 − ρ^k)·g² after k steps, so the first steps are longer than α.", _sizes_steady),
        Mistake("one step too many: after k steps from s = 0, s_k = (1 − ρ^k)·g² (after one step "
                "(1 − ρ)·g²), not (1 − ρ^(k+1))·g².", _sizes_k_plus_1),
        Mistake("return the step *lengths* |Δw_k| = α·|g| / (√s_k + ε), positive whatever the sign "
                "of g, not the signed update −α·g / (√s_k + ε).", _sizes_signed),
        Mistake("ε belongs outside the square root (lesson 08): α·|g| / (√s_k + ε), not "
                "α·|g| / √(s_k + ε); the check uses ε = 0.5.", _sizes_eps_inside),
    ],
))


def _adam_steps_cases(rng, hidden):
    out = [
        Case((np.array([2.0, -0.5]), 0.1, 2), label="by hand: g = (2, −0.5), α = 0.1, default β's"),
        Case((_g(rng, (3,)), 0.01, 5), {"beta1": 0.5, "beta2": 0.9}, label="β1 = 0.5, β2 = 0.9"),
        Case((_g(rng, (2, 2), 0.3), 0.05, 3), {"eps": 0.5}, label="large ε"),
    ]
    if hidden:
        out += [
            Case((_g(rng, (4,)), 0.001, 100), label="100 steps"),
            Case((_g(rng, (2, 3), 0.01), 0.1, 4), {"beta1": 0.8, "beta2": 0.95, "eps": 0.5}),
            Case((_g(rng, (5,)), 0.3, 1), label="one step"),
            Case((_g(rng, (3,), 100.0), 0.02, 10), {"beta1": 0.5, "beta2": 0.99}),
        ]
    return out


def _adam_t(g, steps):
    return _sizes_k(g, steps)


def _adam_cor(g, lr, eps, t):
    return -lr * g * np.ones_like(t) / (np.abs(g) + eps)


def _adam_unc(g, lr, beta1, beta2, eps, t):
    return -lr * (1 - beta1**t) * g / (np.sqrt(1 - beta2**t) * np.abs(g) + eps)


def _steps_none(g, lr, steps, beta1=0.9, beta2=0.999, eps=1e-8):
    g, t = _adam_t(g, steps)
    unc = _adam_unc(g, lr, beta1, beta2, eps, t)
    return unc, unc


def _steps_swapped(g, lr, steps, beta1=0.9, beta2=0.999, eps=1e-8):
    g, t = _adam_t(g, steps)
    return _adam_unc(g, lr, beta1, beta2, eps, t), _adam_cor(g, lr, eps, t)


def _steps_t_fixed(g, lr, steps, beta1=0.9, beta2=0.999, eps=1e-8):
    g, t = _adam_t(g, steps)
    return _adam_cor(g, lr, eps, t), _adam_unc(g, lr, beta1, beta2, eps, np.ones_like(t))


def _steps_wrong_t(g, lr, steps, beta1=0.9, beta2=0.999, eps=1e-8):
    g, t = _adam_t(g, steps)
    m_hat = (1 - beta1**t) * g / (1 - beta1 ** (t + 1))
    v_hat = (1 - beta2**t) * g * g / (1 - beta2 ** (t + 1))
    return -lr * m_hat / (np.sqrt(v_hat) + eps), _adam_unc(g, lr, beta1, beta2, eps, t)


def _steps_only_m(g, lr, steps, beta1=0.9, beta2=0.999, eps=1e-8):
    g, t = _adam_t(g, steps)
    return -lr * g / (np.sqrt(1 - beta2**t) * np.abs(g) + eps), _adam_unc(g, lr, beta1, beta2, eps, t)


def _steps_lengths(g, lr, steps, beta1=0.9, beta2=0.999, eps=1e-8):
    g, t = _adam_t(g, steps)
    return np.abs(_adam_cor(g, lr, eps, t)), np.abs(_adam_unc(g, lr, beta1, beta2, eps, t))


def _steps_eps_inside(g, lr, steps, beta1=0.9, beta2=0.999, eps=1e-8):
    g, t = _adam_t(g, steps)
    cor = -lr * g * np.ones_like(t) / np.sqrt(g * g + eps)
    unc = -lr * (1 - beta1**t) * g / np.sqrt((1 - beta2**t) * g * g + eps)
    return cor, unc


register(Spec(
    "adam_first_steps", ref.adam_first_steps, _adam_steps_cases, lesson="10_adam",
    mistakes=[
        Mistake("both results are the uncorrected steps: with the correction m̂_t = m_t / (1 − β1^t) = g "
                "and √v̂_t = |g|, so the corrected step is −α·g / (|g| + ε) at every t.", _steps_none),
        Mistake("the order of the results: return (corrected, uncorrected) — with the bias correction "
                "first.", _steps_swapped),
        Mistake("the uncorrected step changes with t: m_t = (1 − β1^t)·g and v_t = (1 − β2^t)·g², "
                "so it is −α·(1 − β1^t)·g / (√(1 − β2^t)·|g| + ε); you used t = 1 at every step.", _steps_t_fixed),
        Mistake("the correction uses the wrong t: step t divides m_t by 1 − β1^t and v_t by 1 − β2^t, "
                "the same t (not t + 1); then m̂ = g and √v̂ = |g| exactly.", _steps_wrong_t),
        Mistake("the corrected step divides both moments: you corrected v but not m (or the other way "
                "round) in the corrected step.", _steps_only_m),
        Mistake("return the signed updates Δw_t (a positive g gives a negative step), not their lengths.",
                _steps_lengths),
        Mistake("ε belongs outside the square root (lesson 08): divide by √v̂ + ε, not √(v̂ + ε); the "
                "check uses ε = 0.5.", _steps_eps_inside),
    ],
))
