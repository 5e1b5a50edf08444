"""The team: agents, invites, their tasks and the engagements logged against customers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigId, Json, UTCDateTime, utcnow

ROLES = ("admin", "manager", "agent", "support", "delivery")
TASK_TYPES = (
    "reminder_call",
    "offer_followup",
    "winback",
    "membership_upgrade",
    "card_generation",
    "reorder",
    "support",
)
TASK_STATUSES = ("open", "done", "cancelled")


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="agent")
    senior: Mapped[bool] = mapped_column(Boolean, default=False)
    districts: Mapped[list[str]] = mapped_column(Json, default=list)
    daily_capacity: Mapped[int] = mapped_column(Integer, default=40)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(2), default="bn")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # After "Note 📝" the agent's next text is the note for this task (kept across restarts),
    # and the card message to refresh once it is saved.
    awaiting_note_task_id: Mapped[int | None] = mapped_column(BigInteger)
    awaiting_note_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Invite(Base):
    """A single-use, expiring code that binds a Telegram user to an agent."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    created_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by_telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Task(Base):
    """A call or job for one agent about one customer, created exactly once (dedupe_key)."""

    __tablename__ = "tasks"
    __table_args__ = (
        # Covers an agent's queue queries (next task, today's counts) without reading task rows.
        Index(
            "ix_tasks_agent_queue",
            "agent_id",
            "status",
            "due_date",
            "priority",
            "priority_level",
            "due_at",
            "completed_at",
        ),
        Index("ix_tasks_customer", "customer_id", "status"),
        Index("ix_tasks_status_due", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    priority: Mapped[int] = mapped_column(Integer, default=0)  # higher first
    priority_level: Mapped[str] = mapped_column(String(8), default="warm")
    created_on: Mapped[date] = mapped_column(Date)  # the cadence date that produced it
    due_date: Mapped[date] = mapped_column(Date)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # "call later" within a day
    reason_bn: Mapped[str] = mapped_column(Text, default="")
    reason_en: Mapped[str] = mapped_column(Text, default="")
    suggestion: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)  # products, offer code
    script_key: Mapped[str | None] = mapped_column(String(64))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(32))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    overflowed: Mapped[bool] = mapped_column(Boolean, default=False)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Engagement(Base):
    """Anything that happened between the shop and a customer: a call outcome, a reply, a note."""

    __tablename__ = "engagements"
    __table_args__ = (
        Index("ix_engagements_customer", "customer_id", "occurred_at"),
        Index("ix_engagements_agent", "agent_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    kind: Mapped[str] = mapped_column(String(32))  # call/reply/note/membership/system
    channel: Mapped[str] = mapped_column(String(16))  # call/whatsapp/sms/telegram/system
    direction: Mapped[str] = mapped_column(String(8), default="out")  # in/out
    outcome: Mapped[str | None] = mapped_column(String(32))
    body: Mapped[str | None] = mapped_column(Text)
    # the provider's id of an inbound reply (Twilio MessageSid): a retried webhook logs once
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    occurred_on: Mapped[date] = mapped_column(Date)
