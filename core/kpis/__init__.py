"""The shop's KPIs, each defined once and computed by the database (SQLite and PostgreSQL alike).

    await customer_kpis(session, as_of)                    # CustomerKpis
    await daily_summary(session, day, attribution_days)    # DailySummary
    await team_report(session, start, end, attribution_days)  # list[AgentPerformance]
    await campaign_report(session, as_of)                  # list[CampaignPerformance]

Every result is a frozen dataclass of plain values with `to_dict()` for JSON. Rates are
fractions (0.25 = 25 %) and are 0.0 when their denominator is zero. Money is Decimal taka.
The definitions are in the modules' docstrings and field comments: customers, messages,
attribution, team, campaigns, daily.
"""

from core.kpis.attribution import Influence
from core.kpis.campaigns import CampaignPerformance, campaign_report
from core.kpis.customers import CustomerKpis, customer_kpis
from core.kpis.daily import AgentDay, DailySummary, daily_summary
from core.kpis.messages import MessageFunnel
from core.kpis.team import AgentPerformance, team_report

__all__ = [
    "AgentDay",
    "AgentPerformance",
    "CampaignPerformance",
    "CustomerKpis",
    "DailySummary",
    "Influence",
    "MessageFunnel",
    "campaign_report",
    "customer_kpis",
    "daily_summary",
    "team_report",
]
