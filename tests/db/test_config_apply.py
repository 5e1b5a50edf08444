"""`config apply` fills the rule tables, is idempotent, and jobs read back what was applied."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Campaign, ConsumptionProfile, CouponRule, RecommendationRule
from core.shopconfig import apply_config, load_applied_config, load_config_dir

CONFIG = Path(__file__).resolve().parents[2] / "config"


async def _count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_apply_twice_changes_nothing(session: AsyncSession) -> None:
    cfg = load_config_dir(CONFIG)
    first = await apply_config(session, cfg)
    await session.commit()
    assert first.created["campaigns"] == 24
    assert await _count(session, ConsumptionProfile) == len(cfg.consumption.profiles)
    assert await _count(session, RecommendationRule) == len(cfg.crosssell.rules)
    assert await _count(session, CouponRule) == len(cfg.coupons.rules)

    second = await apply_config(session, cfg)
    await session.commit()
    assert not second.changed

    applied = await load_applied_config(session)
    assert applied == cfg

    jan = await session.scalar(select(Campaign).where(Campaign.key == "2026-01-first-order-10"))
    assert jan is not None
    assert (jan.start_date, jan.end_date, jan.holdout_pct) == (
        date(2026, 1, 1),
        date(2026, 1, 28),
        5.0,
    )


async def test_changed_rule_updates_and_removed_rule_is_deactivated(session: AsyncSession) -> None:
    cfg = load_config_dir(CONFIG)
    await apply_config(session, cfg)
    await session.commit()
    rules = list(cfg.crosssell.rules)
    changed = rules[0].model_copy(update={"priority": 99})
    crosssell = cfg.crosssell.model_copy(update={"rules": [changed, *rules[1:-1]]})
    report = await apply_config(session, cfg.model_copy(update={"crosssell": crosssell}))
    await session.commit()
    assert report.updated == {"recommendation_rules": 1}
    assert report.deactivated == {"recommendation_rules": 1}
    dropped = await session.scalar(
        select(RecommendationRule).where(RecommendationRule.key == rules[-1].key)
    )
    assert dropped is not None and dropped.active is False
