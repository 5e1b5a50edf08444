"""products.csv: the catalogue, with categories created on first sight."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput
from core.ingest.fields import parse_date, parse_decimal, parse_yes_no, text_field
from core.ingest.reading import Columns
from core.ingest.report import ImportReport
from core.models.catalog import Category, Product
from core.units import PRODUCT_UNITS, normalize_unit

PRODUCT_COLUMNS = Columns(
    required=("sku", "name", "category", "pack_size", "unit", "price"),
    optional=("name_bn", "launch_date", "active"),
)
_LIMIT = Decimal(10) ** 9


@dataclass
class ProductRow:
    line: int
    sku: str
    name: str
    name_bn: str | None
    category: str
    pack_size: Decimal
    unit: str
    price: Decimal
    launch_date: date | None
    active: bool | None  # None: not given (a new product is active)


def parse_product(line: int, values: tuple[str, ...]) -> ProductRow:
    """One products.csv row, validated."""
    sku, name, category, pack_size, unit, price, name_bn, launch, active = values
    sku = text_field(sku, "sku", 64)
    if not sku:
        raise InvalidInput("sku is empty")
    name = text_field(name, "name", 200)
    if not name:
        raise InvalidInput("name is empty")
    category = text_field(category, "category", 64).lower()
    if not category:
        raise InvalidInput("category is empty")
    canonical = normalize_unit(unit)
    if canonical not in PRODUCT_UNITS:
        raise InvalidInput(
            f"unit {unit.strip()!r} is not a product unit (use {', '.join(PRODUCT_UNITS)})"
        )
    size = parse_decimal(pack_size, "pack_size", places=3, limit=_LIMIT)
    if size <= 0:
        raise InvalidInput(f"pack_size {pack_size.strip()!r} must be more than zero")
    amount = parse_decimal(price, "price", places=2, limit=_LIMIT)
    if amount < 0:
        raise InvalidInput(f"price {price.strip()!r} is negative")
    return ProductRow(
        line=line,
        sku=sku,
        name=name,
        name_bn=text_field(name_bn, "name_bn", 200) or None,
        category=category,
        pack_size=size,
        unit=canonical,
        price=amount,
        launch_date=parse_date(launch, "launch_date") if launch.strip() else None,
        active=parse_yes_no(active, "active") if active.strip() else None,
    )


async def write_products(
    session: AsyncSession, rows: Iterable[tuple[int, tuple[str, ...]]], report: ImportReport
) -> None:
    """Validate every row, then create or update products (the catalogue is small)."""
    parsed: dict[str, ProductRow] = {}
    for line, raw in rows:
        if not any(v.strip() for v in raw):
            continue
        try:
            row = parse_product(line, raw)
        except InvalidInput as exc:
            report.reject(line, str(exc))
            continue
        if row.sku in parsed:
            report.reject(
                line, f"duplicate sku {row.sku!r}: already on line {parsed[row.sku].line}"
            )
            continue
        parsed[row.sku] = row
    if not parsed:
        return
    categories = await ensure_categories(session, {r.category for r in parsed.values()})
    existing = {p.sku: p for p in await session.execute(select(Product.__table__))}
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for row in parsed.values():
        report.accepted += 1
        values: dict[str, Any] = {
            "name": row.name,
            "name_bn": row.name_bn,
            "category_id": categories[row.category],
            "pack_size": row.pack_size,
            "unit": row.unit,
            "price": row.price,
            "launch_date": row.launch_date,
            "active": row.active,
        }
        old = existing.get(row.sku)
        if old is None:
            values["active"] = True if row.active is None else row.active
            new.append({"sku": row.sku, **values})
            continue
        # an optional value left empty keeps what is stored
        merged = {k: getattr(old, k) if v is None else v for k, v in values.items()}
        if all(getattr(old, k) == v for k, v in merged.items()):
            report.unchanged += 1
        else:
            changed.append({"b_id": old.id, **merged})
    if new:
        await session.execute(insert(Product), new)
        report.created += len(new)
    if changed:
        table = cast(Table, Product.__table__)
        await session.execute(
            update(table).where(table.c.id == bindparam("b_id")),
            changed,
        )
        report.updated += len(changed)


async def ensure_categories(session: AsyncSession, codes: set[str]) -> dict[str, int]:
    """The id of each category code, creating missing ones with the code as their name."""
    known = dict((await session.execute(select(Category.code, Category.id))).all())
    missing = sorted(codes - known.keys())
    if missing:
        await session.execute(insert(Category), [{"code": c, "name": c} for c in missing])
        rows = await session.execute(
            select(Category.code, Category.id).where(Category.code.in_(missing))
        )
        known.update(rows.all())
    return {code: known[code] for code in codes}
