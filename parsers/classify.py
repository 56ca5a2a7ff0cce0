"""Which kind of message is this: a draft, a reply, automatic mail, or a bounce."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from parsers.message import InboundMessage

LOOP_HEADER = "X-Minutesd-Loop"
RECORD_TOKEN = re.compile(r"\[(\d{4}-[A-Z]{2,6}-\d{3,})(?:#(\d+))?\]")


class Kind(StrEnum):
    DRAFT = "draft"
    REPLY = "reply"
    AUTOMATIC = "automatic"
    BOUNCE = "bounce"


@dataclass(frozen=True)
class AutomaticPolicy:
    auto_submitted_ignore: tuple[str, ...] = ("no",)
    precedence: tuple[str, ...] = ("bulk", "junk", "list", "auto_reply")
    headers_present: tuple[str, ...] = ("X-Autoreply", "List-Id")
    subject_prefixes: tuple[str, ...] = ()
    bounce_senders: tuple[str, ...] = ("mailer-daemon", "postmaster")
    system_senders: tuple[str, ...] = ("noreply", "no-reply")
    system_sender_suffixes: tuple[str, ...] = ("-admin", "-owner", "-request")
    bounce_subjects: tuple[str, ...] = ()
    reply_subject_prefixes: tuple[str, ...] = ("Re:", "回复:")
    own_addresses: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Classification:
    kind: Kind
    reason: str


def classify(msg: InboundMessage, policy: AutomaticPolicy) -> Classification:
    bounce = _bounce_reason(msg, policy)
    if bounce:
        return Classification(Kind.BOUNCE, bounce)
    automatic = _automatic_reason(msg, policy)
    if automatic:
        return Classification(Kind.AUTOMATIC, automatic)
    if msg.thread_ids or _has_reply_prefix(msg.subject, policy) or RECORD_TOKEN.search(msg.subject):
        return Classification(Kind.REPLY, "answers a thread")
    return Classification(Kind.DRAFT, "a new message")


def _bounce_reason(msg: InboundMessage, policy: AutomaticPolicy) -> str:
    if msg.report_type.lower() == "delivery-status":
        return "multipart/report delivery-status"
    if msg.failed_recipients:
        return "delivery-status report"
    subject = msg.subject.lower()
    if any(s.lower() in subject for s in policy.bounce_subjects):
        return f"bounce from {msg.from_addr or 'the null sender'}: {msg.subject[:60]}"
    return ""


def _automatic_reason(msg: InboundMessage, policy: AutomaticPolicy) -> str:
    if msg.header(LOOP_HEADER) or msg.from_addr in policy.own_addresses:
        return "our own mail"
    auto = msg.header("auto-submitted").strip().lower()
    if auto and auto.split(";")[0].strip() not in policy.auto_submitted_ignore:
        return f"Auto-Submitted: {auto}"
    if msg.content_type == "multipart/report":
        return f"multipart/report {msg.report_type}".strip()
    precedence = msg.header("precedence").strip().lower()
    if precedence in policy.precedence:
        return f"Precedence: {precedence}"
    for name in policy.headers_present:
        if msg.header(name):
            return f"{name} header"
    subject = _strip_reply_prefixes(msg.subject, policy).lower()
    for prefix in policy.subject_prefixes:
        if subject.startswith(prefix.lower()) or msg.subject.lower().startswith(prefix.lower()):
            return f"subject starts with {prefix!r}"
    local = msg.from_addr.partition("@")[0].lower().strip('"')
    if local in policy.bounce_senders or local in policy.system_senders:
        return f"sent by {local}"
    if local.endswith(policy.system_sender_suffixes):
        return f"sent by the robot {local}"
    return ""


def _has_reply_prefix(subject: str, policy: AutomaticPolicy) -> bool:
    lowered = subject.lstrip().lower()
    return any(lowered.startswith(p.lower()) for p in policy.reply_subject_prefixes)


def _strip_reply_prefixes(subject: str, policy: AutomaticPolicy) -> str:
    text = subject.strip()
    changed = True
    while changed:
        changed = False
        for prefix in policy.reply_subject_prefixes:
            if text.lower().startswith(prefix.lower()):
                text = text[len(prefix) :].strip()
                changed = True
    return text
