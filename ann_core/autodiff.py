"""Reverse-mode automatic differentiation on scalars (lesson 13; 自動微分 / 自动微分).

A ``Value`` is one number in a computation graph (計算圖 / 计算图). Besides its ``data``
it remembers where it came from: its ``parents`` (the Values it was computed from) and the
``local_grads``, the derivative of this node with respect to each parent, evaluated when
the node was made. ``grad`` starts at 0 and, after ``backward(root)``, holds ∂root/∂node.

    a = Value(2.0); b = Value(-3.0)
    c = mul(a, b)        # c.data = -6, c.parents = (a, b), c.local_grads = (b.data, a.data) = (-3, 2)
    backward(c)          # a.grad = -3, b.grad = 2

Backward (reverse mode, 反向模式) is the chain rule (鏈式法則 / 链式法则) on the graph:
visit the nodes in reverse topological order (every node before its parents), starting
with ``root.grad = 1``, and add ``local_grad * node.grad`` to each parent's ``grad``. A node
used twice receives a contribution along each use, hence ``+=`` and not ``=``.

The lesson's graded functions are ``autodiff_mul``, ``autodiff_tanh``,
``autodiff_topological_order`` and ``autodiff_backward``: ``mul``, ``tanh``,
``topological_order`` and ``backward`` here, with the lesson's prefix because the graded
names share one namespace with lesson 02's ``tanh`` and ``relu``.

Scalars only, as in Karpathy's micrograd: the same idea on arrays is what PyTorch's
``torch.autograd`` does (there a node's local derivative is a vector-Jacobian product).
"""

from __future__ import annotations

import math


class Value:
    """A scalar node: ``data`` (float), ``grad`` (float, ∂root/∂node after backward), ``parents``
    (tuple of Values), ``local_grads`` (tuple of floats, ∂node/∂parent, one per parent) and
    ``op`` (a short label such as ``"*"``; for display only).

    Operators build new nodes: ``a + b``, ``a * b``, ``-a``, ``a - b``, ``a / b``, ``a ** k``
    (k a number), and ``a.tanh()``, ``a.relu()``, ``a.sigmoid()``, ``a.exp()``, ``a.log()``;
    numbers on either side become leaf Values. ``v.backward()`` is ``backward(v)``.
    """

    def __init__(self, data, parents=(), local_grads=(), op: str = ""):
        if isinstance(data, Value):
            raise TypeError("Value(data) takes a number, not a Value; use the Value itself")
        self.data = float(data)
        self.grad = 0.0
        self.parents = tuple(parents)
        self.local_grads = tuple(float(g) for g in local_grads)
        if len(self.parents) != len(self.local_grads):
            raise ValueError(f"{len(self.parents)} parents but {len(self.local_grads)} local gradients: "
                             "a node needs one local derivative per parent")
        if not all(hasattr(p, "data") and hasattr(p, "grad") for p in self.parents):  # duck-typed: a copy's
            raise TypeError("parents must be Values")                                  # Values count too
        self.op = op

    def __repr__(self):
        return f"Value(data={self.data:.4g}, grad={self.grad:.4g})"

    # operators: every one is a function of this module
    def __add__(self, other): return add(self, other)
    def __radd__(self, other): return add(other, self)
    def __mul__(self, other): return mul(self, other)
    def __rmul__(self, other): return mul(other, self)
    def __neg__(self): return mul(self, -1.0)
    def __sub__(self, other): return add(self, -_as_value(other))
    def __rsub__(self, other): return add(other, -self)
    def __pow__(self, k): return power(self, k)
    def __truediv__(self, other): return mul(self, power(_as_value(other), -1.0))
    def __rtruediv__(self, other): return mul(other, power(self, -1.0))
    def tanh(self): return tanh(self)
    def relu(self): return relu(self)
    def sigmoid(self): return sigmoid(self)
    def exp(self): return exp(self)
    def log(self): return log(self)
    def backward(self): return backward(self)


def _as_value(x) -> Value:
    return x if isinstance(x, Value) else Value(x)


def add(a, b) -> Value:
    """``a + b``: local derivatives ∂(a+b)/∂a = 1 and ∂(a+b)/∂b = 1."""
    a, b = _as_value(a), _as_value(b)
    return Value(a.data + b.data, (a, b), (1.0, 1.0), "+")


def mul(a, b) -> Value:
    """``a · b``: local derivatives ∂(ab)/∂a = b and ∂(ab)/∂b = a (each the *other* factor)."""
    a, b = _as_value(a), _as_value(b)
    return Value(a.data * b.data, (a, b), (b.data, a.data), "*")


def power(a, k: float) -> Value:
    """``a ** k`` for a number ``k``: local derivative k · a^(k−1)."""
    if isinstance(k, Value):
        raise TypeError("power(a, k) takes a number k (a Value exponent is not supported)")
    a = _as_value(a)
    return Value(a.data ** k, (a,), (k * a.data ** (k - 1),), f"**{k:g}")


def tanh(a) -> Value:
    """``tanh(a)``: local derivative 1 − tanh(a)², written from the output t = tanh(a)."""
    a = _as_value(a)
    t = math.tanh(a.data)
    return Value(t, (a,), (1.0 - t * t,), "tanh")


def relu(a) -> Value:
    """``max(0, a)``: local derivative 1 where a > 0, else 0 (0 at a = 0, as the course and PyTorch)."""
    a = _as_value(a)
    return Value(max(0.0, a.data), (a,), (1.0 if a.data > 0 else 0.0,), "relu")


def sigmoid(a) -> Value:
    """``σ(a) = 1 / (1 + e^(−a))``: local derivative σ(a)(1 − σ(a)); stable for large |a|."""
    a = _as_value(a)
    x = a.data
    s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
    return Value(s, (a,), (s * (1.0 - s),), "sigmoid")


def exp(a) -> Value:
    """``e^a``: local derivative e^a."""
    a = _as_value(a)
    e = math.exp(a.data)
    return Value(e, (a,), (e,), "exp")


def log(a) -> Value:
    """``ln a`` (a > 0): local derivative 1 / a."""
    a = _as_value(a)
    if not a.data > 0:
        raise ValueError(f"log needs a positive number, got {a.data}")
    return Value(math.log(a.data), (a,), (1.0 / a.data,), "log")


def topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on (itself included), each once, parents before children.

    Depth-first: a node is appended after all of its parents, so ``root`` comes last.
    Iterative (no recursion limit on long chains).
    """
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for p in reversed(node.parents):
            if id(p) not in seen:
                stack.append((p, False))
    return order


def backward(root: Value) -> None:
    """Fill ``grad`` of every node ``root`` depends on with ∂root/∂node (reverse mode).

    ``root.grad = 1``; then, children before parents, each node adds
    ``local_grad · node.grad`` to each parent's ``grad`` (accumulated: a node used twice
    gets both contributions). Grads start from 0, as in a fresh graph; calling it twice
    on the same graph adds the gradients twice (as PyTorch does without ``zero_grad``).
    """
    order = topological_order(root)
    root.grad = 1.0
    for node in reversed(order):
        for parent, local in zip(node.parents, node.local_grads, strict=True):
            parent.grad += local * node.grad
