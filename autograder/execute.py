"""Step 3, execute: run a notebook the way the autograder does.

``execute`` uses nbgrader's own ``Execute`` preprocessor (per-cell timeout with an
interrupt, errors recorded and execution continued) with two limits nbgrader lacks:

* an **output budget** per cell (``MAX_OUTPUT_CHARS``): a cell that prints megabytes
  keeps its first part and a note, and the grader's memory stays bounded;
* a **time budget** for the whole notebook: once it is spent, the remaining cells are
  not run (they score 0 as "not run"), so a submission that ignores interrupts cannot
  hold a worker for ``cells × timeout``.

A kernel that dies (``os._exit``, a crash, a resource limit) ends the run; the cells
after it keep no outputs and score as "not run".

``execute_job`` is what a grading worker runs for one submission: the notebook (as
JSON text, so any ``concurrent.futures`` executor, a Dask cluster's included, can carry
it) is executed in the ``ann-sandbox`` kernel (``sandbox.py``) in a scratch directory
of its own, and the executed notebook comes back as JSON text. The worker never sees
the gradebook.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat
from nbformat.warnings import DuplicateCellId

MAX_OUTPUT_CHARS = 100_000
MAX_RECORD_CHARS = 40_000_000  # check records, for the grader only: up to ~3.7 million float64 weights


class NotebookError(ValueError):
    """The file is not a notebook nbgrader can grade (bad JSON, wrong schema, ...)."""


def read(path: Path, notes: list[str] | None = None):
    """Read and validate a notebook, or raise ``NotebookError`` saying what is wrong.

    Duplicated cell ids (a copy-pasted cell) are repaired rather than refused; a note
    is appended to ``notes`` when one is given.
    """
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:
        raise NotebookError(f"{path.name} is not a valid notebook: {type(exc).__name__}: {str(exc)[:200]}") from exc
    if notes is not None and any(issubclass(w.category, DuplicateCellId) for w in caught):
        notes.append("duplicated cells were given new ids")  # nbformat's reader repairs them
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise NotebookError(f"{path.name} does not follow the notebook format: {str(exc).splitlines()[0]}") from exc
    return nb


def _executor_class():
    from nbformat import NotebookNode
    from nbgrader.preprocessors import Execute

    from ann_core.checks import RECORD_MIME

    class BudgetedExecute(Execute):
        """nbgrader's ``Execute`` with an output budget per cell and a time budget per notebook."""

        budget = None  # seconds for the whole notebook, or None
        _deadline = None
        _chars: dict

        def preprocess(self, nb, resources=None, km=None):
            self._chars = {}
            self._deadline = time.monotonic() + self.budget if self.budget else None
            return super().preprocess(nb, resources, km)

        def preprocess_cell(self, cell, resources, index):
            if self._deadline is not None and time.monotonic() > self._deadline:
                return cell, resources  # out of time: left "not run"
            return super().preprocess_cell(cell, resources, index)

        def output(self, outs, msg, display_id, cell_index):
            out = super().output(outs, msg, display_id, cell_index)
            if out is None:
                return None
            size = len(str(out.get("text", ""))) + sum(len(str(v)) for v in out.get("data", {}).values())
            if RECORD_MIME in out.get("data", {}):  # a check's record (a trained network's weights): own budget
                used = self._chars.get(("record", cell_index), 0)
                self._chars[("record", cell_index)] = used + size
                if used + size > MAX_RECORD_CHARS:
                    if outs and outs[-1] is out:
                        outs.pop()
                    return None
                return out
            used = self._chars.get(cell_index, 0)
            self._chars[cell_index] = used + size
            if used + size > MAX_OUTPUT_CHARS and out.output_type in ("stream", "display_data", "execute_result"):
                if outs and outs[-1] is out:
                    outs.pop()
                if used <= MAX_OUTPUT_CHARS:  # the first overflow: keep the start and say so
                    room = max(MAX_OUTPUT_CHARS - used, 0)
                    text = str(out.get("text", ""))[:room]
                    outs.append(NotebookNode(output_type="stream", name="stdout", text=text + (
                        f"\n… output truncated: this cell printed more than {MAX_OUTPUT_CHARS:,} characters\n")))
                return None
            return out

    return BudgetedExecute


def execute(nb, cwd: Path, timeout: int = 30, *, kernel_name: str = "python3", budget: float | None = None,
            km=None):
    """Execute ``nb`` in place in ``cwd``; returns ``(nb, problem)``, problem '' if none.

    ``km``: an ``AsyncKernelManager`` whose kernel is already started (the grader's sandboxed
    kernels, ``Kernels``); the caller shuts it down. ``None``: a ``kernel_name`` kernel is
    started here and killed once the last cell has replied.
    """
    from .course import KERNEL_ARGS

    ep = _executor_class()(timeout=timeout, kernel_name=kernel_name, extra_arguments=KERNEL_ARGS,
                           shutdown_kernel="immediate")
    ep.budget = budget
    try:
        ep.preprocess(nb, {"metadata": {"path": str(cwd)}}, km=km)
    except Exception as exc:  # DeadKernelError and friends: keep what ran
        first = str(exc).splitlines()[0] if str(exc) else ""
        return nb, f"execution stopped: {type(exc).__name__}: {first}"[:300]
    finally:
        if km is not None and ep.kc is not None:  # nbclient leaves a kernel it did not start to us
            ep.kc.stop_channels()
    if budget and ep._deadline is not None and time.monotonic() > ep._deadline:
        return nb, f"the notebook used up its time budget of {budget:g} s; later cells were not run"
    return nb, ""


@dataclass
class Job:
    """One submission to execute: the sanitized notebook as JSON text (validated when it was read,
    so not again on the way) and the limits."""

    key: tuple  # (student_id, lesson): handed back untouched
    notebook: str
    timeout: int = 30
    memory_mb: int = 4096
    hide: tuple = ()  # paths the learner's code must not see (gradebook workspace, submissions, ...)
    sandbox: bool = True  # False only with grade --unsafe-no-sandbox
    start_next: bool = True  # start the worker's next kernel while this one runs (not after the last jobs)
    withheld: tuple = ()  # what the kernel's ann_core must not contain (integrity.lesson_withheld)
    next_withheld: tuple | None = None  # the same for the job expected next (None: as this one's)


@dataclass
class Done:
    key: tuple
    notebook: str
    problem: str
    seconds: float


_WORKER: dict = {}


def _worker_base() -> Path:
    """Per-process set-up, once: a private directory (``mkdtemp``, mode 0700, removed when the
    process ends) holding the sandbox kernelspec and a warm matplotlib font cache."""
    if _WORKER.get("pid") != os.getpid():  # a forked pool worker inherits its parent's: make its own, so
        _WORKER.clear()                      # that two workers never write one lesson's ann_core copy at once
        _WORKER["pid"] = os.getpid()
    if "base" not in _WORKER:
        import atexit
        from multiprocessing import util

        from .sandbox import kernelspec

        base = Path(tempfile.mkdtemp(prefix="ann-grade-"))  # private: no fixed, shared path
        atexit.register(shutil.rmtree, base, True)
        util.Finalize(None, shutil.rmtree, args=(base, True), exitpriority=10)  # pool workers skip atexit
        kernelspec(base / "jupyter")
        os.environ["JUPYTER_PATH"] = str(base / "jupyter")
        os.environ["JUPYTER_RUNTIME_DIR"] = str(base / "runtime")
        os.environ["MPLCONFIGDIR"] = str(base / "mpl")
        os.environ["IPYTHONDIR"] = str(base / "ipython")  # jupyter_client looks there for kernelspecs; an
        # account whose ~/.ipython cannot be written would otherwise get a temporary one that is never removed
        import matplotlib.font_manager  # noqa: F401  (builds the font cache once per worker)

        _WORKER["base"] = base
    return _WORKER["base"]


class Kernels:
    """Fresh sandboxed kernels for one worker, each started while the previous notebook runs.

    ``take(settings)`` hands over the kernel started ahead (if it was started with the same
    settings and is alive) and at once starts the next one, so a kernel's start and the
    course's imports (``sandbox.WARM_MODULES``) overlap the previous notebook. A kernel
    serves one submission and is killed after it: nothing is ever reused.
    """

    def __init__(self, base: Path):
        self.base, self.ahead = base, None  # (settings, km, ipc directory)

    def _start(self, settings):
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        from .course import KERNEL_ARGS
        from .sandbox import KERNEL_NAME, settings_env

        ipc = Path(tempfile.mkdtemp(prefix="kernel-", dir=self.base))  # connection file and sockets: its own
        km = AsyncKernelManager(kernel_name=KERNEL_NAME, transport="ipc", ip=str(ipc / "kernel"),
                                connection_file=str(ipc / "kernel.json"))
        run_sync(km.start_kernel)(extra_arguments=KERNEL_ARGS, cwd=str(ipc), env=dict(os.environ,
                                                                                       **settings_env(settings)))
        return settings, km, ipc

    def start_ahead(self, settings):
        if self.ahead is None:
            self.ahead = self._start(settings)

    def take(self, settings, start_next: bool = True, next_settings=None):
        """``(km, ipc_dir)`` of a started kernel for ``settings``, and the next one started, for
        ``next_settings`` if given (unless ``start_next`` is false: no job will follow); the caller
        must ``release`` the kernel."""
        from jupyter_core.utils import run_sync

        ahead, self.ahead = self.ahead, None
        if ahead is not None and not (ahead[0] == settings and run_sync(ahead[1].is_alive)()):
            self.release(ahead[1], ahead[2])
            ahead = None
        _, km, ipc = ahead or self._start(settings)
        if start_next:
            self.ahead = self._start(next_settings or settings)
        return km, ipc

    @staticmethod
    def release(km, ipc):
        from jupyter_core.utils import run_sync

        try:
            run_sync(km.shutdown_kernel)(now=True)  # in the sandbox: its whole PID namespace goes
        except Exception:  # noqa: BLE001  (already dead)
            pass
        shutil.rmtree(ipc, ignore_errors=True)

    def close(self):
        if self.ahead is not None:
            self.release(self.ahead[1], self.ahead[2])
            self.ahead = None


def _kernels() -> Kernels:
    if "kernels" not in _WORKER:
        import atexit
        from multiprocessing import util

        kernels = _WORKER["kernels"] = Kernels(_worker_base())
        atexit.register(kernels.close)
        util.Finalize(None, kernels.close, exitpriority=20)  # before the base directory goes
    return _WORKER["kernels"]


def close_kernels() -> None:
    """Stop this process's kernel started ahead (``grade`` calls it when it ran jobs in-process)."""
    if "kernels" in _WORKER:
        _WORKER["kernels"].close()


def _settings(job: Job):
    """The kernel's sandbox and limits for ``job``. CPU seconds: the largest budget any notebook of
    the run can have, so that a kernel can start before its notebook is known."""
    from ann_core.checks import RECORD_ENV

    from .integrity import stubbed_copy
    from .sandbox import Settings

    package = str(stubbed_copy(_worker_base() / "ann_core", job.withheld)) if job.withheld else ""
    return Settings(cpu_seconds=20 * job.timeout + 10, memory_mb=job.memory_mb, sandbox=job.sandbox,
                    hide=tuple(job.hide), mpl_cache=str(_worker_base() / "mpl"),
                    env=((RECORD_ENV, "1"),),  # the kernel is grading: checks leave their records
                    ann_core=package)  # without what the lesson asks the learner to write


def warm_up(like: Job) -> None:
    """Start this worker's first kernel for jobs ``like`` this one now, not when the first job
    arrives (a process pool's initializer). On failure the first job starts one and reports why."""
    try:
        _kernels().start_ahead(_settings(like))
    except Exception:  # noqa: BLE001
        pass


def execute_job(job: Job) -> Done:
    """Execute one submission in a fresh sandboxed kernel (runs in a worker process)."""
    t0 = time.perf_counter()
    nb = nbformat.from_dict(json.loads(job.notebook))
    n_code = sum(c.cell_type == "code" for c in nb.cells)
    budget = max(4 * job.timeout, min(n_code * job.timeout, 20 * job.timeout))
    upcoming = None if job.next_withheld is None else _settings(replace(job, withheld=job.next_withheld))
    km, ipc = _kernels().take(_settings(job), job.start_next, upcoming)
    try:
        nb, problem = execute(nb, ipc, job.timeout, budget=budget, km=km)
        return Done(job.key, json.dumps(nb), problem, time.perf_counter() - t0)
    finally:
        Kernels.release(km, ipc)


def refresh_solution(path: Path, timeout: int = 120) -> None:
    """Re-execute an instructor notebook in place, keeping outputs for nbval.

    No per-cell timing metadata is recorded (it would change on every run and travel
    into the released lessons). Raises if any cell fails: a solution must run clean.
    """
    from nbclient import NotebookClient

    from .course import KERNEL_ARGS

    nb = read(path)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    # force_raise_errors: a cell tagged raises-exception (so that a learner's Run All goes on) must
    # still run clean in the solution.
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False, store_widget_state=False,
                   force_raise_errors=True, extra_arguments=KERNEL_ARGS,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(nb, str(path))
