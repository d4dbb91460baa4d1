"""Benchmark: lesson 11's MLP trained with ann_core, scikit-learn, PyTorch and a fused NumPy loop.

The model is the articles' Keras classifier, Dense(64, relu) → Dense(10, softmax), trained
with Adam (lr 1e-3), mini-batches of 32 and the categorical cross-entropy on
``ann_core.datasets.digits()`` (1,437 training / 360 test images, the fixed stratified split),
for the same number of epochs in every variant (default 60, lesson 11's setting):

    fused         a hand-fused NumPy loop of the same model and optimizer: no classes, no
                  checks, everything inlined and updated in place (the floor)
    ann_core      Sequential + Adam + iterate_minibatches + train_step (the course's package)
    ann_core fit  the same through training.fit, which also records the loss and the
                  training accuracy after every epoch (what the lesson plots)
    sklearn       MLPClassifier(hidden_layer_sizes=(64,), solver="adam", alpha=0,
                  batch_size=32, max_iter=epochs, tol=0, n_iter_no_change=huge)
    torch         torch.nn on the CPU (float32) with torch.set_num_threads(os.cpu_count()),
    torch1        and again with one thread (when the machine has more than one core)

fused and both ann_core rows start from the same weights and see the same batches, so
their accuracies agree: they compute the same model, only the code around it differs.

How it measures. Every variant runs in its own worker process (one library's imports and
threads cannot slow another), started once: it loads the data and trains one warm-up epoch.
Then the timed trainings run round-robin, one per worker in turn, with the order rotated
each round, ``--repeats`` rounds (seeds seed, seed+1, …): a neighbour's load or a CPU
frequency change hits every variant alike instead of one. The clock covers the training
loop only, not imports, data loading or evaluation. The table shows medians over the
repeats and:

    s/epoch      wall-clock training seconds divided by the number of epochs
    cpu s/epoch  process CPU seconds (all threads) per epoch
    × ann_core   the s/epoch ratio to the ann_core row (below 1: faster than ann_core)
    traced peak  tracemalloc's peak during one extra 2-epoch training: memory allocated
                 through Python's allocators, which includes NumPy arrays (model, optimizer
                 state, batches, scikit-learn's internal copies) but not PyTorch's tensors,
                 whose CPU allocator tracemalloc cannot see (n/a, run skipped)
    peak RSS     the worker process's maximum resident set size at the end (interpreter,
                 libraries, data and training), and its ratio to ann_core's

``--course`` (on by default, off with ``--quick``) also executes every solution notebook
with nbclient, one after the other, and reports the seconds each took and the total.

Usage:
    python benchmarks/bench_mlp.py                  # 60 epochs, median of 5, then the course
    python benchmarks/bench_mlp.py --no-course      # the training table only
    python benchmarks/bench_mlp.py --threads 1      # every library on one BLAS/OpenMP thread
    python benchmarks/bench_mlp.py --quick          # CI smoke test: 2 epochs, 1 round
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ["fused", "ann_core", "ann_core_fit", "sklearn", "torch", "torch1"]
LABELS = {
    "fused": "fused NumPy loop (floor)",
    "ann_core": "ann_core",
    "ann_core_fit": "ann_core fit() + history",
    "sklearn": "scikit-learn MLPClassifier",
    "torch": "PyTorch CPU, {n} thread{s}",
    "torch1": "PyTorch CPU, 1 thread",
}
THREAD_VARS = ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"]
TARGET_ACC = 0.97
TARGET_RATIO = 1.3
TARGET_COURSE_S = 60.0
SIZES = (64, 64, 10)
EPOCHS = 60  # lesson 11 trains its graded model for 60 epochs


# ------------------------------------------------------------------ the trainers
# Each returns (Clock of the training loop, test accuracy).
class Clock:
    """Wall-clock and process CPU seconds of a ``with`` block."""

    def __enter__(self):
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def load_data():
    import numpy as np

    from ann_core.datasets import digits, one_hot

    X_train, y_train, X_test, y_test = digits()
    return X_train, y_train, one_hot(y_train, 10), X_test, y_test, np


def train_fused(data, epochs, lr, batch_size, seed):
    """The same model and optimizer with every step inlined: the speed floor for NumPy."""
    X, y, Y, Xt, yt, np = data
    rng = np.random.default_rng(seed)  # the same initial weights as Sequential.from_sizes
    n_in, n_hidden, n_out = SIZES
    W1 = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_hidden))  # He (ReLU layer)
    limit = np.sqrt(6.0 / (n_hidden + n_out))
    W2 = rng.uniform(-limit, limit, size=(n_hidden, n_out))  # Glorot (softmax layer)
    b1, b2 = np.zeros(n_hidden), np.zeros(n_out)
    params = [W1, b1, W2, b2]
    ms = [np.zeros_like(p) for p in params]
    vs = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    shuffle = np.random.default_rng(seed)  # the same batches as iterate_minibatches
    n, t = len(X), 0
    with Clock() as clock:
        for _ in range(epochs):
            epoch_loss = 0.0
            idx = shuffle.permutation(n)
            for s in range(0, n, batch_size):
                j = idx[s:s + batch_size]
                xb, yb = X[j], Y[j]
                z1 = xb @ W1
                z1 += b1
                a1 = np.maximum(z1, 0.0)
                z2 = a1 @ W2
                z2 += b2
                z2 -= z2.max(axis=1, keepdims=True)
                p = np.exp(z2)
                p /= p.sum(axis=1, keepdims=True)
                # the batch loss, as train_step, MLPClassifier and PyTorch compute it too
                epoch_loss += -np.sum(yb * np.log(np.maximum(p, 1e-12))) / len(j)
                dz2 = p - yb  # softmax + cross-entropy: (p − y) / B at the logits
                dz2 /= len(j)
                da1 = dz2 @ W2.T
                da1 *= z1 > 0
                grads = (xb.T @ da1, da1.sum(axis=0), a1.T @ dz2, dz2.sum(axis=0))
                t += 1
                c1, c2 = 1.0 - beta1**t, 1.0 - beta2**t
                for w, g, m, v in zip(params, grads, ms, vs, strict=True):
                    m *= beta1
                    m += (1.0 - beta1) * g
                    v *= beta2
                    v += (1.0 - beta2) * (g * g)
                    w -= (lr / c1) * m / (np.sqrt(v / c2) + eps)
    pred = (np.maximum(Xt @ W1 + b1, 0.0) @ W2 + b2).argmax(axis=1)
    return clock, float(np.mean(pred == yt))


def train_ann_core(data, epochs, lr, batch_size, seed):
    """The course's package: Sequential + Adam, iterate_minibatches + train_step."""
    X, y, Y, Xt, yt, np = data
    from ann_core.network import Sequential
    from ann_core.optimizers import Adam
    from ann_core.training import accuracy, iterate_minibatches, train_step

    net = Sequential.from_sizes(list(SIZES), ["relu", "softmax"], seed=seed)
    opt = Adam(lr)
    rng = np.random.default_rng(seed)
    with Clock() as clock:
        for _ in range(epochs):
            for xb, yb in iterate_minibatches(X, Y, batch_size, rng):
                train_step(net, xb, yb, "categorical_cross_entropy", opt)
    return clock, accuracy(net, Xt, yt)


def train_ann_core_fit(data, epochs, lr, batch_size, seed):
    """The same through ann_core.training.fit, which also records the loss and the training
    accuracy after every epoch (the history a learner plots): the bookkeeping's cost."""
    X, y, Y, Xt, yt, np = data
    from ann_core.network import Sequential
    from ann_core.optimizers import Adam
    from ann_core.training import accuracy, fit

    net = Sequential.from_sizes(list(SIZES), ["relu", "softmax"], seed=seed)
    with Clock() as clock:
        fit(net, X, Y, "categorical_cross_entropy", Adam(lr), epochs, batch_size, seed=seed)
    return clock, accuracy(net, Xt, yt)


def train_sklearn(data, epochs, lr, batch_size, seed):
    """MLPClassifier forced to run every epoch (tol=0, no early stopping, no L2 penalty)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    X, y, Y, Xt, yt, np = data
    clf = MLPClassifier(hidden_layer_sizes=(SIZES[1],), activation="relu", solver="adam",
                        alpha=0.0, batch_size=batch_size, learning_rate_init=lr,
                        max_iter=epochs, tol=0.0, n_iter_no_change=10**9, shuffle=True,
                        early_stopping=False, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # "max_iter reached": intended
        with Clock() as clock:
            clf.fit(X, y)
    if clf.n_iter_ != epochs:
        raise RuntimeError(f"MLPClassifier stopped after {clf.n_iter_} of {epochs} epochs")
    return clock, float(np.mean(clf.predict(Xt) == yt))


def train_torch(data, epochs, lr, batch_size, seed, threads=None):
    """torch.nn: Linear → ReLU → Linear, CrossEntropyLoss on the logits (= softmax + CCE)."""
    import torch

    X, y, Y, Xt, yt, np = data
    torch.set_num_threads(threads or os.cpu_count() or 1)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.ReLU(),
                                torch.nn.Linear(SIZES[1], SIZES[2]))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xs, ys = torch.from_numpy(X).float(), torch.from_numpy(y).long()
    gen = torch.Generator().manual_seed(seed)
    n = len(Xs)
    with Clock() as clock:
        for _ in range(epochs):
            perm = torch.randperm(n, generator=gen)
            for s in range(0, n, batch_size):
                j = perm[s:s + batch_size]
                opt.zero_grad()
                loss = loss_fn(model(Xs[j]), ys[j])
                loss.backward()
                opt.step()
    with torch.no_grad():
        pred = model(torch.from_numpy(Xt).float()).argmax(dim=1).numpy()
    return clock, float(np.mean(pred == yt))


def train_torch1(data, epochs, lr, batch_size, seed):
    return train_torch(data, epochs, lr, batch_size, seed, threads=1)


TRAINERS = {"fused": train_fused, "ann_core": train_ann_core, "ann_core_fit": train_ann_core_fit,
            "sklearn": train_sklearn, "torch": train_torch, "torch1": train_torch1}

# ------------------------------------------------------------------ the worker
def _threads():
    """torch's thread count for a variant: --threads if given, else one for torch1, all cores."""
    n = os.environ.get("BENCH_THREADS")
    return int(n) if n else None


def worker(variant, lr, batch_size) -> None:
    """Serve one variant: read commands on stdin, answer one JSON line each on stdout.

    ``train EPOCHS SEED`` → {"wall", "cpu", "acc"}; ``trace EPOCHS SEED`` → {"traced_peak"};
    ``done`` → {"maxrss_kib", "version", "threads"} and exit.
    """
    import resource
    import tracemalloc

    data = load_data()
    train = TRAINERS[variant]
    if variant.startswith("torch"):
        import torch

        threads = 1 if variant == "torch1" else (_threads() or os.cpu_count() or 1)
        torch.set_num_threads(threads)  # train_torch sets it again; same value
        version = f"torch {torch.__version__}, float32"

        def train(*a, _n=threads):
            return train_torch(*a, threads=_n)
    elif variant == "sklearn":
        import sklearn

        version = f"scikit-learn {sklearn.__version__}, float64"
    else:
        import numpy

        version = f"NumPy {numpy.__version__}, float64"

    def reply(obj):
        sys.stdout.write("RESULT " + json.dumps(obj) + "\n")
        sys.stdout.flush()

    reply({"ready": True})
    for line in sys.stdin:
        cmd, *rest = line.split()
        if cmd == "train":
            epochs, seed = int(rest[0]), int(rest[1])
            clock, acc = train(data, epochs, lr, batch_size, seed)
            reply({"wall": clock.wall, "cpu": clock.cpu, "acc": acc})
        elif cmd == "trace":
            epochs, seed = int(rest[0]), int(rest[1])
            tracemalloc.start()
            train(data, epochs, lr, batch_size, seed)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            reply({"traced_peak": peak})
        elif cmd == "done":
            reply({"maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   "version": version, "blas": _blas_info()})
            return


def _blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "?"
    pools = [f"{p.get('internal_api')} {p.get('version', '')}, {p.get('num_threads')} thread(s)"
             for p in threadpool_info()
             if p.get("user_api") == "blas" and "numpy" in p.get("filepath", "")]
    return ", ".join(pools) or "?"


class Worker:
    """A variant's worker process and its line protocol."""

    def __init__(self, variant, args):
        self.variant = variant
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        if args.threads:
            env["BENCH_THREADS"] = str(args.threads)
            for var in THREAD_VARS:
                env[var] = str(args.threads)
        self.stderr = tempfile.TemporaryFile(mode="w+")
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", variant,
               "--lr", str(args.lr), "--batch-size", str(args.batch_size)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True, env=env, cwd=ROOT)
        self.read()  # "ready": data loaded

    def read(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT "):])
        self.proc.wait()
        self.stderr.seek(0)
        raise RuntimeError(f"{self.variant} worker failed (exit {self.proc.returncode}):\n"
                           f"{self.stderr.read()[-2000:]}")

    def ask(self, command: str) -> dict:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> dict:
        out = self.ask("done")
        self.proc.wait(timeout=60)
        return out


def available(variant) -> bool:
    import importlib.util

    module = {"sklearn": "sklearn", "torch": "torch", "torch1": "torch"}.get(variant, "numpy")
    return importlib.util.find_spec(module) is not None


def measure(variants, args) -> dict:
    """Round-robin timed trainings over persistent workers; returns the raw results."""
    workers = {v: Worker(v, args) for v in variants}
    results = {v: {"wall": [], "cpu": [], "acc": []} for v in variants}
    try:
        for w in workers.values():
            w.ask(f"train 1 {args.seed}")  # warm-up: lazy imports, BLAS threads, caches
        order = list(variants)
        for r in range(args.repeats):
            k = r % len(order)
            for v in order[k:] + order[:k]:
                time.sleep(0.2)  # let the previous worker's BLAS/OpenMP threads go idle
                out = workers[v].ask(f"train {args.epochs} {args.seed + r}")
                for key in ("wall", "cpu", "acc"):
                    results[v][key].append(out[key])
        for v, w in workers.items():
            if not v.startswith("torch"):  # tracemalloc cannot see PyTorch's allocator
                results[v]["traced_peak"] = w.ask(f"trace {1 if args.quick else 2} {args.seed}")[
                    "traced_peak"]
            else:
                results[v]["traced_peak"] = None
            results[v].update(w.close())
    finally:
        for w in workers.values():
            if w.proc.poll() is None:
                w.proc.kill()
    return results


# ------------------------------------------------------------------ the report
def _label(v):
    n = int(os.environ.get("BENCH_THREADS") or os.cpu_count() or 1)
    return LABELS[v].format(n=n, s="" if n == 1 else "s")


def _per_epoch(r, key, epochs):
    return statistics.median(r[key]) / epochs


def report(results, args) -> None:
    """Print the table and whether each target is met."""
    env = {k: os.environ[k] for k in THREAD_VARS if k in os.environ}
    print(f"MLP {SIZES[0]}-{SIZES[1]}(relu)-{SIZES[2]}(softmax), Adam lr={args.lr:g}, "
          f"batch {args.batch_size}, categorical cross-entropy, {args.epochs} epochs")
    print(f"digits: 1437 train / 360 test; median of {args.repeats} round(s), seeds "
          f"{args.seed}..{args.seed + args.repeats - 1}; {os.cpu_count()} CPU cores "
          f"({platform.processor() or platform.machine()}); Python {platform.python_version()}")
    threads = (f"--threads {args.threads}: {', '.join(THREAD_VARS)}={args.threads}" if args.threads
               else "library defaults" + (f" ({', '.join(f'{k}={v}' for k, v in env.items())})"
                                          if env else ""))
    blas = results.get("ann_core", next(iter(results.values()), {})).get("blas", "?")
    print(f"threads: {threads}; NumPy's BLAS: {blas}")
    print()
    base = results.get("ann_core")
    base_t = _per_epoch(base, "wall", args.epochs) if base else None
    head = (f"{'variant':<28}{'test acc':>9}{'s/epoch':>10}{'cpu s/epoch':>12}{'× ann_core':>11}"
            f"{'traced peak':>13}{'× ann_core':>11}{'peak RSS':>10}{'× ann_core':>11}  version")
    print(head)
    print("-" * len(head))
    for v in VARIANTS:
        if v not in results:
            continue
        r = results[v]
        t, c = _per_epoch(r, "wall", args.epochs), _per_epoch(r, "cpu", args.epochs)
        ratio = f"{t / base_t:.2f}" if base_t else "-"
        if r["traced_peak"] is None:
            traced, traced_ratio = "n/a", "-"
        else:
            traced = f"{r['traced_peak'] / 1024:.0f} KiB"
            traced_ratio = (f"{r['traced_peak'] / base['traced_peak']:.2f}"
                            if base and base["traced_peak"] else "-")
        rss_ratio = f"{r['maxrss_kib'] / base['maxrss_kib']:.2f}" if base else "-"
        print(f"{_label(v):<28}{statistics.median(r['acc']):>9.4f}{t:>10.5f}{c:>12.5f}{ratio:>11}"
              f"{traced:>13}{traced_ratio:>11}{r['maxrss_kib'] / 1024:>6.0f} MiB{rss_ratio:>11}"
              f"  {r['version']}")
    for v in VARIANTS:
        if v not in results and not (v == "torch1" and "torch" in results):
            print(f"{_label(v):<28} skipped (not installed or not selected)")
    print()
    if base:
        acc = statistics.median(base["acc"])
        print(f"target: ann_core test accuracy >= {TARGET_ACC:.2f}: median {acc:.4f} "
              f"({'met' if acc >= TARGET_ACC else 'NOT met'}; per round "
              + ", ".join(f"{a:.4f}" for a in base["acc"]) + ")")
    if base and "fused" in results:
        fused = results["fused"]
        wall = base_t / _per_epoch(fused, "wall", args.epochs)
        cpu = _per_epoch(base, "cpu", args.epochs) / _per_epoch(fused, "cpu", args.epochs)
        per_round = [a / b for a, b in zip(base["wall"], fused["wall"], strict=True)]
        print(f"target: ann_core s/epoch <= {TARGET_RATIO}x the fused loop: {wall:.2f}x wall, "
              f"{cpu:.2f}x cpu ({'met' if wall <= TARGET_RATIO else 'NOT met'}; per round "
              + ", ".join(f"{x:.2f}" for x in per_round) + ")")


# ------------------------------------------------------------------ --course
def time_course(timeout: int = 600) -> float:
    """Execute every solutions/*/*.ipynb with nbclient in a temporary copy; print the times."""
    import shutil

    import nbformat
    from nbclient import NotebookClient

    try:  # the grader's kernel options: no history database, no start-up chatter on stderr
        from autograder.course import KERNEL_ARGS
    except ImportError:
        KERNEL_ARGS = []
    notebooks = sorted(p for p in (ROOT / "solutions").glob("*/*.ipynb")
                       if ".ipynb_checkpoints" not in p.parts)
    print(f"\nexecuting the whole course: {len(notebooks)} solution notebook(s), one after the "
          "other, with nbclient (kernel start-up included)")
    total = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for path in notebooks:
            work = Path(tmp) / path.parent.name
            shutil.copytree(path.parent, work)
            nb = nbformat.read(work / path.name, as_version=4)
            start = time.perf_counter()
            status = "ok"
            try:
                NotebookClient(nb, timeout=timeout, kernel_name="python3",
                               extra_arguments=KERNEL_ARGS,
                               resources={"metadata": {"path": str(work)}}).execute()
            except Exception as exc:  # report and carry on with the other notebooks
                status = f"FAILED: {type(exc).__name__}"
            seconds = time.perf_counter() - start
            total += seconds
            print(f"  {path.relative_to(ROOT)!s:<58}{seconds:>6.1f} s  {status}")
    print(f"target: whole course <= {TARGET_COURSE_S:.0f} s: {total:.1f} s "
          f"({'met' if total <= TARGET_COURSE_S else 'NOT met'})")
    return total


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
                   help="smoke test: 2 epochs, 1 round, no torch1, no course")
    p.add_argument("--only", nargs="+", choices=VARIANTS, help="run only these variants")
    p.add_argument("--course", action=argparse.BooleanOptionalAction, default=None,
                   help="also time executing every solution notebook (default: on, off with --quick)")
    p.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.worker, args.lr, args.batch_size)
        return 0
    if args.quick:
        args.repeats, args.epochs = 1, 2
    if args.threads:
        os.environ["BENCH_THREADS"] = str(args.threads)
    variants = [v for v in (args.only or VARIANTS) if available(v)]
    if args.quick and not args.only:
        variants = [v for v in variants if v != "torch1"]  # one PyTorch row is enough there
    if (os.cpu_count() or 1) == 1 or args.threads == 1:
        variants = [v for v in variants if v != "torch1"]  # it would repeat the torch row
    report(measure(variants, args), args)
    if args.course if args.course is not None else not args.quick:
        time_course()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
