"""Reorder requests on their way to the shop's ERP: which are due, what is posted, how it went.

erp_status: none (no ERP configured) → pending (to post) → sent | failed (retried later, until
the attempt limit) | rejected (the ERP refused it with a 4xx: a person must look, no retry).
A pending request survives a restart: the poster picks up pending and failed ones at start-up.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Customer, Engagement, ReorderRequest

ERP_OUTCOMES = ("sent", "failed", "rejected")


def erp_payload(request: ReorderRequest, customer: Customer, message: str | None) -> dict[str, Any]:
    """The JSON the ERP receives for a reorder (its id lets the ERP ignore a repeat)."""
    return {
        "reorder_request_id": request.id,
        "customer": {"id": customer.id, "phone": customer.phone, "name": customer.name},
        "items": request.items,
        "message": message or "",
        "requested_at": request.created_at.isoformat(),
    }


async def due_for_erp(
    session: AsyncSession,
    *,
    max_attempts: int,
    retry_failed: bool = True,
    exclude: Collection[int] = (),
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Payloads of reorders still to post: pending ones, and failed ones below the attempt limit."""
    statuses = ("pending", "failed") if retry_failed else ("pending",)
    stmt = (
        select(ReorderRequest, Customer, Engagement.body)
        .join(Customer, Customer.id == ReorderRequest.customer_id)
        .outerjoin(Engagement, Engagement.id == ReorderRequest.engagement_id)
        .where(
            ReorderRequest.erp_status.in_(statuses),
            ReorderRequest.erp_attempts < max_attempts,
        )
        .order_by(ReorderRequest.id)
        .limit(limit)
    )
    if exclude:
        stmt = stmt.where(ReorderRequest.id.not_in(list(exclude)))
    rows = (await session.execute(stmt)).all()
    return [erp_payload(request, customer, body) for request, customer, body in rows]


async def record_erp_result(
    session: AsyncSession, reorder_request_id: int, outcome: str, attempts: int
) -> None:
    """Note how a round of posting a reorder went (`attempts` made in this round are added)."""
    if outcome not in ERP_OUTCOMES:
        raise ValueError(f"unknown ERP outcome {outcome!r}")
    request = await session.get(ReorderRequest, reorder_request_id)
    if request is not None and request.erp_status != "sent":
        request.erp_status = outcome
        request.erp_attempts = (request.erp_attempts or 0) + attempts
        await session.flush()
