"""Smoke run of benchmarks/bench_grading.py (the figures come from a full run, not from CI)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # run by .ci/run (`pytest -m slow`), not by the default `pytest`

ROOT = Path(__file__).resolve().parent.parent


def test_grading_benchmark_reports_every_run_and_the_ratios():
    r = subprocess.run([sys.executable, "benchmarks/bench_grading.py", "--learners", "2", "--lessons", "1", "--json"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    f = json.loads(r.stdout)
    assert f["notebooks"] == 2 and f["lessons"] == ["01_layers"]
    assert set(f["seconds"]) == {"nbgrader", "grade", "grade_unsafe"} and all(t > 0 for t in f["seconds"].values())
    for key, t in f["seconds"].items():  # the derived figures agree with the times
        assert abs(f["notebooks_per_min"][key] - 120 / t) < 1e-6
        assert abs(f["ratio_to_nbgrader"][key] - f["seconds"]["nbgrader"] / t) < 1e-9
    assert f["ratio_to_nbgrader"]["nbgrader"] == 1.0
