"""Where a learner stands in a lesson: the last cell of every lesson calls ``progress``.

``progress(items, namespace)`` runs the visible check of every exercise again, on the
functions as they are now in the notebook's ``namespace`` (``globals()``), and prints
one line per exercise (passes or not, and the check's message) and the points so far.
Nothing is recorded and nothing raises, so the cell never stops Run All.

Inside the grader's kernel it only says that the grader scores the notebook: grading
must not spend time on it, and the grade comes from the test cells.
"""

from __future__ import annotations

import contextlib
import io

from .core import CheckFailed, check
from .record import grading
from .spec import SPECS


# Items whose test is not ``check(name, <function name>)``: how to run them from the namespace.
def _digits_accuracy(namespace):
    from .training import check_digits_accuracy

    check_digits_accuracy(namespace.get("model"))


_CUSTOM = {"digits_accuracy": _digits_accuracy}


def run_item(name: str, namespace: dict) -> tuple[bool, str]:
    """Run the visible check of exercise ``name``; ``(passed, message)``."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            if name in _CUSTOM:
                _CUSTOM[name](namespace)
            elif name in SPECS:
                if name not in namespace:
                    return False, f"not run yet: run the cell that defines `{name}`, then this one"
                check(name, namespace[name], quiet=True)
            else:
                return False, f"no check is known for {name!r}"
    except CheckFailed as exc:
        return False, str(exc)
    except Exception as exc:  # a learner's object can make anything fail; say what and go on
        return False, f"{type(exc).__name__}: {exc}"
    return True, ""


def _points(n: float) -> str:
    return f"{n:g} point" + ("" if n == 1 else "s")


def _short(text: str, width: int = 100) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def progress(items: dict[str, float], namespace: dict, lesson: str = "", out=None,
             written: dict[str, float] | None = None) -> None:
    """Print where the learner stands in ``items`` (exercise name → points).

    Returns None, so that the cell shows only the printed lines (nbval compares them).

    ``items`` follow the notebook's order; ``namespace`` is the notebook's ``globals()``.
    ``written`` (grade id → points) are the written questions: listed, not checked, since
    the instructor grades them; their points are not in the total.
    """
    written = written or {}
    out = out or __import__("sys").stdout
    title = f"Where you stand in lesson {lesson}" if lesson else "Where you stand"
    best = float(sum(items.values()))
    if grading():
        print(f"{title}: the grader scores this notebook from its test cells ({best:g} points)"
              + (f"; the written answers ({_points(sum(written.values()))}) are graded by the instructor." if written
                 else "."), file=out)
        return
    results = [(name, pts, *run_item(name, namespace)) for name, pts in items.items()]
    got = float(sum(pts for _, pts, ok, _ in results if ok))
    n_ok = sum(ok for *_, ok, _ in results)
    width = max((len(n) for n in [*items, *written]), default=0)
    print(f"{title} (the visible checks, run again now; the grader adds hidden tests):", file=out)
    for name, pts, ok, msg in results:
        mark, score = ("✔", pts) if ok else ("✘", 0)
        line = f"  {mark} {name:<{width}}  {score:g}/{pts:g}"
        print(line + ("" if ok else "  " + _short(msg.split("\n")[0])), file=out)  # not a case's details
    for name, pts in written.items():
        print(f"  ✎ {name:<{width}}  –/{pts:g}  written question: graded by your instructor", file=out)
    bar = "█" * n_ok + "░" * (len(results) - n_ok)
    print(f"{bar}  {n_ok} of {len(results)} exercises pass: {got:g}/{best:g} points so far.", file=out)
    todo = [name for name, _, ok, _ in results if not ok]
    if todo:
        print(f"Next: {todo[0]}. Fix it, run its cell and its check, then this cell again.", file=out)
    else:
        print("Every exercise passes. Run `python -m autograder check` on this notebook before handing it in.",
              file=out)
