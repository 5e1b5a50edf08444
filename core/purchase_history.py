"""The purchase dates behind a learned rhythm: for given (customer, purchase key) pairs, the
distinct dates in the lookback on which the customer bought the key (core.reminder_query's
`purchase_key`: the product, or the category for substitutes)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import BigInteger, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import is_postgres
from core.models import Order, OrderLine, Product
from core.models.orders import COUNTED_STATUSES
from core.reminder_query import purchase_key
from core.shopconfig.loader import ShopConfig


def _key_table(session: AsyncSession, keys: Sequence[tuple[int, int]]) -> Any:
    """The (customer, purchase key) pairs as a table `keys(customer_id, pkey)`, sent as two
    parameters however many pairs there are (PostgreSQL: unnest of two arrays; SQLite: json_each)."""
    if is_postgres(session):
        customers = bindparam(None, [c for c, _ in keys], type_=ARRAY(BigInteger))
        pkeys = bindparam(None, [k for _, k in keys], type_=ARRAY(BigInteger))
        return (
            func.unnest(customers, pkeys)
            .table_valued("customer_id", "pkey")
            .render_derived(name="keys")
        )
    listed = func.json_each(bindparam(None, json.dumps(keys))).table_valued("value").alias("each")
    return (
        select(
            func.json_extract(listed.c.value, "$[0]").label("customer_id"),
            func.json_extract(listed.c.value, "$[1]").label("pkey"),
        )
        .select_from(listed)
        .subquery("keys")
    )


async def purchase_dates(
    session: AsyncSession,
    as_of: date,
    cfg: ShopConfig,
    substitutes: list[int],
    keys: set[tuple[int, int]],
) -> dict[tuple[int, int], list[date]]:
    """Distinct purchase dates (sorted) of the given (customer, purchase key) pairs in the lookback.

    The pairs go to the database as one table, so only their own lines come back (not every
    purchase of their customers)."""
    if not keys:
        return {}
    wanted = _key_table(session, sorted(keys))
    pkey = purchase_key(substitutes)
    stmt = (
        select(wanted.c.customer_id, wanted.c.pkey, Order.order_date)
        .select_from(wanted)
        .join(Order, Order.customer_id == wanted.c.customer_id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(
            Order.status.in_(COUNTED_STATUSES),
            Order.order_date > as_of - timedelta(days=cfg.consumption.lookback_days),
            Order.order_date <= as_of,
            pkey == wanted.c.pkey,
        )
        .distinct()
    )
    dates: dict[tuple[int, int], list[date]] = defaultdict(list)
    for customer_id, key, day in (await session.execute(stmt)).all():
        dates[(customer_id, key)].append(day)
    for found in dates.values():
        found.sort()
    return dates
