"""Steps 2, 4 and 5 of grading, as nbgrader preprocessors: ours in the same lists as nbgrader's.

Grading, numbered the same in every module's docstring:

1. **release** (``release.py``): ``solutions/`` → ``lessons/``, registered in the gradebook;
2. **prepare** (``PREPARE`` here): the submission made gradable before any kernel sees it;
3. **execute** (``execute.py``, ``sandbox.py``): in a worker, in a fresh sandboxed kernel
   whose ann_core withholds what the lesson asks the learner to write (``integrity.py``);
4. **verify** (``FINISH`` here, then ``verify.py``): every test cell decided outside the kernel;
5. **score** (``FINISH`` here, then ``score.py``): nbgrader saves the points; each item's
   status and message are read back;
6. **feedback** (``feedback.py``): a page per learner and lesson;
7. **report** (``report.py``): the class report.

``grade.py`` runs steps 2–6 for a class: ``run(PREPARE, …)``, execution, ``run(FINISH, …)``.
Each step is a ``Preprocessor``: ``preprocess(nb, resources)``. nbgrader's read
``resources["nbgrader"]`` (student, assignment, notebook, db_url); ours read and write
``resources["autograder"]``, a ``Submission``. The three that use the gradebook
(``OverwriteCells``, ``SaveAutoGrades``, ``AssignLatePenalties``) use the submission's
session (``run(…, gradebook=)``) instead of opening their own, and their commits only
flush it: ``grade.py`` commits a submission's grades once, all or nothing.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from dataclasses import dataclass, field

import jsonschema
import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbformat import NotebookNode
from nbgrader import nbgraderformat, utils
from nbgrader import preprocessors as nbgrader_preprocessors
from nbgrader.preprocessors import (
    AssignLatePenalties,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
    NbGraderPreprocessor,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from .sanitize import Sanitize
from .score import NOT_RUN, test_cells
from .verify import new_hidden_seeds, verify

QUIET = logging.getLogger("autograder.nbgrader")  # OverwriteCells warns about every restored cell
QUIET.setLevel(logging.ERROR)


@dataclass
class Submission:
    """What the project's steps share about one submission (``resources["autograder"]``)."""

    released: NotebookNode  # the released lesson: which cells are graded, and where
    notes: list[str] = field(default_factory=list)  # what the grader did or found, shown with the grade
    seeds: dict = field(default_factory=dict)  # this run's hidden seeds, by test cell (DrawHiddenSeeds)
    trusted: NotebookNode | None = None  # the notebook as prepared, before a kernel saw it
    digits_seed: int = 0  # lesson 11's private digits (verify.digits_private)
    source_sha256: str = ""  # of the file handed in: an unchanged submission is not graded again
    withheld: tuple = ()  # what the kernel's ann_core does not contain (integrity.lesson_withheld)


# ---------------------------------------------------------------- 2. prepare
class RestoreCells(NbGraderPreprocessor):
    """Put back graded and locked cells the learner deleted, moved or duplicated.

    nbgrader restores the *content* of such cells (``OverwriteCells``, next) but not a cell
    that is gone or a test cell moved above the function it tests. A duplicate loses its
    grade id except the last copy (nbgrader's ``DeduplicateIds`` grades the last); a missing
    cell is inserted after the nearest released cell before it that is still there; a test
    cell found above its function's cell is moved back below it. Each repair is a note.
    """

    def preprocess(self, nb, resources):
        sub = resources["autograder"]
        seen = set()
        for cell in reversed(nb.cells):
            g = _gid(cell)
            if g is not None and g in seen:
                del cell.metadata["nbgrader"]
                sub.notes.append(f"{g} appears more than once; the last copy was graded")
            seen.add(g)
        present = {_gid(c) for c in nb.cells}
        previous = None
        for cell in sub.released.cells:
            g = _gid(cell)
            if g is None:
                continue
            if g not in present and (utils.is_grade(cell) or utils.is_locked(cell)):
                at = next((i + 1 for i, c in enumerate(nb.cells) if previous and _gid(c) == previous), 0)
                nb.cells.insert(at, nbformat.from_dict(cell))
                present.add(g)
                sub.notes.append(f"restored the deleted cell {g}")
            previous = g if g in present else previous
        for cell in list(nb.cells):
            g = _gid(cell)
            if g and g.startswith("test_") and utils.is_grade(cell):
                ids = [_gid(c) for c in nb.cells]
                fn = g.removeprefix("test_")
                if fn in ids and ids.index(fn) > ids.index(g):
                    nb.cells.remove(cell)
                    nb.cells.insert(ids.index(fn), cell)  # after fn, which moved up by one
                    sub.notes.append(f"moved {g} back below {fn}")
        return nb, resources


def _gid(cell):
    meta = cell.metadata.get("nbgrader")
    return meta.get("grade_id") if isinstance(meta, dict) else None


class DrawHiddenSeeds(NbGraderPreprocessor):
    """Give every hidden check a seed drawn for this run (``verify.new_hidden_seeds``); the grader
    keeps them, no kernel sees them until the notebook runs."""

    def preprocess(self, nb, resources):
        resources["autograder"].seeds = new_hidden_seeds(nb)
        return nb, resources


class CheckCellMetadata(nbgrader_preprocessors.CheckCellMetadata):
    """nbgrader's ``CheckCellMetadata``, with its JSON schema checked once per run: nbgrader's
    validator checks the schema itself again for every cell, nine tenths of the step's time."""

    def preprocess(self, nb, resources):
        with _patched(nbgraderformat.common, "jsonschema", _SchemaCheckedOnce):
            return super().preprocess(nb, resources)


class _SchemaCheckedOnce:
    """``jsonschema.validate`` (what nbgrader calls), with each schema's validator made once."""

    @staticmethod
    def validate(instance, schema):
        error = jsonschema.exceptions.best_match(_validator(json.dumps(schema, sort_keys=True)).iter_errors(instance))
        if error is not None:
            raise error


@functools.lru_cache(maxsize=8)
def _validator(schema_text: str):
    schema = json.loads(schema_text)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


class NeutraliseDemos(NbGraderPreprocessor):
    """Make the released demo cells run without what the kernel's ann_core withholds.

    The grading kernel's ann_core has no reference of the lesson (``integrity.py``), so a demo
    cell of the instructor's that calls one would stop with ``ReferenceUnavailable`` and leave
    undefined what later cells use. In a cell whose source is still one of the released
    lesson's, and is neither an exercise nor a test, each use of a withheld reference
    (``act.sigmoid``) whose exercise cell came before becomes the learner's own function of that
    name (``integrity.neutralise``: analysis of the instructor's own code), under a comment
    saying so. A cell that uses another withheld name (a kernel, ``Dense.forward``, a reference
    whose exercise comes later, ann_core's code that calls one: ``integrity.users``), or a name
    that only such a skipped cell defines (``integrity.names_flow``), is replaced by a comment
    saying why it is not run. Only demo cells can miss what a skipped cell defined (they score
    nothing); the learner's own cells are never changed.
    """

    def preprocess(self, nb, resources):
        from ann_core.checks import SPECS

        from .integrity import graded_names, names_flow, neutralise, users

        sub = resources["autograder"]
        withheld = [w for w in sub.withheld if not w.startswith("ann_core.checks.")]
        if not withheld:
            return nb, resources
        unusable = users(tuple(sorted(withheld)))
        refs = {f"{SPECS[n].reference.__module__}.{SPECS[n].reference.__qualname__}": n
                for n in graded_names(sub.released) if n in SPECS}
        released = {c.source for c in sub.released.cells if c.cell_type == "code"}
        aliases: dict = {}
        own: dict = {}  # the references whose exercise cell came before: the learner's function is defined
        missing: set[str] = set()  # names only a demo cell the grader does not run defines
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            gid = (cell.metadata.get("nbgrader") or {}).get("grade_id")
            flow = names_flow(cell.source)
            if cell.source not in released or utils.is_solution(cell) or utils.is_grade(cell):
                if utils.is_solution(cell) and gid in refs.values():
                    own.update({d: n for d, n in refs.items() if n == gid})
                missing -= flow[0] if flow else set()
                continue
            source, left = neutralise(cell.source, unusable, own, aliases)
            lacking = sorted(flow[1] & missing) if flow else []
            if left or lacking:
                what = left or lacking
                what = ", ".join(u.removeprefix("ann_core.") for u in what[:3]) + (", …" if len(what) > 3 else "")
                cell.source = (f"# Not run by the grader: this demo cell of the lesson uses ann_core's {what}, which "
                               "this lesson asks you to write." if left else
                               f"# Not run by the grader: this demo cell of the lesson uses {what}, which a demo "
                               "cell before it that the grader does not run defines.")
                missing |= flow[0] if flow else set()
            else:
                if source != cell.source:
                    cell.source = "# Run by the grader with your own functions in place of ann_core's.\n" + source
                missing -= flow[0] if flow else set()
        return nb, resources


PREPARE = [RestoreCells, ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata,
           NeutraliseDemos, DrawHiddenSeeds]


# ---------------------------------------------------------------- 4. verify
class MarkNotRun(NbGraderPreprocessor):
    """A test cell that never ran (the kernel died or the time ran out first) gets an error:
    nbgrader would give it full points."""

    def preprocess(self, nb, resources):
        for cell in test_cells(nb):
            if cell.get("execution_count") is None and not any(o.output_type == "error" for o in cell.outputs):
                cell.outputs.append(NotebookNode(output_type="error", ename="CellNotRun", evalue=NOT_RUN,
                                                 traceback=[f"CellNotRun: {NOT_RUN}"]))
        return nb, resources


class Verify(NbGraderPreprocessor):
    """Decide every test cell from the records its checks left, against the trusted source, with
    the grader's own messages; own work and lesson 11's accuracy too (``verify.verify``)."""

    def preprocess(self, nb, resources):
        sub = resources["autograder"]
        problems = verify(nb, sub.trusted, sub.digits_seed)
        sub.notes += [f"not verified: {p}" for p in problems]
        return nb, resources


# ---------------------------------------------------------------- 5. score (nbgrader's)
FINISH = [MarkNotRun, Verify, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
          AssignLatePenalties, CheckCellMetadata, Sanitize]  # Sanitize: learner content inert (sanitize.py)


def run(steps, nb, resources: ResourcesDict, config, gradebook=None) -> tuple[NotebookNode, ResourcesDict]:
    """Run ``steps`` in order on ``nb``, as nbgrader does (a step that ``config`` disables is
    skipped, as nbconvert's ``ClearMetadataPreprocessor`` is by default); the gradebook steps in
    the submission's session ``gradebook``."""
    with _lent(gradebook):
        for step in steps:
            nb, resources = step(config=config, log=QUIET)(nb, resources)
    return nb, resources


def resources(student: str, lesson: str, db_url: str, course_id: str, submission: Submission) -> ResourcesDict:
    r = ResourcesDict()
    r["nbgrader"] = {"student": student, "assignment": lesson, "notebook": lesson,
                     "db_url": db_url, "course_id": course_id}
    r["autograder"] = submission
    return r


# ---------------------------------------------------------------- one session per submission
class _Lent:
    """A gradebook lent to nbgrader's steps: ``with`` does not close it and ``db.commit()`` only
    flushes (and expires, as a commit would, so nbgrader's computed scores are read again)."""

    def __init__(self, gb):
        self._gb = gb
        self.db = _FlushOnly(gb.db)

    def __getattr__(self, name):
        return getattr(self._gb, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _FlushOnly:
    def __init__(self, db):
        self._db = db

    def __getattr__(self, name):
        return getattr(self._db, name)

    def commit(self):
        self._db.flush()
        self._db.expire_all()


@contextlib.contextmanager
def _lent(gb):
    """nbgrader's gradebook steps open ``Gradebook(db_url)`` themselves; here they get ``gb``."""
    import nbgrader.preprocessors.latesubmissions as late
    import nbgrader.preprocessors.overwritecells as overwrite
    import nbgrader.preprocessors.saveautogrades as save

    if gb is None:
        yield
        return
    lent = _Lent(gb)

    def gradebook(*args, **kwargs):
        return lent

    with _patched(overwrite, "Gradebook", gradebook), _patched(save, "Gradebook", gradebook), \
            _patched(late, "Gradebook", gradebook):
        yield


@contextlib.contextmanager
def _patched(module, name: str, value):
    """``module.name`` is ``value`` inside the block (the grading process runs one step at a time)."""
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)
