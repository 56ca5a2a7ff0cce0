"""After an objection: the record never freezes.

Revision has its own deadline from the rules: when it passes, the recorder is reminded and
the host told (once per version). The recorder may keep the minutes (维持原纪要 / no change),
which resumes the window and asks the objectors again; an objector who later confirms
withdraws the objection; a head's late sign-off completes a record whose window closed.
"""

from __future__ import annotations

from datetime import datetime

from parsers.people import Directory
from service.context import Context
from service.core.calendar import work_calendar
from service.core.config import Rules
from service.core.store import Doc
from service.mail.outbox import OutgoingMail
from service.mail.render import base_language
from service.minutes import records
from service.minutes.records import Event, State


def open_revision(ctx: Context, record: Doc) -> None:
    """Start the revision clock the first time the record goes into revision for this version."""
    revision = record.get("revision")
    if revision and revision.get("version") == record["version"]:
        return
    local_now = ctx.now.astimezone(ctx.rules.tz).replace(second=0, microsecond=0)
    days = ctx.rules.confirmation.revision_working_days
    deadline = work_calendar(ctx.rules.calendar).add_working_days(local_now, days)
    record["revision"] = {
        "version": record["version"],
        "since": local_now.isoformat(),
        "deadline": deadline.isoformat(),
        "told": False,
    }


def keep_phrase(text: str, rules: Rules) -> str:
    """The recorder's 维持原纪要 / no change, if the visible text says it."""
    lowered = text.lower()
    return next((p for p in rules.confirmation.keep_phrases if p.lower() in lowered), "")


def keep_minutes(ctx: Context, record: Doc, note: str) -> list[str]:
    """The recorder keeps the minutes as they are: the window resumes, the objectors are asked again."""
    objectors = records.objectors(record)
    records.transition(record, Event.KEPT, ctx.now, ctx.msg.from_addr, ctx.msg.message_id, note[:200])
    record.pop("revision", None)
    for person in objectors:
        record["responses"].pop(person["email"].lower(), None)
    _resume_window(ctx, record)
    for person in objectors:
        lang = records.reader_language(ctx.directory, record, person["email"])
        ctx.replies.append(
            OutgoingMail(
                key=f"{record['record']}:v{record['version']}:kept:{ctx.msg.message_id}:{person['email'].lower()}",
                to=[person["email"]],
                cc=[record["host"]["email"]],
                subject=records.subject(
                    record, "记录人维持原纪要", "Minutes kept unchanged", record["name"], lang
                ),
                template="kept",
                lang=lang,
                context={
                    **records.about(record),
                    "greeting_name": person["name"],
                    "note": note,
                    "deadline": records.spell_deadline(record["window"]["deadline"], base_language(lang)),
                },
            )
        )
    return [p["name"] for p in objectors]


def _resume_window(ctx: Context, record: Doc) -> None:
    """The rest of the window, but never less than one working day from now."""
    window = record["window"]
    local_now = ctx.now.astimezone(ctx.rules.tz).replace(second=0, microsecond=0)
    at_least = work_calendar(ctx.rules.calendar).add_working_days(local_now, 1)
    deadline = max(datetime.fromisoformat(window["deadline"]), at_least)
    window.update({"deadline": deadline.isoformat(), "closed": False, "reminded": False})


def after_confirmation(ctx: Context, record: Doc, by: str) -> bool:
    """What a confirmation may complete; True when the record is now confirmed."""
    if record["state"] == State.REVISING and not records.objectors(record):
        records.transition(record, Event.WITHDRAWN, ctx.now, by, ctx.msg.message_id)
        record.pop("revision", None)
        _resume_window(ctx, record)
    if record["state"] != State.AWAITING:
        return False
    if all(records.response_of(record, p).get("response") == "confirmed" for p in record["attendees"]):
        records.transition(record, Event.ALL_CONFIRMED, ctx.now, by, ctx.msg.message_id)
        return True
    closed = record.get("window", {}).get("closed")
    policy = ctx.rules.confirmation
    if closed and policy.on_close == "silence_is_consent" and not records.silent_heads(record):
        # The window closed waiting only for a head's sign-off, and this was it.
        records.transition(record, Event.SIGNED_OFF, ctx.now, by, ctx.msg.message_id)
        return True
    return False


def revision_due_mails(record: Doc, now: datetime, directory: Directory) -> list[OutgoingMail]:
    """At the revision deadline, once a version: remind the recorder, tell the host."""
    revision = record.get("revision")
    if not revision or revision.get("told") or now < datetime.fromisoformat(revision["deadline"]):
        return []
    revision["told"] = True
    record.setdefault("history", []).append(
        {"at": now.isoformat(), "event": "revision_overdue", "by": "scheduler", "version": record["version"]}
    )

    def mail(who: str, to_host: bool) -> OutgoingMail:
        lang = records.reader_language(directory, record, record[who]["email"])
        spelled = base_language(lang)
        return OutgoingMail(
            key=f"{record['record']}:v{record['version']}:revision-due:{who}",
            to=[record[who]["email"]],
            subject=records.subject(record, "纪要修改已逾期", "Revision overdue", record["name"], lang),
            template="revision_due",
            lang=lang,
            context={
                **records.about(record),
                "since": records.spell_deadline(revision["since"], spelled),
                "deadline": records.spell_deadline(revision["deadline"], spelled),
                "objectors": [p["name"] for p in records.objectors(record)],
                "needs_fix": record["state"] == State.NEEDS_FIX,
                "to_host": to_host,
            },
        )

    mails = [mail("recorder", False), mail("host", True)]
    same = record["host"]["email"].lower() == record["recorder"]["email"].lower()
    return mails[:1] if same else mails
