"""The spec model: what a graded function is checked on (``Spec``, ``Case``, ``Mistake``).

Every lesson module of ``ann_core.checks`` ``register``\\ s one ``Spec`` per graded function;
``SPECS`` maps the function's name to it. ``plan`` turns a spec into the cases ``check`` runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from .. import examples as _examples
from .calling import _copy


@dataclass
class Case:
    """One call: positional ``args``, keyword ``kwargs`` and a short ``label``."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    label: str = ""


@dataclass
class Mistake:
    """A plausible wrong implementation ``fn`` (a named function) and the hint shown when it matches."""

    hint: str
    fn: Callable


@dataclass
class Spec:
    """How to check the graded function ``name``.

    ``cases(rng, hidden)`` returns the random cases; ``reference`` computes the right
    answer; ``mistakes`` diagnose wrong ones. ``rtol``/``atol`` set the tolerance.
    """

    name: str
    reference: Callable
    cases: Callable[[np.random.Generator, bool], list[Case]]
    mistakes: list[Mistake] = field(default_factory=list)
    rtol: float = 1e-6
    atol: float = 1e-8
    examples: bool = True  # also check the worked examples for this name
    # Optional adapter applied to the learner's function, the reference and every mistake
    # before calling them, e.g. one that turns a generator's output into a list.
    wrap: Callable[[Callable], Callable] | None = None
    # Other ann_core code that does the exercise's job (dotted names such as
    # "ann_core.layers.Dense.forward"; a class stands for all its methods).
    forbidden: tuple[str, ...] = ()
    # The private kernels that hold ``reference``'s formula (e.g. "ann_core.activations._sigmoid").
    kernels: tuple[str, ...] = ()
    # The lesson whose notebook grades this function (e.g. "02_activations"). While it is graded,
    # that lesson's references, kernels and forbidden names are withheld from the learner's code
    # (``ann_core.checks.withhold``): within a lesson, learners use their own earlier functions.
    lesson: str = ""
    # Messages show a case's ``label`` in place of its arguments: for cases whose arguments
    # cannot show themselves (recipes that build a network), the label is written as the call's.
    label_args: bool = False
    # The docstring promises no overflow (e.g. "no overflow for large |z|"): a case on which NumPy warns
    # "overflow encountered in …" fails even when the values come out right (``core.run_case``, ``record.judge``).
    no_overflow: bool = False


SPECS: dict[str, Spec] = {}


def register(spec: Spec) -> Spec:
    SPECS[spec.name] = spec
    return spec


def arrays(rng: np.random.Generator, shapes, scale: float = 2.0):
    """Random float arrays of the given shapes, normal with standard deviation ``scale``."""
    return [rng.normal(0.0, scale, size=s) for s in shapes]


def _wrapped(spec: Spec) -> Spec:
    """``spec`` with its ``wrap`` applied to the reference and every mistake."""
    if spec.wrap is None:
        return spec
    return replace(spec, reference=spec.wrap(spec.reference),
                   mistakes=[Mistake(m.hint, spec.wrap(m.fn)) for m in spec.mistakes], wrap=None)


def _cases(spec: Spec, seed: int, hidden: bool):
    """The cases ``check`` runs, in order, as ``(spec to use, case, worked example or None)``: the
    worked examples, then the random cases from ``seed``. Never calls the reference (a grading
    kernel has none)."""
    if spec.examples:
        for ex in _examples.for_function(spec.name):
            tol = 0.5 * 10.0 ** (-ex.decimals) + 1e-12
            yield replace(spec, rtol=0, atol=tol), Case(ex.args, ex.kwargs, ex.text), ex
    rng = np.random.default_rng(seed)
    for case in spec.cases(rng, hidden):
        yield spec, case, None


def _plan(spec: Spec, seed: int, hidden: bool):
    """The cases ``check`` runs, in order, as ``(spec to use, case, expected value)``."""
    for case_spec, case, ex in _cases(spec, seed, hidden):
        yield case_spec, case, ex.expected if ex is not None else spec.reference(*_copy(case.args), **case.kwargs)
