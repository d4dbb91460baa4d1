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

import contextlib
import functools
import importlib
import inspect
import sys

from .spec import SPECS


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
def _lesson_modules() -> list:
    """The modules of ``ann_core.checks`` that register specs."""
    names = sorted({s.cases.__module__ for s in SPECS.values()} | {s.reference.__module__ for s in SPECS.values()
                                                                   if s.reference.__module__.startswith(__package__)})
    return [importlib.import_module(n) for n in names if n.startswith(__package__ + ".")]


def code_names(code) -> set[str]:
    """Global names a code object (and the code nested in it) reads."""
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= code_names(const)
    return names


def _unneeded(mod) -> list[str]:
    """Top-level functions and classes of a lesson's checks module that no check needs in a kernel:
    not reached (through the global names their code reads) from its specs' cases and adapters
    (or the function that made them) and its public functions other than known mistakes. Read
    from the imported module, not its source: tests/test_own_work.py imports every lesson's copy."""
    own = {k: v for k, v in vars(mod).items()
           if (inspect.isfunction(v) or inspect.isclass(v)) and v.__module__ == mod.__name__}
    mistakes = {id(m.fn) for s in SPECS.values() for m in s.mistakes}
    roots = {k for k, v in own.items() if not k.startswith("_") and id(v) not in mistakes}
    for s in SPECS.values():
        for fn in (s.cases, s.wrap):
            if fn is not None and getattr(fn, "__module__", None) == mod.__name__:
                roots.add(fn.__qualname__.split(".")[0])
    reached, todo = set(), [n for n in roots if n in own]
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        obj = own[name]
        codes = [obj.__code__] if inspect.isfunction(obj) else [
            f.__code__ for f in (getattr(v, "__func__", v) for v in vars(obj).values()) if inspect.isfunction(f)]
        todo += [n for c in codes for n in code_names(c) if n in own and n not in reached]
        todo += [c.__name__ for c in getattr(obj, "__mro__", ())[1:] if c.__name__ in own]
    return [name for name in own if name not in reached]


@functools.lru_cache(maxsize=1)
def checks_only() -> tuple[str, ...]:
    """Dotted names of the ``ann_core.checks`` helpers no kernel needs (known mistakes, the
    configurable helpers behind them): withheld in every lesson."""
    return tuple(f"{mod.__name__}.{name}" for mod in _lesson_modules() for name in _unneeded(mod))


# ---------------------------------------------------------------- a live notebook: swapping code
def resolve(dotted: str):
    """The object a dotted name such as ``ann_core.layers.Dense.forward`` stands for."""
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    for i, attr in enumerate(parts[1:], start=1):
        if not hasattr(obj, attr) and inspect.ismodule(obj):
            importlib.import_module(".".join(parts[: i + 1]))
        obj = getattr(obj, attr)
    return obj


def _functions(dotted: str, obj) -> list:
    """``[(dotted name, function)]`` that ``obj`` (named ``dotted``) stands for: it, or a class's own methods."""
    if inspect.isclass(obj):
        out = []
        for attr, value in vars(obj).items():
            value = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
            if inspect.isfunction(value):
                out.append((f"{dotted}.{attr}", value))
        return out
    obj = getattr(obj, "__func__", obj)
    return [(dotted, obj)] if inspect.isfunction(obj) else []


def functions_of(dotted: str) -> list:
    """``[(dotted name, function)]`` that ``dotted`` stands for (``_functions``)."""
    return _functions(dotted, resolve(dotted))


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
def _withheld(names: tuple) -> tuple:
    """``(dotted name, module, attribute path)`` of each name withheld for ``names`` that exists here."""
    out = []
    for dotted in withheld(names):
        parts = dotted.split(".")
        for i in range(len(parts) - 1, 0, -1):
            module = sys.modules.get(".".join(parts[:i]))
            if module is not None:
                out.append((dotted, module, tuple(parts[i:])))
                break
    return tuple(out)


_SEEN: dict[str, list] = {}  # dotted name -> every function object seen under it (a reload makes new ones)


def _targets(names: tuple) -> list:
    """``[(dotted name, function)]`` to swap: what the names stand for now, and what they stood for before."""
    wanted = set()
    for dotted, module, attrs in _withheld(names):
        try:
            found = _functions(dotted, functools.reduce(getattr, attrs, module))
        except AttributeError:
            continue
        for d, fn in found:
            wanted.add(d)
            seen = _SEEN.setdefault(d, [])
            if not any(f is fn for f in seen):
                seen.append(fn)
    return [(d, fn) for d in wanted for fn in _SEEN[d]]


@contextlib.contextmanager
def unavailable(names):
    """Inside the block, every function withheld for the graded ``names`` raises ``ReferenceUnavailable``.

    Yields a list that, after the block, names what the block made anew (``importlib.reload`` of
    an ann_core module gives fresh, unswapped functions): a call that did that did not do its own work.
    """
    names = tuple(names)
    saved, renewed = [], []
    try:
        for dotted, fn in _targets(names):
            saved.append((fn, fn.__code__))
            fn.__code__ = _raiser(dotted, fn.__code__.co_freevars)
        yield renewed
    finally:
        for fn, code in saved:
            fn.__code__ = code
        swapped = {id(fn) for fn, _ in saved}
        renewed += [d for d, fn in _targets(names) if id(fn) not in swapped]
