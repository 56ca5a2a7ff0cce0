"""The recorder's revised draft: a new version, what changed, and a new window."""

from __future__ import annotations

import re
from typing import Any

from parsers.model import Minutes
from parsers.revision import Change, diff_minutes, touches
from service.context import Context, queue_reply
from service.core.outcomes import Applied, Rejected
from service.core.store import Doc
from service.minutes import intake, objections, records
from service.minutes.answers import receipt
from service.minutes.records import Event, State


def revise(ctx: Context, record: Doc, minutes: Minutes) -> None:
    ctx.lang = record["language"]
    if not minutes.valid and record["state"] == State.CONFIRMED:
        # The confirmed minutes stand (their items are assigned): the recorder gets what to fix.
        raise Rejected(
            f"revision of confirmed {record['record']} has {len(minutes.errors)} error(s): minutes unchanged",
            reply=intake.findings_reply(minutes, ctx.lang, ctx.msg.subject, revision_of=record["record"]),
        )
    if not minutes.valid:
        records.transition(record, Event.REVISION_INVALID, ctx.now, ctx.msg.from_addr, ctx.msg.message_id)
        objections.open_revision(ctx, record)
        ctx.txn.put(records.RECORDS, record["record"], record)
        queue_reply(
            ctx,
            intake.findings_reply(minutes, ctx.lang, ctx.msg.subject, revision_of=record["record"]),
            "findings",
        )
        raise Applied(f"revision of {record['record']} has {len(minutes.errors)} error(s): recorder told")
    new = minutes.as_json()
    changes = diff_minutes(record["minutes"], new)
    if not changes:
        identical(ctx, record)
    kept = _confirmations_kept(record, changes, new)
    intake.set_version(ctx, record, minutes, changes)
    intake.open_window(ctx, record)
    record["responses"].update(kept)
    record.pop("revision", None)
    records.transition(
        record, Event.REVISED, ctx.now, ctx.msg.from_addr, ctx.msg.message_id, f"{len(changes)} change(s)"
    )
    intake.distribute(ctx, record, changes)
    ctx.txn.put(records.RECORDS, record["record"], record)
    receipt(ctx, "revised", record, {"changes": len(changes), "kept": len(kept)})
    raise Applied(
        f"{record['record']} revised to v{record['version']} ({len(changes)} change(s)); new window"
    )


def identical(ctx: Context, record: Doc) -> None:
    """A resend of the current version is no new version; in revision it keeps the minutes."""
    if record["state"] in (State.REVISING, State.NEEDS_FIX):
        names = objections.keep_minutes(ctx, record, "")
        ctx.txn.put(records.RECORDS, record["record"], record)
        receipt(ctx, "kept_receipt", record, {"objectors": names, "identical": True})
        raise Applied(f"{record['record']}: resend identical to v{record['version']}, kept; window resumes")
    receipt(ctx, "identical", record, {})
    raise Applied(f"{record['record']}: resend identical to v{record['version']}; no new version")


def _confirmations_kept(record: Doc, changes: list[Change], new: dict[str, Any]) -> dict[str, Doc]:
    """Confirmations of the last version that no change concerns carry over to the next one."""
    kept: dict[str, Doc] = {}
    for address, response in record.get("responses", {}).items():
        if response.get("response") != "confirmed" or touches(changes, record["minutes"], new, address):
            continue
        kept[address] = {**response, "carried_from": response.get("carried_from") or record["version"]}
    return kept


def keep(ctx: Context, record: Doc, text: str) -> None:
    """The recorder's 维持原纪要 / no change, answering the objections without a new version."""
    ctx.lang = record["language"]
    phrase = objections.keep_phrase(text, ctx.rules)
    note = re.sub(re.escape(phrase), "", text, count=1, flags=re.IGNORECASE).strip(" \n,，。.:：;；")
    names = objections.keep_minutes(ctx, record, note)
    ctx.txn.put(records.RECORDS, record["record"], record)
    receipt(ctx, "kept_receipt", record, {"objectors": names, "identical": False})
    raise Applied(f"{record['record']}: kept unchanged by the recorder; {len(names)} objector(s) asked again")
