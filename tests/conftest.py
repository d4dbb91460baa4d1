"""Shared fixtures: the course (repository root) and one graded class for the harness tests."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def course():
    from autograder.course import Course

    c = Course(ROOT)
    assert c.lessons(), "no lessons found in solutions/"
    return c
