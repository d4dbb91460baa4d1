"""The learner's self-check: ``python -m autograder check [NOTEBOOK]``.

With a notebook: runs it as the grader would and prints each graded item with its
points and, when it fails, the check's message (the failure, then the likely mistake).
Exits 0 only when every item passes.

Without one: the whole course at a glance, from the learner's saved notebooks in
``lessons/``: each lesson is *not started* (no exercise cell changed since release),
*done* (every item passes) or *N of M passing*; only started lessons are run.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from .execute import NotebookError, execute, read
from .score import autograded_total, score_notebook

INDENT = 6


def _message(item) -> str:
    text = item.message or item.status
    return text.removeprefix("CheckFailed: ")


def check(path: Path, timeout: int = 60, out=sys.stdout) -> int:
    from ann_core.checks.display import message_lines

    path = Path(path)
    try:
        nb = read(path)
    except (NotebookError, FileNotFoundError) as exc:
        print(f"✘ {exc}", file=out)
        return 2
    print(f"Running {path.name} …", file=out, flush=True)
    nb, problem = execute(nb, path.parent.resolve(), timeout)
    items = score_notebook(nb)
    if not items:
        print("✘ no graded test cells found: is this a course notebook?", file=out)
        return 2
    width = max(len(i.name) for i in items)
    for i in items:
        if i.manual:  # a written question: no test can score it
            print(f"✎ {i.name:<{width}}  –/{i.max_score:g}  {i.message}", file=out)
            continue
        mark = "✔" if i.status == "passed" else "✘"
        line = f"{mark} {i.name:<{width}}  {i.score:g}/{i.max_score:g}"
        print(line, file=out)
        if i.status != "passed":
            for text in message_lines(_message(i), " " * INDENT, " " * (INDENT + 2))[:6]:
                print(text, file=out)
    total, best = autograded_total(items)  # the written questions' points come from the instructor
    if problem:
        print(f"! {problem}", file=out)
    print(f"Score: {total:g}/{best:g}" + ("  — all checks pass." if total == best else
          "  — fix the items marked ✘ and run the check again."), file=out)
    return 0 if total == best and not problem else 1


@dataclass
class LessonStatus:
    lesson: str
    status: str  # "done", "in progress", "not started", "missing", "unreadable"
    passed: int = 0
    items: int = 0
    score: float = 0.0
    max_score: float = 0.0
    note: str = ""

    def line(self, width: int) -> str:
        if self.status in ("done", "in progress"):
            what = ("done" if self.status == "done" else f"{self.passed} of {self.items} passing")
            detail = f"{self.passed}/{self.items} exercises, {self.score:g}/{self.max_score:g} points"
            return f"  {self.lesson:<{width}}  {what:<16}{detail}" + (f"  ({self.note})" if self.note else "")
        return f"  {self.lesson:<{width}}  {self.status}" + (f": {self.note}" if self.note else "")


def untouched(nb) -> bool:
    """True when no exercise cell differs from the released lesson (nbgrader's cell checksums)."""
    from nbgrader import utils

    cells = [c for c in nb.cells if utils.is_solution(c)]
    return bool(cells) and all(c.metadata.nbgrader.get("checksum") == utils.compute_checksum(c) for c in cells)


def lesson_status(lesson: str, path: Path, timeout: int = 60) -> LessonStatus:
    if not path.exists():
        return LessonStatus(lesson, "missing", note=f"{path} not found")
    try:
        nb = read(path)
    except NotebookError as exc:
        return LessonStatus(lesson, "unreadable", note=str(exc))
    if untouched(nb):
        return LessonStatus(lesson, "not started")
    nb, problem = execute(nb, path.parent.resolve(), timeout)
    items = [i for i in score_notebook(nb) if i.autograded]  # written questions: graded by the instructor
    passed = sum(i.status == "passed" for i in items)
    s = LessonStatus(lesson, "done" if items and passed == len(items) and not problem else "in progress",
                     passed, len(items), *autograded_total(items), problem[:80])
    return s


def course_status(lessons_dir: Path, lessons: list[str], timeout: int = 60, out=sys.stdout) -> list[LessonStatus]:
    """Print and return every lesson's status from the saved notebooks in ``lessons_dir``."""
    lessons_dir = Path(lessons_dir)
    print(f"Your progress, from the notebooks saved in {lessons_dir} (started lessons are run as the grader "
          "would; save your notebooks first):", file=out, flush=True)
    width = max(len(name) for name in lessons)
    results = []
    for lesson in lessons:
        st = lesson_status(lesson, lessons_dir / lesson / f"{lesson}.ipynb", timeout)
        results.append(st)
        print(st.line(width), file=out, flush=True)
    done = sum(r.status == "done" for r in results)
    started = sum(r.status in ("done", "in progress") for r in results)
    points = sum(r.score for r in results)
    print(f"{done} of {len(results)} lessons done, {started} started; {points:g} points in the started lessons.",
          file=out)
    nxt = next((r for r in results if r.status == "in progress"), None) or \
        next((r for r in results if r.status != "done"), None)
    if nxt is not None:
        where = lessons_dir / nxt.lesson / f"{nxt.lesson}.ipynb"
        print(f"Next: {nxt.lesson}. `python -m autograder check {where}` shows each exercise's message.", file=out)
    return results
