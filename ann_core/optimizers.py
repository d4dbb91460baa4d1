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
Each step applies the rule once, to all the arrays joined into one vector (SGD, Momentum,
AdaGrad and RMSprop through the functions above; Adam performs ``adam_update``'s operations
in place): the same numbers as one call of the function per array, bit for bit.
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


_F64 = np.dtype(np.float64)


class Optimizer:
    """Base class: keeps the state for a list of parameter arrays and updates them in place.

    ``step`` joins the parameters and the gradients into one flat vector each and calls the
    update rule once on them. Every rule is elementwise, so the numbers are exactly those
    of one call per array; one call instead of one per array matters for small layers,
    whose cost is NumPy's per-call overhead rather than arithmetic. The state (``v``, ``G``,
    ``s`` or ``m, v``) is kept flat too; ``state`` shows it per array.
    """

    def __init__(self, lr):
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        self.lr = lr
        self.t = 0
        self._flat_state: tuple = ()
        self._shapes: tuple | None = None  # the arrays' shapes, fixed by the first step
        self._w = self._g = None  # buffers for the joined parameters and gradients
        self._w_views: tuple = ()  # self._w seen as the parameter arrays

    @property
    def state(self) -> dict[int, tuple]:
        """The state of each parameter array, ``{index: (array, ...)}`` (views, not copies)."""
        out, start = {}, 0
        for i, shape in enumerate(self._shapes or ()):
            stop = start + int(np.prod(shape, dtype=np.int64))
            out[i] = tuple(s[start:stop].reshape(shape) for s in self._flat_state)
            start = stop
        return out

    def _layout(self, shapes):
        sizes = [int(np.prod(shape, dtype=np.int64)) for shape in shapes]
        self._w, self._g = np.empty(sum(sizes)), np.empty(sum(sizes))
        ends = np.cumsum([0] + sizes)
        self._w_views = tuple(self._w[a:b].reshape(shape)
                              for a, b, shape in zip(ends[:-1], ends[1:], shapes, strict=True))
        self._flat_state = self._init(self._w)
        self._shapes = shapes

    def step(self, params, grads):
        """Apply one update to every array in ``params`` (in place) given ``grads``."""
        params, grads = list(params), list(grads)
        if len(params) != len(grads):
            raise ValueError(f"{len(params)} parameter arrays but {len(grads)} gradients")
        shapes = tuple(p.shape if type(p) is np.ndarray else np.shape(p) for p in params)
        gs = []
        for g, shape in zip(grads, shapes, strict=True):
            if not (type(g) is np.ndarray and g.dtype is _F64):
                g = as_float_array(g, "g")
            if g.shape != shape:
                raise ValueError(f"w has shape {shape} but its gradient g has shape {g.shape}")
            gs.append(g.ravel())
        if shapes != self._shapes:
            if self._shapes is not None:
                raise ValueError(
                    f"this optimizer updated parameter arrays of shapes {self._shapes} and is now "
                    f"given shapes {shapes}: use one optimizer per network"
                )
            self._layout(shapes)
        if params:
            np.concatenate([(p if type(p) is np.ndarray and p.dtype is _F64 else as_float_array(p, "w"))
                            .ravel() for p in params], out=self._w)
            np.concatenate(gs, out=self._g)
        self.t += 1
        new_w, *state = self._update(self._w, self._g, self._flat_state)
        self._flat_state = tuple(state)
        if new_w is self._w:  # updated in place (Adam): the views see it
            for p, view in zip(params, self._w_views, strict=True):
                p[...] = view
        else:
            start = 0
            for p in params:
                stop = start + p.size
                p[...] = new_w[start:stop].reshape(p.shape)
                start = stop

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
        self._scratch = (np.zeros(0), np.zeros(0))

    def _init(self, p):
        return (np.zeros_like(p), np.zeros_like(p))

    def _update(self, p, g, state):
        """``adam_update``'s operations in its order, written into ``p``, ``m``, ``v`` and two
        scratch arrays instead of new arrays: the same numbers bit for bit, with fewer
        allocations (the training loop's hot spot). ``p`` is ``step``'s joined copy."""
        m, v = state
        beta1, beta2, t = self.beta1, self.beta2, self.t
        if self._scratch[0].shape != p.shape:
            self._scratch = (np.empty_like(p), np.empty_like(p))
        a, b = self._scratch
        m *= beta1  # m ← β1 m + (1 − β1) g
        np.multiply(1 - beta1, g, out=a)
        m += a
        v *= beta2  # v ← β2 v + (1 − β2) g²
        np.multiply(1 - beta2, g, out=a)
        a *= g
        v += a
        np.divide(m, 1 - beta1**t, out=a)  # lr · m̂
        a *= self.lr
        np.divide(v, 1 - beta2**t, out=b)  # √v̂ + ε
        np.sqrt(b, out=b)
        b += self.eps
        a /= b
        p -= a
        return p, m, v


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adagrad": AdaGrad, "rmsprop": RMSprop, "adam": Adam}
