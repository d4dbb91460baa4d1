"""The capstone on the learner's own code (issue 20): lesson 11's toolbox and the held-out check.

* ``%%toolbox`` (``ann_core/toolbox.py``) fills lesson 11's first exercise cell with the learner's
  own solution cells of lessons 01–10, read from their saved notebooks next to the lesson; in a
  grading kernel it never reads a file.
* The held-out check: with ann_core's reference versions of lessons 01–10's exercises (and the
  classes that compute them: ``Sequential``, ``Dense``, the optimizers, lesson 11's own
  ``train_step``/``fit``) disabled for code outside ann_core, lesson 11's solution notebook runs
  without an error and still trains to ≥ 97 % (the disabled functions stay usable inside an
  ``ann_core.checks`` call, which hands ann_core networks to the learner's ``train_step``).
* The grader's own-work check reads the toolbox cell as code: a toolbox that imports ann_core's
  loss is flagged in ``train_step`` and ``fit``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from held_out import GUARD
from nbclient import NotebookClient

from ann_core import toolbox
from ann_core.checks import RECORD_ENV
from autograder.course import KERNEL_ARGS

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "11_mlp" / "11_mlp.ipynb"
RELEASED = ROOT / "lessons" / "11_mlp" / "11_mlp.ipynb"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _toolbox_ns(lesson_dir: Path) -> tuple[dict, list, list]:
    source, found, missing = toolbox.toolbox_source(lesson_dir)
    ns = {"np": np}
    exec(compile(source, "<toolbox>", "exec"), ns)  # noqa: S102  (the course's own solutions)
    return ns, found, missing


def test_the_toolbox_holds_the_learners_functions_and_they_compute_a_network():
    ns, found, missing = _toolbox_ns(ROOT / "solutions" / "11_mlp")
    assert missing == [] and len(found) == sum(len(v) for k, v in toolbox.TOOLBOX.items() if k != "11_mlp")
    from ann_core.network import network_backward, network_forward

    rng = np.random.default_rng(5)
    params = [(rng.normal(size=(4, 5)), rng.normal(size=5)), (rng.normal(size=(5, 3)), rng.normal(size=3))]
    X, acts = rng.normal(size=(6, 4)), ["tanh", "softmax"]
    Y, caches = ns["network_forward"](X, params, acts)
    Y_ref, caches_ref = network_forward(X, params, acts)
    np.testing.assert_allclose(Y, Y_ref, rtol=1e-12)
    dY = rng.normal(size=Y.shape)
    for mine, ref in zip(ns["network_backward"](dY, caches, params, acts),
                         network_backward(dY, caches_ref, params, acts), strict=True):
        for a, b in zip(mine, ref, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10)
    # the tables are the learner's functions, looked up when called
    assert ns["LOSSES"]["categorical_cross_entropy"]([[0, 1]], [[0.5, 0.5]]) == pytest.approx(np.log(2))
    ns["relu"] = lambda z: "mine"
    assert ns["ACTIVATIONS"]["relu"](1.0) == "mine"


def test_a_lesson_not_saved_next_to_this_one_becomes_a_loud_stub(tmp_path):
    (tmp_path / "11_mlp").mkdir()
    ns, found, missing = _toolbox_ns(tmp_path / "11_mlp")
    assert found == [] and "adam_update" in missing and "relu" in missing
    source = toolbox.toolbox_source(tmp_path / "11_mlp")[0]
    assert "!!! NOT FOUND: `adam_update` is not in ../10_adam/10_adam.ipynb" in source
    with pytest.raises(NotImplementedError):
        ns["relu"](1.0)


def test_lesson_12_also_takes_lesson_11s_train_step_and_fit():
    assert toolbox.lessons_before("12_regularization")[-1] == "11_mlp"
    assert "11_mlp" not in toolbox.lessons_before("11_mlp")
    # a lesson split into lettered parts (03a, 03b) keeps its place among the numbered ones
    assert toolbox.lessons_before("03b_classification_losses") == ["01_layers", "02_activations",
                                                                   "03a_regression_losses"]
    assert toolbox.lessons_before("04_forward")[-2:] == ["03a_regression_losses", "03b_classification_losses"]
    assert toolbox.is_stub("# YOUR CODE HERE\nraise NotImplementedError()\n")
    assert not toolbox.is_stub("# YOUR CODE HERE\ndef relu(z):\n    return z\n")


def _run(nb, path: Path):
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True, extra_arguments=KERNEL_ARGS,
                   resources={"metadata": {"path": str(path)}}).execute()
    return nb


def _text(cell) -> str:
    parts = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            parts.append(o.text)
        elif o.output_type == "error":
            parts.append(f"{o.ename}: {o.evalue}\n" + ANSI.sub("", "\n".join(o.traceback)))
        elif "text/plain" in o.get("data", {}):
            parts.append(o.data["text/plain"])
    return "\n".join(parts)


def _magic_notebook():
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np\nfrom ann_core import toolbox"),
        nbformat.v4.new_code_cell("%%toolbox\n# YOUR CODE HERE\nraise NotImplementedError()"),
        nbformat.v4.new_code_cell("print(relu(np.array([-1.0, 2.0])), adam_update is not None)"),
    ])


@pytest.fixture
def saved_lessons(tmp_path):
    """A learner's folder: lessons 01–10 saved (here: the solutions) next to an empty 11_mlp."""
    for lesson in toolbox.lessons_before("11_mlp"):
        (tmp_path / lesson).mkdir()
        shutil.copy(ROOT / "solutions" / lesson / f"{lesson}.ipynb", tmp_path / lesson)
    (tmp_path / "11_mlp").mkdir()
    return tmp_path / "11_mlp"


def test_the_magic_loads_the_saved_lessons_into_the_cell(saved_lessons, monkeypatch):
    monkeypatch.delenv(RECORD_ENV, raising=False)
    nb = _run(_magic_notebook(), saved_lessons)
    assert "27 of your functions loaded" in _text(nb.cells[1]), _text(nb.cells[1])
    assert _text(nb.cells[2]).strip() == "[0. 2.] True"


def test_in_a_grading_kernel_the_magic_reads_no_file(saved_lessons, monkeypatch):
    monkeypatch.setenv(RECORD_ENV, "1")
    nb = _run(_magic_notebook(), saved_lessons)
    assert "holds no code" in _text(nb.cells[1]) and "NotImplementedError" in _text(nb.cells[1])
    assert "NameError: name 'relu' is not defined" in _text(nb.cells[2])


# ---------------------------------------------------------------- the held-out check


@pytest.mark.slow
def test_held_out_lesson_11_solution_trains_on_the_learners_own_code(tmp_path):
    nb = nbformat.read(SOLUTION, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(GUARD))
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs = []
    work = tmp_path / "11_mlp"
    work.mkdir()
    _run(nb, work)
    assert "guard works: held out: ann_core's ann_core.losses.categorical_cross_entropy" in _text(nb.cells[0])
    errors = [(i, _text(c)[:400]) for i, c in enumerate(nb.cells) if c.cell_type == "code"
              and any(o.output_type == "error" for o in c.outputs)]
    assert errors == [], errors
    meanwhile = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "Meanwhile" in _text(c)]
    assert meanwhile == []
    test_cell = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                     == "test_digits_accuracy")
    acc = float(re.search(r"test accuracy (\d\.\d+)", _text(test_cell)).group(1))
    assert acc >= 0.97, _text(test_cell)


def test_a_toolbox_that_uses_ann_cores_loss_fails_train_step():
    """Lesson 11 withholds every earlier reference the toolbox replaces (CAPSTONE_FORBIDDEN): a toolbox
    whose loss is ann_core's makes the learner's train_step fail its check, which names the reference
    (the grading kernel's ann_core has no such function at all: tests/test_own_work.py)."""
    from ann_core import losses
    from ann_core.checks import CheckFailed, check
    from ann_core.checks.training import CAPSTONE_FORBIDDEN

    assert {"ann_core.losses.categorical_cross_entropy_grad", "ann_core.optimizers.adam_update",
            "ann_core.activations.relu", "ann_core.network.network_backward"} <= set(CAPSTONE_FORBIDDEN)

    def train_step(net, X, Y, loss, optimizer):  # the solution's loop, with ann_core's loss gradient
        P = net.forward(X)
        value = float(losses.categorical_cross_entropy(Y, P))
        net.backward(losses.categorical_cross_entropy_grad(Y, P))
        optimizer.step(net.params, net.grads)
        return value

    with pytest.raises(CheckFailed, match=r"uses ann_core's losses\.categorical_cross_entropy"):
        check("train_step", train_step, quiet=True)


@pytest.mark.slow
def test_an_untouched_lesson_11_runs_on_the_reference_only_under_the_label(tmp_path):
    """Run All on the released lesson next to the untouched lessons 01–10: the toolbox loads their stubs,
    and a demo that needs an unwritten function runs again with ann_core's reference, under the label."""
    for lesson in [*toolbox.lessons_before("11_mlp"), "11_mlp"]:
        shutil.copytree(ROOT / "lessons" / lesson, tmp_path / lesson)
    nb = nbformat.read(tmp_path / "11_mlp" / "11_mlp.ipynb", as_version=4)
    _run(nb, tmp_path / "11_mlp")
    texts = [_text(c) for c in nb.cells if c.cell_type == "code"]
    assert any("27 of your functions loaded" in t for t in texts)
    worked = next(t for t in texts if "step 1: loss before the update" in t)
    assert "▶ Meanwhile, what this cell shows with ann_core's reference" in worked
    assert "step 1: loss before the update = 0.6931" in worked
    xor = next(t for t in texts if "largest |∂E/∂W1| at the start" in t)  # a message that wraps "needs it"
    assert "▶ Meanwhile" in xor and "stopped even so" not in xor
