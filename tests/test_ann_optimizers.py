"""ann_core.optimizers and ann_core.training: update rules, convergence, purity, the fit loop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ann_core import datasets, losses, training
from ann_core import optimizers as O
from ann_core.network import Sequential

# ---------------------------------------------------------------- a convex, ill-conditioned bowl
_TH = 0.5
_Q = np.array([[math.cos(_TH), -math.sin(_TH)], [math.sin(_TH), math.cos(_TH)]])
A = _Q @ np.diag([1.0, 25.0]) @ _Q.T  # condition number 25, axes not aligned with w's
W0 = np.array([2.0, -1.5])


def f(w):
    return 0.5 * w @ A @ w


def grad(w):
    return A @ w


def run_pure(name, lr, steps, w0=W0, grad_fn=grad, **kw):
    """Trajectory of the pure update function ``name`` from ``w0``: a list of w's."""
    w = np.array(w0, dtype=float)
    s1, s2 = np.zeros_like(w), np.zeros_like(w)
    path = []
    for t in range(1, steps + 1):
        g = grad_fn(w)
        if name == "sgd":
            w = O.sgd_update(w, g, lr)
        elif name == "momentum":
            w, s1 = O.momentum_update(w, g, s1, lr, **kw)
        elif name == "adagrad":
            w, s1 = O.adagrad_update(w, g, s1, lr, **kw)
        elif name == "rmsprop":
            w, s1 = O.rmsprop_update(w, g, s1, lr, **kw)
        elif name == "adam":
            w, s1, s2 = O.adam_update(w, g, s1, s2, t, lr, **kw)
        path.append(w.copy())
    return path


CONFIGS = [
    ("sgd", 0.07, {}),
    ("momentum", 0.01, {}),
    ("momentum", 0.005, {"mu": 0.95}),
    ("adagrad", 1.0, {}),
    ("rmsprop", 0.03, {}),
    ("rmsprop", 0.01, {"rho": 0.9, "eps": 1e-6}),
    ("adam", 0.1, {}),
    ("adam", 0.05, {"beta1": 0.8, "beta2": 0.99, "eps": 1e-6}),
]


@pytest.mark.parametrize(("name", "lr", "kw"), CONFIGS)
def test_pure_update_minimises_an_ill_conditioned_quadratic(name, lr, kw):
    path = run_pure(name, lr, 300, **kw)
    assert f(path[-1]) < 1e-3 * f(W0)
    assert np.linalg.norm(path[-1]) < 0.05 * np.linalg.norm(W0)


@pytest.mark.parametrize(("name", "lr", "kw"), CONFIGS)
def test_pure_update_does_not_modify_its_inputs(name, lr, kw):
    rng = np.random.default_rng(401)
    w, g = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    s1, s2 = rng.uniform(size=(3, 2)), rng.uniform(size=(3, 2))
    before = [a.copy() for a in (w, g, s1, s2)]
    if name == "sgd":
        out = (O.sgd_update(w, g, lr),)
    elif name == "adam":
        out = O.adam_update(w, g, s1, s2, 3, lr, **kw)
    else:
        out = getattr(O, f"{name}_update")(w, g, s1, lr, **kw)
    for a, b in zip((w, g, s1, s2), before, strict=True):
        np.testing.assert_array_equal(a, b)
    for new in out:
        assert new.shape == w.shape
        assert not any(np.shares_memory(new, a) for a in (w, g, s1, s2))
    assert not np.array_equal(out[0], w)


# ---------------------------------------------------------------- the rules, step by step
def test_sgd_and_momentum_by_hand():
    np.testing.assert_allclose(O.sgd_update([1.0, -2.0], [0.5, 0.25], 0.1), [0.95, -2.025])
    w, v = O.momentum_update([1.0], [2.0], [0.0], 0.1, mu=0.9)
    np.testing.assert_allclose((w, v), ([0.8], [-0.2]))
    w, v = O.momentum_update(w, [1.0], v, 0.1, mu=0.9)  # v = 0.9·(−0.2) − 0.1 = −0.28
    np.testing.assert_allclose((w, v), ([0.52], [-0.28]))


def test_first_steps_of_adaptive_methods_by_hand():
    g = np.array([4.0, -0.01])
    # AdaGrad: G = g², w − lr g / (|g| + eps) ≈ w − lr sign(g)
    w, G = O.adagrad_update(np.zeros(2), g, np.zeros(2), 0.5)
    np.testing.assert_allclose(G, g * g)
    np.testing.assert_allclose(w, -0.5 * g / (np.abs(g) + 1e-10), rtol=1e-15)
    # RMSprop: s = 0.01 g², w − lr g / (0.1 |g| + eps)
    w, s = O.rmsprop_update(np.zeros(2), g, np.zeros(2), 0.01)
    np.testing.assert_allclose(s, 0.01 * g * g, rtol=1e-15)
    np.testing.assert_allclose(w, -0.01 * g / (0.1 * np.abs(g) + 1e-8), rtol=1e-14)
    # Adam, t = 1: bias correction makes m̂ = g and v̂ = g², a step of lr against sign(g)
    w, m, v = O.adam_update(np.zeros(2), g, np.zeros(2), np.zeros(2), 1, 0.001)
    np.testing.assert_allclose(m, 0.1 * g, rtol=1e-15)
    np.testing.assert_allclose(v, 0.001 * g * g, rtol=1e-12)
    np.testing.assert_allclose(w, -0.001 * g / (np.abs(g) + 1e-8), rtol=1e-12)


def test_epsilon_sits_outside_the_square_root():
    g = np.array([1e-6])
    w, _ = O.adagrad_update(np.zeros(1), g, np.zeros(1), 1.0, eps=1e-10)
    assert w[0] == pytest.approx(-1e-6 / (1e-6 + 1e-10), rel=1e-12)  # ≈ −0.9999
    inside = -1e-6 / math.sqrt(1e-12 + 1e-10)  # the articles' √(G + ε): ≈ −0.0995
    assert abs(w[0] - inside) > 0.5


def torch_style(name, lr, steps, grads, **kw):
    """A second implementation, written the way torch.optim's docs state each algorithm."""
    p = np.array(W0)
    buf = state = exp_avg = exp_avg_sq = None
    path = []
    for t, g_fn in zip(range(1, steps + 1), grads, strict=False):
        g = g_fn(p)
        if name == "sgd":
            p = p - lr * g
        elif name == "momentum":
            buf = g.copy() if buf is None else kw.get("mu", 0.9) * buf + g
            p = p - lr * buf
        elif name == "adagrad":
            state = g * g if state is None else state + g * g
            p = p - lr * g / (np.sqrt(state) + kw.get("eps", 1e-10))
        elif name == "rmsprop":
            alpha = kw.get("rho", 0.99)
            state = np.zeros_like(p) if state is None else state
            state = alpha * state + (1 - alpha) * g * g
            p = p - lr * g / (np.sqrt(state) + kw.get("eps", 1e-8))
        elif name == "adam":
            b1, b2, eps = kw.get("beta1", 0.9), kw.get("beta2", 0.999), kw.get("eps", 1e-8)
            exp_avg = np.zeros_like(p) if exp_avg is None else exp_avg
            exp_avg_sq = np.zeros_like(p) if exp_avg_sq is None else exp_avg_sq
            exp_avg = exp_avg + (1 - b1) * (g - exp_avg)  # lerp, as torch does it
            exp_avg_sq = b2 * exp_avg_sq + (1 - b2) * g * g
            step_size = lr / (1 - b1**t)
            denom = np.sqrt(exp_avg_sq) / math.sqrt(1 - b2**t) + eps
            p = p - step_size * exp_avg / denom
        path.append(p.copy())
    return path


@pytest.mark.parametrize(("name", "lr", "kw"), CONFIGS)
def test_pure_updates_match_torch_style_formulas(name, lr, kw):
    steps = 40
    ours = run_pure(name, lr, steps, **kw)
    theirs = torch_style(name, lr, steps, [grad] * steps, **kw)
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=1e-10, atol=1e-13)


def test_adam_rejects_bad_step_numbers():
    w = np.ones(2)
    for t in (0, -1, 1.5):
        with pytest.raises(ValueError, match="starts at 1"):
            O.adam_update(w, w, np.zeros(2), np.zeros(2), t, 0.1)
    O.adam_update(w, w, np.zeros(2), np.zeros(2), np.int64(2), 0.1)  # an integer numpy t is fine


def test_update_shape_errors():
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        O.sgd_update(np.ones(2), np.ones(3), 0.1)
    with pytest.raises(ValueError, match="zeros_like"):
        O.momentum_update(np.ones(2), np.ones(2), np.zeros(3), 0.1)
    with pytest.raises(ValueError, match="zeros_like"):
        O.adam_update(np.ones(2), np.ones(2), np.zeros(2), np.zeros((2, 1)), 1, 0.1)
    with pytest.raises(TypeError, match="dtype"):
        O.sgd_update(np.array(["a", "b"]), np.ones(2), 0.1)


# ---------------------------------------------------------------- stateful classes
CLASS_OF = {"sgd": O.SGD, "momentum": O.Momentum, "adagrad": O.AdaGrad, "rmsprop": O.RMSprop,
            "adam": O.Adam}


@pytest.mark.parametrize(("name", "lr", "kw"), CONFIGS)
def test_stateful_class_gives_the_pure_trajectory_exactly(name, lr, kw):
    steps = 60
    # two parameter arrays of different shapes, each with its own state
    rng = np.random.default_rng(402)
    B = rng.normal(size=(3, 3))
    B = B @ B.T + np.eye(3)
    v0 = rng.normal(size=(3,))

    def grad_v(v):
        return B @ v

    opt = CLASS_OF[name](lr, **kw)
    w, v = W0.copy(), v0.copy()
    w_path, v_path = [], []
    for _ in range(steps):
        opt.step([w, v], [grad(w), grad_v(v)])
        w_path.append(w.copy())
        v_path.append(v.copy())
    np.testing.assert_array_equal(np.array(w_path), np.array(run_pure(name, lr, steps, **kw)))
    np.testing.assert_array_equal(
        np.array(v_path), np.array(run_pure(name, lr, steps, w0=v0, grad_fn=grad_v, **kw)))
    assert opt.t == steps


def test_optimizer_registry_and_errors():
    assert O.OPTIMIZERS == CLASS_OF
    for cls in CLASS_OF.values():
        with pytest.raises(ValueError, match="learning rate"):
            cls(0.0)
    with pytest.raises(ValueError, match="2 parameter arrays but 1"):
        O.SGD(0.1).step([np.ones(2), np.ones(3)], [np.ones(2)])
    assert O.Adam().lr == 1e-3


# ---------------------------------------------------------------- training loop
def test_iterate_minibatches_covers_each_row_once():
    N = 23
    X = np.arange(N, dtype=float)[:, None] * np.ones((1, 3))
    Y = np.arange(N) * 10
    for batch in (1, 4, 5, 23, 50):
        rng = np.random.default_rng(403)
        batches = list(training.iterate_minibatches(X, Y, batch, rng))
        assert len(batches) == math.ceil(N / batch) == training.n_updates(N, batch)
        assert [len(xb) for xb, _ in batches[:-1]] == [batch] * (len(batches) - 1)
        rows = np.concatenate([xb[:, 0] for xb, _ in batches])
        assert sorted(rows.tolist()) == list(range(N))
        for xb, yb in batches:  # rows and targets stay paired
            np.testing.assert_array_equal(xb[:, 0] * 10, yb)


def test_iterate_minibatches_shuffles_deterministically():
    X = np.arange(40.0)[:, None]

    def order(seed, shuffle=True):
        rng = np.random.default_rng(seed)
        return np.concatenate([xb[:, 0] for xb, _ in
                               training.iterate_minibatches(X, X, 8, rng, shuffle=shuffle)])

    np.testing.assert_array_equal(order(404), order(404))
    assert not np.array_equal(order(404), order(405))
    assert not np.array_equal(order(404), np.arange(40.0))
    np.testing.assert_array_equal(order(404, shuffle=False), np.arange(40.0))
    # one generator, two epochs: two different orders
    rng = np.random.default_rng(406)
    e1 = np.concatenate([xb[:, 0] for xb, _ in training.iterate_minibatches(X, X, 8, rng)])
    e2 = np.concatenate([xb[:, 0] for xb, _ in training.iterate_minibatches(X, X, 8, rng)])
    assert not np.array_equal(e1, e2)


def test_iterate_minibatches_errors():
    with pytest.raises(ValueError, match="rows"):
        list(training.iterate_minibatches(np.ones((4, 2)), np.ones(3), 2))
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="batch_size"):
            list(training.iterate_minibatches(np.ones((4, 2)), np.ones(4), bad))


def test_train_step_is_forward_loss_backward_update():
    rng = np.random.default_rng(407)
    X, T = rng.normal(size=(6, 3)), rng.uniform(size=(6, 2))
    net = Sequential.from_sizes([3, 4, 2], ["tanh", "sigmoid"], seed=8)
    twin = Sequential.from_sizes([3, 4, 2], ["tanh", "sigmoid"], seed=8)
    value = training.train_step(net, X, T, "mse", O.SGD(0.5))
    Y = twin.forward(X)
    assert value == losses.mse(T, Y)
    twin.backward(losses.mse_grad(T, Y))
    for p_new, p_old, g in zip(net.params, twin.params, twin.grads, strict=True):
        np.testing.assert_allclose(p_new, p_old - 0.5 * g, rtol=1e-14)
    with pytest.raises(ValueError, match="unknown loss"):
        training.train_step(net, X, T, "zero_one_loss", O.SGD(0.1))


def test_fit_learns_xor():
    X, y = datasets.xor()
    net = Sequential.from_sizes([2, 4, 1], ["sigmoid", "sigmoid"], seed=0)
    hist = training.fit(net, X, y, "binary_cross_entropy", O.Adam(lr=0.1), epochs=300,
                        batch_size=4, seed=0)
    assert len(hist["loss"]) == 300
    assert hist["loss"][-1] < 0.1 < hist["loss"][0]
    assert hist["acc"][-1] == 1.0
    np.testing.assert_array_equal(net.predict(X), y.ravel())
    assert training.accuracy(net, X, y.ravel()) == 1.0
    assert losses.zero_one_loss(y, net.forward(X)) == 0.0


def test_fit_is_deterministic_and_reports_validation():
    X, y = datasets.two_moons(60, seed=3)
    Y = datasets.one_hot(y)

    def train():
        net = Sequential.from_sizes([2, 8, 2], ["tanh", "softmax"], seed=1)
        hist = training.fit(net, X[:40], Y[:40], "categorical_cross_entropy", O.Adam(0.05),
                            epochs=20, batch_size=8, seed=2, validation=(X[40:], Y[40:]))
        return net, hist

    (net1, h1), (_, h2) = train(), train()
    assert h1 == h2
    assert set(h1) == {"loss", "acc", "val_loss", "val_acc"}
    assert h1["val_loss"][-1] == pytest.approx(
        losses.categorical_cross_entropy(Y[40:], net1.forward(X[40:])))
    assert h1["val_acc"][-1] == training.accuracy(net1, X[40:], y[40:])
    assert h1["loss"][-1] < h1["loss"][0]


# ---------------------------------------------------------------- closed forms against the rules themselves
# Lessons 07-10 ask for these derived quantities; each is checked against its update function
# run step by step (a second implementation), and against the lessons' worked examples.
CLOSED_G = np.array([1.3, -0.4, 2.5e-3, -7.0])


@pytest.mark.parametrize(("mu", "k"), [(0.9, 1), (0.9, 3), (0.5, 7), (0.0, 4), (0.99, 60), (1.0, 5), (0.9, 0)])
def test_momentum_velocity_is_the_velocity_momentum_update_reaches(mu, k):
    w, v = np.zeros(4), np.zeros(4)
    for _ in range(k):
        w, v = O.momentum_update(w, CLOSED_G, v, 0.07, mu)
    np.testing.assert_allclose(O.momentum_velocity(CLOSED_G, 0.07, mu, k), v, rtol=1e-12, atol=1e-15)


def test_momentum_velocity_limit_and_worked_example():
    np.testing.assert_allclose(O.momentum_velocity([1.0, -2.0], 0.1, 0.9, 3), [-0.271, 0.542], rtol=1e-12)
    v = np.zeros(4)
    for _ in range(2000):
        _, v = O.momentum_update(np.zeros(4), CLOSED_G, v, 0.07, 0.9)
    np.testing.assert_allclose(O.momentum_velocity(CLOSED_G, 0.07, 0.9, np.inf), v, rtol=1e-12)
    with pytest.raises(ValueError, match="k is a number of steps"):
        O.momentum_velocity(CLOSED_G, 0.1, 0.9, 2.5)
    with pytest.raises(ValueError, match="without limit"):
        O.momentum_velocity(CLOSED_G, 0.1, 1.0, np.inf)


@pytest.mark.parametrize("eps", [1e-10, 0.5])
def test_adagrad_effective_lr_is_the_rate_each_adagrad_step_uses(eps):
    rng = np.random.default_rng(8)
    grads = rng.normal(size=(12, 2, 3))
    rates = O.adagrad_effective_lr(grads, 0.3, eps)
    w, G = rng.normal(size=(2, 3)), np.zeros((2, 3))
    for t, g in enumerate(grads):
        w_new, G = O.adagrad_update(w, g, G, 0.3, eps)
        np.testing.assert_allclose(w - w_new, rates[t] * g, rtol=1e-12, atol=1e-15)  # Δw = −rate·g
        w = w_new
    np.testing.assert_allclose(O.adagrad_effective_lr([[3.0, 1.0], [4.0, -1.0], [0.0, 2.0]], 1.0),
                               [[1 / 3, 1.0], [0.2, 1 / np.sqrt(2)], [0.2, 1 / np.sqrt(6)]], rtol=1e-9)
    assert np.all(np.diff(rates, axis=0) <= 0)  # AdaGrad's rates never grow


@pytest.mark.parametrize(("rho", "eps"), [(0.99, 1e-8), (0.9, 1e-8), (0.75, 0.5)])
def test_rmsprop_step_sizes_are_the_steps_rmsprop_update_takes(rho, eps):
    sizes = O.rmsprop_step_sizes(CLOSED_G, 0.02, 40, rho=rho, eps=eps)
    assert sizes.shape == (40, 4)
    w, s = np.zeros(4), np.zeros(4)
    for k in range(40):
        w_new, s = O.rmsprop_update(w, CLOSED_G, s, 0.02, rho, eps)
        np.testing.assert_allclose(np.abs(w_new - w), sizes[k], rtol=1e-10, atol=1e-15)
        w = w_new
    np.testing.assert_allclose(O.rmsprop_step_sizes(1.0, 0.1, 3, rho=0.9), [0.31622777, 0.22941573, 0.19209468],
                               rtol=1e-7)
    long = O.rmsprop_step_sizes([1e-3, 1e3], 0.1, 3000, rho=0.99)
    np.testing.assert_allclose(long[-1], 0.1, rtol=1e-4)  # → lr, whatever |g|


@pytest.mark.parametrize(("beta1", "beta2", "eps"), [(0.9, 0.999, 1e-8), (0.5, 0.9, 1e-8), (0.8, 0.95, 0.5)])
def test_adam_first_steps_are_adams_steps_with_and_without_correction(beta1, beta2, eps):
    corrected, uncorrected = O.adam_first_steps(CLOSED_G, 0.05, 25, beta1, beta2, eps)
    assert corrected.shape == uncorrected.shape == (25, 4)
    w, m, v = np.zeros(4), np.zeros(4), np.zeros(4)
    m_raw, v_raw = np.zeros(4), np.zeros(4)
    for t in range(1, 26):
        w_new, m, v = O.adam_update(w, CLOSED_G, m, v, t, 0.05, beta1, beta2, eps)
        np.testing.assert_allclose(w_new - w, corrected[t - 1], rtol=1e-10, atol=1e-15)
        w = w_new
        m_raw = beta1 * m_raw + (1 - beta1) * CLOSED_G  # the article's form: no bias correction
        v_raw = beta2 * v_raw + (1 - beta2) * CLOSED_G**2
        step = -0.05 * m_raw / (np.sqrt(v_raw) + eps)
        np.testing.assert_allclose(step, uncorrected[t - 1], rtol=1e-10, atol=1e-15)
    c, u = O.adam_first_steps(2.0, 0.1, 2)
    np.testing.assert_allclose(c, [-0.1, -0.1], rtol=1e-7)
    np.testing.assert_allclose(u, [-0.1 * 0.1 / np.sqrt(0.001), -0.1 * 0.19 / np.sqrt(0.001999)], rtol=1e-6)


CLOSED_FORMS = {"07_momentum": "momentum_velocity", "08_adagrad": "adagrad_effective_lr",
                "09_rmsprop": "rmsprop_step_sizes", "10_adam": "adam_first_steps"}


@pytest.mark.parametrize(("lesson", "name"), CLOSED_FORMS.items())
def test_each_closed_form_is_withheld_in_its_own_lesson_only(lesson, name):
    """Own work (issue 19): the grading kernel of its lesson has no reference to delegate to, and
    a function that delegates fails the live check too."""
    from ann_core.checks import CheckFailed, check
    from autograder.integrity import lesson_withheld

    assert f"ann_core.optimizers.{name}" in lesson_withheld(lesson)
    others = [other for other in CLOSED_FORMS if other != lesson]
    assert all(f"ann_core.optimizers.{name}" not in lesson_withheld(other) for other in others)
    reference = getattr(O, name)

    def delegates(*args, **kwargs):
        return reference(*args, **kwargs)

    with pytest.raises(CheckFailed, match=f"uses ann_core's optimizers.{name}"):
        check(name, delegates, quiet=True)
