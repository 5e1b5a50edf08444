"""Membership on both databases: upgrades once, never down, cashback and reversal once, birthdays."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.cashback import credit_cashback
from core.membership import membership_step, tier_for, tier_rank
from core.models import Coupon, Customer, Engagement, MembershipEvent, Message, Task, WalletEntry
from core.shopconfig import ShopConfig, load_applied_config
from core.texts import render
from tests.factories import apply_shop_config, make_customer, make_order

AS_OF = date(2026, 3, 10)
SEED_SILVER = "অভিনন্দন! আপনি Silver Member হয়েছেন—পরের অর্ডারে ৫% ছাড় পাবেন।"


async def _config(session: AsyncSession) -> ShopConfig:
    await apply_shop_config(session)
    await session.commit()
    return await load_applied_config(session)


async def _count(session: AsyncSession, model: type, *where: object) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_silver_upgrade_once_with_event_message_and_call(session: AsyncSession) -> None:
    cfg = await _config(session)
    c = await make_customer(session, name="Rahima")
    for day in (1, 4, 8):
        await make_order(session, c, date(2026, 3, day), [], total=Decimal(900))
    bystander = await make_customer(session)
    await make_order(session, bystander, date(2026, 3, 2), [], total=Decimal(900))
    await session.commit()

    first = await membership_step(session, AS_OF, cfg)
    await session.commit()
    assert first["upgrades"] == 1 and first["card_tasks"] == 0

    await session.refresh(c)
    assert (c.tier, c.tier_since) == ("silver", AS_OF)
    event = await session.scalar(select(MembershipEvent))
    assert event is not None
    assert (event.customer_id, event.from_tier, event.to_tier) == (c.id, "none", "silver")
    assert await _count(session, Engagement, Engagement.kind == "membership") == 1
    message = await session.scalar(select(Message).where(Message.customer_id == c.id))
    assert message is not None and message.template_key == "membership_upgrade"
    assert message.variables == {"tier": "Silver", "discount": 5}
    assert (
        render(cfg.templates.get("membership_upgrade").bn, message.variables, "bn") == SEED_SILVER
    )
    tasks = (await session.scalars(select(Task).where(Task.customer_id == c.id))).all()
    assert [t.type for t in tasks] == ["membership_upgrade"]
    assert message.task_id == tasks[0].id

    second = await membership_step(session, AS_OF, cfg)
    await session.commit()
    assert second["upgrades"] == 0
    assert await _count(session, MembershipEvent) == 1
    assert await _count(session, Message) == 1
    assert await _count(session, Task) == 1
    assert await _count(session, Engagement) == 1


async def test_spend_alone_reaches_gold_and_permanent_gets_a_card(session: AsyncSession) -> None:
    cfg = await _config(session)
    gold = await make_customer(session)
    await make_order(session, gold, date(2026, 3, 1), [], total=Decimal(12000))
    permanent = await make_customer(session, tier="gold", tier_since=date(2026, 1, 1))
    await make_order(session, permanent, date(2026, 3, 2), [], total=Decimal(25000))
    await session.commit()

    out = await membership_step(session, AS_OF, cfg)
    await session.commit()
    await session.refresh(gold)
    await session.refresh(permanent)
    assert (gold.tier, permanent.tier) == ("gold", "permanent")
    assert out["upgrades"] == 2 and out["card_tasks"] == 1
    card = await session.scalar(select(Task).where(Task.type == "card_generation"))
    assert card is not None and card.customer_id == permanent.id
    event = await session.scalar(
        select(MembershipEvent).where(MembershipEvent.customer_id == permanent.id)
    )
    assert event is not None and (event.from_tier, event.to_tier) == ("gold", "permanent")


async def test_orders_after_as_of_do_not_count(session: AsyncSession) -> None:
    cfg = await _config(session)
    c = await make_customer(session)
    await make_order(session, c, date(2026, 3, 1), [], total=Decimal(3000))
    await make_order(session, c, date(2026, 3, 12), [], total=Decimal(3000))  # after as_of
    await session.commit()
    await membership_step(session, AS_OF, cfg)
    await session.commit()
    await session.refresh(c)
    assert c.tier == "none"


async def test_never_downgraded(session: AsyncSession) -> None:
    cfg = await _config(session)
    permanent = await make_customer(session, tier="permanent", tier_since=date(2025, 1, 1))
    gold = await make_customer(session, tier="gold", tier_since=date(2025, 6, 1))
    await make_order(session, gold, date(2026, 3, 1), [], total=Decimal(800), status="returned")
    await session.commit()
    out = await membership_step(session, AS_OF, cfg)
    await session.commit()
    await session.refresh(permanent)
    await session.refresh(gold)
    assert (permanent.tier, gold.tier) == ("permanent", "gold")
    assert out["upgrades"] == 0


async def test_cashback_exactly_once_and_reversed_once(session: AsyncSession) -> None:
    cfg = await _config(session)
    c = await make_customer(session, tier="silver", tier_since=date(2026, 3, 3))
    before = await make_order(session, c, date(2026, 3, 2), [], total=Decimal(2000))
    earning = await make_order(session, c, date(2026, 3, 5), [], total=Decimal(2500))
    await session.commit()

    out = await membership_step(session, AS_OF, cfg)
    await session.commit()
    assert out["cashback_credited"] == 1
    entries = (await session.scalars(select(WalletEntry))).all()
    assert [(e.order_id, e.kind, e.amount, e.dedupe_key) for e in entries] == [
        (earning.id, "cashback", Decimal("25.00"), f"cashback:{earning.id}")
    ]
    again = await membership_step(session, AS_OF, cfg)
    await session.commit()
    assert again["cashback_credited"] == 0

    earning.status = "returned"
    before.status = "cancelled"  # never credited: nothing to reverse
    await session.commit()
    out = await membership_step(session, date(2026, 3, 11), cfg)
    await session.commit()
    assert out["cashback_reversed"] == 1
    out = await membership_step(session, date(2026, 3, 12), cfg)
    await session.commit()
    assert out["cashback_reversed"] == 0
    balance = await session.scalar(
        select(func.sum(WalletEntry.amount)).where(WalletEntry.customer_id == c.id)
    )
    assert Decimal(str(balance)) == 0
    assert await _count(session, WalletEntry) == 2


async def test_cashback_starts_with_the_first_membership_event(session: AsyncSession) -> None:
    cfg = await _config(session)
    c = await make_customer(session)
    for day in (1, 3, 5):  # the third order makes her Silver on the 6th
        await make_order(session, c, date(2026, 3, day), [], total=Decimal(1000))
    await session.commit()
    await membership_step(session, date(2026, 3, 6), cfg)
    await session.commit()
    assert await _count(session, WalletEntry) == 0  # orders placed before she was a member
    later = await make_order(session, c, date(2026, 3, 7), [], total=Decimal(1000))
    await session.commit()
    out = await membership_step(session, date(2026, 3, 8), cfg)
    await session.commit()
    assert out["cashback_credited"] == 1
    entry = await session.scalar(select(WalletEntry))
    assert entry is not None and entry.order_id == later.id and entry.amount == Decimal("10.00")


async def test_birthday_coupon_for_members_once_a_year(session: AsyncSession) -> None:
    cfg = await _config(session)
    member = await make_customer(
        session,
        name="Karim",
        tier="silver",
        tier_since=date(2025, 1, 1),
        birthday=date(1990, 3, 10),
    )
    await make_customer(session, tier="none", birthday=date(1991, 3, 10))
    await make_customer(
        session, tier="gold", tier_since=date(2025, 1, 1), birthday=date(1992, 3, 11)
    )
    await session.commit()

    out = await membership_step(session, AS_OF, cfg)
    await session.commit()
    assert out["birthday_coupons"] == 1
    coupon = await session.scalar(select(Coupon))
    assert coupon is not None
    assert (coupon.customer_id, coupon.dedupe_key) == (member.id, f"birthday:{member.id}:2026")
    assert coupon.code.startswith("BDAY-")
    message = await session.scalar(select(Message).where(Message.template_key == "birthday"))
    assert message is not None
    assert message.variables == {"name": "Karim", "discount": 10, "coupon": coupon.code}

    again = await membership_step(session, AS_OF, cfg)
    await session.commit()
    assert again["birthday_coupons"] == 0
    assert await _count(session, Coupon) == 1
    assert await _count(session, Message, Message.template_key == "birthday") == 1


async def test_leap_day_birthday_kept_on_28_february(session: AsyncSession) -> None:
    cfg = await _config(session)
    await make_customer(
        session, tier="gold", tier_since=date(2025, 1, 1), birthday=date(1996, 2, 29)
    )
    await session.commit()
    out = await membership_step(session, date(2027, 2, 28), cfg)
    assert out["birthday_coupons"] == 1


async def test_old_qualifiers_get_their_tier_quietly(session: AsyncSession) -> None:
    """A first run over history: a tier earned by orders weeks ago is set, not announced."""
    cfg = await _config(session)
    old = await make_customer(session)
    for day in (1, 5, 9):
        await make_order(session, old, date(2026, 1, day), [], total=Decimal(900))
    fresh = await make_customer(session)
    for day in (1, 5, 9):
        await make_order(session, fresh, date(2026, 3, day), [], total=Decimal(900))
    await session.commit()

    out = await membership_step(session, AS_OF, cfg)
    await session.commit()
    assert (out["upgrades"], out["upgrades_from_history"], out["upgrade_messages"]) == (2, 1, 1)
    await session.refresh(old)
    assert old.tier == "silver"
    event = await session.scalar(
        select(MembershipEvent).where(MembershipEvent.customer_id == old.id)
    )
    assert event is not None and event.reason.endswith("(from history, not announced)")
    assert await _count(session, Message, Message.customer_id == old.id) == 0
    assert await _count(session, Task, Task.customer_id == old.id) == 0
    assert await _count(session, Message, Message.customer_id == fresh.id) == 1
    assert await _count(session, Task, Task.customer_id == fresh.id) == 1


async def test_set_based_upgrades_agree_with_tier_for(session: AsyncSession) -> None:
    """Random shops: every tier after the step is max(tier held, tier_for(orders up to as_of))."""
    cfg = await _config(session)
    rng = random.Random(20261204)
    tiers = cfg.membership.tiers
    expected: dict[int, str] = {}
    held_by: dict[int, str] = {}
    for _ in range(60):
        held = rng.choice(["none", "none", "silver", "gold", "permanent"])
        c = await make_customer(session, tier=held)
        held_by[c.id] = held
        counted, spend = 0, Decimal(0)
        for _ in range(rng.choice([0, 1, 2, 3, 5, 6, 11, 12, 13])):
            total = Decimal(rng.choice([0, 450, 999.99, 1000, 2000.01, 4999.99, 5000, 12000]))
            on = AS_OF + timedelta(days=rng.choice([-400, -40, -3, 0, 0, 2]))
            status = rng.choice(["delivered", "delivered", "pending", "returned", "cancelled"])
            await make_order(session, c, on, [], total=total, status=status)
            if on <= AS_OF and status in ("delivered", "pending"):
                counted, spend = counted + 1, spend + total
        reached = tier_for(counted, spend, tiers)
        expected[c.id] = max(held, reached, key=tier_rank)
    await session.commit()

    out = await membership_step(session, AS_OF, cfg)
    await session.commit()
    got = {cid: tier for cid, tier in (await session.execute(select(Customer.id, Customer.tier)))}
    assert got == expected
    events = await _count(session, MembershipEvent)
    assert out["upgrades"] == events == sum(1 for cid in got if got[cid] != held_by[cid])
    assert await _count(session, Engagement, Engagement.kind == "membership") == events
    again = await membership_step(session, AS_OF, cfg)
    assert again["upgrades"] == 0


async def test_cashback_window_edges(session: AsyncSession) -> None:
    """Orders on as_of and on the first day of the lookback earn; the day before it and the
    days after as_of do not (the bounds are applied per customer, not by the date index)."""
    cfg = await _config(session)
    lookback = cfg.membership.cashback_lookback_days
    c = await make_customer(session, tier="silver", tier_since=date(2025, 1, 1))
    other = await make_customer(session, tier="none", tier_since=date(2025, 1, 1))
    days = {
        "after": AS_OF + timedelta(days=1),
        "as_of": AS_OF,
        "first": AS_OF - timedelta(days=lookback),
        "too_old": AS_OF - timedelta(days=lookback + 1),
    }
    orders = {k: await make_order(session, c, d, [], total=Decimal(1000)) for k, d in days.items()}
    await make_order(session, other, AS_OF, [], total=Decimal(1000))
    await session.commit()
    assert await credit_cashback(session, AS_OF, cfg.membership) == 2
    credited = set((await session.scalars(select(WalletEntry.order_id))).all())
    assert credited == {orders["as_of"].id, orders["first"].id}
