"""Confirm or object: what an attendee's answer means.

Only a clear confirmation confirms. An objection, a partial confirmation ("其余确认"),
a question, or anything we cannot read is a correction: it goes to the recorder and the
host, so a reply is never dropped and never taken for consent it did not give.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from parsers.vocabulary import simplified


class Intent(StrEnum):
    CONFIRM = "confirmed"
    OBJECT = "objected"


@dataclass(frozen=True)
class IntentWords:
    confirm_phrases: tuple[str, ...]
    object_phrases: tuple[str, ...]
    confirm_words: tuple[str, ...]
    partial_markers: tuple[str, ...]
    unclear_markers: tuple[str, ...]


@dataclass(frozen=True)
class Reading:
    intent: Intent
    reason: str
    said_anything: bool = True  # False: no confirm word and no objection phrase at all


def read_intent(text: str, words: IntentWords) -> Reading:
    body = simplified(text).lower()
    body, confirm_phrase = _take_out(body, words.confirm_phrases)
    objection = _find(body, words.object_phrases)
    if objection:
        return Reading(Intent.OBJECT, f"objection: {objection!r}")
    confirmation = confirm_phrase or _find(body, words.confirm_words)
    if not confirmation:
        return Reading(Intent.OBJECT, "no clear confirmation: read as a correction", said_anything=False)
    partial = _find(body, words.partial_markers)
    if partial:
        return Reading(Intent.OBJECT, f"confirms only part ({partial!r}): read as a correction")
    unclear = _find(body, words.unclear_markers)
    if unclear:
        return Reading(Intent.OBJECT, f"asks or hedges ({unclear!r}): read as a correction")
    return Reading(Intent.CONFIRM, f"confirmation: {confirmation!r}")


def _pattern(phrase: str) -> re.Pattern[str]:
    phrase = simplified(phrase).lower()
    escaped = re.escape(phrase.strip())
    if phrase.strip() and phrase.strip()[0].isascii() and phrase.strip()[0].isalnum():
        escaped = rf"(?<![a-z0-9]){escaped}"
    if phrase.strip() and phrase.strip()[-1].isascii() and phrase.strip()[-1].isalnum():
        escaped = rf"{escaped}(?![a-z0-9])"
    if phrase.endswith(" "):
        escaped += r"\s"
    return re.compile(escaped)


def _find(body: str, phrases: tuple[str, ...]) -> str:
    for phrase in phrases:
        if phrase.strip() and _pattern(phrase).search(body):
            return phrase.strip()
    return ""


def _take_out(body: str, phrases: tuple[str, ...]) -> tuple[str, str]:
    found = ""
    for phrase in phrases:
        if not phrase.strip():
            continue
        body, count = _pattern(phrase).subn(" ✓ ", body)
        if count and not found:
            found = phrase.strip()
    return body, found
