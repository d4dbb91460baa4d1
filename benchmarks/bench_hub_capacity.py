"""How many learners one server holds: a bounded load test of ``python -m autograder hub`` on loopback.

For each N (``--learners 5,10,20``; ``--grow`` doubles on while Run All stays under the limit):

1. N local accounts ``annload001``… (made for the run, removed after unless ``--keep-accounts``)
   are the roster of a real JupyterHub on 127.0.0.1 (``python -m autograder hub``: PAM,
   LocalProcessSpawner, configurable-http-proxy, learner mode), started once for all rounds;
2. all N servers are started at once through the hub's REST API (an admin service token, and
   a token per learner as a log-in gives the browser); **time to a usable server**: from the
   start request until the server answers ``/api/status`` through the proxy;
3. all N learners **Run All** lesson 02 at once: a kernel each (kernels API), every code cell of
   the notebook sent in order over the kernel's websocket, as JupyterLab does;
4. **memory per learner**: the RSS of every process of the learner's account (server + kernel),
   read from ``/proc`` after Run All; **CPU per learner**: user + system time of those
   processes during Run All (load-independent, unlike the wall clock);
5. the servers are stopped before the next N.

The limit (``--limit``, default 30 s) is the slowest learner's Run All; the first N whose slowest
Run All exceeds it is reported as where this machine stops keeping up. Every wait is bounded
(``--start-timeout``, ``--run-timeout``) and nothing leaves 127.0.0.1.

    sudo python benchmarks/bench_hub_capacity.py --learners 5,10,20 --grow --json hub-capacity.json

Needs root (accounts, the hub) and ``pip install -e '.[hub]'`` and configurable-http-proxy.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from autograder.hub.remote import Hub, HubAPIError, Kernel, request  # noqa: E402

PREFIX = "annload"
CLK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cells(which: str) -> list[str]:
    """The code cells of lesson 02: the learner's released notebook or the finished one (solutions/)."""
    path = ROOT / which / "02_activations" / "02_activations.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def make_accounts(n: int) -> list[str]:
    users = [f"{PREFIX}{i:03d}" for i in range(1, n + 1)]
    for u in users:
        try:
            pwd.getpwnam(u)
        except KeyError:
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", "--user-group", u],
                           check=True, capture_output=True)
        os.chmod(pwd.getpwnam(u).pw_dir, 0o700)
    return users


def remove_accounts(users: list[str]) -> None:
    for u in users:
        subprocess.run(["userdel", "--remove", u], capture_output=True)


def per_uid() -> dict[int, tuple[int, float]]:
    """{uid: (RSS bytes, CPU seconds)} over every process in /proc."""
    out: dict[int, list] = {}
    for p in Path("/proc").glob("[0-9]*"):
        try:
            status = (p / "status").read_text()
            stat = (p / "stat").read_text()
        except OSError:
            continue
        uid = rss = None
        for line in status.splitlines():
            if line.startswith("Uid:"):
                uid = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
        if uid is None:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        cpu = (int(fields[11]) + int(fields[12])) / CLK  # utime + stime
        acc = out.setdefault(uid, [0, 0.0])
        acc[0] += rss or 0
        acc[1] += cpu
    return {k: (v[0], v[1]) for k, v in out.items()}


def run_all(hub: Hub, user: str, token: str, uid: int, code: list[str], timeout: float) -> dict:
    """Every code cell in order on a new kernel of ``user``'s server, then (kernel still up) the
    account's memory; CPU is the account's user + system time from before the kernel started."""
    cpu0 = per_uid().get(uid, (0, 0.0))[1]
    with Kernel(hub, user, token) as k:
        t0 = time.monotonic()
        errors = 0
        for source in code:
            left = timeout - (time.monotonic() - t0)
            if left <= 0:
                raise TimeoutError(f"{user}: Run All over {timeout:.0f} s")
            errors += k.execute(source, timeout=left)["status"] != "ok"
        seconds = time.monotonic() - t0
        rss, cpu1 = per_uid().get(uid, (0, 0.0))
    return {"seconds": seconds, "errors": errors, "rss": rss, "cpu": cpu1 - cpu0}


def parallel(fn, items) -> dict:
    """``fn(item)`` for every item at once (threads); {item: result or the exception}."""
    results: dict = {}

    def one(item):
        try:
            results[item] = fn(item)
        except Exception as exc:  # reported per learner, the round goes on
            results[item] = exc

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def summary(xs: list[float]) -> dict:
    return {"median": round(statistics.median(xs), 2), "max": round(max(xs), 2)} if xs else {}


def round_n(hub: Hub, users: list[str], tokens: dict, code: list[str], args) -> dict:
    uids = {u: pwd.getpwnam(u).pw_uid for u in users}
    started = parallel(lambda u: hub.start(u, tokens[u], timeout=args.start_timeout), users)
    ok = [u for u in users if isinstance(started[u], float)]
    ran = parallel(lambda u: run_all(hub, u, tokens[u], uids[u], code, args.run_timeout), ok)
    done = [r for r in ran.values() if isinstance(r, dict)]
    failures = {u: f"{type(r).__name__}: {str(r)[:200]}" for u, r in {**started, **ran}.items()
                if isinstance(r, Exception)}
    for u in users:
        hub.stop(u)
    _wait_gone([uids[u] for u in users], 120)
    runs = [r["seconds"] for r in done]
    return {
        "n": len(users),
        "usable_server_s": summary([s for s in started.values() if isinstance(s, float)]),
        "run_all_s": summary(runs),
        "cells_with_errors": sorted({r["errors"] for r in done}),
        "cpu_per_run_all_s": summary([r["cpu"] for r in done]),
        "rss_per_learner_mib": summary([r["rss"] / 2**20 for r in done]),
        "failures": failures,
        "held": len(runs) == len(users) and max(runs) <= args.limit,
    }


def _wait_gone(uids: list[int], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        live = per_uid()
        if not any(u in live for u in uids):
            return
        time.sleep(1)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--learners", default="5,10,20", help="the N to try, comma-separated (default 5,10,20)")
    p.add_argument("--grow", action="store_true", help="after the list, double N while Run All holds")
    p.add_argument("--max-learners", type=int, default=80, help="never more than this many (default 80)")
    p.add_argument("--limit", type=float, default=30.0, help="the slowest Run All allowed, seconds (default 30)")
    p.add_argument("--notebook", choices=["solutions", "lessons"], default="solutions",
                   help="lesson 02 finished (solutions, default: every cell computes) or as released")
    p.add_argument("--start-timeout", type=float, default=240)
    p.add_argument("--run-timeout", type=float, default=180)
    p.add_argument("--keep-accounts", action="store_true")
    p.add_argument("--json", help="also write the figures to this file")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("run it as root (it makes local accounts and starts JupyterHub)", file=sys.stderr)
        return 2
    plan = [int(x) for x in args.learners.split(",")]
    if args.grow:
        while plan[-1] * 2 <= args.max_learners:
            plan.append(plan[-1] * 2)
    plan = [n for n in plan if n <= args.max_learners]
    code = cells(args.notebook)
    users = make_accounts(max(plan))
    state = Path(tempfile.mkdtemp(prefix="ann-hub-load-", dir="/srv" if Path("/srv").is_dir() else None))
    (state / "roster.csv").write_text("username\n" + "".join(u + "\n" for u in users))
    port, token = free_port(), secrets.token_hex(16)
    log = open(state / "hub.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder", "hub", "--learners", str(state / "roster.csv"), "--port", str(port),
         "--hub-port", str(free_port()), "--proxy-api-port", str(free_port()), "--state-dir", str(state),
         "--exchange", str(state / "exchange"), "--cull-idle", "3600"],
        env=dict(os.environ, ANN_HUB_ADMIN_TOKEN=token), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    hub = Hub(f"http://127.0.0.1:{port}", token)
    rounds = []
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                request(f"{hub.base}/hub/api/", token, timeout=5)
                break
            except (OSError, HubAPIError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the hub did not start; its log: {state / 'hub.log'}") from None
                time.sleep(0.5)
        tokens = {u: hub.user_token(u, "load test") for u in users}
        print(f"{'N':>4} {'usable server s (median/max)':>30} {'Run All s (median/max)':>24} "
              f"{'CPU s/Run All':>14} {'RSS MiB/learner':>16}  held")
        for n in plan:
            r = round_n(hub, users[:n], tokens, code, args)
            rounds.append(r)
            u, ra, c, m = r["usable_server_s"], r["run_all_s"], r["cpu_per_run_all_s"], r["rss_per_learner_mib"]
            print(f"{n:>4} {u.get('median', '-'):>20} / {u.get('max', '-'):<7} {ra.get('median', '-'):>14} / "
                  f"{ra.get('max', '-'):<7} {c.get('median', '-'):>14} {m.get('median', '-'):>16}  "
                  f"{'yes' if r['held'] else 'NO'}{'  failures: ' + str(len(r['failures'])) if r['failures'] else ''}",
                  flush=True)
            if not r["held"]:
                break
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        try:  # the proxy runs in a session of its own: stop it if the hub could not
            pid = int((state / "jupyterhub-proxy.pid").read_text())
            if b"configurable-http-proxy" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass
        if not args.keep_accounts:
            remove_accounts(users)
        shutil.rmtree(state, ignore_errors=True)
    broke = next((r["n"] for r in rounds if not r["held"]), None)
    mem_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
    result = {"cores": os.cpu_count(), "mem_gib": mem_gib, "limit_s": args.limit,
              "notebook": f"{args.notebook}/02_activations", "cells": len(code), "rounds": rounds,
              "first_n_over_limit": broke, "load_average_at_end": os.getloadavg()}
    print(f"first N whose slowest Run All exceeded {args.limit:g} s: {broke or 'none up to ' + str(plan[-1])}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
