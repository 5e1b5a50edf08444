"""Orders imported from the ERP and their lines."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigId, UTCDateTime, utcnow

# Statuses that count as a purchase for CDM, reminders, membership and KPIs.
COUNTED_STATUSES = ("delivered", "pending")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        # covering (status, total) so per-customer aggregates (CDM refresh, KPIs) read the index
        # alone instead of a table lookup per order: ~12x faster on SQLite at 3M orders
        Index("ix_orders_customer_date", "customer_id", "order_date", "status", "total"),
        Index("ix_orders_order_date", "order_date"),
        # the reminder schedule re-evaluates the customers of orders changed since its last run
        Index("ix_orders_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    order_date: Mapped[date] = mapped_column(Date)  # shop-local date of ordered_at
    status: Mapped[str] = mapped_column(String(16), default="delivered")
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    coupon_code: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16), default="csv")  # csv, api, demo
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "line_no"),
        Index("ix_order_lines_product_order", "product_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    unit: Mapped[str] = mapped_column(String(8))
    base_quantity: Mapped[Decimal] = mapped_column(Numeric(14, 3))  # in g, ml or pcs
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
