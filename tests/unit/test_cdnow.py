"""Reproduction of the published CDNOW results (Fader, Hardie & Lee 2005), in weeks as published.

Calibration 1997-01-01 to 1997-09-30 (39 weeks); transactions on one day are merged.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from core.predictions import bgnbd, gammagamma
from core.predictions.bgnbd import BgNbdParams
from core.predictions.summary import SummaryArrays, summarise, to_arrays

REPO = Path(__file__).resolve().parents[2]
CANDIDATES = (
    REPO / "tests" / "data" / "CDNOW_sample.txt",
    REPO.parent / "shared" / "data" / "CDNOW_sample.txt",
)
CALIBRATION_END = date(1997, 9, 30)
WEEK = 7.0


def _within_published(value: float, published: float, last_digit: float) -> bool:
    """Equal to the published figure at the precision it was printed (half its last digit)."""
    return abs(value - published) <= last_digit / 2


@pytest.fixture(scope="module")
def cdnow() -> SummaryArrays:
    path = next((p for p in CANDIDATES if p.exists()), None)
    assert path is not None, f"CDNOW sample not found in {[str(p) for p in CANDIDATES]}"
    transactions = []
    for line in path.read_text().splitlines():
        customer, _full_id, day, _cds, value = line.split()
        transactions.append((int(customer), datetime.strptime(day, "%Y%m%d").date(), float(value)))
    return to_arrays(summarise(transactions, CALIBRATION_END).values())


def test_sample_shape(cdnow: SummaryArrays):
    assert len(cdnow) == 2357
    assert int((cdnow.frequency > 0).sum()) == 946
    assert cdnow.age.max() / WEEK == pytest.approx(38.86, abs=0.005)


def test_bgnbd_reproduces_the_published_parameters(cdnow: SummaryArrays):
    fitted = bgnbd.fit(cdnow.frequency, cdnow.recency / WEEK, cdnow.age / WEEK)
    assert _within_published(fitted.r, 0.243, 0.001), fitted
    assert _within_published(fitted.alpha, 4.414, 0.001), fitted
    assert _within_published(fitted.a, 0.793, 0.001), fitted
    assert _within_published(fitted.b, 2.426, 0.001), fitted
    assert _within_published(fitted.log_likelihood, -9582.4, 0.1), fitted
    for value, published in [(fitted.r, 0.243), (fitted.alpha, 4.414), (fitted.a, 0.793)]:
        assert f"{value:.3g}" == f"{published:.3g}"


def test_published_parameters_give_the_published_log_likelihood(cdnow: SummaryArrays):
    ll = bgnbd.log_likelihood(
        (0.243, 4.414, 0.793, 2.426), cdnow.frequency, cdnow.recency / WEEK, cdnow.age / WEEK
    )
    assert _within_published(ll, -9582.4, 0.1)


def test_conditional_expectation_for_the_published_customer(cdnow: SummaryArrays):
    published = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    fitted = bgnbd.fit(cdnow.frequency, cdnow.recency / WEEK, cdnow.age / WEEK)
    for params in (published, fitted):
        expected = bgnbd.expected_purchases(params, 39.0, [2], [30.43], [38.86])[0]
        assert _within_published(expected, 1.226, 0.001), (params, expected)


def test_gamma_gamma_reproduces_the_published_parameters(cdnow: SummaryArrays):
    fitted = gammagamma.fit(cdnow.frequency, cdnow.mean_repeat_value)
    assert fitted.n_customers == 946
    assert _within_published(fitted.p, 6.25, 0.01), fitted
    assert _within_published(fitted.q, 3.74, 0.01), fitted
    assert _within_published(fitted.gamma, 15.44, 0.01), fitted
    correlation = gammagamma.independence_check(cdnow.frequency, cdnow.mean_repeat_value)
    assert abs(correlation) < 0.2  # the published data's spend is nearly independent of frequency
