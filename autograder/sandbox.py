"""The kernel that runs learner code while grading: a locked-down ``ipykernel``.

``grade`` executes every submission with the kernelspec ``ann-sandbox`` written by
``kernelspec()``; its command is ``python -m autograder.sandbox -f CONNECTION_FILE``,
which prepares the process and then *becomes* an ordinary IPython kernel (``execve``,
same pid, so nbclient's interrupts and kills still reach it):

* **a private scratch directory** (``ANN_SANDBOX_DIR``, made by the grader for this
  one submission) is the working directory and ``HOME``; the environment is replaced
  by a minimal one (no instructor variables leak in);
* **resource limits** (``setrlimit``): CPU seconds for the whole notebook, address
  space (memory), the largest file written, no core dumps;
* **a private view of the file system** (when the grader runs as root, as in a
  container): the kernel gets its own mount namespace in which the paths listed in
  ``ANN_SANDBOX_HIDE`` (the grading workspace with the gradebook, autograded notebooks,
  feedback and exports; the submissions; the instructor's ``solutions/``; the other
  submissions' scratch directories) are covered by empty read-only file systems,
  every other mount is read-only (nothing on disk can be changed, ann_core included)
  except the scratch directory, and ``/dev/shm`` is private. Then every capability
  is dropped from the bounding set, so the kernel — still uid 0, but without any
  privilege — can neither undo those mounts nor override file permissions.
  Without root (or without the right to make a mount namespace, as in a container
  without CAP_SYS_ADMIN) this step is skipped, the limits still apply, and ``grade``
  says so once (``can_confine``).

What is *not* isolated: the network, CPU and memory beyond the limits above, and
readable files outside the hidden paths (the installed packages, ann_core). See the
README's "Grading safely".
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
from pathlib import Path

KERNEL_NAME = "ann-sandbox"
SANDBOX_ENV = "ANN_AUTOGRADER"  # set to 1 inside a grading kernel (ann_core.checks records results)


def kernelspec(base: Path) -> Path:
    """Write the ``ann-sandbox`` kernelspec under ``base/kernels``; returns ``base`` (a JUPYTER_PATH entry)."""
    spec_dir = base / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "autograder.sandbox", "-f", "{connection_file}"],
        "display_name": "ANN course grading sandbox",
        "language": "python",
        "interrupt_mode": "signal",
    }))
    return base


def _limit(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    resource.setrlimit(which, (value, value))


# ------------------------------------------------------------ mount namespace (root only)
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = (
    1, 2, 4, 32, 4096, 16384, 1 << 18)
_CLONE_NEWNS, _PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS = 0x00020000, 24, 38


def _libc():
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)

    def checked(name):
        fn = getattr(libc, name)

        def call(*args):
            if fn(*args) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"{name}{args!r}: {os.strerror(err)}")
        return call
    return checked


def _mount(libc, source, target, fstype, flags, data=None) -> None:
    def enc(x):
        return None if x is None else str(x).encode()

    libc("mount")(enc(source), enc(target), enc(fstype), flags, enc(data))


def _mount_points() -> list[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")  # \040 for spaces
        points.append(point)
    return points


def _confine(scratch: Path, hide: list[Path]) -> Path:
    """Private mounts: hide ``hide``, make everything else read-only but ``scratch``.

    Returns where the scratch directory is visible inside the namespace.
    """
    libc = _libc()
    libc("unshare")(_CLONE_NEWNS)
    _mount(libc, None, "/", None, _MS_REC | _MS_PRIVATE)
    keep = os.open(scratch, os.O_RDONLY | os.O_DIRECTORY)
    visible = scratch
    hidden = {p.resolve() for p in hide if p.is_dir()}
    for path in sorted(hidden, key=lambda p: len(p.parts)):
        if any(parent in hidden for parent in path.parents):
            continue  # already under a hidden directory
        _mount(libc, "tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=64k,mode=711")
        if scratch.resolve().is_relative_to(path):  # our own scratch: bring it back, alone
            visible = path / "work"
            visible.mkdir()
            _mount(libc, f"/proc/self/fd/{keep}", visible, None, _MS_BIND)
        _mount(libc, None, path, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
    if Path("/dev/shm").is_dir():
        _mount(libc, "tmpfs", "/dev/shm", "tmpfs", _MS_NOSUID | _MS_NODEV, "size=64m")
    if visible == scratch:
        _mount(libc, scratch, scratch, None, _MS_BIND)
    os.close(keep)
    writable = {str(visible), "/dev/shm", "/proc", "/sys", "/dev"}
    for point in _mount_points():
        if point in writable or point.startswith(("/proc/", "/sys/", "/dev/")):
            continue
        try:
            _mount(libc, None, point, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY)
        except OSError:
            pass  # a mount that refuses (e.g. already read-only with other flags): leave it
    for cap in range(64):  # no privilege left: no umount, no remount, no permission override
        try:
            libc("prctl")(_PR_CAPBSET_DROP, cap, 0, 0, 0)
        except OSError:
            break
    libc("prctl")(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    return visible


def can_confine() -> bool:
    """Whether ``_confine`` can work here: root with the right to make a mount namespace.

    Asked once per grade run, in a throw-away process (a container without
    CAP_SYS_ADMIN is root but cannot). Where it cannot, only the limits apply.
    """
    if os.geteuid() != 0:
        return False
    import subprocess

    probe = "from autograder.sandbox import _libc, _CLONE_NEWNS; _libc()('unshare')(_CLONE_NEWNS)"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


def main(argv: list[str]) -> None:
    i = argv.index("-f")
    connection_file = argv[i + 1]
    scratch = Path(os.environ["ANN_SANDBOX_DIR"])
    cpu = int(os.environ.get("ANN_SANDBOX_CPU", "600"))
    memory = int(os.environ.get("ANN_SANDBOX_MEMORY_MB", "4096")) << 20
    hide = [Path(p) for p in os.environ.get("ANN_SANDBOX_HIDE", "").split(os.pathsep) if p]

    # the connection file lives in the grader's runtime dir: hand the kernel a copy
    shutil.copyfile(connection_file, scratch / ".kernel.json")
    if os.geteuid() == 0 and hide:
        scratch = _confine(scratch, hide)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(scratch),
        "IPYTHONDIR": str(scratch / ".ipython"),
        "MPLCONFIGDIR": str(scratch / ".matplotlib"),
        "MPLBACKEND": "agg",
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        SANDBOX_ENV: "1",
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    os.chdir(scratch)
    os.umask(0o077)
    _limit(resource.RLIMIT_CPU, cpu)
    _limit(resource.RLIMIT_AS, memory)
    _limit(resource.RLIMIT_FSIZE, 64 << 20)
    _limit(resource.RLIMIT_CORE, 0)
    devnull = os.open(os.devnull, os.O_WRONLY)  # the kernel's banner would land in the grader's terminal
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    rest = argv[:i] + argv[i + 2:]
    os.execve(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", str(scratch / ".kernel.json"),
                               *rest], env)


if __name__ == "__main__":
    main(sys.argv[1:])
