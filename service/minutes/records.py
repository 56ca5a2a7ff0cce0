"""Meeting records: their numbers, their state machine, and what `status` shows of them.

The state machine is a table: (state, event) → state. `transition` refuses any pair the
table does not hold and writes an audit entry for every change it makes.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

from parsers.people import Directory
from service.core.store import Doc, Store, Transaction, define_index
from service.mail.outbox import OutgoingMail
from service.mail.render import VERBATIM, base_language, localise, mail_language

RECORDS = "records"
COUNTERS = "counters"
THREADS = "threads"  # Message-ID (ours or the recorder's draft) → record
WEEKDAYS_ZH = "一二三四五六日"
REPLY_KEYS = "reply_keys"  # plus-address key → record and the one address it was given to

define_index(RECORDS, "state", lambda record: [record.get("state")])
define_index(RECORDS, "attendee", lambda record: [p["email"].lower() for p in record.get("attendees", [])])
define_index(THREADS, "record", lambda thread: [thread.get("record")])
define_index(REPLY_KEYS, "record", lambda reply_key: [reply_key.get("record")])


class State(StrEnum):
    NEEDS_FIX = "needs_fix"
    AWAITING = "awaiting_confirmation"
    REVISING = "revising"
    CONFIRMED = "confirmed"


class Event(StrEnum):
    DISTRIBUTED = "distributed"
    OBJECTED = "objected"
    REVISED = "revised"
    REVISION_INVALID = "revision_invalid"
    ALL_CONFIRMED = "all_confirmed"
    WINDOW_CLOSED_CONSENT = "window_closed_consent"
    KEPT = "kept"  # the recorder answers the objections with 维持原纪要: the window resumes
    WITHDRAWN = "objection_withdrawn"  # every objector has since confirmed
    SIGNED_OFF = "signed_off"  # the last missing sign-off came after the window closed


TRANSITIONS: dict[tuple[str | None, Event], State] = {
    (None, Event.DISTRIBUTED): State.AWAITING,
    (State.AWAITING, Event.OBJECTED): State.REVISING,
    (State.REVISING, Event.OBJECTED): State.REVISING,
    (State.NEEDS_FIX, Event.OBJECTED): State.NEEDS_FIX,
    (State.AWAITING, Event.REVISED): State.AWAITING,
    (State.REVISING, Event.REVISED): State.AWAITING,
    (State.NEEDS_FIX, Event.REVISED): State.AWAITING,
    (State.CONFIRMED, Event.REVISED): State.AWAITING,
    (State.AWAITING, Event.REVISION_INVALID): State.NEEDS_FIX,
    (State.REVISING, Event.REVISION_INVALID): State.NEEDS_FIX,
    (State.NEEDS_FIX, Event.REVISION_INVALID): State.NEEDS_FIX,
    (State.AWAITING, Event.ALL_CONFIRMED): State.CONFIRMED,
    (State.AWAITING, Event.WINDOW_CLOSED_CONSENT): State.CONFIRMED,
    (State.REVISING, Event.KEPT): State.AWAITING,
    (State.NEEDS_FIX, Event.KEPT): State.AWAITING,
    (State.REVISING, Event.WITHDRAWN): State.AWAITING,
    (State.AWAITING, Event.SIGNED_OFF): State.CONFIRMED,
}


class TransitionRefused(Exception):
    pass


def transition(
    record: Doc, event: Event, now: datetime, by: str, message_id: str = "", note: str = ""
) -> None:
    current = record.get("state")
    target = TRANSITIONS.get((current, event))
    if target is None:
        raise TransitionRefused(f"{record.get('record', '?')}: no transition from {current} on {event}")
    record["state"] = target.value
    record.setdefault("history", []).append(
        {
            "at": now.isoformat(),
            "event": event.value,
            "from": current,
            "to": target.value,
            "by": by,
            "message_id": message_id,
            "version": record.get("version", 1),
            "note": note,
        }
    )


def next_record_number(txn: Transaction, prefix: str) -> str:
    counter = txn.get(COUNTERS, prefix) or {"last": 0}
    counter["last"] = int(counter["last"]) + 1
    txn.put(COUNTERS, prefix, counter)
    return f"{prefix}-{counter['last']:03d}"


def new_reply_key(txn: Transaction, record: str, address: str) -> str:
    while True:
        key = secrets.token_hex(5)
        if txn.get(REPLY_KEYS, key) is None:
            txn.put(REPLY_KEYS, key, {"record": record, "address": address.lower()})
            return key


def remember_thread(txn: Transaction, message_id: str, record: str, version: int) -> None:
    if message_id:
        txn.put(THREADS, message_id, {"record": record, "version": version})


def attendee(record: Doc, address: str) -> Doc | None:
    address = address.lower()
    return next((p for p in record["attendees"] if p["email"].lower() == address), None)


def response_of(record: Doc, person: Doc) -> Doc:
    """The person's answer to the current version, or {} if they have not answered."""
    return dict(record.get("responses", {}).get(person["email"].lower(), {}))


def silent(record: Doc) -> list[Doc]:
    return [p for p in record["attendees"] if not response_of(record, p)]


def answered(record: Doc, response: str) -> list[Doc]:
    return [p for p in record["attendees"] if response_of(record, p).get("response") == response]


def about(record: Doc) -> dict[str, Any]:
    """What every mail about a record says of it: number, name, version, recorder and host."""
    return {
        "record": record["record"],
        "name": record["name"],
        "version": record["version"],
        "recorder": record["recorder"]["name"],
        "host": record["host"]["name"],
    }


def silent_heads(record: Doc) -> list[Doc]:
    """Department heads among the attendees who have not answered this version."""
    heads = set(record.get("department_heads", []))
    return [p for p in silent(record) if p["email"].lower() in heads]


def objectors(record: Doc) -> list[Doc]:
    return answered(record, "objected")


def subject(record: Doc, zh: str, en: str, tail: str, lang: str = "") -> str:
    """ "[2024-OPS-001] 会议纪要已确认:Q3产品规划会": the record number first, for matching replies.
    `lang` is the reader's when it is not the record's (zh-TW is spelled zh, then converted)."""
    spelled = base_language(lang) if lang else record["language"]
    return f"[{record['record']}] {zh if spelled == 'zh' else en}:{tail}"


def reader_language(directory: Directory, record: Doc, address: str) -> str:
    """The language of a mail to one person about this record: theirs, else the record's."""
    return mail_language(directory.language_of(address), record["language"])


def list_json(store: Store) -> dict[str, Any]:
    """Every record, live ones from the store and archived ones from their summaries."""
    listed = [{"record": r["record"], "state": r["state"], "name": r["name"]} for r in store.each(RECORDS)]
    listed += [
        {"record": s["record"], "state": s["state"], "name": s["name"], "archived": period}
        for _, period, s in store.summaries(RECORDS)
    ]
    return {"records": sorted(listed, key=lambda r: r["record"])}


def spell_deadline(deadline: str, lang: str) -> str:
    when = datetime.fromisoformat(deadline)
    if lang == "zh":
        return f"{when.year}年{when.month}月{when.day}日(星期{WEEKDAYS_ZH[when.weekday()]}){when:%H:%M}"
    return f"{when:%A} {when.day} {when:%B %Y}, {when:%H:%M}"


# -- the reader's script ---------------------------------------------------------


def people_names(directory: Directory, record: Doc) -> tuple[str, ...]:
    """The names a Traditional mail keeps as written: the directory's and the record's people."""
    owners = [(i.get("owner") or {}).get("name", "") for i in record.get("minutes", {}).get("items", [])]
    people = [record["host"]["name"], record["recorder"]["name"], *(p["name"] for p in record["attendees"])]
    return (*directory.names, *dict.fromkeys(n for n in (*people, *owners) if n))


def _localised_text(data: bytes, lang: str, names: tuple[str, ...]) -> bytes:
    try:
        return localise(data.decode("utf-8"), lang, names).encode("utf-8")
    except UnicodeDecodeError:
        return data  # not ours to convert: left as it came


def for_readers(directory: Directory, record: Doc | None, mail: OutgoingMail) -> OutgoingMail:
    """A mail written in Chinese goes out in Traditional characters when its addressees read them
    (the directory's zh-TW), names kept as written. Returns the same mail, changed. A mail passes
    here once per place that queues it (notices.send, then the pipeline): one that carries its
    kept names was converted already."""
    if mail.lang == "zh" and mail.to and {directory.language_of(a) for a in mail.to} == {"zh-TW"}:
        mail.lang = "zh-TW"
    if mail.lang == "zh-TW" and VERBATIM not in mail.context:
        names = people_names(directory, record) if record else tuple(directory.names)
        mail.subject = localise(mail.subject, mail.lang, names)
        mail.context = {**mail.context, VERBATIM: names}
        # The calendar entry and the table beside the mail read as the mail does.
        mail.attachments = [
            (filename, kind, _localised_text(data, mail.lang, names) if kind.startswith("text/") else data)
            for filename, kind, data in mail.attachments
        ]
    return mail
