"""Categories, products and their consumption profiles."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigId


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # "rice", "oil", …
    name: Mapped[str] = mapped_column(String(200))
    name_bn: Mapped[str | None] = mapped_column(String(200))


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_bn: Mapped[str | None] = mapped_column(String(200))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    pack_size: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    unit: Mapped[str] = mapped_column(String(8))  # g, kg, ml, l, pcs
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    launch_date: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ConsumptionProfile(Base):
    """How long a reference quantity of a product (or any product of a category) lasts."""

    __tablename__ = "consumption_profiles"
    __table_args__ = (
        CheckConstraint(
            "(product_id IS NULL) <> (category_id IS NULL)", name="product_xor_category"
        ),
        CheckConstraint("min_days <= max_days", name="min_le_max"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(
        String(100), unique=True
    )  # "product:RICE-5KG" / "category:rice"
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), unique=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), unique=True)
    avg_consumption_days: Mapped[int] = mapped_column(Integer)
    buffer_days: Mapped[int] = mapped_column(Integer)
    min_days: Mapped[int] = mapped_column(Integer)
    max_days: Mapped[int] = mapped_column(Integer)
    reference_quantity: Mapped[Decimal] = mapped_column(
        Numeric(12, 3)
    )  # in base units (g, ml, pcs)
    base_unit: Mapped[str] = mapped_column(String(8))  # g, ml or pcs
