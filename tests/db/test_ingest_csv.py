"""The CSV door of the ERP import, on SQLite and PostgreSQL.

A good shop (tests/data/ingest), the same files again (nothing changes), a bad file with many
kinds of bad rows (each with its line and reason), refused files, a status change, and the
customers' aggregates on a literal fixture.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

import core.ingest.orders as orders_module
from core.ingest import ImportReport, import_customers, import_orders, import_products
from core.models import Category, ConsentEvent, Customer, Order, OrderLine, Product

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"
D = Decimal


async def load(session: AsyncSession, importer: Any, data: bytes | str, name: str) -> ImportReport:
    """Run one importer on in-memory CSV content in its own committed transaction."""
    raw = data.encode() if isinstance(data, str) else data
    await session.commit()  # end the read transaction the assertions opened
    async with session.begin():
        report: ImportReport = await importer(session, io.BytesIO(raw), name)
    return report


async def load_shop(session: AsyncSession) -> list[ImportReport]:
    reports = []
    for importer, name in (
        (import_products, "products.csv"),
        (import_customers, "customers.csv"),
        (import_orders, "orders.csv"),
    ):
        reports.append(await load(session, importer, (DATA / name).read_bytes(), name))
    return reports


async def customer(session: AsyncSession, phone: str) -> Customer:
    found = await session.scalar(select(Customer).where(Customer.phone == phone))
    assert found is not None, phone
    await session.refresh(found)
    return found


async def order(session: AsyncSession, external_id: str) -> Order:
    found = await session.scalar(select(Order).where(Order.external_id == external_id))
    assert found is not None, external_id
    await session.refresh(found)
    return found


async def lines_of(session: AsyncSession, external_id: str) -> list[tuple[Any, ...]]:
    rows = await session.execute(
        select(Product.sku, OrderLine.line_no, OrderLine.quantity, OrderLine.unit)
        .add_columns(OrderLine.base_quantity, OrderLine.unit_price, OrderLine.amount)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(Order.external_id == external_id)
        .order_by(OrderLine.line_no)
    )
    return [tuple(r) for r in rows]


async def snapshot(session: AsyncSession) -> dict[str, Any]:
    """Everything an import may touch, to compare before and after."""
    session.expire_all()

    async def rows(*columns: Any) -> list[tuple[Any, ...]]:
        result = await session.execute(select(*columns).order_by(columns[0]))
        return [tuple(r) for r in result]

    return {
        "customers": await rows(
            Customer.id, Customer.phone, Customer.name, Customer.customer_ref,
            Customer.marketing_consent, Customer.referred_by_id, Customer.first_order_date,
            Customer.last_order_date, Customer.order_count, Customer.total_spend,
            Customer.avg_days_between_orders, Customer.created_at,
        ),
        "orders": await rows(
            Order.id, Order.external_id, Order.status, Order.total, Order.coupon_code,
            Order.ordered_at, Order.order_date, Order.created_at, Order.updated_at,
        ),
        "lines": await rows(OrderLine.id, OrderLine.order_id, OrderLine.line_no, OrderLine.amount),
        "products": await rows(Product.id, Product.sku, Product.price, Product.category_id),
        "categories": await rows(Category.id, Category.code),
        "consent": await rows(ConsentEvent.id, ConsentEvent.customer_id, ConsentEvent.kind),
    }  # fmt: skip


async def test_a_good_shop_imports_exactly(session: AsyncSession) -> None:
    products, customers, orders = await load_shop(session)

    assert (products.accepted, products.created, products.rejected) == (3, 3, [])
    assert products.warnings == ["unknown columns ignored: colour"]
    oil = await session.scalar(select(Product).where(Product.sku == "OIL-1L"))
    assert oil is not None and (oil.unit, oil.pack_size, oil.price) == ("l", D(1), D(320))
    codes = await session.scalars(select(Category.code).order_by(Category.code))
    assert list(codes) == ["eggs", "oil", "rice"]

    assert (customers.accepted, customers.created, customers.rejected) == (3, 3, [])
    rahima = await customer(session, "+8801711000001")
    karim = await customer(session, "+8801811000002")
    nasrin = await customer(session, "+8801911000003")  # written with Bangla digits
    assert (rahima.name, rahima.customer_ref, rahima.district, rahima.city) == (
        "Rahima Begum", "C-1", "Dhaka", "Mirpur",
    )  # fmt: skip
    assert rahima.birthday == date(1985, 4, 12)
    assert rahima.created_at == datetime(2024, 6, 1, 6, 0, tzinfo=UTC)  # local noon
    assert (karim.language, karim.marketing_consent) == ("en", False)
    assert karim.referred_by_id == nasrin.id  # referred by a customer further down the file
    assert nasrin.referred_by_id == rahima.id
    assert nasrin.marketing_consent is True
    events = await session.execute(
        select(ConsentEvent.customer_id, ConsentEvent.kind, ConsentEvent.source).order_by(
            ConsentEvent.customer_id
        )
    )
    assert [tuple(e) for e in events] == [
        (rahima.id, "opt_in", "import"),
        (karim.id, "opt_out", "import"),
    ]

    assert orders.rejected == []
    assert (orders.accepted, orders.created, orders.updated, orders.unchanged) == (6, 5, 0, 0)
    assert orders.customers_created == 1
    assert len(orders.order_ids_created) == 5

    o1 = await order(session, "O1")
    assert (o1.total, o1.status, o1.order_date) == (D(1090), "delivered", date(2025, 1, 1))
    assert o1.ordered_at == datetime(2025, 1, 1, 6, 0, tzinfo=UTC)
    assert await lines_of(session, "O1") == [
        ("RICE-5KG", 1, D(1), "pack", D(5000), D(450), D(450)),
        ("OIL-1L", 2, D(2), "l", D(2000), D(320), D(640)),
    ]
    o2 = await order(session, "O2")
    assert (o2.customer_id, o2.coupon_code) == (rahima.id, "WELCOME10")
    assert o2.ordered_at == datetime(2025, 1, 21, 3, 30, tzinfo=UTC)  # 09:30 in Dhaka
    assert await lines_of(session, "O2") == [("RICE-5KG", 1, D(5), "kg", D(5000), D(90), D(450))]
    assert await lines_of(session, "O3") == [("EGG-12", 1, D(2), "pack", D(24), D(170), D(340))]
    assert await lines_of(session, "O4") == [("OIL-1L", 1, D(1), "l", D(1000), D(320), D(320))]
    o5 = await order(session, "O5")
    assert o5.ordered_at == datetime(2025, 1, 15, 23, 30, tzinfo=UTC)
    assert o5.order_date == date(2025, 1, 16)  # already the 16th in Dhaka
    assert (o5.status, o5.total) == ("pending", D(900))
    newcomer = await customer(session, "+8801611000004")
    assert (newcomer.name, o5.customer_id) == ("", newcomer.id)
    assert (newcomer.language, newcomer.marketing_consent, newcomer.tier) == ("bn", True, "none")
    assert newcomer.created_at > datetime(2025, 1, 1, tzinfo=UTC)


async def test_customer_aggregates_are_exact(session: AsyncSession) -> None:
    await load_shop(session)
    rahima = await customer(session, "+8801711000001")
    # O1 (Jan 1), O2 (Jan 21), O3 (Feb 10) count; O4 is cancelled
    assert rahima.order_count == 3
    assert rahima.total_spend == D("1880.00")
    assert (rahima.first_order_date, rahima.last_order_date) == (
        date(2025, 1, 1),
        date(2025, 2, 10),
    )
    assert rahima.avg_days_between_orders == pytest.approx(20.0)
    newcomer = await customer(session, "+8801611000004")  # one pending order
    assert (newcomer.order_count, newcomer.total_spend) == (1, D(900))
    assert newcomer.first_order_date == newcomer.last_order_date == date(2025, 1, 16)
    assert newcomer.avg_days_between_orders is None
    karim = await customer(session, "+8801811000002")
    assert (karim.order_count, karim.total_spend, karim.first_order_date) == (0, D(0), None)


async def test_the_same_files_again_change_nothing(session: AsyncSession) -> None:
    await load_shop(session)
    before = await snapshot(session)
    products, customers, orders = await load_shop(session)
    assert await snapshot(session) == before
    assert (products.created, products.updated, products.unchanged) == (0, 0, 3)
    assert (customers.created, customers.updated, customers.unchanged) == (0, 0, 3)
    assert (orders.created, orders.updated, orders.unchanged) == (0, 0, 5)
    assert orders.order_ids_created == orders.order_ids_changed == []
    assert orders.customers_created == 0


async def test_a_changed_status_updates_the_order_and_the_aggregates(
    session: AsyncSession,
) -> None:
    await load_shop(session)
    before = await snapshot(session)
    o3 = await order(session, "O3")
    text = (
        (DATA / "orders.csv")
        .read_text()
        .replace(
            "O3,8801711000001,,2025-02-10,EGG-12,2,pack,170,,",
            "O3,8801711000001,,2025-02-10,EGG-12,2,pack,170,,returned",
        )
    )
    report = await load(session, import_orders, text, "orders.csv")
    assert (report.created, report.updated, report.unchanged) == (0, 1, 4)
    assert report.order_ids_changed == [o3.id]
    after = await snapshot(session)
    changed = [a for a, b in zip(after["orders"], before["orders"], strict=True) if a != b]
    assert [(row[1], row[2]) for row in changed] == [("O3", "returned")]
    assert changed[0][8] > before["orders"][2][8]  # updated_at moved, only for O3
    rahima = await customer(session, "+8801711000001")
    assert (rahima.order_count, rahima.total_spend) == (2, D(1540))
    assert rahima.last_order_date == date(2025, 1, 21)
    assert rahima.avg_days_between_orders == pytest.approx(20.0)


async def test_changed_lines_replace_the_stored_lines(session: AsyncSession) -> None:
    await load_shop(session)
    text = (
        (DATA / "orders.csv")
        .read_text()
        .replace(
            "O1,01711000001,,2025-01-01,OIL-1L,2,l,320,,",
            "O1,01711000001,,2025-01-01,OIL-1L,3,l,320,,",
        )
    )
    report = await load(session, import_orders, text, "orders.csv")
    assert (report.updated, report.unchanged) == (1, 4)
    assert (await order(session, "O1")).total == D(1410)
    assert [x[2] for x in await lines_of(session, "O1")] == [D(1), D(3)]


BAD_ORDERS = (
    "order_id,phone,ordered_at,sku,quantity,unit,unit_price,coupon_code\n"  # 1
    "B1,01711000001,2025-01-05,RICE-5KG,1,pack,450,\n"  # 2 fine
    "B2,01711000001,2025-01-05,NOPE-1,1,,10,\n"  # 3 unknown product
    "B3,12345,2025-01-05,RICE-5KG,1,pack,450,\n"  # 4 bad phone
    "B4,01711000001,2025-01-05,RICE-5KG,-1,pack,450,\n"  # 5 negative quantity
    "B5,01711000001,2025-01-05,RICE-5KG,0,pack,450,\n"  # 6 zero quantity
    "B6,01711000001,2025-01-05,RICE-5KG,1,bag,450,\n"  # 7 unknown unit
    "B7,01711000001,2025-13-45,RICE-5KG,1,pack,450,\n"  # 8 bad date
    "B8,01711000001,2025-01-05,RICE-5KG,1,pack,450,CAF\xc9\n"  # 9 not UTF-8 (Latin-1 É)
    "B1,01711000001,2025-01-05,RICE-5KG,1,pack,450,\n"  # 10 duplicate of line 2
    "B9,০১৭১১০০০০০৩,২০২৫-০১-০৫,OIL-1L,২,লিটার,৩২০,\n"  # 11 fine: Bangla digits and unit
    "B10,01711000001,2025-01-05,OIL-1L,1,kg,320,\n"  # 12 kg of an oil
    "B11,01711000001,2025-01-05,OIL-1L,1,l,free,\n"  # 13 price not a number
    "B12,01711000001,2025-01-05,RICE-5KG,1,pack,450,\n"  # 14 fine, but line 15 spoils B12
    "B12,01711000001,2025-01-06,OIL-1L,1,l,320,\n"  # 15 another date for the same order
    "B13,01711000001,2025-01-05,RICE-5KG,1,pack,450,\n"  # 16 fine
    ",,,,,,,\n"  # 17 an empty row: skipped
    "B14,01711000001,2025-01-05,RICE-5KG,1,pack\n"  # 18 too few fields
)


async def test_a_bad_file_keeps_the_good_rows_and_says_why_for_each_bad_one(
    session: AsyncSession,
) -> None:
    await load(session, import_products, (DATA / "products.csv").read_bytes(), "products.csv")
    raw = BAD_ORDERS.encode("utf-8").replace("CAFÉ".encode(), b"CAF\xc9")
    report = await load(session, import_orders, raw, "bad.csv")
    assert report.ok
    assert [(r.line, r.reason) for r in report.rejected] == [
        (3, "unknown product sku 'NOPE-1'"),
        (4, "phone number '12345' is not a valid Bangladeshi number "
            "(a mobile number is 01 and 9 more digits)"),
        (5, "quantity '-1' must be more than zero"),
        (6, "quantity '0' must be more than zero"),
        (7, "unknown unit 'bag' (use one of g, kg, ml, l, pcs, pack)"),
        (8, "ordered_at '2025-13-45' is not a date (write YYYY-MM-DD or YYYY-MM-DDTHH:MM)"),
        (9, "line 9 is not UTF-8 text (byte 0xC9 at position 50); save the file as UTF-8"),
        (10, "duplicate line: same as line 2 of order B1"),
        (12, "unit 'kg' measures weight, but the product is sold by volume (l)"),
        (13, "unit_price 'free' is not a number"),
        (15, "order B12: ordered_at differs from line 14"),
        (14, "order B12 not imported: line 15 was rejected"),
        (18, "the row has 6 fields but the header has 8"),
    ]  # fmt: skip
    stored = await session.scalars(select(Order.external_id).order_by(Order.external_id))
    assert list(stored) == ["B1", "B13", "B9"]
    assert (report.accepted, report.created) == (3, 3)
    assert await lines_of(session, "B9") == [("OIL-1L", 1, D(2), "l", D(2000), D(320), D(640))]
    assert await lines_of(session, "B1") == [("RICE-5KG", 1, D(1), "pack", D(5000), D(450), D(450))]
    assert await session.scalar(select(func.count()).select_from(Customer)) == 2


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty: it needs a header row and at least one data row"),
        (b"\n\n", "the file is empty: it needs a header row and at least one data row"),
        (
            b"order_id,phone,ordered_at,sku,unit_price\nX1,01711000001,2025-01-01,RICE-5KG,450\n",
            "required column quantity missing from the header "
            "(found: order_id, phone, ordered_at, sku, unit_price)",
        ),
        (
            b"order_id,ordered_at,sku,quantity,unit_price\nX1,2025-01-01,RICE-5KG,1,450\n",
            "the header needs a column phone or customer_ref",
        ),
        (
            b"order_id,phone,ordered_at,sku,quantity,unit_price,Phone\n",
            "column 'phone' appears twice in the header",
        ),
        (
            b"order_id,t\xe9l\xe9phone,ordered_at,sku,quantity,unit_price\n",
            "the header: line 1 is not UTF-8 text (byte 0xE9 at position 11); "
            "save the file as UTF-8",
        ),
    ],
)
async def test_a_file_without_its_required_columns_is_refused_whole(
    session: AsyncSession, content: bytes, reason: str
) -> None:
    await load(session, import_products, (DATA / "products.csv").read_bytes(), "products.csv")
    report = await load(session, import_orders, content, "orders.csv")
    assert report.refused == reason
    assert not report.ok
    assert await session.scalar(select(func.count()).select_from(Order)) == 0


async def test_lines_of_one_order_far_apart_in_the_file_make_one_order(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(orders_module, "BATCH_ORDERS", 1)  # every order its own batch
    await load(session, import_products, (DATA / "products.csv").read_bytes(), "products.csv")
    text = (
        "order_id,phone,ordered_at,sku,quantity,unit,unit_price\n"
        "S1,01711000001,2025-01-05,RICE-5KG,1,pack,450\n"
        "S2,01711000001,2025-01-06,OIL-1L,1,l,320\n"
        "S3,01711000001,2025-01-07,OIL-1L,1,l,320\n"
        "S4,01711000001,2025-01-08,OIL-1L,1,l,320\n"
        "S1,01711000001,2025-01-05,EGG-12,1,pack,170\n"
        "S1,01711000001,2025-01-05,RICE-5KG,1,pack,450\n"
    )
    report = await load(session, import_orders, text, "orders.csv")
    assert [(r.line, r.reason[:40]) for r in report.rejected] == [
        (7, "duplicate line: order S1 already has it ")
    ]
    assert (report.accepted, report.created, report.updated) == (5, 4, 0)
    assert [x[0] for x in await lines_of(session, "S1")] == ["RICE-5KG", "EGG-12"]
    assert (await order(session, "S1")).total == D(620)
    again = await load(session, import_orders, text, "orders.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)


CUSTOMERS_BAD = (
    "phone,name,customer_ref,birthday,language,marketing_consent,referred_by\n"  # 1
    "01711000001,Rahima,C-1,,,,\n"  # 2 fine
    "01711-000001,Rahima again,,,,,\n"  # 3 same phone written differently
    "0171100,Short,,,,,\n"  # 4 bad phone
    "01811000002,Karim,C-1,,,,\n"  # 5 ref already on line 2
    "01911000003,Nasrin,,1990-02-30,,,\n"  # 6 bad birthday
    "01611000004,Abul,,,fr,,\n"  # 7 language
    "01511000005,Salma,,,,maybe,\n"  # 8 consent
    "01311000006,Jamal,,,,,01999999999\n"  # 9 fine; unknown referrer is a warning
)


async def test_customer_rows_are_checked_and_consent_is_logged_only_on_change(
    session: AsyncSession,
) -> None:
    report = await load(session, import_customers, CUSTOMERS_BAD, "customers.csv")
    assert [(r.line, r.reason) for r in report.rejected] == [
        (3, "duplicate phone +8801711000001: already on line 2"),
        (4, "phone number '0171100' is not a valid Bangladeshi number "
            "(a mobile number is 01 and 9 more digits)"),
        (5, "duplicate customer_ref 'C-1': already on line 2"),
        (6, "birthday '1990-02-30' is not a date (write YYYY-MM-DD)"),
        (7, "language 'fr' is not bn or en"),
        (8, "marketing_consent 'maybe' is not yes or no"),
    ]  # fmt: skip
    assert report.warnings == ["line 9: referred_by '01999999999' is not a known customer"]
    assert (report.accepted, report.created) == (2, 2)
    assert await session.scalar(select(func.count()).select_from(ConsentEvent)) == 0

    first = "phone,name,marketing_consent\n01711000001,Rahima,yes\n"
    for _ in range(2):
        again = await load(session, import_customers, first, "customers.csv")
    assert (again.updated, again.unchanged) == (0, 1)
    changed = await load(
        session, import_customers, "phone,name,marketing_consent\n01711000001,Rahima,no\n", "c.csv"
    )
    assert changed.updated == 1
    kinds = await session.scalars(select(ConsentEvent.kind).order_by(ConsentEvent.id))
    assert list(kinds) == ["opt_out"]  # consent was already yes: only the change is logged
    assert (await customer(session, "+8801711000001")).marketing_consent is False


async def test_a_product_change_updates_and_a_bad_product_row_is_refused(
    session: AsyncSession,
) -> None:
    await load(session, import_products, (DATA / "products.csv").read_bytes(), "products.csv")
    report = await load(
        session,
        import_products,
        "sku,name,category,pack_size,unit,price\n"
        "RICE-5KG,Miniket rice 5 kg,rice,5,kg,470\n"
        "HONEY-500G,Honey 500 g,honey,500,g,650\n"
        "BAD-1,Bad,rice,5,pack,10\n"
        "BAD-2,Bad,rice,0,kg,10\n",
        "products.csv",
    )
    assert [(r.line, r.reason) for r in report.rejected] == [
        (4, "unit 'pack' is not a product unit (use g, kg, ml, l, pcs)"),
        (5, "pack_size '0' must be more than zero"),
    ]
    assert (report.created, report.updated) == (1, 1)
    rice = await session.scalar(select(Product).where(Product.sku == "RICE-5KG"))
    assert rice is not None and rice.price == D(470) and rice.name_bn == "মিনিকেট চাল ৫ কেজি"
    assert "honey" in set(await session.scalars(select(Category.code)))


async def test_an_order_for_an_unknown_customer_ref_is_refused_but_a_phone_creates_one(
    session: AsyncSession,
) -> None:
    await load(session, import_products, (DATA / "products.csv").read_bytes(), "products.csv")
    report = await load(
        session,
        import_orders,
        "order_id,customer_ref,phone,ordered_at,sku,quantity,unit_price\n"
        "R1,C-404,,2025-01-05,EGG-12,12,14.17\n"
        "R2,C-405,01711000009,2025-01-05,EGG-12,12,14.17\n",
        "orders.csv",
    )
    assert [(r.line, r.reason) for r in report.rejected] == [
        (2, "unknown customer_ref 'C-404' for order R1 (give a phone to create the customer)")
    ]
    created = await customer(session, "+8801711000009")
    assert created.customer_ref == "C-405"
    assert (await order(session, "R2")).total == D("170.04")  # 12 × 14.17
