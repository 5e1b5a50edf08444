"""Synthetic purchase histories drawn from BG/NBD + Gamma-Gamma, for tests and the benchmark."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from core.predictions.bgnbd import BgNbdParams
from core.predictions.gammagamma import GammaGammaParams

# A grocery: a purchase every ~25 days while active, modest dropout, orders around ৳1,500.
GROCERY_BGNBD = BgNbdParams(r=1.2, alpha=30.0, a=0.5, b=4.0)
GROCERY_SPEND = GammaGammaParams(p=6.0, q=4.0, gamma=750.0)


@dataclass(frozen=True)
class SyntheticOrders:
    """Orders as parallel arrays: customer index (0-based), day offset from the start, total."""

    customer: NDArray[np.int64]
    day: NDArray[np.int64]
    total: NDArray[np.float64]
    n_customers: int

    def dates(self, start: date) -> list[date]:
        """The order dates as `date` objects from a start date."""
        base = np.datetime64(start.isoformat(), "D")
        return [d.item() for d in base + self.day.astype("timedelta64[D]")]


def simulate_orders(
    n_customers: int,
    days: int,
    *,
    seed: int = 1,
    purchases: BgNbdParams = GROCERY_BGNBD,
    spend: GammaGammaParams = GROCERY_SPEND,
) -> SyntheticOrders:
    """Each customer joins on a uniform day of `days`, buys while alive; vectorised over customers."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(purchases.r, 1.0 / purchases.alpha, n_customers)
    drop = rng.beta(purchases.a, purchases.b, n_customers)
    nu = rng.gamma(spend.q, 1.0 / spend.gamma, n_customers)
    first = rng.integers(0, days, n_customers)
    customers = [np.arange(n_customers)]
    times = [first.astype(np.float64)]
    active = np.arange(n_customers)
    clock = first.astype(np.float64)
    # Step purchase by purchase: after each one a customer may drop out; the rest wait Exp(λ).
    while active.size:
        active = active[rng.random(active.size) >= drop[active]]
        clock_a = clock[active] + rng.exponential(1.0 / lam[active])
        inside = clock_a < days
        active, clock_a = active[inside], clock_a[inside]
        clock[active] = clock_a
        customers.append(active)
        times.append(clock_a)
    customer = np.concatenate(customers).astype(np.int64)
    day = np.floor(np.concatenate(times)).astype(np.int64)
    total = np.round(rng.gamma(spend.p, 1.0 / nu[customer]), 2)
    order = np.lexsort((day, customer))
    return SyntheticOrders(customer[order], day[order], total[order], n_customers)
