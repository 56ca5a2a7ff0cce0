"""A draft becomes a record: numbered, stored with its raw message, and sent to every attendee."""

from __future__ import annotations

from typing import Any

from parsers.model import Minutes
from parsers.people import Person
from parsers.revision import Change
from service.context import Context
from service.core.calendar import work_calendar
from service.core.outcomes import Applied, Rejected, Reply
from service.core.store import Doc
from service.mail.outbox import OutgoingMail
from service.mail.render import VERBATIM, base_language, localise, mail_language
from service.minutes import records
from service.minutes.answers import receipt
from service.minutes.records import Event, people_names, spell_deadline


def findings_reply(minutes: Minutes, lang: str, subject: str, revision_of: str = "") -> Reply:
    return Reply(
        "findings",
        {
            "original_subject": subject,
            "revision_of": revision_of,
            "findings": [
                {"severity": f.severity, "rule": f.rule, "message": f.message, "where": f.where}
                for f in minutes.findings
            ],
            "errors": len(minutes.errors),
        },
    )


def is_confidential(ctx: Context, minutes: Minutes) -> bool:
    return marked_confidential(ctx.msg.subject, minutes, ctx.rules.confirmation.confidential_markers)


def marked_confidential(subject: str, minutes: Minutes, markers: list[str]) -> bool:
    """Only the meeting's own marking counts: its subject, name or 密级 field, never a signature's
    CONFIDENTIALITY NOTICE."""
    meeting = minutes.meeting
    text = f"{subject}\n{meeting.name}\n{meeting.classification}".lower()
    return any(marker.lower() in text for marker in markers)


def record_prefix(ctx: Context, minutes: Minutes) -> str:
    meeting = minutes.meeting
    chosen = meeting.host if ctx.rules.confirmation.record_department == "host" else meeting.recorder
    person = chosen or meeting.recorder or meeting.host
    year = (meeting.date or ctx.now.astimezone(ctx.rules.tz).date()).year
    department = ctx.directory.department(person.department) if person and person.department else None
    code = department.code if department and department.code else "GEN"
    return f"{year}-{code}"


def create_record(ctx: Context, minutes: Minutes) -> Doc:
    meeting = minutes.meeting
    # Whoever mailed the draft records it unless it names its recorder; the host defaults to them.
    if meeting.recorder is None:
        meeting.recorder = ctx.directory.by_email(ctx.msg.from_addr) or Person(
            ctx.msg.from_name or ctx.msg.from_addr, ctx.msg.from_addr
        )
    if meeting.host is None:
        meeting.host = meeting.recorder
    number = records.next_record_number(ctx.txn, record_prefix(ctx, minutes))
    record: Doc = {
        "record": number,
        "name": meeting.name or ctx.msg.subject,
        "language": minutes.language,
        "confidential": is_confidential(ctx, minutes),
        "recorder": meeting.recorder.as_json(),
        "host": meeting.host.as_json(),
        "attendees": _attendees(minutes),
        "version": 1,
        "minutes": minutes.as_json(),
        "versions": [_version_entry(ctx, 1, minutes, [])],
        "responses": {},
        "reply_keys": {},
        "history": [],
    }
    record["department_heads"] = _heads_among(ctx, record["attendees"])
    records.remember_thread(ctx.txn, ctx.msg.message_id, number, 1)
    return record


def _heads_among(ctx: Context, attendees: list[dict[str, str]]) -> list[str]:
    """Attendees who head a department: with `head_signoff` their silence is not consent."""
    heads = {d.head for d in ctx.directory.departments.values() if d.head}
    found = []
    for person in attendees:
        entry = ctx.directory.by_email(person["email"])
        if entry is not None and entry.name in heads:
            found.append(person["email"].lower())
    return found


def _attendees(minutes: Minutes) -> list[dict[str, str]]:
    people: dict[str, dict[str, str]] = {}
    for person in [*minutes.attendees, minutes.meeting.host, minutes.meeting.recorder]:
        if person is not None and person.email:
            people.setdefault(person.email.lower(), person.as_json())
    return list(people.values())


def _version_entry(ctx: Context, version: int, minutes: Minutes, changes: list[Change]) -> Doc:
    return {
        "version": version,
        "message_id": ctx.msg.message_id,
        "sha256": ctx.facts.get("sha256", ""),
        "received_at": ctx.now.isoformat(),
        "minutes": minutes.as_json(),
        "changes": [c.as_json() for c in changes],
    }


def open_window(ctx: Context, record: Doc) -> None:
    local_now = ctx.now.astimezone(ctx.rules.tz).replace(second=0, microsecond=0)
    calendar = work_calendar(ctx.rules.calendar)
    deadline = calendar.add_working_days(local_now, ctx.rules.confirmation.window_working_days)
    record["window"] = {
        "version": record["version"],
        "opened_at": local_now.isoformat(),
        "deadline": deadline.isoformat(),
        "reminded": False,
        "closed": False,
    }
    record["responses"] = {}


def distribute(ctx: Context, record: Doc, changes: list[Change]) -> None:
    """One mail per attendee, each with a reply address only that attendee may use."""
    version = record["version"]
    domain = ctx.outbox.domain
    local = ctx.settings.address.partition("@")[0]
    contexts: dict[str, dict[str, Any]] = {}  # one per language spelled (zh, en)
    names = people_names(ctx.directory, record)
    for person in record["attendees"]:
        address = person["email"].lower()
        key = record["reply_keys"].get(address) or records.new_reply_key(ctx.txn, record["record"], address)
        record["reply_keys"][address] = key
        mail_key = f"{record['record']}:v{version}:minutes:{address}"
        # Each attendee in their own language (the directory's), else the record's.
        lang = mail_language(ctx.directory.language_of(address), record["language"])
        spelled = base_language(lang)
        if spelled not in contexts:
            contexts[spelled] = minutes_context(ctx, record, changes, spelled)
        ctx.replies.append(
            OutgoingMail(
                key=mail_key,
                to=[person["email"]],
                subject=localise(minutes_subject(record, changes, spelled), lang, names),
                template="minutes",
                lang=lang,
                context={
                    **contexts[spelled],
                    **({VERBATIM: names} if lang == "zh-TW" else {}),
                    "greeting_name": person["name"],
                    "confirmation_kept": records.response_of(record, person).get("carried_from"),
                },
                reply_to=f"{local}+{key}@{domain}",
            )
        )
        records.remember_thread(ctx.txn, ctx.outbox.message_id_for(mail_key), record["record"], version)
    attendee_addresses = {p["email"].lower() for p in record["attendees"]}
    cc = [a for a in ctx.rules.confirmation.cc if a.lower() not in attendee_addresses]
    if cc and not record["confidential"]:
        # One mail to several copied addresses: in the record's language.
        base = minutes_context(ctx, record, changes)
        mail_key = f"{record['record']}:v{version}:minutes:cc"
        ctx.replies.append(
            OutgoingMail(
                key=mail_key,
                to=cc,
                subject=minutes_subject(record, changes),
                template="minutes",
                lang=record["language"],
                context={**base, "greeting_name": "", "confirmation_kept": None},
            )
        )
        records.remember_thread(ctx.txn, ctx.outbox.message_id_for(mail_key), record["record"], version)


def minutes_subject(record: Doc, changes: list[Change], lang: str = "") -> str:
    zh = (lang or record["language"]) == "zh"
    if record["version"] > 1:
        label = (
            f"会议纪要(第{record['version']}版,待确认)"
            if zh
            else f"Revised minutes v{record['version']} to confirm"
        )
    else:
        label = "会议纪要(待确认)" if zh else "Minutes to confirm"
    return f"[{record['record']}] {label}{':' if zh else ': '}{record['name']}"


def minutes_context(ctx: Context, record: Doc, changes: list[Change], lang: str = "") -> dict[str, Any]:
    minutes = record["minutes"]
    meeting = minutes["meeting"]
    deadline = record["window"]["deadline"]
    return {
        "record": record["record"],
        "version": record["version"],
        "name": record["name"],
        "meeting": meeting,
        "host": record["host"]["name"],
        "recorder": record["recorder"]["name"],
        "attendees": [p["name"] for p in record["attendees"]],
        "absent": minutes.get("absent", []),
        "agenda": minutes.get("agenda", []),
        "decisions": minutes.get("decisions", []),
        "items": [
            {
                "id": f"{record['record']}#{item['no']}",
                "title": item["title"],
                "owner": (item.get("owner") or {}).get("name", ""),
                "department": item.get("department", ""),
                "due": item.get("due") or "",
                "criterion": item.get("criterion", ""),
                "notes": item.get("notes", ""),
            }
            for item in minutes.get("items", [])
        ],
        "deadline": spell_deadline(deadline, lang or record["language"]),
        "deadline_iso": deadline,
        "timezone": ctx.rules.service.timezone,
        "changes": [c.as_json() for c in changes],
        "confidential": record["confidential"],
        "next_meeting": minutes.get("next_meeting"),
        # What the mail promises about silence, from the rules that will apply it.
        "silence": ctx.rules.confirmation.on_close,
        "reminder_hours": f"{ctx.rules.confirmation.reminder_hours_before:g}",
    }


def accept_draft(ctx: Context, minutes: Minutes) -> Doc:
    record = create_record(ctx, minutes)
    open_window(ctx, record)
    records.transition(record, Event.DISTRIBUTED, ctx.now, ctx.msg.from_addr, ctx.msg.message_id)
    distribute(ctx, record, [])
    ctx.txn.put(records.RECORDS, record["record"], record)
    return record


def set_version(ctx: Context, record: Doc, minutes: Minutes, changes: list[Change]) -> None:
    record["version"] += 1
    record["minutes"] = minutes.as_json()
    record["name"] = minutes.meeting.name or record["name"]
    old = {p["email"].lower() for p in record["attendees"]}
    record["attendees"] = _attendees(minutes) or record["attendees"]
    record["added_attendees"] = [p["email"] for p in record["attendees"] if p["email"].lower() not in old]
    record["versions"].append(_version_entry(ctx, record["version"], minutes, changes))
    records.remember_thread(ctx.txn, ctx.msg.message_id, record["record"], record["version"])


def take_draft(ctx: Context, minutes: Minutes) -> None:
    """A draft that answers no record: its findings back to the sender, or a new record."""
    if not minutes.valid:
        raise Rejected(
            f"draft refused: {len(minutes.errors)} error(s)",
            reply=findings_reply(minutes, ctx.lang, ctx.msg.subject),
        )
    record = accept_draft(ctx, minutes)
    ctx.lang = record["language"]
    tracker = record["host"] if ctx.rules.actions.tracker == "host" else record["recorder"]
    understood = {
        "attendees": len(record["attendees"]),
        "items": len(record["minutes"].get("items", [])),
        "tracker": tracker["name"],
        "confidential": record["confidential"],
        "warnings": [f.message for f in minutes.findings if f.severity == "warning"],
    }
    receipt(ctx, "accepted", record, understood)
    raise Applied(f"draft accepted as {record['record']}; sent to {len(record['attendees'])} attendee(s)")
