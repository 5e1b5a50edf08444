"""The shop's rules as validated models: one section per file of `config/`."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.texts import template_fields

Channel = Literal["whatsapp", "sms", "call"]
Lang = Literal["bn", "en"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- catalog ------------------------------------------------------------------------------


class CategoryDef(Section):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    name_bn: str
    name_bn_loc: str | None = None  # locative ("মশলায়") for sentences like "মশলায় ছাড়"


class CatalogConfig(Section):
    categories: list[CategoryDef]

    @model_validator(mode="after")
    def _unique(self) -> CatalogConfig:
        codes = [c.code for c in self.categories]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"duplicate category codes: {', '.join(dupes)}")
        return self


# --- consumption --------------------------------------------------------------------------


class ProfileDef(Section):
    category: str | None = None
    sku: str | None = None
    avg_consumption_days: int = Field(gt=0)
    buffer_days: int = Field(ge=0)
    min_days: int = Field(gt=0)
    max_days: int = Field(gt=0)
    reference_quantity: Decimal = Field(gt=0)
    reference_unit: Literal["g", "kg", "ml", "l", "pcs"]

    @model_validator(mode="after")
    def _check(self) -> ProfileDef:
        if (self.category is None) == (self.sku is None):
            raise ValueError("give exactly one of `category` or `sku`")
        if self.min_days > self.max_days:
            raise ValueError("min_days is greater than max_days")
        if not self.min_days <= self.avg_consumption_days <= self.max_days:
            raise ValueError("avg_consumption_days must lie within [min_days, max_days]")
        if self.buffer_days >= self.min_days:
            raise ValueError("buffer_days must be smaller than min_days")
        return self

    @property
    def key(self) -> str:
        return f"sku:{self.sku}" if self.sku else f"category:{self.category}"


class LearnedRhythm(Section):
    min_purchases: int = Field(default=3, ge=2)
    weight_per_interval: float = Field(default=0.2, gt=0, le=1)
    max_weight: float = Field(default=0.8, gt=0, le=1)


class ConsumptionConfig(Section):
    profiles: list[ProfileDef]
    substitutes_within_category: list[str] = []  # categories whose products replace each other
    learned_rhythm: LearnedRhythm = LearnedRhythm()
    basket_window_days: int = Field(default=3, ge=0)
    late_touch_after_days: int = Field(default=7, gt=0)
    # the late touch may still go out this many days after its day (a late import), never later
    late_touch_grace_days: int = Field(default=3, gt=0)
    lookback_days: int = Field(default=400, gt=0)
    cold_offer_coupon: str | None = "winback_30"  # coupon rule attached to COLD reminders

    @property
    def late_touch_until_days(self) -> int:
        """Days past its due date from which a purchase is no longer late-touched."""
        return self.late_touch_after_days + self.late_touch_grace_days


# --- cross-sell ---------------------------------------------------------------------------


class CrossSellRuleDef(Section):
    key: str
    trigger_category: str | None = None
    trigger_sku: str | None = None
    recommend_category: str | None = None
    recommend_sku: str | None = None
    min_days_passed: int = Field(ge=0)
    max_days_passed: int = Field(gt=0)
    min_order_value: Decimal = Decimal(0)
    priority: int = 0
    channel: Literal["whatsapp", "sms"] = "whatsapp"
    coupon: str | None = None
    template: str = "cross_sell"
    success_window_days: int = Field(default=14, gt=0)

    @model_validator(mode="after")
    def _check(self) -> CrossSellRuleDef:
        if (self.trigger_category is None) == (self.trigger_sku is None):
            raise ValueError("give exactly one of trigger_category or trigger_sku")
        if (self.recommend_category is None) == (self.recommend_sku is None):
            raise ValueError("give exactly one of recommend_category or recommend_sku")
        if self.min_days_passed > self.max_days_passed:
            raise ValueError("min_days_passed is greater than max_days_passed")
        return self


class CrossSellConfig(Section):
    rules: list[CrossSellRuleDef]
    recent_purchase_days: int = Field(default=30, gt=0)  # never offer what was bought this recently
    max_per_customer_per_day: int = Field(default=1, ge=1)
    # a trigger order is offered only while its window has just opened: days since it within
    # [min_days_passed, min(max_days_passed, min_days_passed + grace_days)]
    grace_days: int = Field(default=3, ge=0)


# --- membership ---------------------------------------------------------------------------


class TierDef(Section):
    code: Literal["silver", "gold", "permanent"]
    name: str
    name_bn: str
    min_orders: int = Field(gt=0)
    min_spend: Decimal = Field(gt=0)
    discount_pct: Decimal = Field(ge=0, le=100)
    cashback_pct: Decimal = Field(ge=0, le=100)
    benefits_bn: str
    benefits_en: str
    birthday_coupon: bool = True
    card: bool = False  # create a card-generation task on upgrade


class MembershipConfig(Section):
    tiers: list[TierDef]
    # orders dated more than this many days before the run earn no cashback (late imports)
    cashback_lookback_days: int = Field(default=60, gt=0)
    # an upgrade is announced (message + call) only when the order that earned it is this recent;
    # older qualifiers (a first run over years of history) get their tier quietly
    announce_within_days: int = Field(default=14, gt=0)

    @field_validator("tiers")
    @classmethod
    def _ordered(cls, tiers: list[TierDef]) -> list[TierDef]:
        if [t.code for t in tiers] != ["silver", "gold", "permanent"]:
            raise ValueError("tiers must be silver, gold, permanent in that order")
        for low, high in zip(tiers, tiers[1:], strict=False):
            if high.min_orders <= low.min_orders or high.min_spend <= low.min_spend:
                raise ValueError(f"{high.code} must need more orders and spend than {low.code}")
        return tiers


# --- coupons ------------------------------------------------------------------------------


class CouponRuleDef(Section):
    key: str
    kind: Literal["welcome", "repeat", "winback", "referral", "birthday", "campaign"]
    code_prefix: str = Field(pattern=r"^[A-Z0-9_]+$")
    discount_pct: Decimal | None = Field(default=None, ge=0, le=100)
    discount_amount: Decimal | None = Field(default=None, ge=0)
    min_order_value: Decimal = Decimal(0)
    valid_days: int = Field(default=30, gt=0)
    usage_limit: int = Field(default=1, gt=0)
    params: dict[str, Any] = {}  # e.g. {after_order: 2} for repeat, {inactive_days: 30} for winback

    @model_validator(mode="after")
    def _one_discount(self) -> CouponRuleDef:
        if (self.discount_pct is None) == (self.discount_amount is None):
            raise ValueError("give exactly one of discount_pct or discount_amount")
        return self


class CouponsConfig(Section):
    rules: list[CouponRuleDef]
    referral_reward_amount: Decimal = Decimal(100)  # wallet credit to the referrer
    # welcome/repeat/referral and redemptions look at orders dated within this many days
    lookback_days: int = Field(default=14, gt=0)
    # a win-back stage fires when a customer crosses its threshold: silent days within
    # [threshold, threshold + grace) (a late import or a longer outage still gets it once)
    winback_grace_days: int = Field(default=7, gt=0)


# --- campaigns ----------------------------------------------------------------------------


class TargetFilter(Section):
    """CDM filters; every given list must match (empty = any)."""

    lifecycle_stage: list[str] = []
    customer_type: list[str] = []
    priority_level: list[str] = []
    tier: list[str] = []
    bought_category: list[str] = []
    min_orders: int | None = None
    max_orders: int | None = None


class CampaignDef(Section):
    key: str
    month: int = Field(ge=1, le=12)
    name: str
    name_bn: str
    target: TargetFilter
    channel: Literal["whatsapp", "sms"] = "whatsapp"
    template: str
    coupon: str | None = None
    start_day: int = Field(default=1, ge=1, le=28)
    duration_days: int = Field(default=28, gt=0, le=31)
    primary_kpi: str
    holdout_pct: float | None = Field(default=None, ge=0, le=50)


class CampaignsConfig(Section):
    years: list[int]
    holdout_pct: float = Field(default=5.0, ge=0, le=50)
    followup_priority_levels: list[str] = ["hot"]
    calendar: list[CampaignDef]

    @field_validator("calendar")
    @classmethod
    def _twelve(cls, calendar: list[CampaignDef]) -> list[CampaignDef]:
        months = sorted(c.month for c in calendar)
        if months != list(range(1, 13)):
            raise ValueError("the calendar needs exactly one campaign for each month 1..12")
        return calendar


# --- segmentation -------------------------------------------------------------------------


class SegmentsConfig(Section):
    at_risk_days: int = Field(default=45, gt=0)  # no own rhythm yet: at risk after this many days
    churned_days: int = Field(default=120, gt=0)
    rhythm_at_risk_factor: float = Field(default=1.5, gt=1)  # × own average gap
    rhythm_churned_factor: float = Field(default=3.0, gt=1)
    rhythm_min_orders: int = Field(default=3, ge=2)
    rhythm_floor_days: int = Field(default=7, gt=0)  # never at risk sooner than this
    new_customer_days: int = Field(default=30, gt=0)
    vip_min_spend: Decimal = Decimal(15000)
    vip_min_orders: int = 8
    inactive_days: int = Field(default=90, gt=0)
    hot_min_spend: Decimal = Decimal(8000)  # high LTV
    cold_max_spend: Decimal = Decimal(1500)  # low LTV

    @model_validator(mode="after")
    def _ordered(self) -> SegmentsConfig:
        if self.at_risk_days >= self.churned_days:
            raise ValueError("at_risk_days must be smaller than churned_days")
        if self.rhythm_at_risk_factor >= self.rhythm_churned_factor:
            raise ValueError("rhythm_at_risk_factor must be smaller than rhythm_churned_factor")
        if self.cold_max_spend >= self.hot_min_spend:
            raise ValueError("cold_max_spend must be smaller than hot_min_spend")
        return self


# --- team ---------------------------------------------------------------------------------


class TeamConfig(Section):
    default_daily_capacity: int = Field(default=40, gt=0)
    senior_for: list[str] = ["hot", "vip"]
    sticky_customers: bool = True
    warm_call_spare_capacity_pct: float = Field(default=30, ge=0, le=100)
    no_answer_retry_limit: int = Field(default=3, ge=1)
    no_answer_retry_hours: int = Field(default=3, gt=0)
    attribution_days: int = Field(default=7, gt=0)
    catch_up_days: int = Field(default=7, ge=0)
    daily_run_at: time = time(8, 0)
    end_of_day_summary_at: time = time(20, 0)
    weekly_review_weekday: int = Field(default=6, ge=0, le=6)  # 0 = Monday; 6 = Sunday
    weekly_review_at: time = time(10, 0)
    invite_valid_hours: int = Field(default=72, gt=0)


# --- messaging ----------------------------------------------------------------------------


class MessagingConfig(Section):
    quiet_start: time = time(21, 0)  # no sends from this local time …
    quiet_end: time = time(9, 0)  # … until this one
    marketing_per_day: int = Field(default=1, ge=1)
    marketing_per_week: int = Field(default=3, ge=1)
    rate_per_second: float = Field(default=80, gt=0)
    concurrency: int = Field(default=20, gt=0)
    max_attempts: int = Field(default=6, gt=0)
    service_window_hours: int = Field(default=24, gt=0)
    reply_attribution_hours: int = Field(default=72, gt=0)
    consent_policy: Literal["erp_flag", "opt_out_only"] = "erp_flag"
    claim_lease_seconds: int = Field(default=300, gt=0)  # "sending" longer than this: reconcile
    retry_base_seconds: float = Field(default=30, gt=0)  # first backoff; doubles per attempt
    retry_max_seconds: float = Field(default=3600, gt=0)
    meta_cap_pause_days: int = Field(default=7, gt=0)  # 63049: no marketing for this many days


class TemplateDef(Section):
    purpose: Literal["marketing", "service", "script", "reason"] = "marketing"
    bn: str
    en: str
    content_sid: str | None = Field(default=None, pattern=r"^HX[0-9a-fA-F]{32}$")
    content_variables: list[str] = []  # template fields in the order of Twilio's {{1}}, {{2}}, …

    @model_validator(mode="after")
    def _fields_match(self) -> TemplateDef:
        bn, en = set(template_fields(self.bn)), set(template_fields(self.en))
        if bn != en:
            raise ValueError(f"bn and en use different fields: {sorted(bn ^ en)}")
        unknown = set(self.content_variables) - bn
        if unknown:
            raise ValueError(f"content_variables not in the text: {sorted(unknown)}")
        return self


class TemplatesConfig(Section):
    templates: dict[str, TemplateDef]

    def get(self, key: str) -> TemplateDef:
        """The template for a key (KeyError when absent)."""
        return self.templates[key]
