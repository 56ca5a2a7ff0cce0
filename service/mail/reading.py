"""Reading an inbound message within the rules' limits, before any stage looks at it.

Small mail is read in the daemon: its cost is bounded by its size. Larger mail is read in a
worker held to a CPU, memory and time budget (core/bounded.py). Mail past the size or
attachment limit, or past the budget, is read from its header block alone, so it still has a
sender, a subject and a Message-ID for its one outcome and its one answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from parsers.classify import LOOP_HEADER
from parsers.message import InboundMessage, parse_headers, parse_message
from service.core.bounded import Budget, TooCostly, run_bounded
from service.core.config import LimitRules

_MB = 1024 * 1024
_LOOP = re.compile(rb"(?im)^" + LOOP_HEADER.encode() + rb":")
_HEAD_SEARCH = 64 * 1024


@dataclass(frozen=True)
class Reading:
    msg: InboundMessage
    over_limit: str = ""  # why the message was not read whole, in words; "" when it was
    limit: str = ""  # which limit, for the answer: size, attachments, time or memory
    amount: str = ""  # the message's own figure for that limit


def budget(limits: LimitRules) -> Budget:
    return Budget(limits.read_seconds, limits.read_cpu_seconds, limits.read_memory_megabytes)


def read_message(
    raw: bytes, limits: LimitRules, own_copy: Callable[[InboundMessage], bool] | None = None
) -> Reading:
    """The message read within the limits. With `own_copy`, a message that carries our loop
    header is first read from its headers, and if it is one of our own copies coming back
    that is all of it that is read: about half the mail of a busy pass, at a tenth the cost."""
    if own_copy is not None and _LOOP.search(raw[:_HEAD_SEARCH]):
        head = parse_headers(raw)
        if own_copy(head):
            return Reading(head)
    size_mb = len(raw) / _MB
    if size_mb > limits.message_megabytes:
        return Reading(
            parse_headers(raw),
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
            return Reading(parse_headers(raw), why, exc.what)
    if len(msg.attachments) > limits.attachments:
        why = f"{len(msg.attachments)} attachments are over the limit of {limits.attachments}"
        return Reading(msg, why, "attachments", str(len(msg.attachments)))
    return Reading(msg)
