"""How a failing check and an unfinished exercise look in a notebook.

Inside IPython (JupyterLab, nbgrader's Validate, the grader's kernel) ``install()``
registers one handler, with IPython's ``set_custom_exc``, for

* ``CheckFailed``: one short block instead of a traceback through ``ann_core.checks``
  — the call that failed, got vs expected, the likely mistake, and, when the learner's
  own function raised, the learner's own line(s);
* ``NotImplementedError`` raised by an unfinished exercise: which function is not
  written yet and what to do. When it stopped a demo cell (one that only *uses* the
  exercise), the cell then runs once more with ann_core's reference in place of every
  unfinished exercise, under a label saying so, so the learner sees what it will show
  (``show_with_reference``; never in a grading kernel).

The output is still an ``error`` output with the same ``ename``/``evalue`` (only the
traceback text is shorter), so nbgrader still scores the cell 0 and its message is
unchanged. The full traceback is one switch away: ``%xmode Verbose`` in the notebook,
or the environment variable ``ANN_FULL_TRACEBACK=1`` (e.g. ``%env ANN_FULL_TRACEBACK=1``).
"""

from __future__ import annotations

import linecache
import os
import re
import sys
import textwrap
import traceback
from pathlib import Path

from .core import CheckFailed
from .record import grading
from .spec import SPECS

FULL_ENV = "ANN_FULL_TRACEBACK"
MAX_LINES = 14  # the failure and its hint (up to ~8 lines), then the details of a public case
WIDTH = 110
_RED, _BOLD, _RESET = "\x1b[0;31m", "\x1b[1m", "\x1b[0m"
_HERE = str(Path(__file__).resolve().parent.parent)  # the ann_core package


def _is_learner_file(filename: str, shell=None) -> bool:
    """True for a notebook cell (or a file of the learner's), False for ann_core, NumPy, Python."""
    if shell is not None and filename in getattr(getattr(shell, "compile", None), "_filename_map", {}):
        return True
    if filename.startswith("<ipython-input-"):
        return True
    if not filename or filename.startswith("<") or filename.startswith(_HERE):
        return False
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    return not any(filename.startswith(p) for p in prefixes)


def _where(filename: str, lineno: int, shell=None) -> str:
    cells = getattr(getattr(shell, "compile", None), "_filename_map", {}) if shell is not None else {}
    if filename in cells:
        return f"Cell In[{cells[filename]}], line {lineno}"
    return f"{filename}, line {lineno}"


def learner_frames(exc: BaseException, shell=None, keep: int = 2) -> list[str]:
    """The innermost ``keep`` frames of ``exc``'s traceback that are the learner's code."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _is_learner_file(f.filename, shell)]
    out = []
    for f in frames[-keep:]:
        line = (f.line or linecache.getline(f.filename, f.lineno)).strip()
        out.append(f"  {_where(f.filename, f.lineno, shell)}, in {f.name}")
        if line:
            out.append(f"    {line[:WIDTH]}")
    return out


def _wrap(text: str, first: str = "", indent: str = "  ") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False) or [first]


def split_message(message: str) -> tuple[str, str]:
    """A check's message as (what failed with got vs expected, the likely mistake or advice)."""
    for marker in (" Likely mistake: ", " NumPy warned: ", " Compute new arrays", " Fix: "):
        if marker in message:
            head, rest = message.split(marker, 1)
            return head, marker.strip() + ("" if marker == " Compute new arrays" else " ") + rest
    return message, ""


def message_lines(message: str, first: str = "", indent: str = "  ") -> list[str]:
    """A check's message wrapped for a terminal or a notebook: the failure, then the hint, then the
    details of a public case (its inputs, expected against actual: ``compare.details``), one per line."""
    message, *more = message.split("\n")
    head, hint = split_message(message)
    lines = _wrap(head, first, indent) + (_wrap(hint, indent, indent) if hint else [])
    for line in more:
        lines += _wrap(line.strip(), indent, indent + "    ")
    return lines


def short_check_failed(exc: BaseException, shell=None, colour: bool = True) -> list[str]:
    """The short block for a ``CheckFailed``: at most ``MAX_LINES`` lines."""
    name = type(exc).__name__
    lines = message_lines(str(exc), f"{_RED}{name}{_RESET}: " if colour else f"{name}: ")
    cause = exc.__cause__
    if cause is not None and not isinstance(cause, NotImplementedError):
        mine = learner_frames(cause, shell)
        if mine:
            lines += [f"  where your code raised {type(cause).__name__}:"] + mine
    if len(lines) > MAX_LINES:
        lines = lines[: MAX_LINES - 1] + ["  …"]
    return ["\n".join(lines)]


def short_not_implemented(exc: BaseException, shell=None, colour: bool = True) -> list[str]:
    """The block for an unfinished exercise's ``raise NotImplementedError()``."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _is_learner_file(f.filename, shell)]
    name = type(exc).__name__
    tag = f"{_RED}{name}{_RESET}" if colour else name
    if not frames:
        return [f"{tag}: {exc}"]
    last, first = frames[-1], frames[0]
    where = _where(last.filename, last.lineno, shell)
    if last.name == "<module>" or len(frames) == 1 and first.name == "<module>":
        text = (f"{tag}: this exercise is not written yet ({where}): replace `raise NotImplementedError()` "
                "with your code, then run the cell again.")
    else:
        text = (f"{tag}: `{last.name}` is not written yet ({where}). This cell needs it: finish the exercise "
                f"`{last.name}`, run its cell, then run this cell again to see your result.")
    return ["\n".join(_wrap(text, "", "  "))]


def _unfinished(ns) -> dict:
    """The graded functions in ``ns`` that still hold their stub, each mapped to ann_core's reference."""
    out = {}
    for name, spec in SPECS.items():
        code = getattr(ns.get(name), "__code__", None)
        if code is not None and "NotImplementedError" in code.co_names:
            out[name] = spec.reference
    return out


def show_with_reference(shell) -> bool:
    """Run the current cell again with ann_core's reference in place of each unfinished exercise.

    Its output comes under a label naming the references; the learner's functions are put
    back afterwards. Returns whether it ran. Never in a grading kernel (``ANN_AUTOGRADER``).
    """
    ns = shell.user_ns
    history = ns.get("_ih") or [""]
    swap = _unfinished(ns)
    if grading() or not swap or not history[-1].strip():
        return False
    named = [n for n in swap if re.search(rf"\b{n}\b", history[-1])] or list(swap)  # the ones this cell names
    print(f"▶ Meanwhile, what this cell shows with ann_core's reference {', '.join(f'`{n}`' for n in named)}"
          " — not yet yours:", flush=True)
    saved = {n: ns[n] for n in swap}
    ns.update(swap)
    try:
        exec(compile(history[-1], "<this cell, with ann_core's reference>", "exec"), ns)  # noqa: S102
    except Exception as exc:  # noqa: BLE001  (a demo that needs more than the references)
        print(f"  (it stopped even so: {type(exc).__name__}: {str(exc)[:150]})")
    finally:
        ns.update(saved)
    return True


def _full(shell) -> bool:
    if os.environ.get(FULL_ENV, "") not in ("", "0"):
        return True
    return getattr(getattr(shell, "InteractiveTB", None), "mode", "") == "Verbose"


def _is_unfinished(exc: BaseException, shell=None) -> bool:
    """A bare ``raise NotImplementedError()`` in the learner's code (the exercise stub)."""
    if str(exc):
        return False
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and _is_learner_file(tb.tb_frame.f_code.co_filename, shell)


def _handler(shell, etype, value, tb, tb_offset=None):
    """IPython custom exception handler: show the short block as the cell's error output."""
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb  # for %debug and %tb
    if _full(shell):
        stb = None
    elif isinstance(value, CheckFailed):
        stb = short_check_failed(value, shell)
    elif isinstance(value, NotImplementedError) and _is_unfinished(value, shell):
        stb = short_not_implemented(value, shell)
    else:
        stb = None
    if stb is None:
        stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    shell._showtraceback(etype, value, stb)
    if isinstance(value, NotImplementedError) and "This cell needs it" in " ".join(stb[0].split()):  # (wrapped)
        show_with_reference(shell)
    return stb


def install(shell=None) -> bool:
    """Register the handler in the running IPython shell (no-op outside IPython); True if done."""
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    if CheckFailed not in getattr(shell, "custom_exceptions", ()):
        shell.set_custom_exc((CheckFailed, NotImplementedError), _handler)
    return True
