"""customers.csv: profiles, consent (logged only when it changes) and who referred whom."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.bulk import among, insert_dicts
from core.errors import InvalidInput
from core.ingest.fields import parse_date, parse_instant, parse_language, parse_yes_no, text_field
from core.ingest.reading import Columns
from core.ingest.report import ImportReport
from core.models.customers import ConsentEvent, Customer
from core.phones import normalize_phone

CUSTOMER_COLUMNS = Columns(
    required=("phone", "name"),
    optional=(
        "customer_ref",
        "district",
        "city",
        "birthday",
        "language",
        "referred_by",
        "marketing_consent",
        "created_at",
    ),
)
BATCH_ROWS = 5_000
_PROFILE = ("name", "customer_ref", "district", "city", "birthday", "language", "created_at")
_customers = cast(Table, Customer.__table__)
_consent_events = cast(Table, ConsentEvent.__table__)


@dataclass
class CustomerRow:
    line: int
    phone: str
    name: str
    customer_ref: str | None
    district: str | None
    city: str | None
    birthday: date | None
    language: str | None
    referred_by: str | None
    consent: bool | None
    created_at: datetime | None


def parse_customer(line: int, values: tuple[str, ...]) -> CustomerRow:
    """One customers.csv row, validated (empty optional values are None: keep what is stored)."""
    phone, name, ref, district, city, birthday, language, referred, consent, created = values
    return CustomerRow(
        line=line,
        phone=normalize_phone(phone),
        name=text_field(name, "name", 200),
        customer_ref=text_field(ref, "customer_ref", 100) or None,
        district=text_field(district, "district", 100) or None,
        city=text_field(city, "city", 100) or None,
        birthday=parse_date(birthday, "birthday") if birthday.strip() else None,
        language=parse_language(language) if language.strip() else None,
        referred_by=referred.strip() or None,
        consent=parse_yes_no(consent, "marketing_consent") if consent.strip() else None,
        created_at=parse_instant(created, "created_at")[0] if created.strip() else None,
    )


async def create_customers(
    session: AsyncSession, phones: dict[str, str | None], now: datetime
) -> dict[str, int]:
    """Create customers known only by phone (and ERP ref); the id of each phone, new or not."""
    if not phones:
        return {}
    taken = await _ids_by(session, _customers.c.customer_ref, [r for r in phones.values() if r])
    rows = [
        {"phone": p, "name": "", "customer_ref": r if r and r not in taken else None,
         "created_at": now}
        for p, r in phones.items()
    ]  # fmt: skip
    await insert_dicts(session, _customers, rows, skip_conflicts_on="phone")
    return await _ids_by(session, _customers.c.phone, list(phones))


async def _ids_by(session: AsyncSession, column: Any, keys: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    if keys:
        result = await session.execute(
            select(column, _customers.c.id).where(among(session, column, keys))
        )
        found.update(result.all())
    return found


class CustomerImport:
    """Reads customers.csv rows in batches and writes each batch with a few statements."""

    def __init__(self, session: AsyncSession, report: ImportReport, now: datetime) -> None:
        self.session = session
        self.report = report
        self.now = now
        self.seen_phones: dict[str, int] = {}
        self.seen_refs: dict[str, int] = {}
        # (row, customer id, referrer id stored now) to resolve once the whole file is in
        self.unchanged_ids: set[int] = set()
        self.referrals: list[tuple[CustomerRow, int, int | None]] = []

    async def run(self, rows: Iterable[tuple[int, tuple[str, ...]]]) -> None:
        """Import every row; referrals are resolved once the whole file is in."""
        batch: list[CustomerRow] = []
        for line, values in rows:
            if not any(v.strip() for v in values):
                continue
            try:
                row = parse_customer(line, values)
            except InvalidInput as exc:
                self.report.reject(line, str(exc))
                continue
            if row.phone in self.seen_phones:
                self.report.reject(
                    line,
                    f"duplicate phone {row.phone}: already on line {self.seen_phones[row.phone]}",
                )
                continue
            if row.customer_ref and row.customer_ref in self.seen_refs:
                self.report.reject(
                    line,
                    f"duplicate customer_ref {row.customer_ref!r}: already on line "
                    f"{self.seen_refs[row.customer_ref]}",
                )
                continue
            self.seen_phones[row.phone] = line
            if row.customer_ref:
                self.seen_refs[row.customer_ref] = line
            batch.append(row)
            if len(batch) >= BATCH_ROWS:
                await self._write(batch)
                batch = []
        if batch:
            await self._write(batch)
        await self._resolve_referrals()

    async def _write(self, batch: list[CustomerRow]) -> None:
        existing = {
            c.phone: c
            for c in await self.session.execute(
                select(_customers).where(
                    among(self.session, _customers.c.phone, [r.phone for r in batch])
                )
            )
        }
        ref_owner = await _ids_by(
            self.session,
            _customers.c.customer_ref,
            [r.customer_ref for r in batch if r.customer_ref],
        )
        new: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        events: list[tuple[CustomerRow, bool]] = []
        for row in batch:
            old = existing.get(row.phone)
            owner = ref_owner.get(row.customer_ref or "")
            if owner is not None and (old is None or old.id != owner):
                self.report.reject(
                    row.line, f"customer_ref {row.customer_ref!r} belongs to another customer"
                )
                continue
            self.report.accepted += 1
            if old is None:
                new.append(self._new_values(row))
                if row.consent is not None:
                    events.append((row, row.consent))
                continue
            values = {k: getattr(old, k) if getattr(row, k) is None else getattr(row, k)
                      for k in _PROFILE}  # fmt: skip
            if not row.name:
                values["name"] = old.name
            values["marketing_consent"] = old.marketing_consent
            if row.consent is not None and row.consent != old.marketing_consent:
                if row.consent and old.opted_out_at is not None:
                    self.report.warn(
                        f"line {row.line}: {row.phone} opted out on "
                        f"{old.opted_out_at:%Y-%m-%d}; the file's consent is not applied"
                    )
                else:
                    values["marketing_consent"] = row.consent
                    events.append((row, row.consent))
            if all(getattr(old, k) == v for k, v in values.items()):
                self.report.unchanged += 1
                self.unchanged_ids.add(old.id)
            else:
                changed.append({"b_id": old.id, **values})
            if row.referred_by:
                self.referrals.append((row, old.id, old.referred_by_id))
        if new:
            await insert_dicts(self.session, _customers, new)
            self.report.created += len(new)
        if changed:
            await self.session.execute(
                update(_customers).where(_customers.c.id == bindparam("b_id")), changed
            )
            self.report.updated += len(changed)
        ids = await _ids_by(self.session, _customers.c.phone, [v["phone"] for v in new])
        self.referrals.extend(
            (r, ids[r.phone], None)
            for r in batch
            if r.referred_by and r.phone in ids and r.phone not in existing
        )
        if events:
            await insert_dicts(
                self.session,
                _consent_events,
                [
                    {
                        "customer_id": ids.get(row.phone) or existing[row.phone].id,
                        "kind": "opt_in" if consent else "opt_out",
                        "channel": "all",
                        "source": "import",
                        "occurred_at": self.now,
                        "detail": f"{self.report.source} line {row.line}",
                    }
                    for row, consent in events
                ],
            )

    def _new_values(self, row: CustomerRow) -> dict[str, Any]:
        return {
            "phone": row.phone,
            "name": row.name,
            "customer_ref": row.customer_ref,
            "district": row.district,
            "city": row.city,
            "birthday": row.birthday,
            "language": row.language or "bn",
            "created_at": row.created_at or self.now,
            "marketing_consent": True if row.consent is None else row.consent,
        }

    async def _resolve_referrals(self) -> None:
        if not self.referrals:
            return
        by_phone: dict[str, str] = {}
        for row, _, _ in self.referrals:
            assert row.referred_by is not None
            with contextlib.suppress(InvalidInput):
                by_phone[row.referred_by] = normalize_phone(row.referred_by)
        phones = await _ids_by(self.session, _customers.c.phone, sorted(set(by_phone.values())))
        refs = await _ids_by(
            self.session,
            _customers.c.customer_ref,
            sorted({r.referred_by or "" for r, _, _ in self.referrals} - by_phone.keys()),
        )
        links: list[dict[str, Any]] = []
        for row, customer_id, stored in self.referrals:
            raw = row.referred_by or ""
            referrer = phones.get(by_phone[raw]) if raw in by_phone else refs.get(raw)
            if referrer is None:
                self.report.warn(f"line {row.line}: referred_by {raw!r} is not a known customer")
            elif referrer == customer_id:
                self.report.warn(f"line {row.line}: a customer cannot refer themselves")
            elif referrer != stored:
                links.append({"b_id": customer_id, "referred_by_id": referrer})
                if customer_id in self.unchanged_ids:  # only the referral changed
                    self.unchanged_ids.discard(customer_id)
                    self.report.unchanged -= 1
                    self.report.updated += 1
        if links:
            await self.session.execute(
                update(_customers).where(_customers.c.id == bindparam("b_id")), links
            )
