"""Reading the stored predictions: one customer's outlook, the at-risk list and the CLV spread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.digits import to_bangla_digits
from core.models.customers import Customer, CustomerPrediction, PredictionModel
from core.predictions.config import PredictionsConfig
from core.predictions.scoring import expected_next_order_days

# Upper edges of the CLV bands in the manager report (taka); the last band is open.
CLV_BANDS = (500, 1_000, 2_500, 5_000, 10_000, 25_000)


@dataclass(frozen=True)
class CustomerOutlook:
    """What the models say about one customer, for the Customer 360 card."""

    customer_id: int
    as_of: date
    p_alive: float
    prev_p_alive: float | None
    expected_orders_30: float
    expected_orders_90: float
    expected_order_value: float | None
    clv_12m: float | None
    expected_next_order_days: int | None
    model_version: str
    model_fitted_on: date

    @property
    def expected_next_order_date(self) -> date | None:
        """The date the next order is expected, if one is expected within a year."""
        if self.expected_next_order_days is None:
            return None
        return self.as_of + timedelta(days=self.expected_next_order_days)


@dataclass(frozen=True)
class AtRiskCustomer:
    """A customer likely lost but worth winning back, with the value at stake."""

    customer_id: int
    name: str
    phone: str
    p_alive: float
    prev_p_alive: float | None
    clv_12m: float
    value_at_stake: float
    last_order_date: date | None


@dataclass(frozen=True)
class ClvDistribution:
    """How predicted 12-month CLV is spread over the scored customers."""

    customers: int
    total: float
    mean: float
    median: float
    p90: float
    top_decile_share: float
    bands: list[tuple[str, int, float]]  # (label, customers, total CLV)


async def prediction_for_customer(
    session: AsyncSession, customer_id: int
) -> CustomerOutlook | None:
    """The customer's latest prediction with its model, or None when they are not scored."""
    row = (
        await session.execute(
            select(CustomerPrediction, PredictionModel)
            .join(PredictionModel, PredictionModel.id == CustomerPrediction.model_id)
            .where(CustomerPrediction.customer_id == customer_id)
        )
    ).first()
    if row is None:
        return None
    return outlook_of(customer_id, *row)


def outlook_of(
    customer_id: int, pred: CustomerPrediction, model: PredictionModel
) -> CustomerOutlook:
    """The outlook a stored prediction and its model give the customer."""
    return CustomerOutlook(
        customer_id=customer_id,
        as_of=pred.as_of,
        p_alive=pred.p_alive,
        prev_p_alive=pred.prev_p_alive,
        expected_orders_30=pred.expected_orders_30,
        expected_orders_90=pred.expected_orders_90,
        expected_order_value=pred.expected_order_value,
        clv_12m=pred.clv_12m,
        expected_next_order_days=expected_next_order_days(pred.p_alive, pred.expected_orders_30),
        model_version=model.version,
        model_fitted_on=model.fitted_on,
    )


def _taka(amount: float, lang: str) -> str:
    text = f"৳{amount:,.0f}"
    return to_bangla_digits(text) if lang == "bn" else text


def _number(value: float | int, lang: str, digits: int = 1) -> str:
    text = f"{value:.{digits}f}" if isinstance(value, float) else str(value)
    return to_bangla_digits(text) if lang == "bn" else text


def describe_outlook(o: CustomerOutlook, lang: str = "bn") -> list[str]:
    """The outlook in words an agent understands: Bangla ("bn", the default) or English ("en")."""
    bn = lang == "bn"
    pct = _number(round(o.p_alive * 100), lang)
    lines = [f"{pct}% সম্ভাবনা এখনও সক্রিয়" if bn else f"{pct}% chance still active"]
    if o.prev_p_alive is not None and o.prev_p_alive - o.p_alive >= 0.05:
        was = _number(round(o.prev_p_alive * 100), lang)
        lines.append(f"(আগে ছিল {was}% — কমছে)" if bn else f"(was {was}% — falling)")
    e30, e90 = _number(o.expected_orders_30, lang), _number(o.expected_orders_90, lang)
    lines.append(
        f"আগামী ৩০ দিনে প্রত্যাশিত অর্ডার: {e30} (৯০ দিনে {e90})"
        if bn
        else f"Expected orders in the next 30 days: {e30} (90 days: {e90})"
    )
    nxt = o.expected_next_order_date
    if nxt is not None:
        days = _number(o.expected_next_order_days or 0, lang)
        when = to_bangla_digits(nxt.isoformat()) if bn else nxt.isoformat()
        lines.append(
            f"পরের অর্ডার আনুমানিক {days} দিনের মধ্যে ({when})"
            if bn
            else f"Next order expected in about {days} days ({when})"
        )
    else:
        lines.append("শীঘ্রই অর্ডারের সম্ভাবনা কম" if bn else "No order expected soon")
    if o.clv_12m is not None:
        value = _taka(o.clv_12m, lang)
        lines.append(
            f"আগামী ১২ মাসে সম্ভাব্য কেনাকাটা (CLV): {value}"
            if bn
            else f"Predicted 12-month value (CLV): {value}"
        )
    fitted = o.model_fitted_on.isoformat()
    lines.append(
        to_bangla_digits(f"মডেল {o.model_version}, হিসাব {o.as_of.isoformat()}")
        if bn
        else f"Model {o.model_version} (fitted {fitted}), scored {o.as_of.isoformat()}"
    )
    return lines


async def at_risk_high_value(
    session: AsyncSession, as_of: date, limit: int = 20, cfg: PredictionsConfig | None = None
) -> list[AtRiskCustomer]:
    """Customers below the at-risk p_alive, ranked by the 12-month value lost if they are gone.

    CLV already includes P(alive); CLV / P(alive) is the value if they are still a customer,
    so the value at stake is that × (1 − P(alive)). Only predictions made for `as_of` count.
    """
    cfg = cfg or PredictionsConfig()
    p = CustomerPrediction.p_alive
    stake = CustomerPrediction.clv_12m * (1.0 - p) / p
    stmt = (
        select(Customer, CustomerPrediction, stake.label("stake"))
        .join(CustomerPrediction, CustomerPrediction.customer_id == Customer.id)
        .where(
            CustomerPrediction.as_of == as_of,
            CustomerPrediction.clv_12m.is_not(None),
            p < cfg.p_alive_at_risk,
            p >= 1e-3,
        )
        .order_by(stake.desc(), Customer.id)
        .limit(limit)
    )
    return [
        AtRiskCustomer(
            customer_id=c.id,
            name=c.name,
            phone=c.phone,
            p_alive=pred.p_alive,
            prev_p_alive=pred.prev_p_alive,
            clv_12m=float(pred.clv_12m or 0.0),
            value_at_stake=float(value or 0.0),
            last_order_date=c.last_order_date,
        )
        for c, pred, value in (await session.execute(stmt)).all()
    ]


async def clv_distribution(session: AsyncSession) -> ClvDistribution | None:
    """The spread of predicted CLV over scored customers (bands by the database); None if none."""
    clv = CustomerPrediction.clv_12m
    edges = (0, *CLV_BANDS)
    band = case(
        *[(clv < upper, i) for i, upper in enumerate(CLV_BANDS)],
        else_=len(CLV_BANDS),
    )
    counted = (
        await session.execute(
            select(band.label("band"), func.count(), func.sum(clv))
            .where(clv.is_not(None))
            .group_by("band")
        )
    ).all()
    if not counted:
        return None
    values = np.sort(
        np.array(
            (await session.execute(select(clv).where(clv.is_not(None)))).scalars().all(),
            dtype=np.float64,
        )
    )
    by_band = {int(b): (int(n), float(s or 0.0)) for b, n, s in counted}
    labels = [f"৳{lo:,}–{hi:,}" for lo, hi in zip(edges, CLV_BANDS, strict=False)]
    labels.append(f"৳{CLV_BANDS[-1]:,}+")
    total = float(values.sum())
    top = values[int(np.floor(values.size * 0.9)) :].sum()
    return ClvDistribution(
        customers=int(values.size),
        total=total,
        mean=float(values.mean()),
        median=float(np.median(values)),
        p90=float(np.quantile(values, 0.9)),
        top_decile_share=float(top / total) if total > 0 else 0.0,
        bands=[(labels[i], *by_band.get(i, (0, 0.0))) for i in range(len(labels))],
    )
