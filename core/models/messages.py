"""The outbox of customer messages, and reorder requests from customers' replies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigId, Json, UTCDateTime, utcnow

MESSAGE_STATUSES = (
    "queued",  # waiting to be sent (possibly not before `not_before`)
    "sending",  # claimed by a dispatcher
    "sent",
    "delivered",
    "read",
    "failed",
    "undelivered",
    "cancelled",  # e.g. opted out before it went
)


class Message(Base):
    """One customer message, written in the transaction that caused it, sent later."""

    __tablename__ = "messages"
    __table_args__ = (
        # the claim walks due rows in id order per purpose; send_on/not_before filter in-index
        Index("ix_messages_claim", "status", "purpose", "id", "send_on", "not_before"),
        Index("ix_messages_budget", "customer_id", "send_on"),
        Index("ix_messages_customer", "customer_id", "created_at"),
        Index("ix_messages_queued_on", "queued_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(16))  # whatsapp/sms
    purpose: Mapped[str] = mapped_column(String(16), default="marketing")  # marketing/service
    template_key: Mapped[str] = mapped_column(String(64))
    variables: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    language: Mapped[str] = mapped_column(String(2), default="bn")
    body: Mapped[str | None] = mapped_column(Text)  # rendered text, when sent as free text
    # None: free text inside the 24-hour window, template outside; "template": template only
    send_as: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    send_on: Mapped[date] = mapped_column(Date)  # shop-local day it may go (contact budget)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    queued_on: Mapped[date] = mapped_column(Date)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(16))
    error_message: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ReorderRequest(Base):
    """A customer said yes to a reminder: the items to deliver, passed to the agent and the ERP."""

    __tablename__ = "reorder_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    engagement_id: Mapped[int | None] = mapped_column(ForeignKey("engagements.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    items: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    status: Mapped[str] = mapped_column(
        String(16), default="open"
    )  # open/confirmed/ordered/cancelled
    # none (no ERP) / pending / sent / failed (retried) / rejected (4xx): see core.erp_orders
    erp_status: Mapped[str] = mapped_column(String(16), default="none")
    erp_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboundMessage(Base):
    """A customer's message exactly as the provider posted it, stored before it is acknowledged.

    The webhook only records it (group commit); the inbox worker processes rows in id order and
    sets `processed_at` in the same transaction as the work, so a crash loses nothing and a
    provider retry (same MessageSid) is stored once.
    """

    __tablename__ = "inbound_messages"
    __table_args__ = (Index("ix_inbound_messages_pending", "processed_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider_sid: Mapped[str] = mapped_column(String(64), unique=True)  # Twilio MessageSid
    sender: Mapped[str] = mapped_column(String(64))  # "whatsapp:+8801…" or "+8801…"
    body: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)  # every field received
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
