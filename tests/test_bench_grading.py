"""Smoke run of benchmarks/bench_grading.py (the figures come from a full run, not from CI)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # run by .ci/run (`pytest -m slow`), not by the default `pytest`

ROOT = Path(__file__).resolve().parent.parent


def test_grading_benchmark_prints_both_rates_and_their_ratio():
    r = subprocess.run([sys.executable, "benchmarks/bench_grading.py", "--learners", "2", "--lessons", "1"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = {line.split("  ")[0]: line.split() for line in r.stdout.splitlines()
            if line.startswith(("plain nbgrader", "python -m autograder"))}
    assert len(rows) == 3, r.stdout
    for cols in rows.values():
        assert re.fullmatch(r"\d+\.\d+", cols[-1]) and float(cols[-2]) > 0  # notebooks/min, ratio
    assert "2 learners × 1 lessons" in r.stdout
    assert re.search(r"sandbox cost per notebook: [+-]\d+\.\d %", r.stdout), r.stdout
