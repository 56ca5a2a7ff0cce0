"""Chasing action items: deadline reminders, overdue notices, escalation, digests, the weekly table.

Each occurrence has one moment and one outbox key that names it (item, deadline, which
reminder; or the week and the recipient). A tick sends only the latest occurrence that is
due and not yet queued, so a daemon that was down catches up once, and a restart or a
second tick sends nothing twice. A delay changes the deadline and so starts a new cycle.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, tzinfo
from typing import Any

from parsers.people import Directory
from parsers.workdays import WorkCalendar
from service.core.calendar import work_calendar
from service.core.config import Rules
from service.core.store import Doc, Store
from service.items import notices, roles, state, weekly
from service.items.agenda import agenda
from service.items.moments import at, item_moments, next_weekly_moment
from service.items.tracker import STATUS_LABELS
from service.mail.outbox import Outbox, OutgoingMail
from service.mail.render import base_language
from service.minutes import records

log = logging.getLogger(__name__)


def _due_item_mails(item: Doc, rules: Rules, calendar: WorkCalendar, now: datetime) -> list[tuple[str, str]]:
    """(purpose, key) of what is due for this item now: the latest reminder, overdue, escalation."""
    due = state.due_date(item)
    if due is None:
        return []
    assigned = datetime.fromisoformat(item.get("assigned_at") or item["created_at"])
    passed = [(p, m) for p, m in item_moments(item, rules, calendar) if assigned <= m <= now]
    found = []
    reminders = [(p, m) for p, m in passed if p.startswith("remind")]
    # The overdue notice falls after the deadline's day, so past that day no reminder is due.
    if reminders and now.astimezone(rules.tz).date() <= due:
        found.append(max(reminders, key=lambda pm: pm[1])[0])
    found += [p for p, _ in passed if p in ("overdue", "escalate")]
    if item.get("status") == state.Status.BLOCKED:
        # Blocked waits on someone else's support, not on its owner: no reminders or overdue
        # notices to the owner; the escalation still reaches the head, saying what it waits for.
        found = [p for p in found if p == "escalate"]
    return [(p, f"{item['id']}:due{item['due']}:{p}") for p in found]


def tick(store: Store, outbox: Outbox, rules: Rules, now: datetime, directory: Directory) -> int:
    calendar = work_calendar(rules.calendar)
    coming = agenda(store, rules)
    queued = 0
    pending: dict[str, list[tuple[Doc, str, str]]] = {}
    for item in coming.chased():
        for purpose, key in _due_item_mails(item, rules, calendar, now):
            if not coming.queued(store, key):
                pending.setdefault(item["record"], []).append(
                    (store.get(state.ITEMS, item["key"]) or item, purpose, key)
                )
    for number, due in pending.items():
        with store.transaction() as txn:
            record = txn.get(records.RECORDS, number)
            assert record is not None
            mailer = notices.Mailer(
                txn, rules, outbox.address, outbox.domain, now, directory, secret=outbox.secret
            )
            for item, purpose, key in due:
                _item_mail(mailer, record, item, purpose, key, calendar)
            txn.put(records.RECORDS, number, record)
            queued += sum(outbox.enqueue(txn, mail, now) for mail in mailer.mails)
    important = {
        number: record
        for number in coming.unfinished_records(important=True)
        if (record := store.get(records.RECORDS, number)) is not None
    }
    queued += weekly.digests(store, outbox, rules, now, directory, important, calendar)
    queued += weekly.weekly(store, outbox, rules, now, directory)
    return queued


def _item_mail(
    mailer: notices.Mailer, record: Doc, item: Doc, purpose: str, key: str, calendar: WorkCalendar
) -> None:
    owner = item["owner"]
    tracker_person = roles.tracker_of(record, mailer.rules)
    reader = owner if purpose != "escalate" else _escalated_to(mailer, record, item, tracker_person)
    lang = notices.language_for(mailer.directory, record, [reader])  # the reader's, else the meeting's
    spelled = base_language(lang)
    today = mailer.now.astimezone(mailer.rules.tz).date()
    due = state.due_date(item)
    assert due is not None
    context: dict[str, Any] = {
        "record": record["record"],
        "name": record["name"],
        "item": notices.item_row(item, spelled),
        "purpose": purpose,
        "greeting_name": reader["name"],
        "days_left": calendar.working_days_between(today, due),
        "days_over": calendar.working_days_between(due, today),
        "first": item["no"],
        "evidence_required": mailer.rules.actions.evidence.required,
        # A deadline on a weekend or holiday: the last reminder comes on the working day
        # before it, and says so rather than "today".
        "due_is_today": due == today,
        "status_words": STATUS_LABELS[spelled].get(item["status"], item["status"]),
        "history": _history_lines(item, spelled, mailer.rules.tz),
        "blocked": item.get("blocked") if item["status"] == state.Status.BLOCKED else None,
        "host": record["host"]["name"],
    }
    if purpose == "escalate":
        cc = [p["email"] for p in (owner, tracker_person) if not roles.same(reader, p["email"])]
        subject = notices.item_subject(record, item, "逾期升级", "Overdue, escalated", lang)
    else:
        cc = []
        zh_label, en_label = (
            ("行动项逾期", "Overdue action item")
            if purpose == "overdue"
            else ("行动项提醒", "Action item reminder")
        )
        subject = notices.item_subject(record, item, zh_label, en_label, lang) + (
            f"(截止 {item['due']})" if spelled == "zh" else f" (due {item['due']})"
        )
    mail = OutgoingMail(
        key=key,
        to=[reader["email"]],
        cc=list(dict.fromkeys(cc)),
        subject=subject,
        template="item_chase",
        lang=lang,
        context=context,
    )
    notices.send(mailer, record, mail, bound_to=reader["email"])


def _escalated_to(mailer: notices.Mailer, record: Doc, item: Doc, tracker: Doc) -> Doc:
    """The owner's department head; the tracker when the head is the owner, unknown, or was not
    at a confidential meeting."""
    head = roles.head_of(mailer.directory, roles.department_of(item, mailer.directory))
    outsider = (
        head is not None and record.get("confidential") and records.attendee(record, head["email"]) is None
    )
    if head is None or roles.same(head, item["owner"]["email"]) or outsider:
        return tracker
    return head


_EVENT_WORDS = {
    "progress": ("进度更新", "progress"),
    "done": ("完成", "done"),
    "submitted": ("报告完成", "reported done"),
    "verified": ("核实通过", "verified"),
    "rejected": ("退回", "sent back"),
    "blocked": ("受阻", "blocked"),
    "cancelled": ("取消", "cancelled"),
    "reassigned": ("转交", "reassigned"),
    "rescheduled": ("调整截止", "deadline changed"),
    "added": ("新增", "added"),
}


def _history_lines(item: Doc, lang: str, tz: tzinfo) -> list[str]:
    """What happened to the item, oldest first, in a few words a line: for the head it reaches.
    A line starts with its day in the rules' time zone, with the weekday: the audit keeps UTC
    instants, and 07:30 in Shanghai is still the day before in UTC."""
    lines: list[tuple[str, str]] = []  # (the UTC instant, the line)

    def told(at: str, words: str) -> None:
        moment = datetime.fromisoformat(at).astimezone(UTC) if at else None
        day = notices.spell_day(moment.astimezone(tz).date(), lang) if moment else ""
        lines.append((moment.isoformat() if moment else "", f"{day} {words}".strip()))

    for entry in item.get("history", [])[-6:]:
        if entry.get("event") == "delayed":
            continue  # told below with its dates
        note = f" {entry['note']}" if entry.get("note") else ""
        words = STATUS_LABELS["zh" if lang == "zh" else "en"].get(entry.get("to", ""), entry.get("to", ""))
        event = _EVENT_WORDS.get(entry.get("event", ""), (entry.get("event", ""),) * 2)
        told(entry.get("at", ""), f"{event[0] if lang == 'zh' else event[1]} → {words}{note}")
    for delay in item.get("delays", [])[-3:]:
        told(
            delay.get("at", ""),
            f"{'延期' if lang == 'zh' else 'delay'} {delay.get('from')} → {delay.get('to')}"
            f"{(' ' + delay['reason']) if delay.get('reason') else ''}",
        )
    return [line for _, line in sorted(lines)]


# -- daily digest of important meetings --------------------------------------


# -- the weekly table --------------------------------------------------------


def next_due(store: Store, rules: Rules, now: datetime) -> datetime | None:
    """The next moment any item, digest or weekly table falls due, so the daemon wakes for it."""
    calendar = work_calendar(rules.calendar)
    moments = [next_weekly_moment(rules, now, calendar)]
    if (soonest := agenda(store, rules).next_moment(now)) is not None:
        moments.append(soonest)
    tomorrow = calendar.working_day_after(now.astimezone(rules.tz).date(), 1)
    moments.append(at(tomorrow, rules.actions.daily_digest_time, rules))
    return min(moments)
