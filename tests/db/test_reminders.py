"""The reminder step on both databases: the seed's text, suppression, late touch, baskets, rhythm."""

from __future__ import annotations

import asyncio
import itertools
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.consumption import Profile, consumption_days, next_reminder_date
from core.customers_aggregates import refresh_customer_aggregates
from core.db import make_engine, make_session_factory
from core.models import (
    ConsumptionProfile,
    Coupon,
    Message,
    OrderLine,
    Product,
    Reminder,
    Task,
)
from core.reminders import due_items, reminders_step
from core.texts import render
from tests.factories import (
    apply_shop_config,
    make_agent,
    make_customer,
    make_order,
    make_product,
    utc,
)

MARCH = date(2026, 3, 1)
SEED_RICE = (
    "আসসালামু আলাইকুম, আপনার আগের চাল প্রায় শেষ হওয়ার কথা। আজ অর্ডার দিলে ডেলিভারি "
    "দ্রুত পাবেন। আপনি কি আবার ৫ কেজি নেবেন?"
)


async def catalogue(session: AsyncSession) -> dict[str, Product]:
    return {
        "rice": await make_product(
            session, category="rice", name="Miniket rice 5 kg", name_bn="মিনিকেট চাল ৫ কেজি"
        ),
        "rice2": await make_product(session, category="rice", name="Nazirshail rice 5 kg"),
        "oil": await make_product(session, category="oil", pack_size=Decimal(1), unit="l"),
        "turmeric": await make_product(session, category="spices", pack_size=200, unit="g"),
        "chili": await make_product(session, category="spices", pack_size=200, unit="g"),
        "honey": await make_product(session, category="honey", pack_size=500, unit="g"),
    }


async def rows(session: AsyncSession, model: type) -> list:
    return list((await session.scalars(select(model).order_by(model.id))).all())


async def test_seed_rice_reminder_is_due_on_23_march_and_sent_once(session):
    cfg = await apply_shop_config(session)
    p = await catalogue(session)
    c = await make_customer(session)
    await make_order(session, c, MARCH, [(p["rice"], 5)])

    assert (await reminders_step(session, date(2026, 3, 22), cfg))["baskets"] == 0
    counts = await reminders_step(session, date(2026, 3, 23), cfg)
    assert counts["baskets"] == 1 and counts["messages"] == 1

    (msg,) = await rows(session, Message)
    assert (msg.template_key, msg.channel, msg.dedupe_key) == (
        "reminder",
        "whatsapp",
        f"reminder-basket:{c.id}:2026-03-23",
    )
    assert render(cfg.templates.get("reminder").bn, msg.variables, "bn") == SEED_RICE
    (rem,) = await rows(session, Reminder)
    assert (rem.due_date, rem.consumption_days, rem.confidence, rem.kind) == (
        date(2026, 3, 23),
        27,
        "profile",
        "due",
    )
    # the same day again and the next days add nothing
    for day in (date(2026, 3, 23), date(2026, 3, 24), date(2026, 3, 26)):
        again = await reminders_step(session, day, cfg)
        assert again["baskets"] == again["messages"] == again["recorded"] == 0
    assert len(await rows(session, Message)) == 1


async def test_repurchase_suppresses_the_older_reminder(session):
    cfg = await apply_shop_config(session)
    p = await catalogue(session)
    c = await make_customer(session)
    await make_order(session, c, MARCH, [(p["rice"], 5)])
    await make_order(session, c, date(2026, 3, 20), [(p["rice"], 10)])
    assert (await reminders_step(session, date(2026, 3, 23), cfg))["baskets"] == 0
    # 10 kg lasts 54 days, buffer 5: due 20 March + 49 = 8 May
    items, _ = await due_items(session, date(2026, 3, 23), cfg, window_only=False)
    assert [(i.purchase_date, i.due_date) for i in items] == [(date(2026, 3, 20), date(2026, 5, 8))]


async def test_substitute_in_same_category_suppresses_but_other_spices_do_not(session):
    cfg = await apply_shop_config(session)
    p = await catalogue(session)
    c = await make_customer(session)
    await make_order(session, c, MARCH, [(p["rice"], 5), (p["turmeric"], 200)])
    # rice is a substitute category: another rice counts; chili does not replace turmeric
    await make_order(session, c, date(2026, 3, 15), [(p["rice2"], 5), (p["chili"], 200)])
    await reminders_step(session, date(2026, 3, 23), cfg)
    assert await rows(session, Reminder) == []
    await reminders_step(session, date(2026, 3, 29), cfg)  # turmeric: 1 March + 28
    reminded = [(r.product_id, r.due_date) for r in await rows(session, Reminder)]
    assert reminded == [(p["turmeric"].id, date(2026, 3, 29))]


async def test_late_touch_goes_out_once(session):
    cfg = await apply_shop_config(session)
    p = await catalogue(session)
    c = await make_customer(session)
    await make_order(session, c, MARCH, [(p["rice"], 5)])
    await reminders_step(session, date(2026, 3, 23), cfg)
    assert (await reminders_step(session, date(2026, 3, 29), cfg))["late_touches"] == 0
    late = await reminders_step(session, date(2026, 3, 30), cfg)  # 7 days past due
    assert late["late_touches"] == 1 and late["messages"] == 1
    for day in (date(2026, 3, 30), date(2026, 3, 31), date(2026, 4, 5)):
        assert (await reminders_step(session, day, cfg))["late_touches"] == 0
    kinds = [(m.template_key, m.dedupe_key) for m in await rows(session, Message)]
    assert kinds == [
        ("reminder", f"reminder-basket:{c.id}:2026-03-23"),
        ("late_touch", f"reminder-late:{c.id}:2026-03-30"),
    ]
    msg = (await rows(session, Message))[1]
    assert msg.variables == {"product": "চাল"}


async def test_a_late_touch_goes_out_within_its_grace_and_never_after(session):
    """The first run over old purchases: late-touched only within 3 days after their late day."""
    cfg = await apply_shop_config(session)
    assert cfg.consumption.late_touch_until_days == 7 + 3
    p = await catalogue(session)
    within, past = await make_customer(session), await make_customer(session)
    await make_order(session, within, MARCH, [(p["rice"], 5)])  # due 23 March: 9 days past
    await make_order(session, past, MARCH - timedelta(days=1), [(p["rice"], 5)])  # 10 days past
    counts = await reminders_step(session, date(2026, 4, 1), cfg)
    assert (counts["late_touches"], counts["baskets"]) == (1, 0)
    assert [(r.customer_id, r.kind) for r in await rows(session, Reminder)] == [(within.id, "late")]


async def test_repurchase_before_the_late_touch_cancels_it(session):
    cfg = await apply_shop_config(session)
    p = await catalogue(session)
    c = await make_customer(session)
    await make_order(session, c, MARCH, [(p["rice"], 5)])
    await reminders_step(session, date(2026, 3, 23), cfg)
    await make_order(session, c, date(2026, 3, 25), [(p["rice"], 5)])
    assert (await reminders_step(session, date(2026, 3, 30), cfg))["late_touches"] == 0


async def test_products_due_within_three_days_make_one_basket(session):
    cfg = await apply_shop_config(session)
    p = await catalogue(session)
    c = await make_customer(session)
    await make_order(session, c, MARCH, [(p["rice"], 5), (p["honey"], 500)])  # 23 Mar, 10 Apr
    await make_order(session, c, date(2026, 3, 6), [(p["oil"], 1)])  # due 24 March
    await make_order(session, c, date(2026, 2, 28), [(p["turmeric"], 200)])  # due 28 March
    await make_order(session, c, date(2026, 2, 25), [(p["chili"], 200)])  # due 25 March

    counts = await reminders_step(session, date(2026, 3, 23), cfg)
    assert (counts["baskets"], counts["reminded_lines"], counts["messages"]) == (1, 3, 1)
    (msg,) = await rows(session, Message)
    assert msg.template_key == "reminder_basket"
    assert msg.variables == {"items": "চাল (৫ কেজি), তেল (১ লিটার) ও মশলা (২০০ গ্রাম)"}
    basket = {r.product_id for r in await rows(session, Reminder)}
    assert basket == {p["rice"].id, p["oil"].id, p["chili"].id}
    # the items already in the basket do not come back; turmeric (28 March) gets its own
    assert (await reminders_step(session, date(2026, 3, 25), cfg))["baskets"] == 0
    later = await reminders_step(session, date(2026, 3, 28), cfg)
    assert (later["baskets"], later["reminded_lines"]) == (1, 1)


async def test_channels_hot_call_cold_sms_opted_out_nothing(session):
    cfg = await apply_shop_config(session)
    p = await catalogue(session)
    await make_agent(session, daily_capacity=40)
    hot = await make_customer(session, priority_level="hot", name="Rahima")
    cold = await make_customer(session, priority_level="cold")
    gone = await make_customer(session, priority_level="hot", opted_out_at=utc(MARCH))
    no_wa = await make_customer(session, whatsapp_status="no")
    for c in (hot, cold, gone, no_wa):
        await make_order(session, c, MARCH, [(p["rice"], 5)])
    counts = await reminders_step(session, date(2026, 3, 23), cfg)
    assert counts["baskets"] == 3 and counts["tasks"] == 2  # hot + warm within spare capacity

    tasks = {t.customer_id: t for t in await rows(session, Task)}
    assert set(tasks) == {hot.id, no_wa.id}
    task = tasks[hot.id]
    assert task.type == "reminder_call" and task.script_key == "script_reminder_call"
    assert task.reason_bn == (
        "মিনিকেট চাল ৫ কেজি কিনেছেন ১ মার্চ; শেষ হওয়ার কথা ২৮ মার্চ (সাধারণ হিসাব)"
    )  # the pack size in the product's name is not repeated
    assert task.reason_en.startswith("Bought Miniket rice 5 kg on 1 March")
    assert task.suggestion["products"][0]["sku"] == p["rice"].sku
    assert task.suggestion["confidence"] == "profile"
    assert task.priority > tasks[no_wa.id].priority

    msgs = {m.customer_id: m for m in await rows(session, Message)}
    assert gone.id not in msgs
    assert (msgs[hot.id].channel, msgs[hot.id].task_id) == ("whatsapp", task.id)
    assert (msgs[no_wa.id].channel, msgs[no_wa.id].template_key) == ("sms", "reminder")
    coupon = await session.scalar(select(Coupon).where(Coupon.customer_id == cold.id))
    assert coupon is not None and coupon.code.startswith("WELCOME_BACK-")
    assert (msgs[cold.id].channel, msgs[cold.id].template_key) == ("sms", "reminder_offer")
    assert msgs[cold.id].variables["coupon"] == coupon.code


async def test_warm_calls_need_spare_capacity(session):
    cfg = await apply_shop_config(session)
    p = await catalogue(session)
    await make_agent(session, daily_capacity=3)  # 30 % reserve = 1, so 2 calls at most
    warm = [await make_customer(session, total_spend=Decimal(100 * i)) for i in range(1, 5)]
    for c in warm:
        await make_order(session, c, MARCH, [(p["rice"], 5)], refresh=False)
    counts = await reminders_step(session, date(2026, 3, 23), cfg)
    assert counts["baskets"] == 4 and counts["tasks"] == 2
    called = {t.customer_id for t in await rows(session, Task)}
    assert called == {warm[3].id, warm[2].id}  # the two most valuable


async def test_learned_rhythm_moves_the_date(session):
    cfg = await apply_shop_config(session)
    p = await catalogue(session)
    c = await make_customer(session)
    for day in (date(2026, 1, 1), date(2026, 1, 16), date(2026, 1, 31), date(2026, 2, 15)):
        await make_order(session, c, day, [(p["rice"], 5)])
    # intervals 15, 15, 15 → weight 0.6: 0.6 × 15 + 0.4 × 27 = 19.8 → 20 days, due 15 Feb + 15
    items, _ = await due_items(session, date(2026, 3, 2), cfg, window_only=False)
    (item,) = items
    assert (item.consumption_days, item.confidence, item.due_date) == (
        20,
        "medium",
        date(2026, 3, 2),
    )
    counts = await reminders_step(session, date(2026, 3, 2), cfg)
    assert counts["baskets"] == 1


async def test_same_day_purchases_the_newest_order_and_line_counts(session):
    """Ties on the date: the latest order, and in it the last line of the key (rice and rice2
    substitute each other), is the purchase that counts — in today's window and in the whole
    lookback alike."""
    cfg = await apply_shop_config(session)
    p = await catalogue(session)
    c = await make_customer(session)
    as_of = date(2026, 6, 30)
    day = as_of - timedelta(days=49)  # 10 kg of rice: 54 days, buffer 5 → due today
    await make_order(session, c, day, [(p["rice"], 5)])
    later = await make_order(session, c, day, [(p["rice"], 5), (p["rice2"], 10)])
    await make_order(session, c, day - timedelta(days=3), [(p["rice2"], 10)])
    lines = await session.scalars(
        select(OrderLine.id).where(OrderLine.order_id == later.id).order_by(OrderLine.line_no)
    )
    newest = list(lines)[-1]
    window, _ = await due_items(session, as_of, cfg)
    everything, _ = await due_items(session, as_of, cfg, window_only=False)
    assert [(i.order_line_id, i.due_date) for i in window] == [(newest, as_of)]
    assert [(i.order_line_id, i.due_date) for i in everything] == [(newest, as_of)]


# --- the SQL batch and the pure function agree --------------------------------------------

_customer_no = itertools.count(1)
purchase = st.tuples(
    st.sampled_from(["rice", "oil", "turmeric", "honey"]),
    st.integers(min_value=0, max_value=399),  # days before as_of (lookback 400)
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal(30), places=3),  # packs
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(purchases=st.lists(purchase, min_size=1, max_size=12))
def test_sql_and_pure_function_agree(database_url, purchases):
    asyncio.run(_agree(database_url, purchases))


async def _agree(url: str, purchases: list[tuple[str, int, Decimal]]) -> None:
    engine = make_engine(url)
    as_of = date(2026, 6, 30)
    try:
        async with make_session_factory(engine)() as session:
            cfg = await apply_shop_config(session)
            products = {
                code: await make_product(
                    session,
                    category={"turmeric": "spices"}.get(code, code),
                    pack_size={"rice": 5, "oil": 1, "turmeric": 200, "honey": 500}[code],
                    unit={"rice": "kg", "oil": "l", "turmeric": "g", "honey": "g"}[code],
                )
                for code in ("rice", "oil", "turmeric", "honey")
            }
            expected = {}
            for code, ago, packs in purchases:
                # one customer per purchase: each is its own latest purchase
                c = await make_customer(session, phone=f"+88019{next(_customer_no):08d}")
                product = products[code]
                qty = packs * product.pack_size
                await make_order(session, c, as_of - timedelta(days=ago), [(product, qty)])
                prof = await session.scalar(
                    select(ConsumptionProfile).where(
                        ConsumptionProfile.category_id == product.category_id
                    )
                )
                profile = Profile(
                    prof.avg_consumption_days,
                    prof.buffer_days,
                    prof.min_days,
                    prof.max_days,
                    prof.reference_quantity,
                )
                factor = {"kg": 1000, "l": 1000}.get(product.unit, 1)
                days = consumption_days(profile, qty * factor)
                expected[c.id] = next_reminder_date(
                    as_of - timedelta(days=ago), days, profile.buffer_days
                )
            items, _ = await due_items(session, as_of, cfg, window_only=False)
            got = {i.customer_id: i.due_date for i in items if i.customer_id in expected}
            assert got == expected
            await session.rollback()
    finally:
        await engine.dispose()


# --- today's window query finds what the whole-lookback ranking finds -----------------------

history = st.tuples(
    st.integers(min_value=0, max_value=2),  # which of three customers
    st.sampled_from(["rice", "rice2", "oil", "turmeric", "honey"]),
    st.integers(min_value=0, max_value=420),  # days before as_of: some beyond the lookback
    st.sampled_from(["delivered", "delivered", "pending", "cancelled", "returned"]),
    st.integers(min_value=1, max_value=3),  # packs
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(purchases=st.lists(history, min_size=1, max_size=16))
# a learned rhythm from purchases older than the ranked horizon (the profile alone: 14 days late)
@example(purchases=[(0, "rice", ago, "delivered", 1) for ago in (300, 250, 200, 36)])
# the same, a cancelled order does not count towards the rhythm
@example(
    purchases=[
        (0, "rice", ago, st, 1)
        for ago, st in (
            (300, "cancelled"),
            (250, "delivered"),
            (200, "delivered"),
            (36, "delivered"),
        )
    ]
)
def test_window_query_agrees_with_the_whole_lookback(database_url, purchases):
    asyncio.run(_window_agrees(database_url, purchases))


async def _window_agrees(url: str, purchases: list[tuple[int, str, int, str, int]]) -> None:
    engine = make_engine(url)
    as_of = date(2026, 6, 30)
    cc_window = (3, 10)  # basket_window_days, late_touch_until_days of the shop config
    try:
        async with make_session_factory(engine)() as session:
            cfg = await apply_shop_config(session)
            assert (cfg.consumption.basket_window_days, cfg.consumption.late_touch_until_days) == (
                cc_window
            )
            p = await catalogue(session)
            customers = [
                await make_customer(session, phone=f"+88017{next(_customer_no):08d}")
                for _ in range(3)
            ]
            for who, code, ago, status, packs in purchases:
                product = p[code]
                await make_order(
                    session,
                    customers[who],
                    as_of - timedelta(days=ago),
                    [(product, packs * product.pack_size)],
                    status=status,
                    refresh=False,
                )
            # as every writer of orders does (the window's query reads customers' order counts)
            await refresh_customer_aggregates(session, [c.id for c in customers])
            window, _ = await due_items(session, as_of, cfg)
            everything, _ = await due_items(session, as_of, cfg, window_only=False)
            early, late = cc_window
            expected = {
                (i.order_line_id, i.due_date, i.consumption_days, i.confidence)
                for i in everything
                if -early <= (as_of - i.due_date).days < late
            }
            got = {(i.order_line_id, i.due_date, i.consumption_days, i.confidence) for i in window}
            assert got == expected
            await session.rollback()
    finally:
        await engine.dispose()
