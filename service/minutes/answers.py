"""Answers to the minutes: what an attendee said, kept, forwarded, and counted.

An objection goes to the recorder and host; when the last attendee confirms, the record
is confirmed and what follows (assigning the items) is left to `ctx.on_confirmed`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from parsers.intent import Intent, IntentWords, Tag, read_intent
from parsers.intent import Reading as IntentReading
from parsers.people import Directory
from service.context import Context, queue_reply
from service.core.config import IntentRules
from service.core.outcomes import Applied, Reply
from service.core.store import Doc
from service.mail.outbox import OutgoingMail
from service.mail.render import base_language
from service.minutes import objections, records
from service.minutes.matching import Match
from service.minutes.records import Event, State


def intent_words(words: IntentRules) -> IntentWords:
    lexicon = (
        (Tag.CONSENT_IDIOM, words.consent_idioms),
        (Tag.DISSENT, words.dissent),
        (Tag.CORRECTION, words.corrections),
        (Tag.DEFERRAL, words.deferrals),
        (Tag.ACK, words.acknowledgements),
        (Tag.CONSENT, words.consent),
        (Tag.NEGATOR_AFTER, words.negators_after),
        (Tag.NEGATOR, words.negators),
        (Tag.HOLDING, words.holding),
        (Tag.ABSENCE, words.absence),
        (Tag.PRESENCE, words.presence),
        (Tag.OBJECTION_NOUN, words.objection_nouns),
        (Tag.QUESTION, words.questions),
        (Tag.POINTER, words.pointers),
        (Tag.SETTLED, words.settled_markers),
        (Tag.PARTIAL, words.partial),
    )
    return IntentWords(
        tuple((tag, tuple(phrases)) for tag, phrases in lexicon),
        tuple(words.disclaimer_markers),
        tuple(words.clause_breaks),
        tuple(words.own_mail_markers),
    )


def answer(
    ctx: Context, record: Doc, person: Doc, match: Match, text: str, open_items: list[dict[str, Any]]
) -> None:
    """An attendee's answer to the minutes; `open_items` are theirs, for an answer that comes late."""
    reading = read_intent(text, intent_words(ctx.rules.intent))
    number = record["record"]
    if record["state"] == State.CONFIRMED or match.stale:
        if reading.intent == Intent.OBJECT:
            _forward_objection(ctx, record, person, text)
        why = "already confirmed" if record["state"] == State.CONFIRMED else f"about v{match.version}"
        receipt(
            ctx,
            "late",
            record,
            {
                "intent": reading.intent.value,
                "answered_version": match.version,
                "open_items": open_items,
            },
        )
        raise Applied(f"{number}: {reading.intent.value} by {person['email']}, {why}: not counted")
    if reading.intent == Intent.UNCLEAR:
        ask_back(ctx, record, person, reading)
    previous = record["responses"].get(person["email"].lower(), {}).get("response")
    record_answer(ctx, record, person, reading, text)
    ctx.txn.put(records.RECORDS, number, record)
    receipt(ctx, "answer_receipt", record, {"intent": reading.intent.value, "changed_from": previous})
    raise Applied(f"{number}: {reading.intent.value} by {person['email']} ({reading.reason})")


def ask_back(ctx: Context, record: Doc, person: Doc, reading: IntentReading) -> None:
    """Neither consent nor a correction: one short question, and nothing counted or forwarded."""
    record.setdefault("history", []).append(
        {
            "at": ctx.now.isoformat(),
            "event": "answer_unclear",
            "by": person["email"],
            "message_id": ctx.msg.message_id,
            "version": record["version"],
            "note": reading.reason,
        }
    )
    ctx.txn.put(records.RECORDS, record["record"], record)
    ctx.lang = record["language"]
    receipt(ctx, "unclear", record, {"greeting_name": person["name"], "reason": reading.reason})
    raise Applied(f"{record['record']}: unclear answer from {person['email']}, asked back ({reading.reason})")


def record_answer(ctx: Context, record: Doc, person: Doc, reading: IntentReading, text: str) -> None:
    """Keep the answer, forward an objection, and close the window when that completes it."""
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
        objections.open_revision(ctx, record)
        _forward_objection(ctx, record, person, text)
    elif objections.after_confirmation(ctx, record, person["email"]):
        queue_confirmed_notice(
            ctx.replies, record, ctx.now.astimezone(ctx.rules.tz).isoformat(), ctx.directory
        )
        if ctx.on_confirmed is not None:
            ctx.on_confirmed(ctx, record)


def _forward_objection(ctx: Context, record: Doc, person: Doc, text: str) -> None:
    recorder, host = record["recorder"], record["host"]
    cc = [host["email"]] if host["email"].lower() != recorder["email"].lower() else []
    lang = records.reader_language(ctx.directory, record, recorder["email"])  # the one it is for
    ctx.replies.append(
        OutgoingMail(
            # By content: the same objection sent again (by a person or a loop) is forwarded once.
            key=f"{record['record']}:v{record['version']}:objection:{person['email'].lower()}:{_digest(text)}",
            to=[recorder["email"]],
            cc=cc,
            subject=records.subject(record, "修改意见", "Correction", person["name"], lang),
            template="objection",
            lang=lang,
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


def _digest(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()[:16]


def queue_confirmed_notice(replies: list[OutgoingMail], record: Doc, at: str, directory: Directory) -> None:
    """One notice per language the attendees read (the meeting's language keeps the plain key):
    an English reader gets it in English; a zh-TW one in Traditional, converted where the
    pipeline and the scheduler queue mail (records.for_readers)."""
    by_language: dict[str, list[str]] = {}
    for person in record["attendees"]:
        lang = records.reader_language(directory, record, person["email"])
        by_language.setdefault(lang, []).append(person["email"])
    for lang, addresses in sorted(by_language.items(), key=lambda kv: kv[0] != record["language"]):
        suffix = "" if lang == record["language"] else f":{lang}"
        replies.append(
            OutgoingMail(
                key=f"{record['record']}:v{record['version']}:confirmed{suffix}",
                to=addresses,
                subject=records.subject(record, "会议纪要已确认", "Minutes confirmed", record["name"], lang),
                template="confirmed",
                lang=lang,
                context={
                    "record": record["record"],
                    "name": record["name"],
                    "version": record["version"],
                    "confirmed": [p["name"] for p in records.answered(record, Intent.CONFIRM)],
                    "silent": [p["name"] for p in records.silent(record)],
                    "at": records.spell_deadline(at, base_language(lang)),  # local, with its weekday
                },
            )
        )


def receipt(ctx: Context, template: str, record: Doc, extra: dict[str, object]) -> None:
    queue_reply(
        ctx,
        Reply(
            template,
            {**records.about(record), **extra},
        ),
        template,
    )
