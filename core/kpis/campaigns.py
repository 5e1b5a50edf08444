"""Campaign KPIs against the holdout: delivery, response, conversion, coupon redemption, errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.kpis.messages import FAILED_STATUSES, status_counts
from core.kpis.results import JsonResult
from core.kpis.sql import COUNTED, ratio
from core.models import (
    Campaign,
    CampaignMember,
    Coupon,
    CouponRedemption,
    Engagement,
    Message,
    Order,
)


@dataclass(frozen=True)
class CampaignPerformance(JsonResult):
    campaign_id: int
    key: str
    name: str
    name_bn: str | None
    status: str
    start_date: date
    end_date: date
    window_end: date  # the earlier of end_date and as_of
    targeted: int  # members not in the holdout
    holdout: int  # members kept back
    queued: int  # the campaign's messages, by status (see core.kpis.messages)
    sent: int
    delivered: int
    read: int
    failed: int
    delivery_rate: float  # delivered / sent
    replied: int  # the campaign's messages with at least one inbound reply
    response_rate: float  # replied / delivered
    converted: int  # targeted members with a counted order in start_date..window_end
    conversion_rate: float  # converted / targeted
    holdout_converted: int
    holdout_conversion_rate: float  # holdout_converted / holdout
    uplift: float | None  # conversion_rate − holdout_conversion_rate (None without a holdout)
    coupons_issued: int  # coupons of the campaign issued on or before as_of
    coupons_redeemed: int  # of those, redeemed (a coupon_redemptions row) on or before as_of
    redemption_rate: float  # coupons_redeemed / coupons_issued
    errors: dict[str, int]  # failed messages by Twilio error code ("unknown" without one)


async def _grouped(session: AsyncSession, stmt: Any) -> dict[Any, tuple[int, ...]]:
    """Run a grouped aggregate whose first column is the key; the rest become a tuple of ints."""
    return {row[0]: tuple(int(v or 0) for v in row[1:]) for row in (await session.execute(stmt))}


async def campaign_report(
    session: AsyncSession, as_of: date, lookback_days: int = 365
) -> list[CampaignPerformance]:
    """Each campaign started by as_of and not ended more than lookback_days before it, newest first."""
    campaigns = (
        await session.scalars(
            select(Campaign)
            .where(
                Campaign.start_date <= as_of,
                Campaign.end_date >= as_of - timedelta(days=lookback_days),
            )
            .order_by(Campaign.start_date.desc(), Campaign.id)
        )
    ).all()
    if not campaigns:
        return []
    ids = [c.id for c in campaigns]
    holdout = CampaignMember.holdout.is_(True)

    members = await _grouped(
        session,
        select(
            CampaignMember.campaign_id,
            func.sum(case((holdout, 0), else_=1)),
            func.sum(case((holdout, 1), else_=0)),
        )
        .where(CampaignMember.campaign_id.in_(ids))
        .group_by(CampaignMember.campaign_id),
    )

    bought_in_window = (
        select(Order.id)
        .where(
            Order.customer_id == CampaignMember.customer_id,
            Order.status.in_(COUNTED),
            Order.order_date >= Campaign.start_date,
            Order.order_date <= Campaign.end_date,
            Order.order_date <= as_of,
        )
        .exists()
    )
    conversions = await _grouped(
        session,
        select(
            CampaignMember.campaign_id,
            func.sum(case((bought_in_window & ~holdout, 1), else_=0)),
            func.sum(case((bought_in_window & holdout, 1), else_=0)),
        )
        .join(Campaign, Campaign.id == CampaignMember.campaign_id)
        .where(CampaignMember.campaign_id.in_(ids))
        .group_by(CampaignMember.campaign_id),
    )

    funnel = await _grouped(
        session,
        select(Message.campaign_id, *status_counts())
        .where(Message.campaign_id.in_(ids), Message.queued_on <= as_of)
        .group_by(Message.campaign_id),
    )
    replies = await _grouped(
        session,
        select(Message.campaign_id, func.count(func.distinct(Engagement.message_id)))
        .join(Message, Message.id == Engagement.message_id)
        .where(
            Message.campaign_id.in_(ids),
            Engagement.direction == "in",
            Engagement.occurred_on <= as_of,
        )
        .group_by(Message.campaign_id),
    )

    redeemed = (
        select(CouponRedemption.id)
        .where(CouponRedemption.coupon_id == Coupon.id, CouponRedemption.redeemed_on <= as_of)
        .exists()
    )
    coupons = await _grouped(
        session,
        select(Coupon.campaign_id, func.count(), func.sum(case((redeemed, 1), else_=0)))
        .where(Coupon.campaign_id.in_(ids), Coupon.issued_on <= as_of)
        .group_by(Coupon.campaign_id),
    )

    errors: dict[int | None, dict[str, int]] = {cid: {} for cid in ids}
    error_rows = await session.execute(
        select(Message.campaign_id, Message.error_code, func.count())
        .where(
            Message.campaign_id.in_(ids),
            Message.queued_on <= as_of,
            Message.status.in_(FAILED_STATUSES),
        )
        .group_by(Message.campaign_id, Message.error_code)
    )
    for cid, code, n in error_rows:
        errors[cid][code or "unknown"] = int(n)

    report = []
    for c in campaigns:
        targeted, held = members.get(c.id, (0, 0))
        converted, held_converted = conversions.get(c.id, (0, 0))
        queued, sent, delivered, read, failed = funnel.get(c.id, (0, 0, 0, 0, 0))
        (replied,) = replies.get(c.id, (0,))
        issued, used = coupons.get(c.id, (0, 0))
        conversion = ratio(converted, targeted)
        held_conversion = ratio(held_converted, held)
        report.append(
            CampaignPerformance(
                campaign_id=c.id,
                key=c.key,
                name=c.name,
                name_bn=c.name_bn,
                status=c.status,
                start_date=c.start_date,
                end_date=c.end_date,
                window_end=min(c.end_date, as_of),
                targeted=targeted,
                holdout=held,
                queued=queued,
                sent=sent,
                delivered=delivered,
                read=read,
                failed=failed,
                delivery_rate=ratio(delivered, sent),
                replied=replied,
                response_rate=ratio(replied, delivered),
                converted=converted,
                conversion_rate=conversion,
                holdout_converted=held_converted,
                holdout_conversion_rate=held_conversion,
                uplift=conversion - held_conversion if held else None,
                coupons_issued=issued,
                coupons_redeemed=used,
                redemption_rate=ratio(used, issued),
                errors=dict(sorted(errors[c.id].items())),
            )
        )
    return report
