"""BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): fit and predictions.

A customer buys at a Poisson rate λ while "alive" and may drop out after any purchase with
probability p; λ ~ Gamma(r, α) and p ~ Beta(a, b) across customers. Inputs per customer are the
number of repeat transactions `x`, the time of the last one `t_x` and the customer's age `T`, all
measured from the first transaction in one time unit (the caller chooses days or weeks).

Everything here is vectorised numpy over arrays of customers; no loop over customers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from core.predictions.fitting import FitFailed, compress, fit_log_params

Array = NDArray[np.float64]

# Search box for log(r), log(α), log(a), log(b); a fit that ends on an edge is refused.
LOG_BOUNDS = (-9.0, 9.0)


@dataclass(frozen=True)
class BgNbdParams:
    """Fitted BG/NBD parameters, with the fit's log-likelihood and customer count."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = float("nan")
    n_customers: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Parameters as a JSON-friendly dict."""
        return asdict(self)


def _arrays(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> tuple[Array, Array, Array]:
    return (
        np.asarray(x, dtype=np.float64),
        np.asarray(t_x, dtype=np.float64),
        np.asarray(T, dtype=np.float64),
    )


def log_likelihood_terms(
    params: tuple[float, float, float, float], x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> Array:
    """Each customer's log-likelihood contribution (FHL 2005, equation 6)."""
    r, alpha, a, b = params
    x, t_x, T = _arrays(x, t_x, T)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    # For x == 0 the second term is absent; b + x - 1 may then be negative, so mask it out.
    a4 = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1.0, 1.0)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return a1 + a2 + np.logaddexp(a3, a4)


def log_likelihood(
    params: tuple[float, float, float, float], x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> float:
    """Total log-likelihood of a sample."""
    return float(np.sum(log_likelihood_terms(params, x, t_x, T)))


def fit(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> BgNbdParams:
    """Maximum-likelihood fit of r, α, a, b; raises FitFailed when it does not converge."""
    x, t_x, T = _arrays(x, t_x, T)
    if x.size == 0:
        raise FitFailed("no customers")
    objective = Likelihood(x, t_x, T)
    # Start: mean rate from the data for α/r, a flat Beta(1, 3) for the dropout.
    rate = max(float(np.sum(x) / max(np.sum(T), 1e-9)), 1e-6)
    start = np.log([1.0, 1.0 / rate, 1.0, 3.0])
    log_params, value = fit_log_params(
        objective.negative_mean, start, LOG_BOUNDS, ("r", "alpha", "a", "b")
    )
    r, alpha, a, b = (float(v) for v in np.exp(log_params))
    n = objective.n
    return BgNbdParams(r, alpha, a, b, log_likelihood=-value * n, n_customers=int(n))


class Likelihood:
    """The sample's mean negative log-likelihood and its gradient in log-parameters, fast.

    Identical customers are merged with a weight; every special function depends on x alone
    and every logarithm on T or t_x alone, so they are evaluated on the few distinct values
    and gathered, leaving only a log-sum-exp per distinct customer per evaluation.
    """

    def __init__(self, x: Array, t_x: Array, T: Array) -> None:
        (rx, rt, rT), self.weights = compress(x, t_x, T)
        self.n = float(self.weights.sum())
        self.ux, self.ix = np.unique(rx, return_inverse=True)
        self.ut, self.it = np.unique(rt, return_inverse=True)
        self.uT, self.iT = np.unique(rT, return_inverse=True)
        self.x = rx
        self.u_repeat = self.ux > 0
        # customers per distinct x; weights of repeat buyers (the others have no second term)
        self.wx = np.bincount(self.ix, weights=self.weights, minlength=self.ux.size)
        self.w_repeat = self.weights * (rx > 0)

    def negative_mean(self, log_params: Array) -> tuple[float, Array]:
        """Mean negative log-likelihood and its gradient with respect to log(r, α, a, b)."""
        r, alpha, a, b = (float(v) for v in np.exp(log_params))
        ux, w, x, n = self.ux, self.weights, self.x, self.n
        # tables over distinct x, T and t_x
        log_b1 = np.log(np.where(self.u_repeat, b + ux - 1.0, 1.0))
        head = gammaln(r + ux) - gammaln(r) + r * np.log(alpha) + betaln(a, b + ux) - betaln(a, b)
        psi_abx, psi_bx, psi_rx = digamma(a + b + ux), digamma(b + ux), digamma(r + ux)
        log_T, log_t = np.log(alpha + self.uT)[self.iT], np.log(alpha + self.ut)[self.it]
        inv_T, inv_t = (1.0 / (alpha + self.uT))[self.iT], (1.0 / (alpha + self.ut))[self.it]
        # per customer: log L = head + A3 + log(1 + exp(d)) with d = A4 − A3 (repeat buyers)
        rx = r + x
        a3 = -rx * log_T
        d = (np.log(a) - log_b1)[self.ix] + rx * (log_T - log_t)
        e = np.exp(-np.abs(d))
        softplus = np.maximum(d, 0.0) + np.log1p(e)
        w4 = np.where(d >= 0, 1.0, e) / (1.0 + e)  # share of the "dropped out" term, expit(d)
        value = float(self.wx @ head + np.dot(w, a3) + np.dot(self.w_repeat, softplus))
        w4w = w4 * self.w_repeat
        w3w = w - w4w
        d_r = self.wx @ psi_rx - n * (digamma(r) - np.log(alpha))
        d_r -= np.dot(w3w, log_T) + np.dot(w4w, log_t)
        d_alpha = n * r / alpha - np.dot(rx, w3w * inv_T + w4w * inv_t)
        psi_ab = digamma(a + b)
        d_a = n * psi_ab - self.wx @ psi_abx + float(w4w.sum()) / a
        inv_b1 = np.where(self.u_repeat, np.exp(-log_b1), 0.0)
        d_b = self.wx @ (psi_bx - psi_abx) + n * (psi_ab - digamma(b))
        d_b -= np.bincount(self.ix, weights=w4w, minlength=ux.size) @ inv_b1
        grad = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
        return -value / n, -grad / n


def p_alive(params: BgNbdParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Array:
    """P(still alive at T | x, t_x, T) (FHL 2005, equation 11); 1 for customers with no repeat."""
    x, t_x, T = _arrays(x, t_x, T)
    log_odds = _log_dropout_odds(params, x, t_x, T)
    return np.where(x > 0, expit(-log_odds), 1.0)


def _log_dropout_odds(params: BgNbdParams, x: Array, t_x: Array, T: Array) -> Array:
    """log(a/(b+x-1) · ((α+T)/(α+t_x))^(r+x)), the odds of having dropped out (x > 0 only)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    safe = np.where(x > 0, b + x - 1.0, 1.0)
    return np.log(a) - np.log(safe) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))


def expected_population(params: BgNbdParams, t: ArrayLike) -> Array:
    """E[X(t)]: expected purchases in (0, t] of a customer picked at random (equation 7)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t = np.asarray(t, dtype=np.float64)
    z = t / (alpha + t)
    # Euler's transformation keeps the arguments of 2F1 from growing: the product
    # (α/(α+t))^r · 2F1(r, b; a+b-1; z) equals (1-z)^(a-1) · 2F1(a+b-1-r, a-1; a+b-1; z).
    a_ = _away_from_one(a)
    tail = np.exp((a_ - 1.0) * np.log1p(-z)) * hyp2f1(a_ + b - 1.0 - r, a_ - 1.0, a_ + b - 1.0, z)
    return (a_ + b - 1.0) / (a_ - 1.0) * (1.0 - tail)


def expected_purchases(
    params: BgNbdParams, t: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> Array:
    """E[Y(t) | x, t_x, T]: expected repeat purchases in the next t (equation 10)."""
    x, t_x, T = _arrays(x, t_x, T)
    r, alpha, b = params.r, params.alpha, params.b
    a = _away_from_one(params.a)
    if t <= 0:
        return np.zeros_like(x)
    z = t / (alpha + T + t)
    log1mz = np.log(alpha + T) - np.log(alpha + T + t)
    c = a + b + x - 1.0
    # Euler's transformation: ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; c; z)
    #                       = (1-z)^(a-1) · 2F1(a+b-1-r, a-1; c; z), whose arguments stay bounded.
    tail = np.exp((a - 1.0) * log1mz) * hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
    bad = ~np.isfinite(tail)
    if np.any(bad):  # fall back to the untransformed series where scipy could not evaluate it
        direct = np.exp((r + x) * log1mz) * hyp2f1(r + x, b + x, c, z)
        tail = np.where(bad, direct, tail)
    numerator = c / (a - 1.0) * (1.0 - tail)
    odds = np.where(x > 0, np.exp(np.minimum(_log_dropout_odds(params, x, t_x, T), 700.0)), 0.0)
    result = numerator / (1.0 + odds)
    return np.where(np.isfinite(result), np.maximum(result, 0.0), np.nan)


def _away_from_one(a: float) -> float:
    # The closed forms divide by (a - 1); the limit at a = 1 is smooth, so step just off it.
    return a if abs(a - 1.0) > 1e-7 else 1.0 + 1e-7
