"""Composition of the dispatcher from settings: Twilio when configured, the console otherwise."""

from __future__ import annotations

from datetime import timedelta

from bot.settings import Settings
from core.db import SessionFactory
from messaging.console import ConsoleTransport
from messaging.dispatcher import Dispatcher
from messaging.templates import Senders
from messaging.transport import Transport
from messaging.twilio_transport import TwilioTransport

# Several PostgreSQL dispatchers may be running: at start-up only rows older than this are
# another process's crash rather than its sends in flight. SQLite has a single dispatcher.
POSTGRES_STARTUP_GRACE = timedelta(minutes=5)


def twilio_configured(settings: Settings) -> bool:
    """Whether the Twilio account, token and at least one sender are set."""
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    senders = settings.twilio_whatsapp_from or settings.twilio_sms_from
    return bool(settings.twilio_account_sid and token and senders)


def build_transport(settings: Settings) -> Transport:
    """The Twilio transport when configured, else the console."""
    if not twilio_configured(settings):
        return ConsoleTransport()
    return TwilioTransport(
        settings.require("TWILIO_ACCOUNT_SID"),
        settings.require("TWILIO_AUTH_TOKEN"),
        api_base_url=settings.twilio_api_base_url,
    )


def build_dispatcher(settings: Settings, sessions: SessionFactory) -> Dispatcher:
    """The outbox dispatcher for this process (call `start()`/`stop()` or `drain_once()`)."""
    transport = build_transport(settings)
    console = isinstance(transport, ConsoleTransport)
    senders = Senders(
        whatsapp_from=settings.twilio_whatsapp_from or ("whatsapp:+000" if console else ""),
        sms_from=settings.twilio_sms_from or ("+000" if console else ""),
        public_base_url=settings.public_base_url,
    )
    bind = sessions.kw.get("bind")
    postgres = bind is not None and bind.dialect.name == "postgresql"
    return Dispatcher(
        sessions,
        transport,
        senders,
        startup_grace=POSTGRES_STARTUP_GRACE if postgres else timedelta(0),
    )
