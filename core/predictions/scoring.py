"""Fitting both models on a shop's summaries and scoring every customer (pure, arrays in and out)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.predictions import bgnbd, gammagamma
from core.predictions.bgnbd import BgNbdParams
from core.predictions.clv import DAYS_PER_MONTH, clv
from core.predictions.config import PredictionsConfig
from core.predictions.fitting import FitFailed, distinct_rows
from core.predictions.gammagamma import GammaGammaParams
from core.predictions.summary import SummaryArrays

Array = NDArray[np.float64]
UNIT = "days"


@dataclass(frozen=True)
class FitOutcome:
    """What a fit attempt produced: status fitted / too_thin / failed, the reason, and parameters."""

    status: str
    reason: str | None
    bgnbd: BgNbdParams | None = None
    gamma_gamma: GammaGammaParams | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def params_json(self) -> dict[str, Any]:
        """Parameters as stored on the model row."""
        return json_safe(
            {
                "unit": UNIT,
                "bgnbd": self.bgnbd.as_dict() if self.bgnbd else None,
                "gamma_gamma": self.gamma_gamma.as_dict() if self.gamma_gamma else None,
            }
        )


@dataclass(frozen=True)
class Scores:
    """Per-customer predictions, parallel to the summary arrays they came from."""

    customer_id: NDArray[np.int64]
    p_alive: Array
    expected_orders_30: Array
    expected_orders_90: Array
    expected_order_value: Array  # NaN when there is no spend model
    clv: Array  # NaN when there is no spend model


def json_safe(value: Any) -> Any:
    """Replace non-finite floats (which JSON and JSONB refuse) by None, recursively."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def fit_models(summary: SummaryArrays, cfg: PredictionsConfig) -> FitOutcome:
    """Fit BG/NBD on every customer and Gamma-Gamma on repeat buyers, or say why not."""
    n = len(summary)
    repeat = summary.frequency > 0
    n_repeat = int(repeat.sum())
    diagnostics: dict[str, Any] = {"n_customers": n, "n_repeat_buyers": n_repeat, "unit": UNIT}
    if n < cfg.min_customers:
        reason = f"too few customers with an order: {n} (need {cfg.min_customers})"
        return FitOutcome("too_thin", reason, diagnostics=diagnostics)
    if n_repeat < cfg.min_repeat_buyers:
        reason = f"too few repeat buyers: {n_repeat} (need {cfg.min_repeat_buyers})"
        return FitOutcome("too_thin", reason, diagnostics=diagnostics)
    started = time.perf_counter()
    try:
        bg = bgnbd.fit(summary.frequency, summary.recency, summary.age)
    except FitFailed as exc:
        return FitOutcome("failed", f"BG/NBD: {exc}", diagnostics=diagnostics)
    diagnostics["bgnbd_seconds"] = round(time.perf_counter() - started, 3)
    diagnostics["bgnbd_log_likelihood"] = bg.log_likelihood
    observed = float(summary.frequency.sum() / max(summary.age.sum(), 1.0)) * 30.0
    diagnostics["repeat_rate_30d_observed"] = observed
    diagnostics["repeat_rate_30d_population"] = float(bgnbd.expected_population(bg, 30.0))
    gg = None
    spend = summary.mean_repeat_value
    diagnostics["spend_frequency_correlation"] = gammagamma.independence_check(
        summary.frequency, spend
    )
    started = time.perf_counter()
    try:
        gg = gammagamma.fit(summary.frequency, spend)
        diagnostics["gamma_gamma_seconds"] = round(time.perf_counter() - started, 3)
        diagnostics["gamma_gamma_log_likelihood"] = gg.log_likelihood
    except FitFailed as exc:
        diagnostics["gamma_gamma_failed"] = str(exc)
    return FitOutcome("fitted", None, bg, gg, json_safe(diagnostics))


def score(
    summary: SummaryArrays,
    bg: BgNbdParams,
    gg: GammaGammaParams | None,
    cfg: PredictionsConfig,
) -> Scores:
    """P(alive), expected orders in 30/90 days, expected order value and CLV for every customer."""
    # Customers sharing (x, t_x, T) share every BG/NBD figure: compute each distinct row once.
    (x, t_x, T), inverse, _ = distinct_rows(summary.frequency, summary.recency, summary.age)
    alive = bgnbd.p_alive(bg, x, t_x, T)[inverse]
    e30 = bgnbd.expected_purchases(bg, 30.0, x, t_x, T)[inverse]
    e90 = bgnbd.expected_purchases(bg, 90.0, x, t_x, T)[inverse]
    n = len(summary)
    if gg is None:
        nan = np.full(n, np.nan)
        return Scores(summary.customer_id, alive, e30, e90, nan, nan.copy())
    spend = gammagamma.expected_spend(gg, summary.frequency, summary.mean_repeat_value)
    # CLV = Σ_k ΔE[Y]_k · spend / (1+d)^k: the purchase part depends only on (x, t_x, T).
    unit_value = clv(
        bg,
        np.ones_like(x),
        x,
        t_x,
        T,
        months=cfg.clv_horizon_months,
        monthly_discount_rate=cfg.monthly_discount_rate,
        month_length=DAYS_PER_MONTH,
    )[inverse]
    return Scores(summary.customer_id, alive, e30, e90, spend, unit_value * spend)


def lifecycle_from_p_alive(p_alive: float | None, cfg: PredictionsConfig) -> str | None:
    """'churned' below the churn threshold, 'at_risk' below the risk threshold, else None."""
    if p_alive is None or not np.isfinite(p_alive):
        return None
    if p_alive < cfg.p_alive_churned:
        return "churned"
    if p_alive < cfg.p_alive_at_risk:
        return "at_risk"
    return None


def expected_next_order_days(p_alive: float, expected_orders_30: float) -> int | None:
    """Days until the next order is expected while the customer is alive; None when unlikely.

    While alive, a customer buys at rate λ, and E[Y(30)] ≈ P(alive) · 30λ, so the mean wait
    1/λ ≈ 30 · P(alive) / E[Y(30)]. Beyond a year (or almost surely gone) we do not guess.
    """
    if p_alive < 0.05 or expected_orders_30 <= 0:
        return None
    days = 30.0 * p_alive / expected_orders_30
    return int(round(days)) if days <= 365 else None
