"""The learner's toolbox: their own functions from earlier lessons, gathered in one notebook cell.

Lessons 11, 12 and 14 train a network whose every formula is the learner's own. Their first
exercise cell starts with the cell magic ``%%toolbox`` (registered when this module is
imported in IPython):

* run with only the stub in it (``# YOUR CODE HERE`` / ``raise NotImplementedError()``), and
  outside a grading kernel, it reads the learner's *own saved* notebooks of the earlier
  lessons, next to this one (``../02_activations/02_activations.ipynb`` …), takes the source of
  each graded solution cell named in ``TOOLBOX``, runs it, and replaces the cell's text with
  it (``set_next_input(..., replace=True)``, as ``%load`` does), so the code lives in the
  lesson's own notebook, which is what the grader grades. A function it cannot find (a
  notebook not saved there, a cell deleted) becomes a stub that raises
  ``NotImplementedError`` under a loud comment; demo cells then show ann_core's reference
  in its place under their usual label ("▶ Meanwhile, … not yet yours"), never while grading;
* run with code in it, it runs that code as an ordinary cell (the grader's own-work check
  reads the cell as plain Python: ``autograder/integrity.py`` treats ``%%toolbox`` like
  ``%%capture``);
* in a grading kernel (``ann_core.checks.RECORD_ENV`` set) it never reads a file: an
  untouched toolbox cell stays the stub and raises.

``toolbox_source(lesson_dir, names)`` builds the text; ``TOOLBOX`` lists, per earlier lesson,
the graded functions a network needs; ``tables_source()`` the lookup tables (activations,
derivatives, losses) built from the learner's functions, which replace ann_core's tables
that lessons 04–05 used.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

# per lesson folder, the graded functions a network needs (in the lesson's order)
TOOLBOX: dict[str, tuple[str, ...]] = {
    "01_layers": ("dense_forward",),
    "02_activations": ("sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad", "leaky_relu",
                       "leaky_relu_grad", "softmax"),
    "03a_regression_losses": ("mse", "mse_grad"),
    "03b_classification_losses": ("binary_cross_entropy", "categorical_cross_entropy",
                                  "binary_cross_entropy_grad", "categorical_cross_entropy_grad"),
    "04_forward": ("layer_forward", "network_forward"),
    "05_backprop": ("dense_backward", "activation_backward", "network_backward"),
    "06_gradient_descent": ("sgd_update", "iterate_minibatches"),
    "07_momentum": ("momentum_update",),
    "08_adagrad": ("adagrad_update",),
    "09_rmsprop": ("rmsprop_update",),
    "10_adam": ("adam_update",),
    "11_mlp": ("train_step", "fit"),
}

_MARKER = re.compile(r"^[ \t]*#+ *(BEGIN|END) SOLUTION[^\n]*\n?", flags=re.M)  # (in the course's own sources)
_STUB_LINE = re.compile(r"^\s*(#.*|raise NotImplementedError(\(\))?)?\s*$")

PRELUDE = '''\
# ── Your toolbox: your own functions from the earlier lessons, loaded by %%toolbox from your saved
#    notebooks. Everything the network in this lesson computes is one of these. Edit them here if you
#    like, then run this cell again. The grader grades the code in THIS cell (it never reads your other
#    notebooks), so save the notebook after running it. (NumPy is `np`, imported in the setup cell.)
EPS = 1e-12  # lesson 03b: probabilities are clipped to [EPS, 1 − EPS] before a log
'''


def tables_source() -> str:
    """The lookup tables lessons 04–05 took from ann_core, built from the learner's own functions.

    Each entry calls the function by its name when used (``lambda z: relu(z)``), so a
    function redefined later, or shown with ann_core's reference meanwhile, is the one used.
    """
    return '''\

# ── Tables of YOUR functions (lessons 04 and 05 looked activations up in ann_core's tables; these are
#    yours), and the losses by name, as lesson 11's train_step takes them.
ACTIVATIONS = {"identity": lambda z: np.asarray(z, dtype=float), "sigmoid": lambda z: sigmoid(z),
               "tanh": lambda z: tanh(z), "relu": lambda z: relu(z), "leaky_relu": lambda z: leaky_relu(z),
               "softmax": lambda z: softmax(z)}
DERIVATIVES = {"identity": lambda z: np.ones_like(np.asarray(z, dtype=float)), "sigmoid": lambda z: sigmoid_grad(z),
               "tanh": lambda z: tanh_grad(z), "relu": lambda z: relu_grad(z),
               "leaky_relu": lambda z: leaky_relu_grad(z)}
LOSSES = {"mse": lambda t, p: mse(t, p), "binary_cross_entropy": lambda t, p: binary_cross_entropy(t, p),
          "categorical_cross_entropy": lambda t, p: categorical_cross_entropy(t, p)}
GRADIENTS = {"mse": lambda t, p: mse_grad(t, p),
             "binary_cross_entropy": lambda t, p: binary_cross_entropy_grad(t, p),
             "categorical_cross_entropy": lambda t, p: categorical_cross_entropy_grad(t, p)}
'''


def solution_cells(notebook: Path) -> dict[str, str]:
    """``{grade_id: source}`` of the solution code cells of a saved notebook (empty if unreadable)."""
    try:
        nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out = {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and meta.get("solution") and meta.get("grade_id"):
            src = cell.get("source", "")
            out[meta["grade_id"]] = "".join(src) if isinstance(src, list) else str(src)
    return out


def _stub(name: str, where: str) -> str:
    return (f"# !!! NOT FOUND: `{name}` is not in {where}. Write it here (or save that lesson there and run\n"
            f"# !!! %%toolbox again). Until then demos show ann_core's reference in its place, labelled.\n"
            f"def {name}(*args, **kwargs):\n    raise NotImplementedError()\n")


def lessons_before(lesson: str | None) -> list[str]:
    """The toolbox's lesson folders that come before ``lesson`` (e.g. "12_regularization"); all
    but lesson 11's when ``lesson`` is not a numbered lesson folder.

    Lesson numbers are compared as the text before the first "_" ("03a" < "03b" < "04" < "11"),
    so a lesson split into lettered parts keeps its place.
    """
    m = re.match(r"^(\d\d[a-z]?)_", lesson or "")
    if m is None:
        return [k for k in TOOLBOX if k != "11_mlp"]
    return [k for k in TOOLBOX if k.split("_", 1)[0] < m.group(1)]


def toolbox_source(lesson_dir: Path, lessons: list[str] | None = None) -> tuple[str, list[str], list[str]]:
    """The toolbox cell's text for a lesson in ``lesson_dir``: ``(source, found, missing)``.

    Reads ``lesson_dir/../<lesson>/<lesson>.ipynb`` for each earlier lesson (``lessons_before``)
    and takes the solution cell of every name ``TOOLBOX`` lists for it, in order.
    """
    lesson_dir = Path(lesson_dir)
    lessons = lessons_before(lesson_dir.name) if lessons is None else lessons
    parts, found, missing = [PRELUDE], [], []
    for lesson in lessons:
        path = lesson_dir.parent / lesson / f"{lesson}.ipynb"
        cells = solution_cells(path)
        parts.append(f"\n# ── from {lesson} (../{lesson}/{lesson}.ipynb)\n")
        for name in TOOLBOX[lesson]:
            if name in cells:
                parts.append(_MARKER.sub("", cells[name]).rstrip() + "\n\n")
                found.append(name)
            else:
                parts.append(_stub(name, f"../{lesson}/{lesson}.ipynb") + "\n")
                missing.append(name)
    parts.append(tables_source())
    return "".join(parts).rstrip() + "\n", found, missing


def is_stub(body: str) -> bool:
    """True when a cell holds nothing but comments, blank lines and ``raise NotImplementedError()``."""
    return all(_STUB_LINE.match(line) for line in body.splitlines())


def _run(shell, source: str) -> None:
    """Run ``source`` in the notebook's namespace as an ordinary cell would (tracebacks show its lines)."""
    code = shell.transform_cell(source)
    filename = shell.compile.cache(code, shell.execution_count, raw_code=source)
    exec(compile(code, filename, "exec"), shell.user_ns)  # noqa: S102  (the learner's own cell)


def toolbox_magic(line: str, cell: str) -> None:
    """``%%toolbox``: fill the cell from the learner's saved notebooks, or run the code it holds."""
    from IPython import get_ipython

    from .checks.record import grading

    shell = get_ipython()
    if not is_stub(cell):
        _run(shell, cell)
        return
    if grading():
        print("The toolbox cell holds no code (the grader never reads your other notebooks): run it in "
              "JupyterLab, where %%toolbox fills it with your functions, and save before handing in.")
        _run(shell, cell)
        return
    source, found, missing = toolbox_source(Path.cwd())
    _run(shell, source)
    shell.set_next_input("%%toolbox\n" + source, replace=True)
    print(f"%%toolbox: {len(found)} of your functions loaded from your saved notebooks into this cell "
          "(its text is now your code; save the notebook).")
    if missing:
        print(f"!!! Not found, so stubs for now: {', '.join(missing)}. Write them in this cell; meanwhile "
              "demo cells run ann_core's reference in their place under a label saying so.")


def load_ipython_extension(shell) -> None:
    """Register ``%%toolbox`` (also done when this module is imported inside IPython)."""
    shell.register_magic_function(toolbox_magic, magic_kind="cell", magic_name="toolbox")


def _register() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "register_magic_function"):
        load_ipython_extension(shell)


_register()
