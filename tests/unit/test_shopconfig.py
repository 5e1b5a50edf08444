"""The shipped config validates, carries the seed's defaults, and bad files get precise errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.shopconfig import load_config_dir
from core.texts import render

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_shipped_config_is_valid() -> None:
    cfg = load_config_dir(CONFIG)
    assert len(cfg.campaigns.calendar) == 12
    assert [t.code for t in cfg.membership.tiers] == ["silver", "gold", "permanent"]
    assert [(t.min_orders, int(t.min_spend)) for t in cfg.membership.tiers] == [
        (3, 5000),
        (6, 12000),
        (12, 25000),
    ]


@pytest.mark.parametrize(
    ("category", "reminder_day"), [("rice", 22), ("oil", 18), ("spices", 28), ("honey", 40)]
)
def test_seed_reminder_days(category: str, reminder_day: int) -> None:
    cfg = load_config_dir(CONFIG)
    p = next(p for p in cfg.consumption.profiles if p.category == category)
    assert p.avg_consumption_days - p.buffer_days == reminder_day


def test_seed_texts_word_for_word() -> None:
    t = load_config_dir(CONFIG).templates.templates
    assert render(t["reminder"].bn, {"product": "চাল", "quantity": "৫ কেজি"}, "bn") == (
        "আসসালামু আলাইকুম, আপনার আগের চাল প্রায় শেষ হওয়ার কথা। আজ অর্ডার দিলে ডেলিভারি দ্রুত "
        "পাবেন। আপনি কি আবার ৫ কেজি নেবেন?"
    )
    assert render(
        t["cross_sell"].bn, {"trigger": "চাল", "offer_loc": "মশলায়", "offer": "মশলা"}, "bn"
    ) == ("আপনি চাল নিয়েছেন—এই সপ্তাহে মশলায় বিশেষ ছাড় চলছে। চাইলে ২/৩টা মশলা কম্বো সাজেস্ট করতে পারি।")
    assert render(t["winback"].bn, {"coupon": "WELCOME_BACK"}, "bn") == (
        "আপনাকে অনেকদিন অর্ডারে পাইনি। ফিরে আসার জন্য এই কুপনটি ব্যবহার করুন: WELCOME_BACK"
    )
    assert render(t["membership_upgrade"].bn, {"tier": "Silver", "discount": 5}, "bn") == (
        "অভিনন্দন! আপনি Silver Member হয়েছেন—পরের অর্ডারে ৫% ছাড় পাবেন।"
    )


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG, target)
    return target


def test_error_names_file_key_and_problem(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    text = (d / "membership.yaml").read_text(encoding="utf-8")
    (d / "membership.yaml").write_text(
        text.replace("min_orders: 6", "min_orders: -6"), encoding="utf-8"
    )
    with pytest.raises(ConfigError) as err:
        load_config_dir(d)
    assert "membership.yaml: tiers.1.min_orders: Input should be greater than 0" in str(err.value)


def test_unknown_reference_and_bad_yaml(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    text = (d / "crosssell.yaml").read_text(encoding="utf-8")
    (d / "crosssell.yaml").write_text(
        text.replace("recommend_category: lentils", "recommend_category: caviar"), encoding="utf-8"
    )
    with pytest.raises(
        ConfigError, match=r"crosssell.yaml: rules.1.recommend_category: unknown category 'caviar'"
    ):
        load_config_dir(d)
    (d / "team.yaml").write_text("default_daily_capacity: [", encoding="utf-8")
    with pytest.raises(ConfigError, match="team.yaml: not valid YAML"):
        load_config_dir(d)


def test_missing_and_unknown_files(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    (d / "team.yaml").unlink()
    (d / "extra.yaml").write_text("a: 1", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config_dir(d)
    assert "team.yaml: file missing" in str(err.value)
    assert "extra.yaml: unknown config file" in str(err.value)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    with (d / "messaging.yaml").open("a", encoding="utf-8") as f:
        f.write("quiet_hourz: 3\n")
    with pytest.raises(
        ConfigError, match="messaging.yaml: quiet_hourz: Extra inputs are not permitted"
    ):
        load_config_dir(d)
