"""The daily `predictions` step: refit when the model is stale, then score every customer."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

import numpy as np
from sqlalchemy import Table, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.models.customers import CustomerPrediction, PredictionModel
from core.predictions.bgnbd import BgNbdParams
from core.predictions.config import PredictionsConfig
from core.predictions.gammagamma import GammaGammaParams
from core.predictions.scoring import FitOutcome, Scores, fit_models, json_safe, score
from core.predictions.summary import dialect_name, summary_arrays
from core.sqlbulk import from_columns

WRITE_BATCH = 20_000  # SQLite: rows per executemany
UNNEST_BATCH = 200_000  # PostgreSQL: rows per INSERT … SELECT FROM unnest


def model_version(as_of: date) -> str:
    """The version of a fit made for a date: one fit attempt per date, so the step is idempotent."""
    return f"bgnbd-{as_of.isoformat()}"


async def latest_model(
    session: AsyncSession, as_of: date, *, fitted_only: bool = False
) -> PredictionModel | None:
    """The most recent fit attempt (or fitted model) made on or before `as_of`."""
    stmt = select(PredictionModel).where(PredictionModel.fitted_on <= as_of)
    if fitted_only:
        stmt = stmt.where(PredictionModel.status == "fitted")
    stmt = stmt.order_by(PredictionModel.fitted_on.desc(), PredictionModel.id.desc()).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


def needs_refit(latest: PredictionModel | None, as_of: date, cfg: PredictionsConfig) -> bool:
    """Refit when there is no attempt yet or the latest one is `refit_after_days` old."""
    if latest is None:
        return True
    return (as_of - latest.fitted_on).days >= cfg.refit_after_days


def params_of(model: PredictionModel) -> tuple[BgNbdParams, GammaGammaParams | None]:
    """The BG/NBD and (if fitted) Gamma-Gamma parameters stored on a model row."""
    bg = BgNbdParams(**model.params["bgnbd"])
    gg_json = model.params.get("gamma_gamma")
    return bg, GammaGammaParams(**gg_json) if gg_json else None


async def record_fit(session: AsyncSession, as_of: date, outcome: FitOutcome) -> PredictionModel:
    """Store a fit attempt (fitted, too_thin or failed, with its reason) as a model row."""
    model = PredictionModel(
        version=model_version(as_of),
        fitted_on=as_of,
        status=outcome.status,
        reason=outcome.reason,
        params=outcome.params_json(),
        diagnostics=json_safe(outcome.diagnostics),
    )
    session.add(model)
    await session.flush()
    return model


async def run_predictions_step(
    session: AsyncSession, as_of: date, cfg: PredictionsConfig
) -> dict[str, Any]:
    """Refit if due, score every customer with the latest fitted model, and return counts."""
    report: dict[str, Any] = {"as_of": as_of.isoformat(), "enabled": cfg.enabled}
    if not cfg.enabled:
        return report | {"scored": 0, "fallback": "rules (predictions disabled)"}
    # the summary reads every order: only when a fit or a scoring needs it (a day without a
    # refit whose last attempts all failed reads nothing)
    summary = None
    latest = await latest_model(session, as_of)
    report["refitted"] = needs_refit(latest, as_of, cfg)
    if report["refitted"]:
        summary = await summary_arrays(session, as_of)
        latest = await record_fit(session, as_of, fit_models(summary, cfg))
    assert latest is not None
    report |= {"attempt": latest.version, "attempt_status": latest.status}
    if latest.reason:
        report["reason"] = latest.reason
    model = (
        latest
        if latest.status == "fitted"
        else await latest_model(session, as_of, fitted_only=True)
    )
    if model is None:
        return report | {"scored": 0, "fallback": "rules (no fitted model)"}
    if summary is None:
        summary = await summary_arrays(session, as_of)
    bg, gg = params_of(model)
    scores = score(summary, bg, gg, cfg)
    written, skipped = await write_scores(session, as_of, model.id, scores)
    alive = scores.p_alive[np.isfinite(scores.p_alive)]
    return report | {
        "model": model.version,
        "scored": written,
        "skipped_not_finite": skipped,
        "at_risk": int(((alive < cfg.p_alive_at_risk) & (alive >= cfg.p_alive_churned)).sum()),
        "churned": int((alive < cfg.p_alive_churned).sum()),
        "clv_total": float(np.nansum(scores.clv)) if gg else None,
    }


def _finite_or_none(values: np.ndarray) -> list[float | None]:
    """Python floats, None for NaN and ±inf (numpy converts, no per-value Python loop)."""
    out = values.astype(object)
    out[~np.isfinite(values)] = None
    return cast(list[float | None], out.tolist())


async def write_scores(
    session: AsyncSession, as_of: date, model_id: int, scores: Scores
) -> tuple[int, int]:
    """Upsert every finite score, keeping yesterday's p_alive as prev_p_alive; (written, skipped)."""
    core = np.isfinite(scores.p_alive) & np.isfinite(scores.expected_orders_30)
    core &= np.isfinite(scores.expected_orders_90)
    keep = np.flatnonzero(core)
    dialect = dialect_name(session)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = cast(Table, CustomerPrediction.__table__)
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.customer_id],
        set_={
            "as_of": stmt.excluded.as_of,
            "model_id": stmt.excluded.model_id,
            "p_alive": stmt.excluded.p_alive,
            "expected_orders_30": stmt.excluded.expected_orders_30,
            "expected_orders_90": stmt.excluded.expected_orders_90,
            "expected_order_value": stmt.excluded.expected_order_value,
            "clv_12m": stmt.excluded.clv_12m,
            # A second run for the same date must not shift yesterday's value out.
            "prev_p_alive": _case_prev(table, stmt.excluded),
        },
        where=table.c.as_of <= stmt.excluded.as_of,
    )
    names = [c.name for c in table.columns]
    if dialect == "sqlite":
        # 1M rows: hand plain tuples to the driver's executemany (SQLAlchemy's per-row bind
        # processing would dominate); SQLite stores dates as ISO text, as the Date type does.
        compiled = stmt.compile(dialect=session.get_bind().dialect)
        positions = [names.index(n) for n in compiled.positiontup or []]
        connection = await session.connection()
    batch = WRITE_BATCH if dialect == "sqlite" else UNNEST_BATCH
    for start in range(0, keep.size, batch):
        idx = keep[start : start + batch]
        columns = {
            "customer_id": scores.customer_id[idx].tolist(),
            "as_of": [as_of.isoformat() if dialect == "sqlite" else as_of] * idx.size,
            "model_id": [model_id] * idx.size,
            "p_alive": scores.p_alive[idx].tolist(),
            "expected_orders_30": scores.expected_orders_30[idx].tolist(),
            "expected_orders_90": scores.expected_orders_90[idx].tolist(),
            "expected_order_value": _finite_or_none(scores.expected_order_value[idx]),
            "clv_12m": _finite_or_none(scores.clv[idx]),
            "prev_p_alive": [None] * idx.size,
        }
        if dialect == "sqlite":
            ordered = [columns[n] for n in names]
            rows = list(zip(*(ordered[i] for i in positions), strict=True))
            await connection.exec_driver_sql(str(compiled), rows)
        else:  # one INSERT … SELECT FROM unnest(arrays) per batch
            await session.execute(from_columns(stmt, table, columns))
    # Customers scored before but not now (every order cancelled since) lose their stale score.
    await session.execute(delete(CustomerPrediction).where(CustomerPrediction.as_of < as_of))
    return int(keep.size), int(scores.p_alive.size - keep.size)


def _case_prev(table: Any, excluded: Any) -> Any:
    return case(
        (table.c.as_of < excluded.as_of, table.c.p_alive),
        else_=table.c.prev_p_alive,
    )
