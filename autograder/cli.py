"""``python -m autograder``: release, grade, check, report, and a demo of all four."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from .course import Course, find_root


def _course() -> Course:
    return Course(find_root())


def cmd_release(args) -> int:
    from .release import ReleaseError, release

    course = _course()
    try:
        release(course, course.resolve(args.lessons))
    except ReleaseError as exc:
        print(f"release failed: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_refresh(args) -> int:
    """Re-execute solutions/ in place (outputs kept for nbval), then release them."""
    import time

    from .execute import refresh_solution

    course = _course()
    lessons = course.resolve(args.lessons)
    for lesson in lessons:
        t0 = time.perf_counter()
        refresh_solution(course.solution(lesson))
        print(f"executed solutions/{lesson} in {time.perf_counter() - t0:.1f} s")
    return cmd_release(argparse.Namespace(lessons=lessons))


def cmd_grade(args) -> int:
    from .grade import grade

    t0 = time.perf_counter()
    results = grade(_course(), Path(args.submissions), Path(args.out), args.lesson, timeout=args.timeout,
                    workers=args.workers, memory_mb=args.memory, progress=not args.quiet, force=args.force,
                    unsafe_no_sandbox=args.unsafe_no_sandbox)
    seconds = time.perf_counter() - t0
    n_items = sum(len(r.items) for r in results)
    print(f"graded {len(results)} notebooks ({n_items} items) in {seconds:.1f} s → {Path(args.out) / 'grades.csv'}, "
          f"{Path(args.out) / 'items.csv'}, feedback in {Path(args.out) / 'feedback'}")
    for r in results:
        print(f"  {r.student_id:<16}{r.assignment:<27}{r.score:>5g}/{r.max_score:<5g}{r.status:<9}{r.message[:70]}")
    return 0


def cmd_check(args) -> int:
    from .check import check, course_status

    if args.notebook:
        return check(Path(args.notebook), timeout=args.timeout)
    course = _course()
    lessons_dir = Path(args.lessons) if args.lessons else course.lessons_dir
    course_status(lessons_dir, course.lessons(), timeout=args.timeout)
    return 0


def cmd_lab(args) -> int:
    from .lab import main as lab_main

    return lab_main(args)


def cmd_report(args) -> int:
    from .report import report

    report(Path(args.out))
    return 0


def cmd_selftest(args) -> int:
    from .selftest import selftest

    outcomes = selftest(_course(), args.lessons, workers=args.workers)
    return 0 if all(o.ok for o in outcomes) else 1


def cmd_feedback(args) -> int:
    """nbgrader's full-notebook feedback for every graded submission (hidden tests removed)."""
    from .course import api, nbgrader_config

    course, out = _course(), Path(args.out).resolve()
    dest = out / "feedback-notebooks"  # beside grade's pages in feedback/, not over them
    nbg = api(nbgrader_config(course, out / "nbgrader", out / "nbgrader" / "release", feedback=dest))
    n = 0
    for nb in sorted((out / "nbgrader" / "autograded").glob("*/*/*.ipynb")):
        student, lesson = nb.parent.parent.name, nb.parent.name
        r = nbg.generate_feedback(lesson, student, force=True)
        n += bool(r["success"])
    print(f"wrote nbgrader's notebook feedback for {n} submissions under {dest}")
    return 0


def cmd_publish(args) -> int:
    """nbgrader release_assignment: lessons/ into the course exchange, for nbgrader fetch_assignment."""
    from .collect import publish

    course = _course()
    done = publish(course, Path(args.out), course.resolve(args.lessons))
    print(f"released to the exchange {Path(args.out) / 'nbgrader' / 'exchange'}: {', '.join(done)}")
    return 0


def cmd_collect(args) -> int:
    """nbgrader collect from the course exchange into DIR/nbgrader/submitted (grade's layout)."""
    from .collect import collect

    course = _course()
    dest = collect(course, Path(args.out), course.resolve(args.lessons))
    n = len(list(dest.glob("*/*/*.ipynb"))) if dest.is_dir() else 0
    print(f"{n} collected notebooks in {dest}; grade them with:\n"
          f"  python -m autograder grade {dest} --out {args.out}")
    return 0


def cmd_import_lms(args) -> int:
    """An LMS bulk download (Canvas or Moodle, zip or folder) → SUBMISSIONS/<student>/<lesson>/."""
    from .collect import Roster, duedates, import_lms, register_students, write_report

    course = _course()
    lesson = course.resolve([args.lesson])[0] if args.lesson else None
    dest = Path(args.submissions)
    roster = Roster.read(args.roster, args.id_column)
    records = import_lms(course, Path(args.download), dest, lesson, roster, duedates(course, Path(args.out)))
    register_students(course, Path(args.out), records, roster)
    report = dest / "import-report.csv"
    write_report(records, report)
    ok = [r for r in records if not r.problem]
    late = [r for r in ok if r.late]
    print(f"imported {len(ok)} notebooks into {dest} ({len(late)} late); report: {report}")
    for r in late:
        print(f"  late     {r.student_id:<16}{r.lesson:<27}{r.timestamp} ({r.late})")
    for r in records:
        if r.problem:
            print(f"  skipped  {r.source}: {r.problem}")
    return 0


def cmd_export(args) -> int:
    """nbgrader's CSV export and a gradebook CSV for the LMS, from the gradebook of a grade run."""
    from .collect import Roster
    from .export import lms_csv, nbgrader_csv

    course, out = _course(), Path(args.out)
    a = nbgrader_csv(course, out, out / "export" / "nbgrader.csv")
    b = lms_csv(course, out, Path(args.to or out / "export" / f"lms-{args.format}.csv"), args.format,
                Roster.read(args.roster, args.id_column))
    print(f"wrote {a} (nbgrader export) and {b} (for the LMS, {args.format} format)")
    return 0


def cmd_formgrader(args) -> int:
    """JupyterLab for the instructor at formgrader, on the gradebook of DIR (nbgrader_config.py)."""
    from .course import OUT_ENV, course_config
    from .lab import INSTRUCTOR, with_config_dir

    course, out = _course(), Path(args.out).resolve()
    if not out.is_relative_to(course.root.resolve()):
        print(f"formgrader needs the grading workspace inside the course directory {course.root} "
              f"(nbgrader's rule: the course must be under the server's root); {out} is not", file=sys.stderr)
        return 2
    config = course_config(course, out)
    if not Path(config.CourseDirectory.db_url.removeprefix("sqlite:///")).exists():
        print(f"note: no gradebook in {out} yet (run `grade` first); formgrader will show an empty class",
              file=sys.stderr)
    Path(config.Exchange.root).mkdir(parents=True, exist_ok=True)
    jupyter = Path(sys.executable).with_name("jupyter")
    cmd = [str(jupyter) if jupyter.exists() else "jupyter", "lab", f"--ServerApp.root_dir={course.root}",
           "--ServerApp.default_url=/formgrader", f"--port={args.port}"]
    if args.no_browser:
        cmd.append("--no-browser")
    cmd += [a for a in args.jupyter_args if a != "--"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    env = with_config_dir(dict(os.environ, **{OUT_ENV: str(out)}), INSTRUCTOR)  # autograder.instructor
    print(f"formgrader on {out / 'nbgrader' / 'gradebook.db'}: " + " ".join(cmd), file=sys.stderr)
    os.chdir(course.root)  # nbgrader and formgrader read nbgrader_config.py from the working directory
    os.execvpe(cmd[0], cmd, env)


def cmd_demo(args) -> int:
    """Release every lesson, grade a three-learner class, and report."""
    from .release import release
    from .report import report
    from .submissions import demo_class

    course = _course()
    lessons = course.resolve(args.lessons)
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    release(course, lessons)
    lessons = [lesson for lesson in lessons if course.graded(lesson)]  # the start page has nothing to grade
    who = demo_class(course, lessons, out / "submissions")
    print("\nclass: " + "; ".join(f"{k}: {v}" for k, v in who.items()))
    cmd_grade(argparse.Namespace(submissions=out / "submissions", out=out, lesson=lessons, timeout=args.timeout,
                                 workers=os.cpu_count() or 1, memory=4096, force=True, quiet=False,
                                 # our own synthetic class: where no sandbox can be made, grade it
                                 # anyway (grade probes and says so); real submissions never are
                                 unsafe_no_sandbox=True))
    print()
    report(out)
    print(f"\nreview it in nbgrader's formgrader: python -m autograder formgrader --out {out}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("release", help="regenerate lessons/ from solutions/ through nbgrader")
    r.add_argument("lessons", nargs="*", help="lesson ids (default: all), e.g. 01_layers or 01")
    r.set_defaults(func=cmd_release)

    x = sub.add_parser("refresh", help="re-execute solutions/ in place, then release them")
    x.add_argument("lessons", nargs="*", help="lesson ids (default: all)")
    x.set_defaults(func=cmd_refresh)

    g = sub.add_parser("grade", help="autograde SUBMISSIONS/<student_id>/<lesson>/<lesson>.ipynb")
    g.add_argument("submissions")
    g.add_argument("--lesson", action="append", help="grade only this lesson (repeatable; default all)")
    g.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="notebooks executed in parallel (default: the number of CPU cores)")
    g.add_argument("--timeout", type=int, default=30, help="seconds per cell (default 30)")
    g.add_argument("--memory", type=int, default=4096, help="memory limit per notebook in MB (default 4096)")
    g.add_argument("--force", action="store_true", help="re-run submissions graded before and unchanged")
    g.add_argument("--out", default="grading", help="output directory (default grading/)")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="where no sandbox can be made, run learner code with resource limits only "
                        "(UNSAFE: only for submissions you trust; every result says so)")
    g.set_defaults(func=cmd_grade)

    c = sub.add_parser("check", help="run a notebook and explain each graded item; without one, every "
                                     "lesson's status (done, N of M passing, not started)")
    c.add_argument("notebook", nargs="?")
    c.add_argument("--lessons", help="where the learner's notebooks are (default: lessons/)")
    c.add_argument("--timeout", type=int, default=60, help="seconds per cell (default 60)")
    c.set_defaults(func=cmd_check)

    lb = sub.add_parser("lab", help="JupyterLab on the lessons in learner mode (--instructor: every nbgrader tool); "
                        "other options go to jupyter lab")
    lb.add_argument("dir", nargs="?", help="directory to open (default lessons/, or the course root with --instructor)")
    lb.add_argument("--instructor", action="store_true", help="course root, with Formgrader and Create Assignment")
    lb.add_argument("--port", type=int, help="port (default: JupyterLab's, 8888 or the next free one)")
    lb.add_argument("--ip", help="address to listen on (default: JupyterLab's, localhost)")
    lb.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    lb.set_defaults(func=cmd_lab)

    st = sub.add_parser("selftest", help="grade solutions, untouched lessons and known mistakes; mutation score")
    st.add_argument("lessons", nargs="*", help="lesson ids (default: all)")
    st.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    st.set_defaults(func=cmd_selftest)

    fb = sub.add_parser("feedback", help="add nbgrader's full-notebook feedback HTML to a grade run")
    fb.add_argument("--out", default="grading", help="the grade run's output directory")
    fb.set_defaults(func=cmd_feedback)

    rp = sub.add_parser("report", help="class summary from a grade run")
    rp.add_argument("--out", default="grading", help="the grade run's output directory")
    rp.set_defaults(func=cmd_report)

    pb = sub.add_parser("publish", help="nbgrader release_assignment: lessons/ into the course's exchange")
    pb.add_argument("lessons", nargs="*", help="lesson ids (default: all)")
    pb.add_argument("--out", default="grading", help="the grading workspace (its exchange: DIR/nbgrader/exchange)")
    pb.set_defaults(func=cmd_publish)

    co = sub.add_parser("collect", help="nbgrader collect from the exchange into DIR/nbgrader/submitted")
    co.add_argument("lessons", nargs="*", help="lesson ids (default: all)")
    co.add_argument("--out", default="grading", help="the grading workspace (default grading/)")
    co.set_defaults(func=cmd_collect)

    im = sub.add_parser("import-lms", help="a Canvas or Moodle bulk download (zip or folder) → SUBMISSIONS/")
    im.add_argument("download", help="the LMS's zip file or its unpacked folder")
    im.add_argument("submissions", help="where to write SUBMISSIONS/<student_id>/<lesson>/<lesson>.ipynb")
    im.add_argument("--lesson", help="the lesson of notebooks whose file name names none")
    im.add_argument("--roster", help="CSV: student_id plus name / lms_id (or the LMS's gradebook export)")
    im.add_argument("--id-column", help="the roster column that holds the student id (default: student_id, "
                                        "else SIS Login ID)")
    im.add_argument("--out", default="grading", help="the grading workspace whose gradebook holds the due dates")
    im.set_defaults(func=cmd_import_lms)

    ex = sub.add_parser("export", help="nbgrader export, and a gradebook CSV for the LMS")
    ex.add_argument("--out", default="grading", help="the grade run's output directory")
    ex.add_argument("--format", choices=["canvas", "generic"], default="canvas")
    ex.add_argument("--roster", help="CSV with student_id and the LMS's identities (name, lms_id, sis_user_id, "
                                     "sis_login_id, section, email) or the LMS's gradebook export")
    ex.add_argument("--id-column", help="the roster column that holds the student id")
    ex.add_argument("--to", help="the LMS CSV's path (default DIR/export/lms-FORMAT.csv)")
    ex.set_defaults(func=cmd_export)

    fg = sub.add_parser("formgrader", help="JupyterLab with nbgrader's formgrader on a grade run's gradebook")
    fg.add_argument("--out", default="grading", help="the grade run's output directory")
    fg.add_argument("--port", type=int, default=8888)
    fg.add_argument("--no-browser", action="store_true")
    fg.add_argument("jupyter_args", nargs=argparse.REMAINDER, help="more options for jupyter lab (after --)")
    fg.set_defaults(func=cmd_formgrader)

    d = sub.add_parser("demo", help="release, grade a small synthetic class, report")
    d.add_argument("lessons", nargs="*")
    d.add_argument("--out", default="grading/demo")
    d.add_argument("--timeout", type=int, default=30)
    d.set_defaults(func=cmd_demo)

    from .hub import add_parsers as hub_parsers
    hub_parsers(sub)  # `hub` and `hub-grade`: a class on one server

    args, unknown = p.parse_known_args(argv)
    if unknown and args.command != "lab":  # only `lab` passes further options on (to jupyter lab)
        p.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command == "lab":
        args.jupyter_args = unknown
    return args.func(args)
