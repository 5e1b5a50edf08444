"""Cross-sell rules, campaigns, coupons, the wallet ledger and membership events."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigId, Json, UTCDateTime, utcnow


class CouponRule(Base):
    __tablename__ = "coupon_rules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(
        String(16)
    )  # welcome/repeat/winback/referral/birthday/campaign
    code_prefix: Mapped[str] = mapped_column(String(32))
    discount_pct: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    discount_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    min_order_value: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    valid_days: Mapped[int] = mapped_column(Integer, default=30)
    usage_limit: Mapped[int] = mapped_column(Integer, default=1)
    params: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Coupon(Base):
    __tablename__ = "coupons"
    __table_args__ = (Index("ix_coupons_customer", "customer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("coupon_rules.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    issued_on: Mapped[date] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    usage_limit: Mapped[int] = mapped_column(Integer, default=1)
    times_used: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CouponRedemption(Base):
    __tablename__ = "coupon_redemptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    redeemed_on: Mapped[date] = mapped_column(Date)


class RecommendationRule(Base):
    """IF a customer bought the trigger THEN, within a window of days, offer the recommendation."""

    __tablename__ = "recommendation_rules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    trigger_product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    trigger_category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    recommended_product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    recommended_category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    min_days_passed: Mapped[int] = mapped_column(Integer)
    max_days_passed: Mapped[int] = mapped_column(Integer)
    min_order_value: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str] = mapped_column(String(16), default="whatsapp")
    coupon_rule_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_rules.id"))
    template_key: Mapped[str] = mapped_column(String(64), default="cross_sell")
    success_window_days: Mapped[int] = mapped_column(Integer, default=14)
    success_rate: Mapped[float | None] = mapped_column(Float)
    success_measured_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Campaign(Base):
    """One of the twelve monthly offers."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    month: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    name_bn: Mapped[str | None] = mapped_column(String(200))
    target: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)  # CDM filters
    channel: Mapped[str] = mapped_column(String(16), default="whatsapp")
    template_key: Mapped[str] = mapped_column(String(64))
    coupon_rule_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_rules.id"))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    primary_kpi: Mapped[str] = mapped_column(String(100))
    holdout_pct: Mapped[float] = mapped_column(Float, default=5.0)
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    launched_on: Mapped[date | None] = mapped_column(Date)  # the cadence date that launched it
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled/launched/ended


class CampaignMember(Base):
    """A customer targeted by a campaign, or kept back in its holdout."""

    __tablename__ = "campaign_members"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    holdout: Mapped[bool] = mapped_column(Boolean, default=False)
    followup_date: Mapped[date | None] = mapped_column(Date)


class WalletEntry(Base):
    """Append-only wallet/cashback ledger: the balance is the sum of amounts."""

    __tablename__ = "wallet_ledger"
    __table_args__ = (Index("ix_wallet_ledger_customer", "customer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    kind: Mapped[str] = mapped_column(String(16))  # cashback/referral/redeem/adjust
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    entry_date: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MembershipEvent(Base):
    __tablename__ = "membership_events"
    __table_args__ = (Index("ix_membership_events_customer", "customer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    from_tier: Mapped[str] = mapped_column(String(16))
    to_tier: Mapped[str] = mapped_column(String(16))
    event_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
