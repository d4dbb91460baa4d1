"""Step 3b, verify: re-check graded test cells outside the learner's kernel.

Learner code runs in the same interpreter as the test cells, so it can replace what
they rely on (``np.allclose``, ``math.isclose``, ``ann_core.checks.check`` itself) and
make a test cell pass without raising. Inside a grading kernel every ``check`` call
therefore also displays a *record* of the values the learner's function returned
(``ann_core.checks.RECORD_MIME``). Here, in the grader's own process, the trusted
source of each test cell (restored from the gradebook by nbgrader's ``OverwriteCells``)
says which checks must have run; each must have left a record, and every recorded
value must match the reference recomputed from the seed (``ann_core.checks.replay``).
A test cell that fails this gets an error output, so nbgrader scores it 0 and the
learner reads why.
"""

from __future__ import annotations

import ast

from nbformat import NotebookNode

from ann_core.checks import RECORD_MIME, replay

from .score import test_cells


def expected_checks(source: str) -> list[tuple[str, int, bool]]:
    """``(name, seed, hidden)`` of every ``check("name", fn, seed=…, hidden=…)`` call in ``source``."""
    calls = []
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return calls
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "check"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            kw = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
            calls.append((node.args[0].value, int(kw.get("seed", 0)), bool(kw.get("hidden", False))))
    return calls


def verify_cell(cell) -> str:
    """'' if every check the cell's source calls left a record that replays right."""
    records = [out.data[RECORD_MIME] for out in cell.get("outputs", [])
               if out.get("output_type") == "display_data" and RECORD_MIME in out.get("data", {})]
    for name, seed, hidden in expected_checks(cell.source):
        mine = [r for r in records if isinstance(r, dict) and (r.get("name"), r.get("seed"), r.get("hidden"))
                == (name, seed, hidden)]
        if not mine:
            return (f"the check of {name} left no record: the test did not run as written "
                    "(was `check` or something it uses replaced?)")
        problem = replay(mine[-1])
        if problem:
            return f"the grader re-checked {name} outside your notebook and it is wrong: {problem}"
    return ""


def verify(nb) -> list[str]:
    """Re-check every passing test cell; failures get an error output. Returns the problems."""
    problems = []
    for cell in test_cells(nb):
        if cell.get("execution_count") is None or any(o.output_type == "error" for o in cell.outputs):
            continue  # not run or already failing: nothing to protect
        problem = verify_cell(cell)
        if problem:
            problems.append(f"{cell.metadata.nbgrader['grade_id']}: {problem}")
            cell.outputs.append(NotebookNode(output_type="error", ename="CheckNotVerified",
                                             evalue=problem, traceback=[f"CheckNotVerified: {problem}"]))
    return problems


def strip_records(nb) -> None:
    """Remove the records (they are for the grader, not for people)."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs
                            if not (o.get("output_type") == "display_data" and RECORD_MIME in o.get("data", {}))]
