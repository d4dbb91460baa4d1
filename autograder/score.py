"""Step 5, score: each graded item's points, status and message from an executed notebook.

Points follow nbgrader's own rule (``nbgrader.utils.determine_grade``: a test cell
scores full points unless it shows an error or writes to stderr); this module adds
what nbgrader lacks: a status (``passed``, ``failed``, ``timeout``, ``not run``) and the
learner-facing message, which is the last line of the error: in a notebook the check's
own explanation, after ``grade`` the grader's (``verify.py`` replaces every test cell's
outputs). A test cell that never ran (the kernel died first) scores 0, not full
points (``steps.MarkNotRun`` gives it an error before nbgrader saves the points).
``python -m autograder check`` and ``grade`` both read items through here.

A *written question* is nbgrader's "manually graded answer" cell (``solution`` and
``grade``, usually markdown): no code can score it. Its item has ``manual=True``, 0
points pending and the status ``needs manual grading`` (``not answered`` while the cell
is still the released text, which nbgrader scores 0 at once); formgrader shows it to
whoever grades, and the points that person gives come back through the gradebook.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nbgrader import utils

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
MAX_MESSAGE = 1000


@dataclass
class Item:
    grade_id: str
    score: float
    max_score: float
    status: str
    message: str
    adjustment: str = ""  # what the instructor changed in the gradebook (grade.py), in words
    manual: bool = False  # a written question: scored by a person in formgrader, not by a test

    @property
    def autograded(self) -> bool:
        return not self.manual

    @property
    def name(self) -> str:
        """The graded function: ``test_sigmoid`` → ``sigmoid``."""
        return self.grade_id.removeprefix("test_")


def clean(text: str, limit: int = MAX_MESSAGE) -> str:
    text = _ANSI.sub("", text).strip().replace("\r", "")
    if len(text) <= limit:
        return text
    head = limit // 2  # keep the start (the call) and the end (the likely mistake)
    return text[:head] + " … " + text[len(text) - (limit - head - 3):]


def error_message(out) -> str:
    """``ename: evalue`` of an error output, without colour codes, shortened."""
    ename, evalue = out.get("ename", "Error"), out.get("evalue", "")
    if ename == "CellNotRun":
        return NOT_RUN
    if ename == "CellTimeoutError":
        return "CellTimeoutError: the cell did not finish before the time limit (an endless loop?)"
    return clean(f"{ename}: {evalue}" if evalue else ename)


def test_cells(nb):
    """The autograded test cells of a notebook (graded, not a solution, code)."""
    return [c for c in nb.cells if c.cell_type == "code" and utils.is_grade(c) and not utils.is_solution(c)]


def answer_cells(nb):
    """The written questions of a notebook: nbgrader's manually graded answer cells (graded solutions)."""
    return [c for c in nb.cells if utils.is_grade(c) and utils.is_solution(c)]


def graded_cells(nb):
    """Every cell with points, in notebook order: the test cells and the written questions."""
    return [c for c in nb.cells if utils.is_grade(c) and (c.cell_type == "code" or utils.is_solution(c))]


MANUAL = "needs manual grading"
NOT_ANSWERED = "not answered"
WRITTEN = "written question: graded by your instructor"


def score_answer(cell) -> Item:
    """A written question: 0 points pending until a person grades it (0 for good if unanswered)."""
    grade_id = cell.metadata.nbgrader["grade_id"]
    score, max_score = utils.determine_grade(cell)
    if score is not None:  # nbgrader: the released text, unchanged
        return Item(grade_id, 0.0, max_score, NOT_ANSWERED, f"{WRITTEN}; not answered yet", manual=True)
    return Item(grade_id, 0.0, max_score, MANUAL, WRITTEN, manual=True)


def autograded_total(items) -> tuple[float, float]:
    """(score, max_score) of the autograded items only: what the tests decide."""
    auto = [i for i in items if i.autograded]
    return sum(i.score for i in auto), sum(i.max_score for i in auto)


NOT_RUN = "the cell did not run (the kernel stopped or the time ran out before it)"


def score_cell(cell) -> Item:
    grade_id = cell.metadata.nbgrader["grade_id"]
    max_score = float(cell.metadata.nbgrader.get("points", 0))
    if cell.get("execution_count") is None and not cell.get("outputs"):
        return Item(grade_id, 0.0, max_score, "not run", NOT_RUN)
    score, max_score = utils.determine_grade(cell)
    score = float(score or 0.0)
    message, status = "", "passed" if score >= max_score else "failed"
    errors = [o for o in cell.outputs if o.output_type == "error"]
    stderr = [o for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
    if errors:  # a timeout first: the KeyboardInterrupt that the interrupt raised is its symptom
        first = next((o for o in errors if o.get("ename") == "CellTimeoutError"), errors[0])
        message = error_message(first)
        status = {"CellTimeoutError": "timeout", "CellNotRun": "not run"}.get(first.get("ename"), "failed")
    elif stderr:
        message = clean("wrote to stderr: " + stderr[0].text)
    return Item(grade_id, score, max_score, status, message)


def score_notebook(nb) -> list[Item]:
    """One ``Item`` per test cell and per written question, in notebook order."""
    return [score_answer(c) if utils.is_solution(c) else score_cell(c) for c in graded_cells(nb)]
