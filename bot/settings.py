"""Process settings: environment, then `.env`, then defaults. Secrets never show in reprs."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_MARKERS = ("changeme", "change-me", "your-", "xxx", "placeholder", "<")


class MissingSetting(Exception):
    """A command needs a setting that is absent or still a placeholder."""

    def __init__(self, name: str, why: str = "is not set") -> None:
        super().__init__(f"{name} {why}: set it in the environment or in .env (see .env.example)")
        self.name = name


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./trustcart.db"
    shop_timezone: str = "Asia/Dhaka"
    config_dir: str = "config"

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = ""
    telegram_webhook_url: str = ""
    telegram_webhook_secret: SecretStr | None = None

    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr | None = None
    twilio_whatsapp_from: str = ""
    twilio_sms_from: str = ""
    twilio_api_base_url: str = ""

    public_base_url: str = ""
    orders_api_token: SecretStr | None = None
    erp_order_webhook_url: str = ""
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.shop_timezone)

    def require(self, name: str) -> str:
        """The value of a secret or URL setting a command cannot work without."""
        value = getattr(self, name.lower())
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not value:
            raise MissingSetting(name.upper())
        lowered = str(value).lower()
        if any(marker in lowered for marker in PLACEHOLDER_MARKERS):
            raise MissingSetting(name.upper(), "is still the placeholder from .env.example")
        return str(value)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
