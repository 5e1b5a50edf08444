"""The parser's shortcuts give what the general code gives: plain CSV blocks, local minutes, when.

Each shortcut exists for speed on large files (README, Benchmarks); these properties pin each
to the slower code it stands in for, on inputs chosen to reach the edges (block boundaries,
quotes and carriage returns, clock changes).
"""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.driver_values import DriverValues
from core.errors import InvalidInput
from core.ingest import reading
from core.ingest.drafts import BatchRows
from core.ingest.fields import LocalMinutes, parse_instant
from core.ingest.reading import Columns, CsvRows, Refused
from core.ingest.report import ImportReport

COLUMNS = Columns(required=("a", "b"), one_of=("c", "d"), optional=("e",))
ROOT = Path(__file__).resolve().parents[2]


def read_all(data: bytes) -> tuple[object, ...]:
    """Everything CsvRows says about a file: header, rows with line numbers, rejections."""
    report = ImportReport(kind="test", source="test")
    try:
        rows = CsvRows(io.BytesIO(data), COLUMNS, report)
    except Refused as exc:
        return ("refused", str(exc))
    found = list(rows)
    return (
        rows.header,
        found,
        [(r.line, r.reason) for r in report.rejected],
        list(report.warnings),
    )


# pieces of CSV text, plain and not: the shortcut must hand over to the csv module exactly
# where the two could differ (a quote, a carriage return), and line numbers must carry on
PIECES = ["a", "b", "1", "১", "x y", "", ",", ",", ",", "\n", "\n", "\r\n", "\r", '"', '""']
HEADERS = ["a,b,c", "A, b ,c,e", "a,b,d,zz", '"a","b","c"', "a,b", "\n\na,b,c"]


@settings(max_examples=300, deadline=None)
@given(
    header=st.sampled_from(HEADERS),
    body=st.lists(
        st.one_of(
            st.lists(st.sampled_from(["1", "2", "ab", "", " x", "৩"]), min_size=2, max_size=5)
            .map(",".join)
            .map(lambda line: line + "\n"),
            st.lists(st.sampled_from(PIECES), max_size=12).map("".join),
        ),
        max_size=25,
    ),
    block=st.sampled_from([1, 3, 8, 40, 1 << 20]),
)
@example(header="a,b,c", body=["1,2,3\n", '"4",5,6\n', "7,8,9\n"], block=8)
@example(header="a,b,c", body=["1,2,3\r\n", "4,5,6\r\n"], block=1 << 20)
def test_plain_blocks_read_as_the_csv_module_reads_them(
    header: str, body: list[str], block: int
) -> None:
    data = (header + "\n" + "".join(body)).encode()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reading, "_BLOCK", block)
        shortcut = read_all(data)
        patch.setattr(reading, "_FIELD_LIMIT", -1)  # no block counts as plain: csv throughout
        assert shortcut == read_all(data)


def reference_instant(text: str, tz: ZoneInfo) -> tuple[datetime, date]:
    """A local `YYYY-MM-DDTHH:MM` in full: the zone's offset at that wall time."""
    instant = datetime.fromisoformat(text).replace(tzinfo=tz).astimezone(UTC)
    return instant, instant.astimezone(tz).date()


@settings(max_examples=500, deadline=None)
@given(
    zone=st.sampled_from(
        ["Asia/Dhaka", "Europe/London", "America/New_York", "Australia/Lord_Howe"]
    ),
    day=st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31)),
    minute=st.integers(min_value=0, max_value=24 * 60 - 1),
)
@example(zone="Asia/Dhaka", day=date(2009, 6, 19), minute=23 * 60)  # Dhaka's 2009 summer time
@example(zone="Europe/London", day=date(2024, 3, 31), minute=60 + 30)  # a skipped hour
@example(zone="Europe/London", day=date(2024, 10, 27), minute=60 + 30)  # a repeated hour
def test_local_minutes_agree_with_the_zone_or_step_aside(zone: str, day: date, minute: int) -> None:
    tz = ZoneInfo(zone)
    text = f"{day.isoformat()}T{minute // 60:02d}:{minute % 60:02d}"
    found = LocalMinutes(tz).parse(text)
    if found is None:  # a date with a clock change: left to the general parser
        return
    assert found == reference_instant(text, tz)
    assert found[0].tzinfo is UTC


def test_local_minutes_match_parse_instant_in_the_shop_zone_across_a_year() -> None:
    minutes = LocalMinutes()
    day = date(2025, 1, 1)
    for n in range(365):
        for clock in ("00:00", "05:59", "06:00", "13:07", "23:59"):
            text = f"{(day + timedelta(days=n)).isoformat()}T{clock}"
            assert minutes.parse(text) == parse_instant(text, "ordered_at")


@pytest.mark.parametrize(
    "text", ["2025-01-05", "2025-01-05 10:30", "2025-01-05T10:30:15", "2025-13-01T10:30",
             "2025-01-05T24:00", "2025-01-05T10:30Z", "২০২৫-০১-০৫T10:30", " 2025-01-05T10:30"],
)  # fmt: skip
def test_local_minutes_leave_every_other_shape_to_parse_instant(text: str) -> None:
    assert LocalMinutes().parse(text) is None


@pytest.mark.parametrize("text", ["0001-01-01T03:00", "9999-12-31T23:00+00:00"])
def test_an_instant_off_the_calendar_is_a_rejected_value_not_a_crash(text: str) -> None:
    with pytest.raises(InvalidInput, match="out of range"):
        parse_instant(text, "ordered_at")


@given(
    st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2040, 12, 31), timezones=st.just(UTC)
    ),
    st.booleans(),
)
def test_driver_text_of_an_instant_is_the_general_formatters(
    instant: datetime, whole_minute: bool
) -> None:
    if whole_minute:  # the shortcut's case: a file's date-times carry no seconds
        instant = instant.replace(second=0, microsecond=0)
    rows = BatchRows(native=False)
    values = DriverValues(native=False)
    day = instant.date()
    assert rows.when(instant, day) == (values.instant(instant), values.day(day))


def test_the_parser_process_starts_without_sqlalchemy_or_the_models() -> None:
    """The worker's imports are on the import's critical path (nothing is written before its
    first batch): it imports only the parsing code, not SQLAlchemy or the models."""
    probe = (
        "import sys, core.ingest.parse_worker; "
        "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith('sqlalchemy')} "
        "| {m for m in sys.modules if m.startswith('core.models')}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"
