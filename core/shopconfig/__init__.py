"""The shop's configuration: YAML files validated by pydantic, applied to the database, read by jobs.

cfg = load_config_dir(Path("config"))      # ConfigError names file, key and problem
report = await apply_config(session, cfg)   # idempotent upsert of rules, tiers, calendar…
cfg = await load_applied_config(session)    # what jobs use
"""

from core.shopconfig.apply import ApplyReport, apply_config
from core.shopconfig.loader import ShopConfig, load_applied_config, load_config_dir

__all__ = ["ApplyReport", "ShopConfig", "apply_config", "load_applied_config", "load_config_dir"]
