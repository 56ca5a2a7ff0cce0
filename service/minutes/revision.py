"""The recorder's revised draft: a new version, what changed, and a new window."""

from __future__ import annotations

from parsers.model import Minutes
from parsers.revision import diff_minutes
from service.context import Context, queue_reply
from service.core.outcomes import Applied
from service.core.store import Doc
from service.minutes import intake, records
from service.minutes.answers import receipt
from service.minutes.records import Event


def revise(ctx: Context, record: Doc, minutes: Minutes) -> None:
    ctx.lang = record["language"]
    if not minutes.valid:
        records.transition(record, Event.REVISION_INVALID, ctx.now, ctx.msg.from_addr, ctx.msg.message_id)
        ctx.txn.put(records.RECORDS, record["record"], record)
        queue_reply(
            ctx,
            intake.findings_reply(minutes, ctx.lang, ctx.msg.subject, revision_of=record["record"]),
            "findings",
        )
        raise Applied(f"revision of {record['record']} has {len(minutes.errors)} error(s): recorder told")
    changes = diff_minutes(record["minutes"], minutes.as_json())
    intake.set_version(ctx, record, minutes, changes)
    intake.open_window(ctx, record)
    records.transition(
        record, Event.REVISED, ctx.now, ctx.msg.from_addr, ctx.msg.message_id, f"{len(changes)} change(s)"
    )
    intake.distribute(ctx, record, changes)
    ctx.txn.put(records.RECORDS, record["record"], record)
    receipt(ctx, "revised", record, {"changes": len(changes)})
    raise Applied(
        f"{record['record']} revised to v{record['version']} ({len(changes)} change(s)); new window"
    )
