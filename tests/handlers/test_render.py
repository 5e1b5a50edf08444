"""Rendering for agents and managers in Bangla and English; callback data and text limits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from core.kpis import AgentDay, DailySummary, Influence, MessageFunnel
from core.predictions.outlook import CustomerOutlook
from core.shopconfig import load_config_dir
from core.team import Overview, TaskCard
from handlers.telegram import render, render_reports
from handlers.telegram.delivery import split_text
from handlers.telegram.manager import parse_day, parse_invite, week_of

TEMPLATES = load_config_dir(Path(__file__).resolve().parents[2] / "config").templates


def _card(**overrides) -> TaskCard:  # noqa: ANN003
    values = dict(
        task_id=42,
        type="reminder_call",
        status="open",
        agent_id=1,
        priority_level="hot",
        due_date=date(2026, 3, 10),
        attempts=1,
        reason_bn="চাল ২২ দিন আগে কেনা",
        reason_en="Rice bought 22 days ago",
        suggestion={
            "products": [
                {
                    "sku": "R",
                    "name": "Miniket rice 5 kg",
                    "name_bn": "মিনিকেট চাল",
                    "quantity": "5 kg",
                    "quantity_bn": "৫ কেজি",
                }
            ],
            "offer_code": "RICE10",
            "confidence": "medium",
            "script_vars": {
                "bn": {"name": "রহিমা", "product": "চাল", "quantity": "৫ কেজি", "offer": ""},
                "en": {"name": "Rahima", "product": "rice", "quantity": "5 kg", "offer": ""},
            },
        },
        script_key="script_reminder_call",
        customer_id=7,
        customer_name="রহিমা বেগম",
        phone="+8801712345678",
        phone_valid=True,
        tier="gold",
        lifecycle_stage="active",
        customer_type="repeat",
        customer_priority="hot",
        last_order_date=date(2026, 2, 16),
        last_order_total=Decimal("1250"),
        ltv=Decimal("12500"),
        order_count=8,
        top_products=[("Miniket rice 5 kg", "মিনিকেট চাল"), ("Mustard oil 1 l", None)],
    )
    values.update(overrides)
    return TaskCard(**values)


def test_card_in_bangla() -> None:
    text = render.card_text(_card(), TEMPLATES, "bn")
    assert text.splitlines()[0] == "🔥 HOT · রিমাইন্ডার কল · #42"
    for part in (
        "👤 রহিমা বেগম",
        "📞 +8801712345678",
        "মেম্বারশিপ: গোল্ড",
        "সক্রিয় / রিপিট",
        "১৬ ফেব্রুয়ারি ২০২৬ · ৳১,২৫০",
        "মোট কেনা ৳১২,৫০০ (৮ অর্ডার)",
        "প্রিয় পণ্য: মিনিকেট চাল, Mustard oil 1 l",
        "কেন এখন: চাল ২২ দিন আগে কেনা (ছন্দের নিশ্চয়তা: মাঝারি)",
        "সাজেশন: মিনিকেট চাল (৫ কেজি) · কোড RICE10",
        "চেষ্টা: ১",
        "আসসালামু আলাইকুম রহিমা, TrustCart থেকে বলছি। আপনার চাল প্রায় শেষ",
    ):
        assert part in text, part
    assert "{" not in text


def test_card_in_english() -> None:
    text = render.card_text(_card(), TEMPLATES, "en")
    for part in (
        "Reminder call · #42",
        "Membership: gold · Segment: active / repeat",
        "Last order: 16 Feb 2026 · ৳1,250 · LTV ৳12,500 (8 orders)",
        "Why now: Rice bought 22 days ago (rhythm confidence: medium)",
        "Suggest: Miniket rice 5 kg (5 kg) · code RICE10",
        "Assalamu alaikum Rahima, this is TrustCart. Your rice should be running out.",
    ):
        assert part in text, part


def test_card_without_history_or_script_vars() -> None:
    card = _card(
        last_order_date=None,
        top_products=[],
        suggestion={},
        phone_valid=False,
        type="winback",
        script_key="script_winback",
        attempts=0,
    )
    text = render.card_text(card, TEMPLATES, "bn")
    assert "শেষ অর্ডার" not in text and "⚠️" in text
    assert "আসসালামু আলাইকুম রহিমা বেগম" in text and "{" not in text


def _outlook(**overrides) -> CustomerOutlook:  # noqa: ANN003
    values = dict(
        customer_id=7,
        as_of=date(2026, 3, 9),
        p_alive=0.82,
        prev_p_alive=0.9,
        expected_orders_30=1.2,
        expected_orders_90=3.1,
        expected_order_value=950.0,
        clv_12m=12345.4,
        expected_next_order_days=6,
        model_version="bgnbd-1",
        model_fitted_on=date(2026, 3, 1),
    )
    values.update(overrides)
    return CustomerOutlook(**values)


def test_card_shows_the_prediction_outlook() -> None:
    card = _card(outlook=_outlook())
    bn = render.card_text(card, TEMPLATES, "bn")
    assert (
        "🔮 সক্রিয় থাকার সম্ভাবনা ৮২% (আগে ৯০%, কমছে) · পরের অর্ডার আনুমানিক ৬ দিনে"
        " · ১২ মাসের সম্ভাব্য কেনা ৳১২,৩৪৫"
    ) in bn
    assert "(ছন্দের নিশ্চয়তা: মাঝারি)" in bn  # the learned rhythm's confidence stays
    en = render.card_text(card, TEMPLATES, "en")
    assert (
        "🔮 82% chance still active (was 90%, falling) · next order in about 6 days"
        " · 12-month value ৳12,345"
    ) in en
    steady = _outlook(prev_p_alive=0.84, expected_next_order_days=None, clv_12m=None)
    line = render.outlook_line(steady, "en")
    assert line == "🔮 82% chance still active · no order expected soon"
    assert "🔮" not in render.card_text(_card(), TEMPLATES, "en")  # not scored: no line


def test_keyboards_fit_in_64_bytes() -> None:
    big = 10**15
    for markup in (
        render.card_keyboard(big, "bn"),
        render.later_keyboard(big, "en"),
        render.reasons_keyboard(big, "bn"),
    ):
        for row in markup.inline_keyboard:
            for button in row:
                assert len(button.callback_data.encode()) <= 64
    datas = [b.callback_data for row in render.card_keyboard(5, "bn").inline_keyboard for b in row]
    assert datas == ["t:5:o", "t:5:n", "t:5:L", "t:5:X", "t:5:w", "t:5:m", "t:5:s"]
    with pytest.raises(ValueError):
        render.callback("t", "x" * 70)


def test_overview_both_languages() -> None:
    ov = Overview(date(2026, 3, 10), 12, 7, 2, 3, {"hot": 4, "warm": 5, "cold": 3}, {})
    bn = render.overview_text(ov, "bn")
    assert "১২টি" in bn and "বাকি ৭" in bn and "সম্পন্ন ৩" in bn and "🔥 HOT ৪" in bn
    en = render.overview_text(ov, "en")
    assert "Today's tasks (10 Mar 2026): 12" in en and "pending 7 · done 3 · call later 2" in en
    assert render.overview_keyboard(ov, "en") is not None
    empty = Overview(date(2026, 3, 10), 0, 0, 0, 0, {}, {})
    assert render.overview_keyboard(empty, "bn") is None


def test_tally_and_refusal() -> None:
    text = render.tally_text({"ordered": 3, "closed": 5}, date(2026, 3, 10), "bn")
    assert "অর্ডার ✅: ৩" in text and "সম্পন্ন কাজ: ৫" in text
    assert "Ordered ✅: 3" in render.tally_text({"ordered": 3}, date(2026, 3, 10), "en")
    refusal = render.t("refusal", "en")
    assert refusal.index("দুঃখিত") < refusal.index("Sorry")  # Bangla first, always both


def test_summary_text() -> None:
    s = DailySummary(
        day=date(2026, 3, 10),
        attribution_days=7,
        agents=[AgentDay(1, "Rina", 10, 7)],
        tasks_generated=10,
        tasks_completed=7,
        messages=MessageFunnel(20, 18, 15, 9, 2, 4),
        orders=6,
        revenue=Decimal("5400"),
        influenced_by_tasks=Influence(2, Decimal("1800")),
        influenced_by_messages=Influence(1, Decimal("900")),
        influenced=Influence(3, Decimal("2700")),
        priority_split={"hot": 5, "warm": 9, "cold": 20},
        lifecycle_split={"active": 30},
    )
    bn = render_reports.summary_text(s, "bn")
    assert "কাজ: তৈরি ১০ · সম্পন্ন ৭" in bn and "আয় ৳৫,৪০০" in bn and "Rina: ৭/১০" in bn
    en = render_reports.summary_text(s, "en")
    assert "Messages: queued 20 · sent 18 · delivered 15 · read 9 · replied 4 · failed 2" in en
    assert "Influenced: 3 orders · ৳2,700 (calls 2, messages 1)" in en


def test_split_long_texts() -> None:
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(200))
    parts = split_text(text)
    assert len(parts) > 1 and all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text
    assert split_text("y" * 5000) == ["y" * 4096, "y" * 904]


def test_manager_arguments() -> None:
    today = date(2026, 3, 11)  # a Wednesday
    assert parse_day("২০২৬-০৩-০৯", today) == date(2026, 3, 9)
    assert parse_day("yesterday", today) == date(2026, 3, 10)
    assert week_of(None, today) == (date(2026, 3, 9), today)
    assert week_of("last", today) == (date(2026, 3, 2), date(2026, 3, 8))
    options = parse_invite(["Rina_Akter", "agent", "Dhaka", "Gazipur", "senior", "capacity=৩০"])
    assert options == {
        "name": "Rina Akter",
        "role": "agent",
        "districts": ["Dhaka", "Gazipur"],
        "senior": True,
        "capacity": 30,
    }
