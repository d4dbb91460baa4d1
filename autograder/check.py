"""The learner's self-check: ``python -m autograder check [NOTEBOOK]``.

With a notebook: runs it as the grader does (``grade_like``: the same steps, the same
sandboxed kernel whose ann_core withholds the lesson's references, the same verdicts) and
prints each graded item with its points and, when it fails, the grader's message (the
failure, then the likely mistake). Exits 0 only when every item passes.

Without one: the whole course at a glance, from the learner's saved notebooks in
``lessons/``: each lesson is *not started* (no exercise cell changed since release),
*done* (every item passes) or *N of M passing*; only started lessons are run. A lesson
without graded cells (``00_start_here``) is listed as *no exercises* and never run; the
start page calls ``course_status`` itself, as its live progress table.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from .execute import NotebookError, read
from .score import autograded_total, score_notebook

INDENT = 6


def _message(item) -> str:
    text = item.message or item.status
    return text.removeprefix("CheckFailed: ")


def _released(path: Path, nb):
    """``(lesson, released notebook or None)`` for the learner's notebook at ``path``."""
    from ann_core.checks import SPECS

    from .integrity import graded_names

    lesson = path.stem
    try:
        from .course import Course, find_root

        course = Course(find_root())
        if lesson in course.lessons():
            return lesson, read(course.lesson(lesson))
    except Exception:  # noqa: BLE001  (a notebook outside the course: its own test cells say what is graded)
        pass
    lessons = [SPECS[n].lesson for n in graded_names(nb) if n in SPECS and SPECS[n].lesson]
    return (lessons[0] if lessons else lesson), None


def grade_like(nb, path: Path, timeout: int = 60):
    """Run ``nb`` as ``grade`` does and decide its test cells; returns ``(nb, problem)``.

    The grader's own steps: the demo cells that use what the lesson withholds are left out
    (``steps.NeutraliseDemos``), the notebook runs in a fresh kernel of the grading sandbox
    whose ann_core withholds the lesson's references (``execute.execute_job``), and every test
    cell is decided outside it (``verify``). Without a sandbox here (``sandbox.probe``), the
    kernel runs with the limits only, still with the lesson's ann_core first on its path.
    """
    import copy
    import json

    import nbformat
    from nbgrader.preprocessors import ClearOutput
    from traitlets.config import Config

    from .execute import Job, close_kernels, execute_job
    from .integrity import lesson_withheld
    from .sandbox import probe
    from .steps import MarkNotRun, NeutraliseDemos, Submission, resources, run
    from .verify import verify

    lesson, released = _released(path, nb)
    sub = Submission(released if released is not None else copy.deepcopy(nb))
    sub.withheld = lesson_withheld(lesson, sub.released)
    r = resources("you", lesson, "", "", sub)
    nb, r = run([ClearOutput, NeutraliseDemos], nb, r, Config())
    trusted = copy.deepcopy(nb)
    job = Job(("you", lesson), json.dumps(nb), timeout, sandbox=not probe(), start_next=False,
              withheld=sub.withheld)
    try:
        done = execute_job(job)
    finally:
        close_kernels()
    nb = nbformat.from_dict(json.loads(done.notebook))
    nb, r = run([MarkNotRun], nb, r, Config())
    verify(nb, trusted)
    return nb, done.problem


def check(path: Path, timeout: int = 60, out=sys.stdout) -> int:
    from ann_core.checks.display import MAX_LINES, message_lines

    path = Path(path)
    try:
        nb = read(path)
    except (NotebookError, FileNotFoundError) as exc:
        print(f"✘ {exc}", file=out)
        return 2
    if not has_exercises(nb):
        print(f"✔ {path.name} has no exercises: nothing to check (it is read, not graded).", file=out)
        return 0
    print(f"Running {path.name} …", file=out, flush=True)
    nb, problem = grade_like(nb, path, timeout)
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
            for text in message_lines(_message(i), " " * INDENT, " " * (INDENT + 2))[:MAX_LINES]:
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


def has_exercises(nb) -> bool:
    """True when the notebook has a graded cell (the start page has none)."""
    from nbgrader import utils

    return any(utils.is_grade(c) for c in nb.cells)


def lessons_in(lessons_dir: Path) -> list[str]:
    """The lessons saved in ``lessons_dir``, in order: every ``NN_name/NN_name.ipynb``."""
    return sorted(p.parent.name for p in Path(lessons_dir).glob("*/*.ipynb") if p.stem == p.parent.name)


def lesson_status(lesson: str, path: Path, timeout: int = 60) -> LessonStatus:
    if not path.exists():
        return LessonStatus(lesson, "missing", note=f"{path} not found")
    try:
        nb = read(path)
    except NotebookError as exc:
        return LessonStatus(lesson, "unreadable", note=str(exc))
    if not has_exercises(nb):  # never run: the start page's progress table would run the course again
        return LessonStatus(lesson, "no exercises", note="read it; nothing to grade")
    if untouched(nb):
        return LessonStatus(lesson, "not started")
    nb, problem = grade_like(nb, path, timeout)
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
    graded = [r for r in results if r.status != "no exercises"]
    done = sum(r.status == "done" for r in graded)
    started = sum(r.status in ("done", "in progress") for r in graded)
    points = sum(r.score for r in graded)
    print(f"{done} of {len(graded)} lessons done, {started} started; {points:g} points in the started lessons.",
          file=out)
    nxt = next((r for r in graded if r.status == "in progress"), None) or \
        next((r for r in graded if r.status != "done"), None)
    if nxt is not None:
        where = lessons_dir / nxt.lesson / f"{nxt.lesson}.ipynb"
        print(f"Next: {nxt.lesson}. `python -m autograder check {where}` shows each exercise's message.", file=out)
    return results
