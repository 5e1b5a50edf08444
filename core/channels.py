"""Channel by segment (SEED.md §4.3), as plain functions of a customer's CDM fields.

- HOT / VIP / high LTV → a call task and a WhatsApp follow-up;
- WARM → WhatsApp (SMS when the number is not on WhatsApp), and a call only while the team has
  spare capacity beyond `team.warm_call_spare_capacity_pct` of its daily capacity;
- COLD → SMS only, with a win-back offer. Low LTV is folded into COLD by segmentation
  (`segments.cold_max_spend` for customers who are not active), so an active newcomer with a
  small first order stays WARM and does not get a win-back coupon with their first reminder.

A call is marketing too: a customer who opted out (or, under the `erp_flag` policy, never gave
consent) gets neither a message nor a call task. A number WhatsApp reports as `blocked` gets no
marketing message at all (blocking us is a clear "no"); an invalid number gets nothing.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from core.shopconfig.schema import SegmentsConfig

TIERS = ("hot", "warm", "cold")


@dataclass(frozen=True)
class Contact:
    """What the channel choice reads about a customer."""

    priority_level: str
    customer_type: str
    total_spend: Decimal
    whatsapp_status: str = "unknown"
    marketing_ok: bool = True  # not opted out, and consent where the policy needs it
    phone_valid: bool = True


@dataclass(frozen=True)
class ChannelPlan:
    tier: str  # hot / warm / cold: the row of §4.3 the customer falls in
    call: bool  # create a call task (WARM: only when the capacity check allowed it)
    message_channel: str | None  # whatsapp / sms / None (no message)
    winback_offer: bool  # attach a win-back coupon (COLD)


def contact_tier(c: Contact, seg: SegmentsConfig) -> str:
    """hot (HOT, VIP or high LTV), cold (COLD) or warm."""
    if c.priority_level == "hot" or c.customer_type == "vip" or c.total_spend >= seg.hot_min_spend:
        return "hot"
    if c.priority_level == "cold":
        return "cold"
    return "warm"


def message_channel(tier: str, whatsapp_status: str) -> str | None:
    """SMS for COLD or numbers not on WhatsApp; nothing for a number that blocked us."""
    if whatsapp_status == "blocked":
        return None
    if tier == "cold" or whatsapp_status == "no":
        return "sms"
    return "whatsapp"


def plan_contact(c: Contact, seg: SegmentsConfig, *, warm_call: bool = False) -> ChannelPlan:
    """How to reach a customer for a reminder; `warm_call` says the capacity check allowed a call."""
    tier = contact_tier(c, seg)
    if not c.marketing_ok or not c.phone_valid:
        return ChannelPlan(tier, call=False, message_channel=None, winback_offer=False)
    channel = message_channel(tier, c.whatsapp_status)
    if tier == "hot":
        return ChannelPlan(tier, call=True, message_channel=channel, winback_offer=False)
    if tier == "warm":
        return ChannelPlan(tier, call=warm_call, message_channel=channel, winback_offer=False)
    return ChannelPlan(tier, call=False, message_channel=channel, winback_offer=True)


def warm_call_budget(
    total_capacity: int, open_due: int, planned_calls: int, reserve_pct: float
) -> int:
    """Calls WARM customers may take today: capacity left after open work, the HOT calls just
    planned, and a reserve of `reserve_pct` % kept free for follow-ups and replies."""
    reserve = math.ceil(total_capacity * reserve_pct / 100)
    return max(0, total_capacity - open_due - planned_calls - reserve)


def pick_warm_calls(candidates: Sequence[tuple[Hashable, float]], budget: int) -> set[Hashable]:
    """The WARM customers who get a call within the budget: highest value first, then key order."""
    if budget <= 0:
        return set()
    ranked = sorted(candidates, key=lambda kv: (-kv[1], str(kv[0])))
    return {key for key, _ in ranked[:budget]}
