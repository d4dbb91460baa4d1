"""Lesson 14 (from scratch to a framework): ann_core.frameworks, the learner's network, and the lesson without
the extra.

With the `frameworks` extra installed, nbval runs the solution notebook, whose cell asserts that Keras and
PyTorch take the learner's network's first Adam steps to within 1e-5 (on the stand-in, 1e-6: checked below).
Here: the layouts; the 784-input stand-in; that the solution's NumPy side is the learner's toolbox (ann_core's
references of lessons 01–11 held out of the notebook) and still agrees with both frameworks; and that without
the extra the lesson runs to its end with exactly one note and the exercise still graded.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from held_out import GUARD
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


def test_upscale_8x8_puts_each_pixel_in_a_3x3_block_with_a_blank_frame():
    X = np.arange(2 * 64, dtype=float).reshape(2, 64) / 127.0
    big = fw.upscale_8x8(X).reshape(2, 28, 28)
    assert big.shape == (2, 28, 28)
    for r, c in [(0, 0), (3, 5), (7, 7)]:  # pixel (r, c) fills rows/columns 2 + 3r … 4 + 3r
        np.testing.assert_array_equal(big[1, 2 + 3 * r:5 + 3 * r, 2 + 3 * c:5 + 3 * c], X[1, 8 * r + c])
    frame = np.ones((28, 28), bool)
    frame[2:26, 2:26] = False
    assert not big[:, frame].any()
    with pytest.raises(ValueError, match=r"rows of 64 pixels \(8×8 images\), got shape \(3, 49\)"):
        fw.upscale_8x8(np.zeros((3, 49)))


def test_digits_784_is_the_digits_split_at_mnists_shape():
    from ann_core import datasets

    X_train, y_train, X_test, y_test = datasets.digits()
    B_train, b_train, B_test, b_test = fw.digits_784()
    assert B_train.shape == (len(X_train), 784) and B_test.shape == (len(X_test), 784)
    np.testing.assert_array_equal(b_train, y_train)
    np.testing.assert_array_equal(b_test, y_test)
    # the block centres (rows and columns 3, 6, …, 24) give the 8×8 images back
    np.testing.assert_array_equal(B_test.reshape(-1, 28, 28)[:, 3:27:3, 3:27:3].reshape(-1, 64), X_test)
    assert 0.0 <= B_train.min() and B_train.max() <= 1.0
    np.testing.assert_array_equal(fw.digits_784()[0], B_train)  # deterministic


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
    every cell runs, one note says why and how to install, no framework output, the exercise passes and the
    learner's network still takes its steps."""
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
    assert "losses of your network: [2.5051 2.3132 2.2379 2.0992 2.0210]" in "\n".join(texts)  # NumPy only
    assert "1 of 1 exercises pass: 2/2 points" in texts[-1]


# The learner-network path: every reference of lessons 01–11 that the toolbox replaces (and ann_core's own
# network, layer and optimizer classes, which the lesson used before) raises when the notebook calls it.


def test_the_numpy_side_is_the_learners_network_and_the_frameworks_agree_with_it(tmp_path, monkeypatch):
    """The solution run with ann_core's references of lessons 01–11 held out of the notebook: the toolbox
    computes the NumPy side, no cell fails or falls back to the reference, the data are the 784-pixel
    stand-in (no MNIST here), and Keras and PyTorch agree with the learner's network to float32 precision."""
    if not all(importlib.util.find_spec(m) for m in ("torch", "keras")):  # (importing keras here would pick
        pytest.skip("the frameworks extra is not installed")              # its default backend, TensorFlow)
    monkeypatch.setenv("ANN_MNIST_DIR", str(tmp_path / "no-mnist"))
    nb = nbformat.read(SOLUTION, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(GUARD))
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True, extra_arguments=KERNEL_ARGS,
                   resources={"metadata": {"path": str(SOLUTION.parent)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    texts = [_outputs(c) for c in code]
    assert "guard works: held out: ann_core's ann_core.losses.categorical_cross_entropy" in texts[0]
    errors = [(i, [o.get("evalue") for o in c.outputs if o.output_type == "error"]) for i, c in enumerate(code)
              if any(o.output_type == "error" for o in c.outputs)]
    assert errors == [], errors
    assert not any("Meanwhile" in t for t in texts)
    joined = "\n".join(texts)
    assert "data: the stand-in: scikit-learn's 8×8 digits drawn at 28×28 (not MNIST)" in joined
    assert "training X (1437, 784)" in joined
    assert "every step: parameters within 1e-5 of yours: True; losses within 1e-5: True" in joined
    rows = re.findall(r"^ +(\d) +(\d\.\d{4}) +Keras \|Δloss\| (\S+) \|Δ\|max (\S+) +"
                      r"PyTorch \|Δloss\| (\S+) \|Δ\|max (\S+)$", joined, flags=re.M)
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4, 5], joined
    assert all(float(r[3]) < 1e-6 and float(r[5]) < 1e-6 for r in rows)   # |Δ|max of Keras and PyTorch
    assert all(float(r[2]) < 1e-5 and float(r[4]) < 1e-5 for r in rows)   # |Δloss|
    assert float(rows[0][1]) > float(rows[-1][1])  # the loss falls over the five steps


@pytest.mark.slow
def test_an_untouched_lesson_14_shows_the_reference_only_under_the_label(tmp_path, monkeypatch):
    """Run All on the released lesson next to the untouched lessons 01–11: the toolbox loads their stubs, and
    the cells that need them run again with ann_core's reference, under the "▶ Meanwhile" label."""
    from ann_core import toolbox

    monkeypatch.setenv("ANN_MNIST_DIR", str(tmp_path / "no-mnist"))
    for lesson in [*toolbox.lessons_before("14_frameworks"), "14_frameworks"]:
        shutil.copytree(ROOT / "lessons" / lesson, tmp_path / lesson)
    nb = nbformat.read(tmp_path / "14_frameworks" / "14_frameworks.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True, extra_arguments=KERNEL_ARGS,
                   resources={"metadata": {"path": str(tmp_path / "14_frameworks")}}).execute()
    texts = [_outputs(c) for c in nb.cells if c.cell_type == "code"]
    assert any("29 of your functions loaded" in t for t in texts)  # the stubs of the untouched lessons
    mine = next(t for t in texts if "losses of your network" in t)
    assert "▶ Meanwhile, what this cell shows with ann_core's reference" in mine and "`train_step`" in mine
    assert "losses of your network: [2.5051 2.3132 2.2379 2.0992 2.0210]" in mine  # the solution's figures
    if importlib.util.find_spec("torch") and importlib.util.find_spec("keras"):
        steps = next(t for t in texts if "Keras |Δloss|" in t)
        assert "▶ Meanwhile" in steps and "losses within 1e-5: True" in steps and "stopped even so" not in steps
