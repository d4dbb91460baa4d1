"""Feedback HTML that helps the learner without giving the hidden tests away.

nbgrader's feedback shows test cells as autograded: hidden-test code and full
tracebacks included. ``ConciseTestCells`` (added to ``GenerateFeedback.preprocessors``
in ``course.nbgrader_config``) removes the hidden-test region from each graded test
cell and shortens each error to its last line: the check's own message, which names
the item, the input and the likely mistake.
"""

from __future__ import annotations

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.preprocessors.clearhiddentests import ClearHiddenTests

from .score import error_message


class ConciseTestCells(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, cell_index):
        if utils.is_grade(cell) and not utils.is_solution(cell) and cell.cell_type == "code":
            if ClearHiddenTests()._remove_hidden_test_region(cell):
                cell.source = cell.source.rstrip() + "\n# (hidden tests not shown)"
            for out in cell.get("outputs", []):
                if out.output_type == "error":
                    out.traceback = [error_message(out)]
        return cell, resources
