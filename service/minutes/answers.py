"""Replies: which record they answer, whether the sender may, and what they mean.

Matching goes from the strongest evidence to the weakest: the plus-address key of the
reply address (bound to one attendee), our Message-IDs in In-Reply-To / References, and
last the record number in the subject, which alone never lets in a sender who is not on
the record.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parsers.classify import RECORD_TOKEN, Kind
from parsers.intent import Intent, IntentWords, read_intent
from parsers.intent import Reading as IntentReading
from parsers.message import InboundMessage
from parsers.reply_text import read_reply
from parsers.revision import diff_minutes
from service import actions, intake, notices, records
from service.config import IntentRules
from service.drafts import parse_message_draft
from service.handlers import queue_reply
from service.outbox import OutgoingMail
from service.outcomes import Applied, Rejected, Reply
from service.records import Event, State
from service.store import Doc

if TYPE_CHECKING:
    from parsers.model import Minutes
    from service.pipeline import Context


REFUSAL = Reply("refusal", {})  # names nothing of the record: the sender is not on it


@dataclass(frozen=True)
class Match:
    record: Doc | None
    how: str
    version: int | None = None
    key_owner: str = ""


def handle(ctx: Context) -> None:
    assert ctx.classification is not None
    match = match_record(ctx)
    if match.record is None:
        take_draft(ctx, is_reply=ctx.classification.kind == Kind.REPLY, token=match.how == "unknown-token")
        return
    record = match.record
    sender = ctx.msg.from_addr.lower()
    if match.key_owner and match.key_owner != sender:
        raise Rejected(f"{match.how}: reply key of {match.key_owner} used by {sender}", reply=REFUSAL)
    if sender == record["recorder"]["email"].lower() and _holds_a_draft(ctx):
        revise(ctx, record)
        return
    text = read_reply(ctx.msg.text, ctx.msg.html).text
    person = records.attendee(record, sender)
    if person is None and not actions.has_item_role(ctx, record):
        raise Rejected(f"{sender} is not on {record['record']} (matched by {match.how})", reply=REFUSAL)
    commands = actions.read(ctx, text)
    if commands.commands and (
        person is None or record["state"] == State.CONFIRMED or actions.has_item_role(ctx, record)
    ):
        take_commands(ctx, record, person, match, commands, text)
    if person is None:
        actions.finish(ctx, record, [])  # an owner who wrote no command: their items and how to answer
        return
    answer(ctx, record, person, match, text)


def take_commands(
    ctx: Context, record: Doc, person: Doc | None, match: Match, commands: actions.CommandReading, text: str
) -> None:
    results = actions.take(ctx, record, commands)
    extra: dict[str, object] = {}
    stale = match.version is not None and match.version < record["version"]
    if person is not None and record["state"] != State.CONFIRMED and not stale:
        applied = any(r.outcome == "applied" for r in results)
        # "确认。\n#1 完成": the line that is not a command still answers the minutes. When no
        # line applied ("已完成第一步,其余确认"), the whole reply is read: a partial confirmation
        # goes to the recorder like any correction. Words with no confirm or objection in
        # them ("流程文档见附件") answer nothing.
        said = commands.rest if applied else text
        reading = read_intent(said, intent_words(ctx.rules.intent))
        if said and reading.said_anything:
            record_answer(ctx, record, person, reading, said)
            ctx.txn.put(records.RECORDS, record["record"], record)
            extra["answer"] = reading.intent.value
    actions.finish(ctx, record, results, extra)


# -- matching ----------------------------------------------------------------


def match_record(ctx: Context) -> Match:
    local, _, domain = ctx.settings.address.lower().partition("@")
    for address in [*ctx.msg.to, *ctx.msg.cc]:
        mailbox, _, host = address.lower().partition("@")
        if host == domain and mailbox.startswith(f"{local}+"):
            bound = ctx.store.get(records.REPLY_KEYS, mailbox.partition("+")[2])
            if bound is not None:
                record = ctx.store.get(records.RECORDS, bound["record"])
                return Match(record, "reply key", None, bound["address"])
    for message_id in reversed(ctx.msg.thread_ids):
        thread = ctx.store.get(records.THREADS, message_id)
        if thread is not None:
            return Match(ctx.store.get(records.RECORDS, thread["record"]), "thread", thread["version"])
    token = RECORD_TOKEN.search(ctx.msg.subject)
    if token:
        record = ctx.store.get(records.RECORDS, token.group(1))
        if record is not None:
            return Match(record, "record number in the subject")
        return Match(None, "unknown-token")
    return Match(None, "none")


# -- new drafts --------------------------------------------------------------


def take_draft(ctx: Context, is_reply: bool, token: bool) -> None:
    minutes = parse_message_draft(_without_quotes(ctx), ctx.rules, ctx.directory)
    if is_reply and not _draft_like(minutes):
        # A reply we cannot place, and no draft in it: say so rather than guess.
        raise Rejected("a reply that matches no record", reply=Reply("unmatched", {"token": token}))
    if not minutes.valid:
        raise Rejected(
            f"draft refused: {len(minutes.errors)} error(s)",
            reply=intake.findings_reply(minutes, ctx.lang, ctx.msg.subject),
        )
    record = intake.accept_draft(ctx, minutes)
    ctx.lang = record["language"]
    _receipt(ctx, "accepted", record, {"attendees": len(record["attendees"])})
    raise Applied(f"draft accepted as {record['record']}; sent to {len(record['attendees'])} attendee(s)")


def _draft_like(minutes: Minutes) -> bool:
    # Not the meeting name: the parser falls back to the subject, which every reply has.
    return bool(minutes.items or len(minutes.attendees) > 1)


def _without_quotes(ctx: Context) -> InboundMessage:
    """The message with only what the person wrote, so a quoted earlier draft is not read."""
    msg = ctx.msg
    if any(a.filename.lower().endswith((".docx", ".md", ".txt", ".html", ".htm")) for a in msg.attachments):
        return msg
    if "<table" in msg.html.lower() or not msg.text.strip():
        return msg  # a draft pasted from Word: its tables are in the HTML part
    return dataclasses.replace(msg, text=read_reply(msg.text).text, html="")


def _holds_a_draft(ctx: Context) -> bool:
    minutes = parse_message_draft(_without_quotes(ctx), ctx.rules, ctx.directory)
    ctx.facts["draft"] = minutes
    return _draft_like(minutes)


# -- revisions ---------------------------------------------------------------


def revise(ctx: Context, record: Doc) -> None:
    minutes: Minutes = ctx.facts["draft"]
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
    _receipt(ctx, "revised", record, {"changes": len(changes)})
    raise Applied(
        f"{record['record']} revised to v{record['version']} ({len(changes)} change(s)); new window"
    )


# -- answers -----------------------------------------------------------------


def intent_words(words: IntentRules) -> IntentWords:
    return IntentWords(
        tuple(words.confirm_phrases),
        tuple(words.object_phrases),
        tuple(words.confirm_words),
        tuple(words.partial_markers),
        tuple(words.unclear_markers),
    )


def answer(ctx: Context, record: Doc, person: Doc, match: Match, text: str) -> None:
    reading = read_intent(text, intent_words(ctx.rules.intent))
    number = record["record"]
    stale = match.version is not None and match.version < record["version"]
    if record["state"] == State.CONFIRMED or stale:
        if reading.intent == Intent.OBJECT:
            _forward_objection(ctx, record, person, text)
        why = "already confirmed" if record["state"] == State.CONFIRMED else f"about v{match.version}"
        _receipt(
            ctx,
            "late",
            record,
            {
                "intent": reading.intent.value,
                "answered_version": match.version,
                "open_items": actions.open_items_of(ctx, record, person["email"]),
            },
        )
        raise Applied(f"{number}: {reading.intent.value} by {person['email']}, {why}: not counted")
    previous = record["responses"].get(person["email"].lower(), {}).get("response")
    record_answer(ctx, record, person, reading, text)
    ctx.txn.put(records.RECORDS, number, record)
    _receipt(ctx, "answer_receipt", record, {"intent": reading.intent.value, "changed_from": previous})
    raise Applied(f"{number}: {reading.intent.value} by {person['email']} ({reading.reason})")


def record_answer(ctx: Context, record: Doc, person: Doc, reading: IntentReading, text: str) -> None:
    """Keep the answer, forward an objection, and close the window when everyone confirmed."""
    record["responses"][person["email"].lower()] = {
        "response": reading.intent.value,
        "at": ctx.now.isoformat(),
        "message_id": ctx.msg.message_id,
        "text": text[:2000],
        "reason": reading.reason,
    }
    record.setdefault("history", []).append(
        {
            "at": ctx.now.isoformat(),
            "event": f"answer_{reading.intent.value}",
            "by": person["email"],
            "message_id": ctx.msg.message_id,
            "version": record["version"],
            "note": reading.reason,
        }
    )
    if reading.intent == Intent.OBJECT:
        records.transition(
            record, Event.OBJECTED, ctx.now, person["email"], ctx.msg.message_id, reading.reason
        )
        _forward_objection(ctx, record, person, text)
    elif record["state"] == State.AWAITING and _everyone_confirmed(record):
        records.transition(record, Event.ALL_CONFIRMED, ctx.now, person["email"], ctx.msg.message_id)
        queue_confirmed_notice(ctx.replies, record, ctx.now.isoformat())
        notices.assign(notices.mailer_of(ctx), record)


def _everyone_confirmed(record: Doc) -> bool:
    return len(records.answered(record, Intent.CONFIRM)) == len(record["attendees"])


def _forward_objection(ctx: Context, record: Doc, person: Doc, text: str) -> None:
    recorder, host = record["recorder"], record["host"]
    cc = [host["email"]] if host["email"].lower() != recorder["email"].lower() else []
    ctx.replies.append(
        OutgoingMail(
            key=f"{ctx.msg.message_id}:objection",
            to=[recorder["email"]],
            cc=cc,
            subject=records.subject(record, "修改意见", "Correction", person["name"]),
            template="objection",
            lang=record["language"],
            context={
                "record": record["record"],
                "name": record["name"],
                "version": record["version"],
                "from_name": person["name"],
                "from_email": person["email"],
                "text": text,
                "recorder": recorder["name"],
                "host": host["name"],
            },
            in_reply_to=ctx.msg.message_id,
            references=[*ctx.msg.references, ctx.msg.message_id],
        )
    )


def queue_confirmed_notice(replies: list[OutgoingMail], record: Doc, at: str) -> None:
    replies.append(
        OutgoingMail(
            key=f"{record['record']}:v{record['version']}:confirmed",
            to=[p["email"] for p in record["attendees"]],
            subject=records.subject(record, "会议纪要已确认", "Minutes confirmed", record["name"]),
            template="confirmed",
            lang=record["language"],
            context={
                "record": record["record"],
                "name": record["name"],
                "version": record["version"],
                "confirmed": [p["name"] for p in records.answered(record, Intent.CONFIRM)],
                "silent": [p["name"] for p in records.silent(record)],
                "at": at[:16].replace("T", " "),
            },
        )
    )


def _receipt(ctx: Context, template: str, record: Doc, extra: dict[str, object]) -> None:
    queue_reply(
        ctx,
        Reply(
            template,
            {
                "record": record["record"],
                "name": record["name"],
                "version": record["version"],
                "recorder": record["recorder"]["name"],
                "host": record["host"]["name"],
                **extra,
            },
        ),
        template,
    )
