"""Replaying the reminder policies on a holdout period to score them against real repurchases.

Each purchase of a product schedules one reminder; buying the product again first suppresses it.
- fixed profile:   order date + profile days (scaled by quantity, clamped) − buffer;
- learned rhythm:  the same with the customer's own intervals blended in (core.consumption);
- model-informed:  the learned-rhythm reminder, not sent when BG/NBD says the customer has
                   probably churned by then (P(alive) at the reminder date < p_alive_churned).
A repurchase in the holdout is a *hit* for a policy when its reminder fired within
`window_days` before it. A reminder fired in the holdout is *wasted* when no purchase of the
product followed within `window_days` (reminders too late in the holdout to judge are left out).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.consumption import (
    Profile,
    choose_profile,
    consumption_days,
    learned_days,
    purchase_intervals,
)
from core.models.catalog import ConsumptionProfile, Product
from core.models.orders import COUNTED_STATUSES, Order, OrderLine
from core.predictions import bgnbd
from core.predictions.bgnbd import BgNbdParams
from core.predictions.config import PredictionsConfig
from core.shopconfig.schema import LearnedRhythm

POLICIES = ("fixed profile", "learned rhythm", "model-informed")


@dataclass(frozen=True)
class PolicyScore:
    """How one reminder policy did on the holdout."""

    policy: str
    repurchases: int
    hits: int
    fired: int
    wasted: int

    @property
    def hit_rate(self) -> float:
        """Share of holdout repurchases that a reminder preceded within the window."""
        return self.hits / self.repurchases if self.repurchases else 0.0

    @property
    def waste_rate(self) -> float:
        """Share of judged reminders that no purchase followed within the window."""
        return self.wasted / self.fired if self.fired else 0.0


async def _profiles(session: AsyncSession) -> dict[int, Profile]:
    pp, cp = aliased(ConsumptionProfile), aliased(ConsumptionProfile)
    rows = await session.execute(
        select(Product.id, pp, cp)
        .outerjoin(pp, pp.product_id == Product.id)
        .outerjoin(cp, cp.category_id == Product.category_id)
    )

    def profile(row: ConsumptionProfile | None) -> Profile | None:
        if row is None:
            return None
        return Profile(
            row.avg_consumption_days,
            row.buffer_days,
            row.min_days,
            row.max_days,
            Decimal(row.reference_quantity),
        )

    result = {}
    for product_id, own, category in rows.all():
        chosen = choose_profile(profile(own), profile(category))
        if chosen is not None:
            result[product_id] = chosen
    return result


async def _purchases(session: AsyncSession, until: date):
    """(customer, product) → [(date, base quantity)] of counted orders, oldest first."""
    rows = await session.execute(
        select(
            Order.customer_id,
            OrderLine.product_id,
            Order.order_date,
            func.sum(OrderLine.base_quantity),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status.in_(COUNTED_STATUSES), Order.order_date <= until)
        .group_by(Order.customer_id, OrderLine.product_id, Order.order_date)
        .order_by(Order.customer_id, OrderLine.product_id, Order.order_date)
    )
    chains: dict[tuple[int, int], list[tuple[date, Decimal]]] = defaultdict(list)
    for customer_id, product_id, day, quantity in rows.all():
        chains[(customer_id, product_id)].append((day, Decimal(quantity)))
    return chains


async def _transaction_days(session: AsyncSession, until: date) -> dict[int, list[date]]:
    rows = await session.execute(
        select(Order.customer_id, Order.order_date)
        .distinct()
        .where(Order.status.in_(COUNTED_STATUSES), Order.order_date <= until)
        .order_by(Order.customer_id, Order.order_date)
    )
    days: dict[int, list[date]] = defaultdict(list)
    for customer_id, day in rows.all():
        days[customer_id].append(day)
    return days


async def replay_reminders(
    session: AsyncSession,
    params: BgNbdParams,
    calibration_end: date,
    holdout_end: date,
    window_days: int,
    cfg: PredictionsConfig,
    rhythm: LearnedRhythm | None = None,
) -> tuple[list[PolicyScore], list[str]]:
    """Score the three reminder policies on the holdout; also notes on what was left out."""
    rhythm = rhythm or LearnedRhythm()
    profiles = await _profiles(session)
    chains = await _purchases(session, holdout_end)
    tx_days = await _transaction_days(session, holdout_end)
    window = timedelta(days=window_days)
    judged_until = holdout_end - window
    # one entry per scheduled reminder: (next purchase or None, fixed, learned, alive inputs)
    nexts: list[date | None] = []
    fixed: list[date] = []
    learned: list[date] = []
    alive_inputs: list[tuple[float, float, float]] = []
    skipped = 0
    for (customer_id, product_id), purchases in chains.items():
        profile = profiles.get(product_id)
        if profile is None:
            skipped += 1
            continue
        days_of_customer = tx_days[customer_id]
        first = days_of_customer[0]
        dates = [d for d, _ in purchases]
        for k, (day, quantity) in enumerate(purchases):
            nxt = dates[k + 1] if k + 1 < len(dates) else None
            if nxt is not None and nxt <= calibration_end:
                continue  # bought again before the holdout: this reminder never reaches it
            base = consumption_days(profile, quantity)
            own, _ = learned_days(
                base, purchase_intervals(dates[: k + 1]), rhythm, profile.min_days, profile.max_days
            )
            fixed_date = day + timedelta(days=base - profile.buffer_days)
            learned_date = day + timedelta(days=own - profile.buffer_days)
            nexts.append(nxt)
            fixed.append(fixed_date)
            learned.append(learned_date)
            x_k = float(bisect_right(days_of_customer, day) - 1)  # repeat days known by then
            alive_inputs.append(
                (x_k, float((day - first).days), float((learned_date - first).days))
            )
    notes = []
    if skipped:
        notes.append(
            f"{skipped} customer-product histories have no consumption profile: not scored"
        )
    if not nexts:
        return [PolicyScore(p, 0, 0, 0, 0) for p in POLICIES], notes
    x, t_x, T = (np.array(col) for col in zip(*alive_inputs, strict=True))
    alive = bgnbd.p_alive(params, x, t_x, np.maximum(T, t_x)) >= cfg.p_alive_churned
    gated: list[date | None] = [d if ok else None for d, ok in zip(learned, alive, strict=True)]
    reminder_lists: list[list[date | None]] = [list(fixed), list(learned), gated]
    scores = [
        _score(name, nexts, reminders, calibration_end, judged_until, window)
        for name, reminders in zip(POLICIES, reminder_lists, strict=True)
    ]
    return scores, notes


def _score(
    name: str,
    nexts: list[date | None],
    reminders: list[date | None],
    calibration_end: date,
    judged_until: date,
    window: timedelta,
) -> PolicyScore:
    repurchases = hits = fired = wasted = 0
    for nxt, reminder in zip(nexts, reminders, strict=True):
        if nxt is not None and nxt > calibration_end:
            repurchases += 1
            if reminder is not None and reminder <= nxt <= reminder + window:
                hits += 1
        if reminder is None or (nxt is not None and nxt < reminder):
            continue  # not sent, or bought before it was due (suppressed)
        if not calibration_end < reminder <= judged_until:
            continue
        fired += 1
        if nxt is None or nxt > reminder + window:
            wasted += 1
    return PolicyScore(name, repurchases, hits, fired, wasted)
