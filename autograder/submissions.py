"""Synthetic submissions, for the demo, the harness's tests and its self-validation.

``learner_notebook(course, lesson, answers)`` is the released lesson with its solution
cells filled in: by default with the instructor's solution (markers removed), and
``answers={"sigmoid": "def sigmoid(z):\\n    return ..."}`` replaces single cells, as a
learner's mistake would. ``answers={"sigmoid": None}`` leaves a cell untouched.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from .course import Course
from .release import strip_markers


def learner_notebook(course: Course, lesson: str, answers: dict | None = None, untouched: bool = False):
    answers = answers or {}
    released = nbformat.read(str(course.lesson(lesson)), as_version=4)
    if untouched:
        return released
    solution = nbformat.read(str(course.solution(lesson)), as_version=4)
    source = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution.cells
              if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in released.cells:
        nbg = cell.metadata.get("nbgrader", {})
        if nbg.get("solution"):
            gid = nbg["grade_id"]
            if gid in answers:
                if answers[gid] is not None:
                    cell.source = answers[gid]
            else:
                cell.source = strip_markers(source[gid])
    return released


def graded_functions(course: Course, lesson: str) -> list[str]:
    """The grade_ids of a lesson's solution cells (the functions learners write), in order."""
    released = nbformat.read(str(course.lesson(lesson)), as_version=4)
    return [c.metadata["nbgrader"]["grade_id"] for c in released.cells
            if c.metadata.get("nbgrader", {}).get("solution")]


def write(nb, submissions: Path, student: str, lesson: str) -> Path:
    path = submissions / student / lesson / f"{lesson}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


# Realistic wrong answers for the demo class (a learner's typical slips).
DEMO_MISTAKES = {
    "weighted_sum": "def weighted_sum(x, w, b):\n    return float(np.dot(x, w))  # forgot the bias\n",
    "sigmoid": "def sigmoid(z):\n    return 1 / (1 + np.exp(z))  # sign slip\n",
    "mse": "def mse(y_true, y_pred):\n    return float(np.sum((np.asarray(y_pred) - y_true) ** 2))  # sum, not mean\n",
    "binary_cross_entropy": ("def binary_cross_entropy(y_true, y_pred):\n"
                             "    t = np.asarray(y_true, dtype=float)\n"
                             "    p = np.clip(np.asarray(y_pred, dtype=float), EPS, 1 - EPS)\n"
                             "    return float(np.mean(-t * np.log(p) + (1 - t) * np.log(1 - p)))  # no brackets\n"),
    "layer_forward": ("def layer_forward(X, W, b, activation):\n    Z = X @ W + b\n"
                      "    return ACTIVATIONS[activation](Z), (X, ACTIVATIONS[activation](Z))  # caches A, not Z\n"),
    "dense_backward": ("def dense_backward(dZ, X, W):\n"
                       "    return dZ @ W.T, X.T @ dZ, dZ.mean(axis=0)  # mean instead of sum for db\n"),
    "sgd_update": "def sgd_update(w, g, lr):\n    return np.asarray(w) + lr * np.asarray(g)  # uphill\n",
    "momentum_update": ("def momentum_update(w, g, v, lr, mu=0.9):\n"
                        "    v = mu * v + (1 - mu) * g  # the moving-average form\n    return w - lr * v, v\n"),
    "adagrad_update": ("def adagrad_update(w, g, G, lr, eps=1e-10):\n    G = G + g * g\n"
                       "    return w - lr * g / np.sqrt(G + eps), G  # eps inside the root\n"),
    "rmsprop_update": ("def rmsprop_update(w, g, s, lr, rho=0.99, eps=1e-8):\n    s = rho * s + (1 - rho) * g * g\n"
                       "    return w - lr * g / np.sqrt(s + eps), s  # eps inside the root\n"),
    "adam_update": ("def adam_update(w, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):\n"
                    "    m = beta1 * m + (1 - beta1) * g\n    v = beta2 * v + (1 - beta2) * g * g\n"
                    "    return w - lr * m / (np.sqrt(v) + eps), m, v  # no bias correction\n"),
    "autodiff_backward": ("def autodiff_backward(root):\n    order = autodiff_topological_order(root)\n"
                          "    root.grad = 1.0\n    for node in reversed(order):\n"
                          "        for parent, local in zip(node.parents, node.local_grads):\n"
                          "            parent.grad = local * node.grad  # = instead of +=\n"),
    "torch_params": ("def torch_params(params):\n"
                     "    return [(np.reshape(W, (W.shape[1], W.shape[0])), b) for W, b in params]  # reshape\n"),
    "digits_accuracy": ("init_rng = np.random.default_rng(0)\n"
                        "model = Sequential([Dense(64, 64, 'relu', rng=init_rng),\n"
                        "                    Dense(64, 10, 'softmax', rng=init_rng)])\n"
                        "history = fit(model, X_train, Y_train, 'categorical_cross_entropy', Adam(lr=1e-3),\n"
                        "              epochs=3, batch_size=32, seed=0)  # stopped too early\n"),
}


def demo_class(course: Course, lessons: list[str], submissions: Path) -> dict[str, str]:
    """Write a small class: ``ada`` (all correct), ``ben`` (untouched), ``cy`` (one slip per lesson)."""
    who = {"ada": "every answer correct", "ben": "untouched lessons", "cy": "one typical mistake per lesson"}
    for lesson in lessons:
        write(learner_notebook(course, lesson), submissions, "ada", lesson)
        write(learner_notebook(course, lesson, untouched=True), submissions, "ben", lesson)
        graded = graded_functions(course, lesson)
        slip = next((g for g in graded if g in DEMO_MISTAKES), graded[0] if graded else None)
        answers = {slip: DEMO_MISTAKES.get(slip)} if slip else {}
        write(learner_notebook(course, lesson, answers), submissions, "cy", lesson)
    return who
