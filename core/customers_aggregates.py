"""Customers' order aggregates (first/last order date, count, spend, rhythm), set-based.

Only orders whose status is in COUNTED_STATUSES count. `refresh_customer_aggregates` is what
the importers call after each batch, and what any writer of orders (the demo generator) calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Float, Table, and_, case, exists, func, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession

from core.bulk import among, dialect_name
from core.models.customers import Customer
from core.models.orders import COUNTED_STATUSES, Order

_customers = cast(Table, Customer.__table__)
_orders = cast(Table, Order.__table__)


def _day_span(session: AsyncSession, first: object, last: object) -> object:
    """Days from the first to the last order date, as a float, in the session's SQL dialect."""
    if dialect_name(session) == "postgresql":
        return sql_cast(last - first, Float)  # type: ignore[operator]
    return func.julianday(last) - func.julianday(first)


async def refresh_customer_aggregates(
    session: AsyncSession, customer_ids: Sequence[int] | None = None
) -> None:
    """Recompute the order aggregates of some customers (all when `customer_ids` is None)."""
    if customer_ids is None:
        await _refresh(session, None)
        return
    if customer_ids:
        await _refresh(session, sorted(set(customer_ids)))


async def _refresh(session: AsyncSession, ids: Sequence[int] | None) -> None:
    counted = _orders.c.status.in_(COUNTED_STATUSES)
    scope = counted if ids is None else and_(counted, among(session, _orders.c.customer_id, ids))
    first = func.min(_orders.c.order_date)
    last = func.max(_orders.c.order_date)
    count = func.count()
    agg = (
        select(
            _orders.c.customer_id.label("customer_id"),
            first.label("first_order_date"),
            last.label("last_order_date"),
            count.label("order_count"),
            func.sum(_orders.c.total).label("total_spend"),
            case(
                (count > 1, _day_span(session, first, last) / (count - 1)),  # type: ignore[operator]
                else_=None,
            ).label("avg_days"),
        )
        .where(scope)
        .group_by(_orders.c.customer_id)
        .subquery()
    )
    await session.execute(
        update(_customers)
        .where(_customers.c.id == agg.c.customer_id)
        .values(
            first_order_date=agg.c.first_order_date,
            last_order_date=agg.c.last_order_date,
            order_count=agg.c.order_count,
            total_spend=agg.c.total_spend,
            avg_days_between_orders=agg.c.avg_days,
        )
    )
    # customers left with no counted order (all cancelled or returned)
    has_orders = exists().where(_orders.c.customer_id == _customers.c.id, counted)
    reset = update(_customers).where(~has_orders)
    if ids is not None:
        reset = reset.where(among(session, _customers.c.id, ids))
    await session.execute(
        reset.values(
            first_order_date=None,
            last_order_date=None,
            order_count=0,
            total_spend=0,
            avg_days_between_orders=None,
        )
    )
