"""The demo shop's catalogue: forty organic-grocery products priced for Dhaka in 2026."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from core.units import to_base


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    category: str
    name: str
    name_bn: str
    pack_size: Decimal
    unit: str
    price: Decimal
    weight: int  # how often households pick it within its category
    launched_days_ago: int  # days before as_of; recent ones are the "new product trial"

    @property
    def base_quantity(self) -> Decimal:
        """One pack in base units (g, ml, pcs)."""
        return to_base(Decimal(1), "pack", self.pack_size, self.unit)[0]

    def launch_date(self, as_of: date) -> date:
        """The product's launch date for a demo generated on as_of."""
        return as_of - timedelta(days=self.launched_days_ago)

    @property
    def is_new(self) -> bool:
        """Launched within the last four months: only bought as a trial, never a staple."""
        return self.launched_days_ago < 120


def _p(
    sku: str,
    category: str,
    name: str,
    name_bn: str,
    size: str,
    unit: str,
    price: int,
    weight: int = 10,
    launched: int = 900,
) -> DemoProduct:
    return DemoProduct(
        sku, category, name, name_bn, Decimal(size), unit, Decimal(price), weight, launched
    )


PRODUCTS: tuple[DemoProduct, ...] = (
    _p("RICE-MINIKET-5KG", "rice", "Miniket rice 5 kg", "মিনিকেট চাল ৫ কেজি", "5", "kg", 460, 30),
    _p("RICE-MINIKET-10KG", "rice", "Miniket rice 10 kg", "মিনিকেট চাল ১০ কেজি", "10", "kg", 900, 12),
    _p("RICE-NAZIR-5KG", "rice", "Nazirshail rice 5 kg", "নাজিরশাইল চাল ৫ কেজি", "5", "kg", 490, 15),
    _p("RICE-CHINIGURA-1KG", "rice", "Chinigura aromatic rice 1 kg", "চিনিগুড়া চাল ১ কেজি", "1", "kg", 165, 4),
    _p("RICE-RED-2KG", "rice", "Organic red rice 2 kg", "অর্গানিক লাল চাল ২ কেজি", "2", "kg", 270, 4),
    _p("DAL-MOSUR-1KG", "lentils", "Deshi red lentils 1 kg", "দেশি মসুর ডাল ১ কেজি", "1", "kg", 155, 20),
    _p("DAL-MUG-1KG", "lentils", "Moong dal 1 kg", "মুগ ডাল ১ কেজি", "1", "kg", 185, 10),
    _p("DAL-BUT-1KG", "lentils", "Chana dal 1 kg", "বুটের ডাল ১ কেজি", "1", "kg", 135, 6),
    _p("OIL-MUSTARD-1L", "oil", "Mustard oil 1 L", "সরিষার তেল ১ লিটার", "1", "l", 340, 30),
    _p("OIL-MUSTARD-5L", "oil", "Mustard oil 5 L", "সরিষার তেল ৫ লিটার", "5", "l", 1620, 6),
    _p("OIL-RICEBRAN-1L", "oil", "Rice bran oil 1 L", "রাইস ব্রান তেল ১ লিটার", "1", "l", 295, 12),
    _p("OIL-COCONUT-200ML", "oil", "Virgin coconut oil 200 ml", "নারিকেল তেল ২০০ মিলি", "200", "ml", 230, 3),
    _p("SPICE-TURMERIC-200G", "spices", "Turmeric powder 200 g", "হলুদ গুঁড়া ২০০ গ্রাম", "200", "g", 125, 20),
    _p("SPICE-CHILI-200G", "spices", "Chili powder 200 g", "মরিচ গুঁড়া ২০০ গ্রাম", "200", "g", 135, 18),
    _p("SPICE-CUMIN-100G", "spices", "Cumin powder 100 g", "জিরা গুঁড়া ১০০ গ্রাম", "100", "g", 145, 10),
    _p("SPICE-CORIANDER-200G", "spices", "Coriander powder 200 g", "ধনিয়া গুঁড়া ২০০ গ্রাম", "200", "g", 95, 10),
    _p("SPICE-GARAM-50G", "spices", "Garam masala 50 g", "গরম মসলা ৫০ গ্রাম", "50", "g", 115, 6),
    _p("GHEE-COW-400G", "ghee", "Pure cow ghee 400 g", "খাঁটি গাওয়া ঘি ৪০০ গ্রাম", "400", "g", 760, 15),
    _p("GHEE-COW-900G", "ghee", "Pure cow ghee 900 g", "খাঁটি গাওয়া ঘি ৯০০ গ্রাম", "900", "g", 1680, 5),
    _p("HONEY-SUNDARBAN-500G", "honey", "Sundarbans honey 500 g", "সুন্দরবনের মধু ৫০০ গ্রাম", "500", "g", 680, 15),
    _p("HONEY-MUSTARD-500G", "honey", "Mustard flower honey 500 g", "সরিষা ফুলের মধু ৫০০ গ্রাম", "500", "g", 460, 10),
    _p("HONEY-LITCHI-250G", "honey", "Litchi flower honey 250 g", "লিচু ফুলের মধু ২৫০ গ্রাম", "250", "g", 320, 5, 45),
    _p("HTEA-TULSI-100G", "herbal_tea", "Tulsi tea 100 g", "তুলসী চা ১০০ গ্রাম", "100", "g", 220, 10),
    _p("HTEA-GREEN-100G", "herbal_tea", "Green tea 100 g", "গ্রিন টি ১০০ গ্রাম", "100", "g", 260, 10),
    _p("HTEA-MORINGA-100G", "herbal_tea", "Moringa leaf tea 100 g", "সজনে পাতার চা ১০০ গ্রাম", "100", "g", 290, 5, 18),
    _p("DRY-DATES-500G", "dry_fruit", "Mariam dates 500 g", "মরিয়ম খেজুর ৫০০ গ্রাম", "500", "g", 650, 12),
    _p("DRY-CASHEW-250G", "dry_fruit", "Cashew nuts 250 g", "কাজু বাদাম ২৫০ গ্রাম", "250", "g", 430, 10),
    _p("DRY-ALMOND-250G", "dry_fruit", "Almonds 250 g", "কাঠবাদাম ২৫০ গ্রাম", "250", "g", 390, 8),
    _p("DRY-RAISIN-200G", "dry_fruit", "Raisins 200 g", "কিশমিশ ২০০ গ্রাম", "200", "g", 185, 6),
    _p("SUGAR-RED-1KG", "sugar", "Red sugar 1 kg", "লাল চিনি ১ কেজি", "1", "kg", 175, 20),
    _p("SUGAR-KHEJUR-GUR-500G", "sugar", "Date palm jaggery 500 g", "খেজুরের গুড় ৫০০ গ্রাম", "500", "g", 290, 6),
    _p("SUGAR-AKH-GUR-1KG", "sugar", "Sugarcane jaggery 1 kg", "আখের গুড় ১ কেজি", "1", "kg", 230, 6),
    _p("FLOUR-ATTA-2KG", "flour", "Whole wheat atta 2 kg", "লাল আটা ২ কেজি", "2", "kg", 165, 20),
    _p("FLOUR-ATTA-5KG", "flour", "Whole wheat atta 5 kg", "লাল আটা ৫ কেজি", "5", "kg", 395, 6),
    _p("FLOUR-CHAL-1KG", "flour", "Rice flour 1 kg", "চালের গুঁড়া ১ কেজি", "1", "kg", 125, 6),
    _p("TEA-SYLHET-400G", "tea", "Sylhet black tea 400 g", "সিলেটের চা পাতা ৪০০ গ্রাম", "400", "g", 265, 20),
    _p("TEA-SRIMANGAL-200G", "tea", "Srimangal premium tea 200 g", "শ্রীমঙ্গলের প্রিমিয়াম চা ২০০ গ্রাম", "200", "g", 210, 8, 75),
    _p("EGGS-DESHI-12", "eggs", "Deshi chicken eggs 12 pcs", "দেশি মুরগির ডিম ১২টি", "12", "pcs", 240, 20),
    _p("EGGS-DUCK-12", "eggs", "Duck eggs 12 pcs", "হাঁসের ডিম ১২টি", "12", "pcs", 270, 8),
    _p("EGGS-FARM-30", "eggs", "Farm eggs 30 pcs", "ফার্মের ডিম ৩০টি", "30", "pcs", 430, 8),
)  # fmt: skip

# Which categories a household buys regularly (probability), and how likely each is in a basket.
STAPLE_ODDS: dict[str, float] = {
    "rice": 0.88,
    "oil": 0.78,
    "lentils": 0.5,
    "spices": 0.5,
    "sugar": 0.35,
    "tea": 0.35,
    "flour": 0.3,
    "eggs": 0.15,
    "honey": 0.28,
    "ghee": 0.2,
    "dry_fruit": 0.14,
    "herbal_tea": 0.12,
}
