"""Step 2, execute: run a notebook the way the autograder does.

``execute`` uses nbgrader's own ``Execute`` preprocessor (per-cell timeout, errors
recorded and execution continued, a timed-out cell interrupted and marked with a
``CellTimeoutError``) in the notebook's own directory. A kernel that dies ends the
run; the cells after it keep no outputs and score as "not run".
"""

from __future__ import annotations

from pathlib import Path

import nbformat


class NotebookError(ValueError):
    """The file is not a notebook nbgrader can grade (bad JSON, wrong schema, ...)."""


def read(path: Path):
    """Read and validate a notebook, or raise ``NotebookError`` saying what is wrong."""
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:
        raise NotebookError(f"{path.name} is not a valid notebook: {type(exc).__name__}: {str(exc)[:200]}") from exc
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise NotebookError(f"{path.name} does not follow the notebook format: {str(exc).splitlines()[0]}") from exc
    return nb


def execute(nb, cwd: Path, timeout: int = 30):
    """Execute ``nb`` in place in ``cwd``; returns ``(nb, problem)``, problem '' if none."""
    from nbgrader.preprocessors import Execute

    from .course import KERNEL_ARGS

    ep = Execute(timeout=timeout, kernel_name="python3", extra_arguments=KERNEL_ARGS)
    try:
        ep.preprocess(nb, {"metadata": {"path": str(cwd)}})
    except Exception as exc:  # DeadKernelError and friends: keep what ran
        return nb, f"execution stopped: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return nb, ""


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
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   extra_arguments=KERNEL_ARGS, resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(nb, str(path))
