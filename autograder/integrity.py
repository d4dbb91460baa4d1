"""Step 4, verify: does a graded function do its own work?

A static check, in the grader's process.

Each ``Spec`` says what its exercise may not call: its ``reference`` and its ``forbidden``
names (``ann_core/checks``), plus, found here, every ann_core function or method that
uses one of them (``layers.neuron`` uses ``activations.sigmoid``, so the ``sigmoid``
exercise may not call it either). Earlier lessons' functions stay allowed.

``OwnWork(nb, released)(name, fn_source)`` (once per notebook, then per name; or
``delegation(nb, released, name, fn_source)``) reads the *learner-authored* cells of the
notebook (solution cells and every cell whose source is not one of the released lesson's
cells), starts at what the test cell hands to ``check`` (usually the learner's function of
that name) and follows learner-defined names transitively. Names are resolved the way
Python would: imports and their aliases (``import ann_core.activations as act``,
``from ann_core.activations import sigmoid as s``, ``from … import *``), module attribute
chains, constant ``getattr``/``sys.modules``/``importlib.import_module``/``__import__``,
constant subscripts of ann_core's tables (``ACTIVATIONS["sigmoid"]``; a computed key
stands for every entry), module-level assignments and attribute stores. Each resolved
object is compared by identity with the forbidden ones, here, where ann_core is the
grader's own copy.

What cannot be resolved that way is *not verifiable* and scores 0 too: ``eval``, ``exec``,
``compile``, ``getattr``/``importlib`` with a computed name, ``globals()``/``vars()``/
``locals()``, function internals (``__code__``, ``__globals__``, ``types.FunctionType``),
frames, ``gc``, ``inspect``, reading ann_core's files, IPython's output history (``_``,
``Out``), names no cell defines, and modules the grader does not have (a file the notebook
wrote). The module-level code of learner cells, and whatever it calls, is held to the
same rule, because it could rebind any name. Returns ``''`` or the reason.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib
import importlib.util
import inspect
import operator
import re
import sys
import textwrap
from dataclasses import dataclass, field

_DANGER_BUILTINS = {"eval", "exec", "compile", "globals", "vars", "locals", "setattr", "delattr", "breakpoint",
                    "__build_class__", "memoryview"}
_DANGER_ATTRS = {"__code__", "__globals__", "__closure__", "__dict__", "__builtins__", "__subclasses__",
                 "__func__", "__self__", "__wrapped__", "__getattribute__", "__reduce__", "__reduce_ex__",
                 "__file__", "__spec__", "__loader__", "__cached__", "__path__", "__defaults__", "__kwdefaults__",
                 "f_globals", "f_locals", "f_back", "f_builtins", "f_code", "gi_frame", "gi_code", "cr_frame",
                 "tb_frame", "tb_next", "co_code", "co_consts", "_getframe", "_current_frames", "settrace",
                 "setprofile", "meta_path", "path_hooks"}
_DANGER_MODULES = ("inspect", "gc", "types", "ctypes", "marshal", "runpy", "code", "codeop", "pickle", "dill",
                   "cloudpickle", "copyreg", "linecache", "pkgutil", "dis", "importlib.util", "importlib.machinery",
                   "importlib.resources", "importlib.abc", "zipimport", "_frozen_importlib", "threading", "atexit")
_IPYTHON_HISTORY = re.compile(r"^(_+|_\d+|_o+h?|Out|_oh|get_ipython|_i+|_ih|_i\d+|In|__builtin__|__builtins__)$")
_HARMLESS_MAGICS = {"matplotlib", "config", "timeit", "time", "prun", "capture", "who", "whos", "pwd", "ls",
                    "env", "precision", "pprint", "notebook", "history", "lsmagic", "magic", "writefile",
                    "script", "bash", "sh", "html", "javascript", "latex", "markdown", "svg", "pinfo", "pinfo2", "pdoc",
                    "pdef", "psource", "autosave"}


class _Unknown:
    def __repr__(self):
        return "?"


UNKNOWN = _Unknown()


@dataclass(eq=False)
class _LFunc:  # a function or lambda the learner wrote
    node: ast.AST
    scope: _Scope


@dataclass(eq=False)
class _LClass:
    node: ast.ClassDef
    scope: _Scope


@dataclass(eq=False)
class _Inst:  # an instance of a real (ann_core) class
    cls: type


@dataclass(eq=False)
class _Ext:  # a module the grader knows exists but did not import
    name: str


@dataclass(eq=False)
class _Scope:
    names: dict = field(default_factory=dict)  # name -> list of (kind, payload)
    parent: _Scope | None = None
    trusted: bool = False
    real: dict | None = None  # an ann_core function's real module globals
    locals_: set = field(default_factory=set)
    wildcard: bool = False


class Unverifiable(Exception):
    pass


def _is_ann(obj) -> bool:
    mod = getattr(obj, "__module__", None) if not inspect.ismodule(obj) else obj.__name__
    return isinstance(mod, str) and (mod == "ann_core" or mod.startswith("ann_core."))


def _qualname(obj) -> str:
    mod = getattr(obj, "__module__", "?")
    return f"{mod}.{getattr(obj, '__qualname__', getattr(obj, '__name__', '?'))}"


def resolve(dotted: str):
    """The object a dotted name such as ``ann_core.layers.Dense.forward`` stands for."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for p in parts[i:]:
            obj = inspect.getattr_static(obj, p) if inspect.isclass(obj) else getattr(obj, p)
        return _unwrap(obj)
    raise ImportError(dotted)


def _unwrap(obj):
    if isinstance(obj, (classmethod, staticmethod)):
        return obj.__func__
    if inspect.ismethod(obj):
        return obj.__func__
    return obj


def _ann_methods() -> dict[str, list]:
    """Every method of every ann_core class, by name (what ``x.forward`` may be when x is unknown)."""
    if "methods" not in _CACHE:
        import ann_core.checks  # noqa: F401  (imports every ann_core module)

        out: dict[str, list] = {}
        for modname, mod in list(sys.modules.items()):
            if not (modname == "ann_core" or modname.startswith("ann_core.")) or mod is None:
                continue
            for obj in vars(mod).values():
                if inspect.isclass(obj) and _is_ann(obj):
                    for k, v in vars(obj).items():
                        v = _unwrap(v)
                        if inspect.isfunction(v):
                            out.setdefault(k, []).append(v)
        _CACHE["methods"] = out
    return _CACHE["methods"]


_CACHE: dict = {}


def _tables() -> set:
    """ids of ann_core's module-level tables (``ACTIVATIONS``, ``LOSSES``, ``SPECS``, ...)."""
    if "tables" not in _CACHE:
        import ann_core.checks  # noqa: F401

        ids = set()
        for modname, mod in list(sys.modules.items()):
            if mod is not None and (modname == "ann_core" or modname.startswith("ann_core.")):
                ids |= {id(o) for o in vars(mod).values() if isinstance(o, (dict, list, tuple))}
        _CACHE["tables"] = ids
    return _CACHE["tables"]


def _is_table(v) -> bool:
    return isinstance(v, (dict, list, tuple)) and id(v) in _tables()


def _table_items(v, depth=2):
    """What a table holds, one level into ann_core objects (a ``Spec``'s ``reference``, a ``Mistake``'s ``fn``)."""
    vals = list(v.values()) if isinstance(v, dict) else list(v)
    out = []
    for x in vals:
        out.append(x)
        if depth > 1 and _is_ann(type(x)) and hasattr(x, "__dict__"):
            for y in vars(x).values():
                out += _table_items(y, depth - 1) if isinstance(y, (list, tuple, dict)) else [y]
    return out


_NOCONST = object()
_LOOKUPS = (getattr, builtins.__import__, importlib.import_module)  # resolved only when called with constants


class _IPython:  # what get_ipython() returns
    pass


_IPY = _IPython()
_IPY_MAGIC = object()
_GET_IPYTHON = object()


class _Analyzer:
    """Resolves expressions of notebook code to what they may be (real objects or markers)."""

    def __init__(self, forbidden: list):
        self.forbidden = {id(o): o for o in forbidden}
        self.hits: list[str] = []
        self.walked: set = set()
        self.memo: dict = {}
        self.attr_stores: dict[str, list] = {}
        self.queue: list = []
        self.checking = True  # count forbidden objects (off while reading module-level code)
        self.contexts: set = set()  # ids of nodes that are called, subscripted or looked into

    # ------------------------------------------------------------ ann_core's own code (trusted)
    def reaches(self, obj, seen=None):
        """The forbidden object that ``obj`` is or uses (following ann_core code only), or None."""
        obj = _unwrap(obj)
        if id(obj) in self.forbidden:
            return self.forbidden[id(obj)]
        if _is_table(obj):
            for x in _table_items(obj):
                hit = self.reaches(x, seen)
                if hit is not None:
                    return hit
            return None
        if not (inspect.isfunction(obj) or inspect.isclass(obj)) or not _is_ann(obj):
            return None
        key = ("reach", id(obj), tuple(sorted(self.forbidden)))
        if key in _CACHE:
            return _CACHE[key]
        seen = set() if seen is None else seen
        if id(obj) in seen:
            return None
        seen.add(id(obj))
        found = None
        for ref in _refs(obj):
            found = self.reaches(ref, seen)
            if found is not None:
                break
        if found is not None or len(seen) == 1:
            _CACHE[key] = found
        return found

    # ------------------------------------------------------------ scopes and bindings
    def flag(self, scope, reason):
        if not scope.trusted:
            raise Unverifiable(reason)

    def lookup(self, name, scope):
        s = scope
        while s is not None:
            if s.real is not None:
                if name in s.names:
                    break
                if name in s.locals_:
                    return [UNKNOWN]
                if name in s.real:
                    return [s.real[name]]
                return [getattr(builtins, name)] if hasattr(builtins, name) else [UNKNOWN]
            if name in s.names or name in s.locals_:
                break
            s = s.parent
        root = _root(scope)
        at_module = s is None or s is root
        if at_module and re.match(r"^(_+|_\d+|Out|_oh)$", name):
            self.flag(scope, f"uses `{name}` (IPython's output history), which can hold anything")
        out = []
        if s is not None:
            for b in s.names.get(name, []):
                out += self.binding(b)
        if at_module:
            for b in root.names.get("*", []):  # star imports may (re)bind any public name
                for m in self.import_(b[1] or "", b[2], top=False):
                    if inspect.ismodule(m) and not name.startswith("_") and hasattr(m, name):
                        out.append(_unwrap(getattr(m, name)))
                    elif not inspect.ismodule(m):
                        root.wildcard = True
        if out or s is not None:
            return out or [UNKNOWN]
        if name == "get_ipython":
            return [_GET_IPYTHON]
        if _IPYTHON_HISTORY.match(name) and name not in ("In", "_ih") and not re.match(r"^_i+\d*$", name):
            self.flag(scope, f"uses `{name}` (IPython's output history), which can hold anything")
        if hasattr(builtins, name):
            return [getattr(builtins, name)]
        if name in ("In", "_ih", "display", "exit", "quit") or re.match(r"^_i+\d*$", name) or root.wildcard:
            return [UNKNOWN]
        self.flag(scope, f"uses the name `{name}`, which no cell of the notebook defines")
        return [UNKNOWN]

    def binding(self, b):
        kind, payload, where = b
        key = ("binding", id(b))
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = [UNKNOWN]  # recursion guard
        if kind == "value":
            out = [payload]
        elif kind == "expr":
            out = self.eval(payload, where)
        elif kind == "elem":
            out = []
            for v in self.eval(payload, where):
                if isinstance(v, (list, tuple, set, frozenset, dict)):
                    out += _table_items(v, 1) if isinstance(v, dict) else list(v)
                else:
                    out.append(UNKNOWN)
        elif kind == "import":
            name, top = payload
            out = self.import_(name, where, top=top)
        elif kind == "from":
            module, attr = payload
            out = []
            for m in self.import_(module or "", where, top=False):
                if inspect.ismodule(m) and hasattr(m, attr):
                    out.append(_unwrap(getattr(m, attr)))
                elif inspect.ismodule(m):
                    out += self.import_(f"{m.__name__}.{attr}", where, top=False)
                elif isinstance(m, _Ext):
                    out.append(_Ext(f"{m.name}.{attr}"))
                else:
                    out.append(UNKNOWN)
            self.use(out, where)
        else:
            out = [UNKNOWN]
        self.memo[key] = out
        return out

    def use(self, values, scope):
        """Note what an expression of ``scope`` may be: learner functions to read, forbidden objects."""
        for v in values:
            if isinstance(v, (_LFunc, _LClass)):
                if (id(v.node), id(v.scope)) not in self.walked:
                    self.queue.append(v)
                continue
            if scope.trusted:
                continue
            if self.checking and (inspect.isfunction(v) or inspect.isclass(v) or _is_table(v)):
                hit = self.reaches(v)
                if hit is not None:
                    via = "" if _unwrap(v) is hit else f" (through {_describe(v)})"
                    self.hits.append(f"{_qualname(hit)}{via}")
            name = v.__name__ if inspect.ismodule(v) else (v.name if isinstance(v, _Ext) else None)
            if name is not None and any(name == d or name.startswith(d + ".") for d in _DANGER_MODULES):
                self.flag(scope, f"uses the module {name}")

    # ------------------------------------------------------------ expressions
    def eval(self, node, scope):
        key = (id(node), id(scope))
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = [UNKNOWN]
        out = self._eval(node, scope)
        self.memo[key] = out
        self.use(out, scope)
        if not scope.trusted and id(node) not in self.contexts:  # lookups that only resolve when called
            for v in out:
                if any(v is f for f in _LOOKUPS) or (v is sys.modules and not isinstance(node, ast.Subscript)):
                    self.flag(scope, f"passes {getattr(v, '__name__', 'sys.modules')} around as a value")
        return out

    def _eval(self, node, scope):
        if isinstance(node, ast.Name):
            vals = self.lookup(node.id, scope)
            for v in vals:
                if callable(v) and getattr(v, "__name__", None) in _DANGER_BUILTINS \
                        and getattr(builtins, v.__name__, None) is v:
                    self.flag(scope, f"uses {v.__name__}()")
            return vals
        if isinstance(node, ast.Attribute):
            self.contexts.add(id(node.value))
            return self.attribute(self.eval(node.value, scope), node.attr, scope)
        if isinstance(node, ast.Subscript):
            self.contexts.add(id(node.value))
            base = self.eval(node.value, scope)
            key = node.slice.value if isinstance(node.slice, ast.Constant) else _NOCONST
            self.eval(node.slice, scope)
            out = []
            for v in base:
                if v is sys.modules:
                    if isinstance(key, str):
                        out += self.import_(key, scope, top=False)
                    else:
                        self.flag(scope, "looks a module up in sys.modules by a computed name")
                elif _is_table(v) or (scope.trusted and isinstance(v, (dict, list, tuple))):
                    if isinstance(v, dict) and key is not _NOCONST and _hashable(key) and key in v:
                        out.append(v[key])
                    elif isinstance(v, (list, tuple)) and isinstance(key, int) and -len(v) <= key < len(v):
                        out.append(v[key])
                    else:
                        out += _table_items(v, 1)
                elif isinstance(v, tuple) and isinstance(key, int) and -len(v) <= key < len(v):
                    out.append(v[key])
                elif isinstance(v, tuple):
                    out += list(v)
                else:
                    out.append(UNKNOWN)
            return out or [UNKNOWN]
        if isinstance(node, ast.Call):
            return self.call(node, scope)
        if isinstance(node, ast.Lambda):
            for d in [*node.args.defaults, *[d for d in node.args.kw_defaults if d is not None]]:
                self.eval(d, scope)
            return [_LFunc(node, scope)]
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            out = []
            for e in node.elts:
                out += self.eval(e, scope)
            return [tuple(out)]
        if isinstance(node, (ast.IfExp, ast.BoolOp)):
            self.eval(node.test, scope) if isinstance(node, ast.IfExp) else None
            out = []
            for e in (node.values if isinstance(node, ast.BoolOp) else [node.body, node.orelse]):
                out += self.eval(e, scope)
            return out
        if isinstance(node, (ast.NamedExpr, ast.Starred, ast.Await)):
            return self.eval(node.value, scope)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            for n in ast.walk(node):
                if isinstance(n, ast.expr) and n is not node and isinstance(getattr(n, "ctx", ast.Load()), ast.Load):
                    self.eval(n, scope)
            return [UNKNOWN]
        for n in ast.iter_child_nodes(node):  # anything else: look inside for calls and names
            if isinstance(n, ast.expr):
                self.eval(n, scope)
        return [UNKNOWN]

    def attribute(self, base, attr, scope):
        if attr in _DANGER_ATTRS:
            self.flag(scope, f"uses `.{attr}`")
        out = []
        for v in base:
            if isinstance(v, _IPython):
                if attr in ("run_line_magic", "run_cell_magic"):
                    out.append(_IPY_MAGIC)
                elif attr in ("system", "getoutput"):
                    out.append(UNKNOWN)
                else:
                    self.flag(scope, f"uses get_ipython().{attr}")
            elif v is sys.modules and attr not in ("get", "__contains__", "keys"):
                self.flag(scope, f"uses sys.modules.{attr}")
            elif isinstance(v, _LClass):
                out += [_LFunc(n, v.scope) for n in v.node.body
                        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == attr] or [UNKNOWN]
            elif isinstance(v, _Inst):
                try:
                    out.append(_unwrap(inspect.getattr_static(v.cls, attr)))
                except AttributeError:
                    out += _ann_methods().get(attr, [UNKNOWN])
            elif isinstance(v, _Ext):
                out.append(_Ext(f"{v.name}.{attr}"))
            elif v is UNKNOWN or isinstance(v, _LFunc):
                out += _ann_methods().get(attr, [UNKNOWN])
            elif _is_table(v) and attr in ("values", "items", "get", "pop", "setdefault", "copy", "__getitem__",
                                           "popitem", "index"):
                out.append(_TableMethod(v, attr))
            else:
                try:
                    got = inspect.getattr_static(v, attr) if inspect.isclass(v) else getattr(v, attr)
                    out.append(_unwrap(got))
                except Exception:  # noqa: BLE001  (a missing attribute, a property that raises)
                    if inspect.ismodule(v):
                        sub = f"{v.__name__}.{attr}"
                        out.append(sys.modules.get(sub) or _Ext(sub))
                    else:
                        out.append(UNKNOWN)
        if not scope.trusted:
            for b in self.attr_stores.get(attr, []):
                out += self.binding(b)
        return out or [UNKNOWN]

    def import_(self, name, scope, top=True):
        """``import name``: the module (the top package when ``top``), as far as the grader knows it."""
        if not name or name.startswith("."):
            return [UNKNOWN]
        first = name.split(".")[0]
        if name in sys.modules or first == "ann_core":
            try:
                mod = importlib.import_module(name)
            except ImportError:
                self.flag(scope, f"imports {name}, which does not exist")
                return [UNKNOWN]
            out = [importlib.import_module(first) if top else mod]
        else:
            try:
                found = importlib.util.find_spec(first) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                self.flag(scope, f"imports {first}, a module the grader does not have (did the notebook write it?)")
                return [UNKNOWN]
            out = [_Ext(first if top else name)]
        self.use([importlib.import_module(name) if name in sys.modules else _Ext(name)], scope)
        return out

    def call(self, node, scope):
        self.contexts.add(id(node.func))
        funcs = self.eval(node.func, scope)
        args = [self.eval(a, scope) for a in node.args]
        for k in node.keywords:
            self.eval(k.value, scope)
        consts = [a.value if isinstance(a, ast.Constant) else _NOCONST for a in node.args]
        out = []
        for f in funcs:
            if f is getattr:
                if len(node.args) >= 2 and isinstance(consts[1], str):
                    out += self.attribute(args[0], consts[1], scope)
                else:
                    self.flag(scope, "uses getattr with a computed name")
            elif f is builtins.__import__ or f is importlib.import_module:
                if node.args and isinstance(consts[0], str):
                    out += self.import_(consts[0], scope, top=f is builtins.__import__)
                    out += self.import_(consts[0], scope, top=False)  # __import__(..., fromlist=[...])
                else:
                    self.flag(scope, "imports a module by a computed name")
            elif f is importlib.reload:
                self.flag(scope, "reloads a module")
            elif f in (operator.attrgetter, operator.methodcaller):
                self.flag(scope, f"uses operator.{f.__name__}")
            elif f is open:
                if any(isinstance(c, str) and "ann_core" in c for c in consts):
                    self.flag(scope, "reads ann_core's files")
                out.append(UNKNOWN)
            elif getattr(f, "__self__", None) is sys.modules and getattr(f, "__name__", "") == "get":
                if node.args and isinstance(consts[0], str):
                    out += self.import_(consts[0], scope, top=False)
                else:
                    self.flag(scope, "looks a module up in sys.modules by a computed name")
            elif isinstance(f, _TableMethod):
                key = consts[0] if consts else _NOCONST
                if f.attr in ("get", "pop", "__getitem__", "setdefault") and isinstance(f.table, dict) \
                        and _hashable(key) and key in f.table:
                    out.append(f.table[key])
                else:
                    items = _table_items(f.table, 1)
                    out += [tuple(items)] if f.attr in ("values", "items", "copy") else items
            elif isinstance(f, _LFunc):
                out += self.returns(f)
            elif isinstance(f, _LClass):
                out.append(UNKNOWN)
            elif inspect.isclass(f) and _is_ann(f):
                out.append(_Inst(f))
            elif f is _GET_IPYTHON:
                out.append(_IPY)
            elif f is _IPY_MAGIC:
                name = consts[0] if consts else None
                arg = consts[1] if len(consts) > 1 else None
                if name in ("load_ext", "reload_ext", "autoreload") and (arg in ("autoreload", "") or
                                                                        name == "autoreload"):
                    out.append(UNKNOWN)
                    continue
                if not isinstance(name, str) or name not in _HARMLESS_MAGICS:
                    self.flag(scope, f"uses the IPython magic %{name}")
                out.append(UNKNOWN)
            elif f in (iter, next, list, tuple, sorted, reversed, dict, set, frozenset) and args:
                out += [x for v in args[0] for x in (list(v) if isinstance(v, tuple) else [v])]
            else:
                out.append(UNKNOWN)
        return out or [UNKNOWN]

    def returns(self, f: _LFunc):
        s = self.fscope(f)
        if isinstance(f.node, ast.Lambda):
            return self.eval(f.node.body, s)
        out = []
        for n in _own_nodes(f.node):
            if isinstance(n, (ast.Return, ast.Yield, ast.YieldFrom)) and n.value is not None:
                out += self.eval(n.value, s)
        return out or [UNKNOWN]

    def fscope(self, f: _LFunc) -> _Scope:
        key = ("scope", id(f.node), id(f.scope))
        if key not in self.memo:
            s = _Scope(parent=f.scope, trusted=f.scope.trusted)
            s.locals_ = _local_names(f.node)
            _bind_body(f.node, s, self, _root(f.scope))
            self.memo[key] = s
        return self.memo[key]

    def walk(self, f):
        """Evaluate every expression of a learner function (or class); what it uses joins the queue."""
        self.walked.add((id(f.node), id(f.scope)))
        if isinstance(f, _LClass):
            for n in f.node.body:
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self.queue.append(_LFunc(n, f.scope))
                else:
                    self.expressions(n, f.scope)
            for d in f.node.decorator_list + f.node.bases + [k.value for k in f.node.keywords]:
                self.eval(d, f.scope)
            return
        s = self.fscope(f)
        node = f.node
        for d in [*getattr(node, "decorator_list", []), *node.args.defaults,
                  *[d for d in node.args.kw_defaults if d is not None]]:
            self.eval(d, f.scope)
        for stmt in ([node.body] if isinstance(node, ast.Lambda) else node.body):
            self.expressions(stmt, s)

    def expressions(self, stmt, scope):
        """Evaluate the expressions of ``stmt`` that run in ``scope`` (not the bodies of nested defs)."""
        for n in _expr_nodes([stmt]):
            if isinstance(n, (ast.Name, ast.Attribute, ast.Subscript, ast.Call, ast.Lambda)) and isinstance(
                    getattr(n, "ctx", ast.Load()), ast.Load):
                self.eval(n, scope)
            elif isinstance(n, (ast.Import, ast.ImportFrom)):
                for a in n.names:
                    if isinstance(n, ast.Import):
                        self.import_(a.name, scope)
                    else:
                        self.import_(n.module or "", scope, top=False)
            elif isinstance(n, ast.Attribute):  # a store: np.allclose = ..., ann_core.checks.check = ...
                for v in self.eval(n.value, scope):
                    what = v.__name__ if inspect.ismodule(v) else (v.name if isinstance(v, _Ext) else None)
                    if what is None and (_is_ann(v) or isinstance(v, _Inst)) and (
                            inspect.isclass(v) or inspect.isfunction(v)):
                        what = _qualname(v)
                    if what is not None:
                        self.flag(scope, f"changes {what} (sets its attribute {n.attr})")
            elif isinstance(n, ast.Subscript):  # a store: sys.modules[...] = ..., ACTIVATIONS[...] = ...
                self.eval(n.value, scope)
                if isinstance(n.value, ast.Attribute) and n.value.attr == "modules":
                    self.flag(scope, "writes into sys.modules")

    def run(self):
        while self.queue:
            f = self.queue.pop()
            if (id(f.node), id(f.scope)) not in self.walked:
                self.walk(f)


@dataclass(eq=False)
class _TableMethod:  # ACTIVATIONS.values, LOSSES.get, ...
    table: object
    attr: str


def _describe(v) -> str:
    if _is_table(v):
        for modname, mod in list(sys.modules.items()):
            if mod is not None and modname.startswith("ann_core"):
                for k, o in vars(mod).items():
                    if o is v:
                        return f"{modname}.{k}"
        return "an ann_core table"
    return _qualname(_unwrap(v))


def _refs(obj) -> list:
    """The ann_core objects an ann_core function (or a class's ``__init__``) refers to."""
    key = ("refs", id(obj))
    if key in _CACHE:
        return _CACHE[key]
    _CACHE[key] = []
    refs: list = []
    if inspect.isclass(obj):
        funcs = [_unwrap(vars(obj)["__init__"])] if "__init__" in vars(obj) else []
    else:
        funcs = [obj]
    for fn in funcs:
        refs += [d for d in (fn.__defaults__ or ()) if callable(d)]
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        except (OSError, TypeError, SyntaxError):
            continue
        node = tree.body[0]
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        scope = _Scope(trusted=True, real=fn.__globals__)
        scope.locals_ = _local_names(node)
        qual = fn.__qualname__.split(".")
        owner = getattr(sys.modules.get(fn.__module__), qual[0], None) if len(qual) > 1 else None
        if inspect.isclass(owner) and node.args.args:
            scope.names[node.args.args[0].arg] = [("value", _Inst(owner), scope)]
        sub = _Analyzer([])
        for stmt in node.body:
            for n in ast.walk(stmt):
                if isinstance(n, (ast.Name, ast.Attribute, ast.Subscript, ast.Call)):
                    for v in sub.eval(n, scope):
                        if isinstance(v, _Inst):
                            v = v.cls
                        if (inspect.isfunction(v) or inspect.isclass(v) or _is_table(v)) and (
                                _is_ann(v) or _is_table(v)):
                            refs.append(v)
    _CACHE[key] = refs
    return refs


def _hashable(x) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True


def _own_nodes(fn):
    """The nodes of ``fn``'s body, not those of functions and classes nested in it."""
    stack = [fn.body] if isinstance(fn, ast.Lambda) else list(fn.body)
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(ast.iter_child_nodes(n))


def _expr_nodes(stmts):
    """Nodes that run with ``stmts``: nested defs contribute their decorators and defaults only."""
    stack = list(stmts)
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            stack += [*n.decorator_list, *n.args.defaults, *[d for d in n.args.kw_defaults if d is not None]]
        elif isinstance(n, ast.Lambda):
            pass  # evaluated as a function value; its body is read when it is used
        elif isinstance(n, ast.ClassDef):
            stack += [*n.decorator_list, *n.bases, *[k.value for k in n.keywords]]
        else:
            stack.extend(ast.iter_child_nodes(n))


def _walk_module(stmts):
    """The nodes of module-level code (inside if/for/with/try too), not inside defs."""
    return _own_nodes(ast.Module(body=list(stmts), type_ignores=[]))


def _local_names(fn) -> set:
    names = set()
    a = fn.args
    for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
        if arg is not None:
            names.add(arg.arg)
    glob = set()
    for n in _own_nodes(fn):
        if isinstance(n, (ast.Global, ast.Nonlocal)):
            glob |= set(n.names)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            names.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            names |= {(al.asname or al.name).split(".")[0] for al in n.names}
    return names - glob


def _bind(target, kind, value, scope: _Scope, an: _Analyzer, root: _Scope, globs: set):
    """Record ``target = value`` (tuples element-wise; attribute stores in ``an``)."""
    if isinstance(target, ast.Name):
        (root if target.id in globs else scope).names.setdefault(target.id, []).append((kind, value, scope))
    elif isinstance(target, (ast.Tuple, ast.List)):
        if kind == "expr" and isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts):
            for t, v in zip(target.elts, value.elts, strict=True):
                _bind(t, "expr", v, scope, an, root, globs)
        else:
            for t in target.elts:
                _bind(t.value if isinstance(t, ast.Starred) else t, "elem" if kind == "expr" else "value",
                      value if kind == "expr" else UNKNOWN, scope, an, root, globs)
    elif isinstance(target, ast.Starred):
        _bind(target.value, kind, value, scope, an, root, globs)
    elif isinstance(target, ast.Attribute) and not scope.trusted:
        an.attr_stores.setdefault(target.attr, []).append((kind, value, scope))
        root.names.setdefault(target.attr, []).append((kind, value, scope))  # builtins.x = ... makes a name


def _bind_body(fn, scope: _Scope, an: _Analyzer, root: _Scope):
    """The bindings ``fn``'s body (a def, or a list of module statements) makes, into ``scope``."""
    nodes = list(_walk_module(fn)) if isinstance(fn, list) else list(_own_nodes(fn))
    globs = {g for n in nodes if isinstance(n, ast.Global) for g in n.names}
    for n in nodes:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            value = UNKNOWN if scope.trusted else _LFunc(n, scope)
            (root if n.name in globs else scope).names.setdefault(n.name, []).append(("value", value, scope))
        elif isinstance(n, ast.ClassDef):
            value = UNKNOWN if scope.trusted else _LClass(n, scope)
            scope.names.setdefault(n.name, []).append(("value", value, scope))
        elif isinstance(n, ast.Assign):
            for t in n.targets:
                _bind(t, "expr", n.value, scope, an, root, globs)
        elif isinstance(n, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and n.value is not None:
            _bind(n.target, "expr", n.value, scope, an, root, globs)
        elif isinstance(n, (ast.For, ast.AsyncFor, ast.comprehension)):
            _bind(n.target, "elem", n.iter, scope, an, root, globs)
        elif isinstance(n, (ast.With, ast.AsyncWith)):
            for item in n.items:
                if item.optional_vars is not None:
                    _bind(item.optional_vars, "value", UNKNOWN, scope, an, root, globs)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            scope.names.setdefault(n.name, []).append(("value", UNKNOWN, scope))
        elif isinstance(n, ast.Import):
            for a in n.names:
                target = a.asname or a.name.split(".")[0]
                scope.names.setdefault(target, []).append(("import", (a.name, not a.asname), scope))
        elif isinstance(n, ast.ImportFrom):
            for a in n.names:
                if a.name == "*":
                    scope.names.setdefault("*", []).append(("star", n.module, scope))
                else:
                    scope.names.setdefault(a.asname or a.name, []).append(("from", (n.module, a.name), scope))
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "setattr" \
                and len(n.args) >= 3 and not scope.trusted:
            if isinstance(n.args[1], ast.Constant) and isinstance(n.args[1].value, str):
                attr = n.args[1].value
                an.attr_stores.setdefault(attr, []).append(("expr", n.args[2], scope))
                root.names.setdefault(attr, []).append(("expr", n.args[2], scope))
            else:
                raise Unverifiable("uses setattr with a computed name")


def _root(scope):
    while scope.parent is not None:
        scope = scope.parent
    return scope


_LINE_MAGIC = re.compile(r"^(\s*)%(?:time|timeit|prun)\s+(?:-\S+\s+)*(.*)$")
_CELL_MAGIC = re.compile(r"^\s*%%(?:time|timeit|capture|prun|toolbox)\b[^\n]*\n")


def _ipython_to_python(source: str) -> str:
    """A cell as Python: the code %time, %timeit, %%capture, %%toolbox... run stays code; other magics become calls."""
    source = _CELL_MAGIC.sub("", source, count=1)
    source = "\n".join(_LINE_MAGIC.sub(r"\1\2", line) for line in source.splitlines())
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001
        return source


@functools.lru_cache(maxsize=4096)
def _parse(source: str):
    """A cell's code as an AST (read-only, shared), or None when it is not Python."""
    try:
        return ast.parse(_ipython_to_python(source))
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


# ---------------------------------------------------------------- the notebook
@dataclass
class Notebook:
    """The notebook's code as the grader reads it: who wrote which cell, parsed."""

    learner: list  # (cell label, ast.Module) of learner-authored cells
    trusted: list  # ast.Module of released (unchanged) cells and test cells
    problems: list  # learner cells that are not Python


def read_cells(nb, released) -> Notebook:
    """Split ``nb``'s code cells into learner-authored and released ones (test cells count as released)."""
    from nbgrader import utils

    released_sources = {c.source.strip() for c in released.cells if c.cell_type == "code"}
    learner, trusted, problems = [], [], []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        is_test = utils.is_grade(cell) and not utils.is_solution(cell)
        mine = utils.is_solution(cell) or (not is_test and cell.source.strip() not in released_sources)
        label = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {i + 1}"
        tree = _parse(cell.source)
        if tree is None:
            if mine:
                problems.append(label)
            continue
        (learner.append((label, tree)) if mine else trusted.append(tree))
    return Notebook(learner, trusted, problems)


def forbidden_for(name: str) -> list:
    """The objects the exercise ``name`` may not use: its reference, the formula kernels the
    reference calls (``kernels_of``) and the Spec's ``forbidden``."""
    from ann_core.checks import SPECS

    spec = SPECS[name]
    return [spec.reference, *kernels_of(spec.reference), *(resolve(d) for d in spec.forbidden)]


def _public_callables() -> list:
    """Every public function of ann_core, and every method of its public classes."""
    if "public" not in _CACHE:
        import ann_core.checks  # noqa: F401  (imports every ann_core module)

        out = []
        for mod_name, mod in list(sys.modules.items()):
            if not mod_name.startswith("ann_core.") or mod_name.startswith("ann_core.checks") or mod is None:
                continue
            for attr, obj in vars(mod).items():
                if attr.startswith("_") or getattr(obj, "__module__", None) != mod_name:
                    continue
                if inspect.isfunction(obj):
                    out.append(obj)
                elif inspect.isclass(obj):
                    out += [_unwrap(v) for v in vars(obj).values() if inspect.isfunction(_unwrap(v))]
        _CACHE["public"] = out
    return _CACHE["public"]


def _direct_private_callees(fn) -> list:
    """ann_core's private functions that ``fn``'s own code names (as globals or module attributes)."""
    code, g = getattr(fn, "__code__", None), getattr(fn, "__globals__", {})
    if code is None:
        return []
    modules = [m for m in g.values() if inspect.ismodule(m) and m.__name__.startswith("ann_core")]
    found = []
    for n in code.co_names:
        if not n.startswith("_") or n.startswith("__"):
            continue
        for obj in [g.get(n), *(getattr(m, n, None) for m in modules)]:
            if inspect.isfunction(obj) and obj.__module__.startswith("ann_core.") and obj not in found:
                found.append(obj)
    return found


def kernels_of(reference) -> list:
    """The formula kernels of ``reference``: the private ann_core functions it calls directly that
    at most one other public function calls too (``_mse`` serves ``mse`` and ``mse_grad``).
    Calling one is calling the reference; helpers many functions share (input checks) stay allowed."""
    key = ("kernels", id(reference))
    if key not in _CACHE:
        public = _public_callables()
        _CACHE[key] = [k for k in _direct_private_callees(reference)
                       if sum(k in _direct_private_callees(p) for p in public) <= 2]
    return _CACHE[key]


def _module_scope(code: Notebook, an: _Analyzer) -> _Scope:
    """The notebook's global names: released cells' bindings (trusted) and the learner's, together."""
    root = _Scope()
    released = _Scope(trusted=True)
    for tree in code.trusted:
        _bind_body(tree.body, released, an, released)
    for _, tree in code.learner:
        _bind_body(tree.body, root, an, root)
        for n in ast.walk(tree):  # `global x` in any learner function binds a module name too
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                    isinstance(m, ast.Global) for m in _own_nodes(n)):
                inner = _Scope(parent=root)
                inner.locals_ = _local_names(n)
                _bind_body(n, inner, an, root)
    for k, v in released.names.items():
        root.names.setdefault(k, []).extend(v)
    return root


class OwnWork:
    """The own-work check of one notebook: its code read once, then asked about each graded name.

    ``OwnWork(nb, released)(name, fn_source)`` is '' if what the test cell hands to ``check`` as
    ``name`` (the expression ``fn_source``, by default the name itself) provably does its own
    work; otherwise why not: it uses a reference it may not use, or the grader cannot verify it.
    """

    def __init__(self, nb, released):
        self.an, self.root, self.problem, self.error = _Analyzer([]), None, "", None
        try:
            code = read_cells(nb, released)
            if code.problems:
                raise Unverifiable(f"has a cell that is not valid Python ({code.problems[0]})")
            self.root = _module_scope(code, self.an)
            # the learner's module-level code runs too and may rebind anything: no dynamic tricks there
            self.an.checking = False
            for _, tree in code.learner:
                for stmt in tree.body:
                    self.an.expressions(stmt, self.root)
            self.an.run()
        except (Unverifiable, RecursionError) as exc:
            self.problem = _unverifiable(exc)
        except Exception as exc:  # noqa: BLE001  (the grader's own failure: raised for each name it is asked)
            self.error = exc
        self.contexts = set(self.an.contexts)

    def __call__(self, name: str, fn_source: str | None = None) -> str:
        if self.error is not None:
            raise self.error
        an, problem = self.an, self.problem
        if not problem:  # what the test cell checks, counting every forbidden object it may reach
            an.forbidden = {id(o): o for o in forbidden_for(name)}
            an.hits, an.checking, an.queue = [], True, []
            an.walked.clear()
            an.memo.clear()
            an.contexts = set(self.contexts)
            try:
                an.eval(ast.parse(fn_source or name, mode="eval").body, self.root)
                an.run()
            except (Unverifiable, RecursionError) as exc:
                problem = _unverifiable(exc)
        if problem:
            return f"the grader cannot verify that {name} does its own work: {problem}"
        if an.hits:
            return (f"{name} calls ann_core's reference implementation {an.hits[0]} instead of computing the "
                    "result itself; write your own version (this item scores 0)")
        return ""


def _unverifiable(exc) -> str:
    if isinstance(exc, RecursionError):
        return "the code is nested too deeply to read"
    return f"your code {exc}. Write it with plain Python and NumPy (this item scores 0)"


def delegation(nb, released, name: str, fn_source: str | None = None) -> str:
    """``OwnWork(nb, released)(name, fn_source)``, for one name."""
    return OwnWork(nb, released)(name, fn_source)
