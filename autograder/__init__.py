"""The course's instructor tooling, built on nbgrader: ``python -m autograder``.

Grading, one module a step, numbered the same in every module's docstring (``steps.py``
has the list): 1 ``release`` → 2 prepare → 3 ``execute`` (``sandbox``, ``integrity``) → 4
``verify`` → 5 ``score`` → 6 ``feedback`` → 7 ``report``. ``grade`` runs steps 2–6 for
a class; ``course`` says where things live and maps them for nbgrader.
"""

import os
import sys

# nbgrader shells out to `alembic` found on PATH when it creates a gradebook. Put this
# interpreter's scripts directory first, so that `.venv/bin/python -m autograder ...`
# works without activating the virtual environment.
_bin = os.path.dirname(sys.executable)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")

# jsonschema (which nbformat imports) loads rfc3987_syntax for its optional "iri" format check,
# and that builds a parser when imported: 0.65 s at every start of every command
# (python-jsonschema/jsonschema#1392). Nothing here validates that format, so it is left out.
sys.modules.setdefault("rfc3987_syntax", None)
