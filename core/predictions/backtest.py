"""Backtest on the shop's own data: fit on a calibration period, compare with the holdout.

Model: BG/NBD expected repeat purchases per customer in the holdout vs what happened, by
calibration frequency (the paper's conditional-expectation figure), in total and as mean
absolute error, against a naive baseline (each customer repeats their calibration rate x/T).
Reminders: each policy is replayed on the holdout (see `core.predictions.reminder_replay`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput
from core.models.orders import COUNTED_STATUSES, Order
from core.predictions import bgnbd
from core.predictions.config import PredictionsConfig
from core.predictions.fitting import FitFailed
from core.predictions.reminder_replay import PolicyScore, replay_reminders
from core.predictions.summary import summary_arrays

FREQUENCY_BINS = 8  # 0, 1, …, 6 and "7+"


@dataclass(frozen=True)
class FrequencyRow:
    """Mean holdout repeat purchases of customers with one calibration frequency."""

    frequency: str
    customers: int
    actual: float
    predicted: float
    naive: float


@dataclass
class BacktestResult:
    """Everything the backtest measured, ready for text, JSON or a chart."""

    calibration_end: date
    holdout_end: date
    holdout_days: int
    customers: int
    params: dict[str, Any]
    by_frequency: list[FrequencyRow]
    total_actual: float
    total_predicted: float
    total_naive: float
    mae_model: float
    mae_naive: float
    policies: list[PolicyScore] = field(default_factory=list)
    window_days: int = 7
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """A JSON-friendly dict (dates as ISO strings)."""
        data = asdict(self)
        data["calibration_end"] = self.calibration_end.isoformat()
        data["holdout_end"] = self.holdout_end.isoformat()
        return data


async def holdout_counts(
    session: AsyncSession, customer_ids: np.ndarray, after: date, until: date
) -> np.ndarray:
    """Repeat transactions (distinct order days) of each customer in (after, until]."""
    rows = (
        await session.execute(
            select(Order.customer_id, func.count(distinct(Order.order_date)))
            .where(
                Order.status.in_(COUNTED_STATUSES),
                Order.order_date > after,
                Order.order_date <= until,
            )
            .group_by(Order.customer_id)
        )
    ).all()
    counts = np.zeros(customer_ids.size, dtype=np.float64)
    if rows:
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        values = np.array([r[1] for r in rows], dtype=np.float64)
        pos = np.searchsorted(customer_ids, ids)
        found = (pos < customer_ids.size) & (
            customer_ids[np.minimum(pos, customer_ids.size - 1)] == ids
        )
        counts[pos[found]] = values[found]  # customers who first bought in the holdout are left out
    return counts


def by_frequency(x: np.ndarray, actual: np.ndarray, predicted: np.ndarray, naive: np.ndarray):
    """Mean actual, predicted and naive holdout purchases per calibration frequency (0…6, 7+)."""
    capped = np.minimum(x, FREQUENCY_BINS - 1).astype(int)
    rows = []
    for k in range(FREQUENCY_BINS):
        mask = capped == k
        if not mask.any():
            continue
        label = f"{k}+" if k == FREQUENCY_BINS - 1 else str(k)
        rows.append(
            FrequencyRow(
                label,
                int(mask.sum()),
                float(actual[mask].mean()),
                float(predicted[mask].mean()),
                float(naive[mask].mean()),
            )
        )
    return rows


async def run_backtest(
    session: AsyncSession,
    calibration_end: date,
    holdout_days: int = 90,
    *,
    window_days: int = 7,
    cfg: PredictionsConfig | None = None,
) -> BacktestResult:
    """Fit on orders up to `calibration_end`, predict the next `holdout_days`, and compare."""
    cfg = cfg or PredictionsConfig()
    if holdout_days <= 0:
        raise InvalidInput("holdout days must be positive")
    holdout_end = calibration_end + timedelta(days=holdout_days)
    summary = await summary_arrays(session, calibration_end)
    if len(summary) == 0:
        raise InvalidInput(f"no orders on or before {calibration_end.isoformat()}")
    try:
        params = bgnbd.fit(summary.frequency, summary.recency, summary.age)
    except FitFailed as exc:
        raise InvalidInput(
            f"the model could not be fitted on the calibration period: {exc}"
        ) from exc
    x, t_x, T = summary.frequency, summary.recency, summary.age
    actual = await holdout_counts(session, summary.customer_id, calibration_end, holdout_end)
    predicted = bgnbd.expected_purchases(params, float(holdout_days), x, t_x, T)
    naive = np.where(T > 0, x / np.maximum(T, 1.0), 0.0) * holdout_days
    notes = []
    last = await session.scalar(
        select(func.max(Order.order_date)).where(Order.status.in_(COUNTED_STATUSES))
    )
    if last is not None and last < holdout_end:
        notes.append(
            f"orders end on {last.isoformat()}, before the holdout ends on "
            f"{holdout_end.isoformat()}: actual purchases are undercounted"
        )
    n_repeat = int((x > 0).sum())
    if n_repeat < cfg.min_repeat_buyers:
        notes.append(f"only {n_repeat} repeat buyers in calibration: the fit is fragile")
    policies, policy_notes = await replay_reminders(
        session, params, calibration_end, holdout_end, window_days, cfg
    )
    return BacktestResult(
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        holdout_days=holdout_days,
        customers=len(summary),
        params=params.as_dict(),
        by_frequency=by_frequency(x, actual, predicted, naive),
        total_actual=float(actual.sum()),
        total_predicted=float(predicted.sum()),
        total_naive=float(naive.sum()),
        mae_model=float(np.abs(predicted - actual).mean()),
        mae_naive=float(np.abs(naive - actual).mean()),
        policies=policies,
        window_days=window_days,
        notes=notes + policy_notes,
    )


def render(result: BacktestResult) -> list[str]:
    """The backtest as lines of plain text for the terminal."""
    p = result.params
    lines = [
        f"Calibration to {result.calibration_end}, holdout {result.holdout_days} days "
        f"(to {result.holdout_end}); {result.customers:,} customers; unit: days",
        f"BG/NBD: r={p['r']:.3f} α={p['alpha']:.3f} a={p['a']:.3f} b={p['b']:.3f} "
        f"(log-likelihood {p['log_likelihood']:.1f})",
        "",
        "repeat purchases in the holdout, mean per customer, by calibration frequency",
        f"{'freq':>5} {'customers':>10} {'actual':>8} {'model':>8} {'naive':>8}",
    ]
    for row in result.by_frequency:
        lines.append(
            f"{row.frequency:>5} {row.customers:>10,} {row.actual:>8.3f} "
            f"{row.predicted:>8.3f} {row.naive:>8.3f}"
        )
    lines += [
        "",
        f"total repeat purchases: actual {result.total_actual:,.0f}, "
        f"model {result.total_predicted:,.0f}, naive {result.total_naive:,.0f}",
        f"mean absolute error per customer: model {result.mae_model:.3f}, "
        f"naive {result.mae_naive:.3f}",
        "",
        f"reminder policies (hit = fired within {result.window_days} days before a repurchase)",
        f"{'policy':<16} {'repurchases':>11} {'hits':>6} {'hit rate':>8} {'fired':>7} "
        f"{'wasted':>7} {'waste':>6}",
    ]
    for s in result.policies:
        lines.append(
            f"{s.policy:<16} {s.repurchases:>11,} {s.hits:>6,} {s.hit_rate:>8.1%} "
            f"{s.fired:>7,} {s.wasted:>7,} {s.waste_rate:>6.1%}"
        )
    lines += [f"note: {n}" for n in result.notes]
    return lines


def write_chart(result: BacktestResult, path: Path) -> Path:
    """The conditional-expectation figure (actual vs model vs naive by frequency) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r.frequency for r in result.by_frequency]
    xs = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    ax.plot(xs, [r.actual for r in result.by_frequency], "o-", label="actual", color="black")
    ax.plot(xs, [r.predicted for r in result.by_frequency], "s--", label="BG/NBD", color="tab:blue")
    ax.plot(
        xs, [r.naive for r in result.by_frequency], "^:", label="naive (x/T)", color="tab:orange"
    )
    ax.set_xticks(xs, labels)
    ax.set_xlabel(f"repeat purchases in calibration (to {result.calibration_end})")
    ax.set_ylabel(f"mean repeat purchases in next {result.holdout_days} days")
    ax.set_title("Conditional expectations: holdout vs prediction")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
