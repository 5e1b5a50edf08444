"""A deterministic demo shop: catalogue, customers with household rhythms, a year of orders, a team.

`generate_demo(session, customers=…, seed=…, as_of=…)` fills an empty shop (the applied config
must be there: categories, profiles, coupon rules, tiers); the same seed and date give the same
rows. The caller owns the transaction.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from core.customers_aggregates import refresh_customer_aggregates
from core.demo.backlog import record_past_reminders
from core.demo.shop import DemoShop, simulate_shop
from core.demo.summary import DemoSummary, shop_is_empty, shop_summary
from core.demo.writer import analyze, reset_sequences, write_shop
from core.errors import Conflict, InvalidInput
from core.shopconfig.loader import load_applied_config

__all__ = ["DemoShop", "DemoSummary", "generate_demo", "shop_is_empty", "shop_summary"]

MIN_CUSTOMERS = 10
MAX_CUSTOMERS = 1_000_000


async def generate_demo(
    session: AsyncSession, *, customers: int, seed: int, as_of: date
) -> DemoSummary:
    """Fill an empty shop with the demo for (customers, seed, as_of) and summarise it."""
    if not MIN_CUSTOMERS <= customers <= MAX_CUSTOMERS:
        raise InvalidInput(f"customers must be between {MIN_CUSTOMERS} and {MAX_CUSTOMERS:,}")
    if not await shop_is_empty(session):
        raise Conflict(
            "the shop already has customers or orders; the demo only fills an empty shop"
        )
    cfg = await load_applied_config(session)
    shop = simulate_shop(customers, seed, as_of, cfg)
    await write_shop(session, shop)
    await refresh_customer_aggregates(session)
    await analyze(session)
    await record_past_reminders(session, as_of, cfg)
    await reset_sequences(session)
    summary = await shop_summary(session)
    summary.samples = [(label, shop.customers[i].phone) for label, i in shop.stories.items()]
    return summary
