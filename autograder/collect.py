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
  is the student id. Whatever cannot be matched is reported, never guessed. Nothing is
  followed or written outside: absolute paths, ``..``, symbolic links (in a zip or the folder)
  and files over ``MAX_BYTES`` (counted while decompressing) are refused, each with its reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import stat
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from .course import Course, api, course_config
from .sanitize import csv_writer

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


class Refused(Exception):
    """A file of a download that is not imported, and why (a line of ``import-report.csv``)."""


def _bounded(stream, limit: int = MAX_BYTES) -> bytes:
    """All of ``stream``, refused as soon as more than ``limit`` bytes come out (whatever a header says)."""
    chunks, total = [], 0
    while chunk := stream.read(2**20):
        total += len(chunk)
        if total > limit:
            raise Refused(f"larger than {limit // 2**20} MB once decompressed")
        chunks.append(chunk)
    return b"".join(chunks)


def _unsafe_name(name: str) -> str:
    """Why a name in a download may not be used as a path ("" when it may)."""
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "an absolute path in the download"
    if ".." in parts:
        return "a path with '..' in the download"
    if "\0" in name:
        return "a NUL character in the file name"
    return ""


def _entries(source: Path):
    """``(relative name, size, read(), time, refusal)`` of every file in a zip or folder.

    ``refusal`` is why the entry is not imported (absolute path, ``..``, a symlink), else "".
    ``read()`` returns the bytes, or raises ``Refused`` past ``MAX_BYTES``: counted while
    decompressing or reading, never taken from the zip's header. Nothing is followed out of
    ``source``: a symlink, in the zip or in the folder (file or directory), is refused.
    """
    if source.is_file() and zipfile.is_zipfile(source):
        zf = zipfile.ZipFile(source)
        for info in zf.infolist():
            if info.is_dir():
                continue
            mode = info.external_attr >> 16
            why = _unsafe_name(info.filename) or ("a symbolic link in the zip" if stat.S_ISLNK(mode) else "")
            yield (info.filename, info.file_size, (lambda i=info: _bounded(zf.open(i))), dt.datetime(*info.date_time),
                   why)
    elif source.is_dir() and not source.is_symlink():
        for top, dirs, files in os.walk(source):  # never into a symlinked directory
            for d in sorted(dirs):
                p = Path(top, d)
                if p.is_symlink():
                    yield p.relative_to(source).as_posix(), 0, bytes, dt.datetime.now(), "a symbolic link in the folder"
            dirs[:] = sorted(d for d in dirs if not Path(top, d).is_symlink())
            for f in sorted(files):
                p = Path(top, f)
                rel = p.relative_to(source).as_posix()
                st = p.lstat()
                if stat.S_ISLNK(st.st_mode):
                    yield rel, 0, bytes, dt.datetime.now(), "a symbolic link in the folder"
                elif not stat.S_ISREG(st.st_mode):
                    yield rel, 0, bytes, dt.datetime.now(), "not a regular file"
                else:
                    yield rel, st.st_size, (lambda p=p: _read_regular(p)), dt.datetime.fromtimestamp(st.st_mtime), ""
    else:
        raise SystemExit(f"{source} is neither a zip file nor a folder of submissions")


def _read_regular(path: Path) -> bytes:
    """A file's bytes, not following a symlink put there since it was listed, at most ``MAX_BYTES``."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as fh:
        return _bounded(fh)


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
    for name, size, load, when, refusal in _entries(source):
        rec = Imported(name)
        records.append(rec)
        if refusal:
            rec.problem = refusal
            continue
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
            rec.problem = f"larger than {MAX_BYTES // 2**20} MB"  # as the header says; read() checks again
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
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    inside = dest.resolve()
    for (student, les), (_, rec, load) in chosen.items():
        try:
            data = load()
        except Refused as exc:
            rec.problem = str(exc)
            continue
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a header that lies about the size, say
            rec.problem = f"damaged in the zip: {exc}"
            continue
        except OSError as exc:  # e.g. a symlink put in place of the file since it was listed
            rec.problem = f"cannot be read: {exc.strerror or exc}"
            continue
        folder = dest / student / les
        if any(p.is_symlink() for p in (dest / student, folder)):
            rec.problem = f"{folder} is a symbolic link: not written through"
            continue
        folder.mkdir(parents=True, exist_ok=True)
        if not folder.resolve().is_relative_to(inside):
            rec.problem = f"{folder} is outside {dest}: not written"
            continue
        for name, content in ((f"{les}.ipynb", data), ("timestamp.txt", rec.timestamp.encode())):
            target = folder / name
            if target.is_symlink():
                target.unlink()  # replaced, never written through
            target.write_bytes(content)
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
            first, last = _plain(first), _plain(last)  # formgrader writes names into its pages as they are
            info = {k: v.strip() for k, v in (("first_name", first), ("last_name", last),
                                              ("email", known.get(sid, {}).get("email", ""))) if v.strip()}
            gb.update_or_create_student(sid, **info)
    return len(people)


def _plain(name: str) -> str:
    """A name as text only: without the characters that make HTML (``<``, ``>``, ``&``, quotes, backticks)."""
    return re.sub(r"[<>&\"`]", "", name)


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
        w = csv_writer(fh)
        w.writerow(["source", "student_id", "lesson", "timestamp", "late", "imported", "problem"])
        for r in records:
            w.writerow([r.source, r.student_id, r.lesson, r.timestamp, r.late, "no" if r.problem else "yes",
                        r.problem])
