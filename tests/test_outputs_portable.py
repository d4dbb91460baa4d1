"""Stored outputs hold on any machine: nbval on solutions/ with another BLAS kernel and one thread.

A learner's laptop, another CPU or a single thread must not break nbval: the solutions
print only what is stable (chaotic training, such as lesson 11's α = 0.1, prints its best
epoch only) or mask it in ``tests/sanitize.cfg``. This runs the same nbval as the default
``pytest`` in a subprocess with OpenBLAS forced to another kernel than the one it picks here
(``OPENBLAS_CORETYPE``) and one thread. Slow (the whole course once more): run by ``.ci/run``.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _openblas_kernel() -> str | None:
    import numpy  # noqa: F401  (loads OpenBLAS, so threadpoolctl can see it)
    from threadpoolctl import threadpool_info

    return next((i.get("architecture") for i in threadpool_info() if i.get("internal_api") == "openblas"), None)


def test_nbval_with_another_blas_kernel_and_one_thread():
    current = _openblas_kernel()
    if platform.machine() != "x86_64" or current is None:
        pytest.skip("needs NumPy's OpenBLAS on x86_64 to force another kernel")
    other = "Sandybridge" if current != "Sandybridge" else "Haswell"  # both run on any AVX2 machine
    env = dict(os.environ, OPENBLAS_CORETYPE=other, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    code = ("import numpy, threadpoolctl; print(next(i.get('architecture') for i in threadpoolctl.threadpool_info()"
            " if i.get('internal_api') == 'openblas'))")
    probe = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert probe.stdout.strip() == other, f"OpenBLAS did not switch to {other}: {probe.stdout}{probe.stderr}"
    run = subprocess.run([sys.executable, "-m", "pytest", "solutions", "-q", "-p", "no:cacheprovider", "-m", ""],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    tail = "\n".join(run.stdout.splitlines()[-40:])
    assert run.returncode == 0, f"nbval with OpenBLAS {other} and one thread (here: {current}) failed:\n{tail}"
    assert " passed" in tail and "no tests ran" not in tail, tail
