"""Writing the demo shop: explicit ids, chunked executemany inserts, one pass per table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import local_noon
from core.db import is_postgres
from core.demo.catalog import PRODUCTS
from core.demo.people import TEAM
from core.demo.shop import DemoShop
from core.errors import ConfigError
from core.models import (
    Agent,
    Category,
    ConsentEvent,
    Coupon,
    CouponRedemption,
    CouponRule,
    Customer,
    MembershipEvent,
    Order,
    OrderLine,
    Product,
    Reminder,
    WalletEntry,
)

CHUNK = 5_000  # rows per executemany: bounded memory per statement on both drivers


async def write_shop(session: AsyncSession, shop: DemoShop) -> None:
    """Insert the demo shop's rows (flush only; the caller commits)."""
    products = await _products(session, shop.as_of)
    await _team(session, shop.as_of)
    customer_base = await _next_id(session, Customer)
    cid = [customer_base + i for i in range(len(shop.customers))]
    await bulk_insert(
        session,
        Customer,
        [
            {
                "id": cid[i], "phone": c.phone, "name": c.name, "customer_ref": c.ref,
                "district": c.district, "city": c.city, "birthday": c.birthday,
                "language": c.language, "created_at": c.created_at,
                "marketing_consent": c.marketing_consent, "opted_out_at": c.opted_out_at,
                "whatsapp_status": c.whatsapp_status, "tier": c.tier, "tier_since": c.tier_since,
            }
            for i, c in enumerate(shop.customers)
        ],
    )  # fmt: skip
    # referrers may come later in id order: link them once every customer exists
    links = [
        {"cid": cid[i], "ref": cid[c.referred_by]}
        for i, c in enumerate(shop.customers)
        if c.referred_by is not None
    ]
    if links:
        customers = Customer.__table__
        await session.execute(
            update(customers)  # type: ignore[arg-type]
            .where(customers.c.id == bindparam("cid"))
            .values(referred_by_id=bindparam("ref")),
            links,
        )
    await bulk_insert(
        session,
        ConsentEvent,
        [
            {"customer_id": cid[i], "kind": "opt_out", "channel": "all", "source": "inbound",
             "occurred_at": c.opted_out_at, "detail": "STOP"}
            for i, c in enumerate(shop.customers) if c.opted_out_at is not None
        ],
    )  # fmt: skip
    coupon_ids = await _coupons(session, shop, cid)
    order_ids = await _orders(session, shop, cid, products, coupon_ids)
    await _wallet(session, shop, cid, order_ids)
    await bulk_insert(
        session,
        MembershipEvent,
        [
            {"dedupe_key": f"membership:{cid[e.customer]}:{e.to_tier}", "customer_id": cid[e.customer],
             "from_tier": e.from_tier, "to_tier": e.to_tier, "event_date": e.event_date,
             "reason": e.reason, "created_at": local_noon(e.event_date)}
            for e in shop.tier_events
        ],
    )  # fmt: skip


LOADED = (Product, Agent, Customer, ConsentEvent, Coupon, CouponRedemption, Order, OrderLine,
          MembershipEvent, WalletEntry, Reminder)  # fmt: skip


async def analyze(session: AsyncSession) -> None:
    """Refresh PostgreSQL's planner statistics of the loaded tables.

    Without it the planner still believes the freshly loaded tables are empty, and the first
    queries over them (the reminder step's window functions) pick nested loops that take minutes.
    """
    if is_postgres(session):
        await session.execute(text("ANALYZE " + ", ".join(m.__tablename__ for m in LOADED)))


async def reset_sequences(session: AsyncSession) -> None:
    """Move PostgreSQL's id sequences past the explicit ids the demo wrote."""
    if not is_postgres(session):
        return
    for model in LOADED:
        name = model.__tablename__
        await session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"
            )
        )


async def bulk_insert(session: AsyncSession, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Plain INSERT of many rows, executemany in chunks; rows without an id are numbered on."""
    if rows and "id" not in rows[0]:
        base = await _next_id(session, model)
        rows = [{"id": base + n, **row} for n, row in enumerate(rows)]
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(model.__table__), list(rows[start : start + CHUNK]))


async def _next_id(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(model.id), 0))) or 0) + 1


async def _products(session: AsyncSession, as_of: date) -> list[int]:
    """Ids of the catalogue's products, inserting those the shop does not have yet."""
    categories = dict((await session.execute(select(Category.code, Category.id))).all())
    missing = sorted({p.category for p in PRODUCTS} - set(categories))
    if missing:
        raise ConfigError(
            f"catalog.yaml has no categories {', '.join(missing)}: the demo needs them"
        )
    existing = dict((await session.execute(select(Product.sku, Product.id))).all())
    next_id = await _next_id(session, Product)
    rows, ids = [], []
    for p in PRODUCTS:
        if p.sku not in existing:
            existing[p.sku] = next_id
            rows.append(
                {"id": next_id, "sku": p.sku, "name": p.name, "name_bn": p.name_bn,
                 "category_id": categories[p.category], "pack_size": p.pack_size, "unit": p.unit,
                 "price": p.price, "launch_date": p.launch_date(as_of), "active": True}
            )  # fmt: skip
            next_id += 1
        ids.append(existing[p.sku])
    await bulk_insert(session, Product, rows)
    return ids


async def _team(session: AsyncSession, as_of: date) -> None:
    """The sales team, unless the shop already has one."""
    if await session.scalar(select(func.count()).select_from(Agent)):
        return
    joined = local_noon(as_of.replace(day=1))
    await bulk_insert(
        session,
        Agent,
        [
            {"id": n, "name": m.name, "role": m.role, "senior": m.senior,
             "districts": list(m.districts), "daily_capacity": m.daily_capacity,
             "language": m.language, "active": True, "created_at": joined}
            for n, m in enumerate(TEAM, start=await _next_id(session, Agent))
        ],
    )  # fmt: skip


async def _coupons(session: AsyncSession, shop: DemoShop, cid: list[int]) -> dict[int, int]:
    """Insert the issued coupons; returns id(coupon object) -> coupon id."""
    rules = dict((await session.execute(select(CouponRule.key, CouponRule.id))).all())
    base = await _next_id(session, Coupon)
    ids: dict[int, int] = {}
    rows = []
    for n, c in enumerate(shop.coupons):
        ids[id(c)] = base + n
        rows.append(
            {"id": base + n, "code": c.code, "dedupe_key": c.dedupe_key.format(customer=cid[c.customer]),
             "rule_id": rules[c.rule_key], "customer_id": cid[c.customer], "campaign_id": None,
             "issued_on": c.issued_on, "valid_from": c.issued_on, "valid_until": c.valid_until,
             "usage_limit": 1, "times_used": 1 if c.used else 0,
             "created_at": local_noon(c.issued_on)}
        )  # fmt: skip
    await bulk_insert(session, Coupon, rows)
    return ids


async def _orders(
    session: AsyncSession,
    shop: DemoShop,
    cid: list[int],
    products: list[int],
    coupon_ids: dict[int, int],
) -> dict[int, int]:
    """Insert orders, their lines and coupon redemptions; returns id(order object) -> order id."""
    order_base = await _next_id(session, Order)
    line_id = await _next_id(session, OrderLine)
    base = [p.base_quantity for p in PRODUCTS]
    orders: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    redemptions = []
    for n, o in enumerate(shop.orders):
        order_id = order_base + n
        orders.append(
            {"id": order_id, "external_id": f"DEMO-O{n + 1:07d}", "customer_id": cid[o.customer],
             "ordered_at": o.ordered_at, "order_date": o.order_date, "status": o.status,
             "total": o.total, "coupon_code": o.coupon.code if o.coupon else None, "source": "demo",
             "created_at": o.ordered_at, "updated_at": o.ordered_at}
        )  # fmt: skip
        for line_no, (p, packs) in enumerate(o.lines, start=1):
            price = PRODUCTS[p].price
            lines.append(
                {"id": line_id, "order_id": order_id, "line_no": line_no,
                 "product_id": products[p], "quantity": Decimal(packs), "unit": "pack",
                 "base_quantity": base[p] * packs, "unit_price": price, "amount": price * packs}
            )  # fmt: skip
            line_id += 1
        if o.coupon is not None:
            redemptions.append(
                {"coupon_id": coupon_ids[id(o.coupon)], "order_id": order_id,
                 "redeemed_on": o.order_date}
            )  # fmt: skip
        if len(lines) >= CHUNK:  # stream: memory stays flat however large the shop
            await bulk_insert(session, Order, orders)
            await bulk_insert(session, OrderLine, lines)
            orders, lines = [], []
    await bulk_insert(session, Order, orders)
    await bulk_insert(session, OrderLine, lines)
    await bulk_insert(session, CouponRedemption, redemptions)
    return {id(o): order_base + n for n, o in enumerate(shop.orders)}


async def _wallet(
    session: AsyncSession, shop: DemoShop, cid: list[int], order_ids: dict[int, int]
) -> None:
    """Cashback and referral credits, keyed as core.membership and core.couponing key them."""
    rows = [
        {"dedupe_key": f"cashback:{order_ids[id(c.order)]}", "customer_id": cid[c.order.customer],
         "order_id": order_ids[id(c.order)], "kind": "cashback", "amount": c.amount,
         "entry_date": c.entry_date, "note": f"tier cashback {c.tier}",
         "created_at": local_noon(c.entry_date)}
        for c in shop.cashback
    ]  # fmt: skip
    rows += [
        {"dedupe_key": f"referral:{cid[referee]}", "customer_id": cid[referrer], "order_id": None,
         "kind": "referral", "amount": shop.referral_reward, "entry_date": day,
         "note": f"referral of customer {cid[referee]}", "created_at": local_noon(day)}
        for referee, referrer, day in shop.referral_rewards
    ]  # fmt: skip
    await bulk_insert(session, WalletEntry, rows)
