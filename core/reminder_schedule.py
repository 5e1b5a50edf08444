"""The reminder schedule: on a normal day the reminder step looks only at the customers who can
produce something today, with the same output as looking at everyone.

Each run ends by storing, per customer it looked at, `next_check`: the earliest later date on
which their purchases could give a reminder or a late touch (`next_check_of` for the keys that
were candidates today, one set-based MIN over the latest lines for the others; NULL when none
can without a new order). The next run (INCREMENTAL) looks at the customers whose `next_check`
has come, whose orders were created or changed since the last run started (`orders.updated_at`,
with a margin for imports committed while it ran), and whose eligibility flags or order count
differ from those stored (a consent change, an order moved to another customer). A replay of an
earlier date, a changed rule (the fingerprint of the consumption config and consent policy) or
a database without schedule looks at everyone (FULL) and rewrites the whole schedule.

A date too early only costs a needless look; a date too late would lose a reminder, so every
rule below errs early. The step runs in one transaction: schedule, meta and reminders commit or
roll back together.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import CreateIndex, CreateTable, DropTable

from core.clock import system_clock
from core.db import is_postgres
from core.models import Customer, Order, ReminderSchedule, ReminderScheduleMeta
from core.reminder_plan import Basket
from core.reminder_query import (
    days_since,
    older_lines,
    recent_lines,
    substitute_category_ids,
)
from core.shopconfig.loader import ShopConfig
from core.sqlbulk import analyze_scratch

# Bump when the rules below change: the next run is then FULL.
RULES_VERSION = 1
# Orders updated this long before the last run started are looked at again: an import stamps
# its orders with the instant it began, just before its transaction (on PostgreSQL the run also
# goes back to the start of the oldest transaction still open then: one that commits after the
# run read the orders is seen the next day). On SQLite a write committed after the run's read
# snapshot makes the run's own writes fail, so nothing is missed there.
WATERMARK_MARGIN = timedelta(minutes=5)

# scratch tables of one run, per connection, created and dropped inside the step's transaction
_evaluated = Table(
    "reminder_evaluated",
    MetaData(),
    Column("customer_id", BigInteger, primary_key=True),
    prefixes=["TEMPORARY"],
)
_latest = Table(
    "reminder_latest",
    MetaData(),
    Column("customer_id", BigInteger, nullable=False),
    Column("pkey", BigInteger, nullable=False),
    Column("line_id", BigInteger, nullable=False),
    Column("product_id", BigInteger, nullable=False),
    Column("category_id", BigInteger, nullable=False),
    Column("order_date", Date, nullable=False),
    Column("base_quantity", Numeric(14, 3), nullable=False),
    Column("n", Integer, nullable=False),
    # the consumption terms (core.reminder_query.recent_lines; NULL: the product has no profile)
    Column("days", Integer),
    Column("buffer_days", Integer),
    Column("min_days", Integer),
    Column("max_days", Integer),
    prefixes=["TEMPORARY"],
)
_older = Table(  # PostgreSQL: the keys' counts before the horizon, indexed once filled
    "reminder_older",
    MetaData(),
    Column("customer_id", BigInteger, nullable=False),
    Column("pkey", BigInteger, nullable=False),
    Column("n", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
_older_key = Index("reminder_older_key", _older.c.customer_id, _older.c.pkey, unique=True)
_checks = Table(
    "reminder_checks",
    MetaData(),
    Column("customer_id", BigInteger, nullable=False),
    Column("days", Integer, nullable=False),  # next check = as_of + days
    prefixes=["TEMPORARY"],
)


@dataclass(frozen=True)
class Candidate:
    """A latest purchase the step's query returned today, with its due date after the rhythm."""

    customer_id: int
    line_id: int
    due_date: date
    due_sent: bool
    oldest: date | None  # a learnable key's oldest purchase date in the lookback


def next_check_of(
    c: Candidate,
    as_of: date,
    late_after: int,
    late_until: int,
    lookback_days: int,
    *,
    sent_due: bool = False,
    sent_late: bool = False,
) -> date | None:
    """The earliest date after as_of on which this purchase could be reminded or late-touched
    (None: never without a new order), given what the step sent for it today.

    A due item is reminded on its due date at the latest (earlier only in a basket of an item
    due sooner, which has its own check); the late touch comes late_after days after the due
    date (and may come until late_until days after it); a learned rhythm changes when the key's
    oldest purchase leaves the lookback."""
    tomorrow = as_of + timedelta(days=1)
    found: list[date] = []
    if not (c.due_sent or sent_due) and c.due_date + timedelta(days=late_after - 1) >= tomorrow:
        found.append(max(tomorrow, c.due_date))
    if not sent_late and c.due_date + timedelta(days=late_until - 1) >= tomorrow:
        found.append(max(tomorrow, c.due_date + timedelta(days=late_after)))
    if c.oldest is not None:
        found.append(max(tomorrow, c.oldest + timedelta(days=lookback_days)))
    return min(found, default=None)


def fingerprint(cfg: ShopConfig) -> str:
    """What the schedule's dates depend on besides the data: a change makes the next run FULL."""
    rules = {
        "version": RULES_VERSION,
        "consumption": cfg.consumption.model_dump(mode="json"),
        "catalog": cfg.catalog.model_dump(mode="json"),
        "consent_policy": cfg.messaging.consent_policy,
    }
    return hashlib.sha256(json.dumps(rules, sort_keys=True).encode()).hexdigest()


def _eligible(cfg: ShopConfig) -> Any:
    """The step query's filter on who may get reminders (the others need no date: a change of
    their flags brings them back)."""
    allowed = and_(Customer.opted_out_at.is_(None), Customer.phone_valid.is_(True))
    if cfg.messaging.consent_policy == "erp_flag":
        allowed = and_(allowed, Customer.marketing_consent.is_(True))
    return allowed


def _plus_days(session: AsyncSession, day: date, days: Any) -> Any:
    if is_postgres(session):
        return cast(literal(day, Date) + cast(days, Integer), Date)
    return func.date(day.isoformat(), func.printf("+%d days", days))


@dataclass
class Schedule:
    """One run of the schedule: open before the step's query, `close` after its baskets."""

    session: AsyncSession
    as_of: date
    cfg: ShopConfig
    full: bool
    started_at: datetime
    latest: Table = _latest
    older: Table | None = None  # PostgreSQL: `older_lines` of the customers looked at
    seen: list[Candidate] = field(default_factory=list)
    evaluated: int = 0

    async def close(self, baskets: Sequence[Basket]) -> int:
        """Store each looked-at customer's next check and the run's meta; drop the scratch
        tables. Returns how many customers were looked at."""
        session, as_of, cc = self.session, self.as_of, self.cfg.consumption
        sent = {(b.kind, i.order_line_id) for b in baskets for i in b.items}
        checks = [
            {"customer_id": c.customer_id, "days": (check - as_of).days}
            for c in self.seen
            if (
                check := next_check_of(
                    c,
                    as_of,
                    cc.late_touch_after_days,
                    cc.late_touch_until_days,
                    cc.lookback_days,
                    sent_due=("due", c.line_id) in sent,
                    sent_late=("late", c.line_id) in sent,
                )
            )
            is not None
        ]
        await _recreate(session, _checks)
        if checks:
            await session.execute(insert(_checks), checks)
        await self._write_schedule()
        await session.execute(delete(ReminderScheduleMeta))
        await session.execute(
            insert(ReminderScheduleMeta).values(
                id=1,
                evaluated_on=as_of,
                orders_seen_at=self.started_at,
                fingerprint=fingerprint(self.cfg),
            )
        )
        for table in (_checks, _latest, _evaluated):
            await session.execute(DropTable(table))
        if self.older is not None:
            await session.execute(DropTable(self.older))
        return self.evaluated

    async def _write_schedule(self) -> None:
        """Replace the schedule rows of the looked-at customers (FULL: every row)."""
        session, as_of, cc = self.session, self.as_of, self.cfg.consumption
        latest = self.latest
        elapsed = days_since(session, as_of, latest.c.order_date)
        early = cc.basket_window_days
        # the first day the query's range admits a key that is not a candidate today: elapsed
        # reaches (min days - buffer - window) for a learnable key, (days - buffer - window)
        # otherwise; the earlier of the two still to come is taken (a needless look at worst;
        # min days ≤ days, so it is the first when that is still to come)
        by_min = latest.c.min_days - latest.c.buffer_days - early - elapsed
        by_days = latest.c.days - latest.c.buffer_days - early - elapsed
        none = cast(literal(None), Integer)
        triggers = union_all(
            select(
                latest.c.customer_id,
                case((by_min > 0, by_min), (by_days > 0, by_days), else_=none).label("days"),
            ),
            select(_checks.c.customer_id, _checks.c.days),
        ).subquery("t")
        soonest = (
            select(triggers.c.customer_id, func.min(triggers.c.days).label("days"))
            .group_by(triggers.c.customer_id)
            .subquery("m")
        )
        rows = select(
            Customer.id,
            case(
                (
                    and_(_eligible(self.cfg), soonest.c.days.is_not(None)),
                    _plus_days(session, as_of, soonest.c.days),
                ),
                else_=None,
            ),
            literal(as_of, Date),
            Customer.opted_out_at.is_not(None),
            Customer.marketing_consent,
            Customer.phone_valid,
            Customer.order_count,
        ).join(soonest, soonest.c.customer_id == Customer.id)
        if self.full:
            await session.execute(delete(ReminderSchedule))
        else:
            await session.execute(
                delete(ReminderSchedule).where(
                    ReminderSchedule.customer_id.in_(select(_evaluated.c.customer_id))
                )
            )
        columns = [
            "customer_id",
            "next_check",
            "evaluated_on",
            "opted_out",
            "marketing_consent",
            "phone_valid",
            "order_count",
        ]
        await session.execute(insert(ReminderSchedule).from_select(columns, rows))


async def _recreate(session: AsyncSession, table: Table) -> None:
    await session.execute(DropTable(table, if_exists=True))
    await session.execute(CreateTable(table))


async def _orders_seen_at(session: AsyncSession) -> datetime:
    """The instant from which the next run looks at changed orders: now, or on PostgreSQL the
    start of the oldest other transaction still open on this database, if earlier."""
    now = system_clock()
    if is_postgres(session):
        oldest = await session.scalar(
            text(
                "SELECT min(xact_start) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
        )
        if oldest is not None and oldest < now:
            return oldest.astimezone(UTC)
    return now


def _changed_since(meta: ReminderScheduleMeta) -> list[Any]:
    """The customers to look at today besides those whose check date came."""
    s, c = ReminderSchedule, Customer
    flags_differ = or_(
        s.opted_out != c.opted_out_at.is_not(None),
        s.marketing_consent != c.marketing_consent,
        s.phone_valid != c.phone_valid,
        s.order_count != c.order_count,
    )
    return [
        select(Order.customer_id).where(Order.updated_at >= meta.orders_seen_at - WATERMARK_MARGIN),
        select(s.customer_id).join(c, c.id == s.customer_id).where(flags_differ),
    ]


async def open_schedule(
    session: AsyncSession, as_of: date, cfg: ShopConfig, *, full: bool = False
) -> Schedule:
    """Decide FULL or INCREMENTAL and put the latest lines of the customers to look at today in
    the scratch table `Schedule.latest` (the step's query reads them from there)."""
    started_at = await _orders_seen_at(session)
    meta = await session.get(ReminderScheduleMeta, 1)
    full = (
        full or meta is None or meta.fingerprint != fingerprint(cfg) or as_of <= meta.evaluated_on
    )
    run = Schedule(session, as_of, cfg, full, started_at)
    cc = cfg.consumption
    substitutes = await substitute_category_ids(session, cc.substitutes_within_category)
    await _recreate(session, _latest)
    await _recreate(session, _evaluated)
    customers: Table | None = None
    if not full:
        assert meta is not None
        due = select(ReminderSchedule.customer_id).where(ReminderSchedule.next_check <= as_of)
        looked_at = union(due, *_changed_since(meta)).subquery("u")
        await session.execute(
            insert(_evaluated).from_select(["customer_id"], select(looked_at.c[0]))
        )
        await analyze_scratch(session, _evaluated)
        customers = _evaluated
        run.evaluated = int(await session.scalar(select(func.count()).select_from(_evaluated)) or 0)
    lines = recent_lines(session, as_of, cfg, substitutes, customers)
    await session.execute(insert(_latest).from_select([c.name for c in _latest.c], lines))
    await analyze_scratch(session, _latest)
    older = older_lines(as_of, cfg, substitutes, customers) if is_postgres(session) else None
    if older is not None:
        await _recreate(session, _older)
        await session.execute(insert(_older).from_select(["customer_id", "pkey", "n"], older))
        await session.execute(CreateIndex(_older_key))  # one sort, not an insert per row
        await analyze_scratch(session, _older)
        run.older = _older
    if full:
        run.evaluated = int(
            await session.scalar(select(func.count(func.distinct(_latest.c.customer_id)))) or 0
        )
    return run
