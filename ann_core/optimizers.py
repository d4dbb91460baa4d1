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

Each rule is written once, in a private kernel (``_sgd``, ``_adam``, …) that updates
checked float64 arrays in place. The functions above check their input, copy it and apply
the kernel, so they stay pure.

Four closed forms say what the rules do (lessons 07-10 ask the learner to derive them):
``momentum_velocity`` (the velocity after k steps of a constant gradient), ``adagrad_effective_lr``
(the rate of every step of a gradient history), ``rmsprop_step_sizes`` and ``adam_first_steps``
(the first steps for a constant gradient, Adam's with and without bias correction).

The classes ``SGD, Momentum, AdaGrad, RMSprop, Adam`` keep the state for a list of
parameter arrays and update those arrays in place: ``opt.step(net.params, net.grads)``.
Each step applies the kernel once, to all the arrays joined into one vector: the same
numbers as one call of the function per array, bit for bit.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array


def _wg(w, g):
    """A float64 copy of ``w`` (to update) and ``g`` as float64, checked to match."""
    w = np.array(as_float_array(w, "w"))
    g = as_float_array(g, "g")
    if w.shape != g.shape:
        raise ValueError(f"w has shape {w.shape} but its gradient g has shape {g.shape}")
    return w, g


def _state(s, w, name):
    """A float64 copy of the state ``s`` (to update), checked to match ``w``."""
    s = np.array(as_float_array(s, name))
    if s.shape != w.shape:
        raise ValueError(f"{name} has shape {s.shape} but w has shape {w.shape}; start it as np.zeros_like(w)")
    return s


# ------------------------------------------------------------------ kernels (in place)
def _sgd(w, g, lr):
    w -= lr * g


def _momentum(w, g, v, lr, mu):
    v *= mu
    v -= lr * g
    w += v


def _adagrad(w, g, G, lr, eps):
    G += g * g
    w -= lr * g / (np.sqrt(G) + eps)


def _rmsprop(w, g, s, lr, rho, eps):
    s *= rho
    s += (1 - rho) * g * g
    w -= lr * g / (np.sqrt(s) + eps)


def _adam(w, g, m, v, t, lr, beta1, beta2, eps):
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    w -= lr * m_hat / (np.sqrt(v_hat) + eps)


# ------------------------------------------------------------------ the update functions
def sgd_update(w, g, lr):
    """Plain gradient descent ``w ← w − lr g``. Shapes: ``w``, ``g`` equal; returns new ``w``."""
    w, g = _wg(w, g)
    _sgd(w, g, lr)
    return w


def momentum_update(w, g, v, lr, mu=0.9):
    """Momentum ``v ← μ v − lr g``, ``w ← w + v``; start with ``v = 0``. Returns ``(w, v)``.

    Same trajectory as ``torch.optim.SGD(momentum=μ)`` (which keeps ``v / −lr``).
    """
    w, g = _wg(w, g)
    v = _state(v, w, "v")
    _momentum(w, g, v, lr, mu)
    return w, v


def adagrad_update(w, g, G, lr, eps=1e-10):
    """AdaGrad ``G ← G + g²``, ``w ← w − lr g / (√G + ε)``; start ``G = 0``. Returns ``(w, G)``."""
    w, g = _wg(w, g)
    G = _state(G, w, "G")
    _adagrad(w, g, G, lr, eps)
    return w, G


def rmsprop_update(w, g, s, lr, rho=0.99, eps=1e-8):
    """RMSprop ``s ← ρ s + (1 − ρ) g²``, ``w ← w − lr g / (√s + ε)``. Returns ``(w, s)``."""
    w, g = _wg(w, g)
    s = _state(s, w, "s")
    _rmsprop(w, g, s, lr, rho, eps)
    return w, s


def adam_update(w, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam with bias correction; ``t`` is the step number, counted from 1. Returns ``(w, m, v)``."""
    w, g = _wg(w, g)
    if int(t) != t or t < 1:
        raise ValueError(f"t is the step number and starts at 1, got {t}")
    m, v = _state(m, w, "m"), _state(v, w, "v")
    _adam(w, g, m, v, t, lr, beta1, beta2, eps)
    return w, m, v


# ------------------------------------------------------------------ what the rules do (closed forms)
# Lessons 07-10 ask the learner to derive these from the update rules; tests/test_ann_optimizers.py
# checks each against the update function run step by step.
def momentum_velocity(g, lr, mu, k):
    """The momentum velocity after ``k`` steps of a constant gradient ``g``, from ``v = 0``.

    ``v ← μ v − lr g`` unrolls to a geometric series:
    ``v_k = −lr g (1 + μ + … + μ^(k−1)) = −lr g (1 − μ^k) / (1 − μ)``  (``= −lr g k`` for μ = 1).
    ``k = np.inf`` gives the limit ``−lr g / (1 − μ)`` (needs ``0 ≤ μ < 1``).

    g : array (any shape) — the constant gradient.  lr, mu : floats.  k : int ≥ 0, or ``np.inf``.
    Returns ``v_k``, an array of ``g``'s shape.  Example: ``g = 1, lr = 1, μ = 0.9, k = 3`` → ``−2.71``.
    """
    g = as_float_array(g, "g")
    if not (k == np.inf or (int(k) == k and k >= 0)):
        raise ValueError(f"k is a number of steps (an integer ≥ 0, or np.inf for the limit), got {k}")
    if not 0 <= mu <= 1:
        raise ValueError(f"the momentum coefficient mu must be in [0, 1], got {mu}")
    if k == np.inf:
        if mu == 1:
            raise ValueError("with mu = 1 the velocity grows without limit (k = np.inf needs mu < 1)")
        return -lr * g / (1 - mu)
    factor = float(k) if mu == 1 else (1 - mu**k) / (1 - mu)
    return -lr * g * factor


def adagrad_effective_lr(grads, lr, eps=1e-10):
    """AdaGrad's effective learning rate ``lr / (√G_t + ε)`` at every step of a gradient history.

    ``G_t = g_1² + … + g_t²`` is the sum that ``adagrad_update`` holds *after* step ``t`` (the one
    step ``t`` divides by), elementwise, from ``G = 0``; ε outside the square root.

    grads : array (T, ...) — the gradient of each step, ``grads[t − 1]`` at step ``t``.
    Returns an array of ``grads``' shape: row ``t − 1`` is the rate used at step ``t``.
    Example: ``grads = [[3], [4]], lr = 1`` → ``[[1/3], [1/5]]``.
    """
    grads = as_float_array(grads, "grads")
    if grads.ndim < 1:
        raise ValueError("grads is a history of gradients, shape (T, ...): one row per step")
    return lr / (np.sqrt(np.cumsum(grads * grads, axis=0)) + eps)


def rmsprop_step_sizes(g, lr, steps, rho=0.99, eps=1e-8):
    """The step lengths ``|Δw_k|`` of RMSprop, ``k = 1 … steps``, for a constant gradient ``g``, ``s = 0`` first.

    ``s ← ρ s + (1 − ρ) g²`` gives ``s_k = (1 − ρ^k) g²``, so
    ``|Δw_k| = lr |g| / (√s_k + ε) = lr |g| / (√(1 − ρ^k) |g| + ε)``, which tends to ``lr`` (for
    ``|g| ≫ ε``): the step length forgets the size of the gradient.

    g : array (any shape).  steps : int ≥ 1.  Returns an array (steps, *g.shape).
    Example: ``g = 1, lr = 0.1, ρ = 0.9``: ``0.1/√0.1 = 0.3162, 0.1/√0.19 = 0.2294, …``
    """
    g = as_float_array(g, "g")
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps is a number of steps (an integer ≥ 1), got {steps}")
    k = np.arange(1, int(steps) + 1, dtype=np.float64).reshape((-1,) + (1,) * g.ndim)
    return lr * np.abs(g) / (np.sqrt(1 - rho**k) * np.abs(g) + eps)


def adam_first_steps(g, lr, steps, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam's first ``steps`` updates ``Δw_t``, with and without bias correction, for a constant ``g``.

    From ``m = v = 0``: ``m_t = (1 − β1^t) g`` and ``v_t = (1 − β2^t) g²``.  With the correction
    ``m̂ = g``, ``√v̂ = |g|`` and ``Δw_t = −lr g / (|g| + ε)`` (about ``−lr·sign(g)`` at every ``t``);
    without it ``Δw_t = −lr (1 − β1^t) g / (√(1 − β2^t) |g| + ε)``: ``(1 − β1)/√(1 − β2) ≈ 3.16`` times
    longer at ``t = 1`` for the default β's.

    g : array (any shape).  steps : int ≥ 1.
    Returns ``(corrected, uncorrected)``, two arrays (steps, *g.shape) of signed updates.
    Example: ``g = 2, lr = 0.1``, default β's, ``t = 1``: ``(−0.1, −0.3162)``.
    """
    g = as_float_array(g, "g")
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps is a number of steps (an integer ≥ 1), got {steps}")
    t = np.arange(1, int(steps) + 1, dtype=np.float64).reshape((-1,) + (1,) * g.ndim)
    ones = np.ones_like(t)
    corrected = -lr * g * ones / (np.abs(g) + eps)
    uncorrected = -lr * (1 - beta1**t) * g / (np.sqrt(1 - beta2**t) * np.abs(g) + eps)
    return corrected, uncorrected


# ------------------------------------------------------------------ stateful optimizers
class Optimizer:
    """Base class: keeps the state for a list of parameter arrays and updates them in place.

    ``step`` joins the parameters and the gradients into one flat vector each and applies
    the kernel once to them. Every rule is elementwise, so the numbers are exactly those
    of one call per array; one call instead of one per array matters for small layers,
    whose cost is NumPy's per-call overhead rather than arithmetic. The state (``v``, ``G``,
    ``s`` or ``m, v``) is kept flat too; ``state`` shows it per array.
    """

    n_state = 0  # how many state vectors the rule keeps (v; G; s; m and v)

    def __init__(self, lr):
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        self.lr = lr
        self.t = 0
        self._shapes: tuple | None = None  # the arrays' shapes, fixed by the first step
        self._flat_state: tuple = ()
        self._w = self._g = None  # the joined parameters and gradients
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
        self._flat_state = tuple(np.zeros(sum(sizes)) for _ in range(self.n_state))
        self._shapes = shapes

    def step(self, params, grads, *, check_input: bool = True):
        """Apply one update to every array in ``params`` (in place) given ``grads``.

        ``check_input=False`` skips the checks that the gradients are float arrays of the
        parameters' shapes (for the training loop, whose gradients come from the layers).
        """
        params, grads = list(params), list(grads)
        if check_input:
            grads = _check_step(params, grads)
        shapes = tuple(p.shape for p in params)
        if shapes != self._shapes:
            if self._shapes is not None:
                raise ValueError(
                    f"this optimizer updated parameter arrays of shapes {self._shapes} and is now "
                    f"given shapes {shapes}: use one optimizer per network"
                )
            self._layout(shapes)
        if params:
            np.concatenate([p.ravel() for p in params], out=self._w)
            np.concatenate([g.ravel() for g in grads], out=self._g)
        self.t += 1
        self._update(self._w, self._g, *self._flat_state)
        for p, view in zip(params, self._w_views, strict=True):
            p[...] = view


def _check_step(params, grads):
    """``grads`` as float64 arrays, checked against ``params`` (float arrays, updated in place)."""
    if len(params) != len(grads):
        raise ValueError(f"{len(params)} parameter arrays but {len(grads)} gradients")
    checked = []
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        if not (isinstance(p, np.ndarray) and p.dtype.kind == "f"):
            what = f"array of dtype {p.dtype}" if isinstance(p, np.ndarray) else type(p).__name__
            raise TypeError(f"params[{i}] must be a float NumPy array (the optimizer updates it in "
                            f"place), got {what}")
        g = as_float_array(g, "g")
        if g.shape != p.shape:
            raise ValueError(f"w has shape {p.shape} but its gradient g has shape {g.shape}")
        checked.append(g)
    return checked


class SGD(Optimizer):
    def _update(self, w, g):
        _sgd(w, g, self.lr)


class Momentum(Optimizer):
    n_state = 1

    def __init__(self, lr, mu=0.9):
        super().__init__(lr)
        self.mu = mu

    def _update(self, w, g, v):
        _momentum(w, g, v, self.lr, self.mu)


class AdaGrad(Optimizer):
    n_state = 1

    def __init__(self, lr, eps=1e-10):
        super().__init__(lr)
        self.eps = eps

    def _update(self, w, g, G):
        _adagrad(w, g, G, self.lr, self.eps)


class RMSprop(Optimizer):
    n_state = 1

    def __init__(self, lr, rho=0.99, eps=1e-8):
        super().__init__(lr)
        self.rho, self.eps = rho, eps

    def _update(self, w, g, s):
        _rmsprop(w, g, s, self.lr, self.rho, self.eps)


class Adam(Optimizer):
    n_state = 2

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def _update(self, w, g, m, v):
        _adam(w, g, m, v, self.t, self.lr, self.beta1, self.beta2, self.eps)


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adagrad": AdaGrad, "rmsprop": RMSprop, "adam": Adam}
