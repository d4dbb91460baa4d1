"""The sanitizer's cost per notebook (``autograder.sanitize.Sanitize``, the last step of ``FINISH``).

Times ``clean_notebook`` on every lesson's executed solution (its outputs and plots, as an
autograded notebook holds them) in CPU time (``time.process_time``), two ways:

* as ``grade`` runs it: the released lesson's markdown trusted, the rest sanitized;
* worst case: every markdown cell treated as the learner's (rendered and cleaned).

Then the second layer's cost on formgrader's submission page (``autograder.instructor``): the
skeleton's rendering and hashing, beside nbconvert's own rendering of the page (classic template).

    python benchmarks/bench_sanitize.py [--repeat N]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import nbformat
from nbconvert import HTMLExporter

from autograder.course import Course, find_root
from autograder.instructor import script_hashes, skeleton
from autograder.sanitize import clean_notebook


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    course = Course(find_root())
    clean_notebook(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("<b>x</b>")]))  # imports
    rows, pages = [], []
    exporter = HTMLExporter(template_name="classic")
    for lesson in course.lessons():
        nb = nbformat.read(str(course.solution(lesson)), as_version=4)
        released = nbformat.read(str(course.lesson(lesson)), as_version=4)
        times = {}
        for mode, trusted in (("grade", released), ("worst", None)):
            runs = []
            for _ in range(args.repeat):
                work = copy.deepcopy(nb)
                t0 = time.process_time()
                clean_notebook(work, trusted)
                runs.append(time.process_time() - t0)
            times[mode] = statistics.median(runs)
        rows.append((lesson, len(nb.cells), times["grade"], times["worst"]))
        print(f"{lesson:<22}{len(nb.cells):>4} cells  grade {1000 * times['grade']:7.1f} ms CPU   "
              f"all markdown {1000 * times['worst']:7.1f} ms CPU")
    g = [r[2] for r in rows]
    w = [r[3] for r in rows]
    for lesson in course.lessons():
        nb = nbformat.read(str(course.solution(lesson)), as_version=4)
        exporter.from_notebook_node(nb)  # templates loaded
        t0 = time.process_time()
        exporter.from_notebook_node(nb)
        t1 = time.process_time()
        script_hashes(exporter.from_notebook_node(skeleton(nb))[0])
        t2 = time.process_time()
        pages.append((t1 - t0, t2 - t1))
    print(f"formgrader's submission page: rendering {min(p[0] for p in pages):.2f}-{max(p[0] for p in pages):.2f} s "
          f"CPU; the skeleton adds {1000 * min(p[1] for p in pages):.0f}-{1000 * max(p[1] for p in pages):.0f} ms")
    print(f"per notebook: grade median {1000 * statistics.median(g):.1f} ms (max {1000 * max(g):.1f}); "
          f"all markdown median {1000 * statistics.median(w):.1f} ms (max {1000 * max(w):.1f}) CPU")


if __name__ == "__main__":
    main()
