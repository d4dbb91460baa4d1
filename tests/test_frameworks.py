"""Lesson 14 (from scratch to a framework): ann_core.frameworks, and the lesson without the extra.

With the `frameworks` extra installed, nbval runs the solution notebook, whose cell asserts that
Keras and PyTorch take the NumPy network's first Adam steps to within 1e-6. Here: the layouts, and
that without the extra the lesson runs to its end with exactly one note and the exercise still graded.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from ann_core import frameworks as fw
from autograder.course import KERNEL_ARGS

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "14_frameworks" / "14_frameworks.ipynb"


def test_torch_params_is_the_transpose_not_a_reshape():
    W = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    b = np.array([0.5, -0.5])
    [(weight, bias)] = fw.torch_params([(W, b)])
    np.testing.assert_array_equal(weight, [[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]])
    np.testing.assert_array_equal(bias, b)
    assert not np.array_equal(weight, W.reshape(2, 3))
    weight[0, 0] = 99.0  # new arrays: the course's W is untouched
    assert W[0, 0] == 1.0


def test_torch_params_computes_the_same_layer():
    rng = np.random.default_rng(1)
    params = [(rng.normal(size=(4, 3)), rng.normal(size=3)), (rng.normal(size=(3, 2)), rng.normal(size=2))]
    X = rng.normal(size=(5, 4))
    A, T = X, X
    for (W, b), (weight, bias) in zip(params, fw.torch_params(params), strict=True):
        A, T = A @ W + b, T @ weight.T + bias  # the course's X @ W + b, PyTorch's X @ weight.T + bias
    np.testing.assert_allclose(T, A, rtol=1e-12)


def test_keras_weights_keep_the_course_layout_in_float32():
    params = [(np.ones((3, 2)), np.zeros(2)), (np.ones((2, 4)), np.arange(4.0))]
    out = fw.keras_weights(params)
    assert [a.shape for a in out] == [(3, 2), (2,), (2, 4), (4,)]
    assert all(a.dtype == np.float32 for a in out)
    np.testing.assert_array_equal(out[3], [0, 1, 2, 3])


def test_bad_params_are_refused():
    with pytest.raises(ValueError, match=r"params\[0\] should be a \(W, b\) pair"):
        fw.torch_params([np.ones((2, 2))])
    with pytest.raises(ValueError, match="layer 1: W has shape"):
        fw.torch_params([(np.ones((2, 3)), np.ones(2))])


def _outputs(cell) -> str:
    return "\n".join(o.get("text", "") if o.output_type == "stream" else str(o.get("data", {}).get("text/plain", ""))
                     for o in cell.outputs)


# What a kernel without the extra sees: importing torch or keras raises ModuleNotFoundError (a finder,
# not sys.modules[...] = None, which other libraries such as scikit-learn would trip over).
HIDE = """
import sys

class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "keras"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _NotInstalled())
"""


def test_without_the_extra_the_lesson_skips_with_one_note():
    """The solution, run in a kernel where `import torch` and `import keras` fail (as without the extra):
    every cell runs, one note says why and how to install, no framework output, the exercise passes."""
    nb = nbformat.read(SOLUTION, as_version=4)
    hide = nbformat.v4.new_code_cell(HIDE)
    nb.cells.insert(0, hide)
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=False, extra_arguments=KERNEL_ARGS,
                   resources={"metadata": {"path": str(SOLUTION.parent)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    texts = [_outputs(c) for c in code]
    assert sum(fw.NOTE in t for t in texts) == 1, texts
    assert fw.NOTE in texts[1]  # the setup cell
    assert not any("|Δ|max" in t or "accuracy" in t for t in texts), texts
    assert not any(o.output_type == "error" for c in code for o in c.outputs)
    assert "✔ torch_params: 3 checks passed" in "\n".join(texts)
    assert "1 of 1 exercises pass: 2/2 points" in texts[-1]
