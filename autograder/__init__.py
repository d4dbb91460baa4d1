"""The course's instructor tooling, built on nbgrader: ``python -m autograder``.

The grading path reads top to bottom, one module a step:

    course    where things live and the nbgrader configuration that maps them
    release   solutions/ → lessons/ through nbgrader's generate_assignment (+ leak check)
    execute   run a notebook (nbclient) for the learner's self-check
    score     read each graded item's points, status and message from an executed notebook
    grade     a class's submissions → nbgrader autograde → gradebook → CSVs → feedback HTML
    report    class summary: score distribution, pass rate and commonest failure per item
"""

import os
import sys

# nbgrader shells out to `alembic` found on PATH when it creates a gradebook. Put this
# interpreter's scripts directory first, so that `.venv/bin/python -m autograder ...`
# works without activating the virtual environment.
_bin = os.path.dirname(sys.executable)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")
