"""The API door: orders as JSON (one order with its lines, or a list), same rules as the CSV.

The pydantic models below are the published contract (`/api/openapi.json` is generated from
them); each order is validated on its own, so one bad order never blocks the others.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock, system_clock
from core.ingest.order_writer import OrderWriter, load_products
from core.ingest.orders import OrderLines
from core.ingest.report import ImportReport


def _as_text(value: Any) -> Any:
    if isinstance(value, bool):
        return value  # rejected below: true is not a number
    if isinstance(value, int | float):
        return str(value)
    return value


# A number given as a JSON number or a string ("2.5", "৫").
NumberText = Annotated[
    str,
    BeforeValidator(_as_text),
    WithJsonSchema({"type": ["string", "number"], "examples": ["2", 2.5, "৫"]}),
]
IdText = Annotated[
    str,
    BeforeValidator(lambda v: str(v) if isinstance(v, int) and not isinstance(v, bool) else v),
    WithJsonSchema({"type": ["string", "integer"], "maxLength": 100}),
]


class OrderLineIn(BaseModel):
    """One line of an order."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=64, description="The product's SKU.")
    quantity: NumberText = Field(description="More than zero, in `unit`; may carry its unit.")
    unit: str | None = Field(
        default=None,
        description="g, kg, ml, l, pcs or pack (also Bangla: কেজি, লিটার…); empty: the product's.",
    )
    unit_price: NumberText = Field(description="Price of one `unit`, in taka (2 decimals).")


class OrderIn(BaseModel):
    """One order from the ERP, identified by its `order_id`."""

    model_config = ConfigDict(extra="forbid")

    order_id: IdText = Field(description="The ERP's order id; the same id updates the order.")
    phone: str | None = Field(default=None, description="Bangladeshi mobile, any usual form.")
    customer_ref: str | None = Field(default=None, description="The ERP's customer id.")
    ordered_at: str = Field(
        description="ISO date (a shop-local date) or date-time (no offset: shop-local time).",
        examples=["2025-03-01", "2025-03-01T10:30:00+06:00"],
    )
    status: str | None = Field(
        default=None, description="delivered (default), pending, cancelled or returned."
    )
    coupon_code: str | None = Field(default=None, max_length=64)
    lines: list[OrderLineIn] = Field(min_length=1)


class RejectedOut(BaseModel):
    index: int = Field(description="Position of the order in the request (0 for a single one).")
    reason: str


class ReportOut(BaseModel):
    """What the import did with the request."""

    accepted: int = Field(description="Order lines accepted.")
    rejected: list[RejectedOut]
    created: int = Field(description="Orders created.")
    updated: int = Field(description="Orders changed (status, coupon, lines…).")
    unchanged: int
    customers_created: int
    warnings: list[str]
    order_ids_created: list[int]
    order_ids_changed: list[int]

    @classmethod
    def from_report(cls, report: ImportReport) -> ReportOut:
        """The response body for an import report."""
        return cls(
            accepted=report.accepted,
            rejected=[RejectedOut(index=r.line, reason=r.reason) for r in report.rejected],
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            customers_created=report.customers_created,
            warnings=report.warnings,
            order_ids_created=report.order_ids_created,
            order_ids_changed=report.order_ids_changed,
        )


def _explain(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        parts.append(f"{where.lstrip('.') or 'order'}: {error['msg']}")
    return "; ".join(parts)


async def ingest_orders_json(
    session: AsyncSession, payload: Any, *, clock: Clock = system_clock, source: str = "api"
) -> ImportReport:
    """Import one order or a list of orders given as parsed JSON; rejections are by index."""
    report = ImportReport(kind="orders", source=source)
    items = payload if isinstance(payload, list) else [payload]
    writer = OrderWriter(session, report, "api", clock())
    parser = OrderLines(await load_products(session), report, native=writer.driver.native)
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            report.reject(index, "an order must be a JSON object")
            continue
        try:
            order = OrderIn.model_validate(item)
        except ValidationError as exc:
            report.reject(index, _explain(exc))
            continue
        key = order.order_id.strip()
        if key in seen:
            report.reject(index, f"order_id {key!r} already given at index {seen[key]}")
            continue
        seen[key] = index
        for n, line in enumerate(order.lines):
            values = (  # in ORDER_COLUMNS order, as a CSV row gives them
                order.order_id, order.ordered_at, line.sku, line.quantity, line.unit_price,
                order.phone or "", order.customer_ref or "", line.unit or "",
                order.coupon_code or "", order.status or "",
            )  # fmt: skip
            parser.add(index, values, tag=f"lines[{n}]: ")
        if parser.full:
            await writer.write(parser.take_batch(keep_last=False))
    await writer.write(parser.take_batch(keep_last=False))
    await writer.finish()
    first: dict[int, Any] = {}
    for rejection in report.rejected:
        first.setdefault(rejection.line, rejection)  # one reason per order
    report.rejected = sorted(first.values(), key=lambda r: r.line)
    return report
