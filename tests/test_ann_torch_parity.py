"""ann_core against PyTorch in float64 (optional: skipped when torch is not installed).

Install with ``pip install torch==2.13.0`` (the ``torch`` extra). Seeds here are in the
9000s, apart from anything ann_core's own checks draw.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from ann_core import activations as act  # noqa: E402
from ann_core import losses as L  # noqa: E402
from ann_core import optimizers as O  # noqa: E402
from ann_core.layers import Dense  # noqa: E402
from ann_core.network import Sequential  # noqa: E402

RTOL, ATOL = 1e-10, 1e-12


def T(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def close(ours, theirs, rtol=RTOL, atol=ATOL):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    np.testing.assert_allclose(np.asarray(ours, dtype=np.float64), theirs, rtol=rtol, atol=atol)


# ---------------------------------------------------------------- activations
TORCH_ACTS = {
    "sigmoid": (act.sigmoid, act.sigmoid_grad, torch.sigmoid),
    "tanh": (act.tanh, act.tanh_grad, torch.tanh),
    "relu": (act.relu, act.relu_grad, torch.relu),
    "leaky_relu": (act.leaky_relu, act.leaky_relu_grad, lambda x: F.leaky_relu(x, 0.01)),
}


@pytest.mark.parametrize("name", sorted(TORCH_ACTS))
def test_activation_and_derivative_match_autograd(name):
    f, df, tf = TORCH_ACTS[name]
    rng = np.random.default_rng(9001)
    z = np.concatenate([rng.normal(0, 3, size=40), [0.0, -0.0, 1e-300, -1e-300, 40.0, -40.0]])
    x = T(z, grad=True)
    y = tf(x)
    y.sum().backward()
    close(f(z), y)
    close(df(z), x.grad)  # includes the kink at 0: relu'(0) = 0, leaky_relu'(0) = 0.01


def test_sigmoid_at_extremes_matches_torch():
    z = np.array([-1000.0, -745.0, -36.0, 36.0, 745.0, 1000.0])
    close(act.sigmoid(z), torch.sigmoid(T(z)), rtol=1e-12, atol=1e-300)  # subnormals


def test_softmax_and_its_backward_match_autograd():
    rng = np.random.default_rng(9002)
    Z = rng.normal(0, 4, size=(6, 7))
    Z[0] += 800.0  # a row of huge scores
    G = rng.normal(size=(6, 7))
    x = T(Z, grad=True)
    s = torch.softmax(x, dim=-1)
    (s * T(G)).sum().backward()
    close(act.softmax(Z), s)
    close(act.softmax_backward(G, act.softmax(Z)), x.grad)
    close(act.activation_backward(G, Z, "softmax"), x.grad)
    Z3 = rng.normal(size=(2, 3, 4))
    close(act.softmax(Z3), torch.softmax(T(Z3), dim=-1))


# ---------------------------------------------------------------- losses
def _grad_of(loss_fn, t, p, **kw):
    x = T(p, grad=True)
    value = loss_fn(x, T(t), **kw)
    value.backward()
    return value, x.grad


@pytest.mark.parametrize("shape", [(9,), (4, 5)])
def test_regression_losses_match_torch(shape):
    rng = np.random.default_rng(9003)
    t, p = rng.normal(size=shape), rng.normal(0, 2, size=shape)
    v, g = _grad_of(F.mse_loss, t, p)
    assert L.mse(t, p) == pytest.approx(v.item(), rel=1e-12)
    close(L.mse_grad(t, p), g)
    v, g = _grad_of(F.l1_loss, t, p)
    assert L.mae(t, p) == pytest.approx(v.item(), rel=1e-12)
    close(L.mae_grad(t, p), g)
    v, g = _grad_of(lambda x, y: 0.5 * F.mse_loss(x, y, reduction="sum"), t, p)
    assert L.half_sse(t, p) == pytest.approx(v.item(), rel=1e-12)
    close(L.half_sse_grad(t, p), g)


@pytest.mark.parametrize("delta", [1.0, 0.3, 2.5])
def test_huber_matches_torch(delta):
    rng = np.random.default_rng(9004)
    t, p = rng.normal(size=(5, 4)), rng.normal(0, 2, size=(5, 4))
    v, g = _grad_of(F.huber_loss, t, p, delta=delta)
    assert L.huber(t, p, delta=delta) == pytest.approx(v.item(), rel=1e-12)
    close(L.huber_grad(t, p, delta=delta), g)
    module = torch.nn.HuberLoss(delta=delta)
    assert L.huber(t, p, delta=delta) == pytest.approx(module(T(p), T(t)).item(), rel=1e-12)


def test_binary_cross_entropy_matches_torch():
    rng = np.random.default_rng(9005)
    p = rng.uniform(0.01, 0.99, size=(6, 3))
    for t in (rng.integers(0, 2, size=(6, 3)).astype(float), rng.uniform(size=(6, 3))):
        v, g = _grad_of(F.binary_cross_entropy, t, p)
        assert L.binary_cross_entropy(t, p) == pytest.approx(v.item(), rel=1e-12)
        close(L.binary_cross_entropy_grad(t, p), g)


def test_categorical_cross_entropy_matches_torch():
    rng = np.random.default_rng(9006)
    n, c = 8, 5
    P = act.softmax(rng.normal(0, 2, size=(n, c)))
    labels = rng.integers(0, c, size=n)
    Y = np.eye(c)[labels]
    x = T(P, grad=True)
    nll = F.nll_loss(torch.log(x), torch.tensor(labels))
    nll.backward()
    assert L.categorical_cross_entropy(Y, P) == pytest.approx(nll.item(), rel=1e-12)
    close(L.categorical_cross_entropy_grad(Y, P), x.grad)
    # cross_entropy with probability targets on log-probabilities (log_softmax(log p) = log p)
    ce = F.cross_entropy(torch.log(T(P)), T(Y))
    assert L.categorical_cross_entropy(Y, P) == pytest.approx(ce.item(), rel=1e-12)


def torch_focal(p, t, alpha, gamma):
    """torchvision.ops.sigmoid_focal_loss, reduction='mean', on probabilities instead of logits."""
    ce = F.binary_cross_entropy(p, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * ((1 - p_t) ** gamma)
    alpha_t = alpha * t + (1 - alpha) * (1 - t)
    return (alpha_t * loss).mean()


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("alpha", [0.25, 0.75])
def test_focal_loss_matches_torchvision_formula(alpha, gamma):
    rng = np.random.default_rng(9007)
    t = rng.integers(0, 2, size=(7, 2)).astype(float)
    p = rng.uniform(0.02, 0.98, size=(7, 2))
    v, g = _grad_of(torch_focal, t, p, alpha=alpha, gamma=gamma)
    assert L.focal_loss(t, p, alpha=alpha, gamma=gamma) == pytest.approx(v.item(), rel=1e-12)
    close(L.focal_loss_grad(t, p, alpha=alpha, gamma=gamma), g)


# ---------------------------------------------------------------- optimizers
def _gradient_sequence(seed, steps=25, shape=(3, 2)):
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 1 + k % 3, size=shape) for k in range(steps)]


def _torch_path(make_opt, w0, grads):
    p = T(w0, grad=True)
    opt = make_opt([p])
    path = []
    for g in grads:
        opt.zero_grad()
        p.grad = T(g)
        opt.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


def _ours_path(name, w0, grads, lr, **kw):
    """The pure update function's trajectory fed the given gradients in turn."""
    from test_ann_optimizers import run_pure

    it = iter(grads)
    return np.array(run_pure(name, lr, len(grads), w0=w0, grad_fn=lambda w: next(it), **kw))


def _class_path(opt, w0, grads):
    w = np.array(w0, dtype=float)
    path = []
    for g in grads:
        opt.step([w], [g])
        path.append(w.copy())
    return np.array(path)


OPTIM_CASES = [
    ("sgd", 0.1, {}, lambda ps: torch.optim.SGD(ps, lr=0.1), lambda: O.SGD(0.1)),
    ("momentum", 0.05, {"mu": 0.9},
     lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9), lambda: O.Momentum(0.05, mu=0.9)),
    ("adagrad", 0.3, {}, lambda ps: torch.optim.Adagrad(ps, lr=0.3), lambda: O.AdaGrad(0.3)),
    ("rmsprop", 0.01, {"rho": 0.99},
     lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.99), lambda: O.RMSprop(0.01)),
    ("rmsprop", 0.02, {"rho": 0.8, "eps": 1e-5},
     lambda ps: torch.optim.RMSprop(ps, lr=0.02, alpha=0.8, eps=1e-5),
     lambda: O.RMSprop(0.02, rho=0.8, eps=1e-5)),
    ("adam", 1e-3, {}, lambda ps: torch.optim.Adam(ps), lambda: O.Adam()),
    ("adam", 0.05, {"beta1": 0.5, "beta2": 0.9, "eps": 1e-4},
     lambda ps: torch.optim.Adam(ps, lr=0.05, betas=(0.5, 0.9), eps=1e-4),
     lambda: O.Adam(0.05, beta1=0.5, beta2=0.9, eps=1e-4)),
]
OPTIM_IDS = ["sgd", "momentum", "adagrad", "rmsprop", "rmsprop-alpha0.8", "adam", "adam-betas"]


@pytest.mark.parametrize(("name", "lr", "kw", "make_torch", "make_ours"), OPTIM_CASES,
                         ids=OPTIM_IDS)
def test_optimizer_trajectory_on_random_gradients(name, lr, kw, make_torch, make_ours):
    rng = np.random.default_rng(9010)
    w0 = rng.normal(size=(3, 2))
    grads = _gradient_sequence(9011)
    theirs = _torch_path(make_torch, w0, grads)
    close(_ours_path(name, w0, grads, lr, **kw), theirs)
    close(_class_path(make_ours(), w0, grads), theirs)


@pytest.mark.parametrize(("name", "lr", "kw", "make_torch", "make_ours"), OPTIM_CASES,
                         ids=OPTIM_IDS)
def test_optimizer_trajectory_on_a_quadratic(name, lr, kw, make_torch, make_ours):
    rng = np.random.default_rng(9012)
    M = rng.normal(size=(4, 4))
    A = M @ M.T + 0.5 * np.eye(4)
    w0 = rng.normal(size=4)

    p = T(w0, grad=True)
    opt = make_torch([p])
    theirs = []
    for _ in range(25):
        opt.zero_grad()
        (0.5 * p @ T(A) @ p).backward()
        opt.step()
        theirs.append(p.detach().numpy().copy())

    w, state, ours = w0.copy(), make_ours(), []
    for _ in range(25):
        state.step([w], [A @ w])
        ours.append(w.copy())
    close(np.array(ours), np.array(theirs), rtol=1e-9, atol=1e-11)


# ---------------------------------------------------------------- layers and networks
@pytest.mark.parametrize("name", ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softmax"])
def test_dense_backward_matches_torch_linear(name):
    rng = np.random.default_rng(9013)
    X, G = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    layer = Dense(4, 3, name, rng=rng, b=rng.normal(size=3))

    lin = torch.nn.Linear(4, 3, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(T(layer.W.T))  # torch keeps (n_out, n_in)
        lin.bias.copy_(T(layer.b))
    tact = {"identity": lambda z: z, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
            "relu": torch.relu, "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
            "softmax": lambda z: torch.softmax(z, dim=-1)}[name]
    x = T(X, grad=True)
    out = tact(lin(x))
    (out * T(G)).sum().backward()

    close(layer.forward(X), out)
    close(layer.backward(G), x.grad)
    close(layer.dW, lin.weight.grad.T)
    close(layer.db, lin.bias.grad)


def test_sequential_relu_softmax_cross_entropy_matches_torch():
    rng = np.random.default_rng(9014)
    net = Sequential.from_sizes([6, 8, 4], ["relu", "softmax"], seed=9015)
    X = rng.normal(size=(10, 6))
    labels = rng.integers(0, 4, size=10)
    Y = np.eye(4)[labels]

    l1, l2 = torch.nn.Linear(6, 8, dtype=torch.float64), torch.nn.Linear(8, 4, dtype=torch.float64)
    with torch.no_grad():
        for lin, layer in ((l1, net.layers[0]), (l2, net.layers[1])):
            lin.weight.copy_(T(layer.W.T))
            lin.bias.copy_(T(layer.b))
    logits = l2(torch.relu(l1(T(X))))
    loss = F.cross_entropy(logits, torch.tensor(labels))
    loss.backward()

    P = net.forward(X)
    assert L.categorical_cross_entropy(Y, P) == pytest.approx(loss.item(), rel=1e-12)
    net.backward(L.categorical_cross_entropy_grad(Y, P))
    close(net.layers[0].dW, l1.weight.grad.T)
    close(net.layers[0].db, l1.bias.grad)
    close(net.layers[1].dW, l2.weight.grad.T)
    close(net.layers[1].db, l2.bias.grad)
