"""What every stage and handler of one inbound message may read, and where it writes.

It sits below the handlers (minutes/, items/) and above the building blocks (core/, mail/),
so a handler never imports the pipeline that calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from parsers.classify import Classification
from parsers.message import InboundMessage
from parsers.people import Directory
from parsers.reply_text import read_reply
from service.core.clock import Clock
from service.core.config import Rules, Settings
from service.core.outcomes import Reply
from service.core.store import Doc, Store, Transaction
from service.mail.outbox import Outbox, OutgoingMail
from service.mail.render import VERBATIM, base_language, localise, mail_language, written_in


@dataclass
class Context:
    """One message's view of the service; `txn` is where its stages write."""

    settings: Settings
    rules: Rules
    store: Store
    outbox: Outbox
    clock: Clock
    txn: Transaction
    now: datetime
    msg: InboundMessage
    directory: Directory = field(default_factory=Directory)
    classification: Classification | None = None
    lang: str = "zh"
    replies: list[OutgoingMail] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    # What follows a record's confirmation (assigning its items) lives in a layer above the
    # minutes; the pipeline hands it down here instead of minutes/ importing items/.
    on_confirmed: Callable[[Context, Doc], None] | None = None


def within(ctx: Context, address: str) -> bool:
    """A person of the directory, or of a domain the rules allow; anyone when there is no directory."""
    directory = ctx.directory
    domain = address.rpartition("@")[2].lower()
    allowed = {d.lower().lstrip("@") for d in ctx.rules.security.allowed_domains}
    return not directory.people or directory.by_email(address) is not None or domain in allowed


def visible_text(ctx: Context) -> str:
    """What the person wrote (quotes and signatures removed), read once per message."""
    if "visible" not in ctx.facts:
        ctx.facts["visible"] = read_reply(ctx.msg.text, ctx.msg.html).text
    return str(ctx.facts["visible"])


def reply_language(ctx: Context) -> str:
    """An answer goes out in the sender's language from the directory; without one, in the
    language the handler chose (the message's, or its record's), in Traditional characters when
    that is how they wrote."""
    chosen = ctx.directory.language_of(ctx.msg.from_addr)
    if chosen:
        return mail_language(chosen, ctx.lang)
    # What they wrote, not the subject: a reply's subject is usually ours, quoted.
    return written_in(visible_text(ctx)[:2000] or ctx.msg.subject, ctx.lang)


def queue_reply(ctx: Context, reply: Reply, purpose: str = "reply") -> None:
    """Answer the sender in their thread; the key makes a replay queue nothing new."""
    msg = ctx.msg
    lang = reply_language(ctx)
    prefix = localise("回复: " if base_language(lang) == "zh" else "Re: ", lang)
    known = tuple(p.lower() for p in ctx.rules.reply_subject_prefixes) or ("re:",)
    subject = msg.subject if msg.subject.lower().startswith(known) else f"{prefix}{msg.subject}"
    ctx.replies.append(
        OutgoingMail(
            key=f"{msg.message_id}:{purpose}:{reply.template}",
            to=[msg.from_addr],
            subject=subject.strip() or prefix.strip(),
            template=reply.template,
            lang=lang,
            context={**reply.context, VERBATIM: ctx.directory.names} if lang == "zh-TW" else reply.context,
            in_reply_to=msg.message_id,
            references=list(msg.references),
        )
    )
