"""Bad input from an LMS or a learner gets a clear refusal, and nothing is lost or written elsewhere.

* every CSV the project writes keeps formulas out (``sanitize.csv_cell``), numbers stay numbers;
* ``import-lms`` refuses absolute paths, ``..``, symlinks (zip and folder) and zip bombs
  (counted while decompressing: the header lies), each with a line of ``import-report.csv``.
"""

from __future__ import annotations

import csv
import io
import stat
import struct
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import submissions as subs
from autograder.collect import Roster, import_lms, register_students, write_report
from autograder.course import COURSE_ID, Course
from autograder.sanitize import csv_cell, csv_writer

ROOT = Path(__file__).resolve().parent.parent
LESSON = "01_layers"
HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("c") / "course"
    root.mkdir()
    for name in ("solutions", "lessons", "pyproject.toml", "nbgrader_config.py"):
        (root / name).symlink_to(ROOT / name)
    return Course(root)


def _cells(path: Path) -> list[str]:
    with path.open(newline="") as fh:
        return [c for row in csv.reader(fh) for c in row]


def _formula(cell: str) -> bool:
    """What a spreadsheet would evaluate: starts with = + - @ tab CR and is not a plain number."""
    if not cell[:1] or cell[0] not in "=+-@\t\r":
        return False
    try:
        float(cell)
        return False
    except ValueError:
        return True


def test_csv_cell():
    assert [csv_cell(x) for x in HOSTILE] == ["'" + x for x in HOSTILE]
    assert [csv_cell(x) for x in ["-1.5", "+2", "1e-3", 3, -2.5, "ada", "", None]] == \
        ["-1.5", "+2", "1e-3", 3, -2.5, "ada", "", None]
    buf = io.StringIO()
    csv_writer(buf).writerows([HOSTILE, ["-0.5", 1.0]])
    rows = list(csv.reader(io.StringIO(buf.getvalue())))
    assert not any(_formula(c) for r in rows for c in r) and rows[1] == ["-0.5", "1.0"]
    assert any(_formula(c) for c in HOSTILE)  # the judge can fail


def test_exports_with_hostile_moodle_names(course, tmp_path):
    """Moodle learners named like formulas: nbgrader's export and the LMS CSVs keep them as text."""
    from nbgrader.api import Gradebook

    from autograder.collect import Imported
    from autograder.export import lms_csv, nbgrader_csv

    out = tmp_path / "out"
    recs = [Imported(f"x{i}", student_id=f"s{i}", name=f"{name} {name}") for i, name in enumerate(HOSTILE[:4])]
    register_students(course, out, recs)
    with Gradebook(f"sqlite:///{out / 'nbgrader' / 'gradebook.db'}", COURSE_ID) as gb:
        gb.add_assignment(LESSON)
    roster = Roster([{"student_id": f"s{i}", "name": n, "email": n, "section": n} for i, n in enumerate(HOSTILE)])
    files = [nbgrader_csv(course, out, out / "export" / "nbgrader.csv"),
             lms_csv(course, out, out / "export" / "canvas.csv", "canvas", roster),
             lms_csv(course, out, out / "export" / "generic.csv", "generic", roster)]
    for f in files:
        cells = _cells(f)
        assert not [c for c in cells if _formula(c)], f
        assert any(c.startswith("'=") for c in cells), f  # the name is there, as text
    generic = list(csv.DictReader((out / "export" / "generic.csv").open(newline="")))
    assert generic[0]["total"] == "0" and generic[0][LESSON] == "0"  # numbers stay numbers


def test_learner_names_reach_the_gradebook_as_text(course, tmp_path):
    """Formgrader writes a learner's name into its submission page as it is: no HTML in names."""
    from nbgrader.api import Gradebook

    from autograder.collect import Imported

    register_students(course, tmp_path, [Imported("x", student_id="m", name='<img src=x onerror="a()"> O\'Neil&co')])
    with Gradebook(f"sqlite:///{tmp_path / 'nbgrader' / 'gradebook.db'}", COURSE_ID) as gb:
        s = gb.find_student("m")
        assert (s.first_name, s.last_name) == ("img src=x onerror=a()", "O'Neilco")


def test_grades_items_and_report_csvs(tmp_path):
    from autograder.grade import GRADE_FIELDS, ITEM_FIELDS, _write_csv
    from autograder.report import report

    _write_csv(tmp_path / "grades.csv", GRADE_FIELDS, [["s0", LESSON, "-0", "3", "graded", HOSTILE[0], HOSTILE[1]]])
    _write_csv(tmp_path / "items.csv", ITEM_FIELDS,
               [["s0", LESSON, "test_x", "0", "1", "failed", HOSTILE[3], HOSTILE[2]]])
    report(tmp_path, quiet=True)
    for f in ("grades.csv", "items.csv", "report/lessons.csv", "report/items.csv"):
        cells = _cells(tmp_path / f)
        assert not [c for c in cells if _formula(c)], f
    assert "'@SUM(A1)" in _cells(tmp_path / "report" / "items.csv")


# ---------------------------------------------------------------- import-lms
def _nb(course) -> bytes:
    return nbformat.writes(subs.learner_notebook(course, LESSON, untouched=True)).encode()


def _zip(path: Path, entries: list[tuple]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, *mode in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 2, 3, 4, 5))
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode:
                info.external_attr = mode[0] << 16
            zf.writestr(info, data)
    return path


def _lie_about_size(path: Path, name: str, size: int) -> None:
    """Rewrite the uncompressed size of ``name`` in both zip headers (a bomb's trick)."""
    raw = bytearray(path.read_bytes())
    enc = name.encode()
    at = raw.find(b"PK\x03\x04")
    while at >= 0:
        if raw[at + 30:at + 30 + len(enc)] == enc:
            struct.pack_into("<I", raw, at + 22, size)
        at = raw.find(b"PK\x03\x04", at + 4)
    at = raw.find(b"PK\x01\x02")
    while at >= 0:
        if raw[at + 46:at + 46 + len(enc)] == enc:
            struct.pack_into("<I", raw, at + 24, size)
        at = raw.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(raw))


def test_zip_refuses_paths_symlinks_and_bombs(course, tmp_path, monkeypatch):
    import autograder.collect as collect

    monkeypatch.setattr(collect, "MAX_BYTES", 2**20)  # 1 MB, so the bomb stays small here
    good = _nb(course)
    bomb = b"{" + b" " * (3 * 2**20) + b"}"  # 3 MB of spaces: a few kB compressed
    z = _zip(tmp_path / "dl.zip", [
        (f"ada_1_11_{LESSON}.ipynb", good),
        (f"/abs/bob_2_12_{LESSON}.ipynb", good),
        (f"../../cy_3_13_{LESSON}.ipynb", good),
        (f"sub/../../dee_4_14_{LESSON}.ipynb", good),
        (f"eve_5_15_{LESSON}.ipynb", b"/etc/passwd", stat.S_IFLNK | 0o777),
        (f"fay_6_16_{LESSON}.ipynb", bomb),
        (f"gus_7_17_{LESSON}.ipynb", bomb),
    ])
    _lie_about_size(z, f"fay_6_16_{LESSON}.ipynb", 1000)
    assert zipfile.ZipFile(z).getinfo(f"fay_6_16_{LESSON}.ipynb").file_size == 1000  # the header lies
    dest = tmp_path / "course-subs" / "submitted"
    recs = import_lms(course, z, dest, lesson=LESSON)
    why = {r.source: r.problem for r in recs}
    assert why[f"ada_1_11_{LESSON}.ipynb"] == ""
    assert why[f"/abs/bob_2_12_{LESSON}.ipynb"] == "an absolute path in the download"
    assert why[f"../../cy_3_13_{LESSON}.ipynb"] == "a path with '..' in the download"
    assert why[f"sub/../../dee_4_14_{LESSON}.ipynb"] == "a path with '..' in the download"
    assert why[f"eve_5_15_{LESSON}.ipynb"] == "a symbolic link in the zip"
    assert why[f"fay_6_16_{LESSON}.ipynb"].startswith("damaged in the zip: Bad CRC-32")  # read past its header
    assert why[f"gus_7_17_{LESSON}.ipynb"] == "larger than 1 MB"  # an honest header: refused before reading
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["course-subs/submitted/ada/01_layers/01_layers.ipynb",
                       "course-subs/submitted/ada/01_layers/timestamp.txt", "dl.zip"]
    write_report(recs, dest / "import-report.csv")
    report = list(csv.DictReader((dest / "import-report.csv").open(newline="")))
    assert [r["imported"] for r in report] == ["yes"] + ["no"] * 6
    assert all(r["problem"] for r in report[1:])


def test_folder_refuses_symlinks(course, tmp_path):
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "instructor.ipynb").write_bytes(_nb(course))
    dl = tmp_path / "dl"
    dl.mkdir()
    (dl / f"ada_1_11_{LESSON}.ipynb").write_bytes(_nb(course))
    (dl / f"bob_2_12_{LESSON}.ipynb").symlink_to(outside / "instructor.ipynb")  # poses as a submission
    (dl / "Cy Young_3_assignsubmission_file_").symlink_to(outside, target_is_directory=True)
    (outside / f"{LESSON}.ipynb").write_bytes(_nb(course))
    dest = tmp_path / "subs"
    recs = import_lms(course, dl, dest, lesson=LESSON)
    why = {r.source: r.problem for r in recs}
    assert why == {f"ada_1_11_{LESSON}.ipynb": "", f"bob_2_12_{LESSON}.ipynb": "a symbolic link in the folder",
                   "Cy Young_3_assignsubmission_file_": "a symbolic link in the folder"}
    assert sorted(p.name for p in dest.iterdir()) == ["ada"]


def test_a_symlink_already_in_the_destination_is_not_written_through(course, tmp_path):
    dl = _zip(tmp_path / "dl.zip", [(f"ada_1_11_{LESSON}.ipynb", _nb(course))])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    dest = tmp_path / "subs"
    dest.mkdir()
    (dest / "ada").symlink_to(elsewhere, target_is_directory=True)
    recs = import_lms(course, dl, dest, lesson=LESSON)
    assert "symbolic link" in recs[0].problem and list(elsewhere.iterdir()) == []


def test_the_limit_is_counted_while_reading():
    from autograder.collect import Refused, _bounded

    assert _bounded(io.BytesIO(b"x" * 2**20), limit=2**20) == b"x" * 2**20
    with pytest.raises(Refused, match="larger than 1 MB once decompressed"):
        _bounded(io.BytesIO(b"x" * (2**20 + 1)), limit=2**20)

    class Endless(io.RawIOBase):  # a stream that never ends: stopped at the limit, not read to the end
        reads = 0

        def read(self, n=-1):
            Endless.reads += 1
            return b"y" * n

    with pytest.raises(Refused):
        _bounded(Endless(), limit=4 * 2**20)
    assert Endless.reads == 5
