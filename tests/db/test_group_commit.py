"""Group commit: concurrent writes share transactions; one caller's failure spoils no one else's."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import make_session_factory
from core.errors import Conflict
from core.group_commit import GroupCommit
from core.models import Customer
from tests.factories import make_customer


async def test_concurrent_writes_commit_together_and_failures_stay_apart(
    engine: AsyncEngine,
) -> None:
    sessions = make_session_factory(engine)
    async with sessions() as s, s.begin():
        ids = [(await make_customer(s, name="before")).id for _ in range(12)]
    committer = GroupCommit(sessions)

    def rename(customer_id: int, fail: bool = False):  # noqa: ANN202 - a unit of work
        async def work(session):  # noqa: ANN001, ANN202
            await session.execute(
                update(Customer).where(Customer.id == customer_id).values(name="after")
            )
            if fail:
                raise Conflict("refused after writing")
            return customer_id

        return work

    jobs = [committer.run(rename(i, fail=(n == 5))) for n, i in enumerate(ids)]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    assert isinstance(results[5], Conflict)
    assert [r for n, r in enumerate(results) if n != 5] == [i for n, i in enumerate(ids) if n != 5]
    assert committer.batches < len(ids)  # shared transactions, not one each
    async with sessions() as s:
        renamed = await s.scalar(
            select(func.count()).select_from(Customer).where(Customer.name == "after")
        )
        failed = await s.get(Customer, ids[5])
    assert renamed == len(ids) - 1 and failed is not None and failed.name == "before"
    assert await committer.run(rename(ids[5])) == ids[5]  # and the committer still works

    with pytest.raises(ZeroDivisionError):
        await committer.run(lambda session: asyncio.sleep(0, 1 / 0))
