"""The outbox side of sending: which queued messages may go now, claiming them, recording results.

A claim is one transaction: due rows are locked (PostgreSQL: FOR UPDATE SKIP LOCKED, so several
dispatchers never take the same row), re-checked against consent, Meta's pause, quiet hours and
the contact budget (cancel / wait / defer), and the rest set to `sending` with `claimed_at`.
Sending happens after commit; results are recorded by id with conditional UPDATEs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, Text, and_, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import SHOP_TZ, local_date
from core.consent import block_reason, marketing_paused
from core.db import UTCDateTime
from core.deliverability import apply_failure
from core.models import Customer, Message
from core.outbox import BUDGET_STATUSES
from core.shopconfig import ShopConfig
from core.shopconfig.schema import MessagingConfig
from core.sqlbulk import table_of

PURPOSES = ("service", "marketing")  # claim order; messages.purpose is one of these
REPLY_GRACE = timedelta(hours=1)  # a service message within an hour of the customer writing


@dataclass(frozen=True)
class Claimed:
    """A message claimed for sending, with what composing it needs."""

    id: int
    dedupe_key: str
    customer_id: int
    phone: str
    channel: str
    purpose: str
    template_key: str
    variables: dict[str, Any]
    language: str
    send_as: str | None
    attempts: int
    claimed_at: datetime
    last_inbound_at: datetime | None
    provider_sid: str | None = None


@dataclass
class ClaimReport:
    claimed: list[Claimed] = field(default_factory=list)
    cancelled: Counter[str] = field(default_factory=Counter)
    waiting: int = 0  # quiet hours or a paused customer: not_before set
    deferred: int = 0  # over the contact budget today: send_on moved


def in_quiet_hours(at: time, start: time, end: time) -> bool:
    """Whether a local time of day falls in quiet hours [start, end), which may span midnight."""
    if start == end:
        return False
    if start < end:
        return start <= at < end
    return at >= start or at < end


def quiet_hours_end(now: datetime, cfg: MessagingConfig) -> datetime | None:
    """When quiet hours end, if `now` is inside them (else None)."""
    local = now.astimezone(SHOP_TZ)
    if not in_quiet_hours(local.time(), cfg.quiet_start, cfg.quiet_end):
        return None
    end = datetime.combine(local.date(), cfg.quiet_end, tzinfo=SHOP_TZ)
    if end <= local:
        end += timedelta(days=1)
    return end


def is_reply(customer: Customer, purpose: str, now: datetime) -> bool:
    """A service message to a customer who wrote within the hour: it answers them, send now."""
    last = customer.last_inbound_at
    return purpose == "service" and last is not None and now - last <= REPLY_GRACE


def retry_delay(attempt: int, base: float, cap: float, jitter: float) -> float:
    """Exponential backoff with jitter (`jitter` in [0, 1)): base·2^(n-1), half of it random."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return delay * (0.5 + jitter / 2)


def window_open(last_inbound_at: datetime | None, now: datetime, hours: int) -> bool:
    """Whether the customer's WhatsApp service window (since their last message) is open."""
    return last_inbound_at is not None and now - last_inbound_at < timedelta(hours=hours)


async def _recent_marketing(
    session: AsyncSession, customer_ids: Sequence[int], today: date
) -> tuple[Counter[int], Counter[int]]:
    """Marketing messages that went (or are going) per customer: today, and in the last 7 days."""
    day_start = datetime.combine(today, time.min, tzinfo=SHOP_TZ)
    went = func.coalesce(Message.sent_at, Message.claimed_at)
    # The status test sits in the aggregates, not the WHERE: there it made SQLite walk the
    # claim index (status, purpose) over every sent message instead of the customer index.
    counted = Message.status.in_([s for s in BUDGET_STATUSES if s != "queued"])
    rows = await session.execute(
        select(
            Message.customer_id,
            func.sum(case((and_(counted, went >= day_start), 1), else_=0)),
            func.sum(case((counted, 1), else_=0)),
        )
        .where(
            Message.customer_id.in_(list(customer_ids)),
            Message.purpose == "marketing",
            went >= day_start - timedelta(days=6),
        )
        .group_by(Message.customer_id)
    )
    per_day: Counter[int] = Counter()
    per_week: Counter[int] = Counter()
    for cid, n_day, n_week in rows.all():
        per_day[cid], per_week[cid] = int(n_day or 0), int(n_week)
    return per_day, per_week


async def claim_due(
    session: AsyncSession, now: datetime, cfg: ShopConfig, limit: int
) -> ClaimReport:
    """Claim up to `limit` due messages in the caller's transaction (see the module docstring)."""
    today = local_date(now)
    rows: list[Any] = []
    # Service messages (replies) first. One ordered index walk per purpose (ix_messages_claim):
    # ordering the whole due set by an expression sorted every queued row on each claim.
    for purpose in PURPOSES:
        if len(rows) >= limit:
            break
        rows += (
            await session.execute(
                select(Message, Customer)
                .join(Customer, Customer.id == Message.customer_id)
                .where(
                    Message.status == "queued",
                    Message.purpose == purpose,
                    Message.send_on <= today,
                    (Message.not_before.is_(None)) | (Message.not_before <= now),
                )
                .order_by(Message.id)
                .limit(limit - len(rows))
                .with_for_update(of=Message, skip_locked=True)
            )
        ).all()
    report = ClaimReport()
    if not rows:
        return report
    m_cfg = cfg.messaging
    marketing_ids = [c.id for m, c in rows if m.purpose == "marketing"]
    per_day, per_week = (
        await _recent_marketing(session, marketing_ids, today)
        if marketing_ids
        else (Counter(), Counter())
    )
    quiet_end = quiet_hours_end(now, m_cfg)
    cancel: dict[str, list[int]] = {}
    wait: dict[datetime, list[int]] = {}
    defer: list[int] = []
    go: dict[int, tuple[Message, Customer]] = {}
    for message, customer in rows:
        reason = block_reason(customer, message.channel, message.purpose, m_cfg.consent_policy, now)
        if reason is not None:
            cancel.setdefault(reason, []).append(message.id)
            continue
        paused = marketing_paused(customer, now) if message.purpose == "marketing" else None
        if paused is not None:
            wait.setdefault(paused, []).append(message.id)
            continue
        if quiet_end is not None and not is_reply(customer, message.purpose, now):
            wait.setdefault(quiet_end, []).append(message.id)
            continue
        if message.purpose == "marketing":
            cid = customer.id
            if per_day[cid] >= m_cfg.marketing_per_day or per_week[cid] >= m_cfg.marketing_per_week:
                defer.append(message.id)
                continue
            per_day[cid] += 1
            per_week[cid] += 1
        go[message.id] = (message, customer)
    for reason, ids in cancel.items():
        await session.execute(
            update(Message)
            .where(Message.id.in_(ids))
            .values(status="cancelled", error_code=reason[:16], error_message=f"at send: {reason}")
            .execution_options(synchronize_session=False)
        )
        report.cancelled[reason] += len(ids)
    for until, ids in wait.items():
        await _set(session, ids, not_before=until)
        report.waiting += len(ids)
    if defer:
        await _set(session, defer, send_on=today + timedelta(days=1), not_before=None)
        report.deferred += len(defer)
    if go:
        claimed_ids = (
            await session.scalars(
                update(Message)
                .where(Message.id.in_(list(go)), Message.status == "queued")
                .values(status="sending", claimed_at=now, attempts=Message.attempts + 1)
                .returning(Message.id)
                .execution_options(synchronize_session=False)
            )
        ).all()
        for mid in sorted(claimed_ids):
            message, customer = go[mid]
            report.claimed.append(_snapshot(message, customer, now, message.attempts + 1))
    return report


def _snapshot(message: Message, customer: Customer, claimed_at: datetime, attempts: int) -> Claimed:
    return Claimed(
        id=message.id,
        dedupe_key=message.dedupe_key,
        customer_id=customer.id,
        phone=customer.phone,
        channel=message.channel,
        purpose=message.purpose,
        template_key=message.template_key,
        variables=dict(message.variables or {}),
        language=message.language,
        send_as=message.send_as,
        attempts=attempts,
        claimed_at=claimed_at,
        last_inbound_at=customer.last_inbound_at,
        provider_sid=message.provider_sid,
    )


async def _set(session: AsyncSession, ids: Sequence[int], **values: Any) -> None:
    await session.execute(
        update(Message)
        .where(Message.id.in_(list(ids)), Message.status == "queued")
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def stale_sending(session: AsyncSession, claimed_before: datetime) -> list[Claimed]:
    """Messages left in `sending` (a crash, or a lost lease) claimed before an instant."""
    rows = (
        await session.execute(
            select(Message, Customer)
            .join(Customer, Customer.id == Message.customer_id)
            .where(Message.status == "sending", Message.claimed_at <= claimed_before)
            .order_by(Message.id)
            .with_for_update(of=Message, skip_locked=True)
        )
    ).all()
    return [_snapshot(m, c, m.claimed_at or claimed_before, m.attempts) for m, c in rows]


async def known_sids(session: AsyncSession, sids: Sequence[str]) -> set[str]:
    """Which provider sids are already recorded against some message."""
    if not sids:
        return set()
    found = await session.scalars(
        select(Message.provider_sid).where(Message.provider_sid.in_(sids))
    )
    return {s for s in found if s}


_T = table_of(Message)
_SENT = (
    update(_T)
    .where(_T.c.id == bindparam("mid"))
    .values(
        provider_sid=func.coalesce(_T.c.provider_sid, bindparam("sid", type_=String())),
        body=bindparam("body", type_=Text()),
        sent_at=func.coalesce(_T.c.sent_at, bindparam("at", type_=UTCDateTime())),
        status=case((_T.c.status == "sending", "sent"), else_=_T.c.status),
        error_code=None,
        error_message=None,
    )
)
_RETRY = (
    update(_T)
    .where(_T.c.id == bindparam("mid"), _T.c.status == "sending")
    .values(
        status="queued",
        claimed_at=None,
        not_before=bindparam("not_before", type_=UTCDateTime()),
        error_code=bindparam("code", type_=String()),
        error_message=bindparam("reason", type_=Text()),
    )
)


async def record_sent(session: AsyncSession, sent: Sequence[dict[str, Any]]) -> None:
    """Record provider sids: rows of {mid, sid, body, at}; never moves a status backwards."""
    if sent:
        await session.execute(_SENT, list(sent))


async def record_retry(session: AsyncSession, retry: Sequence[dict[str, Any]]) -> None:
    """Put messages back in the queue: rows of {mid, not_before, code, reason}."""
    if retry:
        await session.execute(_RETRY, list(retry))


async def record_failed(
    session: AsyncSession,
    failed: Sequence[tuple[int, str | None, str]],
    now: datetime,
    cfg: ShopConfig,
) -> list[str]:
    """Mark messages failed with their code (id, code, reason) and act on each code once."""
    actions: list[str] = []
    for mid, code, reason in failed:
        changed = await session.execute(
            update(Message)
            .where(Message.id == mid, Message.status.in_(("queued", "sending")))
            .values(status="failed", failed_at=now, error_code=code, error_message=reason[:2000])
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount:  # type: ignore[attr-defined]
            message = await session.get(Message, mid, populate_existing=True)
            if message is not None:
                actions += await apply_failure(session, message, code, now, cfg)
    return actions


async def record_uncertain(
    session: AsyncSession, rows: Sequence[tuple[int, str]], now: datetime
) -> None:
    """Keep messages `sending` whose fate is unknown (timeout, 5xx); the lease restarts now."""
    for mid, reason in rows:
        await session.execute(
            update(Message)
            .where(Message.id == mid, Message.status == "sending")
            .values(claimed_at=now, error_message=reason[:2000])
            .execution_options(synchronize_session=False)
        )


async def resolve_sent(
    session: AsyncSession, mid: int, claimed_at: datetime, sid: str, now: datetime
) -> bool:
    """Reconciliation found the message on the provider: record it, if the claim is unchanged."""
    changed = await session.execute(
        update(Message)
        .where(Message.id == mid, Message.status == "sending", Message.claimed_at == claimed_at)
        .values(
            provider_sid=func.coalesce(Message.provider_sid, sid),
            status="sent",
            sent_at=func.coalesce(Message.sent_at, now),
            error_code=None,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(changed.rowcount)  # type: ignore[attr-defined]


async def requeue_unsent(
    session: AsyncSession, mid: int, claimed_at: datetime, now: datetime
) -> bool:
    """Reconciliation did not find the message: queue it again, if the claim is unchanged."""
    changed = await session.execute(
        update(Message)
        .where(Message.id == mid, Message.status == "sending", Message.claimed_at == claimed_at)
        .values(status="queued", claimed_at=None, not_before=now)
        .execution_options(synchronize_session=False)
    )
    return bool(changed.rowcount)  # type: ignore[attr-defined]


async def recent_failures(session: AsyncSession, code: str, since: datetime) -> int:
    """How many messages failed with a code since an instant (the dispatcher's slow-down signal)."""
    n = await session.scalar(
        select(func.count()).where(Message.error_code == code, Message.failed_at >= since)
    )
    return int(n or 0)
