"""Bench-only extra: the reminder step's core query in DuckDB, to compare our SQL with an OLAP engine.

The query is core.reminder_query's `latest_purchases_query` (window only, as on the shop's first
day: no reminders sent yet): each (customer, purchase key)'s latest counted purchase in the
lookback, its profile's consumption days (integer formula, clamped), kept when it may be due,
basket-able or late on `as_of`. The needed columns are copied once into DuckDB tables (not timed:
DuckDB's sqlite scanner is not installable offline); only the DuckDB query is timed. Both sides
return (rows, Σ line id, Σ days, learnable rows) so the bench can check they found the same lines.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core.models import ConsumptionProfile, Customer, Order, OrderLine, Product
from core.models.orders import COUNTED_STATUSES
from core.reminder_query import latest_purchases_query, substitute_category_ids
from core.shopconfig.loader import ShopConfig

Checksum = tuple[int, int, int, int]

_TABLES: dict[str, tuple[str, Any]] = {
    "orders": (
        "id BIGINT, customer_id BIGINT, order_date DATE, status VARCHAR",
        select(Order.id, Order.customer_id, Order.order_date, Order.status),
    ),
    "order_lines": (
        "id BIGINT, order_id BIGINT, product_id BIGINT, base_quantity DOUBLE",
        select(OrderLine.id, OrderLine.order_id, OrderLine.product_id, OrderLine.base_quantity),
    ),
    "products": ("id BIGINT, category_id BIGINT", select(Product.id, Product.category_id)),
    "customers": (
        "id BIGINT, opted_out BOOLEAN, phone_valid BOOLEAN, marketing_consent BOOLEAN, "
        "order_count INTEGER",
        select(
            Customer.id,
            Customer.opted_out_at.is_not(None),
            Customer.phone_valid,
            Customer.marketing_consent,
            Customer.order_count,
        ),
    ),
    "profiles": (
        "product_id BIGINT, category_id BIGINT, avg_days INTEGER, buffer_days INTEGER, "
        "min_days INTEGER, max_days INTEGER, reference_quantity DOUBLE",
        select(
            ConsumptionProfile.product_id,
            ConsumptionProfile.category_id,
            ConsumptionProfile.avg_consumption_days,
            ConsumptionProfile.buffer_days,
            ConsumptionProfile.min_days,
            ConsumptionProfile.max_days,
            ConsumptionProfile.reference_quantity,
        ),
    ),
}


async def our_checksum(session: AsyncSession, as_of: date, cfg: ShopConfig) -> Checksum:
    """Our reminder query's (rows, Σ line id, Σ days, learnable rows) on the bench database."""
    substitutes = await substitute_category_ids(
        session, cfg.consumption.substitutes_within_category
    )
    rows = latest_purchases_query(session, as_of, cfg, substitutes).subquery()
    learnable = func.sum(case((rows.c.learnable, 1), else_=0))
    stmt = select(func.count(), func.sum(rows.c.line_id), func.sum(rows.c.days), learnable)
    found = (await session.execute(stmt)).one()
    return tuple(int(x or 0) for x in found)  # type: ignore[return-value]


async def copy_to_duckdb(engine: AsyncEngine, duck: Any) -> None:
    """Copy the columns the reminder query reads into DuckDB tables, 500,000 rows at a time."""
    import numpy as np

    for table, (columns, stmt) in _TABLES.items():
        duck.execute(f"CREATE TABLE {table} ({columns})")
        names = [part.split()[0] for part in columns.split(", ")]
        async with engine.connect() as conn:
            result = await conn.stream(stmt.execution_options(yield_per=500_000))
            async for part in result.partitions(500_000):
                chunk = {  # noqa: F841 (read by DuckDB's replacement scan below)
                    name: np.array(
                        [None if v is None else _plain(v) for v in values],
                        dtype="datetime64[ns]" if name == "order_date" else None,
                    )
                    for name, values in zip(names, zip(*part, strict=True), strict=True)
                }
                duck.execute(f"INSERT INTO {table} SELECT * FROM chunk")


def _plain(value: Any) -> Any:
    """Decimals as floats (DOUBLE columns); everything else as it comes."""
    return float(value) if hasattr(value, "as_tuple") else value


def duckdb_query(as_of: date, cfg: ShopConfig, substitutes: list[int]) -> str:
    """The reminder query in DuckDB's SQL, returning the same checksum as `our_checksum`."""
    cc = cfg.consumption
    horizon = max((p.max_days - p.buffer_days for p in cc.profiles), default=0)
    nearest = min((p.min_days - p.buffer_days for p in cc.profiles), default=0)
    subs = ", ".join(str(i) for i in substitutes) or "NULL"
    statuses = ", ".join(f"'{s}'" for s in COUNTED_STATUSES)
    consent = "AND c.marketing_consent" if cfg.messaging.consent_policy == "erp_flag" else ""
    low_date = as_of - timedelta(days=horizon + cc.late_touch_until_days)
    high_date = as_of - timedelta(days=max(0, nearest - cc.basket_window_days))
    k = cc.learned_rhythm.min_purchases
    return f"""
    WITH keyed AS (
        SELECT o.customer_id, o.id AS order_id, o.order_date, l.id AS line_id, l.product_id,
               p.category_id, l.base_quantity,
               CASE WHEN p.category_id IN ({subs}) THEN -p.category_id ELSE l.product_id END AS pkey
        FROM order_lines l JOIN orders o ON o.id = l.order_id JOIN products p ON p.id = l.product_id
        WHERE o.status IN ({statuses})
          AND o.order_date > DATE '{as_of - timedelta(days=cc.lookback_days)}'
          AND o.order_date <= DATE '{as_of}'
    ), ranked AS (
        SELECT *,
               row_number() OVER (PARTITION BY customer_id, pkey
                                  ORDER BY order_date DESC, order_id DESC, line_id DESC) AS rn,
               count(*) OVER (PARTITION BY customer_id, pkey) AS n,
               count(*) FILTER (WHERE order_date > DATE '{low_date}')
                   OVER (PARTITION BY customer_id, pkey) AS n_recent
        FROM keyed
    ), priced AS (
        SELECT r.line_id, r.order_date,
               -- as ours: k purchases in the lookback, from customers with k counted orders
               CASE WHEN r.n_recent >= {k} THEN 1 WHEN c.order_count < {k} THEN 0
                    WHEN r.n >= {k} THEN 1 ELSE 0 END AS learnable,
               coalesce(pp.avg_days, cp.avg_days) AS avg_days,
               coalesce(pp.buffer_days, cp.buffer_days) AS buffer_days,
               coalesce(pp.min_days, cp.min_days) AS low,
               coalesce(pp.max_days, cp.max_days) AS high,
               CAST(round(coalesce(pp.reference_quantity, cp.reference_quantity) * 1000) AS BIGINT)
                   AS ref,
               CAST(round(r.base_quantity * 1000) AS BIGINT) AS qty
        FROM ranked r
        JOIN customers c ON c.id = r.customer_id
        LEFT JOIN profiles pp ON pp.product_id = r.product_id
        LEFT JOIN profiles cp ON cp.category_id = r.category_id
        WHERE r.rn = 1 AND coalesce(pp.avg_days, cp.avg_days) IS NOT NULL
          AND r.order_date > DATE '{low_date}' AND r.order_date <= DATE '{high_date}'
          AND NOT c.opted_out AND c.phone_valid {consent}
    ), dayed AS (
        SELECT *, (2 * avg_days * qty + ref) // (2 * ref) AS raw,
               DATE '{as_of}' - order_date AS elapsed
        FROM priced
    ), clamped AS (
        SELECT *, CASE WHEN raw < low THEN low WHEN raw > high THEN high ELSE raw END AS days
        FROM dayed
    )
    SELECT count(*), sum(line_id), sum(days), sum(learnable) FROM clamped
    WHERE elapsed >= CASE WHEN learnable = 1 THEN low ELSE days END
                     - buffer_days - {cc.basket_window_days}
      AND elapsed < CASE WHEN learnable = 1 THEN high ELSE days END
                    - buffer_days + {cc.late_touch_until_days}
    """


async def compare_with_duckdb(
    engine: AsyncEngine, session: AsyncSession, as_of: date, cfg: ShopConfig
) -> tuple[float, Checksum] | None:
    """Copy the data, time the DuckDB query; None when duckdb is not installed."""
    try:
        import duckdb
    except ImportError:
        return None
    substitutes = await substitute_category_ids(
        session, cfg.consumption.substitutes_within_category
    )
    duck = duckdb.connect()
    try:
        await copy_to_duckdb(engine, duck)
        sql = duckdb_query(as_of, cfg, substitutes)
        began = time.perf_counter()
        found = duck.execute(sql).fetchone()
        seconds = time.perf_counter() - began
    finally:
        duck.close()
    assert found is not None
    return seconds, tuple(int(x or 0) for x in found)  # type: ignore[return-value]
