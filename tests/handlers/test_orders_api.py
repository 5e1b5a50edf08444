"""POST /api/orders and GET /api/openapi.json through a real aiohttp server, on both databases."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import make_session_factory
from core.ingest import import_products
from core.models import Customer, Order, OrderLine
from handlers.api import setup_orders_api

TOKEN = "s3cret-token-for-the-erp-0123456789"
PRODUCTS = Path(__file__).resolve().parents[1] / "data" / "ingest" / "products.csv"
ORDER: dict[str, Any] = {
    "order_id": "API-1",
    "phone": "০১৭১১-০০০০০১",
    "ordered_at": "2025-03-01T10:30:00+06:00",
    "coupon_code": "WELCOME10",
    "lines": [
        {"sku": "RICE-5KG", "quantity": 1, "unit": "pack", "unit_price": "450"},
        {"sku": "OIL-1L", "quantity": "১.৫", "unit": "লিটার", "unit_price": 320},
    ],
}


async def make_client(engine: AsyncEngine, token: str | None) -> TestClient[Any, Any]:
    sessions = make_session_factory(engine)
    async with sessions() as session, session.begin():
        await import_products(session, io.BytesIO(PRODUCTS.read_bytes()), "products.csv")
    app = web.Application()
    setup_orders_api(app, sessions, token)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def client(engine: AsyncEngine) -> AsyncIterator[TestClient[Any, Any]]:
    c = await make_client(engine, TOKEN)
    yield c
    await c.close()


async def count(engine: AsyncEngine, model: Any) -> int:
    async with make_session_factory(engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-wrong-token-wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer ০১২"},
    ],
)
async def test_without_the_right_token_nothing_is_stored(
    client: TestClient[Any, Any], engine: AsyncEngine, headers: dict[str, str]
) -> None:
    response = await client.post("/api/orders", json=ORDER, headers=headers)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert await response.json() == {"error": "missing or wrong bearer token"}
    assert await count(engine, Order) == 0
    assert await count(engine, Customer) == 0


@pytest.mark.parametrize("token", [None, "", "changeme"])
async def test_an_unconfigured_token_answers_503(engine: AsyncEngine, token: str | None) -> None:
    client = await make_client(engine, token)
    try:
        response = await client.post("/api/orders", json=ORDER, headers=auth(token or "x"))
        assert response.status == 503
        assert (await response.json())["error"].startswith("ORDERS_API_TOKEN")
    finally:
        await client.close()
    assert await count(engine, Order) == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            b'{"order_id": "X", ',
            "malformed JSON: Expecting property name enclosed in double quotes",
        ),
        (b"not json", "malformed JSON: Expecting value at line 1 column 1"),
        (b"\xff\xfe", "malformed JSON: the body is not UTF-8"),
        (b"[]", "the body must be an order object or a non-empty list of orders"),
        (b"42", "the body must be an order object or a non-empty list of orders"),
    ],
)
async def test_malformed_json_is_a_400_with_the_reason(
    client: TestClient[Any, Any], engine: AsyncEngine, body: bytes, reason: str
) -> None:
    response = await client.post(
        "/api/orders", data=body, headers={**auth(), "Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["error"].startswith(reason)
    assert await count(engine, Order) == 0


async def test_a_good_order_is_stored_and_the_same_again_changes_nothing(
    client: TestClient[Any, Any], engine: AsyncEngine
) -> None:
    response = await client.post("/api/orders", json=ORDER, headers=auth())
    assert response.status == 200
    report = await response.json()
    assert (report["accepted"], report["created"], report["rejected"]) == (2, 1, [])
    assert report["customers_created"] == 1
    assert len(report["order_ids_created"]) == 1
    async with make_session_factory(engine)() as session:
        order = await session.scalar(select(Order).where(Order.external_id == "API-1"))
        assert order is not None
        assert (order.source, order.total, order.coupon_code) == ("api", Decimal(930), "WELCOME10")
        customer = await session.get(Customer, order.customer_id)
        assert customer is not None and customer.phone == "+8801711000001"
        assert (customer.order_count, customer.total_spend) == (1, Decimal(930))
    assert await count(engine, OrderLine) == 2

    again = await (await client.post("/api/orders", json=[ORDER], headers=auth())).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 1)
    cancelled = {**ORDER, "status": "cancelled"}
    changed = await (await client.post("/api/orders", json=cancelled, headers=auth())).json()
    assert changed["updated"] == 1
    assert changed["order_ids_changed"] == report["order_ids_created"]


async def test_bad_orders_are_reported_by_index_and_good_ones_kept(
    client: TestClient[Any, Any], engine: AsyncEngine
) -> None:
    orders = [
        ORDER,
        {**ORDER, "order_id": "API-2", "lines": [{"sku": "NOPE", "quantity": 1, "unit_price": 1}]},
        {**ORDER, "order_id": "API-3", "phone": "12345"},
        {"order_id": "API-4", "phone": "01711000001", "lines": []},
        "not an order",
        {**ORDER, "order_id": "API-1"},
        {**ORDER, "order_id": "API-7", "lines": [{**ORDER["lines"][0], "quantity": 0}]},
        {**ORDER, "order_id": 8, "customer_ref": None},
    ]
    response = await client.post("/api/orders", json=orders, headers=auth())
    assert response.status == 200
    report = await response.json()
    assert report["rejected"] == [
        {"index": 1, "reason": "lines[0]: unknown product sku 'NOPE'"},
        {
            "index": 2,
            "reason": "phone number '12345' is not a valid Bangladeshi number "
            "(a mobile number is 01 and 9 more digits)",
        },
        {
            "index": 3,
            "reason": "ordered_at: Field required; "
            "lines: List should have at least 1 item after validation, not 0",
        },
        {"index": 4, "reason": "an order must be a JSON object"},
        {"index": 5, "reason": "order_id 'API-1' already given at index 0"},
        {"index": 6, "reason": "lines[0]: quantity '0' must be more than zero"},
    ]
    assert report["created"] == 2
    async with make_session_factory(engine)() as session:
        ids = await session.scalars(select(Order.external_id).order_by(Order.external_id))
        assert list(ids) == ["8", "API-1"]


async def test_the_openapi_document_describes_request_and_response(
    client: TestClient[Any, Any],
) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status == 200
    doc = await response.json()
    assert doc["openapi"].startswith("3.1")
    post = doc["paths"]["/api/orders"]["post"]
    assert set(post["responses"]) == {"200", "400", "401", "503"}
    schemas = doc["components"]["schemas"]
    assert set(schemas["OrderIn"]["required"]) == {"order_id", "ordered_at", "lines"}
    assert schemas["OrderLineIn"]["properties"]["quantity"]["type"] == ["string", "number"]
    assert "rejected" in schemas["ReportOut"]["properties"]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
