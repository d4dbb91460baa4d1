"""Step 4, verify: the grader decides every test cell itself, outside the learner's kernel.

Learner code runs in the same interpreter as the test cells, so it can replace what they
rely on (``np.allclose``, ``ann_core.checks.check`` itself), read the call stack and IPython's
input history, and print whatever it finds. So nothing the kernel says is taken as it is:

* **hidden seeds per run**: before execution, ``new_hidden_seeds`` rewrites the seed of every
  hidden ``check(..., seed=…, hidden=True)`` call in the trusted test-cell source (restored
  from the gradebook by nbgrader's ``OverwriteCells``) to one drawn with ``secrets`` for this
  run; the grader keeps them in the autograded notebook's metadata, which no kernel sees;
* **judge**: inside a grading kernel every ``check`` only displays a *record* of what the
  learner's function did on each case: the value returned, whether its inputs changed, or
  the exception (``ann_core.checks.RECORD_MIME``). Here the cases and the expected values are
  regenerated from the seed, the values compared and the known mistakes tried
  (``ann_core.checks.record.judge``); each check of the trusted source must have left exactly
  one record;
* **the grader's own words**: every test cell's outputs are replaced by one the grader
  writes: ``✔`` or a ``CheckFailed`` error with a message composed here. A public case shows
  its inputs and the expected values in the notebook's words (``compare.details``), never the
  numbers the learner's code returned (a submission written to steal could encode in them what
  it reads in the kernel; the notebook's own check shows them); a hidden case says only its
  label and the likely mistake (no inputs, no expected values, no seed); the learner's exception
  text is reduced to a builtin exception type name;
* **own work**: the kernel's ann_core has no reference of the lesson to call (``integrity.py``);
  a check whose function called one recorded ``ReferenceUnavailable``, and scores 0 with
  "uses ann_core's …";
* **lesson 11's accuracy** is measured here on a private set of digits made for this run
  (``digits_private``) from the parameters the kernel handed back.
"""

from __future__ import annotations

import ast
import base64
import builtins
import functools
import re
import secrets

import numpy as np
from nbformat import NotebookNode

from ann_core import examples as _examples
from ann_core.checks import RECORD_MIME, SPECS, _close, _fmt, _show_case, _unportable, _wrapped, diagnose, replay
from ann_core.checks.compare import MAX_DETAILS, MAX_MESSAGE, details
from ann_core.checks.core import diagnose_overflow, overflow_why, uses_withheld
from ann_core.checks.record import judge
from ann_core.checks.withhold import withheld

from .score import test_cells

__all__ = ["expected_checks", "new_hidden_seeds", "replay", "verify", "strip_records"]


# ---------------------------------------------------------------- the trusted test source
def _check_calls(source: str):
    """``(call node, name, seed node or None, hidden)`` of every ``check("name", fn, …)`` call."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    out = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "check"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            kw = {k.arg: k.value for k in node.keywords}
            hidden = isinstance(kw.get("hidden"), ast.Constant) and bool(kw["hidden"].value)
            out.append((node, node.args[0].value, kw.get("seed"), hidden))
    return sorted(out, key=lambda c: (c[0].lineno, c[0].col_offset))


def expected_checks(source: str) -> list[tuple[str, int, bool]]:
    """``(name, seed, hidden)`` of every ``check("name", fn, seed=…, hidden=…)`` call in ``source``."""
    calls = []
    for _, name, seed, hidden in _check_calls(source):
        value = seed.value if isinstance(seed, ast.Constant) and isinstance(seed.value, int) else 0
        calls.append((name, int(value), hidden))
    return calls


def _offset(source: str, lineno: int, col: int) -> int:
    lines = source.splitlines(keepends=True)
    return sum(len(s) for s in lines[:lineno - 1]) + len(lines[lineno - 1].encode()[:col].decode())


def new_hidden_seeds(nb) -> dict[str, list[int]]:
    """Give every hidden check of ``nb``'s test cells a seed drawn for this run; returns them by cell."""
    seeds = {}
    for cell in test_cells(nb):
        edits = []
        for node, _, seed, hidden in _check_calls(cell.source):
            if not hidden:
                continue
            new = 1000 + secrets.randbelow(2**31 - 1000)
            if seed is not None:
                edits.append((_offset(cell.source, seed.lineno, seed.col_offset),
                              _offset(cell.source, seed.end_lineno, seed.end_col_offset), str(new)))
            else:
                end = _offset(cell.source, node.end_lineno, node.end_col_offset) - 1
                edits.append((end, end, f", seed={new}"))
        src = cell.source
        for start, stop, text in sorted(edits, reverse=True):
            src = src[:start] + text + src[stop:]
        if edits:
            cell.source = src
            seeds[cell.metadata.nbgrader["grade_id"]] = [int(e[2].removeprefix(", seed=")) for e in edits]
    return seeds


# ---------------------------------------------------------------- composing messages
_BUILTIN_EXC = {n for n in dir(builtins) if isinstance(getattr(builtins, n), type)
                and issubclass(getattr(builtins, n), BaseException)}
_BUILTIN_TYPES = {n for n in dir(builtins) if isinstance(getattr(builtins, n), type)} | {
    "ndarray", "float64", "int64", "float32", "generator", "NoneType", "function", "method"}
# messages that the checks' own adapters raise (ann_core/checks/training.py); only these keep their text
_CHECK_TEXT = [re.compile(p) for p in (
    r"(train_step|fit) should return the (batch loss as a float|history dict), but returned "
    r"(None \((did you forget `return( history)?`\?)\)|(?P<t>\w+))",
    r"the history has no ('(loss|acc|val_loss|val_acc)'(, )?)+; it needs the keys [a-z_', ]+, each a list "
    r"with one value per epoch",
)]


def _known_exceptions() -> set:
    """Builtin exception names, and those the checks themselves raise (e.g. ``NotRestored``)."""
    import sys

    names = set(_BUILTIN_EXC)
    for modname, mod in list(sys.modules.items()):
        if mod is not None and modname.startswith("ann_core"):
            names |= {k for k, v in vars(mod).items() if isinstance(v, type) and issubclass(v, BaseException)
                      and v.__module__.startswith("ann_core")}
    return names


def _etype(name) -> str:
    return name if isinstance(name, str) and name in _known_exceptions() else "an exception"


def _check_text(etype: str, text) -> str:
    """The check adapter's own explanation, when ``text`` is exactly one of them."""
    if not isinstance(text, str):
        return ""
    text = text.strip("\"'")
    for p in _CHECK_TEXT:
        m = p.fullmatch(text)
        if m and (not m.groupdict().get("t") or m.group("t") in _BUILTIN_TYPES):
            return text
    return ""


class _Other:
    """A returned value that was not numbers (the record names its type only)."""

    def __init__(self, type_name):
        self.type_name = type_name if type_name in _BUILTIN_TYPES else "object"

    def __repr__(self):
        return f"<{self.type_name}>"


def _value(p):
    if isinstance(p, dict) and "other" in p:
        return _Other(p["other"])
    if isinstance(p, dict) and "tuple" in p:
        return tuple(_value(v) for v in p["tuple"])
    if isinstance(p, dict) and "list" in p:
        return [_value(v) for v in p["list"]]
    return _unportable(p)


def _category(why: str) -> str:
    """What kind of wrong a result is, from ``_close``'s explanation, without the learner's numbers."""
    item = re.match(r"item (\[[0-9\]\[]+\]) of the returned tuple", why)
    where = f" in item {item.group(1)} of the returned tuple" if item else ""
    if "forget `return`" in why:
        return "it returned None (did you forget `return`?)" + where.replace(" in ", " as ")
    if "not a number" in why:
        return "it returned something that is not a number or an array of numbers" + where.replace(" in ", " as ")
    if "should return a tuple" in why or "should be a tuple" in why:
        return "it returned the wrong number of values" + where
    if "shape" in why:
        return "the result has the wrong shape" + where
    if why == "did not pass its check":
        return "it did not pass its check"
    return "the result has wrong values" + where


def _expected_text(value) -> str:
    """The right result, briefly (public cases only: the learner can compute it anyway)."""
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} values"
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return "another value"
    if arr.ndim == 0:
        return _fmt(float(arr))
    if arr.size <= 4:
        return np.array2string(arr, precision=6, separator=", ")
    return f"an array of shape {arr.shape}"


def _error_hint(spec, case, etype, text) -> str:
    """The hint of the first known mistake that raises the same exception here."""
    import warnings

    from ann_core.checks import _copy

    for m in spec.mistakes:
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                m.fn(*_copy(case.args), **case.kwargs)
        except Exception as exc:  # noqa: BLE001
            if type(exc).__name__ == etype and str(exc) == text:
                return f" Likely mistake: {m.hint}"
    return ""


def judge_check(record, name: str, seed: int, hidden: bool) -> str:
    """'' if ``record`` shows ``check(name, …, seed, hidden)`` passing; otherwise the grader's message."""
    try:
        spec = _wrapped(SPECS[name])
        plan, failure = judge(record, name, seed, hidden, value=_value)
        if failure is None:
            return ""
        n_examples = len(_examples.for_function(name)) if spec.examples else 0
        i, failed = failure
        kind = failed["kind"]
        if kind == "not_callable":
            return f"{name} should be a function."
        if kind == "reference":
            return f"{name} is ann_core's reference implementation; write your own version."
        if kind == "withheld":
            return uses_withheld(name, failed["text"], _withheld_names())
        if kind == "not_implemented":
            where = failed.get("where")
            if where != name and where in SPECS:
                return f"{name} calls {where}, which is not implemented yet: finish {where} first."
            return f"{name} is not implemented yet: replace `raise NotImplementedError()` with your code."
        if kind == "incomplete":
            return f"the record of {name} is incomplete"
        return _message(spec, name, plan, i, n_examples, hidden, failed, failed.get("got"), failed.get("why"))
    except Exception as exc:  # noqa: BLE001  (a forged or damaged record)
        return f"the check record of {name} could not be read ({type(exc).__name__})"


@functools.lru_cache(maxsize=1)
def _withheld_names() -> frozenset:
    """Every name some lesson withholds: the only ones a message may repeat from a kernel."""
    return frozenset(withheld(list(SPECS)))


def _message(spec, name, plan, i, n_examples, hidden, failed, got, why) -> str:
    """The grader's words for a failed case: never the learner's returned numbers or exception text."""
    case_spec, case, expected = plan[i]
    public = not hidden or i < n_examples
    kind = failed.get("kind")
    hint = ""
    if kind == "error":
        etype = _etype(failed.get("error"))
        hint = _error_hint(case_spec, case, etype, failed.get("text"))
        own = _check_text(etype, failed.get("text")) if public else ""
        what = f"it raised {etype}" + (f" ({own})" if own else "")
    elif kind == "mutated":
        what = "it changed its input arrays in place"
        hint = " Compute new arrays (e.g. w - lr * g) instead of modifying the arguments."
    elif kind == "overflow":
        what = "it " + overflow_why(failed["warning"])
        hint = diagnose_overflow(case_spec, case, got, failed["warning"])
    else:
        if why is None:
            ok, why = _close(got, expected, case_spec.rtol, case_spec.atol)
            why = why if not ok else "did not pass its check"
        hint = diagnose(case_spec, case, got)
        if not hint and failed.get("warned"):
            hint = " NumPy warned (overflow? see the lesson on numerical stability)"
        what = _category(why)
        if public and what.startswith("the result has"):
            what += f"; the right result is {_expected_text(expected)}"
    if public:
        head = f"{name}({_show_case(case_spec, case)}): {what}.{hint}"
        shown = {"got": got, "want": expected, "show_got": False} if kind == "value" else {}
        more = details(case_spec, case, budget=min(MAX_DETAILS, MAX_MESSAGE - 1 - len(head)), **shown)
        return head + (f"\n{more}" if more else "")
    label = case.label or f"#{i - n_examples + 1}"
    return f"{name}: the hidden test case '{label}' failed: {what}.{hint}"


# ---------------------------------------------------------------- lesson 11: the accuracy
DIGITS_PRIVATE_THRESHOLD = 0.95  # measured: benchmarks/bench_private_digits.py (README, "Grades that...")
MAX_PARAMS = 2_000_000
MEMORY_COSINE, MEMORY_UNITS = 0.9, 10


@functools.lru_cache(maxsize=2)
def digits_private(seed: int):
    """Digits no released lesson contains, made for one grading run: ``(X (1080, 64), y (1080,))``.

    Each of the 360 public test images three times, each copy with its own random ink
    gain (×0.6-1.4, clipped to [0, 1]), contrast curve (pixel ** e^u, u in ±0.7) and Gaussian
    noise (σ 0.05), clipped to [0, 1]. No image equals a public one, so a table of the public
    test split finds nothing, while a trained network classifies them about as well as the
    originals (shifts and rotations were tried: an MLP on 8×8 pixels loses 10-40 points to a
    quarter-pixel shift, so they would fail honest learners).
    """
    from ann_core.datasets import digits

    _, _, X_test, y_test = digits()
    rng = np.random.default_rng(seed)
    X = np.tile(X_test, (3, 1))
    gain = rng.uniform(0.6, 1.4, size=(len(X), 1))
    power = np.exp(rng.uniform(-0.7, 0.7, size=(len(X), 1)))
    X = np.clip(X * gain, 0.0, 1.0) ** power
    X = np.clip(X + rng.normal(0.0, 0.05, size=X.shape), 0.0, 1.0)
    X.flags.writeable = False  # shared by every notebook of the run
    y = np.tile(y_test, 3)
    y.flags.writeable = False
    return X, y


def stored_test_images(model) -> int:
    """How many first-layer units hold a public test image (cosine ≥ 0.9): a lookup table in disguise.

    Trained networks stay below 0.55 (measured on the lesson's model and variants).
    """
    from ann_core.datasets import digits

    _, _, X_test, _ = digits()
    W = model.layers[0].W
    Xn = X_test / np.maximum(np.linalg.norm(X_test, axis=1, keepdims=True), 1e-12)
    Wn = W / np.maximum(np.linalg.norm(W, axis=0, keepdims=True), 1e-12)
    return int(np.sum((Xn @ Wn).max(axis=0) >= MEMORY_COSINE))


def _array(p):
    shape, data = p
    shape = tuple(int(s) for s in shape)
    raw = base64.b64decode(data, validate=True)
    a = np.frombuffer(raw, dtype="<f8").astype(np.float64)
    if a.size != int(np.prod(shape)):
        raise ValueError("size")
    return a.reshape(shape)


def rebuild(record) -> tuple[object, str]:
    """``(Sequential, '')`` rebuilt from a kernel's ``network_record``, or ``(None, why not)``."""
    from ann_core.activations import ACTIVATIONS
    from ann_core.layers import Dense
    from ann_core.network import Sequential

    net = record.get("network") if isinstance(record, dict) else None
    if not isinstance(net, dict) or "layers" not in net:
        what = net.get("not_network") if isinstance(net, dict) else None
        what = what if what in _BUILTIN_TYPES else ("None" if what == "NoneType" else "something else")
        return None, (f"model is not a network of ann_core layers (it is {what}); build it as "
                      "Network.from_sizes(...) (lesson 11) or Sequential([Dense(...), ...]) and train it "
                      "with your fit")
    try:
        layers, total = [], 0
        for spec in net["layers"]:
            W, b, f = _array(spec["W"]), _array(spec["b"]), spec["activation"]
            total += W.size + b.size
            if f not in ACTIVATIONS or W.ndim != 2 or b.shape != (W.shape[1],) or total > MAX_PARAMS \
                    or not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
                raise ValueError
            layers.append(Dense(W.shape[0], W.shape[1], f, W=W, b=b))
        model = Sequential(layers)
        if not layers or layers[0].W.shape[0] != 64 or layers[-1].W.shape[1] != 10:
            return None, ("model should take the 64 pixels and output 10 class scores "
                          "(Dense(64, …) … Dense(…, 10, 'softmax'))")
        return model, ""
    except Exception:  # noqa: BLE001
        return None, "the trained network's parameters could not be read (a forged or damaged record)"


def judge_digits(record, seed: int) -> tuple[str, str]:
    """``(problem, success line)`` for the accuracy item, measured here on ``digits_private(seed)``."""
    model, why = rebuild(record)
    if model is None:
        return f"digits_accuracy: {why}.", ""
    if stored_test_images(model) >= MEMORY_UNITS:
        return ("digits_accuracy: the first layer of your network stores the public test images (a lookup "
                "table, not a trained network); train it on X_train with your fit."), ""
    X, y = digits_private(seed)
    with np.errstate(all="ignore"):
        pred = model.predict(X)
    acc = float(np.mean(pred == y))
    thr = DIGITS_PRIVATE_THRESHOLD
    if not acc >= thr:
        return (f"digits_accuracy: the grader measured your network on {len(y)} fresh digit images (the test "
                f"images with other ink, contrast and noise): accuracy {acc:.4f}, below {thr:.2f}. A network "
                "that reaches 0.97 on X_test normally passes; train on X_train for more epochs."), ""
    return "", f"✔ digits_accuracy: {acc:.4f} on {len(y)} fresh images ≥ {thr:.2f} (measured by the grader)"


# ---------------------------------------------------------------- deciding a test cell
def _records(cell):
    return [out.data[RECORD_MIME] for out in cell.get("outputs", [])
            if out.get("output_type") == "display_data" and RECORD_MIME in out.get("data", {})]


def judge_cell(cell, source: str, digits_seed: int | None = None) -> tuple[str, str]:
    """``(problem, success text)`` of a test cell, decided from its records and the trusted ``source``."""
    records = [r for r in _records(cell) if isinstance(r, dict)]
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    etype = _etype(errors[0].get("ename")) if errors else None
    passed = []
    for name, seed, hidden in expected_checks(source):
        if name not in SPECS:
            return f"the test calls an unknown check {name!r}", ""
        mine = [r for r in records if (r.get("name"), r.get("seed"), r.get("hidden")) == (name, seed, hidden)]
        if not mine:
            if etype == "NameError":
                return f"the test could not find your {name} (NameError): run the cell that defines it.", ""
            if etype:
                return f"the check of {name} stopped with {etype} before it finished.", ""
            return (f"the check of {name} left no record: the test did not run as written "
                    "(was `check` or something it uses replaced?)"), ""
        if len(mine) > 1:
            return f"the check of {name} left more than one record: something else wrote one.", ""
        problem = judge_check(mine[0], name, seed, hidden)
        if problem:
            return problem, ""
        passed.append(f"✔ {name}: {len(mine[0]['outcomes'])} checks passed" + (" (hidden tests)" if hidden else ""))
    lines = passed
    if "check_digits_accuracy" in source:
        mine = [r for r in records if r.get("name") == "digits_accuracy"]
        if len(mine) != 1:
            return ("digits_accuracy: the test left no record of your network (was the check replaced?)"
                    if not mine else "digits_accuracy: more than one record: something else wrote one."), ""
        problem, ok = judge_digits(mine[0], digits_seed if digits_seed is not None else 0)
        if problem:
            return problem, ""
        lines.append(ok)
    if errors and "check_digits_accuracy" in source:
        return ("digits_accuracy: the test in your notebook did not pass (run it to see why: the accuracy on "
                "X_test must reach 0.97)."), ""
    if errors:
        return f"the test cell stopped with {etype}.", ""
    if not lines:
        return "the test cell checked nothing", ""
    return "", "\n".join(lines) + "\n"


def verify(nb, trusted=None, digits_seed: int | None = None) -> list[str]:
    """Decide every test cell here and replace its outputs with the grader's own; returns the problems
    of cells the kernel showed as passing.

    ``trusted`` is the notebook as the grader prepared it (its test-cell sources say which
    checks must have run, with this run's hidden seeds); without it the test cells of ``nb``
    are used.
    """
    sources = {c.metadata.nbgrader["grade_id"]: c.source for c in test_cells(trusted if trusted is not None else nb)}
    problems = []
    for cell in test_cells(nb):
        gid = cell.metadata.nbgrader["grade_id"]
        outs = cell.get("outputs", [])
        names = {o.get("ename") for o in outs if o.get("output_type") == "error"}
        if "CellNotRun" in names:
            cell.outputs = [o for o in outs if o.get("ename") == "CellNotRun"]
            continue
        if "CellTimeoutError" in names:
            text = "the cell did not finish before the time limit (an endless loop?)"
            cell.outputs = [NotebookNode(output_type="error", ename="CellTimeoutError", evalue=text,
                                         traceback=[f"CellTimeoutError: {text}"])]
            continue
        looked_passing = not names
        try:
            problem, ok = judge_cell(cell, sources.get(gid, cell.source), digits_seed)
        except Exception as exc:  # noqa: BLE001  (the grader's own failure: 0, and say so, never crash the batch)
            problem, ok = (f"the grader could not decide this test ({type(exc).__name__} in the grader); "
                           "ask your instructor to look at it"), ""
        if problem:
            if looked_passing:
                problems.append(f"{gid}: {problem}")
            cell.outputs = [NotebookNode(output_type="error", ename="CheckFailed", evalue=problem,
                                         traceback=[f"CheckFailed: {problem}"])]
        else:
            cell.outputs = [NotebookNode(output_type="stream", name="stdout", text=ok)]
    return problems


def strip_records(nb) -> None:
    """Remove the records (they are for the grader, not for people)."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs
                            if not (o.get("output_type") == "display_data" and RECORD_MIME in o.get("data", {}))]
