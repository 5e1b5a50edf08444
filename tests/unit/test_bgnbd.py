"""BG/NBD, Gamma-Gamma and CLV formulas against hand-computed closed forms and simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from core.predictions import bgnbd, gammagamma
from core.predictions.bgnbd import BgNbdParams
from core.predictions.clv import clv
from core.predictions.config import PredictionsConfig
from core.predictions.fitting import FitFailed, distinct_rows
from core.predictions.gammagamma import GammaGammaParams
from core.predictions.scoring import expected_next_order_days, lifecycle_from_p_alive

PARAMS = BgNbdParams(r=0.5, alpha=2.0, a=0.8, b=2.5)


def test_likelihood_of_a_customer_with_no_repeat_is_the_poisson_gamma_survival():
    # x = 0: L = (α / (α + T))^r = (2/12)^0.5
    assert bgnbd.log_likelihood((0.5, 2.0, 0.8, 2.5), [0], [0], [10]) == pytest.approx(
        0.5 * math.log(2 / 12), rel=1e-12
    )


def test_likelihood_of_one_repeat_matches_the_closed_form():
    r, alpha, a, b = 0.5, 2.0, 0.8, 2.5
    t_x, T = 4.0, 10.0
    # L = r α^r [ b/(a+b) (α+T)^-(r+1) + a/(a+b) (α+t_x)^-(r+1) ]  (x = 1)
    expected = (
        r
        * alpha**r
        * (b / (a + b) * (alpha + T) ** -(r + 1) + a / (a + b) * (alpha + t_x) ** -(r + 1))
    )
    assert math.exp(bgnbd.log_likelihood((r, alpha, a, b), [1], [t_x], [T])) == pytest.approx(
        expected, rel=1e-12
    )
    assert expected == pytest.approx(0.0245503, rel=1e-5)


def test_likelihood_for_many_repeats_matches_the_gamma_function_form():
    r, alpha, a, b = 0.7, 3.0, 1.3, 4.0
    x, t_x, T = 6, 20.0, 31.0
    beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    beta_x = math.lgamma(a) + math.lgamma(b + x) - math.lgamma(a + b + x)
    beta_x1 = math.lgamma(a + 1) + math.lgamma(b + x - 1) - math.lgamma(a + b + x)
    poisson = math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha)
    expected = math.exp(beta_x - beta + poisson - (r + x) * math.log(alpha + T)) + math.exp(
        beta_x1 - beta + poisson - (r + x) * math.log(alpha + t_x)
    )
    got = bgnbd.log_likelihood((r, alpha, a, b), [x], [t_x], [T])
    assert got == pytest.approx(math.log(expected), rel=1e-12)


def test_p_alive_closed_form_and_no_repeat_is_alive():
    # 1 / (1 + a/(b+x-1) · ((α+T)/(α+t_x))^(r+x)) with x=1: 1 / (1 + 0.32 · 2^1.5)
    assert bgnbd.p_alive(PARAMS, [1], [4], [10])[0] == pytest.approx(1 / (1 + 0.32 * 2**1.5))
    assert bgnbd.p_alive(PARAMS, [0], [0], [500])[0] == 1.0
    # the longer the silence since the last purchase, the lower the chance still alive
    silence = bgnbd.p_alive(PARAMS, [5, 5, 5], [50, 50, 50], [60, 120, 360])
    assert silence[0] > silence[1] > silence[2]


def test_population_expectation_equals_integration_over_the_mixing_distributions():
    r, alpha, a, b = PARAMS.r, PARAMS.alpha, PARAMS.a, PARAMS.b
    t = 30.0

    def integrand(p: float) -> float:
        # E[X(t) | λ, p] = (1 - exp(-λ p t)) / p; over λ ~ Gamma(r, α): (1 - (α/(α+pt))^r) / p
        return (1 - (alpha / (alpha + p * t)) ** r) / p * stats.beta.pdf(p, a, b)

    numeric, _ = integrate.quad(integrand, 0, 1, epsabs=1e-12, limit=200)
    assert float(bgnbd.expected_population(PARAMS, t)) == pytest.approx(numeric, rel=1e-4)


def test_new_customer_conditional_expectation_is_the_population_one():
    new = bgnbd.expected_purchases(PARAMS, 30.0, [0], [0], [0])[0]
    assert new == pytest.approx(float(bgnbd.expected_population(PARAMS, 30.0)), rel=1e-9)


def test_transformed_hypergeometric_agrees_with_the_direct_series():
    from scipy.special import hyp2f1

    r, alpha, a, b = PARAMS.r, PARAMS.alpha, PARAMS.a, PARAMS.b
    x, t_x, T, t = 3.0, 40.0, 60.0, 90.0
    z = t / (alpha + T + t)
    direct = (
        (a + b + x - 1)
        / (a - 1)
        * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z))
        / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    )
    assert bgnbd.expected_purchases(PARAMS, t, [x], [t_x], [T])[0] == pytest.approx(direct)


def test_heavy_buyers_do_not_overflow():
    params = BgNbdParams(r=2.0, alpha=20.0, a=0.4, b=6.0)
    x, t_x, T = np.array([400.0, 2000.0]), np.array([700.0, 3500.0]), np.array([705.0, 3500.0])
    expected = bgnbd.expected_purchases(params, 30.0, x, t_x, T)
    assert np.all(np.isfinite(expected))
    rate = (params.r + x) / (params.alpha + T) * 30.0
    alive = bgnbd.p_alive(params, x, t_x, T)
    assert expected == pytest.approx(rate * alive, rel=0.05)


def test_a_equal_to_one_is_handled():
    params = BgNbdParams(r=0.5, alpha=2.0, a=1.0, b=2.5)
    near = BgNbdParams(r=0.5, alpha=2.0, a=1.0 + 1e-4, b=2.5)
    got = bgnbd.expected_purchases(params, 30.0, [2], [10], [20])[0]
    assert np.isfinite(got)
    assert got == pytest.approx(bgnbd.expected_purchases(near, 30.0, [2], [10], [20])[0], rel=1e-3)


def _simulate(params: BgNbdParams, n: int, horizon: float, seed: int):
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params.r, 1 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    T = rng.uniform(horizon / 3, horizon, n).round()
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < p[i]:
                break
    return x, t_x, T


def test_fit_recovers_simulated_parameters():
    truth = BgNbdParams(r=0.8, alpha=25.0, a=0.6, b=3.0)
    x, t_x, T = _simulate(truth, 8000, 500.0, seed=7)
    fitted = bgnbd.fit(x, t_x, T)
    assert fitted.r == pytest.approx(truth.r, rel=0.15)
    assert fitted.alpha == pytest.approx(truth.alpha, rel=0.2)
    assert fitted.a == pytest.approx(truth.a, rel=0.3)
    assert fitted.b == pytest.approx(truth.b, rel=0.4)


def test_fit_without_any_repeat_buyer_is_refused():
    with pytest.raises(FitFailed, match="at a bound|convergence"):
        bgnbd.fit(np.zeros(200), np.zeros(200), np.arange(200.0) + 10)


def test_gamma_gamma_density_for_one_transaction_is_the_closed_form():
    p, q, gamma, m = 6.25, 3.74, 15.44, 30.0
    # x = 1: Γ(p+q)/(Γ(p)Γ(q)) γ^q m^(p-1) / (γ+m)^(p+q)
    log_density = (
        math.lgamma(p + q)
        - math.lgamma(p)
        - math.lgamma(q)
        + q * math.log(gamma)
        + (p - 1) * math.log(m)
        - (p + q) * math.log(gamma + m)
    )
    assert gammagamma.log_likelihood((p, q, gamma), [1], [m]) == pytest.approx(log_density)


def test_gamma_gamma_density_integrates_to_one():
    params = (4.0, 3.0, 20.0)
    total, _ = integrate.quad(
        lambda m: math.exp(gammagamma.log_likelihood(params, [3], [m])), 0, np.inf
    )
    assert total == pytest.approx(1.0, rel=1e-6)


def test_expected_spend_is_a_weighted_mean_of_population_and_own_mean():
    params = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    # (γ + m x) p / (p x + q - 1) with x = 2, m = 30
    got = gammagamma.expected_spend(params, [2, 0], [30.0, np.nan])
    assert got[0] == pytest.approx((15.44 + 60) * 6.25 / (12.5 + 2.74))
    assert got[1] == pytest.approx(6.25 * 15.44 / 2.74)


def test_clv_of_one_undiscounted_month_is_expected_orders_times_spend():
    e30 = bgnbd.expected_purchases(PARAMS, 30.0, [2], [20], [40])[0]
    got = clv(PARAMS, [100.0], [2], [20], [40], months=1, monthly_discount_rate=0.0)
    assert got[0] == pytest.approx(100.0 * e30)
    discounted = clv(PARAMS, [100.0], [2], [20], [40], months=12, monthly_discount_rate=0.02)
    plain = clv(PARAMS, [100.0], [2], [20], [40], months=12, monthly_discount_rate=0.0)
    e360 = bgnbd.expected_purchases(PARAMS, 360.0, [2], [20], [40])[0]
    assert plain[0] == pytest.approx(100.0 * e360)
    assert 0 < discounted[0] < plain[0]


def test_lifecycle_from_p_alive_thresholds():
    cfg = PredictionsConfig(p_alive_at_risk=0.5, p_alive_churned=0.2)
    assert lifecycle_from_p_alive(0.9, cfg) is None
    assert lifecycle_from_p_alive(0.5, cfg) is None
    assert lifecycle_from_p_alive(0.49, cfg) == "at_risk"
    assert lifecycle_from_p_alive(0.19, cfg) == "churned"
    assert lifecycle_from_p_alive(None, cfg) is None
    assert lifecycle_from_p_alive(float("nan"), cfg) is None
    with pytest.raises(ValueError):
        PredictionsConfig(p_alive_at_risk=0.2, p_alive_churned=0.3)


def test_expected_next_order_days():
    assert expected_next_order_days(0.9, 1.0) == 27
    assert expected_next_order_days(0.01, 1.0) is None
    assert expected_next_order_days(0.9, 0.0) is None


def test_distinct_rows_round_trip():
    x = np.array([0, 2, 0, 2, 5.0])
    t = np.array([0, 10, 0, 10, 7.0])
    T = np.array([30, 40, 30, 40, 9.0])
    (ux, ut, uT), inverse, counts = distinct_rows(x, t, T)
    assert np.array_equal(ux[inverse], x) and np.array_equal(uT[inverse], T)
    assert counts.sum() == 5 and len(ux) == 3
    weeks = distinct_rows(x / 7, t / 7, T / 7)  # non-integral rows take the general path
    assert np.array_equal(weeks[0][0][weeks[1]], x / 7)


def test_fast_likelihood_and_its_gradient_match_the_plain_formula():
    from scipy.optimize import approx_fprime

    rng = np.random.default_rng(1)
    x = rng.integers(0, 6, 300).astype(float)
    T = rng.integers(10, 100, 300).astype(float)
    t_x = np.where(x > 0, np.floor(T * rng.random(300)), 0.0)
    objective = bgnbd.Likelihood(x, t_x, T)
    point = np.log([0.7, 20.0, 0.6, 3.0])
    value, grad = objective.negative_mean(point)
    plain = -bgnbd.log_likelihood(tuple(np.exp(point)), x, t_x, T) / 300
    assert value == pytest.approx(plain, rel=1e-12)
    numeric = approx_fprime(point, lambda p: objective.negative_mean(p)[0], 1e-7)
    assert grad == pytest.approx(numeric, abs=1e-5)


def test_gamma_gamma_fit_finds_the_maximum_of_the_plain_likelihood():
    from scipy.optimize import minimize

    rng = np.random.default_rng(3)
    p, q, gamma = 6.0, 4.0, 750.0
    nu = rng.gamma(q, 1 / gamma, 5000)
    x = rng.integers(1, 8, 5000)
    m = np.array([rng.gamma(p, 1 / v, k).mean() for v, k in zip(nu, x, strict=True)])
    fitted = gammagamma.fit(x, m)
    plain = minimize(
        lambda lp: -gammagamma.log_likelihood(tuple(np.exp(lp)), x, m),
        np.log([1.0, 3.0, 1000.0]),
        method="Nelder-Mead",
        options={"maxiter": 5000, "xatol": 1e-8, "fatol": 1e-8},
    )
    assert [fitted.p, fitted.q, fitted.gamma] == pytest.approx(np.exp(plain.x), rel=1e-3)
    assert fitted.log_likelihood >= gammagamma.log_likelihood((p, q, gamma), x, m)
    assert gammagamma.population_mean_spend(fitted) == pytest.approx(p * gamma / (q - 1), rel=0.05)
