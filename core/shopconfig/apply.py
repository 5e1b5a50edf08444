"""Apply a validated ShopConfig to the rule tables, idempotently (upsert by key)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import (
    Campaign,
    Category,
    ConsumptionProfile,
    CouponRule,
    Product,
    RecommendationRule,
)
from core.shopconfig.loader import ShopConfig, store_applied_config

_BASE = {"g": (1, "g"), "kg": (1000, "g"), "ml": (1, "ml"), "l": (1000, "ml"), "pcs": (1, "pcs")}


def reference_in_base(quantity: Decimal, unit: str) -> tuple[Decimal, str]:
    """A profile's reference pack in base units (g, ml, pcs)."""
    factor, base = _BASE[unit]
    return quantity * factor, base


@dataclass
class ApplyReport:
    """What `config apply` changed (all zero on a second run of the same files)."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    deactivated: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    sections_changed: list[str] = field(default_factory=list)

    def count(self, bucket: dict[str, int], table: str) -> None:
        bucket[table] = bucket.get(table, 0) + 1

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deactivated or self.sections_changed)


async def _upsert(
    session: AsyncSession,
    report: ApplyReport,
    model: type[Any],
    key_attr: str,
    rows: list[dict[str, Any]],
) -> dict[str, Any]:
    """Insert or update rows by a unique key; returns key → object."""
    table = model.__tablename__
    key_col = getattr(model, key_attr)
    existing = {getattr(o, key_attr): o for o in (await session.scalars(select(model))).all()}
    result: dict[str, Any] = {}
    for values in rows:
        obj = existing.get(values[key_attr])
        if obj is None:
            obj = model(**values)
            session.add(obj)
            report.count(report.created, table)
        else:
            diff = {k: v for k, v in values.items() if getattr(obj, k) != v}
            if diff:
                for k, v in diff.items():
                    setattr(obj, k, v)
                report.count(report.updated, table)
        result[values[key_attr]] = obj
    await session.flush()
    stale = set(existing) - set(result)
    if stale and hasattr(model, "active"):
        res = await session.execute(
            update(model).where(key_col.in_(stale), model.active.is_(True)).values(active=False)
        )
        if res.rowcount:  # type: ignore[attr-defined]
            report.deactivated[table] = res.rowcount  # type: ignore[attr-defined]
    return result


def _campaign_dates(year: int, month: int, start_day: int, duration: int) -> tuple[date, date]:
    start = date(year, month, start_day)
    return start, start + timedelta(days=duration - 1)


async def apply_config(session: AsyncSession, cfg: ShopConfig) -> ApplyReport:
    """Bring the rule tables in line with the config; a second apply changes nothing."""
    report = ApplyReport()
    cats = await _upsert(
        session,
        report,
        Category,
        "code",
        [{"code": c.code, "name": c.name, "name_bn": c.name_bn} for c in cfg.catalog.categories],
    )
    cat_ids = {code: c.id for code, c in cats.items()}
    products = {p.sku: p for p in (await session.scalars(select(Product))).all()}

    profile_rows = []
    for p in cfg.consumption.profiles:
        ref_qty, base_unit = reference_in_base(p.reference_quantity, p.reference_unit)
        row: dict[str, Any] = {
            "key": p.key,
            "product_id": None,
            "category_id": None,
            "avg_consumption_days": p.avg_consumption_days,
            "buffer_days": p.buffer_days,
            "min_days": p.min_days,
            "max_days": p.max_days,
            "reference_quantity": ref_qty,
            "base_unit": base_unit,
        }
        if p.sku:
            if p.sku not in products:
                report.skipped.append(f"consumption profile {p.key}: no product {p.sku} yet")
                continue
            row["product_id"] = products[p.sku].id
        else:
            assert p.category is not None  # ProfileDef requires exactly one of sku, category
            row["category_id"] = cat_ids[p.category]
        profile_rows.append(row)
    await _upsert(session, report, ConsumptionProfile, "key", profile_rows)

    coupon_rules = await _upsert(
        session,
        report,
        CouponRule,
        "key",
        [
            {
                "key": r.key,
                "kind": r.kind,
                "code_prefix": r.code_prefix,
                "discount_pct": r.discount_pct,
                "discount_amount": r.discount_amount,
                "min_order_value": r.min_order_value,
                "valid_days": r.valid_days,
                "usage_limit": r.usage_limit,
                "params": dict(r.params),
                "active": True,
            }
            for r in cfg.coupons.rules
        ],
    )
    coupon_ids = {k: o.id for k, o in coupon_rules.items()}

    rule_rows = []
    for r in cfg.crosssell.rules:
        missing = [s for s in (r.trigger_sku, r.recommend_sku) if s and s not in products]
        if missing:
            report.skipped.append(f"cross-sell rule {r.key}: no product {', '.join(missing)} yet")
            continue
        rule_rows.append(
            {
                "key": r.key,
                "trigger_product_id": products[r.trigger_sku].id if r.trigger_sku else None,
                "trigger_category_id": cat_ids.get(r.trigger_category or ""),
                "recommended_product_id": products[r.recommend_sku].id if r.recommend_sku else None,
                "recommended_category_id": cat_ids.get(r.recommend_category or ""),
                "min_days_passed": r.min_days_passed,
                "max_days_passed": r.max_days_passed,
                "min_order_value": r.min_order_value,
                "priority": r.priority,
                "channel": r.channel,
                "coupon_rule_id": coupon_ids.get(r.coupon or ""),
                "template_key": r.template,
                "success_window_days": r.success_window_days,
                "active": True,
            }
        )
    await _upsert(session, report, RecommendationRule, "key", rule_rows)

    campaign_rows = []
    for year in cfg.campaigns.years:
        for c in cfg.campaigns.calendar:
            start, end = _campaign_dates(year, c.month, c.start_day, c.duration_days)
            campaign_rows.append(
                {
                    "key": f"{year}-{c.month:02d}-{c.key}",
                    "month": c.month,
                    "name": c.name,
                    "name_bn": c.name_bn,
                    "target": c.target.model_dump(mode="json"),
                    "channel": c.channel,
                    "template_key": c.template,
                    "coupon_rule_id": coupon_ids.get(c.coupon or ""),
                    "start_date": start,
                    "end_date": end,
                    "primary_kpi": c.primary_kpi,
                    "holdout_pct": c.holdout_pct
                    if c.holdout_pct is not None
                    else cfg.campaigns.holdout_pct,
                }
            )
    existing_launched = set(
        (await session.scalars(select(Campaign.key).where(Campaign.launched_at.is_not(None)))).all()
    )
    # a launched campaign is history: config changes apply to the ones still scheduled
    campaign_rows = [r for r in campaign_rows if r["key"] not in existing_launched]
    await _upsert(session, report, Campaign, "key", campaign_rows)

    report.sections_changed = await store_applied_config(session, cfg)
    return report
