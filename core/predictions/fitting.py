"""Shared maximum-likelihood machinery: compressing identical customers and a guarded optimiser."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

Array = NDArray[np.float64]

# A log-parameter this close to an edge of its box is "at a bound": the data did not pin it down.
BOUND_MARGIN = 1e-3
# Largest gradient (of the mean log-likelihood in log-parameters) still taken as converged.
GRADIENT_FLAT = 1e-5


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
    objective: Callable[[Array], tuple[float, Array]],
    start: Array,
    bounds: tuple[float, float],
    names: Sequence[str],
) -> tuple[Array, float]:
    """Minimise an objective (value, gradient) of log-parameters inside a box.

    L-BFGS-B with the analytic gradient; Nelder-Mead on the value alone if that does not
    converge. Raises FitFailed when neither converges or a parameter ends on the box.
    """
    box = [bounds] * len(start)
    best = minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=box,
        options={"ftol": 1e-12, "gtol": 1e-8, "maxiter": 1000},
    )
    # A line search that stalls at machine precision with a flat gradient has still converged.
    flat = np.all(np.isfinite(best.jac)) and float(np.max(np.abs(best.jac))) < GRADIENT_FLAT
    if not ((best.success or flat) and np.isfinite(best.fun)):
        fallback = minimize(
            lambda v: objective(v)[0],
            np.clip(best.x if np.all(np.isfinite(best.x)) else start, *bounds),
            method="Nelder-Mead",
            bounds=box,
            options={"xatol": 1e-7, "fatol": 1e-12, "maxiter": 4000},
        )
        if not (fallback.success and np.isfinite(fallback.fun)):
            raise FitFailed(f"no convergence: {best.message}")
        best = fallback
    for name, value in zip(names, best.x, strict=True):
        if value <= bounds[0] + BOUND_MARGIN or value >= bounds[1] - BOUND_MARGIN:
            raise FitFailed(f"parameter {name} at a bound ({np.exp(value):.3g})")
    return np.asarray(best.x, dtype=np.float64), float(best.fun)
