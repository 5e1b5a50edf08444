"""The orders API: `POST /api/orders` for the ERP, and its OpenAPI document.

The ERP sends one order (with its `lines`) or a list of orders as JSON, with
`Authorization: Bearer <ORDERS_API_TOKEN>`. The body goes through the same ingest service as
orders.csv; the answer is the import report, rejected orders listed by index with the reason.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from core.db import SessionFactory, write_unit_of_work
from core.ingest import OrderIn, ReportOut, ingest_orders_json

MIN_TOKEN_LENGTH = 16


class ErrorOut(BaseModel):
    """Why the request was refused as a whole."""

    error: str


@dataclass(frozen=True)
class OrdersApi:
    sessions: SessionFactory
    token: str | None


ORDERS_API = web.AppKey("orders_api", OrdersApi)


def _error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response(ErrorOut(error=message).model_dump(), status=status, headers=headers)


def _authorized(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    # compare_digest on bytes: constant time, and no TypeError on non-ASCII input
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


async def post_orders(request: web.Request) -> web.Response:
    """Import the orders in the body; 401 without the token, 400 when the body is not JSON."""
    api = request.app[ORDERS_API]
    if not api.token:
        return _error(503, "ORDERS_API_TOKEN not configured")
    if len(api.token) < MIN_TOKEN_LENGTH:
        return _error(503, f"ORDERS_API_TOKEN is shorter than {MIN_TOKEN_LENGTH} characters")
    if not _authorized(request.headers.get("Authorization", ""), api.token):
        return _error(401, "missing or wrong bearer token", **{"WWW-Authenticate": "Bearer"})
    body = await request.read()
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return _error(400, f"malformed JSON: the body is not UTF-8 ({exc.reason})")
    except json.JSONDecodeError as exc:
        return _error(400, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    if not isinstance(payload, dict | list) or not payload:
        return _error(400, "the body must be an order object or a non-empty list of orders")
    async with write_unit_of_work(api.sessions) as session:
        report = await ingest_orders_json(session, payload)
    return web.json_response(ReportOut.from_report(report).model_dump(mode="json"))


async def get_openapi(_request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of the orders API."""
    return web.json_response(openapi_document())


@cache
def openapi_document() -> dict[str, Any]:
    """Request and response schemas of the orders API, generated from the pydantic models."""
    _, schemas = models_json_schema(
        [(OrderIn, "validation"), (ReportOut, "serialization"), (ErrorOut, "serialization")],
        ref_template="#/components/schemas/{model}",
    )

    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{name}"}

    def error(description: str) -> dict[str, Any]:
        return {
            "description": description,
            "content": {"application/json": {"schema": ref("ErrorOut")}},
        }

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "TrustCart orders API",
            "version": "1",
            "description": "The ERP pushes orders; the same id again updates the order (status, lines).",
        },
        "paths": {
            "/api/orders": {
                "post": {
                    "summary": "Import one order or a list of orders",
                    "operationId": "postOrders",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        ref("OrderIn"),
                                        {"type": "array", "items": ref("OrderIn"), "minItems": 1},
                                    ]
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "The import report; rejected orders by index.",
                            "content": {"application/json": {"schema": ref("ReportOut")}},
                        },
                        "400": error("The body is not JSON, or not an order or list of orders."),
                        "401": error("Missing or wrong bearer token; nothing was stored."),
                        "503": error("ORDERS_API_TOKEN is not configured on the server."),
                    },
                }
            }
        },
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def setup_orders_api(app: web.Application, sessions: SessionFactory, token: str | None) -> None:
    """Add POST /api/orders and GET /api/openapi.json; without a token the API answers 503."""
    app[ORDERS_API] = OrdersApi(sessions=sessions, token=token or None)
    app.router.add_post("/api/orders", post_orders)
    app.router.add_get("/api/openapi.json", get_openapi)
