"""Twilio webhook requests: signature checks and the fields we read from them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twilio.request_validator import RequestValidator


class SignatureChecker:
    """Checks `X-Twilio-Signature` against the URL Twilio called (the public one, not ours)."""

    def __init__(self, auth_token: str, public_base_url: str) -> None:
        self._validator = RequestValidator(auth_token) if auth_token else None
        self.public_base_url = public_base_url.rstrip("/")

    def url_for(self, path_qs: str) -> str:
        """The URL Twilio signed: the public base URL + path and query (proxy-safe)."""
        return f"{self.public_base_url}{path_qs}"

    def valid(self, path_qs: str, params: Mapping[str, Any], signature: str | None) -> bool:
        """Whether the request carries a valid signature (always False without a token)."""
        if self._validator is None or not signature or not self.public_base_url:
            return False
        return bool(self._validator.validate(self.url_for(path_qs), params, signature))
