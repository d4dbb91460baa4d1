"""Checks that notebook test cells, pytest and ``python -m autograder check`` share.

``check(name, fn)`` prints one line on success and raises ``CheckFailed`` (an
``AssertionError``) with a specific message otherwise, so an nbgrader test cell
scores full points or none. Test cells call it twice: ``check("sigmoid", sigmoid)``
in public, and ``check("sigmoid", sigmoid, seed=…, hidden=True)`` in the hidden
block, which adds larger shapes and edge cases drawn from another seed.

By concern:

==============  ====================================================================
``spec``        the spec model: ``Spec``, ``Case``, ``Mistake``, ``SPECS``, ``register``
``compare``     comparing returned values with expected ones, and showing them
``calling``     calling learner code (warnings and output captured) and mistakes (quietly)
``core``        ``check``, ``run_case``, ``diagnose``
``record``      the record/judge protocol with the grader (``RECORD_ENV``, ``judge``, ``replay``)
``withhold``    what the learner's code may not use while a lesson is checked (``withheld``)
``display``     how a failing check looks in a notebook
``progress``    the last cell of every lesson: where the learner stands
==============  ====================================================================

The other modules, one per lesson, each register the specs of their lesson's exercises.
"""

# ruff: noqa: F401  (re-exports: what notebooks, tests and the autograder import from here)
# Importing a lesson's module registers its specs; SPECS keeps this (alphabetical) order.
from . import (
    activations,
    autodiff,
    display,
    frameworks,
    gradcheck,
    layers,
    losses,
    network,
    optimizers,
    progress,
    regularization,
    training,
)
from .calling import Call, _copy, call
from .compare import _close, _fmt, _show_args, _show_case
from .core import CheckFailed, check, diagnose, run_case
from .record import RECORD_ENV, RECORD_MIME, _unportable, grading, replay
from .spec import SPECS, Case, Mistake, Spec, _plan, _wrapped, arrays, register
