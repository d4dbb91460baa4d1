"""Each of the course's own grading steps (``autograder/steps.py``) on a small fixture notebook,
and the gradebook session nbgrader's steps share: one per submission, committed once."""

from __future__ import annotations

import copy

import nbformat
import numpy as np
import pytest
from nbformat import NotebookNode
from traitlets.config import Config

from ann_core.checks import RECORD_ENV, RECORD_MIME, check
from autograder import steps
from autograder.score import score_notebook
from autograder.steps import DrawHiddenSeeds, MarkNotRun, RestoreCells, Submission, Verify
from autograder.verify import expected_checks

TEST_SOURCE = ('check("sigmoid", sigmoid)\n### BEGIN HIDDEN TESTS\n'
               'check("sigmoid", sigmoid, seed=5, hidden=True)\n### END HIDDEN TESTS')
OWN = "def sigmoid(z):\n    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + e^(-z)), without overflow"


def _cell(source, grade_id=None, **flags):
    cell = nbformat.v4.new_code_cell(source)
    if grade_id:
        cell.metadata["nbgrader"] = {"grade_id": grade_id, "grade": False, "solution": False, "locked": False,
                                     "schema_version": 3, **flags}
    return cell


def released_nb():
    """A lesson in miniature: an import, the exercise (a stub), its test (2 points), a demo cell."""
    return nbformat.v4.new_notebook(cells=[
        _cell("import numpy as np\nfrom ann_core.checks import check", "imports", locked=True),
        _cell("def sigmoid(z):\n    raise NotImplementedError()", "sigmoid", solution=True),
        _cell(TEST_SOURCE, "test_sigmoid", grade=True, locked=True, points=2),
        _cell("print(sigmoid(np.zeros(2)))"),
    ])


def learner_nb(code=OWN):
    nb = released_nb()
    nb.cells[1].source = code
    return nb


def _ids(nb):
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]


def _run(step, nb, sub):
    return step(config=Config()).preprocess(nb, {"autograder": sub})[0]


# ---------------------------------------------------------------- 2. prepare
def _delete_test_cell(cells):
    del cells[2]


def _move_test_cell_to_the_top(cells):
    cells.insert(0, cells.pop(2))


@pytest.mark.parametrize("damage, note", [
    (_delete_test_cell, "restored the deleted cell test_sigmoid"),
    (_move_test_cell_to_the_top, "moved test_sigmoid back below sigmoid"),
])
def test_restore_cells_puts_the_test_cell_back_below_its_function(damage, note):
    nb = learner_nb()
    damage(nb.cells)
    sub = Submission(released_nb())
    nb = _run(RestoreCells, nb, sub)
    assert _ids(nb) == ["imports", "sigmoid", "test_sigmoid", None]
    assert sub.notes == [note]


def test_restore_cells_grades_the_last_of_duplicated_cells():
    nb = learner_nb()
    first = copy.deepcopy(nb.cells[1])
    first.source = "def sigmoid(z):\n    return 0 * z"
    nb.cells.insert(1, first)
    sub = Submission(released_nb())
    nb = _run(RestoreCells, nb, sub)
    assert _ids(nb) == ["imports", None, "sigmoid", "test_sigmoid", None]
    assert nb.cells[2].source == OWN
    assert sub.notes == ["sigmoid appears more than once; the last copy was graded"]


def test_restore_cells_leaves_an_intact_notebook_alone():
    nb, sub = learner_nb(), Submission(released_nb())
    before = copy.deepcopy(nb)
    assert _run(RestoreCells, nb, sub) == before and sub.notes == []


def test_draw_hidden_seeds_replaces_only_the_hidden_seed_and_keeps_it():
    seeds = []
    for _ in range(2):
        sub = Submission(released_nb())
        nb = _run(DrawHiddenSeeds, learner_nb(), sub)
        (seed,) = sub.seeds["test_sigmoid"]
        assert expected_checks(nb.cells[2].source) == [("sigmoid", 0, False), ("sigmoid", seed, True)]
        assert seed >= 1000 and nb.cells[2].source.startswith('check("sigmoid", sigmoid)\n')
        seeds.append(seed)
    assert seeds[0] != seeds[1]  # a new one every run


# ---------------------------------------------------------------- 4. verify
def test_mark_not_run_zeroes_a_test_cell_that_never_ran():
    nb = learner_nb()
    assert score_notebook(nb)[0].status == "not run"  # before: no outputs, nbgrader would give 2 points
    nb.cells[2].outputs = [NotebookNode(output_type="stream", name="stdout", text="")]
    nb = _run(MarkNotRun, nb, Submission(released_nb()))
    (item,) = score_notebook(nb)
    assert (item.score, item.max_score, item.status) == (0.0, 2.0, "not run")
    ran = learner_nb()
    ran.cells[2].execution_count = 3
    assert _run(MarkNotRun, copy.deepcopy(ran), Submission(released_nb())) == ran


def _records(monkeypatch, fn, seed):
    """What the test cell's two checks display in a grading kernel for the learner's ``fn``."""
    shown = []
    monkeypatch.setenv(RECORD_ENV, "1")
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    for s, hidden in ((0, False), (seed, True)):
        try:
            check("sigmoid", fn, seed=s, hidden=hidden, quiet=True)
        except AssertionError:
            pass
    return [NotebookNode(output_type="display_data", metadata={}, data={RECORD_MIME: r[RECORD_MIME]})
            for r in shown]


def _prepared_and_executed(monkeypatch, code, fn):
    """The notebook as prepared (trusted) and as it came back from a kernel that ran ``fn``."""
    sub = Submission(released_nb(), digits_seed=1)
    trusted = _run(DrawHiddenSeeds, learner_nb(code), sub)
    sub.trusted = trusted
    done = copy.deepcopy(trusted)
    done.cells[2].execution_count = 1
    done.cells[2].outputs = _records(monkeypatch, fn, sub.seeds["test_sigmoid"][0])
    return done, sub


def test_verify_passes_own_right_work_with_the_graders_words(monkeypatch):
    done, sub = _prepared_and_executed(monkeypatch, OWN, lambda z: 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z))))
    nb = _run(Verify, done, sub)
    (out,) = nb.cells[2].outputs
    assert out.output_type == "stream" and out.text.startswith("✔ sigmoid:") and "(hidden tests)" in out.text
    assert sub.notes == [] and score_notebook(nb)[0].score == 2.0


def test_verify_fails_a_forged_record_the_kernel_showed_as_passing(monkeypatch):
    done, sub = _prepared_and_executed(monkeypatch, OWN, lambda z: 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z))))
    outcomes = done.cells[2].outputs[1].data[RECORD_MIME]["outcomes"]
    outcomes[-1]["value"]["array"][1][0] = repr(0.123)  # one hidden value changed after the check ran
    nb = _run(Verify, done, sub)
    (out,) = nb.cells[2].outputs
    assert out.output_type == "error" and out.ename == "CheckFailed" and "hidden test case" in out.evalue
    assert sub.notes == [f"not verified: test_sigmoid: {out.evalue}"]
    assert score_notebook(nb)[0].score == 0.0


def test_verify_fails_a_function_that_calls_the_reference(monkeypatch):
    """In a grading kernel the reference is a stub that raises ``ReferenceUnavailable``: the record says so."""
    from ann_core._unavailable import unavailable

    code = "from ann_core.activations import sigmoid as s\ndef sigmoid(z):\n    return s(z)"
    done, sub = _prepared_and_executed(monkeypatch, code, lambda z: unavailable("ann_core.activations.sigmoid"))
    nb = _run(Verify, done, sub)
    (out,) = nb.cells[2].outputs
    assert out.ename == "CheckFailed" and out.evalue.startswith("sigmoid uses ann_core's activations.sigmoid, which "
                                                                "this lesson asks you to write")
    assert score_notebook(nb)[0].score == 0.0
    done, sub = _prepared_and_executed(monkeypatch, code, lambda z: unavailable("ann_core.nothing_withheld"))
    assert "uses a function of ann_core this lesson withholds" in _run(Verify, done, sub).cells[2].outputs[0].evalue


def test_demo_cells_run_with_the_learners_functions_in_place_of_withheld_ones():
    """Only unchanged released cells: a withheld reference becomes the learner's function of that name;
    a cell using another withheld name (a kernel) is left out; the learner's own cells never change."""
    released = released_nb()
    released.cells[0].source += "\nimport ann_core.activations as act\nfrom ann_core.activations import tanh"
    released.cells.append(_cell("s = act.sigmoid(0.0)  # the reference\nprint(s, act . sigmoid(np.ones(2)))"))
    released.cells.append(_cell("print(tanh(0.0), act.relu(1.0))"))
    released.cells.append(_cell("print(act._sigmoid(np.zeros(1)))"))
    nb = copy.deepcopy(released)
    nb.cells[1].source = "def sigmoid(z):\n    return act.sigmoid(z)"  # the learner's: runs (and fails)
    nb.cells.append(_cell("print(act.sigmoid(1.0))"))  # a learner's scratch cell: runs
    sub = Submission(released, withheld=("ann_core.activations.sigmoid", "ann_core.activations._sigmoid"))
    out = _run(steps.NeutraliseDemos, copy.deepcopy(nb), sub)
    changed = [i for i, (a, b) in enumerate(zip(nb.cells, out.cells, strict=True)) if a.source != b.source]
    assert changed == [4, 6]
    assert out.cells[4].source == ("# Run by the grader with your own functions in place of ann_core's.\n"
                                   "s = sigmoid(0.0)  # the reference\nprint(s, sigmoid(np.ones(2)))")
    assert out.cells[6].source.startswith("# Not run by the grader") and "activations._sigmoid" in out.cells[6].source
    assert _run(steps.NeutraliseDemos, copy.deepcopy(nb), Submission(released)) == nb


def test_demo_cells_that_need_a_skipped_demo_cells_names_are_left_out_too():
    """A demo cell the grader does not run defines nothing: the demo cells that read what it defined are
    left out as well (saying which names), until a cell that runs defines them again; a cell that calls
    ann_core's code over a withheld kernel is left out like one that calls the kernel."""
    released = released_nb()
    released.cells[0].source += "\nimport ann_core.activations as act\nfrom ann_core import losses"
    released.cells.append(_cell("LOGIC = {'AND': act._sigmoid(np.zeros(4))}"))       # 4: uses a kernel
    released.cells.append(_cell("def show(k):\n    return LOGIC[k]\nprint(show('AND'))"))  # 5: reads LOGIC
    released.cells.append(_cell("print(show, [k for k in range(2)])"))               # 6: reads show
    released.cells.append(_cell("LOGIC = {}\nprint(LOGIC)"))                         # 7: defines it again
    released.cells.append(_cell("print(len(LOGIC))"))                                 # 8: runs
    released.cells.append(_cell("g = losses.sparse_categorical_cross_entropy_grad(np.array([0]), np.ones((1, 2)))"))
    nb = copy.deepcopy(released)
    nb.cells[1].source = "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))"
    sub = Submission(released, withheld=("ann_core.activations.sigmoid", "ann_core.activations._sigmoid",
                                         "ann_core.losses._sparse_cce"))
    out = _run(steps.NeutraliseDemos, copy.deepcopy(nb), sub)
    changed = [i for i, (a, b) in enumerate(zip(nb.cells, out.cells, strict=True)) if a.source != b.source]
    assert changed == [4, 5, 6, 9]
    assert "activations._sigmoid" in out.cells[4].source
    assert "uses LOGIC, which a demo cell before it" in out.cells[5].source
    assert "uses show, which a demo cell before it" in out.cells[6].source
    assert "losses.sparse_categorical_cross_entropy_grad" in out.cells[9].source


def test_names_flow_and_users():
    from autograder.integrity import names_flow, users

    defines, reads = names_flow("def f(x, k=K):\n    y = x + Z\n    return y\nA = f(B)\n"
                                "for i in range(A):\n    C = i\n[q for q in W]\nimport numpy as np\nx = x + 1")
    assert defines == {"f", "A", "i", "C", "q", "np", "x"}
    assert reads == {"K", "Z", "B", "range", "W", "x"}
    assert names_flow("def f(:") is None
    got = users(("ann_core.losses._sparse_cce",))
    assert {"ann_core.losses.sparse_categorical_cross_entropy_grad", "ann_core.losses._sparse_cce"} <= got
    assert "ann_core.losses.mse" not in got and "ann_core.activations.sigmoid" not in got


# ---------------------------------------------------------------- 5. score: one gradebook session
@pytest.fixture
def gradebook(tmp_path):
    """A gradebook holding the miniature lesson "L" and learner "ada"'s submission of it."""
    from nbgrader.api import Gradebook

    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gb:
        gb.add_assignment("L")
        gb.add_notebook("L", "L")
        gb.add_grade_cell("test_sigmoid", "L", "L", max_score=2, cell_type="code")
        gb.add_solution_cell("sigmoid", "L", "L")
        gb.add_student("ada")
        gb.add_submission("L", "ada")
    return url


def _auto_scores(url):
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:
        return [g.auto_score for g in gb.find_submission_notebook("L", "L", "ada").grades]


def test_nbgraders_steps_save_in_the_submissions_session_and_commit_once(gradebook, monkeypatch):
    from nbgrader.api import Gradebook

    opened, original_init = [], Gradebook.__init__

    def counting_init(self, *args, **kwargs):
        opened.append(args)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(Gradebook, "__init__", counting_init)
    nb = learner_nb()
    nb.cells[2].execution_count = 1
    nb.cells[2].outputs = [NotebookNode(output_type="error", ename="CheckFailed", evalue="wrong", traceback=[])]
    with Gradebook(gradebook) as gb:
        commits = []
        monkeypatch.setattr(gb.db, "commit", lambda: commits.append(1))
        sub = Submission(released_nb())
        resources = steps.resources("ada", "L", gradebook, "default_course", sub)
        steps.run([steps.SaveAutoGrades, steps.AssignLatePenalties], nb, resources, Config(), gradebook=gb)
        assert len(opened) == 1 and commits == []  # nbgrader's two steps opened no gradebook and committed nothing
        assert gb.find_grade("test_sigmoid", "L", "L", "ada").auto_score == 0  # but see what they saved
        assert _auto_scores(gradebook) == [None]  # which no one else sees yet
        monkeypatch.undo()
        gb.db.commit()
    assert _auto_scores(gradebook) == [0]
    assert steps.SaveAutoGrades.__module__ == "nbgrader.preprocessors.saveautogrades"  # nbgrader's own class


def test_a_failing_step_leaves_nothing_of_the_submission_in_the_gradebook(gradebook):
    from nbgrader.api import Gradebook

    class Broken(steps.NbGraderPreprocessor):
        def preprocess(self, nb, resources):
            raise RuntimeError("a step failed")

    nb = learner_nb()
    nb.cells[2].execution_count = 1
    with Gradebook(gradebook) as gb:
        sub = Submission(released_nb())
        with pytest.raises(RuntimeError):
            steps.run([steps.SaveAutoGrades, Broken], nb, steps.resources("ada", "L", gradebook, "default_course",
                                                                          sub), Config(), gradebook=gb)
        gb.db.rollback()  # what grade.py's session does on an error
    assert _auto_scores(gradebook) == [None]


def test_prepare_and_finish_are_nbgraders_autograde_plus_the_courses_steps():
    from nbgrader.converters import Autograde

    ours = {steps.RestoreCells, steps.NeutraliseDemos, steps.DrawHiddenSeeds, steps.MarkNotRun, steps.Verify,
            steps.Sanitize}
    autograde = Autograde()
    nbgraders = [c.__name__ for c in [*autograde.sanitize_preprocessors, *autograde.autograde_preprocessors]]
    assert [c.__name__ for c in steps.PREPARE + steps.FINISH if c not in ours] == \
        [n for n in nbgraders if n != "Execute"]


@pytest.mark.parametrize("bad", [{"points": "two"}, {"grade": "yes"}, {"grade_id": ""}, {"schema_version": 9}])
def test_check_cell_metadata_refuses_what_nbgraders_refuses(bad):
    """The course's CheckCellMetadata (the schema made once per run) agrees with nbgrader's own."""
    from nbgrader.preprocessors import CheckCellMetadata as Nbgraders

    nb = learner_nb()
    nb.cells[2].metadata["nbgrader"].update(bad)
    for step in (steps.CheckCellMetadata, Nbgraders):
        with pytest.raises(Exception, match="nbgrader metadata may be corrupted|[Ss]chema|grade_id"):
            step(config=Config(), log=steps.QUIET).preprocess(copy.deepcopy(nb), {})
    good = learner_nb()
    assert steps.CheckCellMetadata(config=Config()).preprocess(good, {})[0] is good
