"""Customer 360 on a hand-built fixture with literal dates and exact expected values."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import local_noon
from core.customers.card import render_360
from core.customers.view import customer_360
from core.errors import NotFound
from core.models import (
    Agent,
    Category,
    Coupon,
    CouponRule,
    Customer,
    Engagement,
    Order,
    OrderLine,
    Product,
    Task,
    WalletEntry,
)

AS_OF = date(2026, 3, 31)


async def _shop(session: AsyncSession) -> Customer:
    rice = Category(code="rice", name="Rice", name_bn="চাল")
    oil = Category(code="oil", name="Oil", name_bn="তেল")
    session.add_all([rice, oil])
    await session.flush()
    p_rice = Product(
        sku="RICE-5",
        name="Miniket rice 5 kg",
        name_bn="মিনিকেট চাল ৫ কেজি",
        category_id=rice.id,
        pack_size=Decimal(5),
        unit="kg",
        price=Decimal(450),
    )
    p_oil = Product(
        sku="OIL-1",
        name="Mustard oil 1 L",
        name_bn="সরিষার তেল ১ লিটার",
        category_id=oil.id,
        pack_size=Decimal(1),
        unit="l",
        price=Decimal(280),
    )
    agent = Agent(name="Rahim", role="agent", districts=["Dhaka"])
    session.add_all([p_rice, p_oil, agent])
    await session.flush()
    c = Customer(
        phone="+8801711000001",
        name="Rokeya Begum",
        district="Dhaka",
        city="Mirpur",
        language="bn",
        order_count=3,
        total_spend=Decimal("1460.00"),
        first_order_date=date(2026, 1, 10),
        last_order_date=date(2026, 3, 1),
        avg_days_between_orders=25.0,
        tier="none",
        customer_type="repeat",
        lifecycle_stage="active",
        priority_level="warm",
        assigned_agent_id=agent.id,
    )
    session.add(c)
    await session.flush()
    specs = [
        ("E1", date(2026, 1, 10), "delivered", [(p_rice, 5, "kg", 450)]),
        ("E2", date(2026, 2, 5), "delivered", [(p_rice, 5, "kg", 450), (p_oil, 1, "l", 280)]),
        ("E3", date(2026, 3, 1), "delivered", [(p_oil, 1, "l", 280)]),
        ("E4", date(2026, 3, 5), "cancelled", [(p_oil, 2, "l", 280)]),
    ]
    for ext, day, status, lines in specs:
        total = sum(
            Decimal(q) * Decimal(price) / (p.pack_size if p.unit != "pcs" else 1)
            for p, q, _, price in lines
        )
        order = Order(
            external_id=ext,
            customer_id=c.id,
            ordered_at=local_noon(day),
            order_date=day,
            status=status,
            total=total,
        )
        session.add(order)
        await session.flush()
        for i, (p, q, unit, price) in enumerate(lines, 1):
            amount = Decimal(q) * Decimal(price) / p.pack_size
            session.add(
                OrderLine(
                    order_id=order.id,
                    line_no=i,
                    product_id=p.id,
                    quantity=Decimal(q),
                    unit=unit,
                    base_quantity=Decimal(q) * 1000,
                    unit_price=Decimal(price) / p.pack_size,
                    amount=amount,
                )
            )
    rule = CouponRule(
        key="winback_30", kind="winback", code_prefix="WELCOME_BACK", discount_pct=Decimal(10)
    )
    session.add(rule)
    await session.flush()
    session.add_all(
        [
            Coupon(
                code="WELCOME_BACK-AAAAAA",
                dedupe_key="k1",
                rule_id=rule.id,
                customer_id=c.id,
                issued_on=date(2026, 3, 20),
                valid_from=date(2026, 3, 20),
                valid_until=date(2026, 4, 2),
            ),
            Coupon(
                code="WELCOME_BACK-EXPIRD",
                dedupe_key="k2",
                rule_id=rule.id,
                customer_id=c.id,
                issued_on=date(2026, 2, 1),
                valid_from=date(2026, 2, 1),
                valid_until=date(2026, 2, 14),
            ),
            WalletEntry(
                dedupe_key="w1",
                customer_id=c.id,
                kind="cashback",
                amount=Decimal("14.60"),
                entry_date=date(2026, 3, 1),
            ),
            WalletEntry(
                dedupe_key="w2",
                customer_id=c.id,
                kind="redeem",
                amount=Decimal("-4.60"),
                entry_date=date(2026, 3, 2),
            ),
            Task(
                dedupe_key="t1",
                type="reminder_call",
                customer_id=c.id,
                agent_id=agent.id,
                created_on=AS_OF,
                due_date=AS_OF,
                reason_en="rice due",
                reason_bn="চাল",
            ),
            Task(
                dedupe_key="t2",
                type="winback",
                customer_id=c.id,
                status="done",
                created_on=AS_OF,
                due_date=AS_OF,
            ),
            Engagement(
                customer_id=c.id,
                kind="reply",
                channel="whatsapp",
                direction="in",
                body="হ্যাঁ",
                occurred_at=datetime(2026, 3, 30, 5, 0, tzinfo=UTC),
                occurred_on=date(2026, 3, 30),
            ),
        ]
    )
    await session.commit()
    return c


async def test_customer_360_exact(session: AsyncSession) -> None:
    c = await _shop(session)
    v = await customer_360(session, phone="০১৭১১-০০০০০১", as_of=AS_OF)
    assert v.id == c.id and v.phone == "+8801711000001"
    assert (v.ltv, v.order_count, v.days_since_last_order) == (Decimal("1460.00"), 3, 30)
    assert v.agent == "Rahim"
    assert v.wallet_balance == Decimal("10.00")
    assert [cp.code for cp in v.coupons] == ["WELCOME_BACK-AAAAAA"]
    assert [o.external_id for o in v.recent_orders] == ["E4", "E3", "E2", "E1"]
    assert v.recent_orders[2].lines == ["মিনিকেট চাল ৫ কেজি × 5 kg", "সরিষার তেল ১ লিটার × 1 l"]
    # cancelled orders do not count; ties in order count go to the bigger spend
    assert [(p.sku, p.orders, p.amount, p.last_bought) for p in v.top_products] == [
        ("RICE-5", 2, Decimal("900.00"), date(2026, 2, 5)),
        ("OIL-1", 2, Decimal("560.00"), date(2026, 3, 1)),
    ]
    assert [t.type for t in v.open_tasks] == ["reminder_call"]
    assert [(e.direction, e.body) for e in v.engagements] == [("in", "হ্যাঁ")]
    card = render_360(v, "bn")
    assert "Rokeya Begum" in card and "৳১,৪৬০" in card and "৩০ দিন আগে" in card
    assert "WELCOME_BACK-AAAAAA" in card and "৳১০" in card
    english = render_360(v, "en")
    assert "LTV ৳1,460" in english and "30 days ago" in english
    assert v.to_dict()["ltv"] == "1460.00"


async def test_unknown_customer(session: AsyncSession) -> None:
    with pytest.raises(NotFound):
        await customer_360(session, phone="01711000009", as_of=AS_OF)
    with pytest.raises(NotFound):
        await customer_360(session, phone="hello", as_of=AS_OF)
