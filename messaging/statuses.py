"""Delivery status callbacks, recorded in batches (group commit) before the webhook answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.db import SessionFactory
from core.delivery import StatusResult, record_status
from core.group_commit import GroupCommitWriter
from core.shopconfig import ShopConfig


@dataclass(frozen=True)
class StatusUpdate:
    """One status callback's fields."""

    sid: str
    provider_status: str
    received_at: datetime
    message_id: int | None = None
    error_code: str | None = None
    error_message: str | None = None


class StatusRecorder:
    """Applies status callbacks many to a transaction, in arrival order; wakes the dispatcher
    when a failure queued a resend or a fallback."""

    def __init__(
        self,
        sessions: SessionFactory,
        load_config: Callable[[], Awaitable[ShopConfig]],
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.load_config = load_config
        self.wake = wake
        self.writer: GroupCommitWriter[StatusUpdate, StatusResult] = GroupCommitWriter(
            sessions, self._apply, name="status-writer"
        )

    async def record(self, update: StatusUpdate) -> StatusResult:
        """Apply one callback; returns once it is committed (raises if it could not be)."""
        result = await self.writer.submit(update)
        if result.actions and self.wake is not None:
            self.wake()
        return result

    async def _apply(
        self, session: AsyncSession, updates: Sequence[StatusUpdate]
    ) -> list[StatusResult]:
        cfg = await self.load_config()
        return [
            await record_status(
                session,
                sid=u.sid,
                provider_status=u.provider_status,
                now=u.received_at,
                cfg=cfg,
                message_id=u.message_id,
                error_code=u.error_code,
                error_message=u.error_message,
            )
            for u in updates
        ]
