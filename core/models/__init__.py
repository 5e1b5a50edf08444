"""Every table of the TrustCart data model (import from here)."""

from core.db import Base
from core.models.catalog import Category, ConsumptionProfile, Product
from core.models.customers import (
    ConsentEvent,
    Customer,
    CustomerPrediction,
    PredictionModel,
    SegmentTransition,
)
from core.models.marketing import (
    Campaign,
    CampaignMember,
    Coupon,
    CouponRedemption,
    CouponRule,
    MembershipEvent,
    RecommendationRule,
    WalletEntry,
)
from core.models.messages import InboundMessage, Message, ReorderRequest
from core.models.ops import ConfigEntry, JobRun
from core.models.orders import Order, OrderLine
from core.models.reminders import Reminder, ReminderSchedule, ReminderScheduleMeta
from core.models.team import Agent, Engagement, Invite, Task

__all__ = [
    "Agent",
    "Base",
    "Campaign",
    "CampaignMember",
    "Category",
    "ConfigEntry",
    "ConsentEvent",
    "ConsumptionProfile",
    "Coupon",
    "CouponRedemption",
    "CouponRule",
    "Customer",
    "CustomerPrediction",
    "Engagement",
    "InboundMessage",
    "Invite",
    "JobRun",
    "MembershipEvent",
    "Message",
    "Order",
    "OrderLine",
    "PredictionModel",
    "Product",
    "RecommendationRule",
    "Reminder",
    "ReminderSchedule",
    "ReminderScheduleMeta",
    "ReorderRequest",
    "SegmentTransition",
    "Task",
    "WalletEntry",
]
