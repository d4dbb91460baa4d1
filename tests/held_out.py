"""The held-out check of the capstone (the learner's own network): a first cell for a lesson notebook
that makes every ann_core reference the learner's toolbox replaces (lessons 01–11's, ann_core's own network,
layer and optimizer methods) raise when the notebook's code calls it, while ann_core's checks may still use
them. Used by tests/test_capstone.py (lesson 11) and tests/test_frameworks.py (lesson 14)."""

GUARD = '''
import sys
import ann_core.checks
import ann_core.checks.training as _t
from ann_core import activations, layers, losses, network, optimizers, training

_HELD_OUT = []

def _held_out(qualname, fn):
    def guarded(*args, **kwargs):
        frame = sys._getframe(1)
        if not frame.f_globals.get("__name__", "").startswith("ann_core"):
            f = frame
            while f is not None and not f.f_globals.get("__name__", "").startswith("ann_core.checks"):
                f = f.f_back
            if f is None:
                raise RuntimeError(f"held out: ann_core's {qualname} called from the notebook")
        return fn(*args, **kwargs)
    return guarded

_MODULES = {"layers": layers, "activations": activations, "losses": losses, "network": network,
            "optimizers": optimizers, "training": training}
for dotted in _t.EARLIER_REFERENCES + ("ann_core.training.train_step", "ann_core.training.fit"):
    _, mod, name = dotted.split(".")
    orig = getattr(_MODULES[mod], name)
    setattr(_MODULES[mod], name, _held_out(dotted, orig))
    for table in (activations.ACTIVATIONS, activations.DERIVATIVES, losses.LOSSES, losses.GRADIENTS):
        for k, v in list(table.items()):
            if v is orig:
                table[k] = getattr(_MODULES[mod], name)
    _HELD_OUT.append(dotted)
for cls, names in ((layers.Dense, ("forward", "backward")),
                   (network.Sequential, ("forward", "backward", "predict", "predict_proba")),
                   (optimizers.Optimizer, ("step",))):
    for name in names:
        setattr(cls, name, _held_out(f"{cls.__name__}.{name}", getattr(cls, name)))
        _HELD_OUT.append(f"{cls.__name__}.{name}")
try:
    losses.categorical_cross_entropy([[1.0]], [[1.0]])
except RuntimeError as exc:
    print("guard works:", exc, f"({len(_HELD_OUT)} names held out)")
'''
