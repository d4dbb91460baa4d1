"""benchmarks/bench_mlp.py: the smoke run CI makes.

The benchmark is not a timed test: this runs ``--quick --json`` (2 epochs, one round) and
checks that every figure is there and that the derived ones agree with the measured ones.
Its numbers depend on the machine; the measured table is in benchmarks/README.md. That the
training loop gives the numbers of the checked functions is tested in
test_ann_training_shortcuts.py.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # run by .ci/run (`pytest -m slow`), not by the default `pytest`

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks" / "bench_mlp.py"
NUMPY_ROWS = ("fused", "ann_core", "ann_core_fit")


@pytest.fixture(scope="module")
def quick():
    proc = subprocess.run([sys.executable, str(BENCH), "--quick", "--json"], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_quick_run_reports_every_variant_and_its_figures(quick):
    rows = quick["variants"]
    has_torch = importlib.util.find_spec("torch") is not None
    assert set(rows) == {*NUMPY_ROWS, "sklearn", *(("torch",) if has_torch else ())}
    assert set(quick["skipped"]) == {"torch1"} | (set() if has_torch else {"torch"})
    assert quick["epochs"] == 2 and quick["repeats"] == 1 and quick["course"] is None
    base = rows["ann_core"]
    for v, row in rows.items():
        assert 0.0 <= row["acc"] <= 1.0 and row["acc_per_round"] == [row["acc"]], v
        assert row["s_per_epoch"] > 0 and row["cpu_s_per_epoch"] > 0, v
        assert row["s_per_epoch_per_round"] == [row["s_per_epoch"]], v  # one round: its own median
        assert row["ratio_to_ann_core"] == pytest.approx(row["s_per_epoch"] / base["s_per_epoch"]), v
        assert row["peak_rss_kib"] > 10_000, v  # an interpreter with NumPy: tens of MiB at least
        assert (row["traced_peak_bytes"] is None) == v.startswith("torch"), v
    assert base["ratio_to_ann_core"] == 1.0
    assert rows["fused"]["version"].startswith("NumPy ") and rows["sklearn"]["version"].startswith("scikit-learn ")


def test_targets_are_derived_from_the_rows(quick):
    rows, t = quick["variants"], quick["targets"]
    assert t["accuracy"]["value"] == rows["ann_core"]["acc"]
    assert t["accuracy"]["target"] == 0.97
    assert t["accuracy"]["met"] == (rows["ann_core"]["acc"] >= 0.97)
    r = t["ratio_to_fused"]
    assert r["target"] == 1.2
    assert r["wall"] == pytest.approx(rows["ann_core"]["s_per_epoch"] / rows["fused"]["s_per_epoch"])
    assert r["cpu"] == pytest.approx(rows["ann_core"]["cpu_s_per_epoch"] / rows["fused"]["cpu_s_per_epoch"])
    assert r["per_round"] == [pytest.approx(r["wall"])]
    assert r["met"] == (r["wall"] <= 1.2)
    assert "course_seconds" not in t  # --quick does not execute the notebooks


def test_fused_loop_and_ann_core_train_the_same_model(quick):
    # same initial weights, same batches, same arithmetic up to rounding: same predictions
    assert len({quick["variants"][v]["acc"] for v in NUMPY_ROWS}) == 1, quick["variants"]


def test_the_table_shows_the_same_figures():
    # the table is printed from the same figures: every row and the targets are there
    proc = subprocess.run([sys.executable, str(BENCH), "--quick", "--only", "fused", "ann_core"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "\nfused NumPy loop (floor)  " in out and "\nann_core  " in out
    assert "\nscikit-learn MLPClassifier   skipped (not selected)" in out
    assert "target: ann_core test accuracy >= 0.97: median " in out
    assert "target: ann_core s/epoch <= 1.2x the fused loop: " in out
    assert "whole course" not in out
