"""Checks Bot API requests and objects against the published spec (`tests/specs/telegram_bot_api.json`, a copy of `../shared/specs/`).

A request is a method name and its parameters as Telegram receives them: form fields are strings
(nested objects JSON-encoded), multipart parts may be files, JSON bodies carry native values.
Every problem is returned as a sentence; an empty list means the request is valid.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).resolve().parents[1] / "specs" / "telegram_bot_api.json"
_INT = re.compile(r"-?\d+")
_BOOL_TEXT = {"true", "false", "True", "False", "1", "0"}
# Limits the Bot API states in prose; real Telegram answers 400 when they are broken.
TEXT_LIMITS = {"text": 4096, "caption": 1024}
CALLBACK_DATA_MAX_BYTES = 64
ALERT_TEXT_MAX = 200


class FileUpload:
    """A multipart file part (what InputFile means on the wire)."""

    def __init__(self, filename: str, content: bytes) -> None:
        self.filename = filename
        self.content = content


@lru_cache(maxsize=1)
def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    """The parsed spec (methods and types)."""
    return json.loads(path.read_text(encoding="utf-8"))


class SpecChecker:
    def __init__(self, spec: dict[str, Any] | None = None) -> None:
        self.spec = spec or load_spec()
        self.methods: dict[str, Any] = self.spec["methods"]
        self.types: dict[str, Any] = self.spec["types"]

    # --- requests -------------------------------------------------------------------------

    def check_request(self, method: str, params: dict[str, Any], wire: str) -> list[str]:
        """Problems with a call: unknown method, unknown/missing fields, wrong types, limits."""
        spec = self.methods.get(method)
        if spec is None:
            return [f"unknown method {method!r}"]
        fields = {f["name"]: f for f in spec.get("fields", [])}
        problems = [f"{method}: unknown field {name!r}" for name in params if name not in fields]
        problems += [
            f"{method}: missing required field {name!r}"
            for name, f in fields.items()
            if f["required"] and name not in params
        ]
        for name, value in params.items():
            if name in fields:
                problems += self._check_value(
                    f"{method}.{name}", value, fields[name]["types"], wire, params
                )
        for name, limit in TEXT_LIMITS.items():
            value = params.get(name)
            if isinstance(value, str) and name in fields and len(value) > limit:
                problems.append(f"{method}.{name}: {len(value)} characters, limit {limit}")
        if method == "answerCallbackQuery":
            text = params.get("text")
            if isinstance(text, str) and len(text) > ALERT_TEXT_MAX:
                problems.append(f"answerCallbackQuery.text: longer than {ALERT_TEXT_MAX}")
        return problems

    def _check_value(
        self, where: str, value: Any, types: list[str], wire: str, params: dict[str, Any]
    ) -> list[str]:
        attempts = [self._check_wire(where, value, t, wire, params) for t in types]
        if any(not a for a in attempts):
            return []
        if len(attempts) == 1:
            return attempts[0]
        return [f"{where}: matches none of {types}: " + "; ".join(a[0] for a in attempts)]

    def _check_wire(
        self, where: str, value: Any, type_name: str, wire: str, params: dict[str, Any]
    ) -> list[str]:
        if type_name == "InputFile":
            if isinstance(value, FileUpload):
                return []
            if isinstance(value, str) and value.startswith("attach://"):
                name = value.removeprefix("attach://")
                return [] if isinstance(params.get(name), FileUpload) else [f"{where}: no {name}"]
            return [f"{where}: not a file upload"]
        if isinstance(value, FileUpload):
            return [f"{where}: a file where {type_name} was expected"]
        if wire == "json":
            return self.check_object(where, value, type_name)
        # form fields: scalars as text, everything else JSON-encoded
        if type_name == "String":
            return [] if isinstance(value, str) else [f"{where}: not a string"]
        if type_name == "Integer":
            return [] if _INT.fullmatch(str(value)) else [f"{where}: {value!r} is not an Integer"]
        if type_name == "Float":
            try:
                float(value)
            except ValueError:
                return [f"{where}: {value!r} is not a Float"]
            return []
        if type_name == "Boolean":
            return [] if value in _BOOL_TEXT else [f"{where}: {value!r} is not a Boolean"]
        try:
            decoded = json.loads(value)
        except (TypeError, ValueError):
            return [f"{where}: {type_name} must be JSON-serialized, got {value!r:.60}"]
        return self.check_object(where, decoded, type_name)

    # --- objects (JSON values) ------------------------------------------------------------

    def check_object(self, where: str, value: Any, type_name: str) -> list[str]:
        """Problems with a decoded JSON value of a spec type (e.g. a reply_markup or a Message)."""
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                return [f"{where}: expected {type_name}"]
            inner = type_name.removeprefix("Array of ")
            problems: list[str] = []
            for i, item in enumerate(value):
                problems += self.check_object(f"{where}[{i}]", item, inner)
            return problems
        if type_name == "String":
            return [] if isinstance(value, str) else [f"{where}: not a string"]
        if type_name == "Integer":
            ok = isinstance(value, int) and not isinstance(value, bool)
            return [] if ok else [f"{where}: {value!r} is not an Integer"]
        if type_name == "Float":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            return [] if ok else [f"{where}: {value!r} is not a Float"]
        if type_name in ("Boolean", "True"):
            return [] if isinstance(value, bool) else [f"{where}: {value!r} is not a Boolean"]
        spec = self.types.get(type_name)
        if spec is None:
            return [f"{where}: unknown type {type_name}"]
        if not isinstance(value, dict):
            return [f"{where}: {type_name} must be an object"]
        if "subtypes" in spec:
            attempts = [self.check_object(where, value, sub) for sub in spec["subtypes"]]
            if any(not a for a in attempts):
                return []
            return [f"{where}: matches no subtype of {type_name}"]
        fields = {f["name"]: f for f in spec.get("fields", [])}
        problems = [
            f"{where}: unknown field {k!r} in {type_name}" for k in value if k not in fields
        ]
        problems += [
            f"{where}: {type_name} misses required {k!r}"
            for k, f in fields.items()
            if f["required"] and k not in value
        ]
        for k, v in value.items():
            if k in fields:
                attempts = [self.check_object(f"{where}.{k}", v, t) for t in fields[k]["types"]]
                if all(attempts):
                    problems += attempts[0]
        if type_name == "InlineKeyboardButton" and isinstance(value.get("callback_data"), str):
            size = len(value["callback_data"].encode("utf-8"))
            if not 1 <= size <= CALLBACK_DATA_MAX_BYTES:
                problems.append(f"{where}.callback_data: {size} bytes, must be 1-64")
        return problems
