"""Channel by segment (SEED.md §4.3) and the WARM call budget."""

from __future__ import annotations

from decimal import Decimal

from core.channels import (
    ChannelPlan,
    Contact,
    contact_tier,
    pick_warm_calls,
    plan_contact,
    warm_call_budget,
)
from core.shopconfig.schema import SegmentsConfig

SEG = SegmentsConfig()  # hot_min_spend 8000


def contact(**kw: object) -> Contact:
    base: dict[str, object] = {
        "priority_level": "warm",
        "customer_type": "repeat",
        "total_spend": Decimal(3000),
    }
    base.update(kw)
    return Contact(**base)  # type: ignore[arg-type]


def test_hot_vip_and_high_ltv_get_a_call_and_whatsapp() -> None:
    for c in (
        contact(priority_level="hot"),
        contact(customer_type="vip"),
        contact(total_spend=Decimal(8000)),
    ):
        assert plan_contact(c, SEG) == ChannelPlan("hot", True, "whatsapp", False)


def test_warm_gets_whatsapp_and_a_call_only_when_allowed() -> None:
    assert plan_contact(contact(), SEG) == ChannelPlan("warm", False, "whatsapp", False)
    assert plan_contact(contact(), SEG, warm_call=True).call is True
    no_wa = plan_contact(contact(whatsapp_status="no"), SEG)
    assert no_wa.message_channel == "sms"


def test_cold_gets_sms_only_with_a_winback_offer() -> None:
    plan = plan_contact(contact(priority_level="cold", whatsapp_status="yes"), SEG, warm_call=True)
    assert plan == ChannelPlan("cold", False, "sms", True)


def test_opted_out_gets_no_call_and_no_message() -> None:
    for level in ("hot", "warm", "cold"):
        plan = plan_contact(contact(priority_level=level, marketing_ok=False), SEG, warm_call=True)
        assert plan.call is False and plan.message_channel is None and not plan.winback_offer


def test_blocked_and_invalid_numbers() -> None:
    assert plan_contact(contact(whatsapp_status="blocked"), SEG).message_channel is None
    invalid = plan_contact(contact(priority_level="hot", phone_valid=False), SEG)
    assert invalid.call is False and invalid.message_channel is None


def test_tier_precedence() -> None:
    # a cold but high-value customer is still worth a call
    assert contact_tier(contact(priority_level="cold", total_spend=Decimal(9000)), SEG) == "hot"
    assert contact_tier(contact(priority_level="cold"), SEG) == "cold"


def test_warm_call_budget_keeps_a_reserve() -> None:
    # 2 agents × 40 = 80; 20 open today; 10 HOT calls planned; 30 % reserve = 24 → 26 left
    assert warm_call_budget(80, 20, 10, 30) == 26
    assert warm_call_budget(80, 60, 10, 30) == 0
    assert warm_call_budget(0, 0, 0, 30) == 0


def test_pick_warm_calls_takes_highest_value_first() -> None:
    picked = pick_warm_calls([(1, 500.0), (2, 4000.0), (3, 2500.0)], 2)
    assert picked == {2, 3}
    assert pick_warm_calls([(1, 500.0)], 0) == set()
