"""insert_ignore on both databases: counts only rows that landed, stores what the ORM would store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Engagement, Message, Task
from core.sqlbulk import insert_ignore
from tests.factories import make_customer


def _message(key: str, customer_id: int, **kw: object) -> dict[str, object]:
    return {
        "dedupe_key": key,
        "customer_id": customer_id,
        "channel": "whatsapp",
        "purpose": "marketing",
        "template_key": "welcome_coupon",
        "variables": {"coupon": "WELCOME-ABC234", "discount": 5, "name": "রহিমা"},
        "language": "bn",
        "status": "queued",
        "send_on": date(2026, 3, 10),
        "queued_on": date(2026, 3, 10),
        "task_id": None,
        "campaign_id": None,
        **kw,
    }


async def test_counts_new_rows_and_skips_conflicts(session: AsyncSession) -> None:
    c = await make_customer(session)
    await session.commit()
    first = await insert_ignore(
        session, Message, [_message("m:1", c.id), _message("m:2", c.id)], ["dedupe_key"]
    )
    # an old key, a new key, and a new key twice in the same batch
    again = await insert_ignore(
        session,
        Message,
        [_message("m:2", c.id), _message("m:3", c.id), _message("m:3", c.id)],
        ["dedupe_key"],
    )
    await session.commit()
    assert (first, again) == (2, 1)
    assert await session.scalar(select(func.count()).select_from(Message)) == 3
    assert await insert_ignore(session, Message, [], ["dedupe_key"]) == 0


async def test_stores_what_the_orm_stores(session: AsyncSession) -> None:
    c = await make_customer(session)
    await session.commit()
    dhaka = timezone(timedelta(hours=6))
    at = datetime(2026, 3, 10, 12, 0, 0, 123456, tzinfo=dhaka)
    before = datetime.now(UTC)
    await insert_ignore(session, Message, [_message("m:bulk", c.id)], ["dedupe_key"])
    await session.execute(insert(Message), [_message("m:orm", c.id)])
    await insert_ignore(  # no conflict target: any conflict skips the row
        session,
        Engagement,
        [
            {
                "customer_id": c.id,
                "kind": "membership",
                "channel": "system",
                "direction": "out",
                "outcome": "silver",
                "body": "tier none → silver",
                "occurred_at": at,
                "occurred_on": date(2026, 3, 10),
            }
        ],
        None,
    )
    task = {
        "dedupe_key": "t:1",
        "type": "membership_upgrade",
        "customer_id": c.id,
        "due_date": date(2026, 3, 10),
        "created_on": date(2026, 3, 10),
        "suggestion": {"tier": "silver", "discount_pct": 7.5, "benefits_bn": "৫% ছাড়"},
    }
    assert await insert_ignore(session, Task, [task], ["dedupe_key"]) == 1
    await session.commit()

    bulk, orm = (
        await session.scalars(select(Message).order_by(Message.dedupe_key))
    ).all()  # "m:bulk" < "m:orm"
    for name in ("variables", "send_on", "queued_on", "language", "status", "attempts"):
        assert getattr(bulk, name) == getattr(orm, name), name
    assert before <= bulk.created_at <= datetime.now(UTC)  # the Python-side default, filled in
    engagement = await session.scalar(select(Engagement))
    assert engagement is not None
    assert engagement.occurred_at == at and engagement.body == "tier none → silver"
    stored = await session.scalar(select(Task))
    assert stored is not None and stored.suggestion == task["suggestion"]
    assert (stored.status, stored.priority, stored.overflowed) == ("open", 0, False)
