"""choose_agent without a database: area, seniority, capacity, balancing, stickiness, overflow."""

from __future__ import annotations

from core.assignment import AgentInfo, AssignmentPolicy, CustomerInfo, Load, choose_agent, covers

POLICY = AssignmentPolicy(senior_for=frozenset({"hot", "vip"}), sticky=True)
DHAKA = AgentInfo(1, districts=("Dhaka",), daily_capacity=2)
DHAKA_SENIOR = AgentInfo(2, districts=("Dhaka",), senior=True, daily_capacity=2)
CTG = AgentInfo(3, districts=("Chattogram",), daily_capacity=2)
FLOATER = AgentInfo(4, districts=(), daily_capacity=2)


def _customer(**kw: object) -> CustomerInfo:
    values: dict[str, object] = {"id": 100, "district": "Dhaka", "priority_level": "warm"}
    values.update(kw)
    return CustomerInfo(**values)  # type: ignore[arg-type]


def test_district_or_city_picks_the_area_agent() -> None:
    agents = [DHAKA, CTG]
    assert choose_agent(_customer(), agents, {}, POLICY) == 1
    assert choose_agent(_customer(district="chattogram "), agents, {}, POLICY) == 3
    assert choose_agent(_customer(district=None, city="Chattogram"), agents, {}, POLICY) == 3
    assert covers(DHAKA, _customer(district="DHAKA"))


def test_unmapped_district_goes_to_anyone_with_room() -> None:
    loads = {1: Load(today=2, open=2)}
    assert choose_agent(_customer(district="Sylhet"), [DHAKA, CTG], loads, POLICY) == 3


def test_senior_first_for_hot_and_vip() -> None:
    agents = [DHAKA, DHAKA_SENIOR]
    assert choose_agent(_customer(priority_level="hot"), agents, {}, POLICY) == 2
    assert (
        choose_agent(_customer(customer_type="vip", priority_level="cold"), agents, {}, POLICY) == 2
    )
    assert (
        choose_agent(
            _customer(priority_level="warm"), agents, {2: Load(0, 0), 1: Load(0, 1)}, POLICY
        )
        == 2
    )
    # the senior is full: a HOT customer still gets a call from the junior
    full = {2: Load(today=2, open=2)}
    assert choose_agent(_customer(priority_level="hot"), agents, full, POLICY) == 1


def test_capacity_and_overflow() -> None:
    full = {1: Load(today=2, open=5), 2: Load(today=2, open=2)}
    assert choose_agent(_customer(), [DHAKA, DHAKA_SENIOR], full, POLICY) is None
    # a floater takes the area's overflow before it rolls to tomorrow
    assert choose_agent(_customer(), [DHAKA, DHAKA_SENIOR, FLOATER], full, POLICY) == 4
    # an agent of another area is not a floater
    assert choose_agent(_customer(), [DHAKA, DHAKA_SENIOR, CTG], full, POLICY) is None


def test_balancing_by_open_load() -> None:
    a = AgentInfo(5, districts=("Dhaka",), daily_capacity=10)
    b = AgentInfo(6, districts=("Dhaka",), daily_capacity=10)
    assert choose_agent(_customer(), [a, b], {5: Load(1, 7), 6: Load(3, 4)}, POLICY) == 6
    assert choose_agent(_customer(), [a, b], {5: Load(1, 4), 6: Load(3, 4)}, POLICY) == 5
    assert choose_agent(_customer(), [a, b], {}, POLICY) == 5  # tie: lowest id


def test_sticky_agent_keeps_the_customer_while_possible() -> None:
    agents = [DHAKA, DHAKA_SENIOR]
    busy = {1: Load(today=1, open=9)}
    assert (
        choose_agent(_customer(assigned_agent_id=1, priority_level="hot"), agents, busy, POLICY)
        == 1
    )
    full = {1: Load(today=2, open=9)}
    assert choose_agent(_customer(assigned_agent_id=1), agents, full, POLICY) == 2
    moved = _customer(assigned_agent_id=1, district="Chattogram")
    assert choose_agent(moved, [DHAKA, CTG], {}, POLICY) == 3
    inactive = AgentInfo(1, districts=("Dhaka",), active=False)
    assert choose_agent(_customer(assigned_agent_id=1), [inactive, DHAKA_SENIOR], {}, POLICY) == 2
    loose = AssignmentPolicy(sticky=False)
    assert choose_agent(_customer(assigned_agent_id=1), agents, busy, loose) == 2
