"""Read `config/*.yaml` into a ShopConfig; store and read back the applied copy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import ConfigError
from core.models import ConfigEntry
from core.predictions.config import PredictionsConfig
from core.shopconfig.schema import (
    CampaignsConfig,
    CatalogConfig,
    ConsumptionConfig,
    CouponsConfig,
    CrossSellConfig,
    MembershipConfig,
    MessagingConfig,
    SegmentsConfig,
    TeamConfig,
    TemplatesConfig,
)


class ShopConfig(BaseModel):
    """Every section of the shop's rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    catalog: CatalogConfig
    consumption: ConsumptionConfig
    crosssell: CrossSellConfig
    membership: MembershipConfig
    coupons: CouponsConfig
    campaigns: CampaignsConfig
    segments: SegmentsConfig
    team: TeamConfig
    messaging: MessagingConfig
    templates: TemplatesConfig
    predictions: PredictionsConfig


SECTIONS: dict[str, type[BaseModel]] = {
    name: field.annotation  # type: ignore[misc]
    for name, field in ShopConfig.model_fields.items()
}


def _explain(file: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"{file}: {key}: {err['msg']}")
    return "\n".join(lines)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: not valid YAML: {exc}") from exc


def load_config_dir(directory: Path) -> ShopConfig:
    """Validate every section file (`<section>.yaml`); errors name file, key and problem."""
    if not directory.is_dir():
        raise ConfigError(f"{directory}: no such config directory")
    problems: list[str] = []
    sections: dict[str, BaseModel] = {}
    for name, model in SECTIONS.items():
        path = directory / f"{name}.yaml"
        if not path.exists():
            problems.append(f"{path.name}: file missing")
            continue
        data = _read_yaml(path)
        if not isinstance(data, dict):
            problems.append(f"{path.name}: (top level): expected a mapping of keys")
            continue
        try:
            sections[name] = model.model_validate(data)
        except ValidationError as exc:
            problems.append(_explain(path.name, exc))
    known = {f"{n}.yaml" for n in SECTIONS}
    for extra in sorted(p.name for p in directory.glob("*.yaml") if p.name not in known):
        problems.append(f"{extra}: unknown config file (known: {', '.join(sorted(known))})")
    if problems:
        raise ConfigError("\n".join(problems))
    cfg = ShopConfig(**sections)  # type: ignore[arg-type]
    check_references(cfg)
    return cfg


def check_references(cfg: ShopConfig) -> None:
    """Keys that point at other sections (category codes, coupon rules, templates) must exist."""
    problems: list[str] = []
    categories = {c.code for c in cfg.catalog.categories}
    coupons = {r.key for r in cfg.coupons.rules}
    templates = set(cfg.templates.templates)
    for i, p in enumerate(cfg.consumption.profiles):
        if p.category and p.category not in categories:
            problems.append(
                f"consumption.yaml: profiles.{i}.category: unknown category {p.category!r}"
            )
    for i, r in enumerate(cfg.crosssell.rules):
        for attr in ("trigger_category", "recommend_category"):
            code = getattr(r, attr)
            if code and code not in categories:
                problems.append(f"crosssell.yaml: rules.{i}.{attr}: unknown category {code!r}")
        if r.coupon and r.coupon not in coupons:
            problems.append(f"crosssell.yaml: rules.{i}.coupon: unknown coupon rule {r.coupon!r}")
        if r.template not in templates:
            problems.append(f"crosssell.yaml: rules.{i}.template: unknown template {r.template!r}")
    for i, c in enumerate(cfg.campaigns.calendar):
        if c.coupon and c.coupon not in coupons:
            problems.append(
                f"campaigns.yaml: calendar.{i}.coupon: unknown coupon rule {c.coupon!r}"
            )
        if c.template not in templates:
            problems.append(
                f"campaigns.yaml: calendar.{i}.template: unknown template {c.template!r}"
            )
        for code in c.target.bought_category:
            if code not in categories:
                problems.append(
                    f"campaigns.yaml: calendar.{i}.target.bought_category: unknown category {code!r}"
                )
    if problems:
        raise ConfigError("\n".join(problems))


async def store_applied_config(session: AsyncSession, cfg: ShopConfig) -> list[str]:
    """Write each section to config_entries; returns the sections that changed."""
    existing = {e.key: e for e in (await session.scalars(select(ConfigEntry))).all()}
    changed = []
    for name in SECTIONS:
        value = getattr(cfg, name).model_dump(mode="json")
        entry = existing.get(name)
        if entry is None:
            session.add(ConfigEntry(key=name, value=value))
            changed.append(name)
        elif entry.value != value:
            entry.value = value
            changed.append(name)
    await session.flush()
    return changed


async def load_applied_config(session: AsyncSession) -> ShopConfig:
    """The configuration last applied with `trustcart config apply`."""
    rows = {e.key: e.value for e in (await session.scalars(select(ConfigEntry))).all()}
    missing = [n for n in SECTIONS if n not in rows]
    if missing:
        raise ConfigError(
            f"shop config not applied (missing: {', '.join(missing)}): run `trustcart config apply`"
        )
    try:
        return ShopConfig.model_validate({n: rows[n] for n in SECTIONS})
    except ValidationError as exc:
        raise ConfigError(_explain("applied config", exc)) from exc
