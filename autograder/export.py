"""Grades out of the gradebook: nbgrader's own CSV, and a gradebook CSV an LMS imports.

Both read the gradebook ``grade`` wrote (``DIR/nbgrader/gradebook.db``) with nbgrader's
numbers: a submission scores nbgrader's total (manual scores and extra credit included)
less its late penalty, exactly the ``score`` of ``nbgrader export`` and of ``grades.csv``.

* ``DIR/export/nbgrader.csv``: nbgrader's ``CsvExportPlugin`` (one row per learner and lesson);
* ``DIR/export/lms-canvas.csv``: Canvas's gradebook import format, one row per learner,
  ``Student, ID, SIS User ID, SIS Login ID, Section``, then one column per lesson, with
  Canvas's ``Points Possible`` row (identities from a roster; without one the student id is
  the ``SIS Login ID``);
* ``DIR/export/lms-generic.csv``: ``student_id, name, lms_id, email``, one column per lesson,
  and ``total`` (Moodle's grade import, or any spreadsheet: map ``student_id`` or ``email``).

No cell of either begins a spreadsheet formula (``sanitize.csv_cell``: a learner named
``=HYPERLINK(…)`` in the LMS is written ``'=HYPERLINK(…)``); numbers stay numbers.
"""

from __future__ import annotations

from pathlib import Path

from .collect import Roster
from .course import Course, course_config
from .sanitize import csv_writer, make_csv_safe

CANVAS_ID_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def _gradebook(course: Course, out: Path):
    from nbgrader.api import Gradebook

    config = course_config(course, out)
    db = Path(out) / "nbgrader" / "gradebook.db"
    if not db.exists():
        raise SystemExit(f"no gradebook at {db}: run `python -m autograder grade SUBMISSIONS --out {out}` first")
    return Gradebook(config.CourseDirectory.db_url, config.CourseDirectory.course_id)


def scores(course: Course, out: Path) -> tuple[list[str], dict[str, float], dict[str, dict[str, float]]]:
    """``(lessons, max score per lesson, {student: {lesson: score}})``; no submission scores 0."""
    from nbgrader.api import MissingEntry

    with _gradebook(course, out) as gb:
        lessons = sorted(a.name for a in gb.assignments)
        maxima = {a.name: float(a.max_score) for a in gb.assignments}
        table = {}
        for student in gb.students:
            row = table.setdefault(student.id, {})
            for lesson in lessons:
                try:
                    sub = gb.find_submission(lesson, student.id)
                except MissingEntry:
                    row[lesson] = 0.0
                else:
                    row[lesson] = max(0.0, float(sub.score) - float(sub.late_submission_penalty or 0.0))
    return lessons, maxima, table


def nbgrader_csv(course: Course, out: Path, dest: Path) -> Path:
    """``nbgrader export``: nbgrader's own CSV exporter on this gradebook."""
    from nbgrader.plugins import CsvExportPlugin

    dest.parent.mkdir(parents=True, exist_ok=True)
    with _gradebook(course, out) as gb:
        CsvExportPlugin(to=str(dest)).export(gb)
    make_csv_safe(dest)  # learner names from an LMS are nbgrader's cells too
    return dest


def lms_csv(course: Course, out: Path, dest: Path, fmt: str = "canvas", roster: Roster | None = None) -> Path:
    """One row per learner, one column per lesson, with the LMS's identifier columns."""
    lessons, maxima, table = scores(course, out)
    roster = roster or Roster()
    known = {r["student_id"]: r for r in roster.rows}
    students = sorted(set(table) | set(known))
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("w", newline="") as fh:
        w = csv_writer(fh)
        if fmt == "canvas":
            w.writerow(CANVAS_ID_COLUMNS + lessons)
            w.writerow(["Points Possible", "", "", "", ""] + [_num(maxima[k]) for k in lessons])
            for s in students:
                r = known.get(s, {})
                w.writerow([r.get("name", s), r.get("lms_id", ""), r.get("sis_user_id", ""),
                            r.get("sis_login_id") or s, r.get("section", "")]
                           + [_num(table[s][k]) if s in table else "" for k in lessons])
        elif fmt == "generic":
            w.writerow(["student_id", "name", "lms_id", "email"] + lessons + ["total"])
            for s in students:
                r = known.get(s, {})
                marks = [table[s][k] for k in lessons] if s in table else []
                w.writerow([s, r.get("name", ""), r.get("lms_id", ""), r.get("email", "")]
                           + ([_num(x) for x in marks] + [_num(sum(marks))] if marks else [""] * (len(lessons) + 1)))
        else:
            raise SystemExit(f"unknown LMS format {fmt!r}: use canvas or generic")
    return dest


def _num(x: float) -> str:
    return f"{x:g}"
