"""A hostile class, graded as root and as an ordinary account: no attack may work.

Threat model (README, "Grading safely"): learner code may do anything a Python process
can do as the user it runs as, for as long as it runs. Each attacker below is a lesson 01
submission whose ``weighted_sum`` cell is right and then attacks; two perfect learners are
graded in the same batch and must keep full marks.

The batch is graded twice: in this process (as root in CI; skipped otherwise) and through
``runuser`` as the unprivileged account ``anngrader`` (created by ``tests/system-setup.sh``,
which ``.ci/run`` runs), on a copy of the course that this account owns, so that "read-only"
means the sandbox and not file permissions. Run as an ordinary user, the second batch is
graded in this process instead.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from autograder import submissions as subs
from autograder.course import Course
from autograder.execute import read
from autograder.sandbox import probe

LESSON = "01_layers"
ACCOUNT = "anngrader"
TAG = f"ANN-ATTACK-{os.getpid()}"  # in every process an attacker leaves behind, to find them
ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(probe()), reason=f"no sandbox on this machine: {probe()}")]


def _attacks(t: dict) -> dict[str, str]:
    """Attack code per learner, appended to a right ``weighted_sum``; ``t`` holds the targets."""
    return {
        "snoop": f"""
import os, pathlib
for what, path, mode in {t['files']!r}:
    try:
        if mode == 'r':
            pathlib.Path(path).read_bytes()
            print('LEAK', what, mode)
        else:  # a write that lands in the sandbox's own scratch harms nobody: the test looks at the host
            with open(path, 'ab') as fh:
                fh.write(b'# hacked\\n')
            print('wrote', what, mode)
    except OSError as exc:
        print('blocked', what, mode, type(exc).__name__)
print('uid', os.getuid(), 'gid', os.getgid(), 'groups', os.getgroups())
print('caps', open('/proc/self/status').read().split('CapEff:')[1].split()[0])
""",
        "lurker": f"""
import os, subprocess, sys
code = '''# {TAG}
import time, pathlib
for _ in range(300):
    time.sleep(0.2)
    for path in {[t['grades'], t['items'], t['gradebook']]!r}:
        try:
            open(path, 'w').write('forged')
        except OSError:
            pass
    try:
        pathlib.Path({t['marker']!r}).write_text('lurker was here')
    except OSError:
        pass
'''
subprocess.Popen([sys.executable, '-c', code], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print('lurker started')
""",
        "peer": """
import glob, json, os, time
found = set()
deadline = time.time() + 4
while time.time() < deadline:
    for pattern in ['/tmp/**/*.json', '/run/**/*.json', '/dev/shm/**/*.json', os.path.expanduser('~/**/*.json'),
                    '/var/tmp/**/*.json', '/root/**/kernel*.json', '/home/**/kernel*.json']:
        for path in glob.glob(pattern, recursive=True):
            try:
                if 'shell_port' in json.load(open(path)):
                    found.add(path)
            except Exception:
                pass
    time.sleep(0.2)
from ipykernel.connect import get_connection_file
found.discard(os.path.realpath(get_connection_file()))  # its own kernel's: no use
found = {f for f in found if os.path.realpath(f) != os.path.realpath(get_connection_file())}
print('connection files found', len(found), sorted(found))
from jupyter_client import BlockingKernelClient
for path in found:
    try:
        kc = BlockingKernelClient(connection_file=path)
        kc.load_connection_file()
        kc.start_channels()
        kc.execute("import ann_core.checks as c; "
                   "c.check = lambda *a, **k: (_ for _ in ()).throw(AssertionError('zeroed'))")
        print('CONNECTED', path)
    except Exception as exc:
        print('no connection', path, type(exc).__name__)
""",
        "network": f"""
import socket
for host in ['127.0.0.1', 'localhost', {t['host_ip']!r}]:
    try:
        socket.create_connection((host, {t['port']}), timeout=2).sendall(b'hello from the sandbox')
        print('LEAK tcp', host)
    except OSError as exc:
        print('blocked tcp', host, type(exc).__name__)
""",
        "flood": """
import os
total = 0
places = [os.path.expanduser('~'), '/tmp', '/dev/shm', '/var/tmp', os.getcwd()]
for where in sorted({os.path.realpath(d) for d in places}):
    for i in range(40):
        try:
            with open(os.path.join(where, f'flood{i}'), 'wb') as fh:
                fh.write(b'x' * (32 << 20))
            total += 32
        except OSError:
            break
print('flood MiB', total)
""",
        "procs": f"""
import os, signal, subprocess, sys
started = []
try:
    for _ in range(400):
        started.append(subprocess.Popen([sys.executable, '-I', '-S', '-c', 'import time; time.sleep(30)  # {TAG}'],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))
except (OSError, BlockingIOError) as exc:
    pass
print('processes started', len(started))
visible = [p for p in os.listdir('/proc') if p.isdigit()]
print('pids visible', len(visible), 'grader visible', {str(t['grader_pid'])!r} in visible)
try:
    os.kill({t['grader_pid']}, 0)
    print('LEAK signal grader')
except OSError as exc:
    print('blocked signal', type(exc).__name__)
for p in started:
    p.kill()
""",
    }


def _tree_digest(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(str(f.relative_to(path)).encode() + f.read_bytes())
    return h.hexdigest()


class _Listener:
    """A TCP server on the host that records every connection (there must be none)."""

    def __init__(self):
        self.sock = socket.create_server(("0.0.0.0", 0))
        self.port = self.sock.getsockname()[1]
        self.seen = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, addr = self.sock.accept()
            except OSError:
                return
            self.seen.append(addr)
            conn.close()

    def close(self):
        self.sock.close()


def _host_ip() -> str:
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def _leftovers() -> list[str]:
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if TAG.encode() in (d / "cmdline").read_bytes():
                    found.append(d.name)
            except OSError:
                pass
    return found


def _kill_leftovers():
    for pid in _leftovers():
        try:
            os.kill(int(pid), 9)
        except OSError:
            pass


def _account_ready() -> str:
    """'' if ``anngrader`` exists and can run this interpreter, else why not."""
    if not _account_exists():
        return f"no account {ACCOUNT!r} (tests/system-setup.sh creates it)"
    run = subprocess.run(["runuser", "-u", ACCOUNT, "--", sys.executable, "-c", "import autograder"],
                         capture_output=True, text=True, cwd="/")
    return "" if run.returncode == 0 else f"{ACCOUNT} cannot run {sys.executable}: {run.stderr.strip()[-200:]}"


def _grade_batch(mode: str, tmp: Path) -> dict:
    """Write the class, grade it in ``mode`` ('root' or 'unprivileged'); return what the tests need."""
    unprivileged = mode == "unprivileged"
    as_account = unprivileged and os.geteuid() == 0
    if mode == "root" and os.geteuid() != 0:
        pytest.skip("grading as root needs root")
    if as_account and (why := _account_ready()):
        pytest.skip(why)
    tmp.mkdir(parents=True, exist_ok=True)
    course_root = tmp / "course"
    if as_account:  # a course the account owns: read-only must come from the sandbox, not from permissions
        for name in ("solutions", "lessons", "ann_core", "autograder"):
            shutil.copytree(ROOT / name, course_root / name, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / "pyproject.toml", course_root)
    else:
        course_root = ROOT
    course = Course(course_root)
    sub_dir, out = tmp / "submissions", tmp / "out"
    marker = Path("/tmp") / f"{TAG}-{mode}"
    listener = _Listener()
    targets = {
        "grades": str(out / "grades.csv"), "items": str(out / "items.csv"),
        "gradebook": str(out / "nbgrader" / "gradebook.db"), "marker": str(marker),
        "port": listener.port, "host_ip": _host_ip(), "grader_pid": os.getpid(),
        "files": [
            ("gradebook", str(out / "nbgrader" / "gradebook.db"), "r"),
            ("gradebook", str(out / "nbgrader" / "gradebook.db"), "a"),
            ("grades.csv", str(out / "grades.csv"), "a"),
            ("classmate's notebook", str(sub_dir / "perfect1" / LESSON / f"{LESSON}.ipynb"), "r"),
            ("classmate's notebook", str(sub_dir / "perfect1" / LESSON / f"{LESSON}.ipynb"), "a"),
            ("hidden tests", str(course.solution(LESSON)), "r"),
            ("course history", str(ROOT / ".git" / "HEAD"), "r"),
            ("ann_core", str(course_root / "ann_core" / "__init__.py"), "a"),
            ("site-packages", str(Path(sys.prefix) / "lib" / "python3.11" / "site-packages" / "ann_hack.pth"), "a"),
            ("a path on sys.path", str(course_root / "ann_hack.py"), "a"),
            ("/proc/sys", "/proc/sys/kernel/hostname", "a"),
            ("/dev", "/dev/kmsg", "a"),
            ("/etc/shadow", "/etc/shadow", "r"),
        ],
    }
    right = subs.learner_notebook(course, LESSON)
    ws = next(c.source for c in right.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "weighted_sum")
    learners = {"perfect1": right, "perfect2": subs.learner_notebook(course, LESSON)}
    for name, code in _attacks(targets).items():
        learners[name] = subs.learner_notebook(course, LESSON, {"weighted_sum": ws + "\n" + code})
    for student, nb in learners.items():
        subs.write(nb, sub_dir, student, LESSON)
    before = {"classmate": (sub_dir / "perfect1" / LESSON / f"{LESSON}.ipynb").read_bytes(),
              "ann_core": _tree_digest(course_root / "ann_core"),
              "site": sorted(os.listdir(Path(sys.prefix) / "lib" / "python3.11" / "site-packages"))}
    trap = Path("/tmp") / "ann-grader"  # the old fixed work directory, pre-created by someone else
    if os.geteuid() == 0 and not trap.exists():
        trap.mkdir()
        shutil.chown(trap, ACCOUNT if _account_exists() else "nobody")
    before["trap"] = sorted(os.listdir(trap)) if trap.is_dir() else None
    cmd = [sys.executable, "-m", "autograder", "grade", str(sub_dir), "--lesson", LESSON, "--out", str(out),
           "--workers", "2", "--timeout", "10", "--quiet"]
    private_tmp = tmp / "tmpdir"  # the grader's TMPDIR: everything it makes there must be gone at the end
    private_tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(private_tmp))
    if as_account:
        home = tmp / "home"
        home.mkdir()
        env.update(HOME=str(home), PYTHONPATH=str(course_root))
        subprocess.run(["chown", "-R", ACCOUNT, str(tmp)], check=True)
        cmd = ["runuser", "-u", ACCOUNT, "--", *cmd]
    t0 = time.perf_counter()
    run = subprocess.run(cmd, cwd=course_root, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - t0
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    grades_now = (out / "grades.csv").read_text()
    time.sleep(3)  # a process left behind would strike now, after grade returned
    state = {
        "out": out, "run": run, "seconds": seconds, "grades_then": grades_now,
        "grades_later": (out / "grades.csv").read_text(), "leftovers": _leftovers(),
        "marker": marker.exists(), "tcp": list(listener.seen), "before": before,
        "classmate_after": (sub_dir / "perfect1" / LESSON / f"{LESSON}.ipynb").read_bytes(),
        "ann_core_after": _tree_digest(course_root / "ann_core"),
        "site_after": sorted(os.listdir(Path(sys.prefix) / "lib" / "python3.11" / "site-packages")),
        "sys_path_file": (course_root / "ann_hack.py").exists(),
        "tmpdir_after": sorted(f"{p.name} ({'dir' if p.is_dir() else 'file'}, uid {p.stat().st_uid}: "
                               f"{sorted(os.listdir(p))[:5] if p.is_dir() else p.read_bytes()[:60]})"
                               for p in private_tmp.iterdir()),
        "trap": sorted(os.listdir(trap)) if trap.is_dir() else None,
    }
    listener.close()
    _kill_leftovers()
    marker.unlink(missing_ok=True)
    return state


def _account_exists() -> bool:
    try:
        pwd.getpwnam(ACCOUNT)
        return True
    except KeyError:
        return False


@pytest.fixture(scope="module", params=["root", "unprivileged"])
def batch(request):
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix=f"{TAG}-{request.param}-"))  # pytest's own is 0700: the account needs a way in
    os.chmod(tmp, 0o755)
    try:
        yield request.param, _grade_batch(request.param, tmp / "work")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _rows(text: str) -> dict:
    import csv
    import io

    return {r["student_id"]: r for r in csv.DictReader(io.StringIO(text))}


def _output(state, student) -> str:
    nb = read(state["out"] / "nbgrader" / "autograded" / student / LESSON / f"{LESSON}.ipynb")
    return "".join(str(o.get("text", "")) + str(o.get("evalue", ""))
                   for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_perfect_learners_keep_full_marks_and_grades_stay_put(batch):
    _, s = batch
    rows = _rows(s["grades_then"])
    import csv

    from autograder.score import MANUAL

    items = list(csv.DictReader((s["out"] / "items.csv").open()))
    for who in ("perfect1", "perfect2"):  # full marks for every autograded item; written answers wait for a person
        auto = sum(float(i["max_score"]) for i in items if i["student_id"] == who and i["status"] != MANUAL)
        assert float(rows[who]["score"]) == auto > 0, rows[who]
    assert s["grades_later"] == s["grades_then"], "grades.csv changed after grade returned"
    assert "forged" not in (s["out"] / "items.csv").read_text()
    import sqlite3

    with sqlite3.connect(s["out"] / "nbgrader" / "gradebook.db") as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)


def test_no_file_outside_the_scratch_can_be_read_or_written(batch):
    mode, s = batch
    text = _output(s, "snoop")
    assert "LEAK" not in text, text
    assert text.count("blocked") + text.count("wrote") == 13, text
    assert "wrote /dev" not in text and "wrote /proc/sys" not in text, text
    assert s["classmate_after"] == s["before"]["classmate"]
    assert s["ann_core_after"] == s["before"]["ann_core"]
    assert s["site_after"] == s["before"]["site"] and not s["sys_path_file"]


def test_the_kernel_runs_unprivileged(batch):
    mode, s = batch
    text = _output(s, "snoop")
    uid = int(text.split("uid ")[1].split()[0])
    assert "caps 0000000000000000" in text, text
    if mode == "root":  # a fresh uid per kernel, nobody's account, no groups
        assert uid >= 1_000_000_000 and "groups []" in text, text
    else:  # the account itself (no capabilities, in a user namespace that may not make another)
        assert uid == (pwd.getpwnam(ACCOUNT).pw_uid if os.geteuid() == 0 else os.getuid()), text


def test_nothing_outlives_the_notebook(batch):
    _, s = batch
    assert "lurker started" in _output(s, "lurker")
    assert s["leftovers"] == [] and not s["marker"]


def test_no_kernel_can_reach_another_kernel(batch):
    _, s = batch
    text = _output(s, "peer")
    assert "connection files found 0" in text and "CONNECTED" not in text, text


def test_no_network(batch):
    _, s = batch
    text = _output(s, "network")
    assert "LEAK" not in text and text.count("blocked tcp") == 3, text
    assert s["tcp"] == []


def test_bytes_written_and_processes_are_bounded(batch):
    mode, s = batch
    flood = int(_output(s, "flood").split("flood MiB ")[1].split()[0])
    assert 0 < flood <= 384, flood  # HOME 256 MiB, /tmp and /dev/shm 64 MiB each; nothing else is writable
    text = _output(s, "procs")
    started = int(text.split("processes started ")[1].split()[0])
    # RLIMIT_NPROC: 128 for the kernel's own uid as root; as an account, 128 more than it had
    assert started < (128 if mode == "root" else 256), text
    assert "grader visible False" in text and "LEAK" not in text, text
    assert int(text.split("pids visible ")[1].split()[0]) <= started + 4


def test_no_shared_fixed_paths_and_nothing_left_in_tmp(batch):
    _, s = batch
    assert s["tmpdir_after"] == [], s["tmpdir_after"]  # every directory grade made in its TMPDIR is gone
    assert s["trap"] == s["before"]["trap"]  # a directory someone else made there is not used
