# nbgrader's configuration for this course, read by `nbgrader ...`, formgrader and
# `jupyter lab` started from this directory, and by `python -m autograder grade`.
#
# The course's layout comes from autograder/course.py (instructor_config): nbgrader's
# source is solutions/, its release is lessons/, and the gradebook, autograded notebooks,
# collected submissions and the exchange are in the grading workspace that
# `python -m autograder grade --out DIR` writes: grading/ by default, or the directory
# named by the environment variable AUTOGRADER_OUT (e.g. AUTOGRADER_OUT=grading/demo).
import os

from autograder.course import instructor_config

c = get_config()  # noqa: F821  (provided by nbgrader when it reads this file)
c.merge(instructor_config(os.path.dirname(os.path.abspath(__file__))))

# Your own nbgrader settings go below; `grade` applies them too. For example, late
# submissions (a due date set in formgrader or with `nbgrader db assignment add`) score 0:
# c.LateSubmissionPlugin.penalty_method = "zero"
