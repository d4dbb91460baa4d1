"""Step 7, the class report: ``python -m autograder report [--out DIR]``.

Reads ``DIR/grades.csv`` and ``DIR/items.csv`` (written by ``grade``) and writes
``DIR/report/lessons.csv`` (score distribution per lesson), ``DIR/report/items.csv``
(pass rate and the most common failure per item) and ``DIR/report/scores.png``.
Failures are grouped by the check's "Likely mistake" when there is one, so the
instructor sees *which* misconception is common, not forty different numbers.
"""

from __future__ import annotations

import csv
import re
import statistics
from collections import Counter, defaultdict
from pathlib import Path

from .sanitize import csv_writer


def _read(path: Path) -> list[dict]:
    if not path.exists():
        raise SystemExit(f"{path} not found: run `python -m autograder grade ... --out {path.parent}` first")
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def failure_kind(message: str) -> str:
    """A message reduced to what it has in common with others of its kind."""
    if not message:
        return "(no message)"
    m = re.search(r"Likely mistake: (.*)", message)
    if m:
        return "Likely mistake: " + m.group(1).strip()
    head = message.split(":", 1)[0] if message.startswith(("NameError", "NotImplementedError")) else message
    # numbers become '#', but not the digits of a name such as l2_penalty
    return re.sub(r"(?<![A-Za-z_\d])-?\d+(\.\d+)?(e-?\d+)?(?![A-Za-z_])", "#", head)[:160]


def report(out: Path, quiet: bool = False) -> Path:
    grades = _read(out / "grades.csv")
    items = _read(out / "items.csv")
    dest = out / "report"
    dest.mkdir(parents=True, exist_ok=True)

    by_lesson = defaultdict(list)
    for g in grades:
        by_lesson[g["assignment"]].append(100 * float(g["score"]) / max(float(g["max_score"]), 1e-9))
    lesson_rows = []
    for lesson, pct in sorted(by_lesson.items()):
        adjusted = sum(bool(g.get("adjustment")) for g in grades if g["assignment"] == lesson)
        lesson_rows.append([lesson, len(pct), f"{statistics.mean(pct):.1f}", f"{statistics.median(pct):.1f}",
                            f"{min(pct):.1f}", f"{max(pct):.1f}", f"{sum(p >= 100 for p in pct) / len(pct):.2f}",
                            adjusted])
    _write(dest / "lessons.csv", ["assignment", "n_learners", "mean_pct", "median_pct", "min_pct", "max_pct",
                                  "full_marks_rate", "n_adjusted"], lesson_rows)

    by_item = defaultdict(list)
    for i in items:
        by_item[(i["assignment"], i["grade_id"])].append(i)
    item_rows = []
    for (lesson, gid), rows in sorted(by_item.items()):
        passed = sum(r["status"] == "passed" for r in rows)
        fails = Counter(failure_kind(r["message"]) for r in rows if r["status"] != "passed")
        common, count = fails.most_common(1)[0] if fails else ("", 0)
        adjusted = sum(bool(r.get("adjustment")) for r in rows)
        item_rows.append([lesson, gid, rows[0]["max_score"], len(rows), f"{passed / len(rows):.2f}", common, count,
                          adjusted])
    _write(dest / "items.csv", ["assignment", "grade_id", "max_score", "n_learners", "pass_rate",
                                "most_common_failure", "failure_count", "n_adjusted"], item_rows)
    _plot(by_lesson, dest / "scores.png")
    if not quiet:
        print(f"{'lesson':<27}{'learners':>9}{'mean %':>8}{'median %':>10}{'full marks':>12}")
        for r in lesson_rows:
            print(f"{r[0]:<27}{r[1]:>9}{r[2]:>8}{r[3]:>10}{float(r[6]):>12.0%}")
        print()
        for r in item_rows:
            print(f"{r[0]:<27}{r[1]:<34} pass {float(r[4]):>4.0%}  {r[5][:90]}")
        changed = [g for g in grades if g.get("adjustment")]
        if changed:  # pass rates above are the automatic results; scores include these
            print("\nset by the instructor in the gradebook (included in the scores), and late penalties:")
            for g in changed:
                print(f"  {g['student_id']:<16}{g['assignment']:<27}{g['adjustment'][:110]}")
        print(f"\nwritten: {dest / 'lessons.csv'}, {dest / 'items.csv'}, {dest / 'scores.png'}")
    return dest


def _write(path, header, rows):
    with path.open("w", newline="") as fh:
        w = csv_writer(fh)
        w.writerow(header)
        w.writerows(rows)


def _plot(by_lesson, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lessons = sorted(by_lesson)
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(lessons)), 4))
    ax.boxplot([by_lesson[k] for k in lessons], showmeans=True)
    for x, k in enumerate(lessons, start=1):
        ax.scatter([x] * len(by_lesson[k]), by_lesson[k], s=12, alpha=0.5, color="tab:blue")
    ax.set_xticks(range(1, len(lessons) + 1), lessons, rotation=30, ha="right")
    ax.set_ylabel("score (% of points)")
    ax.set_ylim(-5, 105)
    ax.set_title("Score distribution per lesson")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
