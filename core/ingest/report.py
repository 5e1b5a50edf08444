"""The summary of one import: what was accepted, rejected (line and reason), created, updated."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Rejection:
    """A row (CSV line number, or index of a JSON order) that was refused, and why."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """What one import did. `refused` is set when the whole input was refused (nothing stored).

    `accepted`/`rejected` count input rows (order lines for orders); `created`, `updated` and
    `unchanged` count the things written (products, customers or orders).
    """

    kind: str  # products, customers, orders
    source: str
    accepted: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)
    refused: str | None = None
    customers_created: int = 0
    order_ids_created: list[int] = field(default_factory=list)
    order_ids_changed: list[int] = field(default_factory=list)
    customer_ids_touched: set[int] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        """Whether the input was read at all (rows may still have been rejected)."""
        return self.refused is None

    def reject(self, line: int, reason: str) -> None:
        """Record a refused row."""
        self.rejected.append(Rejection(line, reason))

    def warn(self, message: str) -> None:
        """Record something worth knowing that did not stop a row."""
        self.warnings.append(message)

    def summary(self) -> str:
        """One line for people: the counts of this import."""
        if self.refused:
            return f"{self.kind} from {self.source}: refused: {self.refused}"
        text = (
            f"{self.kind} from {self.source}: {self.accepted} rows accepted, "
            f"{len(self.rejected)} rejected; {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        )
        if self.customers_created:
            text += f"; {self.customers_created} new customers"
        return text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (the orders API answers with it)."""
        return {
            "kind": self.kind,
            "source": self.source,
            "accepted": self.accepted,
            "rejected": [{"line": r.line, "reason": r.reason} for r in self.rejected],
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "customers_created": self.customers_created,
            "warnings": list(self.warnings),
            "refused": self.refused,
            "order_ids_created": list(self.order_ids_created),
            "order_ids_changed": list(self.order_ids_changed),
        }
