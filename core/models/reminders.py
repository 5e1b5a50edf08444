"""Which purchase lines were reminded: one row per line and kind, so no purchase is reminded twice."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigId, UTCDateTime, utcnow


class Reminder(Base):
    """A purchase line that went into a reminder (kind due) or a late touch (kind late)."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("order_line_id", "kind"),
        Index("ix_reminders_sent_on", "sent_on"),
        Index("ix_reminders_customer", "customer_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)  # reminder:{c}:{p}:{line}
    kind: Mapped[str] = mapped_column(String(8))  # due / late
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"))
    purchase_date: Mapped[date] = mapped_column(Date)
    consumption_days: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    confidence: Mapped[str] = mapped_column(String(8))  # profile/low/medium/high
    sent_on: Mapped[date] = mapped_column(Date)  # the cadence date that reminded it
    channel: Mapped[str] = mapped_column(String(16))  # call / whatsapp / sms / none
    basket_key: Mapped[str] = mapped_column(String(200))  # dedupe_key of its task / message
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReminderSchedule(Base):
    """When the reminder step must next look at a customer, and what it saw of them then.

    `next_check` is the earliest date on which the customer's purchases could produce a reminder
    or a late touch (NULL: none without a new order); the flags and the order count are compared
    each day with the customer's current ones, so a change re-evaluates them.

    A cache the step rewrites (every row on a FULL run), always from a join with customers:
    `customer_id` carries no foreign key, whose per-row check and row lock on the customer
    cost a FULL run on PostgreSQL more than the rows themselves (migration 0004). Customers
    are never deleted; a row without its customer would only be joined to nothing.
    """

    __tablename__ = "reminder_schedule"
    __table_args__ = (Index("ix_reminder_schedule_next_check", "next_check"),)

    customer_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    next_check: Mapped[date | None] = mapped_column(Date)
    evaluated_on: Mapped[date] = mapped_column(Date)
    opted_out: Mapped[bool] = mapped_column(Boolean)
    marketing_consent: Mapped[bool] = mapped_column(Boolean)
    phone_valid: Mapped[bool] = mapped_column(Boolean)
    order_count: Mapped[int] = mapped_column(Integer)


class ReminderScheduleMeta(Base):
    """The one row of the schedule's state: the date evaluated last, the orders instant it has
    seen (orders updated since are re-evaluated) and a fingerprint of the rules it applied."""

    __tablename__ = "reminder_schedule_meta"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    evaluated_on: Mapped[date] = mapped_column(Date)
    orders_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fingerprint: Mapped[str] = mapped_column(String(64))
