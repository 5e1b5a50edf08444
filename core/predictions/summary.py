"""Per-customer RFM summary the models read: frequency, recency, age and mean repeat value.

Unit: **days** for the shop's own data (order dates are whole days and the horizons people ask
about are 30 and 90 days). Several orders on one day are one transaction whose value is their sum.
- frequency `x`: transaction days after the first one (repeat transactions);
- recency `t_x`: days from the first transaction day to the last one (0 when x = 0);
- age `T`: days from the first transaction day to `as_of`;
- `mean_repeat_value`: mean value of the repeat transactions (None when x = 0).

Only orders with a counted status dated on or before `as_of` count. The same numbers come from
`summarise` (pure, for tests and the CDNOW reproduction) and `summary_rows` (set-based SQL).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Float, Integer, Select, and_, cast, distinct, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from core.models.orders import COUNTED_STATUSES, Order


@dataclass(frozen=True)
class CustomerSummary:
    """One customer's summary at a date (unit: days)."""

    customer_id: int
    frequency: int
    recency: int
    age: int
    mean_repeat_value: float | None


@dataclass(frozen=True)
class SummaryArrays:
    """The summaries of many customers as parallel numpy arrays (the models' input)."""

    customer_id: NDArray[np.int64]
    frequency: NDArray[np.float64]
    recency: NDArray[np.float64]
    age: NDArray[np.float64]
    mean_repeat_value: NDArray[np.float64]  # NaN where frequency == 0

    def __len__(self) -> int:
        return int(self.customer_id.size)


def summarise(
    transactions: Iterable[tuple[int, date, float]], as_of: date
) -> dict[int, CustomerSummary]:
    """Summaries from (customer_id, date, value) purchases; the pure twin of `summary_rows`."""
    per_day: dict[int, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for customer_id, day, value in transactions:
        if day <= as_of:
            per_day[customer_id][day] += float(value)
    result = {}
    for customer_id, days in per_day.items():
        ordered = sorted(days)
        first, last = ordered[0], ordered[-1]
        repeat = [days[d] for d in ordered[1:]]
        result[customer_id] = CustomerSummary(
            customer_id=customer_id,
            frequency=len(repeat),
            recency=(last - first).days,
            age=(as_of - first).days,
            mean_repeat_value=sum(repeat) / len(repeat) if repeat else None,
        )
    return result


def to_arrays(summaries: Iterable[CustomerSummary]) -> SummaryArrays:
    """Pack summaries into arrays ordered by customer id."""
    rows = sorted(summaries, key=lambda s: s.customer_id)
    return SummaryArrays(
        customer_id=np.array([s.customer_id for s in rows], dtype=np.int64),
        frequency=np.array([s.frequency for s in rows], dtype=np.float64),
        recency=np.array([s.recency for s in rows], dtype=np.float64),
        age=np.array([s.age for s in rows], dtype=np.float64),
        mean_repeat_value=np.array(
            [np.nan if s.mean_repeat_value is None else s.mean_repeat_value for s in rows],
            dtype=np.float64,
        ),
    )


def _days_between(dialect: str, later: ColumnElement[date], earlier: ColumnElement[date]):
    if dialect == "sqlite":
        return cast(func.julianday(later) - func.julianday(earlier), Integer)
    return later - earlier  # PostgreSQL: date - date is an integer number of days


def summary_query(dialect: str, as_of: date) -> Select[int, int, int, int, float | None]:
    """The set-based summary of every customer with a counted order on or before `as_of`.

    One pass over the orders grouped by customer (the (customer_id, order_date) index gives
    the order), then the first day's value by an index lookup per customer.
    """
    counted = and_(Order.status.in_(COUNTED_STATUSES), Order.order_date <= as_of)
    per_customer = (
        select(
            Order.customer_id.label("customer_id"),
            func.count(distinct(Order.order_date)).label("n_days"),
            func.min(Order.order_date).label("first_day"),
            func.max(Order.order_date).label("last_day"),
            cast(func.sum(Order.total), Float).label("total"),
        )
        .where(counted)
        .group_by(Order.customer_id)
        .cte("per_customer")
    )
    first = aliased(Order, name="first_txn")
    first_value = (
        select(cast(func.sum(first.total), Float))
        .where(
            first.customer_id == per_customer.c.customer_id,
            first.order_date == per_customer.c.first_day,
            first.status.in_(COUNTED_STATUSES),
        )
        .scalar_subquery()
    )
    repeats = per_customer.c.n_days - 1
    mean_repeat = (per_customer.c.total - first_value) / func.nullif(repeats, 0)
    return select(
        per_customer.c.customer_id,
        repeats.label("frequency"),
        _days_between(dialect, per_customer.c.last_day, per_customer.c.first_day).label("recency"),
        _days_between(dialect, literal(as_of), per_customer.c.first_day).label("age"),
        cast(mean_repeat, Float).label("mean_repeat_value"),
    )


def dialect_name(session: AsyncSession) -> str:
    """ "sqlite" or "postgresql": the database the session is bound to."""
    return session.get_bind().dialect.name


async def summary_rows(session: AsyncSession, as_of: date) -> list[CustomerSummary]:
    """Every customer's summary at `as_of`, computed by the database in one query."""
    result = await session.execute(summary_query(dialect_name(session), as_of))
    return [
        CustomerSummary(int(c), int(f), int(r), int(a), None if m is None else float(m))
        for c, f, r, a, m in result
    ]


async def summary_arrays(session: AsyncSession, as_of: date) -> SummaryArrays:
    """Every customer's summary at `as_of` as numpy arrays ordered by customer id (one query).

    Read on the session's connection (Core rows): the ORM's row handling costs about a second
    per million customers and maps nothing here."""
    connection = await session.connection()
    rows = (await connection.execute(summary_query(dialect_name(session), as_of))).all()
    if not rows:
        empty = np.empty(0, dtype=np.float64)
        return SummaryArrays(np.empty(0, dtype=np.int64), empty, empty, empty, empty)
    table = np.array(
        [(c, f, r, a, np.nan if m is None else m) for c, f, r, a, m in rows], dtype=np.float64
    )
    table = table[np.argsort(table[:, 0], kind="stable")]  # by customer id, for lookups
    return SummaryArrays(
        customer_id=table[:, 0].astype(np.int64),
        frequency=table[:, 1],
        recency=table[:, 2],
        age=table[:, 3],
        mean_repeat_value=table[:, 4],
    )
