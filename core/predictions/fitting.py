"""Shared maximum-likelihood machinery: compressing identical customers and a guarded optimiser."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

Array = NDArray[np.float64]

# A log-parameter this close to an edge of its box is "at a bound": the data did not pin it down.
BOUND_MARGIN = 1e-3


class FitFailed(Exception):
    """A model could not be fitted; the message says why in words for the report."""


def compress(*columns: Array) -> tuple[tuple[Array, ...], Array]:
    """Distinct rows of the given columns and how many customers share each (the likelihood's weights)."""
    unique, _, counts = distinct_rows(*columns)
    return unique, counts


def distinct_rows(*columns: Array) -> tuple[tuple[Array, ...], NDArray[np.int64], Array]:
    """Distinct rows, the index of each input row among them, and the count of each distinct row.

    Summaries in whole days pack into one int64 key, which sorts far faster than rows of floats.
    """
    stacked = np.column_stack([np.asarray(c, dtype=np.float64) for c in columns])
    integral = (
        stacked.size > 0
        and len(columns) <= 3
        and bool(np.all(stacked == np.round(stacked)))
        and float(stacked.min()) >= 0
        and float(stacked.max()) < 2**20
    )
    if integral:
        key = np.zeros(stacked.shape[0], dtype=np.int64)
        for i in range(stacked.shape[1]):
            key = (key << 20) | stacked[:, i].astype(np.int64)
        _, first, inverse, counts = np.unique(
            key, return_index=True, return_inverse=True, return_counts=True
        )
        unique = stacked[first]
    else:
        unique, inverse, counts = np.unique(
            stacked, axis=0, return_inverse=True, return_counts=True
        )
    return (
        tuple(unique[:, i] for i in range(unique.shape[1])),
        inverse.reshape(-1).astype(np.int64),
        counts.astype(np.float64),
    )


def fit_log_params(
    objective: Callable[[Array], float],
    start: Array,
    bounds: tuple[float, float],
    names: Sequence[str],
) -> tuple[Array, float]:
    """Minimise an objective of log-parameters inside a box: L-BFGS-B, then a Nelder-Mead polish.

    Raises FitFailed when neither converges to a finite value or a parameter ends on the box.
    """
    box = [bounds] * len(start)
    best = minimize(
        objective,
        start,
        method="L-BFGS-B",
        bounds=box,
        options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 2000},
    )
    polish = minimize(
        objective,
        np.clip(best.x, bounds[0], bounds[1]),
        method="Nelder-Mead",
        bounds=box,
        options={"xatol": 1e-7, "fatol": 1e-12, "maxiter": 4000},
    )
    if np.isfinite(polish.fun) and (not np.isfinite(best.fun) or polish.fun <= best.fun):
        best = polish
    if not np.isfinite(best.fun) or not np.all(np.isfinite(best.x)):
        raise FitFailed(f"no convergence: {best.message}")
    if not (best.success or polish.success):
        raise FitFailed(f"no convergence: {best.message}")
    for name, value in zip(names, best.x, strict=True):
        if value <= bounds[0] + BOUND_MARGIN or value >= bounds[1] - BOUND_MARGIN:
            raise FitFailed(f"parameter {name} at a bound ({np.exp(value):.3g})")
    return np.asarray(best.x, dtype=np.float64), float(best.fun)
