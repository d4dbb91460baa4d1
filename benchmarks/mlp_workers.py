"""The worker protocol of bench_mlp.py: one process per variant, one JSON line per command.

A variant's imports and threads cannot slow another when each runs in its own process. The
parent starts ``python benchmarks/mlp_workers.py VARIANT --lr LR --batch-size B [--threads N]``
and talks to it through ``Worker``; the worker loads the data, answers ``{"ready": true}``, then
serves one command per line on stdin, each answered by one line ``RESULT {json}`` on stdout:

    train EPOCHS SEED   → {"wall": s, "cpu": s, "acc": test accuracy}
    trace EPOCHS SEED   → {"traced_peak": bytes}   (tracemalloc's peak during that training)
    done                → {"maxrss_kib": …, "version": …, "blas": …}, then the worker exits
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
THREAD_VARS = ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"]


# ------------------------------------------------------------------ the worker's side
def serve(variant: str, lr: float, batch_size: int, threads: int | None) -> None:
    """Answer the parent's commands for ``variant`` until ``done``."""
    import resource
    import tracemalloc

    from mlp_trainers import TRAINERS, load_data, prepare

    version = prepare(variant, threads)
    train = TRAINERS[variant][0]
    data = load_data()
    _reply({"ready": True})
    for line in sys.stdin:
        cmd, *rest = line.split()
        if cmd == "train":
            clock, acc = train(data, int(rest[0]), lr, batch_size, int(rest[1]))
            _reply({"wall": clock.wall, "cpu": clock.cpu, "acc": acc})
        elif cmd == "trace":
            tracemalloc.start()
            train(data, int(rest[0]), lr, batch_size, int(rest[1]))
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            _reply({"traced_peak": peak})
        elif cmd == "done":
            _reply({"maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                    "version": version, "blas": blas_info()})
            return


def _reply(obj) -> None:
    sys.stdout.write("RESULT " + json.dumps(obj) + "\n")
    sys.stdout.flush()


def blas_info() -> str:
    """NumPy's BLAS library and its thread count, as threadpoolctl reports them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "?"
    pools = [f"{p.get('internal_api')} {p.get('version', '')}, {p.get('num_threads')} thread(s)"
             for p in threadpool_info()
             if p.get("user_api") == "blas" and "numpy" in p.get("filepath", "")]
    return ", ".join(pools) or "?"


# ------------------------------------------------------------------ the parent's side
class Worker:
    """A variant's worker process; ``ask`` sends one command and returns its answer."""

    def __init__(self, variant: str, lr: float, batch_size: int, threads: int | None):
        self.variant = variant
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        cmd = [sys.executable, str(HERE / "mlp_workers.py"), variant, "--lr", str(lr),
               "--batch-size", str(batch_size)]
        if threads:
            env.update({var: str(threads) for var in THREAD_VARS})
            cmd += ["--threads", str(threads)]
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True, env=env, cwd=ROOT)
        self._read()  # {"ready": true}: data loaded

    def _read(self) -> dict:
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
        return self._read()

    def close(self) -> dict:
        """Send ``done``; returns the worker's last answer (memory, versions)."""
        out = self.ask("done")
        self.proc.wait(timeout=60)
        return out

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description="a bench_mlp.py worker (started by Worker)")
    p.add_argument("variant")
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--batch-size", type=int, required=True)
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args()
    serve(a.variant, a.lr, a.batch_size, a.threads)
