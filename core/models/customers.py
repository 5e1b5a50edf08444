"""Customers with their CDM fields, consent ledger, segment history and predictions."""

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
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigId, Json, UTCDateTime, utcnow

CUSTOMER_TYPES = ("new", "repeat", "vip", "inactive")
LIFECYCLE_STAGES = ("prospect", "new", "active", "at_risk", "churned")
PRIORITY_LEVELS = ("hot", "warm", "cold")
TIERS = ("none", "silver", "gold", "permanent")


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_agent", "assigned_agent_id"),
        Index("ix_customers_last_order", "last_order_date"),
        # room on each page for a new version of its rows: segment changes and tier upgrades
        # stay on the page without new index entries (migration 0003_customers_hot_updates)
        {"postgresql_with": {"fillfactor": 50}},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)  # E.164
    name: Mapped[str] = mapped_column(String(200), default="")
    customer_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    district: Mapped[str | None] = mapped_column(String(100))
    city: Mapped[str | None] = mapped_column(String(100))
    birthday: Mapped[date | None] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(2), default="bn")
    referred_by_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # consent and reachability
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=True)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    whatsapp_status: Mapped[str] = mapped_column(
        String(16), default="unknown"
    )  # unknown/yes/no/blocked
    phone_valid: Mapped[bool] = mapped_column(Boolean, default=True)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # opens the 24 h window
    marketing_paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # derived CDM fields (refreshed by ingest and the segmentation job)
    first_order_date: Mapped[date | None] = mapped_column(Date)
    last_order_date: Mapped[date | None] = mapped_column(Date)
    order_count: Mapped[int] = mapped_column(Integer, default=0)
    total_spend: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    avg_days_between_orders: Mapped[float | None] = mapped_column(Float)
    customer_type: Mapped[str] = mapped_column(String(16), default="new")
    lifecycle_stage: Mapped[str] = mapped_column(String(16), default="prospect")
    priority_level: Mapped[str] = mapped_column(String(8), default="warm")
    segments_as_of: Mapped[date | None] = mapped_column(Date)
    tier: Mapped[str] = mapped_column(String(16), default="none")
    tier_since: Mapped[date | None] = mapped_column(Date)
    assigned_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))


class ConsentEvent(Base):
    """Append-only ledger of opt-ins and opt-outs."""

    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_events_customer", "customer_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(16))  # opt_in / opt_out
    channel: Mapped[str] = mapped_column(String(16), default="all")  # all/whatsapp/sms
    source: Mapped[str] = mapped_column(String(32))  # import, inbound, agent, api
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    detail: Mapped[str | None] = mapped_column(String(500))


class SegmentTransition(Base):
    """A customer's segment field changed on a date (rules or model caused it)."""

    __tablename__ = "segment_transitions"
    __table_args__ = (
        UniqueConstraint("customer_id", "field", "transition_date"),
        Index("ix_segment_transitions_date", "transition_date"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    field: Mapped[str] = mapped_column(String(32))  # customer_type/lifecycle_stage/priority_level
    from_value: Mapped[str | None] = mapped_column(String(16))
    to_value: Mapped[str] = mapped_column(String(16))
    transition_date: Mapped[date] = mapped_column(Date)
    cause: Mapped[str] = mapped_column(String(16), default="rules")  # rules / model


class PredictionModel(Base):
    """One fit (or a recorded refusal to fit) of the BG/NBD and Gamma-Gamma models."""

    __tablename__ = "prediction_models"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    fitted_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # fitted / too_thin / failed
    reason: Mapped[str | None] = mapped_column(String(500))
    params: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    diagnostics: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomerPrediction(Base):
    """The latest score of a customer under the latest fitted model.

    A cache the predictions step upserts for every scored customer each day, from their
    orders: `customer_id` carries no foreign key (its per-row check and row lock on the
    customer cost the first scoring on PostgreSQL a third of its time; migration 0004), and on
    PostgreSQL the table keeps half of each page free so the daily rewrite stays on the page.
    """

    __tablename__ = "customer_predictions"
    __table_args__ = ({"postgresql_with": {"fillfactor": 50}},)

    customer_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    as_of: Mapped[date] = mapped_column(Date)
    model_id: Mapped[int] = mapped_column(ForeignKey("prediction_models.id"))
    p_alive: Mapped[float] = mapped_column(Float)
    expected_orders_30: Mapped[float] = mapped_column(Float)
    expected_orders_90: Mapped[float] = mapped_column(Float)
    expected_order_value: Mapped[float | None] = mapped_column(Float)
    clv_12m: Mapped[float | None] = mapped_column(Float)
    prev_p_alive: Mapped[float | None] = mapped_column(Float)
