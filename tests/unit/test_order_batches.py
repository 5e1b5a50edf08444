"""Order batches: what the parser hands the writer, in the driver's form, and back again."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.driver_values import DriverValues
from core.ingest.drafts import OrderBatch, product_info
from core.ingest.order_feed import decode_frame, encode_frame
from core.ingest.orders import OrderLines
from core.ingest.report import ImportReport

D = Decimal
PRODUCTS = {
    "RICE-5KG": product_info(1, "RICE-5KG", "kg", D(5)),
    "OIL-1L": product_info(2, "OIL-1L", "l", D(1)),
}


def row(order_id: str, sku: str, quantity: str, unit: str = "", price: str = "450") -> tuple:
    """An orders.csv row in ORDER_COLUMNS order."""
    return (order_id, "2025-01-05T10:30", sku, quantity, price, "01711000001", "", unit, "", "")


def parse(
    rows: list[tuple], native: bool = False, customers: dict[str, int] | None = None
) -> tuple[OrderBatch, ImportReport]:
    report = ImportReport(kind="orders", source="test")
    parser = OrderLines(PRODUCTS, report, native=native, customers=customers)
    for line, values in enumerate(rows, start=2):
        parser.add(line, values)
    return parser.take_batch(keep_last=False), report


def orders_of(batch: OrderBatch) -> dict[str, list[tuple]]:
    """Each order's lines as (line_no, values…), found through `k - first`."""
    found: dict[str, list[tuple]] = {o[0]: [] for o in batch.orders}
    for k, *values in batch.lines:
        found[batch.orders[k - batch.first][0]].append(tuple(values))
    return found


def test_a_batch_holds_driver_values_and_numbers_each_orders_lines() -> None:
    batch, report = parse([
        row("A", "RICE-5KG", "2", "pack"),
        row("B", "OIL-1L", "1", "l", "320"),
        row("A", "OIL-1L", "১.৫", "লিটার", "320"),
    ])  # fmt: skip
    assert report.rejected == []
    assert batch.orders == [
        ("A", "+8801711000001", None, "2025-01-05 04:30:00.000000", "2025-01-05", "delivered",
         1380.0, None, 2, None),
        ("B", "+8801711000001", None, "2025-01-05 04:30:00.000000", "2025-01-05", "delivered",
         320.0, None, 1, None),
    ]  # fmt: skip
    assert orders_of(batch) == {
        "A": [(1, 1, 2.0, "pack", 10000.0, 450.0, 900.0), (2, 2, 1.5, "l", 1500.0, 320.0, 480.0)],
        "B": [(1, 2, 1.0, "l", 1000.0, 320.0, 320.0)],
    }
    assert batch.line_numbers == [2, 4, 3]
    assert batch.starts() == [0, 2, 3]


def test_a_batch_carries_the_customer_of_a_phone_the_parser_knows() -> None:
    known = row("A", "RICE-5KG", "1")
    unknown = ("B", "2025-01-05", "RICE-5KG", "1", "450", "01811000002", "", "", "", "")
    by_ref = ("C", "2025-01-05", "RICE-5KG", "1", "450", "", "C-1", "", "", "")
    batch, _ = parse([known, unknown, by_ref], customers={"+8801711000001": 7})
    assert [(o[0], o[9]) for o in batch.orders] == [("A", 7), ("B", None), ("C", None)]


def test_orders_dropped_from_a_batch_leave_no_gap_in_its_numbers() -> None:
    batch, report = parse([
        row("A", "RICE-5KG", "1"),
        row("B", "RICE-5KG", "1"),
        row("C", "RICE-5KG", "1"),
        row("B", "NOPE", "1"),  # B fails, and with it its first line
        row("D", "OIL-1L", "1"),
    ])  # fmt: skip
    assert [r.line for r in report.rejected] == [5, 3]
    assert [o[0] for o in batch.orders] == ["A", "C", "D"]
    ks = [k - batch.first for k, *_ in batch.lines]
    assert ks == [0, 1, 2]
    assert batch.line_numbers == [2, 4, 6]


def test_only_picks_orders_and_numbers_them_from_zero() -> None:
    batch, _ = parse(
        [row("A", "RICE-5KG", "1"), row("B", "OIL-1L", "2"), row("B", "RICE-5KG", "3")]
    )
    assert batch.only([0, 1]) is batch
    picked = batch.only([1])
    assert picked.orders == [batch.orders[1]] and picked.first == 0
    assert [line[:2] for line in picked.lines] == [(0, 1), (0, 2)]
    assert picked.line_numbers == [3, 4]


@pytest.mark.parametrize("native", [False, True])
def test_a_draft_comes_back_from_a_batch_with_python_values(native: bool) -> None:
    batch, _ = parse([row("A", "RICE-5KG", "2.5", "kg", "90.25"), row("A", "OIL-1L", "3")], native)
    draft = batch.draft(0, 0, DriverValues(native))
    assert draft.external_id == "A" and draft.phone == "+8801711000001"
    assert draft.ordered_at == datetime(2025, 1, 5, 4, 30, tzinfo=UTC)
    assert draft.order_date == date(2025, 1, 5)
    assert draft.lines == [
        (2, (1, D("2.5"), "kg", D(2500), D("90.25"), D("225.63"))),
        (3, (2, D(3), "l", D(3000), D(450), D(1350))),
    ]
    assert draft.total == D("1575.63")


@given(
    st.decimals(min_value=0, max_value=D(10) ** 10, places=2, allow_nan=False),
    st.decimals(min_value=0, max_value=D(10) ** 9, places=3, allow_nan=False),
)
def test_driver_values_read_back_the_decimals_they_were_given(price: D, quantity: D) -> None:
    values = DriverValues(native=False)
    assert values.from_decimal(values.decimal(price)) == price
    assert values.from_decimal(values.decimal(quantity)) == quantity
    at = datetime(2025, 1, 5, 4, 30, 15, 123, tzinfo=UTC)
    assert values.from_instant(values.instant(at)) == at
    assert values.from_day(values.day(date(2025, 1, 5))) == date(2025, 1, 5)


@pytest.mark.parametrize("native", [False, True])
def test_a_batch_crosses_between_processes_as_it_left(native: bool) -> None:
    batch, _ = parse([row("A", "RICE-5KG", "2", "pack"), row("B", "OIL-1L", "1")], native)
    fields = (batch.orders, batch.lines, batch.line_numbers, batch.first, batch.again)
    data = encode_frame(("batch", fields, [(3, "why")], ["warning"], 10, 20), native)
    assert data[:1] == (b"p" if native else b"m")  # marshal: plain values only
    kind, got, rejected, warnings, done, total = decode_frame(data)
    assert OrderBatch(*got) == batch
    assert (kind, rejected, warnings, done, total) == ("batch", [(3, "why")], ["warning"], 10, 20)
