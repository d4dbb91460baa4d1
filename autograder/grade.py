"""Step 4, grade a class: ``python -m autograder grade SUBMISSIONS [--out DIR]``.

``SUBMISSIONS/<student_id>/<lesson>/<lesson>.ipynb`` → for every submission:

1. the lesson is registered in the gradebook (nbgrader ``generate_assignment``);
2. the notebook is validated and copied into the workspace's ``submitted/`` (a private
   copy: the learner's code never runs next to the originals);
3. nbgrader ``autograde`` restores the test cells from the gradebook, runs the
   notebook with a per-cell timeout and saves the grades in ``DIR/nbgrader/gradebook.db``;
4. nbgrader ``generate_feedback`` writes ``DIR/feedback/<student>/<lesson>/<lesson>.html``
   (hidden tests removed, see ``feedback.py``).

Then ``DIR/grades.csv`` and ``DIR/items.csv`` are exported from the gradebook, with
each item's status and message read from the autograded notebook (``score.py``).
A submission that cannot be graded (not a notebook, a dead kernel, …) gets 0 for
what could not be graded and a reason, and the batch goes on.
"""

from __future__ import annotations

import csv
import re
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .course import Course, api, nbgrader_config
from .execute import NotebookError, read
from .score import Item, clean, score_notebook, test_cells

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
GRADE_FIELDS = ["student_id", "assignment", "score", "max_score", "status", "message"]
ITEM_FIELDS = ["student_id", "assignment", "grade_id", "score", "max_score", "status", "message"]


@dataclass
class Result:
    student_id: str
    assignment: str
    score: float
    max_score: float
    status: str  # graded | missing | invalid | error
    message: str = ""
    items: list[Item] = field(default_factory=list)
    seconds: float = 0.0


def discover(submissions: Path, lessons: list[str]) -> list[tuple[str, str]]:
    """``(student_id, lesson)`` pairs to grade, sorted. Every student gets every lesson."""
    if not submissions.is_dir():
        raise SystemExit(f"{submissions} is not a directory of submissions (SUBMISSIONS/<student_id>/<lesson>/)")
    students = sorted(p.name for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [(s, lesson) for s in students for lesson in lessons]


def grade(course: Course, submissions: Path, out: Path, lessons: list[str] | None = None,
          timeout: int = 30, progress: bool = True) -> list[Result]:
    """Grade every student's submission of ``lessons``; write the CSVs; return the results."""
    submissions, out = submissions.resolve(), out.resolve()
    lessons = course.resolve(lessons)
    workspace = out / "nbgrader"
    workspace.mkdir(parents=True, exist_ok=True)
    config = nbgrader_config(course, workspace, workspace / "release", feedback=out / "feedback",
                             timeout=timeout)
    nbg = api(config)
    warnings.filterwarnings("ignore", module="nbgrader")  # SQLAlchemy autoflush chatter inside nbgrader
    for lesson in lessons:  # 1. register the lesson and its test cells in the gradebook
        r = nbg.generate_assignment(lesson, force=True, create=True)
        if not r["success"]:
            raise SystemExit(f"cannot register {lesson} in the gradebook:\n{r.get('error') or r.get('log')}")

    pairs = discover(submissions, lessons)
    results = []
    bar = _progress(len(pairs), progress)
    for student, lesson in pairs:
        t0 = time.perf_counter()
        results.append(_grade_one(nbg, course, config, submissions, student, lesson))
        results[-1].seconds = time.perf_counter() - t0
        bar.update(1)
    bar.close()
    _write_csv(out / "grades.csv", GRADE_FIELDS,
               [[r.student_id, r.assignment, _num(r.score), _num(r.max_score), r.status, r.message] for r in results])
    _write_csv(out / "items.csv", ITEM_FIELDS,
               [[r.student_id, r.assignment, i.grade_id, _num(i.score), _num(i.max_score), i.status, i.message]
                for r in results for i in r.items])
    return results


def _grade_one(nbg, course, config, submissions, student, lesson) -> Result:
    released_items = _released_items(config, lesson)
    max_score = sum(i.max_score for i in released_items)

    def zero(status, message):
        items = [Item(i.grade_id, 0.0, i.max_score, status, message) for i in released_items]
        return Result(student, lesson, 0.0, max_score, status, message, items)

    if not STUDENT_ID.match(student):
        return zero("invalid", f"student id {student!r} may only use letters, digits, '_', '.', '-'")
    src = submissions / student / lesson / f"{lesson}.ipynb"
    dest_dir = Path(config.CourseDirectory.submitted_directory) / student / lesson
    shutil.rmtree(dest_dir, ignore_errors=True)
    dest_dir.mkdir(parents=True)
    reason = ""
    if not src.exists():
        reason, status = f"no submission: {lesson}/{lesson}.ipynb not found", "missing"
    else:
        try:
            read(src)
            shutil.copy2(src, dest_dir / src.name)
        except NotebookError as exc:
            reason, status = str(exc), "invalid"
    if reason:  # nothing to run: record the zero in the gradebook as nbgrader does for a missing notebook
        _record_zero(config, student, lesson)
        return zero(status, reason)
    result = nbg.autograde(lesson, student, force=True, create=True)
    if not result["success"]:
        _record_zero(config, student, lesson)
        return zero("error", "nbgrader could not grade this notebook: " + _last_error(result))
    nbg.generate_feedback(lesson, student, force=True)
    return _collect(config, student, lesson)


def _collect(config, student, lesson) -> Result:
    """Scores from the gradebook; statuses and messages from the autograded notebook."""
    from nbgrader.api import Gradebook

    nb_path = Path(config.CourseDirectory.autograded_directory) / student / lesson / f"{lesson}.ipynb"
    items = score_notebook(read(nb_path))
    with Gradebook(config.CourseDirectory.db_url, config.CourseDirectory.course_id) as gb:
        sub = gb.find_submission(lesson, student)
        for item in items:
            g = gb.find_grade(item.grade_id, lesson, lesson, student)
            item.score, item.max_score = float(g.score), float(g.max_score)
            if item.score >= item.max_score:
                item.status, item.message = "passed", ""
            elif item.status == "passed":
                item.status = "failed"
        score, max_score = float(sub.score), float(sub.max_score)
    failed = [i.name for i in items if i.status != "passed"]
    message = "all items pass" if not failed else "failed: " + ", ".join(failed)
    return Result(student, lesson, score, max_score, "graded", message, items)


def _record_zero(config, student, lesson) -> None:
    """A submission with every grade 0 (nbgrader's own treatment of a missing notebook)."""
    from nbgrader.api import Gradebook

    with Gradebook(config.CourseDirectory.db_url, config.CourseDirectory.course_id) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(lesson, student)
        for notebook in submission.notebooks:
            for g in notebook.grades:
                g.auto_score, g.manual_score, g.needs_manual_grade = 0, None, False
        gb.db.commit()


def _released_items(config, lesson) -> list[Item]:
    nb = read(Path(config.CourseDirectory.release_directory) / lesson / f"{lesson}.ipynb")
    return [Item(c.metadata.nbgrader["grade_id"], 0.0, float(c.metadata.nbgrader.get("points", 0)), "", "")
            for c in test_cells(nb)]


def _last_error(result) -> str:
    text = result.get("error") or result.get("log") or "unknown error"
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return clean(lines[-1] if lines else text, 300)


def _num(x: float) -> str:
    return f"{x:g}"


def _write_csv(path: Path, header, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress(total: int, enabled: bool):
    if not enabled or total < 2:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="notebook", desc="grading")
