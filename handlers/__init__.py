"""Thin adapters: Telegram commands and buttons, Twilio webhooks, the orders API."""
