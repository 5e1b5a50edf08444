"""Errors the domain raises; adapters translate them into messages for people.

TrustCartError
├── ConfigError          shop config invalid (names file, key and problem)
├── NotFound             a customer, task, agent… that does not exist
├── PermissionDenied     a role or an assignee check failed
├── InvalidInput         a value a person or the ERP gave that cannot be used
│   └── RejectedRow      an import row, with its line number and reason
└── Conflict             a state change that is no longer possible (stale button, used invite)
"""

from __future__ import annotations


class TrustCartError(Exception):
    """Base of every domain error."""


class ConfigError(TrustCartError):
    """The shop configuration is invalid."""


class NotFound(TrustCartError):
    """The thing asked for does not exist."""


class PermissionDenied(TrustCartError):
    """The caller may not do this."""


class InvalidInput(TrustCartError):
    """A value that cannot be used."""


class RejectedRow(InvalidInput):
    """An import row that was refused, with its line number and reason."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


class Conflict(TrustCartError):
    """The state changed since the request was made."""
