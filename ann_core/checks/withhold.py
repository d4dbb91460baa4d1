"""What the learner's code may not use while a lesson is checked: ``withheld(names)``.

A lesson asks the learner to write some of ann_core's functions. While that lesson is
graded, the grading kernel's ann_core holds, in place of each of them, a body that raises
``ReferenceUnavailable`` naming it (``autograder/integrity.py`` writes that copy): the
lesson's references, their formula kernels (``Spec.kernels``), what its specs forbid
(``Spec.forbidden``), and the known mistakes and other helpers of ``ann_core.checks`` that a
kernel does not need (a configurable helper such as ``_nb`` computes the right answer with
its defaults). Anything in ann_core that calls one of them fails in the same way, wherever
the call came from. Earlier lessons' functions stay available: within a lesson, learners
use their own earlier functions.

In a live notebook the kernel has the whole ann_core, so ``check`` withholds the same
functions while it calls the learner's function (``unavailable``): the ``__code__`` of each
withheld function object is swapped for a raiser and put back afterwards. Every alias of a
function (an import under another name, a table entry, a ``functools.partial``, a default
argument, a closure) is the same object, so it raises too. The grading kernel's copy also
stops what a swap cannot (source read and ``exec``-ed, code objects copied beforehand).
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import inspect
from pathlib import Path

from .spec import SPECS

_CHECKS = Path(__file__).resolve().parent


def lesson_names(name: str) -> list[str]:
    """The graded names of ``name``'s lesson (``Spec.lesson``), ``name`` first; ``[name]`` without one."""
    lesson = SPECS[name].lesson if name in SPECS else ""
    if not lesson:
        return [name]
    return [name] + [n for n, s in SPECS.items() if s.lesson == lesson and n != name]


def _dotted(obj) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def withheld(names) -> list[str]:
    """The dotted names withheld while the graded functions ``names`` are checked (sorted)."""
    out = set(checks_only())
    for name in names:
        spec = SPECS.get(name)
        if spec is None:
            continue
        ref = inspect.unwrap(spec.reference)
        if getattr(ref, "__module__", "").startswith("ann_core"):
            out.add(_dotted(ref))
        out.update(spec.kernels)
        out.update(spec.forbidden)
    return sorted(out)


# ---------------------------------------------------------------- ann_core.checks: what a kernel needs
def _lesson_modules() -> list[Path]:
    return sorted(p for p in _CHECKS.glob("*.py") if "register(Spec(" in p.read_text(encoding="utf-8"))


def _is_call_to(node, name: str) -> bool:
    return isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == name


def _loads(node, skip_known: bool) -> set[str]:
    """Names read in ``node``; with ``skip_known``, not inside ``Mistake(...)`` nor a ``Spec``'s reference."""
    names, todo = set(), [node]
    while todo:
        n = todo.pop()
        if skip_known and _is_call_to(n, "Mistake"):
            continue
        if skip_known and _is_call_to(n, "Spec"):
            todo += [a for i, a in enumerate(n.args) if i != 1] + [k.value for k in n.keywords]
            continue
        if isinstance(n, ast.Name):
            names.add(n.id)
        todo += list(ast.iter_child_nodes(n))
    return names


def _unneeded(path: Path) -> list[str]:
    """Top-level functions and classes of a lesson's checks module that no check needs in a kernel:
    not reached from the module's own statements (cases, adapters, constants; a ``Mistake``'s
    function and a ``Spec``'s reference do not count) nor from its public functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    mistakes = {n.id for stmt in tree.body for c in ast.walk(stmt) if _is_call_to(c, "Mistake")
                for n in c.args[1:2] if isinstance(n, ast.Name)}
    roots = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.ClassDef):
            if not stmt.name.startswith("_") and stmt.name not in mistakes:
                roots.add(stmt.name)
            for d in stmt.decorator_list:
                roots |= _loads(d, False)
        else:
            roots |= _loads(stmt, True)
    reached, todo = set(), [n for n in roots if n in defs]
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        todo += [n for n in _loads(defs[name], False) if n in defs and n not in reached]
    return [name for name in defs if name not in reached]


@functools.lru_cache(maxsize=1)
def checks_only() -> tuple[str, ...]:
    """Dotted names of the ``ann_core.checks`` helpers no kernel needs (known mistakes, the
    configurable helpers behind them): withheld in every lesson."""
    return tuple(f"ann_core.checks.{p.stem}.{name}" for p in _lesson_modules() for name in _unneeded(p))


# ---------------------------------------------------------------- a live notebook: swapping code
def resolve(dotted: str):
    """The object a dotted name such as ``ann_core.layers.Dense.forward`` stands for."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def functions_of(dotted: str) -> list:
    """``[(dotted name, function)]`` that ``dotted`` stands for: a function, or a class's own methods."""
    obj = resolve(dotted)
    if inspect.isclass(obj):
        out = []
        for attr, value in vars(obj).items():
            value = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
            if inspect.isfunction(value):
                out.append((f"{dotted}.{attr}", value))
        return out
    obj = getattr(obj, "__func__", obj)
    return [(dotted, obj)] if inspect.isfunction(obj) else []


@functools.lru_cache(maxsize=512)
def _raiser(name: str, freevars: tuple):
    """A code object that raises ``ReferenceUnavailable`` for ``name``, with ``freevars`` (a
    function's ``__code__`` may only be replaced by one with the same free variables)."""
    inner = ("def f(*args, **kwargs):\n"
             + "".join(f"    {v}\n" for v in freevars)
             + "    from ann_core._unavailable import unavailable\n"
             + f"    unavailable({name!r})\n")
    src = "def outer():\n" + "".join(f"    {v} = None\n" for v in freevars) + \
        "".join("    " + line + "\n" for line in inner.splitlines()) + "    return f\n"
    ns: dict = {}
    exec(compile(src, f"<{name} withheld>", "exec"), ns)  # noqa: S102  (our own text)
    return ns["outer"]().__code__


@functools.lru_cache(maxsize=64)
def _targets(names: tuple) -> tuple:
    out = []
    for dotted in withheld(names):
        try:
            out += functions_of(dotted)
        except (ImportError, AttributeError):
            continue
    return tuple(out)


@contextlib.contextmanager
def unavailable(names):
    """Inside the block, every function withheld for the graded ``names`` raises ``ReferenceUnavailable``."""
    saved = []
    try:
        for dotted, fn in _targets(tuple(names)):
            saved.append((fn, fn.__code__))
            fn.__code__ = _raiser(dotted, fn.__code__.co_freevars)
        yield
    finally:
        for fn, code in saved:
            fn.__code__ = code
