"""What a cadence date produced, read back from the database (so a re-run shows the same)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import (
    Agent,
    Campaign,
    CampaignMember,
    JobRun,
    MembershipEvent,
    Message,
    Product,
    Reminder,
    Task,
)


async def cadence_report(session: AsyncSession, as_of: date) -> dict[str, Any]:
    """Steps, reminders by product, tasks by agent and type, messages by channel and template,
    upgrades, campaigns launched and overflow for one cadence date."""
    steps = (
        await session.execute(
            select(JobRun.job, JobRun.status, JobRun.detail)
            .where(JobRun.run_date == as_of, JobRun.job.like("daily:%"))
            .order_by(JobRun.id)
        )
    ).all()
    reminders = (
        await session.execute(
            select(Product.sku, Product.name, Reminder.kind, func.count())
            .join(Product, Product.id == Reminder.product_id)
            .where(Reminder.sent_on == as_of)
            .group_by(Product.sku, Product.name, Reminder.kind)
            .order_by(func.count().desc(), Product.sku)
        )
    ).all()
    tasks = (
        await session.execute(
            select(Agent.name, Task.type, func.count())
            .outerjoin(Agent, Agent.id == Task.agent_id)
            .where(Task.created_on == as_of)
            .group_by(Agent.name, Task.type)
            .order_by(Agent.name, Task.type)
        )
    ).all()
    messages = (
        await session.execute(
            select(
                Message.channel,
                Message.template_key,
                func.count(),
                func.coalesce(func.sum(_flag(Message.send_on > as_of)), 0),
            )
            .where(Message.queued_on == as_of)
            .group_by(Message.channel, Message.template_key)
            .order_by(Message.channel, Message.template_key)
        )
    ).all()
    upgrades = (
        await session.execute(
            select(MembershipEvent.to_tier, func.count())
            .where(MembershipEvent.event_date == as_of)
            .group_by(MembershipEvent.to_tier)
            .order_by(MembershipEvent.to_tier)
        )
    ).all()
    campaigns = (
        await session.execute(
            select(
                Campaign.key,
                Campaign.name,
                func.count(CampaignMember.customer_id),
                func.coalesce(func.sum(_flag(CampaignMember.holdout)), 0),
            )
            .outerjoin(CampaignMember, CampaignMember.campaign_id == Campaign.id)
            .where(Campaign.launched_on == as_of)
            .group_by(Campaign.key, Campaign.name)
        )
    ).all()
    overflow = await session.scalar(
        select(func.count()).where(Task.overflowed.is_(True), Task.created_on == as_of)
    )
    return {
        "as_of": as_of.isoformat(),
        "steps": [
            {"step": job.removeprefix("daily:"), "status": status, "counts": detail}
            for job, status, detail in steps
        ],
        "reminders_by_product": [
            {"sku": sku, "name": name, "kind": kind, "count": n} for sku, name, kind, n in reminders
        ],
        "tasks_by_agent": [
            {"agent": agent or "(unassigned)", "type": kind, "count": n} for agent, kind, n in tasks
        ],
        "messages": [
            {"channel": ch, "template": tpl, "count": n, "deferred": int(d)}
            for ch, tpl, n, d in messages
        ],
        "upgrades": [{"tier": tier, "count": n} for tier, n in upgrades],
        "campaigns_launched": [
            {"key": key, "name": name, "members": n, "holdout": int(h)}
            for key, name, n, h in campaigns
        ],
        "overflow": int(overflow or 0),
    }


def _flag(condition: Any) -> Any:
    return case((condition, 1), else_=0)
