"""Segmentation: customer_type, lifecycle_stage and priority_level for a literal `as_of` date.

`classify` is the rule as a plain function; `refresh_segments` applies the same rule to the
whole shop in set-based SQL (one scan into a scratch table of the changes, transitions logged by
INSERT … SELECT from it, one UPDATE of the changed customers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Float,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from core.models import Customer, CustomerPrediction, SegmentTransition
from core.predictions.config import PredictionsConfig
from core.predictions.scoring import lifecycle_from_p_alive
from core.shopconfig.schema import SegmentsConfig
from core.sqlbulk import analyze_scratch, dialect_insert, scratch_table

HIGH_TIERS = ("gold", "permanent")
# Scores older than this are not used to judge a customer (the model step has stopped scoring).
PREDICTION_MAX_AGE_DAYS = 7
FIELDS = ("customer_type", "lifecycle_stage", "priority_level")


@dataclass(frozen=True)
class Segments:
    customer_type: str
    lifecycle_stage: str
    priority_level: str
    cause: str = "rules"  # "model" when P(alive) moved the lifecycle stage


def apply_model(rule_stage: str, p_alive: float | None, cfg: PredictionsConfig | None) -> str:
    """The lifecycle stage once P(alive) is considered: the model may only make it graver."""
    if cfg is None or not cfg.enabled:
        return rule_stage
    model = lifecycle_from_p_alive(p_alive, cfg)
    if model == "churned" and rule_stage in ("active", "at_risk"):
        return "churned"
    if model == "at_risk" and rule_stage == "active":
        return "at_risk"
    return rule_stage


def silence_thresholds(
    order_count: int, avg_gap: float | None, cfg: SegmentsConfig
) -> tuple[float, float]:
    """Days of silence after which a customer is at risk, and churned (own rhythm when known)."""
    if order_count >= cfg.rhythm_min_orders and avg_gap is not None and avg_gap > 0:
        at_risk = max(float(cfg.rhythm_floor_days), avg_gap * cfg.rhythm_at_risk_factor)
        return at_risk, max(at_risk, avg_gap * cfg.rhythm_churned_factor)
    return float(cfg.at_risk_days), float(cfg.churned_days)


def classify(
    *,
    order_count: int,
    total_spend: Decimal,
    first_order_date: date | None,
    last_order_date: date | None,
    avg_gap: float | None,
    tier: str,
    as_of: date,
    cfg: SegmentsConfig,
    p_alive: float | None = None,
    model_cfg: PredictionsConfig | None = None,
) -> Segments:
    """The three segment fields of one customer on a date (P(alive) may make the stage graver)."""
    if order_count == 0 or last_order_date is None or first_order_date is None:
        return Segments("new", "prospect", "warm")
    silent = (as_of - last_order_date).days
    at_risk_after, churned_after = silence_thresholds(order_count, avg_gap, cfg)
    if silent > churned_after:
        stage = "churned"
    elif silent > at_risk_after:
        stage = "at_risk"
    elif order_count == 1 and (as_of - first_order_date).days <= cfg.new_customer_days:
        stage = "new"
    else:
        stage = "active"
    rule_stage = stage
    stage = apply_model(rule_stage, p_alive, model_cfg)

    if silent > cfg.inactive_days:
        ctype = "inactive"
    elif total_spend >= cfg.vip_min_spend or order_count >= cfg.vip_min_orders:
        ctype = "vip"
    elif order_count >= 2:
        ctype = "repeat"
    else:
        ctype = "new"

    valuable = (
        total_spend >= cfg.vip_min_spend
        or order_count >= cfg.vip_min_orders
        or total_spend >= cfg.hot_min_spend
        or tier in HIGH_TIERS
    )
    if stage == "churned":
        priority = "cold"
    elif valuable:
        priority = "hot"
    elif stage == "at_risk" and total_spend < cfg.cold_max_spend:
        priority = "cold"
    else:
        priority = "warm"
    return Segments(ctype, stage, priority, "model" if stage != rule_stage else "rules")


def _days_since(col: Any, as_of: date, dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return cast(literal(as_of, Date) - col, Float)
    return func.julianday(literal(as_of.isoformat())) - func.julianday(col)


def _current_prediction(as_of: date) -> ColumnElement[bool]:
    """The customer's stored prediction counts for `as_of`: its own row, recent enough."""
    return and_(
        CustomerPrediction.customer_id == Customer.id,
        CustomerPrediction.as_of >= as_of - timedelta(days=PREDICTION_MAX_AGE_DAYS),
        CustomerPrediction.as_of <= as_of,
    )


def segment_expressions(
    as_of: date,
    cfg: SegmentsConfig,
    dialect: str,
    model_cfg: PredictionsConfig | None = None,
    p_alive: Any = None,
) -> dict[str, Any]:
    """SQL expressions over `customers` computing what `classify` computes (plus `_cause`).

    `p_alive`: a column holding the customer's current P(alive) or NULL (a statement that
    outer-joins `customer_predictions` on `_current_prediction`); without it, a correlated
    subquery per reference (fine for an UPDATE of customers nobody has scored yet)."""
    c = Customer
    silent = _days_since(c.last_order_date, as_of, dialect)
    since_first = _days_since(c.first_order_date, as_of, dialect)
    has_rhythm = and_(
        c.order_count >= cfg.rhythm_min_orders,
        c.avg_days_between_orders.is_not(None),
        c.avg_days_between_orders > 0,
    )
    gap_risk = c.avg_days_between_orders * cfg.rhythm_at_risk_factor
    at_risk_after = case(
        (
            has_rhythm,
            case((gap_risk > cfg.rhythm_floor_days, gap_risk), else_=float(cfg.rhythm_floor_days)),
        ),
        else_=float(cfg.at_risk_days),
    )
    gap_churn = c.avg_days_between_orders * cfg.rhythm_churned_factor
    churned_after = case(
        (has_rhythm, case((gap_churn > at_risk_after, gap_churn), else_=at_risk_after)),
        else_=float(cfg.churned_days),
    )
    no_orders = or_(c.order_count == 0, c.last_order_date.is_(None), c.first_order_date.is_(None))
    rule_stage = case(
        (no_orders, "prospect"),
        (silent > churned_after, "churned"),
        (silent > at_risk_after, "at_risk"),
        (and_(c.order_count == 1, since_first <= cfg.new_customer_days), "new"),
        else_="active",
    )
    stage: Any = rule_stage
    if model_cfg is not None and model_cfg.enabled:
        p = p_alive
        if p is None:
            p = select(CustomerPrediction.p_alive).where(_current_prediction(as_of))
            p = p.scalar_subquery()
        stage = case(
            (and_(p < model_cfg.p_alive_churned, rule_stage.in_(("active", "at_risk"))), "churned"),
            (and_(p < model_cfg.p_alive_at_risk, rule_stage == "active"), "at_risk"),
            else_=rule_stage,
        )
    ctype = case(
        (no_orders, "new"),
        (silent > cfg.inactive_days, "inactive"),
        (or_(c.total_spend >= cfg.vip_min_spend, c.order_count >= cfg.vip_min_orders), "vip"),
        (c.order_count >= 2, "repeat"),
        else_="new",
    )
    valuable = or_(
        c.total_spend >= cfg.vip_min_spend,
        c.order_count >= cfg.vip_min_orders,
        c.total_spend >= cfg.hot_min_spend,
        c.tier.in_(HIGH_TIERS),
    )
    priority = case(
        (no_orders, "warm"),
        (stage == "churned", "cold"),
        (valuable, "hot"),
        (and_(stage == "at_risk", c.total_spend < cfg.cold_max_spend), "cold"),
        else_="warm",
    )
    cause = case((stage != rule_stage, "model"), else_="rules")
    return {
        "customer_type": ctype,
        "lifecycle_stage": stage,
        "priority_level": priority,
        "_cause": cause,
    }


# the customers whose segments change today, old and new values side by side (scratch table)
_changes = Table(
    "segment_changes",
    MetaData(),
    Column("customer_id", BigInteger, primary_key=True),
    *(Column(f"old_{f}", String(16), nullable=False) for f in FIELDS),
    *(Column(f"new_{f}", String(16), nullable=False) for f in FIELDS),
    Column("cause", String(16), nullable=False),
    prefixes=["TEMPORARY"],
)


async def refresh_segments(session: AsyncSession, as_of: date, cfg: Any) -> dict[str, int]:
    """Recompute every customer's segments for `as_of`; log each change as a transition.

    One scan computes the rule for the segmented customers and keeps only those whose segments
    change; the transitions and the UPDATE then touch those rows alone (on PostgreSQL an UPDATE
    of every customer every day would write a new version of every row). A customer's first
    segmentation (`segments_as_of` NULL: just imported, or the shop's first run over its
    history) is where they start, not a change: the columns' defaults were never their state,
    so it logs no transition and is written by one UPDATE computing the rule in place (on a
    first run, every customer: no scratch row, no lookup per row); later changes are logged (a
    prospect who then orders: prospect → new). `segments_as_of` is the date of the computation
    that last changed a customer's segments (or first segmented them).
    Counts: `{field}_changed`, segmented customers whose field changed (each logged as a
    transition); `first_segmented`, customers segmented for the first time.
    """
    seg_cfg: SegmentsConfig = cfg.segments if hasattr(cfg, "segments") else cfg
    model_cfg: PredictionsConfig | None = getattr(cfg, "predictions", None)
    assert session.bind is not None
    dialect = session.bind.dialect.name
    exprs = segment_expressions(as_of, seg_cfg, dialect, model_cfg)
    # the scan of segmented customers joins their predictions once (the rule refers to P(alive)
    # up to six times: as a correlated subquery, each reference was a lookup per customer)
    joined = segment_expressions(as_of, seg_cfg, dialect, model_cfg, CustomerPrediction.p_alive)
    scan = select(
        Customer.id.label("customer_id"),
        *(getattr(Customer, f).label(f"old_{f}") for f in FIELDS),
        *(joined[f].label(f"new_{f}") for f in FIELDS),
        joined["_cause"].label("cause"),
    )
    if model_cfg is not None and model_cfg.enabled:
        scan = scan.outerjoin(CustomerPrediction, _current_prediction(as_of))
    computed = scan.where(Customer.segments_as_of.is_not(None)).subquery()
    async with scratch_table(session, _changes) as ch:
        differs = or_(*(computed.c[f"old_{f}"] != computed.c[f"new_{f}"] for f in FIELDS))
        await session.execute(
            ch.insert().from_select(
                [c.name for c in ch.columns], select(*computed.c).where(differs)
            )
        )
        await analyze_scratch(session, ch)
        tallies = [
            func.coalesce(func.sum(case((ch.c[f"old_{f}"] != ch.c[f"new_{f}"], 1), else_=0)), 0)
            for f in FIELDS
        ]
        per_field = (await session.execute(select(*tallies))).one()
        counts = {f"{f}_changed": int(n) for f, n in zip(FIELDS, per_field, strict=True)}
        for field in FIELDS:
            old, new = ch.c[f"old_{field}"], ch.c[f"new_{field}"]
            changed = select(
                ch.c.customer_id,
                literal(field),
                old,
                new,
                literal(as_of, Date),
                ch.c.cause if field == "lifecycle_stage" else literal("rules"),
            ).where(old != new)
            stmt = dialect_insert(session, SegmentTransition).from_select(
                ["customer_id", "field", "from_value", "to_value", "transition_date", "cause"],
                changed,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["customer_id", "field", "transition_date"],
                set_={"to_value": stmt.excluded.to_value, "cause": stmt.excluded.cause},
            )
            await session.execute(stmt)
        if session.bind.dialect.name == "postgresql":
            new_values: dict[str, ColumnElement[Any]] = {f: ch.c[f"new_{f}"] for f in FIELDS}
            which = Customer.id == ch.c.customer_id  # UPDATE … FROM: one hash join
        else:  # SQLite runs UPDATE … FROM slower than a primary-key lookup per changed row
            new_values = {
                f: select(ch.c[f"new_{f}"]).where(ch.c.customer_id == Customer.id).scalar_subquery()
                for f in FIELDS
            }
            which = Customer.id.in_(select(ch.c.customer_id))
        await session.execute(
            update(Customer)
            .values(segments_as_of=as_of, **new_values)
            .where(which)
            .execution_options(synchronize_session=False)
        )
    first = await session.execute(
        update(Customer)
        .values(segments_as_of=as_of, **{f: exprs[f] for f in FIELDS})
        .where(Customer.segments_as_of.is_(None))
        .execution_options(synchronize_session=False)
    )
    counts["first_segmented"] = first.rowcount  # type: ignore[attr-defined]
    return counts
