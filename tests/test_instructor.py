"""The instructor's nbgrader, end to end: one course seen by nbgrader's CLI and by `grade`,
the exchange round trip, an LMS download, manual adjustments that survive `grade --force`,
a late penalty, and exports that agree with grades.csv.

The class (lesson 01_layers; its points are read from the released notebook):
* ``ada``: exchange, every answer right → all points; later +0.5 extra credit on ``test_neuron``;
* ``cy``:  exchange, ``dense_forward`` wrong → all points but ``test_dense_forward``; later the
  instructor gives 1 point on it by hand, with a comment;
* ``ben``: Canvas zip, on time, untouched lesson → 0;
* ``dee``: Canvas zip, late (after the due date; nbgrader's ``zero`` penalty configured) → 0;
* ``eve``: nothing handed in → 0; later 2 points set by hand on ``test_column_forward``.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import submissions as subs
from autograder.collect import Roster, collect, import_lms, publish, slug
from autograder.course import COURSE_ID, Course, course_config
from autograder.grade import grade

ROOT = Path(__file__).resolve().parent.parent
LESSON = "01_layers"
WRONG_DENSE = "def dense_forward(X, W, b):\n    return np.asarray(X) @ np.asarray(W)  # forgot b\n"


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _points(course):
    """grade_id → points, from the released lesson's metadata (independent of the grader)."""
    nb = nbformat.read(str(course.lesson(LESSON)), as_version=4)
    return {c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader["points"]) for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")}


def _course_copy(tmp: Path) -> Course:
    """The course with its own nbgrader_config.py, which adds nbgrader's zero late penalty."""
    root = tmp / "course"
    root.mkdir()
    for name in ("solutions", "lessons", "pyproject.toml"):
        (root / name).symlink_to(ROOT / name)
    (root / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text()
                                             + '\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    return Course(root)


def _learner_exchange(course, exchange: Path, home: Path, student: str, answers: dict):
    """A learner on this machine: nbgrader fetch_assignment, edit, nbgrader submit (nbgrader's own classes)."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeFetchAssignment, ExchangeSubmit
    from traitlets.config import Config

    c = Config()
    c.Exchange.root, c.Exchange.assignment_dir, c.Exchange.cache = str(exchange), str(home), str(home / ".cache")
    c.CourseDirectory.course_id, c.CourseDirectory.student_id = COURSE_ID, student
    cd = CourseDirectory(config=c)
    cd.assignment_id = LESSON
    auth = Authenticator(config=c)
    home.mkdir(parents=True)
    ExchangeFetchAssignment(coursedir=cd, authenticator=auth, config=c).start()
    fetched = home / LESSON / f"{LESSON}.ipynb"
    assert fetched.read_text() == course.lesson(LESSON).read_text()  # what release put in the exchange
    nbformat.write(subs.learner_notebook(course, LESSON, answers), str(fetched))
    ExchangeSubmit(coursedir=cd, authenticator=auth, config=c).start()


def _canvas_zip(course, path: Path, due: dt.datetime):
    def local(t):  # zip entries hold local wall time
        return t.replace(tzinfo=dt.UTC).astimezone().timetuple()[:6]

    right = nbformat.writes(subs.learner_notebook(course, LESSON))
    untouched = nbformat.writes(subs.learner_notebook(course, LESSON, untouched=True))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo(f"ben_1002_5002_{LESSON}.ipynb", local(due - dt.timedelta(days=3))), right)
        # ben's newer upload (Canvas adds -1) replaces the first
        z.writestr(zipfile.ZipInfo(f"ben_1002_5003_{LESSON}-1.ipynb", local(due - dt.timedelta(days=1))), untouched)
        z.writestr(zipfile.ZipInfo(f"dee_LATE_1004_5004_{LESSON}.ipynb", local(due + dt.timedelta(days=2))), right)
        z.writestr(zipfile.ZipInfo("ben_1002_5005_notes.txt", local(due)), "my notes")
        z.writestr(zipfile.ZipInfo("readme.ipynb", local(due)), right)
        z.writestr(zipfile.ZipInfo("zed_1009_5009_homework.ipynb", local(due)), right)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from nbgrader.api import Gradebook

    tmp = tmp_path_factory.mktemp("instructor")
    course = _course_copy(tmp)
    out = tmp / "grading"
    config = course_config(course, out)
    due = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(tzinfo=None, microsecond=0)
    (out / "nbgrader").mkdir(parents=True)
    with Gradebook(config.CourseDirectory.db_url, COURSE_ID) as gb:  # as formgrader's "edit due date" does
        gb.update_or_create_assignment(LESSON, duedate=due)

    publish(course, out, [LESSON])
    exchange = Path(config.Exchange.root)
    _learner_exchange(course, exchange, tmp / "home" / "ada", "ada", {})
    _learner_exchange(course, exchange, tmp / "home" / "cy", "cy", {"dense_forward": WRONG_DENSE})
    submitted = collect(course, out, [LESSON])
    assert submitted == out / "nbgrader" / "submitted"

    _canvas_zip(course, tmp / "canvas.zip", due)
    imported = import_lms(course, tmp / "canvas.zip", submitted, None, None, {LESSON: due})
    (submitted / "eve").mkdir()

    first = {r.student_id: r for r in grade(course, submitted, out, [LESSON], workers=2, progress=False)}
    first_csv = {r["student_id"]: r for r in _rows(out / "grades.csv")}

    with Gradebook(config.CourseDirectory.db_url, COURSE_ID) as gb:  # what formgrader writes
        gb.find_grade("test_dense_forward", LESSON, LESSON, "cy").manual_score = 1.0
        gb.find_comment("dense_forward", LESSON, LESSON, "cy").manual_comment = "Add the bias b; 1 point for the shape."
        gb.find_grade("test_neuron", LESSON, LESSON, "ada").extra_credit = 0.5
        gb.find_grade("test_column_forward", LESSON, LESSON, "eve").manual_score = 2.0
        gb.db.commit()

    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    again = subprocess.run([sys.executable, "-m", "autograder", "grade", str(submitted), "--out", str(out),
                            "--lesson", LESSON, "--force", "--quiet", "--workers", "2"], cwd=course.root, env=env,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    return dict(course=course, out=out, tmp=tmp, due=due, imported=imported, first=first, first_csv=first_csv,
                submitted=submitted, env=env, config=config)


def test_exchange_and_zip_land_in_grades_layout(run):
    sub = run["submitted"]
    got = sorted(p.relative_to(sub).as_posix() for p in sub.glob("*/*/*.ipynb"))
    assert got == [f"{s}/{LESSON}/{LESSON}.ipynb" for s in ("ada", "ben", "cy", "dee")]
    assert all((sub / s / LESSON / "timestamp.txt").is_file() for s in ("ada", "ben", "cy", "dee"))
    problems = {r.source: r.problem for r in run["imported"] if r.problem}
    assert set(problems) == {f"ben_1002_5002_{LESSON}.ipynb", "ben_1002_5005_notes.txt", "readme.ipynb",
                             "zed_1009_5009_homework.ipynb"}
    assert "older upload" in problems[f"ben_1002_5002_{LESSON}.ipynb"]
    assert "not a notebook" in problems["ben_1002_5005_notes.txt"]
    assert "names no learner" in problems["readme.ipynb"]
    assert "names no lesson" in problems["zed_1009_5009_homework.ipynb"]
    late = {r.student_id: r.late for r in run["imported"] if not r.problem}
    assert late == {"ben": "", "dee": "LMS; after due date"}


def test_first_grades_match_expected_totals(run):
    pts = _points(run["course"])
    full = sum(pts.values())
    expected = {"ada": full, "cy": full - pts["test_dense_forward"], "ben": 0.0, "dee": 0.0, "eve": 0.0}
    assert {s: r.score for s, r in run["first"].items()} == expected
    assert {s: float(r["score"]) for s, r in run["first_csv"].items()} == expected
    assert run["first"]["eve"].status == "missing"
    assert f"late penalty -{full:g}" in run["first"]["dee"].adjustment  # nbgrader's zero penalty
    assert run["first"]["ben"].adjustment == ""  # on time


def test_manual_adjustments_survive_force_and_reach_every_output(run):
    pts, out = _points(run["course"]), run["out"]
    full = sum(pts.values())
    expected = {"ada": full + 0.5, "cy": full - pts["test_dense_forward"] + 1.0, "ben": 0.0, "dee": 0.0,
                "eve": 2.0}
    grades = {r["student_id"]: r for r in _rows(out / "grades.csv")}
    assert {s: float(r["score"]) for s, r in grades.items()} == expected
    assert "test_dense_forward 0 → 1" in grades["cy"]["adjustment"]
    assert "test_neuron 1 → 1.5" in grades["ada"]["adjustment"]
    assert "late penalty" in grades["dee"]["adjustment"]
    items = {(r["student_id"], r["grade_id"]): r for r in _rows(out / "items.csv")}
    cy = items[("cy", "test_dense_forward")]
    assert (float(cy["score"]), cy["status"]) == (1.0, "failed")  # the automatic result stays visible
    assert "set by the instructor to 1 of 2" in cy["adjustment"] and "Add the bias b" in cy["adjustment"]
    assert items[("ada", "test_neuron")]["adjustment"] == "extra credit +0.5"
    assert float(items[("eve", "test_column_forward")]["score"]) == 2.0
    page = (out / "feedback" / "cy" / LESSON / f"{LESSON}.html").read_text()
    assert "Add the bias b; 1 point for the shape." in page and "1 / 2" in page
    from nbgrader.api import Gradebook

    with Gradebook(run["config"].CourseDirectory.db_url, COURSE_ID) as gb:  # grade did not reset them
        assert gb.find_grade("test_dense_forward", LESSON, LESSON, "cy").manual_score == 1.0
        assert gb.find_grade("test_neuron", LESSON, LESSON, "ada").extra_credit == 0.5
        assert gb.find_assignment(LESSON).duedate == run["due"]

    from autograder.report import report

    report(out, quiet=True)
    lessons = _rows(out / "report" / "lessons.csv")
    assert lessons[0]["n_adjusted"] == "4"  # ada, cy, eve by hand; dee's late penalty


def test_nbgrader_export_from_the_course_root_equals_grades_csv(run):
    """nbgrader's own CLI, started in the course root, reads nbgrader_config.py and the very gradebook."""
    dest = run["tmp"] / "nbgrader-export.csv"
    env = dict(run["env"], AUTOGRADER_OUT=str(run["out"]))
    p = subprocess.run(["nbgrader", "export", "--to", str(dest)], cwd=run["course"].root, env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    exported = {r["student_id"]: float(r["score"]) for r in _rows(dest)}
    grades = {r["student_id"]: float(r["score"]) for r in _rows(run["out"] / "grades.csv")}
    assert exported == grades and len(grades) == 5
    late = next(r for r in _rows(dest) if r["student_id"] == "dee")
    assert float(late["raw_score"]) == sum(_points(run["course"]).values()) == float(late["late_submission_penalty"])


def test_lms_export(run, tmp_path):
    roster = tmp_path / "canvas-export.csv"
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section\n"
                      "    Points Possible,,,,\n"
                      '"Byron, Ada",1001,S1,ada,A\n"Chen, Cy",1003,S3,cy,A\n"Zed, Zoe",1009,S9,zoe,B\n')
    p = subprocess.run([sys.executable, "-m", "autograder", "export", "--out", str(run["out"]), "--roster",
                        str(roster)], cwd=run["course"].root, env=run["env"], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    with open(run["out"] / "export" / "lms-canvas.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", LESSON]
    released = nbformat.read(str(run["course"].lesson(LESSON)), as_version=4)
    possible = sum(float(c.metadata.nbgrader["points"]) for c in released.cells  # written questions included
                   if c.metadata.get("nbgrader", {}).get("grade"))
    assert rows[1][0] == "Points Possible" and float(rows[1][5]) == possible > sum(_points(run["course"]).values())
    body = {r[3]: r for r in rows[2:]}
    grades = {r["student_id"]: float(r["score"]) for r in _rows(run["out"] / "grades.csv")}
    assert set(body) == set(grades) | {"zoe"}
    assert body["ada"][:5] == ["Byron, Ada", "1001", "S1", "ada", "A"]
    assert all(float(body[s][5]) == grades[s] for s in grades)
    assert body["zoe"][5] == ""  # on the roster, never graded: left blank, not 0
    nb = {r["student_id"]: float(r["score"]) for r in _rows(run["out"] / "export" / "nbgrader.csv")}
    assert nb == grades


def test_zz_moved_due_date_applies_on_a_plain_grade(run):
    """Runs last on the class (it changes the gradebook): the due date moves past dee's upload; `grade`
    without --force (nothing executed again) recomputes nbgrader's late penalty; the adjustments stay."""
    from nbgrader.api import Gradebook

    with Gradebook(run["config"].CourseDirectory.db_url, COURSE_ID) as gb:
        gb.update_or_create_assignment(LESSON, duedate=run["due"] + dt.timedelta(days=10))
    results = {r.student_id: r for r in grade(run["course"], run["submitted"], run["out"], [LESSON], workers=1,
                                              progress=False)}
    assert all(r.seconds == 0 for r in results.values())  # resumed, not re-executed
    full = sum(_points(run["course"]).values())
    assert results["dee"].score == full and "late" not in results["dee"].adjustment
    assert results["ada"].score == full + 0.5 and results["eve"].score == 2.0


def test_moodle_folder_import_with_and_without_roster(course, tmp_path):
    dl = tmp_path / "moodle"
    nb = nbformat.writes(subs.learner_notebook(course, LESSON, untouched=True))
    for folder, name in [("Ada Lovelace_811_assignsubmission_file_", f"{LESSON}.ipynb"),
                         ("Chén Yù_812_assignsubmission_file_", "layers.ipynb"),
                         ("Anonymous Person_813_assignsubmission_file_", f"{LESSON}.ipynb"),
                         ("王小明_814_assignsubmission_file_", f"{LESSON}.ipynb")]:
        (dl / folder).mkdir(parents=True)
        (dl / folder / name).write_text(nb)
    (dl / "Ada Lovelace_811_assignsubmission_onlinetext_").mkdir()
    (dl / "Ada Lovelace_811_assignsubmission_onlinetext_" / "onlinetext.html").write_text("<p>hi</p>")
    # without a roster: ids from names; a name with no ASCII letters cannot make one
    recs = import_lms(course, dl, tmp_path / "a", lesson=LESSON)
    ok = {r.student_id for r in recs if not r.problem}
    assert ok == {"ada_lovelace", "chen_yu", "anonymous_person"}
    assert any("cannot make a student id" in r.problem for r in recs if r.source.startswith("王"))
    assert any("not a notebook" in r.problem for r in recs if "onlinetext" in r.source)
    assert (tmp_path / "a" / "chen_yu" / LESSON / f"{LESSON}.ipynb").read_text() == nb
    # with a roster: names map to ids; who is not on it is reported
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name\nal01,\"Lovelace, Ada\"\ncy02,Chén Yù\nwx03,王小明\n")
    recs = import_lms(course, dl, tmp_path / "b", lesson=LESSON, roster=Roster.read(roster))
    ok = {r.student_id for r in recs if not r.problem}
    assert ok == {"al01", "cy02", "wx03"}
    assert any("not in the roster" in r.problem for r in recs if r.source.startswith("Anonymous"))
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["al01", "cy02", "wx03"]
    # formgrader lists them by name: the names go to the gradebook
    from nbgrader.api import Gradebook

    from autograder.collect import register_students

    assert register_students(course, tmp_path / "g", recs, Roster.read(roster)) == 3
    with Gradebook(f"sqlite:///{tmp_path / 'g' / 'nbgrader' / 'gradebook.db'}", COURSE_ID) as gb:
        names = {s.id: (s.first_name, s.last_name) for s in gb.students}
    assert names == {"al01": ("Ada", "Lovelace"), "cy02": ("Chén", "Yù"), "wx03": (None, "王小明")}
    # without --lesson, a file name that names no lesson is reported, not guessed
    recs = import_lms(course, dl, tmp_path / "c")
    assert any("names no lesson" in r.problem for r in recs if r.source.startswith("Chén"))


def test_slug():
    assert slug("Ada  Lovelace") == "ada_lovelace"
    assert slug("Zoë O'Neil-Smith") == "zoe_o_neil_smith"
    assert slug("王小明") == ""


def test_root_config_is_the_course_layout(course, tmp_path):
    """nbgrader reads nbgrader_config.py: source solutions/, release lessons/, the gradebook of AUTOGRADER_OUT."""
    code = ("from nbgrader.apps import NbGrader\nfrom nbgrader.coursedir import CourseDirectory\n"
            "a = NbGrader(); a.load_config_file(); d = CourseDirectory(config=a.config)\n"
            "print(d.source_directory, d.release_directory, d.db_url, d.course_id, sep='\\n')")
    env = dict(os.environ, AUTOGRADER_OUT=str(tmp_path / "g"))
    p = subprocess.run([sys.executable, "-c", code], cwd=course.root, env=env, capture_output=True, text=True)
    assert p.stdout.split("\n")[:4] == [str(course.solutions), str(course.lessons_dir),
                                        f"sqlite:///{tmp_path / 'g' / 'nbgrader' / 'gradebook.db'}", COURSE_ID]
