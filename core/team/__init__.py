"""The tele-sales team: agents, invites, access checks, the task queue and call outcomes.

agent = await redeem_invite(session, code, telegram_user_id, chat_id, now)
task = await next_task(session, agent.id, as_of, now)
result = await record_outcome(session, task.id, agent.id, "no_answer", now, team=cfg.team)
"""

from core.team.access import (
    MANAGER_ROLES,
    agent_for_telegram_user,
    require_customer_access,
    require_role,
)
from core.team.agents import (
    AgentRow,
    agent_by_ref,
    list_agents,
    manager_chats,
    set_language,
)
from core.team.invites import CreatedInvite, create_invite, redeem_invite
from core.team.notes import ask_for_note, save_note, stop_waiting_for_note
from core.team.outcomes import (
    LATER_CHOICES,
    NOT_INTERESTED_REASONS,
    OUTCOMES,
    OutcomeResult,
    deactivate_agent_and_reassign,
    reassign,
    record_outcome,
)
from core.team.queue import (
    Overview,
    TaskCard,
    TaskLine,
    day_tally,
    list_tasks,
    load_card,
    next_task,
    next_task_id,
    task_for_agent,
    today_overview,
)

__all__ = [
    "LATER_CHOICES",
    "MANAGER_ROLES",
    "NOT_INTERESTED_REASONS",
    "OUTCOMES",
    "AgentRow",
    "CreatedInvite",
    "OutcomeResult",
    "Overview",
    "TaskCard",
    "TaskLine",
    "agent_by_ref",
    "ask_for_note",
    "agent_for_telegram_user",
    "create_invite",
    "day_tally",
    "deactivate_agent_and_reassign",
    "list_agents",
    "list_tasks",
    "load_card",
    "manager_chats",
    "next_task",
    "next_task_id",
    "reassign",
    "save_note",
    "record_outcome",
    "redeem_invite",
    "require_customer_access",
    "require_role",
    "set_language",
    "stop_waiting_for_note",
    "task_for_agent",
    "today_overview",
]
