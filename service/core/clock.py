"""The one clock of the service; MINUTESD_NOW freezes it for tests and demos."""

from __future__ import annotations

from datetime import UTC, datetime


class Clock:
    def __init__(self, frozen: str | None = None) -> None:
        self._frozen = parse_instant(frozen) if frozen else None

    def now(self) -> datetime:
        return self._frozen or datetime.now(UTC)

    @property
    def frozen(self) -> bool:
        return self._frozen is not None


def parse_instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"MINUTESD_NOW needs a time zone offset: {text!r}")
    return value.astimezone(UTC)
