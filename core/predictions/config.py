"""The `predictions:` section of the shop config."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator


class PredictionsConfig(BaseModel):
    """When to refit the models, when data is too thin, and the p_alive thresholds for segments."""

    enabled: bool = True
    refit_after_days: int = Field(default=7, ge=1)
    min_customers: int = Field(default=100, ge=2)
    min_repeat_buyers: int = Field(default=30, ge=2)
    p_alive_at_risk: float = Field(default=0.5, gt=0, lt=1)
    p_alive_churned: float = Field(default=0.2, gt=0, lt=1)
    clv_horizon_months: int = Field(default=12, ge=1, le=120)
    monthly_discount_rate: float = Field(default=0.01, ge=0, lt=1)

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> PredictionsConfig:
        if self.p_alive_churned >= self.p_alive_at_risk:
            raise ValueError("p_alive_churned must be below p_alive_at_risk")
        return self
