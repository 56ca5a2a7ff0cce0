"""Reading an inbound message within the rules' limits, before any stage looks at it.

Small mail is read in the daemon: its cost is bounded by its size. Larger mail is read in a
worker held to a CPU, memory and time budget (core/bounded.py). Mail past the size or
attachment limit, or past the budget, is read from its header block alone, so it still has a
sender, a subject and a Message-ID for its one outcome and its one answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from parsers.message import InboundMessage, parse_message
from service.core.bounded import Budget, TooCostly, run_bounded
from service.core.config import LimitRules

_MB = 1024 * 1024
_HEADER_BYTES = 64 * 1024  # a header block larger than this is itself an attack; the rest is cut


@dataclass(frozen=True)
class Reading:
    msg: InboundMessage
    over_limit: str = ""  # why the message was not read whole, in words; "" when it was
    limit: str = ""  # which limit, for the answer: size, attachments, time or memory
    amount: str = ""  # the message's own figure for that limit


def budget(limits: LimitRules) -> Budget:
    return Budget(limits.read_seconds, limits.read_cpu_seconds, limits.read_memory_megabytes)


def read_message(raw: bytes, limits: LimitRules) -> Reading:
    size_mb = len(raw) / _MB
    if size_mb > limits.message_megabytes:
        return Reading(
            _headers_only(raw),
            f"message of {size_mb:.1f} MB is over the {limits.message_megabytes:g} MB limit",
            "size",
            f"{size_mb:.1f}",
        )
    if len(raw) <= limits.inline_kilobytes * 1024:
        msg = parse_message(raw)
    else:
        try:
            msg = run_bounded(lambda: parse_message(raw), budget(limits))
        except TooCostly as exc:
            why = f"reading the message went past its {exc.what} budget: {exc}"
            return Reading(_headers_only(raw), why, exc.what)
    if len(msg.attachments) > limits.attachments:
        why = f"{len(msg.attachments)} attachments are over the limit of {limits.attachments}"
        return Reading(msg, why, "attachments", str(len(msg.attachments)))
    return Reading(msg)


def header_block(raw: bytes) -> bytes:
    """The message up to its first empty line (at most 64 KB), as a message without a body."""
    head = raw[:_HEADER_BYTES]
    ends = [i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0]
    cut = min(ends) if ends else head.rfind(b"\n") + 1  # no end in sight: up to the last whole line
    head = head[:cut] if cut > 0 else head
    return head.rstrip(b"\r\n") + b"\r\n\r\n"


def _headers_only(raw: bytes) -> InboundMessage:
    return parse_message(header_block(raw))
