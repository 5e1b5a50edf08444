"""JSON form of the KPI result dataclasses (dates as ISO text, money as decimal text)."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any


def jsonable(value: Any) -> Any:
    """A KPI value (dataclass, list, dict, date, Decimal, scalar) as plain JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class JsonResult:
    """Mixin for frozen KPI dataclasses: `to_dict()` gives plain JSON-ready data."""

    def to_dict(self) -> dict[str, Any]:
        """The result as a dict of JSON-ready values."""
        out = jsonable(self)
        assert isinstance(out, dict)
        return out
