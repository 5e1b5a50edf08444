"""Pure rules of sending: status only moves forward, quiet hours, backoff, the 24-hour window."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from core.deliverability import action_for
from core.delivery import next_status
from core.dispatch import in_quiet_hours, quiet_hours_end, retry_delay, window_open
from core.shopconfig.schema import MessagingConfig


@pytest.mark.parametrize(
    ("current", "incoming", "expected"),
    [
        ("sending", "sent", "sent"),
        ("sent", "delivered", "delivered"),
        ("sent", "read", "read"),
        ("read", "delivered", None),
        ("delivered", "sent", None),
        ("read", "read", None),
        ("sent", "failed", "failed"),
        ("delivered", "undelivered", None),
        ("failed", "delivered", None),
        ("undelivered", "read", None),
        ("cancelled", "sent", None),
    ],
)
def test_status_only_moves_forward(current: str, incoming: str, expected: str | None) -> None:
    assert next_status(current, incoming) == expected


def test_quiet_hours_span_midnight() -> None:
    start, end = time(21, 0), time(9, 0)
    assert in_quiet_hours(time(21, 0), start, end) and in_quiet_hours(time(3, 0), start, end)
    assert not in_quiet_hours(time(9, 0), start, end) and not in_quiet_hours(
        time(20, 59), start, end
    )
    assert not in_quiet_hours(time(3, 0), time(0, 0), time(0, 0))


def test_quiet_hours_end_is_the_next_local_morning() -> None:
    cfg = MessagingConfig()
    late = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)  # 23:00 in Dhaka
    assert quiet_hours_end(late, cfg) == datetime(2026, 3, 11, 3, 0, tzinfo=UTC)  # 09:00
    early = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 07:00 in Dhaka
    assert quiet_hours_end(early, cfg) == datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    assert quiet_hours_end(datetime(2026, 3, 10, 6, 0, tzinfo=UTC), cfg) is None  # noon


def test_backoff_doubles_with_jitter_and_a_cap() -> None:
    assert retry_delay(1, 30, 3600, 0.0) == 15 and retry_delay(1, 30, 3600, 0.999) < 30
    assert retry_delay(3, 30, 3600, 1.0) == 120
    assert retry_delay(20, 30, 3600, 1.0) == 3600


def test_window_is_24_hours_from_the_last_inbound() -> None:
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert window_open(now - timedelta(hours=23, minutes=59), now, 24)
    assert not window_open(now - timedelta(hours=24), now, 24)
    assert not window_open(None, now, 24)


def test_error_codes_map_to_actions() -> None:
    assert [action_for(c) for c in ("63016", "63024", "63014", "63049", "63018", "21211", "21610", "30008", None)] == [
        "resend_template", "fallback_sms", "stop_whatsapp_marketing", "pause_marketing",
        "slow_down", "invalid_number", "opt_out", "none", "none",
    ]  # fmt: skip
