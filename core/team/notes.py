"""Notes typed after "Note 📝": the agent's next text is the note for a task.

Which task is waiting for a note is kept on the agent's row, so a restart between the tap and
the text loses nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Agent
from core.team.outcomes import OutcomeResult, record_outcome
from core.team.queue import task_for_agent


async def ask_for_note(
    session: AsyncSession, agent_id: int, task_id: int, message_id: int | None
) -> None:
    """Wait for the agent's note on their open task (and remember the card message to refresh)."""
    await task_for_agent(session, task_id, agent_id)  # open and theirs, or refuse
    await session.execute(
        update(Agent)
        .where(Agent.id == agent_id)
        .values(awaiting_note_task_id=task_id, awaiting_note_message_id=message_id)
        .execution_options(synchronize_session=False)
    )


async def stop_waiting_for_note(session: AsyncSession, agent_id: int) -> None:
    """The agent's next text is no longer a note."""
    await session.execute(
        update(Agent)
        .where(Agent.id == agent_id)
        .values(awaiting_note_task_id=None, awaiting_note_message_id=None)
        .execution_options(synchronize_session=False)
    )


async def save_note(
    session: AsyncSession, agent_id: int, task_id: int, text: str, now: datetime
) -> OutcomeResult:
    """Log the awaited note on its task and stop waiting for one."""
    await stop_waiting_for_note(session, agent_id)
    return await record_outcome(session, task_id, agent_id, "note", now, note=text)
