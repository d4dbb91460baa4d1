"""Checks for lesson 13: reverse-mode automatic differentiation (``ann_core.autodiff``).

The graded functions take and return ``Value`` objects, which a check cannot record or
compare as numbers, so each spec has a ``wrap`` (as lesson 06's and 11's do): a case holds
plain numbers or a *recipe* that builds a fresh graph on every call (the learner's call,
the reference's and every known mistake's each get their own nodes), and the wrapped call
returns numbers:

* ``autodiff_mul(a, b)``, ``autodiff_tanh(a)``: the new node as a tuple ``(data,
  local_grads, parents)``, the parents given as positions of the inputs (0 for ``a``, 1 for
  ``b``, −1 for a node that is not an input).
* ``autodiff_topological_order(root)``: ``(length of the list, how many of the graph's
  nodes it holds, how many edges point backwards)``, right when ``(N, N, 0)``: any valid
  order passes, not only the depth-first one of ``ann_core.autodiff``.
* ``autodiff_backward(root)``: the ``grad`` of every node of the graph afterwards, in the
  order the nodes were made.

Every Value a check hands over (inputs and graph nodes, ``_Input``) has its operators and
methods switched off: ``a * b`` or ``root.backward()`` would run ann_core's own autodiff, which
the exercise is about; the graphs are built here with plain ``Value(...)`` calls.
"""

from __future__ import annotations

import math

import numpy as np

from .. import autodiff as ref
from ..autodiff import Value
from .spec import Case, Mistake, Spec, register


# ---------------------------------------------------------------- building graphs (no ann_core ops)
class _Input(Value):
    """The checks' Values: operators and methods switched off (the exercise does the work itself)."""

    def _off(self, *args):
        raise TypeError("the check's Values have no operators or methods (they would use ann_core's own "
                        "autodiff): build a node with Value(data, parents, local_grads), walk the graph yourself")

    __add__ = __radd__ = __mul__ = __rmul__ = __neg__ = __sub__ = __rsub__ = _off
    __pow__ = __truediv__ = __rtruediv__ = _off
    tanh = relu = sigmoid = exp = log = backward = _off


def _mul(a, b): return _Input(a.data * b.data, (a, b), (b.data, a.data), "*")
def _add(a, b): return _Input(a.data + b.data, (a, b), (1.0, 1.0), "+")
def _tanh(a): return _Input(math.tanh(a.data), (a,), (1.0 - math.tanh(a.data) ** 2,), "tanh")
def _square(a): return _Input(a.data ** 2, (a,), (2.0 * a.data,), "**2")


class _Graph:
    """A graph under construction: every node in the order it was made."""

    def __init__(self):
        self.nodes = []

    def leaf(self, x):
        return self.keep(_Input(x))

    def keep(self, v):
        self.nodes.append(v)
        return v


def _worked():
    """L = (a·b + c)·f with a = 2, b = −3, c = 10, f = −2 (the lesson's worked example)."""
    g = _Graph()
    a, b, c, f = (g.leaf(x) for x in (2.0, -3.0, 10.0, -2.0))
    e = g.keep(_mul(a, b))
    d = g.keep(_add(e, c))
    return g.keep(_mul(d, f)), g


def _used_twice():
    """L = x·y + x with x = 3, y = −2: x is used twice (∂L/∂x = y + 1 = −1)."""
    g = _Graph()
    x, y = g.leaf(3.0), g.leaf(-2.0)
    return g.keep(_add(g.keep(_mul(x, y)), x)), g


def _random_graph(n_leaves, n_ops, k):
    """A random graph: ``n_ops`` operations on earlier nodes (often reusing one), then the sum of
    every node nothing uses yet, so that the root depends on all of them."""
    def build():
        rng = np.random.default_rng(k)
        g = _Graph()
        for x in rng.uniform(-1.5, 1.5, size=n_leaves):
            g.leaf(float(x))
        used = set()
        for _ in range(n_ops):
            op = rng.integers(4)
            i = len(g.nodes) - 1 - int(rng.integers(min(4, len(g.nodes))))  # a recent node
            j = int(rng.integers(len(g.nodes)))                               # any node (perhaps i again)
            a, b = g.nodes[i], g.nodes[j]
            node = (_mul, _add)[op](a, b) if op < 2 else (_tanh, _square)[op - 2](a)
            used |= {id(p) for p in node.parents}
            g.keep(node)
        unused = [v for v in g.nodes if id(v) not in used]
        root = unused[0]
        for v in unused[1:]:
            root = g.keep(_add(root, v))
        return root, g

    return build


def _network(n_in, n_hidden, k):
    """A scalar 2-layer network ``tanh`` hidden layer, linear output, loss ½ Σ (ŷ − t)²: every
    weight a leaf, every multiply-add a node (the graph lesson 05's ``network_backward`` works on)."""
    def build():
        rng = np.random.default_rng(k)
        g = _Graph()
        x = [g.leaf(float(v)) for v in rng.normal(size=n_in)]
        W1 = [[g.leaf(float(v)) for v in row] for row in rng.normal(scale=0.8, size=(n_in, n_hidden))]
        b1 = [g.leaf(float(v)) for v in rng.normal(scale=0.1, size=n_hidden)]
        W2 = [g.leaf(float(v)) for v in rng.normal(scale=0.8, size=n_hidden)]
        b2, t = g.leaf(0.1), g.leaf(float(rng.uniform(-1, 1)))
        hidden = []
        for j in range(n_hidden):
            z = b1[j]
            for i in range(n_in):
                z = g.keep(_add(z, g.keep(_mul(x[i], W1[i][j]))))
            hidden.append(g.keep(_tanh(z)))
        y = b2
        for j in range(n_hidden):
            y = g.keep(_add(y, g.keep(_mul(hidden[j], W2[j]))))
        err = g.keep(_add(y, g.keep(_mul(t, g.leaf(-1.0)))))
        return g.keep(_mul(g.keep(_square(err)), g.leaf(0.5))), g

    return build


def _graph_cases(rng, hidden):
    out = [Case((_worked,), label="the worked example L = (a·b + c)·f"),
           Case((_used_twice,), label="L = x·y + x (x used twice)")]
    sizes = [(3, 6), (4, 10)] + ([(2, 12), (5, 25), (3, 40)] if hidden else [])
    for n_leaves, n_ops in sizes:
        build = _random_graph(n_leaves, n_ops, int(rng.integers(10_000)))
        n = len(build()[1].nodes)
        out.append(Case((build,), label=f"a random graph of {n} nodes"))
    if hidden:
        out.append(Case((_network(3, 4, int(rng.integers(10_000))),), label="a 3-4-1 network and its loss"))
    return out


# ---------------------------------------------------------------- one node: autodiff_mul, autodiff_tanh
def _summary(out, inputs, name):
    """A node as numbers: ``(data, local_grads, positions of its parents among inputs)``."""
    if not all(hasattr(out, k) for k in ("data", "parents", "local_grads")):
        what = "None (did you forget `return`?)" if out is None else type(out).__name__
        raise TypeError(f"{name} should return a Value, but returned {what}")
    where = [next((k for k, x in enumerate(inputs) if x is p), -1) for p in out.parents]
    return (float(out.data), np.array([float(g) for g in out.local_grads]), np.array(where, dtype=float))


def _node_wrap(name):
    def wrap(f):
        def run(*data, same=False):
            inputs = [_Input(x) for x in data]
            if same:
                inputs = [inputs[0]] * len(inputs)
            return _summary(f(*inputs), inputs, name)

        return run

    return wrap


def _mul_cases(rng, hidden):
    out = [Case((2.0, -3.0), label="Value(2.0), Value(-3.0)"),
           Case((3.0, 3.0), {"same": True}, label="x, x with x = Value(3.0) (the same node twice)")]
    for a, b in rng.uniform(-4, 4, size=(5 if hidden else 2, 2)):
        out.append(Case((float(a), float(b)), label=f"Value({a:.4g}), Value({b:.4g})"))
    if hidden:
        out.append(Case((0.0, 5.0), label="Value(0.0), Value(5.0)"))
    return out


def _mul_own_value(a, b): return Value(a.data * b.data, (a, b), (a.data, b.data))
def _mul_like_add(a, b): return Value(a.data * b.data, (a, b), (1.0, 1.0))
def _mul_no_parents(a, b): return Value(a.data * b.data)
def _mul_parents_swapped(a, b): return Value(a.data * b.data, (b, a), (b.data, a.data))


register(Spec(
    "autodiff_mul", ref.mul, _mul_cases,
    lesson="13_autodiff",
    forbidden=("ann_core.autodiff.Value.__mul__", "ann_core.autodiff.Value.__rmul__"),
    mistakes=[
        Mistake("each local derivative is the *other* factor: ∂(a·b)/∂a = b and ∂(a·b)/∂b = a, "
                "so local_grads = (b.data, a.data).", _mul_own_value),
        Mistake("(1, 1) are the local derivatives of a + b; for a · b they are (b.data, a.data).",
                _mul_like_add),
        Mistake("the node does not remember where it came from: give it parents=(a, b) and "
                "local_grads=(b.data, a.data), or backward cannot reach a and b.", _mul_no_parents),
        Mistake("parents and local derivatives must be in the same order: parents=(a, b) with "
                "local_grads=(b.data, a.data), the i-th derivative belonging to the i-th parent.",
                _mul_parents_swapped),
    ],
    wrap=_node_wrap("autodiff_mul"),
    examples=False,
    label_args=True,
))


def _tanh_cases(rng, hidden):
    out = [Case((0.5,), label="Value(0.5)"), Case((0.0,), label="Value(0.0)")]
    out += [Case((float(a),), label=f"Value({a:.4g})") for a in rng.normal(0, 2, size=6 if hidden else 2)]
    out.append(Case((-3.0,), label="Value(-3.0)"))
    if hidden:
        out += [Case((20.0,), label="Value(20.0)"), Case((-0.01,), label="Value(-0.01)")]
    return out


def _tanh_grad_of_input(a): return Value(math.tanh(a.data), (a,), (1.0 - a.data ** 2,))
def _tanh_grad_is_output(a): return Value(math.tanh(a.data), (a,), (math.tanh(a.data),))
def _tanh_no_square(a): return Value(math.tanh(a.data), (a,), (1.0 - math.tanh(a.data),))
def _tanh_no_parents(a): return Value(math.tanh(a.data))


register(Spec(
    "autodiff_tanh", ref.tanh, _tanh_cases,
    lesson="13_autodiff",
    forbidden=("ann_core.autodiff.Value.tanh",),
    mistakes=[
        Mistake("1 − x² is tanh's derivative only when x is already the output t = tanh(a): "
                "compute t = tanh(a.data) and use 1 − t².", _tanh_grad_of_input),
        Mistake("the local derivative is tanh'(a) = 1 − tanh(a)², not tanh(a) itself.", _tanh_grad_is_output),
        Mistake("the square is missing: tanh'(a) = 1 − tanh(a)².", _tanh_no_square),
        Mistake("the node does not remember where it came from: give it parents=(a,) and "
                "local_grads=(1 − t²,).", _tanh_no_parents),
    ],
    wrap=_node_wrap("autodiff_tanh"),
    examples=False,
    label_args=True,
))


# ---------------------------------------------------------------- autodiff_topological_order
def _order_summary(order, g):
    """``(len(order), graph nodes in it, edges parent → child whose parent is not before the child)``."""
    if order is None or not hasattr(order, "__iter__"):
        what = "None (did you forget `return`?)" if order is None else type(order).__name__
        raise TypeError(f"autodiff_topological_order should return a list of Values, but returned {what}")
    order = list(order)
    pos = {}
    for i, v in enumerate(order):
        pos.setdefault(id(v), i)
    nodes = {id(v) for v in g.nodes}
    covered = sum(1 for v in g.nodes if id(v) in pos)
    backwards = 0
    for child in g.nodes:
        for p in {id(p): p for p in child.parents}.values():
            if id(child) in pos and id(p) in pos and pos[id(p)] >= pos[id(child)]:
                backwards += 1
    assert nodes  # every recipe makes nodes
    return float(len(order)), float(covered), float(backwards)


def _order_wrap(f):
    def run(graph):
        root, g = graph()
        return _order_summary(f(root), g)

    return run


def _depth_first(root, *, visited=True):
    out, seen = [], set()

    def visit(v):
        if visited:
            if id(v) in seen:
                return
            seen.add(id(v))
        for p in v.parents:
            visit(p)
        out.append(v)

    visit(root)
    return out


def _topo_root_first(root): return _depth_first(root)[::-1]
def _topo_no_visited(root): return _depth_first(root, visited=False)
def _topo_without_root(root): return _depth_first(root)[:-1]


def _topo_bfs_reversed(root):
    out, seen, queue = [], {id(root)}, [root]
    while queue:
        v = queue.pop(0)
        out.append(v)
        for p in v.parents:
            if id(p) not in seen:
                seen.add(id(p))
                queue.append(p)
    return out[::-1]


register(Spec(
    "autodiff_topological_order", ref.topological_order, _graph_cases,
    lesson="13_autodiff",
    mistakes=[
        Mistake("nodes come before their parents: the root must come last, so append each node "
                "after the loop over its parents (post-order), and return that list as it is, not "
                "reversed (backward reverses it).", _topo_root_first),
        Mistake("nodes reached along two paths appear twice: keep a set of visited nodes and "
                "skip a node already visited.", _topo_no_visited),
        Mistake("the root itself is missing: the order holds every node, the root last.", _topo_without_root),
        Mistake("breadth-first from the root, reversed, is not a topological order: a node used by "
                "a near and a far child can come after the near one. Use depth-first search with "
                "post-order appends.", _topo_bfs_reversed),
    ],
    wrap=_order_wrap,
    examples=False,
    label_args=True,
))


# ---------------------------------------------------------------- autodiff_backward
def _backward_wrap(f):
    def run(graph):
        root, g = graph()
        f(root)
        return np.array([float(v.grad) for v in g.nodes])

    return run


def _bw(root, *, accumulate=True, chain=True, reverse=True, start=True):
    order = _depth_first(root)
    if start:
        root.grad = 1.0
    for node in (reversed(order) if reverse else order):
        for p, local in zip(node.parents, node.local_grads, strict=True):
            step = local * node.grad if chain else local
            p.grad = p.grad + step if accumulate else step


def _bw_assign(root): _bw(root, accumulate=False)
def _bw_no_chain(root): _bw(root, chain=False)
def _bw_forward_order(root): _bw(root, reverse=False)
def _bw_no_start(root): _bw(root, start=False)


register(Spec(
    "autodiff_backward", ref.backward, _graph_cases,
    lesson="13_autodiff",
    forbidden=("ann_core.autodiff.Value.backward",),
    mistakes=[
        Mistake("a node used twice must get both contributions: accumulate with "
                "parent.grad += local * node.grad, not parent.grad = ….", _bw_assign),
        Mistake("the chain-rule factor is missing: each parent gets local * node.grad "
                "(∂L/∂parent = ∂L/∂node · ∂node/∂parent), not the local derivative alone.", _bw_no_chain),
        Mistake("the nodes were visited parents first; backward goes the other way: reversed("
                "topological order), so that a node's grad is complete before it is passed on.",
                _bw_forward_order),
        Mistake("every grad stayed 0: start with root.grad = 1 (∂L/∂L = 1) before the loop.", _bw_no_start),
    ],
    wrap=_backward_wrap,
    examples=False,
    label_args=True,
))
