"""What a grading kernel's ann_core holds in place of the functions a lesson asks the learner to write.

While a lesson is graded (and while ``check`` calls the learner's function in a notebook), the
lesson's references, their formula kernels and what its specs forbid are replaced by a body
that raises ``ReferenceUnavailable`` naming the function (``autograder/integrity.py`` writes
that copy of ann_core; ``ann_core.checks.withhold`` swaps the code in a live notebook).
"""

from __future__ import annotations


class ReferenceUnavailable(RuntimeError):
    """A learner's code called ann_core's version of what the lesson asks them to write."""


def unavailable(name: str):
    """Raise ``ReferenceUnavailable`` for the withheld ann_core function ``name`` (a dotted name)."""
    if name.startswith("ann_core.checks."):
        raise ReferenceUnavailable(f"{name} is one of the checks' own helpers (a known mistake), so it is not "
                                   "available while your work is checked.")
    raise ReferenceUnavailable(
        f"{name} is what this lesson asks you to write, so it is not available while your work is "
        "checked: within a lesson, use your own earlier functions (earlier lessons' ann_core "
        "functions stay available).")
