"""Helpers of the real-browser tests: Debian's Chromium driven by Playwright, and a Jupyter server for it.

Chromium is launched by its path (``/usr/bin/chromium``, or ``ANN_CHROMIUM``) with
``--no-sandbox``; no browser is ever downloaded (no ``playwright install``). Where Playwright
or Chromium is missing, the tests skip with a one-line reason before any set-up. Not in the
default ``pytest`` run; ``.ci/run`` runs ``pytest -m browser tests``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ANN_CHROMIUM", "/usr/bin/chromium")


def require_browser() -> None:
    """Skip, with the reason, unless Playwright and Chromium are both here."""
    pytest.importorskip("playwright.sync_api", reason="no Playwright: pip install -e '.[browser]'")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no browser at {CHROMIUM} (apt-get install chromium, or set ANN_CHROMIUM)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyter_server(argv, *, env, cwd, token: str, log: Path, seconds: float = 60):
    """Start a Jupyter server (``argv`` names its port); yield once ``/api/status`` answers; stop it."""
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    port = next(a.split("=")[1] for a in argv if a.startswith(("--port=", "--ServerApp.port=")))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + seconds
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the Jupyter server did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
