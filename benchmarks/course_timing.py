"""How long executing the whole course takes: every solution notebook, one after the other.

Each ``solutions/*/*.ipynb`` is copied to a temporary directory and executed with nbclient in a
fresh kernel (start-up included), with the grader's kernel options. A notebook that fails is
reported and the others still run.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def time_course(root: Path = ROOT, timeout: int = 600) -> list[dict]:
    """``[{"notebook": path relative to root, "seconds": s, "status": "ok" | "FAILED: …"}]``."""
    import nbformat
    from nbclient import NotebookClient

    from autograder.course import KERNEL_ARGS  # no history database, no start-up chatter

    notebooks = sorted(p for p in (root / "solutions").glob("*/*.ipynb")
                       if ".ipynb_checkpoints" not in p.parts)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in notebooks:
            work = Path(tmp) / path.parent.name
            shutil.copytree(path.parent, work)
            nb = nbformat.read(work / path.name, as_version=4)
            status, start = "ok", time.perf_counter()
            try:
                NotebookClient(nb, timeout=timeout, kernel_name="python3", extra_arguments=KERNEL_ARGS,
                               resources={"metadata": {"path": str(work)}}).execute()
            except Exception as exc:  # report it and carry on with the other notebooks
                status = f"FAILED: {type(exc).__name__}"
            runs.append({"notebook": str(path.relative_to(root)),
                         "seconds": time.perf_counter() - start, "status": status})
    return runs
