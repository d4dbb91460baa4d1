"""Checks for lessons 04 and 05: forward and backward propagation (``ann_core.network``).

Lesson 04: ``layer_forward``, ``network_forward``.
Lesson 05: ``dense_backward``, ``activation_backward``, ``softmax_cross_entropy_delta``,
``network_backward`` (``numerical_gradient`` lives in ``checks/gradcheck.py``).

Every case list starts with square weight matrices (n_in = n_out), where a transposed ``W``
does not raise a shape error but gives wrong numbers that the mistake table can name.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import activations as act
from .. import layers
from .. import network as ref
from .spec import Case, Mistake, Spec, register


def _f(name):
    return act.ACTIVATIONS[name]


def _as_tuples(value):
    """Lists and tuples, nested, as tuples: ``check`` compares tuples item by item."""
    if isinstance(value, list | tuple):
        return tuple(_as_tuples(v) for v in value)
    return value


def _tuple_wrap(fn):
    @functools.wraps(fn)  # keep the learner's name for check's "not implemented" message
    def run(*args, **kwargs):
        return _as_tuples(fn(*args, **kwargs))
    return run


class _Layers(list):
    """A plain list of per-layer items (``(W, b)`` pairs, caches) as the learner receives it.

    Its items have different shapes, so ``np.asarray`` of it would raise; ``__array__`` lets
    failure messages describe it as ``<array (n_layers,)>`` instead.
    """

    def __array__(self, dtype=None, copy=None):
        return np.array([f"layer {i}" for i in range(len(self))])


# ---------------------------------------------------------------- lesson 04: layer_forward
def _layer_cases(rng, hidden):
    # (N, n_in, n_out, activation); the first is square so a transposed W gives numbers
    specs = [(4, 3, 3, "tanh"), (4, 3, 2, "sigmoid"), (5, 2, 4, "relu"), (3, 4, 3, "softmax"),
             (2, 3, 3, "leaky_relu"), (3, 2, 2, "identity")]
    if hidden:
        specs += [(1, 5, 5, "sigmoid"), (32, 8, 5, "relu"), (16, 6, 6, "softmax"),
                  (7, 4, 4, "tanh"), (10, 3, 7, "leaky_relu")]
    out = []
    for n, i, o, name in specs:
        X, W, b = rng.normal(size=(n, i)), rng.normal(size=(i, o)), rng.normal(size=o)
        out.append(Case((X, W, b, name), label=f"X{(n, i)} W{(i, o)} {name}"))
    if hidden:  # large |Z|: a naive sigmoid would overflow
        X = np.array([[40.0, -40.0], [-30.0, 25.0]])
        out.append(Case((X, np.array([[20.0, -20.0], [-20.0, 20.0]]), np.zeros(2), "sigmoid"),
                        label="large |Z|"))
    return out


def _lf_no_bias(X, W, b, name):
    Z = np.asarray(X) @ W
    return _f(name)(Z), (X, Z)


def _lf_transposed(X, W, b, name):
    Z = np.asarray(X) @ np.asarray(W).T + b
    return _f(name)(Z), (X, Z)


def _lf_no_activation(X, W, b, name):
    Z = np.asarray(X) @ W + b
    return Z, (X, Z)


def _lf_activation_on_x(X, W, b, name):
    Z = _f(name)(np.asarray(X)) @ W + b
    return Z, (X, Z)


def _lf_cache_a(X, W, b, name):
    A = _f(name)(np.asarray(X) @ W + b)
    return A, (X, A)


def _lf_cache_order(X, W, b, name):
    Z = np.asarray(X) @ W + b
    return _f(name)(Z), (Z, X)


def _lf_always_sigmoid(X, W, b, name):
    Z = np.asarray(X) @ W + b
    return act.sigmoid(Z), (X, Z)


register(Spec(
    "layer_forward", ref.layer_forward, _layer_cases,
    lesson="04_forward",
    forbidden=("ann_core.layers.Dense.forward",),
    mistakes=[
        Mistake("the bias b is missing: Z = X @ W + b, then A = f(Z).", _lf_no_bias),
        Mistake("W is used transposed: with W of shape (n_in, n_out) the row form is "
                "Z = X @ W + b (W.T is the articles' column-form matrix).", _lf_transposed),
        Mistake("the activation is never applied: return A = f(Z) (and keep Z in the cache).", _lf_no_activation),
        Mistake("the activation is applied to the input X; apply it to the weighted sum: "
                "A = f(X @ W + b).", _lf_activation_on_x),
        Mistake("the cache stores A instead of Z: backward needs the pre-activation, "
                "cache = (X, Z).", _lf_cache_a),
        Mistake("the cache is in the wrong order: cache = (X, Z), the layer's input first.", _lf_cache_order),
        Mistake("the activation is always the sigmoid: look the function up by its name, "
                "ACTIVATIONS[activation].", _lf_always_sigmoid),
    ],
    wrap=_tuple_wrap,
))


# ---------------------------------------------------------------- lesson 04: network_forward
def _stack(rng, sizes):
    pairs = zip(sizes, sizes[1:], strict=False)
    return [(rng.normal(size=(m, n)), rng.normal(size=n)) for m, n in pairs]


def _net_specs(hidden):
    # (N, layer sizes, activations); the first is all-square
    specs = [(4, [3, 3, 3, 3], ["tanh", "relu", "sigmoid"]),
             (3, [3, 4, 2], ["sigmoid", "sigmoid"]),
             (5, [2, 5, 3], ["relu", "softmax"]),
             (2, [4, 3, 3, 1], ["leaky_relu", "tanh", "identity"])]
    if hidden:
        specs += [(1, [5, 5, 5], ["sigmoid", "tanh"]),
                  (32, [8, 16, 16, 10], ["relu", "relu", "softmax"]),
                  (6, [3, 7, 5, 4, 2], ["tanh", "leaky_relu", "sigmoid", "identity"]),
                  (10, [6, 6], ["relu"])]
    return specs


def _network_cases(rng, hidden):
    out = []
    for n, sizes, names in _net_specs(hidden):
        X = rng.normal(size=(n, sizes[0]))
        out.append(Case((X, _Layers(_stack(rng, sizes)), list(names)),
                        label=f"X{X.shape} sizes {sizes} {names}"))
    return out


def _nf(X, params, names, *, bias=True, transpose=False, act_on_input=False, last_act=True,
        all_last=False, hidden_act=True, cache="AZ", only_last_cache=False):
    """A configurable (and mostly wrong) network_forward for the mistake table."""
    A, caches = np.asarray(X, dtype=float), []
    L = len(params)
    for idx, ((W, b), name) in enumerate(zip(params, names, strict=True)):
        f = _f(names[-1] if all_last else name)
        Wm = np.asarray(W).T if transpose else np.asarray(W)
        inp = f(A) if act_on_input else A
        Z = inp @ Wm + (b if bias else 0.0)
        last = idx == L - 1
        if act_on_input:
            A_new = Z
        elif last:
            A_new = f(Z) if last_act else Z
        else:
            A_new = f(Z) if hidden_act else Z
        caches.append({"AZ": (A, Z), "AA": (A, A_new), "out": (A_new, Z)}[cache])
        A = A_new
    return A, (caches[-1:] if only_last_cache else caches)


def _nf_no_bias(X, p, a): return _nf(X, p, a, bias=False)
def _nf_transposed(X, p, a): return _nf(X, p, a, transpose=True)
def _nf_no_last_activation(X, p, a): return _nf(X, p, a, last_act=False)
def _nf_all_last_activation(X, p, a): return _nf(X, p, a, all_last=True)
def _nf_activation_on_input(X, p, a): return _nf(X, p, a, act_on_input=True)
def _nf_no_hidden_activation(X, p, a): return _nf(X, p, a, hidden_act=False)
def _nf_cache_a(X, p, a): return _nf(X, p, a, cache="AA")
def _nf_cache_output(X, p, a): return _nf(X, p, a, cache="out")
def _nf_only_last_cache(X, p, a): return _nf(X, p, a, only_last_cache=True)


register(Spec(
    "network_forward", ref.network_forward, _network_cases,
    lesson="04_forward",
    forbidden=("ann_core.network.Sequential.forward", "ann_core.layers.Dense.forward"),
    mistakes=[
        Mistake("the bias is missing: every layer computes Z = A_prev @ W + b.", _nf_no_bias),
        Mistake("W is used transposed: with W of shape (n_in, n_out) each layer is "
                "Z = A_prev @ W + b.", _nf_transposed),
        Mistake("the last layer's activation is not applied: the output is Y = f_L(Z_L), "
                "not Z_L.", _nf_no_last_activation),
        Mistake("every layer uses the last layer's activation: layer l uses activations[l] "
                "(zip the params with the activations).", _nf_all_last_activation),
        Mistake("the activation is applied to each layer's input instead of its output: "
                "A = f(A_prev @ W + b).", _nf_activation_on_input),
        Mistake("a hidden layer passes Z on instead of A = f(Z): the next layer's input is "
                "the activation.", _nf_no_hidden_activation),
        Mistake("the caches store A instead of Z: caches[l] = (A_prev, Z), the pre-activation "
                "is what backward needs.", _nf_cache_a),
        Mistake("caches[l] must hold the layer's input A_prev (not its output A) and Z: "
                "caches[l] = (A_prev, Z).", _nf_cache_output),
        Mistake("caches must hold one (A_prev, Z) pair per layer: append inside the loop.", _nf_only_last_cache),
    ],
    wrap=_tuple_wrap,
))


# ---------------------------------------------------------------- lesson 05: dense_backward
def _dense_backward_cases(rng, hidden):
    shapes = [(4, 3, 3), (5, 3, 2), (2, 4, 3)]  # (N, n_in, n_out); square first
    if hidden:
        shapes += [(1, 5, 5), (32, 8, 10), (6, 6, 6), (3, 1, 4)]
    return [Case((rng.normal(size=(n, o)), rng.normal(size=(n, i)), rng.normal(size=(i, o))),
                 label=f"dZ{(n, o)} X{(n, i)} W{(i, o)}") for n, i, o in shapes]


def _db(dZ, X, W, dX=None, dW=None, db=None):
    dZ, X, W = np.asarray(dZ), np.asarray(X), np.asarray(W)
    return (dZ @ W.T if dX is None else dX,
            X.T @ dZ if dW is None else dW,
            dZ.sum(axis=0) if db is None else db)


def _db_dx_untransposed(dZ, X, W): return _db(dZ, X, W, dX=np.asarray(dZ) @ np.asarray(W))
def _db_dw_transposed(dZ, X, W): return _db(dZ, X, W, dW=np.asarray(dZ).T @ X)
def _db_db_unsummed(dZ, X, W): return _db(dZ, X, W, db=np.asarray(dZ))
def _db_db_mean(dZ, X, W): return _db(dZ, X, W, db=np.asarray(dZ).mean(axis=0))
def _db_db_axis1(dZ, X, W): return _db(dZ, X, W, db=np.asarray(dZ).sum(axis=1))
def _db_dw_mean(dZ, X, W): return _db(dZ, X, W, dW=np.asarray(X).T @ dZ / len(dZ))


register(Spec(
    "dense_backward", layers.dense_backward, _dense_backward_cases,
    lesson="05_backprop", kernels=("ann_core.layers._dense_backward",),
    forbidden=("ann_core.layers.Dense.backward", "ann_core.network.layer_backward"),
    mistakes=[
        Mistake("dX is missing the transpose: dX = dZ @ W.T (the row form of Wᵀδ).", _db_dx_untransposed),
        Mistake("dW is transposed: it must have W's shape (n_in, n_out), dW = X.T @ dZ "
                "(the column form's δ aᵀ is its transpose).", _db_dw_transposed),
        Mistake("db is not summed over the batch: db = dZ.sum(axis=0), one number per output "
                "unit, shape (n_out,).", _db_db_unsummed),
        Mistake("db is averaged over the batch; sum it (any 1/N of a mean loss is already "
                "inside dZ).", _db_db_mean),
        Mistake("db is summed along the wrong axis: sum over the samples (axis=0), one entry "
                "per output unit.", _db_db_axis1),
        Mistake("dW is divided by N; X.T @ dZ already sums the samples' contributions and any "
                "1/N of a mean loss is already inside dZ.", _db_dw_mean),
    ],
))


# ---------------------------------------------------------------- lesson 05: activation_backward
def _activation_backward_cases(rng, hidden):
    names = ["sigmoid", "tanh", "relu", "leaky_relu", "identity", "softmax"]
    shapes = [(4, 3), (2, 5), (3, 4), (5, 2), (3, 3), (4, 3)]
    if hidden:
        names += ["sigmoid", "tanh", "softmax", "leaky_relu"]
        shapes += [(1, 6), (16, 8), (32, 10), (2, 3, 4)]
    out = [Case((rng.normal(size=s), rng.normal(0.0, 2.0, size=s), n), label=f"{n} {s}")
           for n, s in zip(names, shapes, strict=True)]
    kink = np.array([[-1.0, 0.0, 2.0], [0.0, 3.0, -0.5]])
    out.append(Case((rng.normal(size=(2, 3)), kink, "relu"), label="relu with z = 0"))
    out.append(Case((rng.normal(size=(2, 3)), kink.copy(), "leaky_relu"),
                    label="leaky_relu with z = 0"))
    return out


def _x_one_minus_x(dA, Z, name):
    if name == "sigmoid":
        return dA * Z * (1 - Z)
    if name == "tanh":
        return dA * (1 - Z ** 2)
    return act.activation_backward(dA, Z, name)


def _relu_kink(dA, Z, name):
    Z = np.asarray(Z, dtype=float)
    if name == "relu":
        return dA * (Z >= 0)
    if name == "leaky_relu":
        return dA * np.where(Z >= 0, 1.0, act.LEAKY_SLOPE)
    return act.activation_backward(dA, Z, name)


def _ab_at_activation(dA, Z, n):
    if n == "softmax":
        return act.activation_backward(dA, Z, n)
    dA, Z = np.asarray(dA, dtype=float), np.asarray(Z, dtype=float)
    return dA * act.DERIVATIVES[n](act.ACTIVATIONS[n](Z))

def _ab_no_upstream(dA, Z, n):
    if n == "softmax":
        return act.activation_backward(dA, Z, n)
    dA, Z = np.asarray(dA, dtype=float), np.asarray(Z, dtype=float)
    return act.DERIVATIVES[n](Z) + 0 * dA

def _ab_times_activation(dA, Z, n):
    if n == "softmax":
        return act.activation_backward(dA, Z, n)
    dA, Z = np.asarray(dA, dtype=float), np.asarray(Z, dtype=float)
    return dA * act.ACTIVATIONS[n](Z)

def _ab_softmax_elementwise(dA, Z, n):
    if n != "softmax":
        return act.activation_backward(dA, Z, n)
    dA, s = np.asarray(dA, dtype=float), act.softmax(Z)
    return dA * s * (1 - s)

def _ab_softmax_whole_sum(dA, Z, n):
    if n != "softmax":
        return act.activation_backward(dA, Z, n)
    dA, s = np.asarray(dA, dtype=float), act.softmax(Z)
    return s * (dA - np.sum(dA * s))


register(Spec(
    "activation_backward", act.activation_backward, _activation_backward_cases,
    lesson="05_backprop", kernels=("ann_core.activations._backward", "ann_core.activations._softmax_backward",
                                   "ann_core.activations.softmax_backward"),
    forbidden=("ann_core.layers.Dense.backward", "ann_core.network.layer_backward"),
    mistakes=[
        Mistake("f' is evaluated at the activation f(Z) instead of at Z: the derivatives take z, "
                "so use f'(Z), e.g. σ(Z)(1 − σ(Z)).", _ab_at_activation),
        Mistake("x(1 − x) is σ' only when x is already σ(z) (and 1 − x² is tanh' only when x is "
                "tanh(z)); with Z compute σ(Z)(1 − σ(Z)) or 1 − tanh²(Z).", _x_one_minus_x),
        Mistake("multiply by the upstream gradient: dZ = dA ⊙ f'(Z), not f'(Z) alone.", _ab_no_upstream),
        Mistake("dA is multiplied by f(Z); the chain rule needs the derivative: dZ = dA ⊙ f'(Z).",
                _ab_times_activation),
        Mistake("softmax is not elementwise: dZ = s ⊙ (dA − Σ_c dA_c s_c) row by row, "
                "not dA ⊙ s(1 − s).", _ab_softmax_elementwise),
        Mistake("softmax's sum Σ_c dA_c s_c is one number per row: sum along the last axis "
                "with keepdims=True, not over the whole array.", _ab_softmax_whole_sum),
        Mistake("at z = 0 the course (and PyTorch) takes ReLU's derivative as 0 and Leaky ReLU's "
                "as the slope 0.01: the derivative is 1 only where Z > 0.", _relu_kink),
    ],
))


# ---------------------------------------------------------------- lesson 05: softmax-CE delta
def _onehot(rng, n, c):
    return np.eye(c)[rng.integers(0, c, size=n)]


def _sce_cases(rng, hidden):
    out = [Case((np.array([[0.0, 0.0, 1.0]]), np.array([[1.0, 2.0, 3.0]])),
                label="Z = [[1, 2, 3]], y = [[0, 0, 1]]")]
    for n, c in [(4, 3), (2, 5), (6, 4)] + ([(32, 10), (1, 7), (5, 2)] if hidden else []):
        out.append(Case((_onehot(rng, n, c), rng.normal(0.0, 3.0, size=(n, c))), label=f"{(n, c)}"))
    if hidden:
        soft = rng.dirichlet(np.ones(4), size=3)
        out.append(Case((soft, rng.normal(size=(3, 4))), label="soft labels"))
        out.append(Case((np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
                         np.array([[1000.0, 1001.0, 1002.0], [-5.0, 0.0, 5.0]])),
                        label="large logits"))
    return out


def _softmax_axis0(Z):
    e = np.exp(Z - Z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _softmax_naive(Z):
    e = np.exp(Z)
    return e / e.sum(axis=-1, keepdims=True)


def _sce_no_n(y, Z):
    y, Z = np.asarray(y, dtype=float), np.asarray(Z, dtype=float)
    return act.softmax(Z) - y

def _sce_axis0(y, Z):
    y, Z = np.asarray(y, dtype=float), np.asarray(Z, dtype=float)
    return (_softmax_axis0(Z) - y) / len(Z)

def _sce_per_element(y, Z):
    y, Z = np.asarray(y, dtype=float), np.asarray(Z, dtype=float)
    return (act.softmax(Z) - y) / Z.size

def _sce_sign(y, Z):
    y, Z = np.asarray(y, dtype=float), np.asarray(Z, dtype=float)
    return (y - act.softmax(Z)) / len(Z)

def _sce_no_softmax(y, Z):
    y, Z = np.asarray(y, dtype=float), np.asarray(Z, dtype=float)
    return (Z - y) / len(Z)

def _sce_naive_softmax(y, Z):
    y, Z = np.asarray(y, dtype=float), np.asarray(Z, dtype=float)
    return (_softmax_naive(Z) - y) / len(Z)


register(Spec(
    "softmax_cross_entropy_delta", ref.softmax_cross_entropy_delta, _sce_cases,
    lesson="05_backprop",
    mistakes=[
        Mistake("the 1/N is missing: the loss is the mean over the N rows, so the delta is "
                "(ŷ − y) / N with N = Z.shape[0].", _sce_no_n),
        Mistake("softmax is taken along the wrong axis: each row (axis=-1) is one sample's "
                "class distribution.", _sce_axis0),
        Mistake("divided by the number of elements N·C; the mean runs over the N samples "
                "(rows) only: divide by Z.shape[0].", _sce_per_element),
        Mistake("the sign is flipped: the delta is ŷ − y (prediction minus target).", _sce_sign),
        Mistake("softmax is missing: the delta uses the probabilities ŷ = softmax(Z), not the "
                "logits Z.", _sce_no_softmax),
        Mistake("exp overflows for large logits (e^1000 = inf): subtract each row's maximum "
                "before exp, as a stable softmax does.", _sce_naive_softmax),
    ],
))


# ---------------------------------------------------------------- lesson 05: network_backward
def _network_backward_cases(rng, hidden):
    specs = [(4, [3, 3, 3, 3], ["tanh", "sigmoid", "sigmoid"]),  # all square first
             (5, [3, 4, 2], ["sigmoid", "sigmoid"]),
             (3, [2, 5, 3], ["relu", "softmax"]),
             (6, [4, 3, 3, 1], ["leaky_relu", "tanh", "identity"])]
    if hidden:
        specs += [(1, [5, 5, 5], ["sigmoid", "tanh"]),
                  (32, [8, 16, 16, 10], ["relu", "tanh", "softmax"]),
                  (7, [3, 6, 5, 4, 2], ["tanh", "leaky_relu", "sigmoid", "identity"]),
                  (10, [6, 6], ["sigmoid"])]
    out = []
    for n, sizes, names in specs:
        X = rng.normal(size=(n, sizes[0]))
        params = _stack(rng, sizes)
        Y, caches = ref.network_forward(X, params, names)
        dY = rng.normal(size=Y.shape)
        out.append(Case((dY, _Layers(caches), _Layers(params), list(names)),
                        label=f"sizes {sizes} {names} N={n}"))
    return out


def _nb(dY, caches, params, names, *, transpose=True, at_activation=False, skip_last=False,
        skip_hidden=False, db_mode="sum", reverse=False, dW_transposed=False):
    """A configurable (and mostly wrong) network_backward for the mistake table."""
    grads, dA, L = [], np.asarray(dY, dtype=float), len(params)
    for idx in range(L - 1, -1, -1):
        (A_prev, Z), (W, _), name = caches[idx], params[idx], names[idx]
        A_prev, Z, W = np.asarray(A_prev), np.asarray(Z), np.asarray(W)
        last = idx == L - 1
        if (last and skip_last) or (not last and skip_hidden):
            dZ = dA
        elif at_activation and name != "softmax":
            dZ = dA * act.DERIVATIVES[name](act.ACTIVATIONS[name](Z))
        else:
            dZ = act.activation_backward(dA, Z, name)
        dW = dZ.T @ A_prev if dW_transposed else A_prev.T @ dZ
        db = {"sum": dZ.sum(axis=0), "none": dZ, "mean": dZ.mean(axis=0)}[db_mode]
        grads.append((dW, db))
        dA = dZ @ (W.T if transpose else W)
    return grads if reverse else grads[::-1]


def _nb_untransposed(*a): return _nb(*a, transpose=False)
def _nb_at_activation(*a): return _nb(*a, at_activation=True)
def _nb_skip_last(*a): return _nb(*a, skip_last=True)
def _nb_skip_hidden(*a): return _nb(*a, skip_hidden=True)
def _nb_db_unsummed(*a): return _nb(*a, db_mode="none")
def _nb_db_mean(*a): return _nb(*a, db_mode="mean")
def _nb_dw_transposed(*a): return _nb(*a, dW_transposed=True)
def _nb_reversed(*a): return _nb(*a, reverse=True)


register(Spec(
    "network_backward", ref.network_backward, _network_backward_cases,
    lesson="05_backprop",
    forbidden=("ann_core.network.Sequential.backward", "ann_core.layers.Dense.backward",
               "ann_core.network.layer_backward"),
    mistakes=[
        Mistake("the transpose is missing when δ goes down a layer: dA_prev = dZ @ W.T "
                "(the row form of W(l+1)ᵀ δ(l+1)).", _nb_untransposed),
        Mistake("f' is evaluated at the activation f(Z) instead of at Z: the cache holds Z, "
                "use f'(Z) (activation_backward(dA, Z, name)).", _nb_at_activation),
        Mistake("the last layer's activation derivative is skipped: dY = ∂E/∂Y still goes "
                "through f'(Z_L) (only a delta already at the logits, like the softmax-CE one, "
                "skips it).", _nb_skip_last),
        Mistake("the activation derivative is skipped in the hidden layers: "
                "δ(l) = (δ(l+1) @ W(l+1).T) ⊙ f'(Z(l)).", _nb_skip_hidden),
        Mistake("db is not summed over the batch: db = dZ.sum(axis=0), shape (n_out,).", _nb_db_unsummed),
        Mistake("db is averaged over the batch; sum it (any 1/N of a mean loss is already "
                "inside dY).", _nb_db_mean),
        Mistake("dW is transposed: it must have W's shape (n_in, n_out), dW = A_prev.T @ dZ.", _nb_dw_transposed),
        Mistake("the gradients are in backward order (last layer first); return them in layer "
                "order, grads[0] for the first layer: reverse the list.", _nb_reversed),
    ],
    wrap=_tuple_wrap,
))
