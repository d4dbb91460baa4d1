"""ann_core.autodiff (lesson 13): worked examples, finite differences, lesson 05's backprop, PyTorch.

And the checks' own safeguards: a learner's function that only calls ann_core's autodiff through a
Value's operators or methods does not pass (the checks' Values have them switched off).
"""

from __future__ import annotations

import numpy as np
import pytest

from ann_core import autodiff as ad
from ann_core.autodiff import Value
from ann_core.checks import CheckFailed, check
from ann_core.checks.autodiff import _graph_cases
from ann_core.losses import half_sse_grad
from ann_core.network import network_backward, network_forward


def _worked():
    a, b, c, f = Value(2.0), Value(-3.0), Value(10.0), Value(-2.0)
    return (a, b, c, f), (a * b + c) * f


def test_worked_example_by_hand():
    (a, b, c, f), L = _worked()
    assert L.data == -8.0
    ad.backward(L)
    assert (a.grad, b.grad, c.grad, f.grad, L.grad) == (6.0, -4.0, -2.0, 4.0, 1.0)


def test_node_used_twice_accumulates():
    x, y = Value(3.0), Value(-2.0)
    L = x * y + x
    ad.backward(L)
    assert (x.grad, y.grad) == (-1.0, 3.0)  # y + 1 and x
    sq = Value(3.0)
    ad.backward(sq * sq)
    assert sq.grad == 6.0


def test_topological_order_is_valid_and_unique():
    x = Value(0.3)
    h = (x * x).tanh() + x
    L = h * h + x.exp()
    order = ad.topological_order(L)
    assert order[-1] is L and len({id(v) for v in order}) == len(order)
    pos = {id(v): i for i, v in enumerate(order)}
    assert all(pos[id(p)] < pos[id(v)] for v in order for p in v.parents)
    assert len(order) == 7  # x, x*x, tanh, h = tanh + x, h*h, exp(x), L: each once


def test_long_chain_needs_no_recursion():
    v = start = Value(1.0)
    for _ in range(5000):
        v = v * 1.0001
    ad.backward(v)
    assert start.grad == pytest.approx(1.0001 ** 5000)


def _numeric(f, xs, h=1e-6):
    out = []
    for i in range(len(xs)):
        up, down = list(xs), list(xs)
        up[i] += h
        down[i] -= h
        out.append((f(*up) - f(*down)) / (2 * h))
    return out


@pytest.mark.parametrize("expr", [
    lambda a, b: (a * b + a.tanh()) / (b ** 2 + 1.0),
    lambda a, b: (a - b).relu() * a.sigmoid() + (b * b).exp().log(),
    lambda a, b: 3.0 - a / b + (-a) * 2,
])
def test_gradients_match_finite_differences(expr):
    xs = [0.7, -1.3]
    leaves = [Value(x) for x in xs]
    out = expr(*leaves)
    ad.backward(out)
    numeric = _numeric(lambda *v: expr(*[Value(x) for x in v]).data, xs)
    assert [v.grad for v in leaves] == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_same_gradients_as_network_backward():
    rng = np.random.default_rng(3)
    sizes, acts = [3, 5, 2], ["tanh", "sigmoid"]
    params = [(rng.normal(size=(m, n)), rng.normal(size=n)) for m, n in zip(sizes, sizes[1:], strict=False)]
    X, T = rng.normal(size=(4, 3)), rng.uniform(size=(4, 2))
    Y, caches = network_forward(X, params, acts)
    expected = network_backward(half_sse_grad(T, Y), caches, params, acts)

    leaves = [([[Value(w) for w in row] for row in W], [Value(v) for v in b]) for W, b in params]
    E = Value(0.0)
    for x, t in zip(X, T, strict=True):
        a = [Value(v) for v in x]
        for (W, b), name in zip(leaves, acts, strict=True):
            zs = [sum((a[i] * W[i][j] for i in range(len(a))), b[j]) for j in range(len(b))]
            a = [getattr(z, name)() for z in zs]
        E = E + sum(((y - tk) ** 2 * 0.5 for y, tk in zip(a, t, strict=True)), Value(0.0))
    ad.backward(E)
    for (Wv, bv), (dW, db) in zip(leaves, expected, strict=True):
        np.testing.assert_allclose([[w.grad for w in row] for row in Wv], dW, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose([v.grad for v in bv], db, rtol=1e-10, atol=1e-12)


def test_same_gradients_as_torch_autograd():
    torch = pytest.importorskip("torch")
    xs = [0.7, -1.3, 2.1]
    a, b, c = (Value(x) for x in xs)
    out = (a * b).tanh() * c + (a - c).relu() + (b / c).sigmoid() * a ** 3
    ad.backward(out)
    ta, tb, tc = (torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs)
    tout = torch.tanh(ta * tb) * tc + torch.relu(ta - tc) + torch.sigmoid(tb / tc) * ta ** 3
    tout.backward()
    assert out.data == pytest.approx(tout.item(), rel=1e-12)
    assert [a.grad, b.grad, c.grad] == pytest.approx([ta.grad.item(), tb.grad.item(), tc.grad.item()], rel=1e-12)


def test_bad_nodes_are_refused():
    with pytest.raises(ValueError, match="one local derivative per parent"):
        Value(1.0, (Value(2.0),), ())
    with pytest.raises(TypeError, match="parents must be Values"):
        Value(1.0, (2.0,), (1.0,))
    with pytest.raises(ValueError, match="positive"):
        ad.log(Value(0.0))


# ---------------------------------------------------------------- the checks' safeguards
def _mul_with_operator(a, b): return a * b
def _tanh_with_method(a): return a.tanh()
def _backward_with_method(root): root.backward()


@pytest.mark.parametrize(("name", "fn"), [("autodiff_mul", _mul_with_operator), ("autodiff_tanh", _tanh_with_method),
                                          ("autodiff_backward", _backward_with_method)])
def test_ann_core_through_operators_does_not_pass(name, fn):
    with pytest.raises(CheckFailed, match="TypeError: the check's Values have no operators"):
        check(name, fn, quiet=True)


def test_a_valid_order_other_than_depth_first_passes():
    def kahn(root):  # Kahn's algorithm: another valid topological order
        nodes, stack = {}, [root]
        while stack:
            v = stack.pop()
            if id(v) not in nodes:
                nodes[id(v)] = v
                stack.extend(v.parents)
        indegree = {k: len({id(p) for p in v.parents}) for k, v in nodes.items()}
        children = {k: [] for k in nodes}
        for k, v in nodes.items():
            for pid in {id(p) for p in v.parents}:
                children[pid].append(k)
        ready = [k for k, d in indegree.items() if d == 0]  # the leaves, in the order they were found
        out = []
        while ready:
            k = ready.pop(0)  # first in, first out: breadth-first from the leaves, unlike a depth-first search
            out.append(nodes[k])
            for c in children[k]:
                indegree[c] -= 1
                if indegree[c] == 0:
                    ready.append(c)
        return out

    case = _graph_cases(np.random.default_rng(0), False)[2]
    root, _ = case.args[0]()
    assert [id(v) for v in kahn(root)] != [id(v) for v in ad.topological_order(root)]  # really another order
    check("autodiff_topological_order", kahn, quiet=True)
    check("autodiff_topological_order", kahn, hidden=True, seed=3, quiet=True)


@pytest.mark.parametrize("source, name", [
    ("def autodiff_topological_order(root):\n    return ad.topological_order(root)\n", "autodiff_topological_order"),
    ("def autodiff_backward(root):\n    ad.backward(root)\n", "autodiff_backward"),
    # the same lesson's reference (ann_core's topological_order) is withheld too: build on your own
    ("def autodiff_backward(root):\n    root.grad = 1.0\n    for node in reversed(ad.topological_order(root)):\n"
     "        for parent, local in zip(node.parents, node.local_grads):\n"
     "            parent.grad += local * node.grad\n",
     "autodiff_backward"),
])
def test_ann_cores_own_autodiff_is_withheld(source, name):
    """The lesson's references are withheld while its checks call the learner's function (the grading
    kernel's ann_core has none: tests/test_own_work.py); an earlier exercise of the same lesson is the
    learner's own to build on, not ann_core's."""
    from ann_core import autodiff as ad
    from ann_core.checks import CheckFailed, check

    ns = {"ad": ad}
    exec(compile(source, "<cell>", "exec"), ns)  # noqa: S102
    with pytest.raises(CheckFailed, match=r"uses ann_core's autodiff\.(topological_order|backward)"):
        check(name, ns[name], quiet=True)
