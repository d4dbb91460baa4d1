"""ann_core: the course's reference implementation of a small neural-network library.

One concept, one module, one lesson:

=========================  =========================================  =====================
module                     what it holds                              lessons
=========================  =========================================  =====================
``ann_core.layers``        neurons, the perceptron, dense layers      01, 04, 05
``ann_core.activations``   sigmoid, tanh, ReLU, Leaky ReLU, softmax   02
``ann_core.losses``        MSE, ..., BCE, CCE, L2 penalty             03, 12
``ann_core.network``       forward / backward through a stack         04, 05, 11
``ann_core.gradcheck``     finite-difference gradients                05
``ann_core.optimizers``    SGD, Momentum, AdaGrad, RMSprop, Adam      06-10
``ann_core.training``      mini-batches, train step, fit loop         06, 11
``ann_core.datasets``      XOR, moons, spirals, 8x8 digits, MNIST     06, 11, 12
``ann_core.autodiff``      reverse-mode autodiff on scalars (Value)   13
``ann_core.frameworks``    the course's weights in Keras / PyTorch    14
``ann_core.examples``      the worked examples every grader checks    all
``ann_core.checks``        the checks notebook test cells call        all
=========================  =========================================  =====================

Conventions (see ``../shared/COURSE_SPEC.md``): batches are rows, ``X`` has
shape ``(n_samples, n_features)``; a dense layer has ``W`` of shape
``(n_in, n_out)`` and ``b`` of shape ``(n_out,)``; ``Z = X @ W + b``.
"""

from . import (
    activations,
    autodiff,
    datasets,
    examples,
    frameworks,
    gradcheck,
    layers,
    losses,
    network,
    optimizers,
    training,
)

__all__ = [
    "activations",
    "autodiff",
    "datasets",
    "examples",
    "frameworks",
    "gradcheck",
    "layers",
    "losses",
    "network",
    "optimizers",
    "training",
]
__version__ = "0.1.0"

if "IPython" in __import__("sys").modules:  # in a notebook: short check failures (ann_core/checks/display.py)
    from .checks import display as _display

    _display.install()
