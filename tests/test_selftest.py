"""Self-validation: every lesson's grading tells the solution, the untouched lesson and known mistakes apart."""

from __future__ import annotations

import pytest

from ann_core.checks import SPECS
from autograder.selftest import selftest
from autograder.submissions import graded_functions

pytestmark = pytest.mark.slow  # run by .ci/run (`pytest -m slow`), not by the default `pytest`


def test_every_lesson_grades_right_wrong_and_untouched(course):
    lines = []
    outcomes = selftest(course, workers=2, out=lines.append, progress=False)
    failures = [o for o in outcomes if not o.ok]
    assert not failures, "\n".join(lines)
    lessons = course.graded_lessons()  # 00_start_here has nothing to grade
    assert {o.lesson for o in outcomes if o.what == "solution"} == set(lessons)
    assert {o.lesson for o in outcomes if o.what == "untouched"} == set(lessons)
    n_mutants = sum(len(SPECS[f].mistakes) for lesson in lessons for f in graded_functions(course, lesson)
                    if f in SPECS)
    assert len(outcomes) == 2 * len(lessons) + n_mutants  # every known mistake was planted once
    assert lines[-1].startswith(f"mutation score: {n_mutants}/{n_mutants} killed (100 %)")
