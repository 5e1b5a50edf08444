"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Colombo & Jiang 1999).

A customer's transaction values are Gamma(p, ν) around their own mean; ν ~ Gamma(q, γ) across
customers. It is fitted on repeat buyers only: `x` repeat transactions with mean value `m`.
The model assumes spend is independent of purchase frequency; `independence_check` reports the
correlation so a reader can judge it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import betaln, digamma

from core.predictions.fitting import FitFailed, fit_log_params

Array = NDArray[np.float64]

LOG_BOUNDS = (-9.0, 12.0)


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters, with the fit's log-likelihood and repeat-buyer count."""

    p: float
    q: float
    gamma: float
    log_likelihood: float = float("nan")
    n_customers: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Parameters as a JSON-friendly dict."""
        return asdict(self)


def log_likelihood_terms(params: tuple[float, float, float], x: ArrayLike, m: ArrayLike) -> Array:
    """Each repeat buyer's log-density of their mean spend `m` over `x` transactions."""
    p, q, gamma = params
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    xs = np.asarray(x, dtype=np.float64)
    ms = np.asarray(m, dtype=np.float64)
    px = p * xs
    return np.asarray(
        -betaln(px, q)
        + q * np.log(gamma)
        + (px - 1.0) * np.log(ms * xs)
        + np.log(xs)
        - (px + q) * np.log(gamma + ms * xs),
        dtype=np.float64,
    )


def log_likelihood(params: tuple[float, float, float], x: ArrayLike, m: ArrayLike) -> float:
    """Total log-likelihood of a sample of repeat buyers."""
    return float(np.sum(log_likelihood_terms(params, x, m)))


def fit(frequency: ArrayLike, mean_spend: ArrayLike) -> GammaGammaParams:
    """Maximum-likelihood fit of p, q, γ on repeat buyers (x > 0, m > 0)."""
    x_all = np.asarray(frequency, dtype=np.float64)
    m_all = np.asarray(mean_spend, dtype=np.float64)
    keep = (x_all > 0) & np.isfinite(m_all) & (m_all > 0)
    x, m = x_all[keep], m_all[keep]
    n = float(x.size)
    if x.size < 2:
        raise FitFailed("too few repeat buyers with a positive spend")
    mx = m * x
    log_mx = np.log(mx)
    constant = float(np.sum(np.log(x) - log_mx))
    sum_x_log_mx = float(np.dot(x, log_mx))
    ux, ix = np.unique(x, return_inverse=True)
    per_x = np.bincount(ix, minlength=ux.size).astype(np.float64)

    def negative_ll(log_params: Array) -> tuple[float, Array]:
        # Special functions depend on x only: evaluate them on the distinct x and weight.
        p, q, gamma = (float(v) for v in np.exp(log_params))
        upx = p * ux
        log_gmx = np.log(gamma + mx)
        sum_log_gmx = float(log_gmx.sum())
        sum_x_log_gmx = float(np.dot(x, log_gmx))
        value = (
            -float(per_x @ betaln(upx, q))
            + n * q * np.log(gamma)
            + p * sum_x_log_mx
            + constant
            - p * sum_x_log_gmx
            - q * sum_log_gmx
        )
        psi_pxq = digamma(upx + q)
        d_p = float(per_x @ (ux * (psi_pxq - digamma(upx)))) + sum_x_log_mx - sum_x_log_gmx
        d_q = float(per_x @ psi_pxq) - n * digamma(q) + n * np.log(gamma) - sum_log_gmx
        d_gamma = n * q / gamma - float(np.sum((p * x + q) / (gamma + mx)))
        grad = np.array([d_p * p, d_q * q, d_gamma * gamma])
        return -value / n, -grad / n

    # Start from the method of moments of one transaction: mean ≈ pγ/(q-1) with q = 3.
    mean = float(np.mean(m))
    start = np.log([1.0, 3.0, 2.0 * mean])
    log_params, value = fit_log_params(negative_ll, start, LOG_BOUNDS, ("p", "q", "gamma"))
    p, q, gamma = (float(v) for v in np.exp(log_params))
    if q <= 1.0:
        raise FitFailed(f"q = {q:.3g} ≤ 1: the population mean spend is undefined")
    return GammaGammaParams(p, q, gamma, log_likelihood=-value * n, n_customers=int(n))


def expected_spend(params: GammaGammaParams, x: ArrayLike, m: ArrayLike) -> Array:
    """E[spend per transaction | x, m]; the population mean pγ/(q-1) where x = 0 or m is unknown."""
    p, q, gamma = params.p, params.q, params.gamma
    xs = np.asarray(x, dtype=np.float64)
    ms = np.asarray(m, dtype=np.float64)
    known = (xs > 0) & np.isfinite(ms)
    m_safe = np.where(known, ms, 0.0)
    conditional = (gamma + m_safe * xs) * p / (p * xs + q - 1.0)
    return np.where(known, conditional, population_mean_spend(params))


def population_mean_spend(params: GammaGammaParams) -> float:
    """Mean spend per transaction across customers, pγ/(q-1)."""
    return params.p * params.gamma / (params.q - 1.0)


def independence_check(x: ArrayLike, m: ArrayLike) -> float:
    """Pearson correlation of frequency and mean spend among repeat buyers (near 0 is good)."""
    xs = np.asarray(x, dtype=np.float64)
    ms = np.asarray(m, dtype=np.float64)
    keep = (xs > 0) & np.isfinite(ms)
    if keep.sum() < 3 or np.std(xs[keep]) == 0 or np.std(ms[keep]) == 0:
        return 0.0
    return float(np.corrcoef(xs[keep], ms[keep])[0, 1])
