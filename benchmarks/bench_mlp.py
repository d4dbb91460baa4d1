"""Benchmark: lesson 11's MLP trained with ann_core, scikit-learn, PyTorch and a fused NumPy loop.

The model is the articles' Keras classifier, Dense(64, relu) → Dense(10, softmax), trained
with Adam (lr 1e-3), mini-batches of 32 and the categorical cross-entropy on
``ann_core.datasets.digits()`` (1,437 training / 360 test images, the fixed stratified split),
for the same number of epochs in every variant (default 60, lesson 11's setting):

    fused         a hand-fused NumPy loop of the same model and optimizer: no classes, no
                  checks, everything inlined and updated in place (the floor)
    ann_core      Sequential + Adam + iterate_minibatches + train_step (the course's package)
    ann_core_fit  the same through training.fit, which also records the loss and the
                  training accuracy after every epoch (what the lesson plots)
    sklearn       MLPClassifier(hidden_layer_sizes=(64,), solver="adam", alpha=0,
                  batch_size=32, max_iter=epochs, tol=0, n_iter_no_change=huge)
    torch         torch.nn on the CPU (float32) on every core (or --threads),
    torch1        and again on one thread (when that is a different setting)

The trainers are in mlp_trainers.py, the worker processes in mlp_workers.py, the course
timing in course_timing.py; this script measures, then prints a table or (``--json``) one
JSON object with the same figures.

How it measures. Every variant runs in its own worker process, started once: it loads the
data and trains one warm-up epoch. Then the timed trainings run round-robin, one per worker
in turn, with the order rotated each round, ``--repeats`` rounds (seeds seed, seed+1, …): a
neighbour's load or a CPU frequency change hits every variant alike. The figures, per
variant (medians over the rounds):

    s/epoch      wall-clock training seconds divided by the number of epochs
    cpu s/epoch  process CPU seconds (all threads) per epoch
    × ann_core   the s/epoch ratio to the ann_core row (below 1: faster than ann_core)
    traced peak  tracemalloc's peak during one extra short training: memory allocated through
                 Python's allocators, NumPy arrays included, PyTorch's tensors not (n/a)
    peak RSS     the worker process's maximum resident set size at the end

``--course`` (on by default, off with ``--quick``) also executes every solution notebook and
reports the seconds each took and the total.

Usage:
    python benchmarks/bench_mlp.py                  # 60 epochs, median of 5, then the course
    python benchmarks/bench_mlp.py --no-course      # the training table only
    python benchmarks/bench_mlp.py --threads 1      # every library on one BLAS/OpenMP thread
    python benchmarks/bench_mlp.py --quick --json   # CI smoke test: 2 epochs, 1 round, JSON
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import time

from mlp_trainers import SIZES, TRAINERS, torch_threads
from mlp_workers import THREAD_VARS, Worker

VARIANTS = list(TRAINERS)
LABELS = {
    "fused": "fused NumPy loop (floor)",
    "ann_core": "ann_core",
    "ann_core_fit": "ann_core fit() + history",
    "sklearn": "scikit-learn MLPClassifier",
    "torch": "PyTorch CPU, {n} thread{s}",
    "torch1": "PyTorch CPU, {n} thread{s}",
}
TARGET_ACC = 0.97
TARGET_RATIO = 1.2  # ann_core's s/epoch over the fused loop's
TARGET_COURSE_S = 60.0
EPOCHS = 60  # lesson 11 trains its graded model for 60 epochs


# ------------------------------------------------------------------ which variants
def select(only, threads, quick) -> tuple[list[str], dict[str, str]]:
    """The variants to run, and the others with the reason each is left out."""
    chosen, skipped = [], {}
    for v in VARIANTS:
        if only and v not in only:
            skipped[v] = "not selected"
        elif importlib.util.find_spec(TRAINERS[v][1]) is None:
            skipped[v] = f"{TRAINERS[v][1]} not installed"
        elif v == "torch1" and torch_threads("torch", threads) == 1:
            skipped[v] = "the torch row already runs on one thread"
        elif v == "torch1" and quick and not only:
            skipped[v] = "--quick runs one PyTorch row"
        else:
            chosen.append(v)
    return chosen, skipped


def label(v: str, threads: int | None) -> str:
    n = torch_threads(v, threads)
    return LABELS[v].format(n=n, s="" if n == 1 else "s")


# ------------------------------------------------------------------ measuring
def measure(variants, args) -> dict:
    """Round-robin timed trainings over one worker per variant; the raw results by variant."""
    workers = {}
    try:
        for v in variants:
            workers[v] = Worker(v, args.lr, args.batch_size, args.threads)
            workers[v].ask(f"train 1 {args.seed}")  # warm-up: lazy imports, BLAS threads, caches
        raw = {v: {"wall": [], "cpu": [], "acc": []} for v in variants}
        for r in range(args.repeats):
            k = r % len(variants)
            for v in variants[k:] + variants[:k]:
                time.sleep(0.2)  # let the previous worker's BLAS/OpenMP threads go idle
                out = workers[v].ask(f"train {args.epochs} {args.seed + r}")
                for key in ("wall", "cpu", "acc"):
                    raw[v][key].append(out[key])
        for v, w in workers.items():
            if not v.startswith("torch"):  # tracemalloc cannot see PyTorch's allocator
                raw[v].update(w.ask(f"trace {min(args.epochs, 2)} {args.seed}"))
            raw[v].update(w.close())
    finally:
        for w in workers.values():
            w.kill()
    return raw


def figures(raw: dict, skipped: dict, args, course: list[dict] | None) -> dict:
    """Everything the table shows, as one JSON-ready dict (medians, ratios, targets)."""
    rows = {}
    for v, r in raw.items():
        rows[v] = {
            "label": label(v, args.threads), "version": r["version"],
            "acc": statistics.median(r["acc"]), "acc_per_round": r["acc"],
            "s_per_epoch": statistics.median(r["wall"]) / args.epochs,
            "cpu_s_per_epoch": statistics.median(r["cpu"]) / args.epochs,
            "s_per_epoch_per_round": [w / args.epochs for w in r["wall"]],
            "traced_peak_bytes": r.get("traced_peak"), "peak_rss_kib": r["maxrss_kib"],
        }
    base = rows.get("ann_core")
    for row in rows.values():
        row["ratio_to_ann_core"] = row["s_per_epoch"] / base["s_per_epoch"] if base else None
    targets = {}
    if base:
        targets["accuracy"] = {"target": TARGET_ACC, "value": base["acc"],
                               "met": base["acc"] >= TARGET_ACC}
    if base and "fused" in rows:
        fused = rows["fused"]
        wall = base["s_per_epoch"] / fused["s_per_epoch"]
        targets["ratio_to_fused"] = {
            "target": TARGET_RATIO, "wall": wall, "cpu": base["cpu_s_per_epoch"] / fused["cpu_s_per_epoch"],
            "per_round": [a / b for a, b in zip(base["s_per_epoch_per_round"],
                                                fused["s_per_epoch_per_round"], strict=True)],
            "met": wall <= TARGET_RATIO}
    if course is not None:
        total = sum(run["seconds"] for run in course)
        targets["course_seconds"] = {"target": TARGET_COURSE_S, "value": total,
                                     "met": total <= TARGET_COURSE_S}
    blas = next((r["blas"] for v, r in raw.items() if not v.startswith("torch")), "?")
    return {
        "model": f"MLP {SIZES[0]}-{SIZES[1]}(relu)-{SIZES[2]}(softmax), Adam, categorical cross-entropy",
        "epochs": args.epochs, "repeats": args.repeats, "seeds": [args.seed, args.seed + args.repeats - 1],
        "lr": args.lr, "batch_size": args.batch_size, "threads": args.threads,
        "cpu_count": os.cpu_count(), "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(), "blas": blas,
        "variants": rows, "skipped": skipped, "targets": targets, "course": course,
    }


# ------------------------------------------------------------------ the table
def print_table(f: dict) -> None:
    print(f"{f['model']}, lr={f['lr']:g}, batch {f['batch_size']}, {f['epochs']} epochs")
    print(f"digits: 1437 train / 360 test; median of {f['repeats']} round(s), seeds "
          f"{f['seeds'][0]}..{f['seeds'][1]}; {f['cpu_count']} CPU cores ({f['machine']}); "
          f"Python {f['python']}")
    threads = (f"--threads {f['threads']}: {', '.join(THREAD_VARS)}={f['threads']}" if f["threads"]
               else "library defaults")
    print(f"threads: {threads}; NumPy's BLAS: {f['blas']}\n")
    head = (f"{'variant':<28}{'test acc':>9}{'s/epoch':>10}{'cpu s/epoch':>12}{'× ann_core':>11}"
            f"{'traced peak':>13}{'× ann_core':>11}{'peak RSS':>10}{'× ann_core':>11}  version")
    print(head)
    print("-" * len(head))
    rows, base = f["variants"], f["variants"].get("ann_core")
    for row in rows.values():
        ratio = f"{row['ratio_to_ann_core']:.2f}" if base else "-"
        traced, traced_ratio = "n/a", "-"
        if row["traced_peak_bytes"] is not None:
            traced = f"{row['traced_peak_bytes'] / 1024:.0f} KiB"
            if base and base["traced_peak_bytes"]:
                traced_ratio = f"{row['traced_peak_bytes'] / base['traced_peak_bytes']:.2f}"
        rss_ratio = f"{row['peak_rss_kib'] / base['peak_rss_kib']:.2f}" if base else "-"
        print(f"{row['label']:<28}{row['acc']:>9.4f}{row['s_per_epoch']:>10.5f}"
              f"{row['cpu_s_per_epoch']:>12.5f}{ratio:>11}{traced:>13}{traced_ratio:>11}"
              f"{row['peak_rss_kib'] / 1024:>6.0f} MiB{rss_ratio:>11}  {row['version']}")
    for v, why in f["skipped"].items():
        print(f"{label(v, f['threads']):<28} skipped ({why})")
    print()
    t = f["targets"]
    if "accuracy" in t:
        print(f"target: ann_core test accuracy >= {TARGET_ACC:.2f}: median {t['accuracy']['value']:.4f} "
              f"({_met(t['accuracy'])}; per round "
              + ", ".join(f"{a:.4f}" for a in rows["ann_core"]["acc_per_round"]) + ")")
    if "ratio_to_fused" in t:
        r = t["ratio_to_fused"]
        print(f"target: ann_core s/epoch <= {TARGET_RATIO}x the fused loop: {r['wall']:.2f}x wall, "
              f"{r['cpu']:.2f}x cpu ({_met(r)}; per round " + ", ".join(f"{x:.2f}" for x in r["per_round"]) + ")")
    if f["course"] is not None:
        print(f"\nexecuting the whole course: {len(f['course'])} solution notebook(s), one after the "
              "other, with nbclient (kernel start-up included)")
        for run in f["course"]:
            print(f"  {run['notebook']:<58}{run['seconds']:>6.1f} s  {run['status']}")
        c = t["course_seconds"]
        print(f"target: whole course <= {TARGET_COURSE_S:.0f} s: {c['value']:.1f} s ({_met(c)})")


def _met(target: dict) -> str:
    return "met" if target["met"] else "NOT met"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=EPOCHS)
    p.add_argument("--repeats", type=int, default=5, help="timed rounds (median reported)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS/OpenMP threads for every variant (default: each library's own)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 2 epochs, 1 round, one PyTorch row, no course")
    p.add_argument("--only", nargs="+", choices=VARIANTS, help="run only these variants")
    p.add_argument("--course", action=argparse.BooleanOptionalAction, default=None,
                   help="also time executing every solution notebook (default: on, off with --quick)")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object instead of a table")
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.epochs = 1, 2
    variants, skipped = select(args.only, args.threads, args.quick)
    raw = measure(variants, args)
    course = None
    if args.course if args.course is not None else not args.quick:
        from course_timing import time_course

        course = time_course()
    f = figures(raw, skipped, args, course)
    if args.json:
        json.dump(f, sys.stdout)
        print()
    else:
        print_table(f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
