"""The demo shop's people: customers' names, places and phones, and the sales team."""

from __future__ import annotations

import random
from dataclasses import dataclass

# (Bangla, English) pairs; Bangladeshi households, mostly Muslim names, some Hindu ones.
FEMALE = (
    ("ফাতেমা", "Fatema"), ("নুসরাত", "Nusrat"), ("সাদিয়া", "Sadia"), ("তাহমিনা", "Tahmina"),
    ("রুমানা", "Rumana"), ("শারমিন", "Sharmin"), ("নাসরিন", "Nasrin"), ("ফারহানা", "Farhana"),
    ("মরিয়ম", "Mariam"), ("আয়েশা", "Ayesha"), ("সুমাইয়া", "Sumaiya"), ("জান্নাতুল", "Jannatul"),
    ("তানিয়া", "Tania"), ("শিরিন", "Shirin"), ("সালমা", "Salma"), ("দিলরুবা", "Dilruba"),
    ("রাবেয়া", "Rabeya"), ("মাহমুদা", "Mahmuda"), ("ইসরাত", "Israt"), ("লাবণ্য", "Labonno"),
)  # fmt: skip
MALE = (
    ("রফিকুল", "Rafiqul"), ("মাহমুদ", "Mahmud"), ("আরিফ", "Arif"), ("তানভীর", "Tanvir"),
    ("সাকিব", "Sakib"), ("রাকিব", "Rakib"), ("ইমরান", "Imran"), ("শফিকুল", "Shafiqul"),
    ("কামরুল", "Kamrul"), ("মিজানুর", "Mizanur"), ("জাহিদ", "Zahid"), ("নাজমুল", "Nazmul"),
    ("হাসান", "Hasan"), ("মাসুদ", "Masud"), ("রাশেদ", "Rashed"), ("সোহেল", "Sohel"),
    ("আনিসুর", "Anisur"), ("ফয়সাল", "Faisal"), ("মেহেদী", "Mehedi"), ("শাহরিয়ার", "Shahriar"),
)  # fmt: skip
SURNAMES = (
    ("ইসলাম", "Islam"), ("রহমান", "Rahman"), ("হোসেন", "Hossain"), ("আহমেদ", "Ahmed"),
    ("চৌধুরী", "Chowdhury"), ("খান", "Khan"), ("সরকার", "Sarkar"), ("তালুকদার", "Talukder"),
    ("মিয়া", "Mia"), ("ভূঁইয়া", "Bhuiyan"), ("হক", "Haque"), ("আলম", "Alam"), ("উদ্দিন", "Uddin"),
)  # fmt: skip
FEMALE_SURNAMES = (("আক্তার", "Akter"), ("খাতুন", "Khatun"), ("জাহান", "Jahan"), ("সুলতানা", "Sultana"))
HINDU_FEMALE = (("পূজা", "Puja"), ("মৌসুমী", "Mousumi"), ("রুপা", "Rupa"), ("অনিতা", "Anita"))
HINDU_MALE = (("অমিত", "Amit"), ("সুমন", "Suman"), ("প্রদীপ", "Pradip"), ("বিপ্লব", "Biplob"))
HINDU_SURNAMES = (("দাস", "Das"), ("সাহা", "Saha"), ("রায়", "Roy"), ("পাল", "Paul"), ("ঘোষ", "Ghosh"))

# district: (weight, cities); Dhaka carries most of an online grocery's orders.
DISTRICTS: dict[str, tuple[int, tuple[str, ...]]] = {
    "Dhaka": (40, ("Dhanmondi", "Mirpur", "Uttara", "Gulshan", "Banani", "Mohammadpur",
                   "Bashundhara", "Motijheel", "Badda", "Khilgaon", "Rampura", "Old Dhaka")),
    "Chattogram": (12, ("Agrabad", "Nasirabad", "Halishahar", "Panchlaish", "Khulshi")),
    "Gazipur": (7, ("Tongi", "Gazipur Sadar", "Kaliakair")),
    "Sylhet": (6, ("Zindabazar", "Amberkhana", "Shibganj", "Upashahar")),
    "Narayanganj": (5, ("Narayanganj Sadar", "Fatullah", "Siddhirganj")),
    "Rajshahi": (5, ("Shaheb Bazar", "Uposhohor", "Motihar")),
    "Khulna": (5, ("Sonadanga", "Khalishpur", "Boyra")),
    "Cumilla": (4, ("Kandirpar", "Cumilla Sadar")),
    "Mymensingh": (4, ("Mymensingh Sadar", "Ganginarpar")),
    "Barishal": (3, ("Barishal Sadar", "Nathullabad")),
    "Rangpur": (3, ("Rangpur Sadar", "Jahaj Company More")),
    "Bogura": (2, ("Satmatha", "Sherpur")),
    "Cox's Bazar": (1, ("Kolatoli", "Cox's Bazar Sadar")),  # no agent covers it: the fallback path
}  # fmt: skip

# Mobile operator prefixes after +880 (013/017 Grameenphone, 018 Robi, 014/019 Banglalink, …).
OPERATOR_PREFIXES = ("17", "13", "18", "19", "14", "16", "15")
OPERATOR_WEIGHTS = (34, 12, 18, 14, 8, 10, 4)


@dataclass(frozen=True)
class Person:
    name_bn: str
    name_en: str
    female: bool


def person(rng: random.Random) -> Person:
    """A plausible Bangladeshi name, in Bangla and in English."""
    female = rng.random() < 0.55
    if rng.random() < 0.1:
        given = rng.choice(HINDU_FEMALE if female else HINDU_MALE)
        family = rng.choice(HINDU_SURNAMES)
    else:
        given = rng.choice(FEMALE if female else MALE)
        pool = FEMALE_SURNAMES + SURNAMES if female else SURNAMES
        family = rng.choice(pool)
    return Person(f"{given[0]} {family[0]}", f"{given[1]} {family[1]}", female)


def place(rng: random.Random) -> tuple[str, str]:
    """A (district, city) pair, weighted towards Dhaka."""
    names = list(DISTRICTS)
    district = rng.choices(names, weights=[DISTRICTS[n][0] for n in names])[0]
    return district, rng.choice(DISTRICTS[district][1])


def mobile_number(rng: random.Random, taken: set[str]) -> str:
    """A fresh Bangladeshi mobile number in E.164 (+8801[3-9] and 8 digits), not in `taken`."""
    while True:
        prefix = rng.choices(OPERATOR_PREFIXES, weights=OPERATOR_WEIGHTS)[0]
        phone = f"+880{prefix}{rng.randrange(100_000_00):08d}"
        if phone not in taken:
            taken.add(phone)
            return phone


@dataclass(frozen=True)
class TeamMember:
    name: str
    role: str
    senior: bool
    districts: tuple[str, ...]
    daily_capacity: int
    language: str = "bn"


# Agents join from Telegram with an invite code, so none has a Telegram id here.
TEAM: tuple[TeamMember, ...] = (
    TeamMember("Shahana Parvin", "admin", False, (), 0),
    TeamMember("Kamrul Hasan", "manager", True, (), 0),
    TeamMember("Tania Akter", "agent", True, ("Dhaka", "Gazipur", "Narayanganj"), 45),
    TeamMember("Rakib Hossain", "agent", True, ("Chattogram", "Cumilla", "Sylhet"), 40),
    TeamMember("Sumaiya Islam", "agent", False, ("Dhaka",), 40),
    TeamMember("Mizanur Rahman", "agent", False, ("Rajshahi", "Khulna", "Barishal", "Bogura"), 35),
    TeamMember("Puja Saha", "agent", False, ("Rangpur", "Mymensingh", "Dhaka"), 35, "en"),
    TeamMember("Rina Begum", "support", False, (), 25),
    TeamMember("Sohel Mia", "delivery", False, (), 20),
)
