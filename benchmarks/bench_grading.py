"""Benchmark: grading a synthetic class with plain ``nbgrader autograde`` and with ``grade --workers N``.

The class: ``--learners`` learners × ``--lessons`` lessons; learners take turns at being
perfect, untouched, or one-function-wrong (``autograder.submissions``). Both runs start
from the same submissions:

    nbgrader   a plain nbgrader course directory (source/ = solutions/, the lessons
               generated into its gradebook), then ``nbgrader autograde LESSON`` per
               lesson: serial, as nbgrader does it (no feedback)
    grade      ``python -m autograder grade SUBMISSIONS --workers N``: sandboxed
               parallel execution, verification, gradebook, CSVs and feedback pages
    unsafe     the same with ``--unsafe-no-sandbox`` (resource limits only): the
               difference is what the sandbox costs per notebook
    dask       (``--dask``) ``grade(executor=client.get_executor())`` on a local
               ``distributed`` cluster of ``--workers`` processes
    own work   (``--own-work R``) only ``grade --workers 1``, R times each way, alternated:
               as shipped, and with nothing withheld (``integrity.lesson_withheld``
               patched to return nothing: no stubbed ann_core, no demo cells changed);
               CPU seconds of every process (``RUSAGE_CHILDREN``) and wall seconds, side by
               side: what own work by construction costs per notebook

Each is a fresh subprocess timed end to end (application start-up included), from a
course whose gradebook exists with the lessons registered (set up before the clock, the
same way for both), and the table prints notebooks per minute and the ratio.

Usage:
    python benchmarks/bench_grading.py                        # 12 learners × 3 lessons, --workers 2
    python benchmarks/bench_grading.py --learners 4 --lessons 1 --workers 2   # quick
    python benchmarks/bench_grading.py --dask    # and through a local Dask cluster (extra `cluster`)
    python benchmarks/bench_grading.py --learners 6 --lessons 3 --own-work 3   # own work's cost
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_class(course, lessons, learners: int, dest: Path) -> int:
    import nbformat

    from autograder import submissions as subs

    n = 0
    for k in range(learners):
        student = f"learner{k:03d}"
        for lesson in lessons:
            kind = k % 3
            if kind == 0:
                nb = subs.learner_notebook(course, lesson)
            elif kind == 1:
                nb = subs.learner_notebook(course, lesson, untouched=True)
            else:
                released = nbformat.read(str(course.lesson(lesson)), as_version=4)
                first = next(c.metadata["nbgrader"]["grade_id"] for c in released.cells
                             if c.metadata.get("nbgrader", {}).get("solution"))
                nb = subs.learner_notebook(course, lesson, {first: None})
            subs.write(nb, dest, student, lesson)
            n += 1
    return n


def run_nbgrader(lessons, submissions: Path, work: Path) -> float:
    course_dir = work / "nbgrader-course"
    (course_dir / "source").mkdir(parents=True)
    for lesson in lessons:
        shutil.copytree(ROOT / "solutions" / lesson, course_dir / "source" / lesson)
    shutil.copytree(submissions, course_dir / "submitted")
    (course_dir / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'bench'\n"
        "c.Execute.extra_arguments = ['--HistoryManager.hist_file=:memory:']\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    nbgrader = [sys.executable, "-m", "nbgrader"]
    for lesson in lessons:
        subprocess.run([*nbgrader, "generate_assignment", lesson, "--force", "--log-level=ERROR"],
                       cwd=course_dir, env=env, check=True)
    t0 = time.perf_counter()
    for lesson in lessons:
        subprocess.run([*nbgrader, "autograde", lesson, "--create", "--log-level=ERROR"],
                       cwd=course_dir, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _registered_then_measured(command, submissions: Path, work: Path) -> tuple[float, float]:
    """Wall and CPU seconds (all processes, ``RUSAGE_CHILDREN``) for ``command(SUBMISSIONS)``, run after
    ``command`` on an empty class, which makes the gradebook and registers the lessons, as nbgrader's
    ``generate_assignment`` does before its clock above (a fresh gradebook costs nbgrader's
    ``alembic heads`` subprocess, 1.6 s)."""
    import resource

    (work / "nobody").mkdir(exist_ok=True)
    subprocess.run(command(work / "nobody"), cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    before, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(command(submissions), cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall, after = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _registered_then_timed(command, submissions: Path, work: Path) -> float:
    """Wall seconds of ``_registered_then_measured``."""
    return _registered_then_measured(command, submissions, work)[0]


def run_grade(lessons, submissions: Path, work: Path, workers: int, unsafe: bool = False) -> float:
    only = [a for lesson in lessons for a in ("--lesson", lesson)]
    out = work / ("grade-out-unsafe" if unsafe else "grade-out")
    return _registered_then_timed(
        lambda who: [sys.executable, "-m", "autograder", "grade", str(who), "--workers", str(workers),
                     "--out", str(out), "--quiet", *only, *(["--unsafe-no-sandbox"] if unsafe else [])],
        submissions, work)


DASK = """
import sys
from pathlib import Path
import distributed
from autograder.course import Course
from autograder.grade import grade
lessons, who, out, workers = sys.argv[1].split(","), Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                              dashboard_address=None) as cluster, distributed.Client(cluster) as client:
    grade(Course(Path.cwd()), who, out, lessons, progress=False, executor=client.get_executor())
"""


def run_dask(lessons, submissions: Path, work: Path, workers: int) -> float:
    """``grade`` with a local Dask cluster of ``workers`` processes as its executor (the
    ``cluster`` extra): the cluster's start-up included."""
    out = work / "grade-out-dask"
    return _registered_then_timed(
        lambda who: [sys.executable, "-c", DASK, ",".join(lessons), str(who), str(out), str(workers)],
        submissions, work)


NOTHING_WITHHELD = """
import sys
import autograder.grade
from autograder.cli import main
autograder.grade.lesson_withheld = lambda *args, **kwargs: ()
sys.exit(main(sys.argv[1:]))
"""


def own_work_cost(lessons, submissions: Path, work: Path, rounds: int) -> dict:
    """CPU and wall seconds of ``grade --workers 1`` as shipped and with nothing withheld, alternated."""
    only = [a for lesson in lessons for a in ("--lesson", lesson)]
    figures: dict[str, list] = {"withheld": [], "nothing_withheld": []}
    for k in range(rounds):
        for kind, head in [("withheld", ["-m", "autograder"]), ("nothing_withheld", ["-c", NOTHING_WITHHELD])]:
            def command(who, out=work / f"own-{kind}-{k}", head=head):
                return [sys.executable, *head, "grade", str(who), "--workers", "1", "--out", str(out), "--quiet", *only]
            wall, cpu = _registered_then_measured(command, submissions, work)
            figures[kind].append({"cpu": cpu, "wall": wall})
    return figures


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--learners", type=int, default=12)
    p.add_argument("--lessons", type=int, default=3, help="the first N lessons of the course")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object instead of a table")
    p.add_argument("--dask", action="store_true", help="also grade through a local Dask cluster (extra `cluster`)")
    p.add_argument("--own-work", type=int, metavar="R", default=0,
                   help="instead: R rounds of grade --workers 1 as shipped vs nothing withheld (CPU and wall seconds)")
    args = p.parse_args(argv)

    from autograder.course import Course

    course = Course(ROOT)
    lessons = course.graded_lessons()[: args.lessons]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        n = make_class(course, lessons, args.learners, work / "submissions")
        if args.own_work:
            return _print_own_work(own_work_cost(lessons, work / "submissions", work, args.own_work), n, lessons, args)
        if not args.json:
            print(f"class: {args.learners} learners × {len(lessons)} lessons ({', '.join(lessons)}) = {n} notebooks; "
                  f"{os.cpu_count()} CPU cores")
        t_nbg = run_nbgrader(lessons, work / "submissions", work)
        t_grade = run_grade(lessons, work / "submissions", work, args.workers)
        t_unsafe = run_grade(lessons, work / "submissions", work, args.workers, unsafe=True)
        runs = {"nbgrader": t_nbg, "grade": t_grade, "grade_unsafe": t_unsafe}
        if args.dask:
            runs["grade_dask"] = run_dask(lessons, work / "submissions", work, args.workers)
    figures = {"notebooks": n, "workers": args.workers, "cores": os.cpu_count(), "lessons": lessons,
               "seconds": runs, "notebooks_per_min": {k: 60 * n / t for k, t in runs.items()},
               "ratio_to_nbgrader": {k: t_nbg / t for k, t in runs.items()},
               "sandbox_cost_percent": 100 * (t_grade - t_unsafe) / t_unsafe}
    if args.json:
        import json

        print(json.dumps(figures))
        return 0
    print(f"{'run':<56}{'seconds':>9}{'s/notebook':>12}{'notebooks/min':>15}{'ratio':>8}")
    for name, key in [("plain nbgrader autograde (serial)", "nbgrader"),
                      (f"python -m autograder grade --workers {args.workers}", "grade"),
                      (f"python -m autograder grade --workers {args.workers} --unsafe-no-sandbox", "grade_unsafe"),
                      (f"grade(executor=) on a local Dask cluster of {args.workers}", "grade_dask")]:
        if key not in runs:
            continue
        t = runs[key]
        print(f"{name:<56}{t:>9.1f}{t / n:>12.2f}{figures['notebooks_per_min'][key]:>15.1f}"
              f"{figures['ratio_to_nbgrader'][key]:>8.2f}")
    print(f"sandbox cost per notebook: {figures['sandbox_cost_percent']:+.1f} % ({(t_grade - t_unsafe) / n:+.3f} s)")
    return 0


def _print_own_work(figures: dict, n: int, lessons, args) -> int:
    if args.json:
        import json

        print(json.dumps({"notebooks": n, "lessons": lessons, **figures}))
        return 0
    print(f"class: {args.learners} learners × {len(lessons)} lessons ({', '.join(lessons)}) = {n} notebooks; "
          "grade --workers 1; CPU seconds of all processes per notebook (wall seconds)")
    print(f"{'round':<7}{'as shipped':>22}{'nothing withheld':>22}{'cost (CPU)':>12}")
    for k, (a, b) in enumerate(zip(figures["withheld"], figures["nothing_withheld"], strict=True), start=1):
        print(f"{k:<7}{a['cpu'] / n:>12.3f} ({a['wall'] / n:5.2f} s){b['cpu'] / n:>12.3f} ({b['wall'] / n:5.2f} s)"
              f"{100 * (a['cpu'] - b['cpu']) / b['cpu']:>+11.1f} %")
    total = [sum(r["cpu"] for r in figures[k]) for k in ("withheld", "nothing_withheld")]
    print(f"{'all':<7}{total[0] / n / len(figures['withheld']):>12.3f}{'':>10}"
          f"{total[1] / n / len(figures['withheld']):>12.3f}{'':>10}{100 * (total[0] - total[1]) / total[1]:>+11.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
