"""benchmarks/bench_mlp.py: the smoke run CI makes, and the fast paths the benchmark measures.

The benchmark is not a timed test: this runs ``--quick`` (2 epochs, one round) and checks
only that the table is complete and well formed. Its numbers depend on the machine; the
measured table is in benchmarks/README.md.
The shortcuts the benchmark measures are tested in test_ann_training_shortcuts.py.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # run by .ci/run (`pytest -m slow`), not by the default `pytest`

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks" / "bench_mlp.py"
LABEL_WIDTH = 28  # the table's first column


@pytest.fixture(scope="module")
def quick_run():
    proc = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _table(out: str) -> dict[str, list[str]]:
    """The table's rows: label → the other columns (split on whitespace)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("variant")) + 2
    rows = {}
    for line in lines[start:]:
        if not line.strip():
            break
        rows[line[:LABEL_WIDTH].strip()] = line[LABEL_WIDTH:].split()
    return rows


def test_quick_run_prints_every_row_and_the_targets(quick_run):
    rows = _table(quick_run)
    expected = {"fused NumPy loop (floor)", "ann_core", "ann_core fit() + history",
                "scikit-learn MLPClassifier"}
    assert expected <= set(rows), quick_run
    has_torch = importlib.util.find_spec("torch") is not None
    assert any(label.startswith("PyTorch CPU") for label in rows) == has_torch
    for label, cols in rows.items():
        if cols[0] == "skipped":
            continue
        acc, s_epoch, cpu_epoch, ratio = (float(c) for c in cols[:4])
        assert 0.0 <= acc <= 1.0, label
        assert s_epoch > 0 and cpu_epoch > 0, label
        assert ratio > 0, label
    assert rows["ann_core"][3] == "1.00"
    assert "target: ann_core test accuracy >= 0.97" in quick_run
    assert "target: ann_core s/epoch <= 1.3x the fused loop" in quick_run
    assert "whole course" not in quick_run  # --quick does not execute the notebooks


def test_fused_loop_and_ann_core_train_the_same_model(quick_run):
    # same initial weights, same batches, same arithmetic up to rounding: same predictions
    rows = _table(quick_run)
    accs = {rows[label][0] for label in ("fused NumPy loop (floor)", "ann_core",
                                         "ann_core fit() + history")}
    assert len(accs) == 1, rows
