"""A local fake of Twilio's REST API (2010-04-01 Messages) that checks requests against the spec.

Every request is checked against `tests/specs/twilio_api_v2010.json`, a copy of `../shared/specs/` (Twilio's OpenAPI): the
path and method exist, form fields are known for that operation, required ones (`To`) are
present, Basic auth is given. A violation is recorded in `violations` (the test fixture fails
the test on any) and answered as Twilio would (4xx with a Twilio error JSON).

It also behaves like Twilio where our code depends on it: `201` with a Message JSON, listing and
fetching messages (for reconciliation), latency, injected failures (HTTP 429/20429, 500,
permanent codes such as 21211, client timeouts before or after the message was created),
callback-time failures (63016, 63024, 63014, 63049, 63018), and SIGNED status callbacks to the
StatusCallback URL, optionally out of order. `counts[(to, content)]` proves exactly-once.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import random
import re
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

SPEC_PATH = Path(__file__).resolve().parents[1] / "specs" / "twilio_api_v2010.json"
ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "fake-twilio-auth-token-0123456789"
E164 = re.compile(r"^(whatsapp:)?\+[1-9]\d{7,14}$")


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send for a form POST to `url`."""
    return str(RequestValidator(auth_token).compute_signature(url, params))


@dataclass
class _Operation:
    operation_id: str
    form_fields: frozenset[str]
    required: frozenset[str]
    query: frozenset[str]


class TwilioSpec:
    """The operations of the OpenAPI document, matched by path regex and method."""

    def __init__(self, path: Path = SPEC_PATH) -> None:
        doc = json.loads(path.read_text(encoding="utf-8"))
        self.routes: list[tuple[re.Pattern[str], dict[str, _Operation]]] = []
        for template, item in doc["paths"].items():
            regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")
            ops: dict[str, _Operation] = {}
            for method in ("get", "post", "delete", "put"):
                op = item.get(method)
                if op is None:
                    continue
                schema = (
                    op.get("requestBody", {})
                    .get("content", {})
                    .get("application/x-www-form-urlencoded", {})
                    .get("schema", {})
                )
                ops[method.upper()] = _Operation(
                    op.get("operationId", ""),
                    frozenset(schema.get("properties", {})),
                    frozenset(schema.get("required", [])),
                    frozenset(p["name"] for p in op.get("parameters", []) if p["in"] == "query"),
                )
            self.routes.append((regex, ops))

    def match(self, path: str, method: str) -> tuple[_Operation | None, dict[str, str]]:
        for regex, ops in self.routes:
            found = regex.match(path)
            if found:
                return ops.get(method), found.groupdict()
        return None, {}


@dataclass
class Failure:
    """An injected failure of the next create(s): `http`, `timeout_before` or `timeout_after`."""

    kind: str = "http"
    status: int = 500
    code: int | None = None
    message: str = "injected failure"
    to: str | None = None
    times: int = 1


def _rfc2822(at: datetime) -> str:
    return email.utils.format_datetime(at.astimezone(UTC)).replace("-0000", "+0000")


class FakeTwilio:
    """The fake server; `await start()` returns its base URL (give it to TWILIO_API_BASE_URL)."""

    def __init__(
        self,
        *,
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        latency: float = 0.0,
        clock: Callable[[], datetime] | None = None,
        callbacks: bool = True,
        callback_delay: float = 0.005,
        shuffle_callbacks: bool = False,
        store: bool = True,
        hang_seconds: float = 30.0,
        spec: TwilioSpec | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.latency = latency
        self.clock = clock or (lambda: datetime.now(UTC))
        self.callbacks = callbacks
        self.callback_delay = callback_delay
        self.shuffle_callbacks = shuffle_callbacks
        self.store = store
        self.hang_seconds = hang_seconds
        self.spec = spec or TwilioSpec()
        self.callback_rewrite: tuple[str, str] | None = None  # (public prefix, local prefix)
        self.violations: list[str] = []
        self.counts: Counter[tuple[str, str]] = Counter()
        self.created = 0
        self.messages: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.callback_log: list[tuple[str, dict[str, str], int]] = []
        self.content: dict[str, str] = {}  # ContentSid → text with {{1}} placeholders
        self.invalid_numbers: set[str] = set()
        self._failures: list[Failure] = []
        self._callback_failures: dict[str, tuple[str, str]] = {}  # to → (status, code)
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.base_url = ""

    # --- control -----------------------------------------------------------------------------

    async def start(self, port: int = 0) -> str:
        app = web.Application()
        app.router.add_get("/_fake/stats", self._stats)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        host, real_port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{real_port}"
        self._http = aiohttp.ClientSession()
        return self.base_url

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(self, failure: Failure) -> None:
        """Inject a failure for the next matching create(s)."""
        self._failures.append(failure)

    def fail_on_callback(self, to: str, code: str, status: str = "failed") -> None:
        """Messages to this address are accepted, then reported failed with this code."""
        self._callback_failures[to] = (status, code)

    def register_content(self, content_sid: str, text: str) -> None:
        """An approved template: the text Twilio renders for `{{1}}`, `{{2}}`…"""
        self.content[content_sid] = text

    async def settle(self) -> None:
        """Wait until every scheduled status callback has been delivered."""
        async with asyncio.timeout(10):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def duplicates(self) -> dict[tuple[str, str], int]:
        """Every (to, content) created more than once."""
        return {k: n for k, n in self.counts.items() if n > 1}

    # --- HTTP --------------------------------------------------------------------------------

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "created": self.created,
                "distinct": len(self.counts),
                "duplicates": len(self.duplicates()),
                "violations": self.violations[:20],
            }
        )

    def _error(self, status: int, code: int | None, message: str) -> web.Response:
        body = {"code": code, "message": message, "status": status}
        if code:
            body["more_info"] = f"https://www.twilio.com/docs/errors/{code}"
        return web.json_response(body, status=status)

    def _violation(self, text: str) -> None:
        self.violations.append(text)

    def _authorized(self, request: web.Request) -> bool | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid and password == self.auth_token

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        op, path_params = self.spec.match(request.path, request.method)
        if op is None:
            self._violation(f"{request.method} {request.path}: no such operation in the spec")
            return self._error(404, 20404, "The requested resource was not found")
        auth = self._authorized(request)
        if auth is None:
            self._violation(f"{request.method} {request.path}: no Basic auth")
            return self._error(401, 20003, "Authenticate")
        if not auth:
            return self._error(401, 20003, "Authenticate")
        if path_params.get("AccountSid") != self.account_sid:
            return self._error(404, 20404, "The requested resource was not found")
        unknown_query = set(request.query) - op.query
        if unknown_query:
            self._violation(f"{op.operation_id}: unknown query parameters {sorted(unknown_query)}")
            return self._error(400, 20001, f"Unknown parameters {sorted(unknown_query)}")
        form: dict[str, str] = {}
        if request.method == "POST":
            data = await request.post()
            form = {k: str(v) for k, v in data.items()}
            unknown = set(form) - op.form_fields
            missing = op.required - set(form)
            if unknown:
                self._violation(f"{op.operation_id}: unknown form fields {sorted(unknown)}")
                return self._error(400, 20001, f"Unknown parameters {sorted(unknown)}")
            if missing:
                self._violation(f"{op.operation_id}: missing required {sorted(missing)}")
                return self._error(400, 21604, f"A '{sorted(missing)[0]}' is required")
        if self.store:
            self.requests.append((request.method, request.path, form))
        if op.operation_id == "CreateMessage":
            return await self._create(form)
        if op.operation_id == "ListMessage":
            return self._list(request)
        if op.operation_id == "FetchMessage":
            return self._fetch(path_params.get("Sid", ""))
        self._violation(f"{op.operation_id}: not something TrustCart should call")
        return self._error(405, None, "not faked")

    # --- Messages ----------------------------------------------------------------------------

    def _failure_for(self, to: str) -> Failure | None:
        for failure in self._failures:
            if failure.to in (None, to):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _check_create(self, form: dict[str, str]) -> str | None:
        """Twilio's own rules for a create that our code must never break."""
        if "From" not in form and "MessagingServiceSid" not in form:
            return "CreateMessage: neither From nor MessagingServiceSid"
        has_body, has_content = "Body" in form, "ContentSid" in form
        if not has_body and not has_content and "MediaUrl" not in form:
            return "CreateMessage: no Body, ContentSid or MediaUrl"
        if has_body and has_content:
            return "CreateMessage: both Body and ContentSid (send one)"
        if has_content and not form["ContentSid"].startswith("HX"):
            return f"CreateMessage: ContentSid {form['ContentSid']!r} is not an HX… sid"
        if "ContentVariables" in form:
            try:
                variables = json.loads(form["ContentVariables"])
            except ValueError:
                return "CreateMessage: ContentVariables is not JSON"
            if not isinstance(variables, dict) or not all(
                isinstance(v, str) for v in variables.values()
            ):
                return "CreateMessage: ContentVariables must be a JSON object of strings"
        to_wa, from_wa = (
            form["To"].startswith("whatsapp:"),
            form.get("From", "").startswith("whatsapp:"),
        )
        if "From" in form and to_wa != from_wa:
            return "CreateMessage: To and From must both be whatsapp: addresses (or neither)"
        return None

    def _render_content(self, form: dict[str, str]) -> str:
        text = self.content.get(form["ContentSid"], "")
        variables = json.loads(form.get("ContentVariables") or "{}")
        for key, value in variables.items():
            text = text.replace("{{" + key + "}}", value)
        return text

    async def _create(self, form: dict[str, str]) -> web.Response:
        if self.latency:
            await asyncio.sleep(self.latency)
        problem = self._check_create(form)
        if problem:
            self._violation(problem)
            return self._error(400, 21619, problem)
        to = form["To"]
        if not E164.match(to) or to.removeprefix("whatsapp:") in self.invalid_numbers:
            return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        failure = self._failure_for(to)
        if failure is not None and failure.kind == "http":
            return self._error(failure.status, failure.code, failure.message)
        if failure is not None and failure.kind == "timeout_before":
            await asyncio.sleep(self.hang_seconds)
            return self._error(504, None, "gateway timeout")
        message = self._new_message(form)
        if failure is not None and failure.kind == "timeout_after":
            await asyncio.sleep(self.hang_seconds)
        return web.json_response(message, status=201)

    def _new_message(self, form: dict[str, str]) -> dict[str, Any]:
        to = form["To"]
        sid = "SM" + uuid.uuid4().hex
        body = form["Body"] if "Body" in form else self._render_content(form)
        content = form.get("Body") or f"{form.get('ContentSid')}|{form.get('ContentVariables', '')}"
        self.counts[(to, content)] += 1
        self.created += 1
        now = _rfc2822(self.clock())
        message = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"
            },
            "to": to,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        if self.store:
            self.messages[sid] = message
        if self.callbacks and form.get("StatusCallback"):
            task = asyncio.create_task(self._send_callbacks(form["StatusCallback"], message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return message

    def _list(self, request: web.Request) -> web.Response:
        found = [
            m
            for m in self.messages.values()
            if ("To" not in request.query or m["to"] == request.query["To"])
            and ("From" not in request.query or m["from"] == request.query["From"])
        ]
        found.reverse()  # newest first, as Twilio lists
        size = int(request.query.get("PageSize", "50"))
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        return web.json_response(
            {
                "messages": found[:size],
                "end": min(size, len(found)) - 1,
                "first_page_uri": uri,
                "next_page_uri": None,
                "page": 0,
                "page_size": size,
                "previous_page_uri": None,
                "start": 0,
                "uri": uri,
            }
        )

    def _fetch(self, sid: str) -> web.Response:
        message = self.messages.get(sid.removesuffix(".json"))
        if message is None:
            return self._error(404, 20404, f"The requested resource {sid} was not found")
        return web.json_response(message)

    # --- status callbacks --------------------------------------------------------------------

    def _statuses(self, message: dict[str, Any]) -> list[tuple[str, str | None]]:
        failure = self._callback_failures.get(message["to"])
        if failure is not None:
            return [("sent", None), (failure[0], failure[1])]
        if message["to"].startswith("whatsapp:"):
            return [("sent", None), ("delivered", None), ("read", None)]
        return [("sent", None), ("delivered", None)]

    async def _send_callbacks(self, url: str, message: dict[str, Any]) -> None:
        steps = self._statuses(message)
        if self.shuffle_callbacks:
            random.shuffle(steps)
        target = url
        if self.callback_rewrite and url.startswith(self.callback_rewrite[0]):
            target = self.callback_rewrite[1] + url[len(self.callback_rewrite[0]) :]
        assert self._http is not None
        for status, code in steps:
            await asyncio.sleep(self.callback_delay)
            message["status"] = status
            params = {
                "AccountSid": self.account_sid,
                "ApiVersion": "2010-04-01",
                "From": message["from"] or "",
                "To": message["to"],
                "MessageSid": message["sid"],
                "SmsSid": message["sid"],
                "MessageStatus": status,
                "SmsStatus": status,
            }
            if message["to"].startswith("whatsapp:"):
                params["ChannelPrefix"] = "whatsapp"
            if code:
                params["ErrorCode"] = code
                message["error_code"] = int(code)
            headers = {"X-Twilio-Signature": sign(self.auth_token, url, params)}
            try:
                async with self._http.post(target, data=params, headers=headers) as response:
                    self.callback_log.append((url, params, response.status))
            except aiohttp.ClientError as exc:
                self.callback_log.append((url, params, -1))
                self._violation(f"status callback to {target} failed: {exc}")


def run_in_process(port: int, latency: float, ready: Any) -> None:
    """Entry point for a separate process (the benchmark): serve until killed."""

    async def main() -> None:
        fake = FakeTwilio(latency=latency, callbacks=False, store=False)
        await fake.start(port)
        ready.put(fake.base_url)
        await asyncio.Event().wait()

    asyncio.run(main())
