"""The reminder schedule's next check for a candidate purchase, with literal dates."""

from __future__ import annotations

from datetime import date

from core.reminder_schedule import Candidate, next_check_of

AS_OF = date(2026, 3, 10)
LATE, LATE_UNTIL, LOOKBACK = 7, 10, 400  # late touch 7 days after the due date, 3 days' grace


def check(
    due: date, *, due_sent: bool = False, oldest: date | None = None, **sent: bool
) -> date | None:
    candidate = Candidate(1, 1, due, due_sent, oldest)
    return next_check_of(candidate, AS_OF, LATE, LATE_UNTIL, LOOKBACK, **sent)


def test_a_purchase_due_later_is_checked_on_its_due_date() -> None:
    assert check(date(2026, 3, 12)) == date(2026, 3, 12)


def test_a_pending_due_purchase_is_checked_tomorrow_while_it_can_still_be_reminded() -> None:
    assert check(date(2026, 3, 5)) == date(2026, 3, 11)
    # overdue by late_after - 1 tomorrow: the last day it can still be reminded
    assert check(date(2026, 3, 5), due_sent=True) == date(2026, 3, 12)  # then its late touch


def test_after_the_due_reminder_comes_the_late_touch() -> None:
    assert check(date(2026, 3, 12), due_sent=True) == date(2026, 3, 19)
    assert check(date(2026, 3, 10), sent_due=True) == date(2026, 3, 17)


def test_a_late_touched_or_long_overdue_purchase_needs_no_check() -> None:
    assert check(date(2026, 3, 1), sent_due=True, sent_late=True) is None
    assert check(date(2026, 2, 20), due_sent=True) is None  # overdue 19 days tomorrow: past 7 + 3
    assert check(date(2026, 3, 1), due_sent=True) is None  # today was its last late day
    assert check(date(2026, 3, 2), due_sent=True) == date(2026, 3, 11)  # tomorrow is


def test_a_learned_rhythm_is_checked_when_its_oldest_purchase_leaves_the_lookback() -> None:
    oldest = date(2025, 3, 20)  # + 400 days = 2026-04-24
    assert check(date(2026, 2, 20), due_sent=True, oldest=oldest) == date(2026, 4, 24)
    assert check(date(2026, 5, 1), oldest=oldest) == date(2026, 4, 24)
    assert check(date(2026, 3, 12), oldest=oldest) == date(2026, 3, 12)
