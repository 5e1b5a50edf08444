"""Customer lifetime value over a horizon: BG/NBD purchases × Gamma-Gamma spend, discounted monthly."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from core.predictions.bgnbd import BgNbdParams, expected_purchases

Array = NDArray[np.float64]

DAYS_PER_MONTH = 30.0


def clv(
    params: BgNbdParams,
    spend: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    *,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
    month_length: float = DAYS_PER_MONTH,
) -> Array:
    """Discounted expected revenue in the next `months`: Σ_k ΔE[Y]_k · spend / (1+d)^k.

    `month_length` is a month in the unit of x, t_x and T (30 for days, 30/7 for weeks).
    """
    spend = np.asarray(spend, dtype=np.float64)
    total = np.zeros(np.broadcast(np.asarray(x), spend).shape, dtype=np.float64)
    previous = np.zeros_like(total)
    for k in range(1, months + 1):
        cumulative = expected_purchases(params, k * month_length, x, t_x, T)
        total += (cumulative - previous) * spend / (1.0 + monthly_discount_rate) ** k
        previous = cumulative
    return total
