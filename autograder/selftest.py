"""``python -m autograder selftest``: does grading tell right from wrong, lesson by lesson?

For every lesson a synthetic class is graded through the real pipeline (``grade``):

* ``solution``  — the instructor's solution: must score 100 % of the *autograded* points,
  and each written question (a manually graded answer cell) must be left to a person:
  status ``needs manual grading``, its points pending (0 until formgrader gives them);
* ``untouched`` — the released lesson as is: must score 0;
* ``mutant-K``  — every graded function replaced by its K-th *known mistake*, the
  plausible wrong implementations listed in ``ann_core.checks`` (K = 1, 2, … until
  every mistake of the lesson has been used once). Each mutated function's item must
  lose its points (the mutant is *killed*) and its message must name the mistake
  (the hint is *named*).

The mutation score is killed / mutants. Adding a ``Mistake`` to a spec adds a mutant.

A grading kernel's ann_core holds neither the lesson's references nor the known mistakes
(``integrity.py``), so a mutant brings them along, as a learner who copied the code would:
its first function's cell writes a copy of the grader's ann_core, named ``ann_core_copy``,
into the kernel's scratch directory and takes the mistake from there.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ann_core.checks import SPECS

from .course import Course
from .grade import grade
from .score import MANUAL, autograded_total
from .submissions import graded_functions, learner_notebook, write


@dataclass
class Outcome:
    lesson: str
    what: str  # "solution", "untouched" or "<function>: <hint>"
    ok: bool
    detail: str = ""


COPY = "ann_core_copy"


def _copy_code() -> str:
    """A cell that writes the grader's ann_core, as ``ann_core_copy``, and imports it (once per kernel)."""
    import base64
    import json
    import zlib

    import ann_core

    root = Path(ann_core.__file__).parent
    files = {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in root.rglob("*.py")}
    blob = base64.b64encode(zlib.compress(json.dumps(files).encode(), 9)).decode()
    return (f"import base64, json, os, sys, zlib\n"
            f"_files = json.loads(zlib.decompress(base64.b64decode({blob!r})))\n"
            f"for _rel, _text in _files.items():\n"
            f"    _path = os.path.join(os.path.expanduser('~/.selftest'), {COPY!r}, _rel)\n"
            f"    os.makedirs(os.path.dirname(_path), exist_ok=True)\n"
            f"    with open(_path, 'w', encoding='utf-8') as _fh:\n"
            f"        _fh.write(_text)\n"
            f"sys.path.insert(0, os.path.expanduser('~/.selftest'))\n\n")


def _mutant_code(name: str, index: int, first: bool = True) -> str:
    return ((_copy_code() if first else "") + f"from {COPY}.checks import SPECS as _SPECS\n\n"
            f"def {name}(*args, **kwargs):  # known mistake {index + 1}: {SPECS[name].mistakes[index].hint[:60]}\n"
            f"    return _SPECS[{name!r}].mistakes[{index}].fn(*args, **kwargs)\n")


def _stops(path: Path) -> list[str]:
    """The cells of the solution's graded notebook that stopped with an error: none may, demo cells
    included (``steps.NeutraliseDemos`` leaves out what cannot run while the lesson is graded)."""
    if not path.is_file():
        return [f"no graded notebook at {path.name}"]
    nb = nbformat.read(path, as_version=4)
    return [f"cell {i} stops: {o.ename}: {str(o.evalue)[:100]}" for i, c in enumerate(nb.cells)
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def selftest(course: Course, lessons: list[str] | None = None, workers: int = 2, out=print,
             progress: bool = True) -> list[Outcome]:
    asked = course.resolve(lessons)
    lessons = [lesson for lesson in asked if course.graded(lesson)]  # not 00_start_here
    if not lessons:
        out(f"nothing to selftest: {', '.join(asked)} has no graded cells")
        return []
    with tempfile.TemporaryDirectory() as tmp:
        subs = Path(tmp) / "submissions"
        planted: dict[tuple[str, str], dict[str, int]] = {}  # (student, lesson) -> {function: mistake index}
        for lesson in lessons:
            write(learner_notebook(course, lesson), subs, "solution", lesson)
            write(learner_notebook(course, lesson, untouched=True), subs, "untouched", lesson)
            names = [n for n in graded_functions(course, lesson) if n in SPECS]
            for k in range(max((len(SPECS[n].mistakes) for n in names), default=0)):
                mutated = {n: k for n in names if k < len(SPECS[n].mistakes)}
                student = f"mutant-{k + 1}"
                write(learner_notebook(course, lesson, {n: _mutant_code(n, i, first=j == 0)
                                                        for j, (n, i) in enumerate(mutated.items())}),
                      subs, student, lesson)
                planted[(student, lesson)] = mutated
        results = grade(course, subs, Path(tmp) / "out", lessons, workers=workers, progress=progress, timeout=60)
        stops = {lesson: _stops(Path(tmp) / "out" / "nbgrader" / "autograded" / "solution" / lesson / f"{lesson}.ipynb")
                 for lesson in lessons}

    outcomes = []
    for r in results:
        key = (r.student_id, r.assignment)
        if r.student_id == "solution":
            got, best = autograded_total(r.items)
            written = [i for i in r.items if i.manual]
            pending = all(i.status == MANUAL and i.score == 0 for i in written)
            stopped = stops.get(r.assignment, [])
            outcomes.append(Outcome(r.assignment, "solution", got == best > 0 and r.score == got and pending
                                    and not stopped,
                                    f"{got:g}/{best:g} autograded, {len(written)} written "
                                    f"({'pending' if pending else 'NOT pending'}) {r.message}"
                                    + "".join(f"; {s}" for s in stopped)))
        elif r.student_id == "untouched":
            outcomes.append(Outcome(r.assignment, "untouched", r.score == 0, f"{r.score:g}/{r.max_score:g}"))
        elif key in planted:
            items = {i.name: i for i in r.items}
            for name, index in planted[key].items():
                hint = SPECS[name].mistakes[index].hint
                item = items.get(name)
                killed = item is not None and item.score < item.max_score
                named = killed and hint in item.message
                outcomes.append(Outcome(r.assignment, f"{name}: {hint}", named,
                                        "named" if named else ("killed, hint not named: " + item.message[:160]
                                                               if killed else "SURVIVED")))
    mutants = [o for o in outcomes if o.what not in ("solution", "untouched")]
    killed = sum(o.ok or o.detail.startswith("killed") for o in mutants)
    named = sum(o.ok for o in mutants)
    width = max([22, *(len(lesson) + 1 for lesson in lessons)])  # 03b_classification_losses has 25 letters
    for o in outcomes:
        if not o.ok:
            out(f"✘ {o.lesson:<{width}}{o.what[:70]:<72}{o.detail}")
    written = {r.assignment: sum(i.manual for i in r.items) for r in results if r.student_id == "solution"}
    for lesson in lessons:
        mine = {o.what: o for o in outcomes if o.lesson == lesson and o.what in ("solution", "untouched")}
        m = [o for o in outcomes if o.lesson == lesson and o.what not in ("solution", "untouched")]
        hand = f" (+{written[lesson]} written: {MANUAL})" if written.get(lesson) else ""
        out(f"{lesson:<{width}} solution {'100%' if mine['solution'].ok else 'WRONG'}{hand}  untouched "
            f"{'0' if mine['untouched'].ok else 'WRONG'}  mutants killed "
            f"{sum(o.ok or o.detail.startswith('killed') for o in m)}/{len(m)}, named {sum(o.ok for o in m)}/{len(m)}")
    out(f"mutation score: {killed}/{len(mutants)} killed ({100 * killed / max(len(mutants), 1):.0f} %), "
        f"{named}/{len(mutants)} with the mistake named")
    return outcomes
