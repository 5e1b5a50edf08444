"""The reminder step's SQL: each (customer, purchase key)'s latest purchase near its due date.

A purchase key is the product, or — for categories whose products substitute each other — the
category, so only the latest purchase counts and a later one suppresses it. The statement joins
the product's (else the category's) profile, computes consumption days with the integer formula
of core.consumption, and keeps only lines whose due date is near `as_of`.

Only the recent purchases are ranked: a line can be due, basket-able or late today only if it was
bought within the profiles' longest horizon, and any later purchase of the same key is more recent
still, so ranking the lines of that horizon finds the same latest lines as ranking the whole
lookback (a fraction of the rows to sort). Whether the key has enough history for a learned
rhythm (`min_purchases`: `learnable`) is then the horizon's count plus the older lines — asked
only when the horizon's count is short and the customer has that many counted orders at all,
per candidate through the orders' (customer, date) index on SQLite, from a table keyed by
(customer, key) on PostgreSQL. core.purchase_history then fetches the purchase dates of the
learnable candidates. The reminder schedule keeps the latest lines with their profile's terms in a scratch
table (`recent_lines`), so the profiles are joined once per run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.db import is_postgres
from core.models import Category, ConsumptionProfile, Customer, Order, OrderLine, Product, Reminder
from core.models.orders import COUNTED_STATUSES
from core.shopconfig.loader import ShopConfig

# the consumption terms `recent_lines` keeps beside each latest line
_TERMS = ("days", "buffer_days", "min_days", "max_days")


def days_since(session: AsyncSession, as_of: date, column: Any) -> Any:
    """Whole days from a date column to `as_of`, in the session's dialect."""
    assert session.bind is not None
    if session.bind.dialect.name == "postgresql":
        return literal(as_of, Date) - column
    return cast(func.julianday(literal(as_of.isoformat())) - func.julianday(column), Integer)


def _milli(column: Any) -> Any:
    return cast(func.round(column * 1000), BigInteger)


async def substitute_category_ids(session: AsyncSession, codes: Sequence[str]) -> list[int]:
    if not codes:
        return []
    return list((await session.scalars(select(Category.id).where(Category.code.in_(codes)))).all())


def purchase_key(substitutes: list[int]) -> Any:
    """What a repurchase must match: the product, or (substitute categories) minus the category."""
    if not substitutes:
        return OrderLine.product_id
    return case(
        (Product.category_id.in_(substitutes), -Product.category_id), else_=OrderLine.product_id
    )


def _ranked_lines(as_of: date, days: int, substitutes: list[int], customers: Any = None) -> Any:
    """Counted purchase lines of the last `days` days, ranked newest first per purchase key, with
    the key's count of lines in those days (`n`); only `customers`' (a table) when given."""
    pkey = purchase_key(substitutes)
    partition = (Order.customer_id, pkey)
    stmt = (
        select(
            Order.customer_id.label("customer_id"),
            pkey.label("pkey"),
            OrderLine.id.label("line_id"),
            OrderLine.product_id.label("product_id"),
            Product.category_id.label("category_id"),
            Order.order_date.label("order_date"),
            OrderLine.base_quantity.label("base_quantity"),
            func.row_number()
            .over(
                partition_by=partition,
                order_by=(Order.order_date.desc(), Order.id.desc(), OrderLine.id.desc()),
            )
            .label("rn"),
            func.count().over(partition_by=partition).label("n"),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(
            Order.status.in_(COUNTED_STATUSES),
            Order.order_date > as_of - timedelta(days=days),
            Order.order_date <= as_of,
        )
    )
    if customers is not None:
        stmt = stmt.join(customers, customers.c.customer_id == Order.customer_id)
    return stmt.cte("ranked")


def _latest_lines(as_of: date, days: int, substitutes: list[int]) -> Any:
    """SQLite: `_ranked_lines`' first rows, with the same `n`, through one GROUP BY instead of
    two window sorts (about twice as fast over the horizon's lines).

    In an aggregate query with a single max(), SQLite takes the bare columns from the row that
    holds the maximum: here the newest (order date, order id, line id) — the row that
    row_number() ranks first. The join compares `orders.id + 0` so that SQLite (no planner
    statistics) starts from the orders of the period instead of reading every line.
    """
    pkey = purchase_key(substitutes)
    newest = func.max(func.printf("%s%019d%019d", Order.order_date, Order.id, OrderLine.id))
    return (
        select(
            Order.customer_id.label("customer_id"),
            pkey.label("pkey"),
            newest.label("newest"),
            OrderLine.id.label("line_id"),
            OrderLine.product_id.label("product_id"),
            Product.category_id.label("category_id"),
            Order.order_date.label("order_date"),
            OrderLine.base_quantity.label("base_quantity"),
            func.count().label("n"),
        )
        .select_from(OrderLine)
        .join(Order, (Order.id + 0) == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(
            Order.status.in_(COUNTED_STATUSES),
            Order.order_date > as_of - timedelta(days=days),
            Order.order_date <= as_of,
        )
        .group_by(Order.customer_id, pkey)
        .cte("ranked")
    )


def _older_counts(after: date, until: date, substitutes: list[int], within: Any = None) -> Any:
    """SELECT of each (customer, purchase key)'s count of counted lines bought in (after, until];
    only of the customers in `within` (a table with a customer_id) when given."""
    pkey = purchase_key(substitutes)
    stmt = (
        select(
            Order.customer_id.label("customer_id"),
            pkey.label("pkey"),
            func.count().label("n"),
        )
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(
            Order.status.in_(COUNTED_STATUSES),
            Order.order_date > after,
            Order.order_date <= until,
        )
        .group_by(Order.customer_id, pkey)
    )
    if within is not None:
        stmt = stmt.where(Order.customer_id.in_(select(within.c.customer_id)))
    return stmt


def _older_range(as_of: date, cfg: ShopConfig) -> tuple[date, date] | None:
    """The part of the lookback before the ranked horizon: (after, until], or None if none."""
    cc = cfg.consumption
    recent = recent_days(cfg)
    if recent >= cc.lookback_days:
        return None
    return as_of - timedelta(days=cc.lookback_days), as_of - timedelta(days=recent)


def older_lines(as_of: date, cfg: ShopConfig, substitutes: list[int], customers: Any) -> Any:
    """SELECT of each (customer, purchase key)'s counted lines in the lookback before the
    `recent_days` (customer_id, pkey, n) for the customers in the table `customers` (None:
    everyone) with k counted orders (the step's query asks only theirs), to keep in an indexed
    scratch table and pass back to `latest_purchases_query` as its `older`; None when the
    horizon covers the whole lookback."""
    span = _older_range(as_of, cfg)
    if span is None:
        return None
    k = cfg.consumption.learned_rhythm.min_purchases
    enough = select(Customer.id).where(Customer.order_count >= k)
    return _older_counts(*span, substitutes, customers).where(Order.customer_id.in_(enough))


def _older_count_of(
    ranked: Any, after: date, until: date, substitutes: list[int], correlate: Any
) -> Any:
    """Scalar subquery: the candidate's counted lines of its purchase key in (after, until]."""
    o = aliased(Order)
    line = aliased(OrderLine)
    product = aliased(Product)
    pkey: Any = line.product_id
    if substitutes:
        pkey = case(
            (product.category_id.in_(substitutes), -product.category_id), else_=line.product_id
        )
    stmt = select(func.count()).select_from(o).join(line, line.order_id == o.id)
    if substitutes:
        stmt = stmt.join(product, product.id == line.product_id)
    return (
        stmt.where(
            o.customer_id == ranked.c.customer_id,
            o.order_date > after,
            o.order_date <= until,
            o.status.in_(COUNTED_STATUSES),
            pkey == ranked.c.pkey,
        )
        .correlate(correlate)
        .scalar_subquery()
    )


def recent_days(cfg: ShopConfig) -> int:
    """How many days back a latest purchase can still be due, basket-able or late today."""
    cc = cfg.consumption
    # no profile lets a purchase older than this be due, basket-able or late today
    horizon = max((p.max_days - p.buffer_days for p in cc.profiles), default=0)
    return min(horizon + cc.late_touch_until_days, cc.lookback_days)


def _consumption(ranked: Any) -> tuple[dict[str, Any], Any]:
    """The consumption terms of a ranked line — days (the integer formula of core.consumption,
    clamped), buffer, clamps — from the product's profile, else its category's; and the FROM
    clause that joins those profiles to `ranked`. `days` is NULL when neither has a profile."""
    pp = aliased(ConsumptionProfile)
    cp = aliased(ConsumptionProfile)
    avg = func.coalesce(pp.avg_consumption_days, cp.avg_consumption_days)
    low = func.coalesce(pp.min_days, cp.min_days)
    high = func.coalesce(pp.max_days, cp.max_days)
    ref = _milli(func.coalesce(pp.reference_quantity, cp.reference_quantity))
    raw = (2 * avg * _milli(ranked.c.base_quantity) + ref) // (2 * ref)
    terms = {
        "days": case((raw < low, low), (raw > high, high), else_=raw),
        "buffer_days": func.coalesce(pp.buffer_days, cp.buffer_days),
        "min_days": low,
        "max_days": high,
    }
    joined = ranked.outerjoin(pp, pp.product_id == ranked.c.product_id).outerjoin(
        cp, cp.category_id == ranked.c.category_id
    )
    return terms, joined


def recent_lines(
    session: AsyncSession, as_of: date, cfg: ShopConfig, substitutes: list[int], customers: Any
) -> Any:
    """SELECT of each (customer, purchase key)'s latest counted line of the `recent_days` with the
    key's count `n` there and its consumption terms (`days` NULL: no profile) — what
    `latest_purchases_query` ranks — for the customers in the table `customers` (None:
    everyone), to keep in a scratch table and pass back as its `latest`. The profiles are
    joined here once, so the step's query and the schedule read the terms from the table."""
    if customers is None and not is_postgres(session):
        grouped = _latest_lines(as_of, recent_days(cfg), substitutes)
        found = select(*(c for c in grouped.c if c.name != "newest")).subquery("found")
    else:
        ranked = _ranked_lines(as_of, recent_days(cfg), substitutes, customers)
        found = (select(*(c for c in ranked.c if c.name != "rn")).where(ranked.c.rn == 1)).subquery(
            "found"
        )
    terms, joined = _consumption(found)
    return select(*found.c, *(term.label(name) for name, term in terms.items())).select_from(joined)


def latest_purchases_query(
    session: AsyncSession,
    as_of: date,
    cfg: ShopConfig,
    substitutes: list[int],
    *,
    window_only: bool = True,
    latest: Any = None,
    older: Any = None,
) -> Any:
    """SELECT of each (customer, purchase key)'s latest line with its profile and consumption days.

    With `window_only` only lines that may be due, basket-able or late today are kept (for a
    learned rhythm the bound uses the profile's clamps), and lines already late-touched are left
    out. Customers who may not get marketing (opt-out, consent) are left out too.
    `latest`: the `recent_lines` of the customers to look at, already in a table (the reminder
    schedule's); without it, every customer's are ranked here. `older`: their `older_lines`,
    in a table keyed by (customer_id, pkey) (PostgreSQL: any plan then finds a count by its
    key; a join to the aggregate itself may be planned as a nested loop over it).
    """
    cc = cfg.consumption
    nearest = min((p.min_days - p.buffer_days for p in cc.profiles), default=0)
    recent = recent_days(cfg)
    grouped = latest is not None or (window_only and not is_postgres(session))
    if latest is not None:
        ranked = latest
    elif grouped:
        ranked = _latest_lines(as_of, recent, substitutes)
    else:
        ranked = _ranked_lines(as_of, recent if window_only else cc.lookback_days, substitutes)
    rd = aliased(Reminder)
    rl = aliased(Reminder)
    if latest is not None:  # the terms were computed when the table was filled
        terms, joined = {name: latest.c[name] for name in _TERMS}, latest
    else:
        terms, joined = _consumption(ranked)
    days, buffer = terms["days"], terms["buffer_days"]
    low, high = terms["min_days"], terms["max_days"]
    elapsed = days_since(session, as_of, ranked.c.order_date)
    # enough history for a learned rhythm — k purchases — so that the purchase dates are asked
    # for (core.consumption.learned_days decides on the distinct dates)
    k = cc.learned_rhythm.min_purchases
    learnable: Any = ranked.c.n >= k
    span = _older_range(as_of, cfg) if window_only else None
    if span is None:
        older = None
    else:
        # the key's purchases in the rest of the lookback: on PostgreSQL one hash aggregate (or
        # the schedule's table of it), on SQLite counted per candidate through the orders'
        # (customer, date) index; asked for only when the horizon holds fewer than k and the
        # customer has k counted orders at all (fewer orders cannot hold k purchase dates)
        if older is None and is_postgres(session):
            older = _older_counts(*span, substitutes, latest).cte("older")
        more: Any = (
            func.coalesce(older.c.n, 0)
            if older is not None
            else _older_count_of(ranked, *span, substitutes, ranked)
        )
        learnable = case(
            (ranked.c.n >= k, True),
            (Customer.order_count < k, False),
            else_=ranked.c.n + more >= k,
        )
    stmt = (
        select(
            ranked.c.customer_id,
            ranked.c.pkey,
            ranked.c.line_id,
            ranked.c.product_id,
            ranked.c.order_date,
            ranked.c.base_quantity,
            learnable.label("learnable"),
            days.label("days"),
            buffer.label("buffer_days"),
            low.label("min_days"),
            high.label("max_days"),
            (rd.id.is_not(None)).label("due_sent"),
            Product.sku,
            Product.name,
            Product.name_bn,
            Product.unit,
            Category.code.label("category"),
            Customer.priority_level,
            Customer.customer_type,
            Customer.total_spend,
            Customer.whatsapp_status,
            Customer.language,
            Customer.name.label("customer_name"),
        )
        .select_from(joined)
        .join(Product, Product.id == ranked.c.product_id)
        .join(Category, Category.id == ranked.c.category_id)
        .join(Customer, Customer.id == ranked.c.customer_id)
        .outerjoin(rd, and_(rd.order_line_id == ranked.c.line_id, rd.kind == "due"))
        .where(days.is_not(None))
    )
    if not grouped:
        stmt = stmt.where(ranked.c.rn == 1)
    if older is not None:
        stmt = stmt.outerjoin(
            older,
            and_(older.c.customer_id == ranked.c.customer_id, older.c.pkey == ranked.c.pkey),
        )
    if not window_only:
        return stmt
    # a plain bound on the purchase date first (the profiles' clamps)
    stmt = stmt.where(
        ranked.c.order_date <= as_of - timedelta(days=max(0, nearest - cc.basket_window_days)),
    )
    # due within the window for the profile's days — or, with a learned rhythm (enough
    # purchases), anywhere the profile's clamps allow; the count is asked for only when the
    # profile's own days leave the line out
    early, late = cc.basket_window_days, cc.late_touch_until_days
    stmt = stmt.outerjoin(rl, and_(rl.order_line_id == ranked.c.line_id, rl.kind == "late")).where(
        rl.id.is_(None),
        Customer.opted_out_at.is_(None),
        Customer.phone_valid.is_(True),
        elapsed >= low - buffer - early,
        elapsed < high - buffer + late,
        or_(
            and_(elapsed >= days - buffer - early, elapsed < days - buffer + late),
            learnable,
        ),
    )
    if cfg.messaging.consent_policy == "erp_flag":
        stmt = stmt.where(Customer.marketing_consent.is_(True))
    return stmt
