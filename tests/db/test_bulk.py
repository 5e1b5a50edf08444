"""The driver-level bulk insert stores exactly what SQLAlchemy's own insert would, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.bulk import among, bulk_insert, insert_dicts
from core.models import Category, Customer


async def test_insert_dicts_round_trips_every_type_in_any_key_order(session: AsyncSession) -> None:
    at = datetime(2025, 3, 1, 4, 30, 15, 123456, tzinfo=UTC)
    async with session.begin():
        await insert_dicts(
            session,
            Customer.__table__,
            [
                # keys deliberately not in table order
                {"created_at": at, "total_spend": Decimal("12.50"), "birthday": date(1990, 1, 2),
                 "marketing_consent": False, "phone": "+8801711000001", "name": "Bulk"},
                {"created_at": at, "total_spend": Decimal(0), "birthday": None,
                 "marketing_consent": True, "phone": "+8801711000002", "name": ""},
            ],
        )  # fmt: skip
        await session.execute(
            insert(Customer), [{"phone": "+8801711000003", "name": "ORM", "created_at": at}]
        )
    rows = (await session.scalars(select(Customer).order_by(Customer.phone))).all()
    first, second, orm = rows
    assert (first.name, first.total_spend, first.birthday) == (
        "Bulk",
        Decimal("12.50"),
        date(1990, 1, 2),
    )
    assert first.created_at == at == orm.created_at
    assert (first.marketing_consent, second.marketing_consent) == (False, True)
    # the scalar defaults are the model's, as with the ORM
    for column in ("language", "whatsapp_status", "tier", "lifecycle_stage", "order_count"):
        assert getattr(first, column) == getattr(orm, column), column


async def test_insert_dicts_can_skip_conflicts_and_refuses_a_missing_value(
    session: AsyncSession,
) -> None:
    at = datetime(2025, 3, 1, tzinfo=UTC)
    row = {"phone": "+8801711000001", "name": "A", "created_at": at}
    async with session.begin():
        await insert_dicts(session, Customer.__table__, [row])
        await insert_dicts(session, Customer.__table__, [row, {**row, "phone": "+8801711000002"}],
                           skip_conflicts_on="phone")  # fmt: skip
        with pytest.raises(ValueError, match="no values for created_at"):
            await insert_dicts(
                session, Customer.__table__, [{"phone": "+8801711000003", "name": ""}]
            )
    phones = await session.scalars(
        select(Customer.phone).where(
            among(session, Customer.phone, ["+8801711000001", "+8801711000002", "x"])
        )
    )
    assert sorted(phones) == ["+8801711000001", "+8801711000002"]


async def test_bulk_insert_can_shift_a_column_by_a_constant(session: AsyncSession) -> None:
    rows = [(0, "rice", "Rice"), (1, "oil", "Oil"), (2, "tea", "Tea")]
    async with session.begin():
        await bulk_insert(session, Category.__table__, ("id", "code", "name"), rows,
                          shift={"id": 1000})  # fmt: skip
        await bulk_insert(session, Category.__table__, ("id", "code", "name"),
                          [(5, "salt", "Salt")], shift={"id": 998})  # fmt: skip
    stored = (await session.execute(select(Category.id, Category.code).order_by(Category.id))).all()
    assert [tuple(r) for r in stored] == [
        (1000, "rice"), (1000 + 1, "oil"), (1000 + 2, "tea"), (1000 + 3, "salt"),
    ]  # fmt: skip
