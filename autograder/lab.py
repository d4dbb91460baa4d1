"""``python -m autograder lab``: JupyterLab on the lessons, set up for a learner.

Learner mode (the default) is stock JupyterLab configured through files shipped in
this package, never through the user's own ``~/.jupyter``:

* ``jupyter/learner/`` is put first on ``JUPYTER_CONFIG_PATH``: its
  ``labconfig/page_config.json`` disables nbgrader's instructor-only front-end plugins
  (Formgrader, Create Assignment, Course List) and its ``jupyter_server_config.json``
  the matching server extensions, turns off the news feed and update check, and culls
  kernels left idle for an hour with no tab connected;
* ``jupyter/no-exchange/`` is added too when no nbgrader exchange is configured (the
  usual case for a learner working alone): then the Assignment List and the Nbgrader
  menu are off as well, instead of an "exchange directory does not exist" error;
* ``jupyter/lab-settings/overrides.json`` (``LabApp.app_settings_dir``) sets the
  defaults: no news prompt, and a notebook's kernel shuts down when its tab closes.
  A learner's own settings still win over these defaults.

nbgrader's **Validate** button stays. ``--instructor`` starts JupyterLab on the course
root with every nbgrader tool (Formgrader, Create Assignment, ...), and ``jupyter/instructor/``
first on ``JUPYTER_CONFIG_PATH``: the server extension ``autograder.instructor`` (formgrader's
pages under a Content-Security-Policy, its Autograde button running ``grade``).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "jupyter"
LEARNER = HERE / "learner"
NO_EXCHANGE = HERE / "no-exchange"
INSTRUCTOR = HERE / "instructor"  # the server extension autograder.instructor (CSP, Autograde → grade)
SETTINGS = HERE / "lab-settings"
DEFAULT_EXCHANGE = "/srv/nbgrader/exchange"


@contextlib.contextmanager
def _chdir(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def exchange_configured(root_dir: Path) -> bool:
    """Whether nbgrader would find an exchange from ``root_dir`` (as its Assignment List does).

    True when the nbgrader configuration names another exchange implementation, or when
    the exchange root (``Exchange.root``, default ``/srv/nbgrader/exchange``) exists.
    """
    from jupyter_core.paths import jupyter_config_path
    from nbgrader.apps import NbGrader

    with _chdir(root_dir):
        app = NbGrader()
        app.log.setLevel("ERROR")  # no "No nbgrader_config.py file found" for a learner
        app.config_file_paths.append([os.getcwd(), *jupyter_config_path()])
        app.load_config_file()
    config = app.config
    if "ExchangeFactory" in config and any(v for v in config.ExchangeFactory.values()):
        return True
    root = config.Exchange.get("root", DEFAULT_EXCHANGE) if "Exchange" in config else DEFAULT_EXCHANGE
    return Path(root).is_dir()


def with_config_dir(env: dict, *dirs: Path) -> dict:
    """``env`` with ``dirs`` first on ``JUPYTER_CONFIG_PATH`` (Jupyter reads them before the user's own)."""
    old = env.get("JUPYTER_CONFIG_PATH")
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([str(d) for d in dirs] + ([old] if old else []))
    return env


def command(root_dir: Path, *, instructor: bool = False, port: int | None = None, ip: str | None = None,
            open_browser: bool = True, exchange: bool | None = None, extra: list[str] | None = None,
            env: dict | None = None) -> tuple[list[str], dict]:
    """The ``jupyter lab`` command line and environment for ``root_dir`` (nothing is started)."""
    env = dict(os.environ if env is None else env)
    root_dir = Path(root_dir).resolve()
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root_dir}",
            f"--LabApp.app_settings_dir={SETTINGS}"]
    if instructor:
        with_config_dir(env, INSTRUCTOR)
    else:
        if exchange is None:
            exchange = exchange_configured(root_dir)
        with_config_dir(env, LEARNER, *([] if exchange else [NO_EXCHANGE]))
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--ServerApp.allow_root=True")  # JupyterLab refuses root otherwise (containers)
    if port is not None:
        argv.append(f"--ServerApp.port={port}")
    if ip is not None:
        argv.append(f"--ServerApp.ip={ip}")
    if not open_browser:
        argv.append("--ServerApp.open_browser=False")
    # the course's interpreter first on PATH, so kernels and nbgrader find this environment
    bindir = os.path.dirname(sys.executable)
    if bindir not in env.get("PATH", "").split(os.pathsep):
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return argv + list(extra or []), env


def main(args) -> int:
    from .course import find_root

    course_root = find_root()
    if args.instructor:
        root = Path(args.dir or course_root)
    else:
        root = Path(args.dir or course_root / "lessons")
    if not root.is_dir():
        print(f"no such directory: {root}", file=sys.stderr)
        return 2
    extra = [a for a in (args.jupyter_args or []) if a != "--"]
    argv, env = command(root, instructor=args.instructor, port=args.port, ip=args.ip,
                        open_browser=not args.no_browser, extra=extra)
    mode = "instructor mode (every nbgrader tool)" if args.instructor else "learner mode"
    print(f"Starting JupyterLab on {root} in {mode}; stop it with Ctrl+C.", flush=True)
    os.execvpe(argv[0], argv, env)  # becomes JupyterLab: Ctrl+C and signals reach it directly
    return 0  # not reached
