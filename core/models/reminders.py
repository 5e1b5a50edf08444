"""Which purchase lines were reminded: one row per line and kind, so no purchase is reminded twice."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
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
