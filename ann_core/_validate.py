"""Input validation shared by every ann_core module: clear errors, never silent wrong answers."""

from __future__ import annotations

import numpy as np


def as_float_array(x, name: str = "x") -> np.ndarray:
    """Return ``x`` as a float64 array, or raise ``TypeError`` naming ``name`` and its dtype.

    Booleans and integers are accepted (and converted); strings, objects and complex
    numbers are refused, because the course's formulas are real-valued.
    """
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged nested lists and the like
        raise TypeError(f"{name} must be array-like of numbers, got {type(x).__name__}: {exc}") from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers, got dtype {arr.dtype} "
            f"(kind {arr.dtype.kind!r}); convert it with np.asarray({name}, dtype=float)"
        )
    return arr.astype(np.float64, copy=False)


def same_shape(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same shape (no silent broadcasting)."""
    if a.shape != b.shape:
        raise ValueError(
            f"{names[0]} has shape {a.shape} but {names[1]} has shape {b.shape}; "
            "they must match element for element (no broadcasting)"
        )


def finite(a: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` if ``a`` holds NaN or infinity."""
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinity")
