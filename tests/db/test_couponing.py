"""Coupons on both databases: welcome/repeat/referral once, redemption once, bad codes refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.couponing import coupons_step
from core.coupons import CouponRequest, issue_coupons
from core.models import Coupon, CouponRedemption, Message, WalletEntry
from core.shopconfig import ShopConfig, load_applied_config
from core.texts import render
from tests.factories import apply_shop_config, make_customer, make_order


async def _config(session: AsyncSession) -> ShopConfig:
    await apply_shop_config(session)
    await session.commit()
    return await load_applied_config(session)


async def _count(session: AsyncSession, model: type, *where: object) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _step(session: AsyncSession, day: date, cfg: ShopConfig) -> dict[str, int]:
    out = await coupons_step(session, day, cfg)
    await session.commit()
    return out


async def test_welcome_then_repeat_coupons_once_each(session: AsyncSession) -> None:
    cfg = await _config(session)
    c = await make_customer(session)
    veteran = await make_customer(session)  # first order long ago: no welcome on a first run
    await make_order(session, veteran, date(2025, 6, 1), [], total=Decimal(700))
    await make_order(session, c, date(2026, 3, 1), [], total=Decimal(700))
    await session.commit()

    assert (await _step(session, date(2026, 3, 2), cfg))["order_coupons"] == 1
    assert (await _step(session, date(2026, 3, 3), cfg))["order_coupons"] == 0
    welcome = await session.scalar(select(Coupon).where(Coupon.dedupe_key == f"welcome:{c.id}"))
    assert welcome is not None and welcome.code.startswith("WELCOME-")
    message = await session.scalar(select(Message).where(Message.template_key == "welcome_coupon"))
    assert message is not None and message.variables == {"discount": 10, "coupon": welcome.code}
    assert render(cfg.templates.get("welcome_coupon").en, message.variables, "en").endswith(
        f"Your 10% coupon for the next one: {welcome.code}"
    )

    await make_order(session, c, date(2026, 3, 5), [], total=Decimal(700))
    await session.commit()
    assert (await _step(session, date(2026, 3, 6), cfg))["order_coupons"] == 1
    await make_order(session, c, date(2026, 3, 9), [], total=Decimal(700))
    await session.commit()
    assert (await _step(session, date(2026, 3, 10), cfg))["order_coupons"] == 1
    await make_order(session, c, date(2026, 3, 12), [], total=Decimal(700))
    await session.commit()
    assert (await _step(session, date(2026, 3, 13), cfg))["order_coupons"] == 0  # 4th: none

    keys = sorted((await session.scalars(select(Coupon.dedupe_key))).all())
    assert keys == sorted([f"welcome:{c.id}", f"repeat_2:{c.id}", f"repeat_3:{c.id}"])
    assert await _count(session, Message, Message.template_key == "repeat_coupon") == 2


async def test_referrer_rewarded_once_on_first_order(session: AsyncSession) -> None:
    cfg = await _config(session)
    referrer = await make_customer(session)
    referee = await make_customer(session, referred_by_id=referrer.id)
    await session.commit()
    assert (await _step(session, date(2026, 3, 1), cfg))["referral_rewards"] == 0

    await make_order(session, referee, date(2026, 3, 2), [], total=Decimal(900))
    await session.commit()
    assert (await _step(session, date(2026, 3, 3), cfg))["referral_rewards"] == 1
    await make_order(session, referee, date(2026, 3, 4), [], total=Decimal(900))
    await session.commit()
    assert (await _step(session, date(2026, 3, 5), cfg))["referral_rewards"] == 0

    entry = await session.scalar(select(WalletEntry))
    assert entry is not None
    assert (entry.customer_id, entry.kind, entry.amount) == (referrer.id, "referral", Decimal(100))
    message = await session.scalar(select(Message).where(Message.template_key == "referral_reward"))
    assert message is not None and message.customer_id == referrer.id
    assert render(cfg.templates.get("referral_reward").bn, message.variables, "bn").endswith(
        "আপনার ওয়ালেটে ৳১০০ যোগ হয়েছে।"
    )


async def test_redemption_recorded_once(session: AsyncSession) -> None:
    cfg = await _config(session)
    c = await make_customer(session)
    [issued] = (
        await issue_coupons(session, "welcome", [CouponRequest("t:1", c.id)], date(2026, 3, 1))
    ).values()
    order = await make_order(
        session, c, date(2026, 3, 4), [], total=Decimal(900), coupon_code=issued.code.lower()
    )
    await session.commit()

    out = await _step(session, date(2026, 3, 5), cfg)
    assert out["redeemed"] == 1 and out["redemptions_refused"] == 0
    again = await _step(session, date(2026, 3, 6), cfg)
    assert again["redeemed"] == 0 and again["redemptions_refused"] == 0
    redemption = await session.scalar(select(CouponRedemption))
    assert redemption is not None and redemption.order_id == order.id
    coupon = await session.scalar(select(Coupon).where(Coupon.code == issued.code))
    assert coupon is not None and coupon.times_used == 1


async def test_bad_codes_reported_not_redeemed(session: AsyncSession) -> None:
    cfg = await _config(session)
    c = await make_customer(session)
    other = await make_customer(session)
    issued = await issue_coupons(
        session,
        "birthday",  # valid 14 days: 1–14 March
        [CouponRequest("t:old", c.id), CouponRequest("t:mine", c.id)],
        date(2026, 3, 1),
    )
    expired, mine = issued["t:old"].code, issued["t:mine"].code
    await make_order(session, c, date(2026, 3, 16), [], total=Decimal(900), coupon_code=expired)
    await make_order(session, c, date(2026, 3, 16), [], total=Decimal(900), coupon_code="NOPE-1")
    await make_order(session, other, date(2026, 3, 10), [], total=Decimal(900), coupon_code=mine)
    await make_order(session, c, date(2026, 3, 10), [], total=Decimal(900), coupon_code=mine)
    await make_order(session, c, date(2026, 3, 11), [], total=Decimal(900), coupon_code=mine)
    await session.commit()

    out = await _step(session, date(2026, 3, 17), cfg)
    assert out["redeemed"] == 1
    assert (out["refused_expired"], out["refused_unknown_code"]) == (1, 1)
    assert (out["refused_not_owner"], out["refused_used_up"]) == (1, 1)
    assert await _count(session, CouponRedemption) == 1
    used = await session.scalar(select(Coupon.times_used).where(Coupon.code == expired))
    assert used == 0


async def test_referral_code_on_a_first_order_names_the_referrer(session: AsyncSession) -> None:
    cfg = await _config(session)
    referrer = await make_customer(session)
    newcomer = await make_customer(session)
    [code] = [
        i.code
        for i in (
            await issue_coupons(
                session, "referral", [CouponRequest("t:ref", referrer.id)], date(2026, 3, 1)
            )
        ).values()
    ]
    await make_order(session, newcomer, date(2026, 3, 3), [], total=Decimal(900), coupon_code=code)
    await session.commit()

    out = await _step(session, date(2026, 3, 4), cfg)
    assert out["redeemed"] == 1 and out["referral_rewards"] == 1
    await session.refresh(newcomer)
    assert newcomer.referred_by_id == referrer.id
    balance = await session.scalar(
        select(func.sum(WalletEntry.amount)).where(WalletEntry.customer_id == referrer.id)
    )
    assert Decimal(str(balance)) == Decimal(100)


async def test_issuing_again_returns_the_earlier_coupon_and_adds_only_new_ones(
    session: AsyncSession,
) -> None:
    await _config(session)
    a, b = await make_customer(session), await make_customer(session)
    first = await issue_coupons(session, "welcome", [CouponRequest("t:a", a.id)], date(2026, 3, 1))
    again = await issue_coupons(
        session,
        "welcome",
        [CouponRequest("t:a", a.id), CouponRequest("t:b", b.id)],
        date(2026, 3, 2),
    )
    assert again["t:a"] == first["t:a"]  # same code, the first day's validity
    assert again["t:b"].code != first["t:a"].code
    assert again["t:b"].valid_until > first["t:a"].valid_until
    assert await _count(session, Coupon) == 2
