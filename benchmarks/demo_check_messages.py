"""What a failing check shows (README, "For learners"): an overflowing sigmoid and a softmax mistake
the checks do not know. Run: ``.venv/bin/python benchmarks/demo_check_messages.py``."""

import numpy as np

from ann_core.checks import CheckFailed, check
from ann_core.checks.display import short_check_failed


def sigmoid(z):  # right values, but e^750 overflows
    return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))


def softmax(z):  # right on the worked example, then the sum squared
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True) ** 2 if np.size(z) > 3 else e / e.sum()


for name, fn in (("sigmoid", sigmoid), ("softmax", softmax)):
    try:
        check(name, fn)
    except CheckFailed as exc:
        print(short_check_failed(exc, colour=False)[0])
