"""Customer KPIs: repeat purchase rate, days between orders, at-risk and churn shares, LTV."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Float, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.kpis.results import JsonResult
from core.kpis.sql import COUNTED, day_span, money, ratio
from core.models import Customer, Order

BUYER_STAGES = ("new", "active", "at_risk", "churned")


@dataclass(frozen=True)
class CustomerKpis(JsonResult):
    """Customer KPIs; orders count when their status is counted and order_date <= as_of."""

    as_of: date
    customers: int  # every customer row
    buyers: int  # customers with ≥ 1 counted order
    repeat_buyers: int  # customers with ≥ 2 counted orders
    repeat_purchase_rate: float  # repeat_buyers / buyers
    avg_days_between_orders: float  # mean over repeat buyers of (last − first) / (orders − 1)
    segmented_buyers: int  # customers whose lifecycle_stage is new, active, at_risk or churned
    at_risk: int  # lifecycle_stage = at_risk (the latest segmentation, see segments_as_of)
    churned: int  # lifecycle_stage = churned
    at_risk_rate: float  # at_risk / segmented_buyers
    churn_rate: float  # churned / segmented_buyers
    ltv_mean: Decimal  # mean over buyers of their counted spend (sum of order totals)
    ltv_median: Decimal  # median of the same
    segments_as_of: date | None  # when lifecycle stages were last computed


def _per_buyer(as_of: date):  # noqa: ANN202 - a subquery
    """One row per buyer: counted orders, first and last order date, spend up to as_of."""
    return (
        select(
            Order.customer_id.label("customer_id"),
            func.count().label("orders"),
            func.min(Order.order_date).label("first_on"),
            func.max(Order.order_date).label("last_on"),
            func.sum(Order.total).label("spend"),
        )
        .where(Order.status.in_(COUNTED), Order.order_date <= as_of)
        .group_by(Order.customer_id)
        .subquery("per_buyer")
    )


async def customer_kpis(session: AsyncSession, as_of: date) -> CustomerKpis:
    """Repeat rate, average gap, at-risk/churn shares and LTV of the shop's buyers as of a date."""
    pb = _per_buyer(as_of)
    ranked = select(
        pb.c.orders,
        pb.c.spend,
        case(
            (
                pb.c.orders >= 2,
                cast(day_span(pb.c.first_on, pb.c.last_on), Float) / (pb.c.orders - 1),
            ),
            else_=None,
        ).label("gap"),
        func.row_number().over(order_by=pb.c.spend).label("rn"),
        func.count().over().label("n"),
    ).subquery("ranked")
    # the median is the middle row (odd n) or the mean of the two middle rows (even n):
    # the rows whose rank satisfies n <= 2·rn <= n + 2
    middle = (2 * ranked.c.rn >= ranked.c.n) & (2 * ranked.c.rn <= ranked.c.n + 2)
    buyers, repeaters, avg_gap, ltv_mean, median = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((ranked.c.orders >= 2, 1), else_=0)), 0),
                func.avg(ranked.c.gap),
                func.avg(ranked.c.spend),
                func.avg(case((middle, ranked.c.spend), else_=None)),
            )
        )
    ).one()

    stage_counts = dict(
        (
            await session.execute(
                select(Customer.lifecycle_stage, func.count()).group_by(Customer.lifecycle_stage)
            )
        ).all()
    )
    customers = sum(stage_counts.values())
    segmented = sum(stage_counts.get(s, 0) for s in BUYER_STAGES)
    at_risk = stage_counts.get("at_risk", 0)
    churned = stage_counts.get("churned", 0)
    segments_as_of = await session.scalar(select(func.max(Customer.segments_as_of)))

    return CustomerKpis(
        as_of=as_of,
        customers=customers,
        buyers=int(buyers),
        repeat_buyers=int(repeaters),
        repeat_purchase_rate=ratio(repeaters, buyers),
        avg_days_between_orders=round(float(avg_gap), 4) if avg_gap is not None else 0.0,
        segmented_buyers=segmented,
        at_risk=at_risk,
        churned=churned,
        at_risk_rate=ratio(at_risk, segmented),
        churn_rate=ratio(churned, segmented),
        ltv_mean=money(ltv_mean),
        ltv_median=money(median),
        segments_as_of=segments_as_of,
    )
