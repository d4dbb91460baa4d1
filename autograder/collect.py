"""Gathering submissions: nbgrader's exchange, or an LMS's bulk download.

Both end in the layout ``grade`` reads, ``SUBMISSIONS/<student_id>/<lesson>/<lesson>.ipynb``
with nbgrader's ``timestamp.txt`` beside the notebook (the time it was handed in, which
``grade`` compares with the lesson's due date in the gradebook).

* **The exchange** (``publish`` → learners ``nbgrader fetch_assignment`` / ``nbgrader
  submit`` → ``collect``): nbgrader's own ``release_assignment`` and ``collect`` on the
  course-local exchange ``DIR/nbgrader/exchange``; collected notebooks land in
  ``DIR/nbgrader/submitted``, which is already that layout:
  ``python -m autograder grade DIR/nbgrader/submitted --out DIR``.
* **An LMS download** (``import-lms``): a zip or folder as Canvas or Moodle gives it.
  Canvas names each file ``<login>_<userid>_<submissionid>_<filename>`` (``<login>_LATE_…``
  when the LMS counts it late; a re-submission's file name gets ``-1``, ``-2``…); Moodle
  puts each learner's files in ``<Full Name>_<id>_assignsubmission_file_/`` (or prefixes the
  file name with it). A roster maps LMS identities to student ids; without one the
  Canvas login, or the Moodle name made into an id (``Ada Lovelace`` → ``ada_lovelace``),
  is the student id. Whatever cannot be matched is reported, never guessed.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .course import Course, api, course_config

MAX_BYTES = 50 * 2**20  # a notebook larger than this is not imported (reported)
CANVAS = re.compile(r"^(?P<login>[A-Za-z0-9.\-]+?)(?P<late>_LATE)?_(?P<uid>\d+)_(?P<sid>\d+)_(?P<file>.+)$")
MOODLE = re.compile(r"^(?P<name>[^/]+?)_(?P<pid>\d+)_assignsubmission_[a-z]+_/?(?P<file>.*)$")
RESUBMITTED = re.compile(r"-(\d+)$")  # Canvas: 01_layers-1.ipynb is the second upload


# ------------------------------------------------------------------------- the exchange
def publish(course: Course, out: Path, lessons: list[str]) -> list[str]:
    """``nbgrader release_assignment`` of each lesson from ``lessons/`` into the course exchange."""
    nbg = api(course_config(course, out, ExchangeReleaseAssignment={"force": True}))
    done = []
    for lesson in lessons:
        r = nbg.release_assignment(lesson)
        if not r["success"]:
            raise SystemExit(f"nbgrader could not release {lesson} to the exchange:\n{r.get('error') or r.get('log')}")
        done.append(lesson)
    return done


def collect(course: Course, out: Path, lessons: list[str]) -> Path:
    """``nbgrader collect`` (newest submission of each learner) into ``out/nbgrader/submitted``."""
    config = course_config(course, out)
    nbg = api(config)
    for lesson in lessons:
        r = nbg.collect(lesson, update=True)
        if not r["success"]:
            raise SystemExit(f"nbgrader could not collect {lesson}:\n{r.get('error') or r.get('log')}")
    return Path(config.CourseDirectory.submitted_directory)


# ------------------------------------------------------------------------- LMS downloads
@dataclass
class Roster:
    """Learners as the LMS knows them. ``rows``: dicts with ``student_id`` and any of ``name``,
    ``lms_id`` (Canvas's numeric ID), ``sis_user_id``, ``sis_login_id``, ``section``, ``email``."""

    rows: list[dict] = field(default_factory=list)

    ALIASES = {"Student": "name", "ID": "lms_id", "SIS User ID": "sis_user_id", "SIS Login ID": "sis_login_id",
               "Section": "section", "Email address": "email", "Full name": "name"}

    @classmethod
    def read(cls, path: Path | None, id_column: str | None = None) -> Roster:
        """A roster CSV with a ``student_id`` column, or an LMS gradebook export (Canvas's
        ``Student, ID, SIS User ID, SIS Login ID, Section``) whose ``id_column`` (default
        ``SIS Login ID``) is the student id."""
        if path is None:
            return cls()
        with Path(path).open(newline="", encoding="utf-8-sig") as fh:
            raw = list(csv.DictReader(fh))
        rows = []
        for r in raw:
            if "points possible" in (r.get("Student") or "").lower():
                continue  # Canvas's second row
            row = {cls.ALIASES.get(k, k): (v or "").strip() for k, v in r.items() if k}
            sid = row.get("student_id") or (r.get(id_column or "SIS Login ID") or "").strip()
            if not sid:
                raise SystemExit(f"{path}: a row has no student id (need a student_id column or --id-column): {r}")
            row["student_id"] = sid
            rows.append(row)
        return cls(rows)

    def by(self, key: str, value: str) -> dict | None:
        value = _norm_name(value) if key == "name" else value.strip()
        for r in self.rows:
            have = _norm_name(r.get(key, "")) if key == "name" else r.get(key, "")
            if have and have == value:
                return r
        return None


def _norm_name(name: str) -> str:
    """``Lovelace, Ada`` and ``ada  lovelace`` → ``ada lovelace``."""
    if "," in name:
        last, first = name.split(",", 1)
        name = f"{first} {last}"
    return " ".join(name.lower().split())


def slug(name: str) -> str:
    """A student id made from a name: ASCII letters and digits joined by ``_`` (may be empty)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "_".join(re.findall(r"[a-z0-9]+", ascii_name.lower()))[:64]


@dataclass
class Imported:
    source: str  # the file's name in the download
    student_id: str = ""
    name: str = ""  # the learner's name as the LMS gives it, if it does
    lesson: str = ""
    timestamp: str = ""  # UTC, nbgrader's format
    late: str = ""  # "LMS" (Canvas said so) and/or "after due date"
    problem: str = ""  # why it was not imported ("" when it was)


def _entries(source: Path):
    """``(relative name, read(), time)`` of every file in a zip or folder."""
    if source.is_file() and zipfile.is_zipfile(source):
        zf = zipfile.ZipFile(source)
        for info in zf.infolist():
            if not info.is_dir():
                yield info.filename, info.file_size, (lambda i=info: zf.read(i)), dt.datetime(*info.date_time)
    elif source.is_dir():
        for p in sorted(source.rglob("*")):
            if p.is_file():
                yield (p.relative_to(source).as_posix(), p.stat().st_size, p.read_bytes,
                       dt.datetime.fromtimestamp(p.stat().st_mtime))
    else:
        raise SystemExit(f"{source} is neither a zip file nor a folder of submissions")


def _lesson_of(filename: str, known: list[str], default: str | None) -> str | None:
    stem = RESUBMITTED.sub("", Path(filename).stem)
    named = [k for k in known if k in stem or stem == k.split("_", 1)[0]]
    if len(named) == 1:
        return named[0]
    return default if not named else None


def import_lms(course: Course, source: Path, dest: Path, lesson: str | None = None, roster: Roster | None = None,
               duedates: dict | None = None) -> list[Imported]:
    """Copy an LMS bulk download into ``dest/<student_id>/<lesson>/<lesson>.ipynb`` (+ ``timestamp.txt``).

    ``lesson``: the lesson of every notebook whose file name names none. ``duedates``:
    ``{lesson: datetime (UTC)}`` to mark late ones (``grade`` applies the penalty from the
    gradebook's own due date). Returns one ``Imported`` per file, problems included; a learner
    with several uploads of a lesson keeps the newest (Canvas's highest ``-N``, else the latest time).
    """
    from .grade import STUDENT_ID

    roster = roster or Roster()
    known = course.lessons()
    duedates = duedates or {}
    records, chosen = [], {}
    for name, size, load, when in _entries(source):
        rec = Imported(name)
        records.append(rec)
        base = name.rsplit("/", 1)[-1]
        if base.startswith(".") or "__MACOSX" in name:
            rec.problem = "hidden or system file"
            continue
        canvas, moodle = CANVAS.match(base), MOODLE.match(name)
        if moodle and moodle["file"]:
            who, filename = moodle["name"], moodle["file"].rsplit("/", 1)[-1]
            row = roster.by("name", who)
            rec.student_id = row["student_id"] if row else ("" if roster.rows else slug(who))
            rec.name = who
            if not rec.student_id:
                rec.problem = f"Moodle learner {who!r} is not in the roster" if roster.rows else \
                              f"cannot make a student id from the name {who!r}: give a roster"
        elif canvas:
            filename = canvas["file"]
            row = roster.by("lms_id", canvas["uid"])
            rec.student_id = row["student_id"] if row else ("" if roster.rows else canvas["login"])
            rec.name = row.get("name", "") if row else ""
            if canvas["late"]:
                rec.late = "LMS"
            if not rec.student_id:
                rec.problem = f"Canvas user {canvas['login']} (ID {canvas['uid']}) is not in the roster"
        else:
            rec.problem = "the file name names no learner (neither Canvas's nor Moodle's pattern)"
            continue
        if rec.problem:
            continue
        if not filename.endswith(".ipynb"):
            rec.problem = "not a notebook (.ipynb)"
            continue
        if not STUDENT_ID.match(rec.student_id):
            rec.problem = f"{rec.student_id!r} is not a valid student id (letters, digits, '_', '.', '-')"
            continue
        rec.lesson = _lesson_of(filename, known, lesson) or ""
        if not rec.lesson:
            rec.problem = f"{filename!r} names no lesson of the course (or several); use --lesson"
            continue
        if size > MAX_BYTES:
            rec.problem = f"larger than {MAX_BYTES // 2**20} MB"
            continue
        m = RESUBMITTED.search(Path(filename).stem)
        utc = when.astimezone(dt.UTC)
        rec.timestamp = utc.strftime("%Y-%m-%d %H:%M:%S.%f %Z")
        due = duedates.get(rec.lesson)
        if due is not None and utc.replace(tzinfo=None) > due:
            rec.late = "; ".join(x for x in (rec.late, "after due date") if x)
        rank = (int(m.group(1)) if m else 0, utc)
        key = (rec.student_id, rec.lesson)
        if key in chosen and chosen[key][0] >= rank:
            rec.problem = f"an older upload of {rec.lesson} by {rec.student_id}; the newest was imported"
            continue
        if key in chosen:
            chosen[key][1].problem = f"an older upload of {rec.lesson} by {rec.student_id}; the newest was imported"
        chosen[key] = (rank, rec, load)
    for (student, les), (_, rec, load) in chosen.items():
        folder = dest / student / les
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{les}.ipynb").write_bytes(load())
        (folder / "timestamp.txt").write_text(rec.timestamp)
    return records


def register_students(course: Course, out: Path, records: list[Imported], roster: Roster | None = None) -> int:
    """Put the imported learners, with their names and e-mail when known, in the gradebook of ``out``
    (formgrader lists them by name). Returns how many."""
    from nbgrader.api import Gradebook

    config = course_config(course, out)
    Path(out, "nbgrader").mkdir(parents=True, exist_ok=True)
    known = {r["student_id"]: r for r in (roster or Roster()).rows}
    people = {r.student_id: r.name for r in records if not r.problem}
    with Gradebook(config.CourseDirectory.db_url, config.CourseDirectory.course_id) as gb:
        for sid, name in people.items():
            name = known.get(sid, {}).get("name") or name
            if "," in name:  # Canvas: "Lovelace, Ada"
                last, first = name.split(",", 1)
            else:  # Moodle: "Ada Lovelace"
                first, _, last = name.rpartition(" ")
            info = {k: v.strip() for k, v in (("first_name", first), ("last_name", last),
                                              ("email", known.get(sid, {}).get("email", ""))) if v.strip()}
            gb.update_or_create_student(sid, **info)
    return len(people)


def duedates(course: Course, out: Path) -> dict:
    """``{lesson: due date (naive UTC)}`` from the gradebook of ``out`` (empty when there is none)."""
    from nbgrader.api import Gradebook

    db = Path(out) / "nbgrader" / "gradebook.db"
    if not db.exists():
        return {}
    with Gradebook(f"sqlite:///{db.resolve()}", course_config(course, out).CourseDirectory.course_id) as gb:
        return {a.name: a.duedate for a in gb.assignments if a.duedate is not None}


def write_report(records: list[Imported], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["source", "student_id", "lesson", "timestamp", "late", "imported", "problem"])
        for r in records:
            w.writerow([r.source, r.student_id, r.lesson, r.timestamp, r.late, "no" if r.problem else "yes",
                        r.problem])
