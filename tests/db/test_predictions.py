"""The predictions step on both databases: SQL summary, thin data, idempotence, the readers."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import is_postgres
from core.models import (
    Category,
    ConsumptionProfile,
    Customer,
    CustomerPrediction,
    Order,
    OrderLine,
    PredictionModel,
    Product,
)
from core.models.orders import COUNTED_STATUSES
from core.order_status import ORDER_STATUSES
from core.predictions.backtest import render, run_backtest, write_chart
from core.predictions.bgnbd import BgNbdParams
from core.predictions.config import PredictionsConfig
from core.predictions.outlook import (
    at_risk_high_value,
    clv_distribution,
    describe_outlook,
    prediction_for_customer,
)
from core.predictions.reminder_replay import replay_reminders
from core.predictions.step import run_predictions_step
from core.predictions.summary import summarise, summary_rows
from core.predictions.synthetic import simulate_orders
from tests.factories import inspected

START = date(2025, 1, 1)


async def add_shop(session: AsyncSession, orders: list[tuple[int, date, str, Decimal]]) -> None:
    """Customers 1..n and their orders (customer, date, status, total), flushed."""
    for cid in sorted({c for c, *_ in orders}):
        session.add(Customer(id=cid, phone=f"+8801700{cid:06d}", name=f"Customer {cid}"))
    await session.flush()
    for i, (cid, day, status, total) in enumerate(orders):
        session.add(
            Order(
                external_id=f"o{i}",
                customer_id=cid,
                ordered_at=datetime.combine(day, time(6, 0), tzinfo=UTC),
                order_date=day,
                status=status,
                total=total,
            )
        )
    await session.flush()


async def add_synthetic_shop(session: AsyncSession, n: int, days: int, seed: int = 3) -> None:
    sim = simulate_orders(n, days, seed=seed)
    dates = sim.dates(START)
    await add_shop(
        session,
        [
            (int(c) + 1, d, "delivered", Decimal(str(t)))
            for c, d, t in zip(sim.customer.tolist(), dates, sim.total.tolist(), strict=True)
        ],
    )


order_strategy = st.tuples(
    st.integers(1, 5),
    st.integers(0, 60),
    st.sampled_from(ORDER_STATUSES),
    st.decimals(min_value=0, max_value=5000, places=2, allow_nan=False, allow_infinity=False),
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(orders=st.lists(order_strategy, max_size=25), as_of_offset=st.integers(0, 70))
async def test_sql_summary_equals_the_pure_function(session: AsyncSession, orders, as_of_offset):
    await session.execute(delete(Order))
    await session.execute(delete(Customer))
    rows = [(c, START + timedelta(days=d), s, t) for c, d, s, t in orders]
    await add_shop(session, rows)
    as_of = START + timedelta(days=as_of_offset)
    expected = summarise([(c, d, float(t)) for c, d, s, t in rows if s in COUNTED_STATUSES], as_of)
    got = {s.customer_id: s for s in await summary_rows(session, as_of)}
    assert set(got) == set(expected)
    for cid, want in expected.items():
        have = got[cid]
        assert (have.frequency, have.recency, have.age) == (
            want.frequency,
            want.recency,
            want.age,
        )
        if want.mean_repeat_value is None:
            assert have.mean_repeat_value is None
        else:
            assert math.isclose(have.mean_repeat_value, want.mean_repeat_value, abs_tol=1e-6)
    await session.rollback()


async def test_thin_shop_records_why_it_did_not_fit(session: AsyncSession):
    as_of = date(2025, 3, 1)
    await add_shop(
        session,
        [
            (1, date(2025, 1, 5), "delivered", Decimal("500")),
            (1, date(2025, 2, 5), "delivered", Decimal("700")),
            (2, date(2025, 1, 9), "delivered", Decimal("900")),
        ],
    )
    report = await run_predictions_step(session, as_of, PredictionsConfig(min_customers=2))
    await session.commit()
    model = (await session.execute(select(PredictionModel))).scalar_one()
    assert model.status == "too_thin"
    assert "too few repeat buyers: 1 (need 30)" in (model.reason or "")
    assert model.version == "bgnbd-2025-03-01"
    assert report["scored"] == 0 and report["fallback"].startswith("rules")
    assert await session.scalar(select(func.count()).select_from(CustomerPrediction)) == 0
    # the next day does not retry (weekly); a week later it tries again and says so again
    again = await run_predictions_step(session, as_of + timedelta(days=1), PredictionsConfig())
    assert again["refitted"] is False
    later = await run_predictions_step(session, as_of + timedelta(days=7), PredictionsConfig())
    assert later["refitted"] is True and "too few customers" in later["reason"]


async def _snapshot(session: AsyncSession):
    preds = (await session.execute(select(CustomerPrediction).order_by("customer_id"))).scalars()
    models = (await session.execute(select(PredictionModel).order_by("id"))).scalars()
    return (
        [
            (
                p.customer_id,
                p.as_of,
                p.model_id,
                p.p_alive,
                p.expected_orders_30,
                p.expected_orders_90,
                p.expected_order_value,
                p.clv_12m,
                p.prev_p_alive,
            )
            for p in preds
        ],
        [(m.id, m.version, m.status, m.params, m.diagnostics) for m in models],
    )


async def test_step_twice_for_one_date_changes_nothing(session: AsyncSession):
    await add_synthetic_shop(session, 400, 365)
    await session.commit()
    as_of = START + timedelta(days=365)
    cfg = PredictionsConfig()
    first = await run_predictions_step(session, as_of, cfg)
    await session.commit()
    assert first["refitted"] is True and first["attempt_status"] == "fitted", first
    assert first["scored"] == 400 and first["skipped_not_finite"] == 0
    before = await _snapshot(session)
    second = await run_predictions_step(session, as_of, cfg)
    await session.commit()
    session.expire_all()
    assert second["refitted"] is False and second["scored"] == 400
    assert await _snapshot(session) == before

    # next day: same model, p_alive of yesterday kept as prev_p_alive
    yesterday = {row[0]: row[3] for row in before[0]}
    await run_predictions_step(session, as_of + timedelta(days=1), cfg)
    await session.commit()
    session.expire_all()
    rows = (await session.execute(select(CustomerPrediction))).scalars().all()
    assert {r.customer_id: r.prev_p_alive for r in rows} == yesterday
    assert {r.model_id for r in rows} == {before[1][0][0]}
    # a week on, the model is refitted under a new version
    week = await run_predictions_step(session, as_of + timedelta(days=7), cfg)
    assert week["refitted"] is True and week["model"] == "bgnbd-2026-01-08"


async def test_the_daily_rescore_rewrites_scores_in_place(session: AsyncSession):
    """Every day rewrites every score: without a foreign key on the customer (no per-row check,
    no row lock on customers) and, on PostgreSQL, as heap-only updates on half-empty pages."""
    keys = await inspected(session, lambda i: i.get_foreign_keys("customer_predictions"))
    assert [k["referred_table"] for k in keys] == ["prediction_models"]
    await add_synthetic_shop(session, 400, 365)
    await session.commit()
    as_of = START + timedelta(days=365)
    cfg = PredictionsConfig()
    assert (await run_predictions_step(session, as_of, cfg))["scored"] == 400
    await session.commit()
    assert (await run_predictions_step(session, as_of + timedelta(days=1), cfg))["scored"] == 400
    if not is_postgres(session):
        return
    options = await session.scalar(
        text("SELECT reloptions FROM pg_class WHERE relname = 'customer_predictions'")
    )
    assert options == ["fillfactor=50"]
    updated = (
        await session.execute(
            text(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables"
                " WHERE relname = 'customer_predictions'"
            )
        )
    ).one()
    assert tuple(updated) == (400, 400)


async def test_predictions_are_finite_and_readable(session: AsyncSession):
    await add_synthetic_shop(session, 400, 365, seed=11)
    as_of = START + timedelta(days=365)
    cfg = PredictionsConfig()
    await run_predictions_step(session, as_of, cfg)
    await session.commit()
    rows = (await session.execute(select(CustomerPrediction))).scalars().all()
    for r in rows:
        values = (
            r.p_alive,
            r.expected_orders_30,
            r.expected_orders_90,
            r.expected_order_value,
            r.clv_12m,
        )
        assert all(v is not None and math.isfinite(v) for v in values), r
        assert 0 <= r.p_alive <= 1 and r.expected_orders_30 <= r.expected_orders_90
    model = (await session.execute(select(PredictionModel))).scalar_one()
    assert model.params["unit"] == "days" and model.params["gamma_gamma"]["q"] > 1
    assert "spend_frequency_correlation" in model.diagnostics

    outlook = await prediction_for_customer(session, rows[0].customer_id)
    assert outlook is not None and outlook.model_version == "bgnbd-2026-01-01"
    bangla = describe_outlook(outlook, "bn")
    assert "সম্ভাবনা এখনও সক্রিয়" in bangla[0] and "%" in bangla[0]
    assert any("৳" in line for line in bangla)
    english = describe_outlook(outlook, "en")
    assert english[0].endswith("chance still active")
    assert await prediction_for_customer(session, 10_000) is None

    risky = await at_risk_high_value(session, as_of, limit=5, cfg=cfg)
    assert risky and all(c.p_alive < cfg.p_alive_at_risk for c in risky)
    stakes = [c.value_at_stake for c in risky]
    assert stakes == sorted(stakes, reverse=True)
    dist = await clv_distribution(session)
    assert dist is not None and dist.customers == 400
    assert sum(n for _, n, _ in dist.bands) == 400
    assert math.isclose(sum(t for *_, t in dist.bands), dist.total, rel_tol=1e-6)


async def add_rice_shop(session: AsyncSession, purchases: list[tuple[int, date]]) -> int:
    """A catalogue of one 5 kg rice (category profile 30 days, buffer 5) and its purchases."""
    rice = Category(code="rice", name="Rice")
    session.add(rice)
    await session.flush()
    product = Product(
        sku="RICE-5KG",
        name="Rice 5 kg",
        category_id=rice.id,
        pack_size=Decimal(5),
        unit="kg",
        price=Decimal(450),
    )
    session.add_all(
        [
            product,
            ConsumptionProfile(
                key="category:rice",
                category_id=rice.id,
                avg_consumption_days=30,
                buffer_days=5,
                min_days=20,
                max_days=60,
                reference_quantity=Decimal(5000),
                base_unit="g",
            ),
        ]
    )
    await add_shop(session, [(c, d, "delivered", Decimal(450)) for c, d in purchases])
    orders = (await session.execute(select(Order).order_by(Order.id))).scalars().all()
    for order in orders:
        session.add(
            OrderLine(
                order_id=order.id,
                line_no=1,
                product_id=product.id,
                quantity=Decimal(5),
                unit="kg",
                base_quantity=Decimal(5000),
                unit_price=Decimal(450),
                amount=Decimal(450),
            )
        )
    await session.flush()
    return product.id


async def test_reminder_replay_counts_hits_and_waste(session: AsyncSession):
    day0 = date(2025, 1, 1)
    # reminders at purchase + 30 − 5: day 25 (repurchase day 26: hit), day 51 (repurchase on
    # day 70 is 19 days later: a miss, and the reminder is wasted), day 75 (nothing follows)
    await add_rice_shop(session, [(1, day0 + timedelta(days=d)) for d in (0, 26, 70)])
    params = BgNbdParams(r=1.0, alpha=30.0, a=0.5, b=4.0)
    cfg = PredictionsConfig()
    scores, notes = await replay_reminders(
        session, params, day0 + timedelta(days=10), day0 + timedelta(days=120), 7, cfg
    )
    fixed = {s.policy: s for s in scores}["fixed profile"]
    assert (fixed.repurchases, fixed.hits) == (2, 1)
    assert (fixed.fired, fixed.wasted) == (3, 2)
    assert fixed.hit_rate == 0.5 and notes == []


async def test_backtest_compares_model_and_naive_and_draws_its_chart(
    session: AsyncSession, tmp_path
):
    sim = simulate_orders(300, 420, seed=5)
    await add_rice_shop(
        session,
        [(int(c) + 1, d) for c, d in zip(sim.customer.tolist(), sim.dates(START), strict=True)],
    )
    await session.commit()
    result = await run_backtest(session, START + timedelta(days=330), 90)
    assert result.customers > 200
    assert sum(r.customers for r in result.by_frequency) == result.customers
    assert result.total_actual > 0
    assert abs(result.total_predicted - result.total_actual) / result.total_actual < 0.35
    assert result.mae_model < result.mae_naive * 1.5
    assert {s.policy for s in result.policies} == {
        "fixed profile",
        "learned rhythm",
        "model-informed",
    }
    for s in result.policies:
        assert 0 <= s.hits <= s.repurchases and 0 <= s.wasted <= s.fired
    model_informed = result.policies[2]
    assert model_informed.fired <= result.policies[1].fired  # it only ever holds reminders back
    text = "\n".join(render(result))
    assert "naive" in text and "learned rhythm" in text
    json.dumps(result.as_json())
    chart = write_chart(result, tmp_path / "backtest.png")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
