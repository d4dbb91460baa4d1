"""Gradient descent and its adaptive variants (lessons 06-10, 優化器 / 优化器).

Update functions are pure: they return new arrays and never modify their inputs.
Their trajectories match ``torch.optim`` for the same hyper-parameters.

==================  ================================================  =============================
function            rule (``g = ∂E/∂w``)                              returns
==================  ================================================  =============================
``sgd_update``      ``w − lr g``                                      ``w``
``momentum_update`` ``v ← μ v − lr g;  w ← w + v``                    ``(w, v)``
``adagrad_update``  ``G ← G + g²;  w ← w − lr g / (√G + ε)``          ``(w, G)``
``rmsprop_update``  ``s ← ρ s + (1 − ρ) g²;  w ← w − lr g / (√s + ε)`` ``(w, s)``
``adam_update``     ``m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²;`` ``(w, m, v)``
                    ``m̂ = m / (1 − β1^t);  v̂ = v / (1 − β2^t);``
                    ``w ← w − lr m̂ / (√v̂ + ε)``, ``t = 1, 2, …``
==================  ================================================  =============================

ε sits *outside* the square root (PyTorch's choice; some of the source articles put
it inside, ``√(G + ε)``, which changes the first steps when ``G`` is small).

The classes ``SGD, Momentum, AdaGrad, RMSprop, Adam`` keep the state for a list of
parameter arrays and update those arrays in place: ``opt.step(net.params, net.grads)``.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array


def _wg(w, g):
    w = as_float_array(w, "w")
    g = as_float_array(g, "g")
    if w.shape != g.shape:
        raise ValueError(f"w has shape {w.shape} but its gradient g has shape {g.shape}")
    return w, g


def _state(s, w, name):
    s = as_float_array(s, name)
    if s.shape != w.shape:
        raise ValueError(f"{name} has shape {s.shape} but w has shape {w.shape}; start it as np.zeros_like(w)")
    return s


def sgd_update(w, g, lr):
    """Plain gradient descent ``w ← w − lr g``. Shapes: ``w``, ``g`` equal; returns new ``w``."""
    w, g = _wg(w, g)
    return w - lr * g


def momentum_update(w, g, v, lr, mu=0.9):
    """Momentum ``v ← μ v − lr g``, ``w ← w + v``; start with ``v = 0``. Returns ``(w, v)``.

    Same trajectory as ``torch.optim.SGD(momentum=μ)`` (which keeps ``v / −lr``).
    """
    w, g = _wg(w, g)
    v = mu * _state(v, w, "v") - lr * g
    return w + v, v


def adagrad_update(w, g, G, lr, eps=1e-10):
    """AdaGrad ``G ← G + g²``, ``w ← w − lr g / (√G + ε)``; start ``G = 0``. Returns ``(w, G)``."""
    w, g = _wg(w, g)
    G = _state(G, w, "G") + g * g
    return w - lr * g / (np.sqrt(G) + eps), G


def rmsprop_update(w, g, s, lr, rho=0.99, eps=1e-8):
    """RMSprop ``s ← ρ s + (1 − ρ) g²``, ``w ← w − lr g / (√s + ε)``. Returns ``(w, s)``."""
    w, g = _wg(w, g)
    s = rho * _state(s, w, "s") + (1 - rho) * g * g
    return w - lr * g / (np.sqrt(s) + eps), s


def adam_update(w, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam with bias correction; ``t`` is the step number, counted from 1. Returns ``(w, m, v)``."""
    w, g = _wg(w, g)
    if int(t) != t or t < 1:
        raise ValueError(f"t is the step number and starts at 1, got {t}")
    m = beta1 * _state(m, w, "m") + (1 - beta1) * g
    v = beta2 * _state(v, w, "v") + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


class Optimizer:
    """Base class: keeps one state tuple per parameter array and updates arrays in place."""

    def __init__(self, lr):
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        self.lr = lr
        self.state: dict[int, tuple] = {}
        self.t = 0

    def step(self, params, grads):
        """Apply one update to every array in ``params`` (in place) given ``grads``."""
        params, grads = list(params), list(grads)
        if len(params) != len(grads):
            raise ValueError(f"{len(params)} parameter arrays but {len(grads)} gradients")
        self.t += 1
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            new_p, *state = self._update(p, g, self.state.get(i) or self._init(p))
            self.state[i] = tuple(state)
            p[...] = new_p

    def _init(self, p):
        return ()


class SGD(Optimizer):
    def _update(self, p, g, state):
        return (sgd_update(p, g, self.lr),)


class Momentum(Optimizer):
    def __init__(self, lr, mu=0.9):
        super().__init__(lr)
        self.mu = mu

    def _init(self, p):
        return (np.zeros_like(p),)

    def _update(self, p, g, state):
        return momentum_update(p, g, state[0], self.lr, self.mu)


class AdaGrad(Optimizer):
    def __init__(self, lr, eps=1e-10):
        super().__init__(lr)
        self.eps = eps

    def _init(self, p):
        return (np.zeros_like(p),)

    def _update(self, p, g, state):
        return adagrad_update(p, g, state[0], self.lr, self.eps)


class RMSprop(Optimizer):
    def __init__(self, lr, rho=0.99, eps=1e-8):
        super().__init__(lr)
        self.rho, self.eps = rho, eps

    def _init(self, p):
        return (np.zeros_like(p),)

    def _update(self, p, g, state):
        return rmsprop_update(p, g, state[0], self.lr, self.rho, self.eps)


class Adam(Optimizer):
    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def _init(self, p):
        return (np.zeros_like(p), np.zeros_like(p))

    def _update(self, p, g, state):
        return adam_update(p, g, *state, self.t, self.lr, self.beta1, self.beta2, self.eps)


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adagrad": AdaGrad, "rmsprop": RMSprop, "adam": Adam}
