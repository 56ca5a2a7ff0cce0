"""Answering the sender of a message in their thread, and recording bounces."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.outbox import OutgoingMail
from service.outcomes import Reply

if TYPE_CHECKING:
    from service.pipeline import Context

ADDRESSES = "addresses"


def queue_reply(ctx: Context, reply: Reply, purpose: str = "reply") -> None:
    """Answer the sender in their thread; the key makes a replay queue nothing new."""
    msg = ctx.msg
    prefix = "回复: " if ctx.lang == "zh" else "Re: "
    known = tuple(p.lower() for p in ctx.rules.reply_subject_prefixes) or ("re:",)
    subject = msg.subject if msg.subject.lower().startswith(known) else f"{prefix}{msg.subject}"
    ctx.replies.append(
        OutgoingMail(
            key=f"{msg.message_id}:{purpose}:{reply.template}",
            to=[msg.from_addr],
            subject=subject.strip() or prefix.strip(),
            template=reply.template,
            lang=ctx.lang,
            context=reply.context,
            in_reply_to=msg.message_id,
            references=list(msg.references),
        )
    )


def record_bounce(ctx: Context) -> None:
    """Mark each failed address; later issues tell the recorder of the affected record."""
    for address in ctx.msg.failed_recipients:
        doc = ctx.txn.get(ADDRESSES, address) or {"bounces": []}
        doc["state"] = "failing"
        doc["bounces"] = [*doc["bounces"], ctx.msg.message_id][-20:]
        doc["since"] = doc.get("since") or ctx.now.isoformat()
        ctx.txn.put(ADDRESSES, address, doc)
