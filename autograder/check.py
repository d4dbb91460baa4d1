"""The learner's self-check: ``python -m autograder check NOTEBOOK``.

Runs the notebook as the grader would and prints each graded item with its points
and, when it fails, the check's specific message. Exits 0 only when every item passes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .execute import NotebookError, execute, read
from .score import score_notebook


def check(path: Path, timeout: int = 60, out=sys.stdout) -> int:
    path = Path(path)
    try:
        nb = read(path)
    except (NotebookError, FileNotFoundError) as exc:
        print(f"✘ {exc}", file=out)
        return 2
    print(f"Running {path.name} …", file=out, flush=True)
    nb, problem = execute(nb, path.parent.resolve(), timeout)
    items = score_notebook(nb)
    if not items:
        print("✘ no graded test cells found: is this a course notebook?", file=out)
        return 2
    width = max(len(i.name) for i in items)
    for i in items:
        mark = "✔" if i.status == "passed" else "✘"
        line = f"{mark} {i.name:<{width}}  {i.score:g}/{i.max_score:g}"
        if i.status != "passed":
            line += f"  {i.message or i.status}"
        print(line, file=out)
    total, best = sum(i.score for i in items), sum(i.max_score for i in items)
    if problem:
        print(f"! {problem}", file=out)
    print(f"Score: {total:g}/{best:g}" + ("  — all checks pass." if total == best else
          "  — fix the items marked ✘ and run the check again."), file=out)
    return 0 if total == best and not problem else 1
