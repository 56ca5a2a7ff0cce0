"""How a stage ends a message: by raising one of these, never by a magic value."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class OutcomeKind(StrEnum):
    APPLIED = "applied"
    REJECTED = "rejected"
    IGNORED = "ignored"
    QUARANTINED = "quarantined"


@dataclass
class Reply:
    """A mail the pipeline owes the sender: template name and its context."""

    template: str
    context: dict[str, Any]


class Outcome(Exception):
    kind: OutcomeKind

    def __init__(self, reason: str, *, reply: Reply | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reply = reply


class Applied(Outcome):
    kind = OutcomeKind.APPLIED


class Rejected(Outcome):
    """The sender is told why (`reply`) and nothing else changes."""

    kind = OutcomeKind.REJECTED


class Ignored(Outcome):
    """Recorded and never answered: automatic mail, bounces, duplicates."""

    kind = OutcomeKind.IGNORED
