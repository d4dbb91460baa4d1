"""Step 3, execute: the grading kernel's ann_core, without what the lesson asks the learner to write.

Own work by construction, not by analysis: the kernel that runs a lesson's submission gets
(read-only, over the real package's path, ``sandbox.py``) a copy of ann_core in which every
function ``ann_core.checks.withhold.withheld`` names for the lesson keeps its signature and
docstring but has the body ``unavailable("ann_core.activations.sigmoid")``, which raises
``ReferenceUnavailable`` naming it. A class named there has all its methods replaced so. No
source of a withheld function is left in the sandbox, so neither calling it (directly, through
an alias, a table, ``sys.modules``, ``ann_core.examples``, a reload) nor reading ann_core's
source and ``exec``-ing it gives the reference. The learner's function that delegates fails
at run time, the check records the ``ReferenceUnavailable``, and ``verify`` scores the item 0
with "uses ann_core's …".

This module only writes that copy (analysis of ann_core's own code, never of the learner's);
``stubbed_copy`` makes each one once per process.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import inspect
import pkgutil
import shutil
from collections import defaultdict
from pathlib import Path

import ann_core

PACKAGE = Path(ann_core.__file__).resolve().parent


def _stub(fn: ast.FunctionDef | ast.AsyncFunctionDef, dotted: str) -> None:
    """Keep ``fn``'s decorators, signature and docstring; its body raises for ``dotted``."""
    doc = fn.body[0] if (fn.body and isinstance(fn.body[0], ast.Expr) and isinstance(fn.body[0].value, ast.Constant)
                         and isinstance(fn.body[0].value.value, str)) else None
    fn.body = [*([doc] if doc else []), *ast.parse(
        f"from ann_core._unavailable import unavailable\nunavailable({dotted!r})").body]


def stub_source(source: str, module: str, qualnames: set[str]) -> str:
    """``source`` of ``module`` with the functions ``qualnames`` (``"sigmoid"``, ``"Dense.forward"``;
    a class: all its methods) stubbed. Raises ``LookupError`` naming any qualname not found."""
    tree = ast.parse(source)
    found = set()

    def visit(body, prefix: str, whole: bool):
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                q = prefix + node.name
                if whole or q in qualnames:
                    _stub(node, f"{module}.{q}")
                    found.add(q)
            elif isinstance(node, ast.ClassDef):
                q = prefix + node.name
                if q in qualnames:
                    found.add(q)
                visit(node.body, q + ".", whole or q in qualnames)

    visit(tree.body, "", False)
    if qualnames - found:
        raise LookupError(f"{module} has no {', '.join(sorted(qualnames - found))} to withhold")
    return ast.unparse(tree) + "\n"


def build(dest: Path, names) -> Path:
    """Write ann_core to ``dest/ann_core`` with the dotted ``names`` withheld; returns the package."""
    by_module: dict[Path, tuple[str, set]] = {}
    grouped = defaultdict(set)
    for dotted in names:
        parts = dotted.split(".")
        for i in range(len(parts) - 1, 0, -1):  # the longest prefix that is a module file
            rel = Path(*parts[1:i]).with_suffix(".py") if i > 1 else Path("__init__.py")
            if (PACKAGE / rel).is_file():
                grouped[rel].add(".".join(parts[i:]))
                by_module[rel] = (".".join(parts[:i]), grouped[rel])
                break
        else:
            raise LookupError(f"{dotted} is not in ann_core")
    package = dest / "ann_core"
    tmp = dest / ".ann_core.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(PACKAGE, tmp, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for rel, (module, qualnames) in by_module.items():
        src = (PACKAGE / rel).read_text(encoding="utf-8")
        (tmp / rel).write_text(stub_source(src, module, qualnames), encoding="utf-8")
    for p in [tmp, *tmp.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)  # readable by the kernel's own uid
    shutil.rmtree(package, ignore_errors=True)
    tmp.rename(package)
    return package


_BUILT: dict[tuple, Path] = {}


def stubbed_copy(base: Path, names) -> Path:
    """The package ``build`` writes under ``base`` for ``names``, made once per process."""
    key = (str(base), tuple(sorted(names)))
    if key not in _BUILT or not _BUILT[key].is_dir():
        digest = hashlib.sha256("\n".join(key[1]).encode()).hexdigest()[:16]
        _BUILT[key] = build(Path(base) / f"ann_core-{digest}", key[1])
    return _BUILT[key]


def graded_names(nb) -> list[str]:
    """The functions the test cells of ``nb`` check (``check("name", …)``), in order."""
    from .score import test_cells
    from .verify import expected_checks

    return list(dict.fromkeys(n for c in test_cells(nb) for n, _, _ in expected_checks(c.source)))


def lesson_withheld(lesson: str, released=None) -> tuple[str, ...]:
    """What the kernel grading ``lesson`` must not contain: ``withheld`` for the lesson's graded
    functions (those whose ``Spec.lesson`` it is, and those the ``released`` notebook checks)."""
    from ann_core.checks import SPECS
    from ann_core.checks.withhold import withheld

    names = [n for n, s in SPECS.items() if s.lesson == lesson]
    names += graded_names(released) if released is not None else []
    return tuple(withheld(dict.fromkeys(names)))


# ---------------------------------------------------------------- PREPARE: the instructor's demo cells
def _ann_refs(tree, aliases: dict) -> set[str]:
    """Dotted ann_core names a released cell uses (an import alone uses nothing); ``aliases`` (name →
    dotted name) grows with its imports, for the cells after it."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "ann_core":
                    aliases[a.asname or "ann_core"] = a.name if a.asname else "ann_core"
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "ann_core" and not node.level:
            for a in node.names:
                if a.name != "*":
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    refs = set()
    for node in ast.walk(tree):
        chain = []
        while isinstance(node, ast.Attribute):
            chain.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in aliases:
            dotted = aliases[node.id]
            refs.add(dotted)
            for attr in reversed(chain):
                dotted += "." + attr
                refs.add(dotted)
    return refs


def _dotted(node, aliases: dict) -> str | None:
    """The dotted ann_core name a ``Name`` or attribute chain stands for, through ``aliases``."""
    chain = []
    while isinstance(node, ast.Attribute):
        chain.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id in aliases:
        return ".".join([aliases[node.id], *reversed(chain)])
    return None


@functools.lru_cache(maxsize=32)
def users(withheld: tuple) -> frozenset[str]:
    """``withheld`` and every function of ann_core (outside ``checks``) that calls one of them,
    directly or through another (``losses.sparse_categorical_cross_entropy_grad`` over a withheld
    ``_sparse_cce``): what a demo cell cannot use while the lesson is graded. Read from ann_core's
    own code objects (the global names, and ``module.attr`` pairs, each one reads)."""
    from ann_core.checks.withhold import code_names

    funcs = {}
    for info in pkgutil.iter_modules(ann_core.__path__):
        if info.name == "checks" or info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"ann_core.{info.name}")
        for k, v in vars(mod).items():
            if getattr(v, "__module__", None) != mod.__name__:
                continue
            if inspect.isfunction(v):
                funcs[f"{mod.__name__}.{k}"] = v
            elif inspect.isclass(v):
                funcs.update({f"{mod.__name__}.{k}.{m}": f for m, f in vars(v).items() if inspect.isfunction(f)})
    held, grown = set(withheld), True
    while grown:
        grown = False
        for dotted, fn in funcs.items():
            if dotted in held:
                continue
            names = code_names(fn.__code__)
            reads = set()
            for n in names:
                obj = fn.__globals__.get(n)
                if inspect.ismodule(obj):
                    reads |= {f"{obj.__name__}.{a}" for a in names}
                elif callable(obj) and hasattr(obj, "__qualname__"):
                    reads.add(f"{getattr(obj, '__module__', '')}.{obj.__qualname__}")
            if reads & held:
                held.add(dotted)
                grown = True
    return frozenset(held)


def names_flow(source: str) -> tuple[set[str], set[str]] | None:
    """``(defines, reads)``: the global names a cell binds, and those it reads without binding them
    first (function bodies included, less their parameters and locals: a later call reads them);
    None if it is not Python. For the demo cells after one the grader does not run (``NeutraliseDemos``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    defines, reads = set(), set()

    def stores(node) -> set[str]:
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store | ast.Del)}

    def read(node, local: set[str]):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            args = node.args
            params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if a}
            for d in [*args.defaults, *args.kw_defaults, *getattr(node, "decorator_list", [])]:
                if d is not None:
                    read(d, local)
            body = node.body if isinstance(node.body, list) else [node.body]
            inner = local | params | {n for b in body for n in stores(b)}
            for b in body:
                read(b, inner)
            return
        if isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):  # its target is bound first
            read(node.iter, local)
            local = local | stores(node.target)
            for child in ast.iter_child_nodes(node):
                if child is not node.iter:
                    read(child, local)
            return
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            local = local | {n for g in node.generators for n in stores(g.target)}
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local | defines:
            reads.add(node.id)
        for child in ast.iter_child_nodes(node):
            read(child, local)

    for stmt in tree.body:
        read(stmt, set())
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defines.add(stmt.name)
        elif isinstance(stmt, ast.Import | ast.ImportFrom):
            defines.update((a.asname or a.name).split(".")[0] for a in stmt.names)
        else:
            defines.update(stores(stmt))
    return defines, reads


def neutralise(source: str, withheld, own: dict, aliases: dict) -> tuple[str, list[str]]:
    """A released demo cell made to run without what the kernel withholds: ``(source, left)``.

    Each use of a withheld reference of the lesson (``act.sigmoid``, ``ref.mse``, an alias of
    one) becomes the learner's own function of that name (``own``: dotted reference → name),
    so the demo shows the learner's results and defines what later cells use. ``left``: the
    withheld names used that have no learner's counterpart (a kernel, ``Dense.forward``, a
    class whose methods are withheld); such a cell cannot run. ``aliases`` carries the imports
    of the released cells before it (an import alone uses nothing).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source, []
    _ann_refs(tree, aliases)  # its imports, for this cell and the next ones
    withheld = set(withheld)
    edits, left = [], set()

    def visit(node):
        if isinstance(node, ast.Name | ast.Attribute) and isinstance(getattr(node, "ctx", None), ast.Load):
            dotted = _dotted(node, aliases)
            if dotted in own:
                edits.append((node, own[dotted]))
                return
            if dotted and any(w == dotted or (w.startswith(dotted + ".") and dotted.count(".") >= 2)
                              for w in withheld):
                left.add(dotted)
                return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(lineno, col):
        return starts[lineno - 1] + len(lines[lineno - 1].encode()[:col].decode())

    out = source
    for node, name in sorted(edits, key=lambda e: (e[0].lineno, e[0].col_offset), reverse=True):
        out = out[:offset(node.lineno, node.col_offset)] + name + out[offset(node.end_lineno, node.end_col_offset):]
    return out, sorted(left)
