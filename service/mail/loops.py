"""Loops end by themselves: what we answer one address is counted, and echoes are noticed.

A naive auto-responder sets no Auto-Submitted header and copies our subject; each of its
replies would get a receipt, which it answers again. Per address we keep the times we
answered (a day's worth), the fingerprint of the last message it sent, and the lines of the
last mail we sent it. Past the rules' limit, or for a message that repeats or echoes, the
message is ignored ("rate limited", "repeats", "echoes our mail") and nothing is answered.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from service.core.config import LoopRules
from service.core.store import Doc, Transaction

TABLE = "answered"
_KEEP_LINES = 60


def _doc(txn: Transaction, address: str) -> Doc:
    return txn.get(TABLE, address.lower()) or {"times": [], "last_text": "", "last_at": "", "sent_lines": []}


def over_limit(txn: Transaction, address: str, now: datetime, rules: LoopRules) -> str:
    """Why no more answers go to `address` now, or "" when they may."""
    hour_ago, day_ago = now - timedelta(hours=1), now - timedelta(days=1)
    hour = day = 0
    for stamp in _doc(txn, address)["times"]:
        moment = datetime.fromisoformat(stamp)
        if moment > day_ago:
            day += 1
            hour += moment > hour_ago
    if hour >= rules.max_answers_per_hour:
        return f"rate limited: {hour} answers to {address} in the last hour"
    if day >= rules.max_answers_per_day:
        return f"rate limited: {day} answers to {address} in the last day"
    return ""


def echo(txn: Transaction, address: str, subject: str, text: str, now: datetime, rules: LoopRules) -> str:
    """Why the message reads as automatic (a repeat, or our own mail back), or ""."""
    doc = _doc(txn, address)
    lines = _lines(text)
    if not lines:
        return ""
    fingerprint = _fingerprint([_topic(subject), *lines])
    recent = doc["last_at"] and now - datetime.fromisoformat(doc["last_at"]) < timedelta(
        hours=rules.repeat_hours
    )
    if doc["last_text"] == fingerprint and recent:
        return f"repeats the previous message from {address}"
    ours = set(doc["sent_lines"])
    if ours and len(lines) >= 2:
        share = sum(1 for line in lines if _hash(line) in ours) / len(lines)
        if share >= rules.echo_share:
            return f"echoes our last mail to {address} ({share:.0%} of its lines)"
    return ""


def note_received(txn: Transaction, address: str, subject: str, text: str, now: datetime) -> None:
    doc = _doc(txn, address)
    lines = _lines(text)
    if lines:
        doc["last_text"] = _fingerprint([_topic(subject), *lines])
        doc["last_at"] = now.isoformat()
        txn.put(TABLE, address.lower(), doc)


def note_answered(txn: Transaction, address: str, now: datetime, sent_text: str) -> None:
    doc = _doc(txn, address)
    day_ago = now - timedelta(days=1)
    recent = [t for t in doc["times"] if datetime.fromisoformat(t) > day_ago]
    doc["times"] = [*recent, now.isoformat()]
    doc["sent_lines"] = [_hash(line) for line in _lines(sent_text)[:_KEEP_LINES]]
    txn.put(TABLE, address.lower(), doc)


def _lines(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        folded = re.sub(r"[\s>]+", "", line).casefold()
        if len(folded) >= 4:
            out.append(folded)
    return out


def first_limited_today(txn: Transaction, address: str, now: datetime) -> bool:
    """True once a day per address: the first message refused for the rate, so someone is told."""
    doc = _doc(txn, address)
    today = now.date().isoformat()
    if doc.get("limited_on") == today:
        return False
    doc["limited_on"] = today
    txn.put(TABLE, address.lower(), doc)
    return True


def _topic(subject: str) -> str:
    """The subject without any reply prefixes: "Re: 回复: [2024-OPS-001] x" is "[2024-OPS-001] x"."""
    return re.sub(
        r"^(?:\s*(?:re|fw|fwd|aw|回复|回覆|答复|转发)\s*[:：]\s*)+", "", subject, flags=re.I
    ).strip()


def _hash(line: str) -> str:
    return hashlib.sha256(line.encode()).hexdigest()[:16]


def _fingerprint(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:32]
