"""A local fake of the Telegram Bot API for end-to-end tests of the real python-telegram-bot.

Every request is checked against the Bot API spec (tests/fakes/telegram_spec.py): a violation is
answered 400 and recorded in `violations`, which the `fake_telegram` fixture asserts empty at
teardown. The fake keeps chats, messages and pending updates, long-polls `getUpdates`, delivers
updates to a webhook (with its secret token) once `setWebhook` was called, and can be told to
answer 429 (retry_after) or 403 (blocked by the user).

    fake = FakeTelegram(); await fake.start()
    app = ApplicationBuilder().token(fake.token).base_url(fake.api_base).build()
    user = fake.user(42, "Rina")
    mark = fake.mark(); await fake.send_text(user, "/today")
    (call,) = await fake.wait_for("sendMessage", chat_id=42, after=mark)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.telegram_spec import FileUpload, SpecChecker

TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijkl"


@dataclass(frozen=True)
class FakeUser:
    id: int
    first_name: str
    language_code: str = "bn"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int
    result: Any
    at: float = field(default_factory=time.monotonic)


class FakeTelegram:
    def __init__(self, token: str = TOKEN, username: str = "trustcart_test_bot") -> None:
        self.token = token
        self.checker = SpecChecker()
        self.bot = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "TrustCart",
            "username": username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.callback_ids: set[str] = set()
        self.answered_callbacks: dict[str, dict[str, Any]] = {}
        self.blocked: set[int] = set()
        self.rate_limits: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] | None = None
        self.webhook_statuses: list[int] = []
        self._updates: list[dict[str, Any]] = []
        self._confirmed = 0
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._callback_seq = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._client: aiohttp.ClientSession | None = None
        self.url = ""

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._client = aiohttp.ClientSession()
        return self.url

    async def stop(self) -> None:
        async with self._changed:  # release long polls at once
            self._closing = True
            self._changed.notify_all()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"{self.url}/bot"

    @property
    def file_base(self) -> str:
        return f"{self.url}/file/bot"

    # --- controls for tests ---------------------------------------------------------------

    def user(self, user_id: int, first_name: str = "User", language_code: str = "bn") -> FakeUser:
        return FakeUser(user_id, first_name, language_code)

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: every call about their chat answers 403."""
        self.blocked.add(chat_id)

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """The next `times` calls of a method answer 429 with retry_after."""
        self.rate_limits.append({"method": method, "retry_after": retry_after, "times": times})

    def mark(self) -> int:
        """A position in the call log, for `wait_for(after=…)`."""
        return len(self.calls)

    def find(self, method: str, chat_id: int | None = None, after: int = 0) -> list[Call]:
        """Successful calls of a method (for a chat) after a mark."""
        return [
            c
            for c in self.calls[after:]
            if c.method == method
            and c.status == 200
            and (chat_id is None or str(c.params.get("chat_id")) == str(chat_id))
        ]

    async def wait_for(
        self,
        method: str,
        chat_id: int | None = None,
        after: int = 0,
        count: int = 1,
        within: float = 10.0,
    ) -> list[Call]:
        """Wait until `count` successful calls of a method were made after the mark."""

        def ready() -> bool:
            return len(self.find(method, chat_id, after)) >= count

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(ready), within)
            except TimeoutError:
                seen = [(c.method, c.status) for c in self.calls[after:]]
                raise AssertionError(
                    f"no {count}× {method} for chat {chat_id} within {within}s; saw {seen}; "
                    f"violations {self.violations}"
                ) from None
        return self.find(method, chat_id, after)[:count]

    async def settle(self, quiet: float = 0.4, within: float = 10.0) -> None:
        """Wait until every injected update was taken and no call came for `quiet` seconds."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            last = self.calls[-1].at if self.calls else 0.0
            if self._confirmed_all() and time.monotonic() - last >= quiet:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the bot did not settle")

    def _confirmed_all(self) -> bool:
        return self.webhook is not None or not self._updates

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for (c, _), m in sorted(self.messages.items()) if c == chat_id]

    # --- updates --------------------------------------------------------------------------

    async def send_text(self, user: FakeUser, text: str) -> dict[str, Any]:
        """The user writes in their private chat with the bot."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
            "from": user.as_json(),
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return await self.push_update({"message": message})

    async def press(self, user: FakeUser, message_id: int, data: str) -> str:
        """The user taps an inline button (or sends forged callback data) under a bot message."""
        message = self.messages.get((user.id, message_id))
        if message is None:
            raise AssertionError(f"no bot message {message_id} in chat {user.id}")
        query_id = f"cq{next(self._callback_seq)}"
        self.callback_ids.add(query_id)
        await self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.as_json(),
                    "message": message,
                    "chat_instance": f"ci{user.id}",
                    "data": data,
                }
            }
        )
        return query_id

    async def push_update(self, body: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **body}
        self._self_check("Update", update)
        if self.webhook is not None:
            await self._deliver(update)
        else:
            async with self._changed:
                self._updates.append(update)
                self._changed.notify_all()
        return update

    async def _deliver(self, update: dict[str, Any]) -> None:
        assert self.webhook is not None and self._client is not None
        headers = {}
        if self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
        async with self._client.post(self.webhook["url"], json=update, headers=headers) as resp:
            self.webhook_statuses.append(resp.status)

    # --- the API --------------------------------------------------------------------------

    async def _file(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, 404)

    async def _params(self, request: web.Request) -> tuple[dict[str, Any], str]:
        ctype = request.content_type
        if ctype == "application/json":
            return dict(await request.json()), "json"
        if request.method == "GET" or not request.can_read_body:
            return dict(request.query), "form"
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = FileUpload(value.filename, value.file.read())
            else:
                params[key] = str(value)
        return params, "multipart" if ctype.startswith("multipart/") else "form"

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        params, wire = await self._params(request)
        problems = self.checker.check_request(method, params, wire)
        if problems:
            self.violations.extend(problems)
            return await self._record(method, params, 400, None, "Bad Request: " + problems[0])
        chat_id = params.get("chat_id")
        if chat_id is not None and int(chat_id) in self.blocked:
            return await self._record(
                method, params, 403, None, "Forbidden: bot was blocked by the user"
            )
        for limit in self.rate_limits:
            if limit["method"] == method and limit["times"] > 0:
                limit["times"] -= 1
                retry = limit["retry_after"]
                return await self._record(
                    method, params, 429, None, f"Too Many Requests: retry after {retry}", retry
                )
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            returns = self.checker.methods[method]["returns"]
            if returns in (["Boolean"], ["True"]):
                return await self._record(method, params, 200, True)
            self.violations.append(f"the fake does not implement {method}")
            return await self._record(method, params, 501, None, "Not Implemented")
        try:
            result = await handler(params)
        except _ApiError as exc:
            return await self._record(method, params, exc.status, None, exc.description)
        return await self._record(method, params, 200, result)

    async def _record(
        self,
        method: str,
        params: dict[str, Any],
        status: int,
        result: Any,
        description: str = "",
        retry_after: int | None = None,
    ) -> web.Response:
        async with self._changed:
            self.calls.append(Call(method, params, status, result))
            self._changed.notify_all()
        if status == 200:
            return web.json_response({"ok": True, "result": result})
        return self._error(status, description, retry_after)

    @staticmethod
    def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    def _self_check(self, type_name: str, value: Any) -> None:
        problems = self.checker.check_object(f"(fake's own {type_name})", value, type_name)
        self.violations.extend(problems)

    # --- methods --------------------------------------------------------------------------

    async def _m_getMe(self, params: dict[str, Any]) -> Any:
        return self.bot

    async def _m_setWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token")}
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        url = self.webhook["url"] if self.webhook else ""
        return {"url": url, "has_custom_certificate": False, "pending_update_count": 0}

    async def _m_getUpdates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset", 0) or 0)
        limit = int(params.get("limit", 100) or 100)
        timeout = float(params.get("timeout", 0) or 0)
        async with self._changed:
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                self._changed.notify_all()
            if not self._updates and timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: bool(self._updates) or self._closing),
                        timeout,
                    )
            return self._updates[:limit]

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        return {"id": int(chat_id), "type": "private", "first_name": "User"}

    def _new_message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self.bot,
            **content,
        }
        markup = params.get("reply_markup")
        if markup:
            decoded = json.loads(markup) if isinstance(markup, str) else markup
            if "inline_keyboard" in decoded:
                message["reply_markup"] = decoded
        self._self_check("Message", message)
        self.messages[(chat_id, message["message_id"])] = message
        return message

    async def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        return self._new_message(params, text=params["text"])

    async def _m_sendPhoto(self, params: dict[str, Any]) -> Any:
        photo = params["photo"]
        size = len(photo.content) if isinstance(photo, FileUpload) else 0
        content: dict[str, Any] = {
            "photo": [
                {
                    "file_id": f"photo{len(self.calls)}",
                    "file_unique_id": f"u{len(self.calls)}",
                    "width": 1200,
                    "height": 800,
                    "file_size": size,
                }
            ]
        }
        if params.get("caption"):
            content["caption"] = params["caption"]
        return self._new_message(params, **content)

    async def _m_editMessageText(self, params: dict[str, Any]) -> Any:
        if "chat_id" not in params or "message_id" not in params:
            raise _ApiError(400, "Bad Request: only chat messages are supported by the fake")
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self.messages.get(key)
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        markup = params.get("reply_markup")
        decoded = (json.loads(markup) if isinstance(markup, str) else markup) if markup else None
        if message.get("text") == params["text"] and message.get("reply_markup") == decoded:
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        message = {**message, "text": params["text"], "edit_date": int(time.time())}
        message.pop("reply_markup", None)
        if decoded:
            message["reply_markup"] = decoded
        self._self_check("Message", message)
        self.messages[key] = message
        return message

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        query_id = params["callback_query_id"]
        if query_id not in self.callback_ids or query_id in self.answered_callbacks:
            raise _ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self.answered_callbacks[query_id] = params
        return True


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
