"""Outbox dispatch, Twilio and console transports, templates, webhook parsing."""
