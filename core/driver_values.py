"""Python values in the form the database driver takes them (for bulk inserts).

Apart from `core.bulk` (and SQLAlchemy) so that the orders parser process, which builds rows
in this form, starts without importing SQLAlchemy.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


class DriverValues:
    """Python values as the database driver takes them, for `bulk_insert`.

    asyncpg takes Decimal, date and aware datetime as they are. SQLite stores what SQLAlchemy's
    own types would store: a float for a Numeric, ISO text for a Date, and naive UTC text with
    microseconds for a UTCDateTime (the format SQLAlchemy reads back).
    """

    def __init__(self, native: bool) -> None:
        self.native = native  # the driver takes Python's values (asyncpg)

    @classmethod
    def of(cls, session: AsyncSession) -> DriverValues:
        """The conversions for the database the session is bound to."""
        return cls(session.get_bind().dialect.name == "postgresql")

    def decimal(self, value: Decimal | None) -> Any:
        if value is None or self.native:
            return value
        return float(value)

    def day(self, value: date | None) -> Any:
        if value is None or self.native:
            return value
        return value.isoformat()

    def instant(self, value: datetime | None) -> Any:
        if value is None or self.native:
            return value
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: instants must be aware")
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def from_decimal(self, value: Any) -> Decimal:
        """The inverse of `decimal`: exact for the up to 15 digits a float holds."""
        if self.native or value is None:
            return cast(Decimal, value)
        return Decimal(repr(value))

    def from_day(self, value: Any) -> date:
        """The inverse of `day`."""
        if self.native or value is None:
            return cast(date, value)
        return date.fromisoformat(value)

    def from_instant(self, value: Any) -> datetime:
        """The inverse of `instant`: an aware UTC datetime."""
        if self.native or value is None:
            return cast(datetime, value)
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
