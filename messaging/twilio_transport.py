"""Sending through Twilio with the official library's asyncio client.

The `AsyncTwilioHttpClient` opens an aiohttp session when built, so `start()` builds it inside
the running loop and `close()` closes it. `api_base_url` (setting TWILIO_API_BASE_URL, empty in
production) points the client at a local fake: `client.api.base_url` is what Twilio's own
region/edge settings cannot change.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from messaging.transport import Outgoing, ProviderMessage, SendError, Sent

CONCURRENCY_LIMIT = 20429  # Twilio: too many concurrent requests; never processed
RETRY_STATUSES = frozenset({429})


class TwilioTransport:
    """Twilio's Messages API (WhatsApp and SMS)."""

    name = "twilio"

    def __init__(
        self, account_sid: str, auth_token: str, *, api_base_url: str = "", timeout: float = 15.0
    ) -> None:
        self.account_sid = account_sid
        self._auth_token = auth_token
        self.api_base_url = api_base_url.rstrip("/")
        self.timeout = timeout
        self._http: AsyncTwilioHttpClient | None = None
        self._client: Client | None = None

    async def start(self) -> None:
        """Build the async HTTP client and the Twilio client (inside the running loop)."""
        if self._client is not None:
            return
        self._http = AsyncTwilioHttpClient()
        self._client = Client(self.account_sid, self._auth_token, http_client=self._http)
        if self.api_base_url:
            self._client.api.base_url = self.api_base_url

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._http is not None:
            await self._http.close()
        self._http = self._client = None

    @property
    def client(self) -> Client:
        if self._client is None:
            raise RuntimeError("TwilioTransport.start() was not awaited")
        return self._client

    async def send(self, out: Outgoing) -> Sent:
        """Create the message; classify every failure (see messaging.transport)."""
        kwargs: dict[str, Any] = {"to": out.to, "from_": out.from_}
        if out.status_callback:
            kwargs["status_callback"] = out.status_callback
        if out.content_sid:
            kwargs["content_sid"] = out.content_sid
            if out.content_variables:
                kwargs["content_variables"] = out.content_variables
        else:
            kwargs["body"] = out.body
        try:
            created = await asyncio.wait_for(
                self.client.messages.create_async(**kwargs), self.timeout
            )
        except TimeoutError:
            raise SendError("timed out", code="timeout", uncertain=True) from None
        except TwilioRestException as exc:
            raise _classify(exc) from None
        except aiohttp.ClientConnectorError as exc:  # never reached Twilio
            raise SendError(f"cannot connect: {exc}", code="connect", retryable=True) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise SendError(f"connection lost: {exc}", code="network", uncertain=True) from None
        return Sent(sid=str(created.sid), status=str(created.status))

    async def recent_to(self, to: str, since: datetime) -> list[ProviderMessage] | None:
        """Messages Twilio holds for an address, created since an instant, newest first."""
        try:
            found = await asyncio.wait_for(
                self.client.messages.list_async(to=to, limit=50, page_size=50), self.timeout
            )
        except (TimeoutError, TwilioRestException, aiohttp.ClientError, OSError):
            return None
        margin = since - timedelta(seconds=1)
        return [
            ProviderMessage(
                sid=str(m.sid),
                to=str(m.to),
                body=str(m.body or ""),
                status=str(m.status),
                created_at=m.date_created,
            )
            for m in found
            if m.date_created is None or m.date_created >= margin
        ]


def _classify(exc: TwilioRestException) -> SendError:
    code = str(exc.code) if exc.code else str(exc.status)
    reason = f"{exc.status} {exc.msg}"[:500]
    if exc.status in RETRY_STATUSES or exc.code == CONCURRENCY_LIMIT:
        return SendError(reason, code=code, status=exc.status, retryable=True)
    if exc.status >= 500:
        return SendError(reason, code=code, status=exc.status, uncertain=True)
    if exc.status in (401, 403):  # our credentials: no customer's fault, keep the message
        return SendError(reason, code=code, status=exc.status, retryable=True)
    return SendError(reason, code=code, status=exc.status)
