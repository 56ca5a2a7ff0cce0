"""Time-driven work: reminders before a confirmation deadline, closing the window, and (through
service.items.followup) everything that chases action items.

Every mail it queues has a key naming the record, version and purpose, so a tick that
runs twice (a restart, two passes in the same minute) queues nothing new.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from parsers.intent import Intent
from parsers.people import Directory
from service import archiving
from service.core.config import Rules
from service.core.store import Doc, Store
from service.items import followup, notices, quarterly
from service.mail.bounces import ADDRESSES
from service.mail.outbox import Outbox, OutgoingMail
from service.mail.render import base_language
from service.minutes import objections, records
from service.minutes.answers import queue_confirmed_notice
from service.minutes.records import Event, State, spell_deadline

log = logging.getLogger(__name__)
_IN_REVISION = (State.REVISING, State.NEEDS_FIX)


def tick(
    store: Store, outbox: Outbox, rules: Rules, now: datetime, directory: Directory | None = None
) -> int:
    """Queue what is due at `now`; the number of mails queued."""
    directory = directory or Directory()
    queued = 0
    failing = {d["key"] for d in store.find(ADDRESSES, lambda d: d.get("state") == "failing")}
    for record in store.query(records.RECORDS, "state", State.AWAITING.value):
        window = record.get("window", {})
        deadline = datetime.fromisoformat(window["deadline"])
        due_close = now >= deadline and not window.get("closed")
        due_reminder = now >= _reminder_time(deadline, rules) and not window.get("reminded")
        if not (due_close or due_reminder) or window.get("closed"):
            continue  # nothing due: the record stays as it is
        with store.transaction() as txn:
            mailer = notices.Mailer(
                txn, rules, outbox.address, outbox.domain, now, directory, secret=outbox.secret
            )
            if due_close:
                mailer.mails += [
                    records.for_readers(directory, record, m)
                    for m in _close(record, rules, now, directory, failing)
                ]
                if record["state"] == State.CONFIRMED:
                    notices.assign(mailer, record)
            else:
                mailer.mails += [
                    records.for_readers(directory, record, m)
                    for m in _reminders(record, "reminder", directory)
                ]
                window["reminded"] = True
            for mail in mailer.mails:
                queued += outbox.enqueue(txn, mail, now)
            txn.put(records.RECORDS, record["record"], record)
    queued += _revisions_due(store, outbox, now, directory)
    queued += followup.tick(store, outbox, rules, now, directory)
    queued += quarterly.tick(store, outbox, rules, now, directory)
    archiving.daily(store, rules, now)
    return queued


def _revisions_due(store: Store, outbox: Outbox, now: datetime, directory: Directory) -> int:
    """A record in revision past its revision deadline: the recorder reminded, the host told, once."""
    queued = 0
    for record in (r for s in _IN_REVISION for r in store.query(records.RECORDS, "state", s.value)):
        mails = objections.revision_due_mails(record, now, directory)
        if not mails:
            continue
        with store.transaction() as txn:
            for mail in mails:
                queued += outbox.enqueue(txn, records.for_readers(directory, record, mail), now)
            txn.put(records.RECORDS, record["record"], record)
    return queued


def _reminder_time(deadline: datetime, rules: Rules) -> datetime:
    return deadline - timedelta(hours=rules.confirmation.reminder_hours_before)


def _reminders(record: Doc, purpose: str, directory: Directory) -> list[OutgoingMail]:
    """One reminder to each silent attendee, in their language (the directory's, else the meeting's)."""
    mails = []
    for person in records.silent(record):
        lang = records.reader_language(directory, record, person["email"])
        spelled = base_language(lang)
        mails.append(
            OutgoingMail(
                key=f"{record['record']}:v{record['version']}:{purpose}:{person['email'].lower()}",
                to=[person["email"]],
                subject=records.subject(
                    record, "请确认会议纪要", "Please confirm the minutes", record["name"], lang
                ),
                template="reminder",
                lang=lang,
                context={
                    "greeting_name": person["name"],
                    "record": record["record"],
                    "name": record["name"],
                    "deadline": spell_deadline(record["window"]["deadline"], spelled),
                },
            )
        )
    return mails


def _close(
    record: Doc, rules: Rules, now: datetime, directory: Directory, failing: set[str] | None = None
) -> list[OutgoingMail]:
    window = record["window"]
    window["closed"] = True
    silent = records.silent(record)
    heads_silent = records.silent_heads(record) if rules.confirmation.head_signoff else []
    objected = any(r.get("response") == Intent.OBJECT for r in record.get("responses", {}).values())
    # Someone our mail never reached has not consented by staying silent.
    unreached = [p for p in silent if p["email"].lower() in (failing or set())]
    if (
        rules.confirmation.on_close == "silence_is_consent"
        and not heads_silent
        and not objected
        and not unreached
    ):
        records.transition(
            record, Event.WINDOW_CLOSED_CONSENT, now, "scheduler", note=f"{len(silent)} silent"
        )
        mails: list[OutgoingMail] = []
        queue_confirmed_notice(mails, record, now.astimezone(rules.tz).isoformat(), directory)
        log.info("%s: window closed, confirmed with %d silent", record["record"], len(silent))
        return mails
    record.setdefault("history", []).append(
        {
            "at": now.isoformat(),
            "event": "window_closed",
            "by": "scheduler",
            "version": record["version"],
            "note": f"{len(silent)} silent; host told",
        }
    )
    log.info(
        "%s: window closed with %d silent; reminding them and telling the host", record["record"], len(silent)
    )
    lang = records.reader_language(directory, record, record["host"]["email"])
    host_mail = OutgoingMail(
        key=f"{record['record']}:v{record['version']}:host-told",
        to=[record["host"]["email"]],
        subject=records.subject(record, "确认期限已到", "Confirmation window closed", record["name"], lang),
        template="host_told",
        lang=lang,
        context={
            "host": record["host"]["name"],
            "record": record["record"],
            "name": record["name"],
            "deadline": spell_deadline(window["deadline"], base_language(lang)),
            "silent": [p["name"] for p in silent],
        },
    )
    return [*_reminders(record, "overdue", directory), host_mail]


def next_due(store: Store, rules: Rules, now: datetime) -> datetime | None:
    """The soonest moment a tick has something to do, so the daemon wakes for it."""
    later = followup.next_due(store, rules, now)
    moments: list[datetime] = [later] if later else []
    if (review := quarterly.next_due(store, rules, now)) is not None:
        moments.append(review)
    for record in store.query(records.RECORDS, "state", State.AWAITING.value):
        window = record.get("window", {})
        if window.get("closed"):
            continue
        deadline = datetime.fromisoformat(window["deadline"])
        moments.append(deadline)
        if not window.get("reminded"):
            moments.append(_reminder_time(deadline, rules))
    for record in (r for s in _IN_REVISION for r in store.query(records.RECORDS, "state", s.value)):
        revision = record.get("revision")
        if revision and not revision.get("told"):
            moments.append(datetime.fromisoformat(revision["deadline"]))
    return min(moments) if moments else None
