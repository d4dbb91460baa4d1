"""The worked examples of COURSE_SPEC.md come out of ann_core, with the stated decimals."""

from __future__ import annotations

import numpy as np
import pytest

from ann_core import activations, examples, layers, losses, network
from ann_core.examples import EXAMPLES, SQUARED_ERROR_PAIR


def _agrees(got, expected, decimals):
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    # "0.8808" means the exact value rounds to 0.8808: within half a unit of the last decimal
    assert np.all(np.abs(got - expected) <= 0.5 * 10.0**-decimals + 1e-12), (got, expected)


@pytest.mark.parametrize("ex", EXAMPLES, ids=[e.text for e in EXAMPLES])
def test_every_registered_example_comes_out_of_ann_core(ex):
    _agrees(ex.reference()(*ex.args, **ex.kwargs), ex.expected, ex.decimals)
    assert ex.reference().__module__ == f"ann_core.{ex.function.split('.')[0]}"


def test_squared_error_pair():
    (target, output), value = SQUARED_ERROR_PAIR
    assert value == 0.05
    assert 2 * losses.half_sse(target, output) == pytest.approx(value, abs=1e-15)
    assert len(target) * losses.mse(target, output) == pytest.approx(value, abs=1e-15)
    assert losses.half_sse(target, output) == pytest.approx(0.025, abs=1e-15)


# The table of COURSE_SPEC.md, copied here by hand so that a wrong entry in
# ann_core.examples cannot hide a wrong ann_core: (call, expected, decimals).
W_COL = [[0.2, 0.8, -0.5], [0.5, -0.91, 0.26]]
SPEC_TABLE = [
    ("sigmoid(2)", lambda: activations.sigmoid(2), 0.8808, 4),
    ("relu(-1)", lambda: activations.relu(-1), 0.0, 4),
    ("tanh(1)", lambda: activations.tanh(1), 0.7616, 4),
    ("softmax([1, 2, 3])", lambda: activations.softmax([1, 2, 3]), [0.0900, 0.2447, 0.6652], 4),
    ("mse([2], [3])", lambda: losses.mse([2], [3]), 1.0, 4),
    ("binary_cross_entropy([1], [0.9])", lambda: losses.binary_cross_entropy([1], [0.9]),
     0.1054, 4),
    ("squared error [0.8, 0.2] vs [0.6, 0.3]",
     lambda: 2 * losses.half_sse([0.8, 0.2], [0.6, 0.3]), 0.05, 4),
    ("half_sse [0.8, 0.2] vs [0.6, 0.3]", lambda: losses.half_sse([0.8, 0.2], [0.6, 0.3]),
     0.025, 4),
    ("output delta", lambda: network.output_delta([0.8, 0.2], [0.6, 0.3]), [-0.048, 0.021], 4),
    ("output delta from losses and activations",
     lambda: losses.half_sse_grad([0.8, 0.2], [0.6, 0.3]) * np.array([0.6 * 0.4, 0.3 * 0.7]),
     [-0.048, 0.021], 4),
    ("pre-activation, column form",
     lambda: layers.column_forward(W_COL, [1, 2, 3], [0.5, -0.1]), [0.8, -0.64], 4),
    ("pre-activation, row form",
     lambda: layers.dense_forward([1, 2, 3], np.transpose(W_COL), [0.5, -0.1]), [0.8, -0.64], 4),
    ("sigmoid(W @ x + b)",
     lambda: activations.sigmoid(layers.column_forward(W_COL, [1, 2, 3], [0.5, -0.1])),
     [0.6900, 0.3452], 4),
    ("sigmoid(x @ W.T + b), a batch of one",
     lambda: network.layer_forward([[1, 2, 3]], np.transpose(W_COL), [0.5, -0.1], "sigmoid")[0],
     [[0.6900, 0.3452]], 4),
    ("huber([0], [2], delta=1)", lambda: losses.huber([0], [2], delta=1), 1.5, 4),
    ("sparse_categorical_cross_entropy([2], softmax([[1, 2, 3]]))",
     lambda: losses.sparse_categorical_cross_entropy([2], activations.softmax([[1, 2, 3]])), 0.4076, 4),
    ("l2_penalty([[[1, 2], [3, 4]]], lam=0.1)",
     lambda: losses.l2_penalty([[[1, 2], [3, 4]]], lam=0.1), 1.5, 4),
]


@pytest.mark.parametrize(("label", "compute", "expected", "decimals"), SPEC_TABLE,
                         ids=[row[0] for row in SPEC_TABLE])
def test_spec_table(label, compute, expected, decimals):
    _agrees(compute(), expected, decimals)


def test_the_registry_holds_every_row_of_the_spec_table():
    by_name = {}
    for ex in EXAMPLES:
        by_name.setdefault(ex.name, []).append(ex)
    wanted = {
        "sigmoid": [((2.0,), 0.8808), (([0.8, -0.64],), [0.6900, 0.3452])],
        "relu": [((-1.0,), 0.0)],
        "tanh": [((1.0,), 0.7616)],
        "softmax": [(([1.0, 2.0, 3.0],), [0.0900, 0.2447, 0.6652])],
        "mse": [(([2.0], [3.0]), 1.0)],
        "binary_cross_entropy": [(([1.0], [0.9]), 0.1054)],
        "half_sse": [(([0.8, 0.2], [0.6, 0.3]), 0.025)],
        "output_delta": [(([0.8, 0.2], [0.6, 0.3]), [-0.048, 0.021])],
        "column_forward": [((W_COL, [1.0, 2.0, 3.0], [0.5, -0.1]), [0.8, -0.64])],
        "huber": [(([0.0], [2.0]), 1.5)],
        "sparse_categorical_cross_entropy": [(([2], [[0.0900306, 0.2447285, 0.6652410]]), 0.4076)],
        "l2_penalty": [(([[[1.0, 2.0], [3.0, 4.0]]],), 1.5)],
    }
    for name, rows in wanted.items():
        have = [(e.args, e.expected) for e in by_name.get(name, [])]
        for args, expected in rows:
            assert any(
                np.allclose(np.asarray(exp_, dtype=float), np.asarray(expected, dtype=float))
                and len(a) == len(args)
                and all(np.allclose(x, y) for x, y in zip(a, args, strict=True))
                for a, exp_ in have
            ), (name, args)
    assert examples.for_function("huber")[0].kwargs == {"delta": 1.0}
    assert examples.for_function("l2_penalty")[0].kwargs == {"lam": 0.1}
    assert all(e.decimals == 4 for e in EXAMPLES)


def test_for_function():
    assert [e.function for e in examples.for_function("sigmoid")] == ["activations.sigmoid"] * 2
    assert examples.for_function("no_such_function") == []
    names = {e.name for e in EXAMPLES}
    assert sum(len(examples.for_function(n)) for n in names) == len(EXAMPLES)


def test_sigmoid_derivative_of_the_articles_is_right_only_on_activations():
    y = activations.sigmoid(np.array([0.8, -0.64]))
    np.testing.assert_allclose(y * (1 - y), activations.sigmoid_grad([0.8, -0.64]), rtol=1e-14)
    assert not np.allclose(np.array([0.8, -0.64]) * (1 - np.array([0.8, -0.64])),
                           activations.sigmoid_grad([0.8, -0.64]))
