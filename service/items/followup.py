"""Chasing action items: deadline reminders, overdue notices, escalation, digests, the weekly table.

Each occurrence has one moment and one outbox key that names it (item, deadline, which
reminder; or the week and the recipient). A tick sends only the latest occurrence that is
due and not yet queued, so a daemon that was down catches up once, and a restart or a
second tick sends nothing twice. A delay changes the deadline and so starts a new cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from parsers.people import Directory
from parsers.workdays import WorkCalendar
from service.core.calendar import work_calendar
from service.core.config import Rules
from service.core.store import Doc, Store
from service.items import notices, roles, state, tracker
from service.mail.outbox import TABLE as OUTBOX
from service.mail.outbox import Outbox, OutgoingMail
from service.minutes import records
from service.minutes.records import State

log = logging.getLogger(__name__)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _at(day: date, clock: str, rules: Rules) -> datetime:
    hours, minutes = (int(part) for part in clock.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=rules.tz)


def item_moments(item: Doc, rules: Rules, calendar: WorkCalendar) -> list[tuple[str, datetime]]:
    """(purpose, moment) for the item's current deadline: reminders, overdue, escalation."""
    due = state.due_date(item)
    if due is None:
        return []
    clock = rules.actions.reminder_time
    moments = [
        (f"remind{k}", _at(calendar.working_day_on_or_before(due, k), clock, rules))
        for k in sorted(set(rules.actions.reminder_working_days_before), reverse=True)
    ]
    if rules.actions.overdue_notice:
        moments.append(("overdue", _at(calendar.working_day_after(due, 1), clock, rules)))
    escalate = rules.actions.escalate_after_working_days
    moments.append(("escalate", _at(calendar.working_day_after(due, escalate + 1), clock, rules)))
    return moments


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
    return [(p, f"{item['id']}:due{item['due']}:{p}") for p in found]


def tick(store: Store, outbox: Outbox, rules: Rules, now: datetime, directory: Directory) -> int:
    calendar = work_calendar(rules.calendar)
    confirmed = {
        r["record"]: r for r in store.find(records.RECORDS, lambda d: d.get("state") == State.CONFIRMED)
    }
    queued = 0
    pending: dict[str, list[tuple[Doc, str, str]]] = {}
    for item in store.find(state.ITEMS, lambda d: d["status"] in state.OPEN and bool(d.get("assigned_at"))):
        if item["record"] not in confirmed:
            continue
        for purpose, key in _due_item_mails(item, rules, calendar, now):
            if store.get(OUTBOX, key) is None:
                pending.setdefault(item["record"], []).append((item, purpose, key))
    for number, due in pending.items():
        with store.transaction() as txn:
            record = txn.get(records.RECORDS, number)
            assert record is not None
            mailer = notices.Mailer(txn, rules, outbox.address, outbox.domain, now, directory)
            for item, purpose, key in due:
                _item_mail(mailer, record, item, purpose, key, calendar)
            txn.put(records.RECORDS, number, record)
            queued += sum(outbox.enqueue(txn, mail, now) for mail in mailer.mails)
    queued += _digests(store, outbox, rules, now, directory, confirmed, calendar)
    queued += _weekly(store, outbox, rules, now, directory)
    return queued


def _item_mail(
    mailer: notices.Mailer, record: Doc, item: Doc, purpose: str, key: str, calendar: WorkCalendar
) -> None:
    owner = item["owner"]
    lang = record["language"]
    due = state.due_date(item)
    assert due is not None
    context: dict[str, Any] = {
        "record": record["record"],
        "name": record["name"],
        "item": notices.item_row(item, lang),
        "purpose": purpose,
        "greeting_name": owner["name"],
        "days_left": calendar.working_days_between(mailer.now.astimezone(mailer.rules.tz).date(), due),
        "days_over": calendar.working_days_between(due, mailer.now.astimezone(mailer.rules.tz).date()),
        "first": item["no"],
        "evidence_required": mailer.rules.actions.evidence.required,
    }
    tracker_person = roles.tracker_of(record, mailer.rules)
    if purpose == "escalate":
        head = roles.head_of(mailer.directory, roles.department_of(item, mailer.directory))
        outsider = (
            head is not None
            and record.get("confidential")
            and records.attendee(record, head["email"]) is None
        )
        if head is None or roles.same(head, owner["email"]) or outsider:
            head = tracker_person
        cc = [p["email"] for p in (owner, tracker_person) if not roles.same(head, p["email"])]
        context["greeting_name"] = head["name"]
        mail = OutgoingMail(
            key=key,
            to=[head["email"]],
            cc=list(dict.fromkeys(cc)),
            subject=notices.item_subject(record, item, "逾期升级", "Overdue, escalated"),
            template="item_chase",
            lang=lang,
            context=context,
        )
        notices.send(mailer, record, mail, bound_to=head["email"])
        return
    zh_label, en_label = (
        ("行动项逾期", "Overdue action item")
        if purpose == "overdue"
        else ("行动项提醒", "Action item reminder")
    )
    mail = OutgoingMail(
        key=key,
        to=[owner["email"]],
        subject=f"{notices.item_subject(record, item, zh_label, en_label)}"
        + (f"(截止 {item['due']})" if lang == "zh" else f" (due {item['due']})"),
        template="item_chase",
        lang=lang,
        context=context,
    )
    notices.send(mailer, record, mail, bound_to=owner["email"])


def assigned_by(item: Doc, moment: datetime) -> bool:
    return bool(item.get("assigned_at")) and datetime.fromisoformat(item["assigned_at"]) <= moment


# -- daily digest of important meetings --------------------------------------


def is_important(record: Doc, rules: Rules) -> bool:
    text = f"{record['name']}\n{record['minutes'].get('meeting', {}).get('name', '')}".lower()
    return bool(record.get("important")) or any(
        m.lower() in text for m in rules.actions.important_markers if m
    )


def _digests(
    store: Store,
    outbox: Outbox,
    rules: Rules,
    now: datetime,
    directory: Directory,
    confirmed: dict[str, Doc],
    calendar: WorkCalendar,
) -> int:
    today = now.astimezone(rules.tz).date()
    day = calendar.working_day_on_or_before(today)
    if _at(day, rules.actions.daily_digest_time, rules) > now:
        day = calendar.working_day_on_or_before(day - timedelta(days=1))
    moment = _at(day, rules.actions.daily_digest_time, rules)
    queued = 0
    for record in confirmed.values():
        key = f"{record['record']}:digest:{day.isoformat()}"
        if not is_important(record, rules) or store.get(OUTBOX, key) is not None:
            continue
        tracked = [i for i in state.of_record(store, record) if assigned_by(i, moment)]
        open_items = [i for i in tracked if i["status"] in (*state.OPEN, state.Status.PENDING)]
        if not open_items:
            continue
        lang = record["language"]
        person = roles.tracker_of(record, rules)
        rows = [tracker.row(i, lang, directory) for i in open_items]
        with store.transaction() as txn:
            mailer = notices.Mailer(txn, rules, outbox.address, outbox.domain, now, directory)
            notices.send(
                mailer,
                record,
                OutgoingMail(
                    key=key,
                    to=[person["email"]],
                    subject=records.subject(
                        record, f"重要会议行动项日报 {day}", f"Daily items {day}", record["name"]
                    ),
                    template="digest",
                    lang=lang,
                    context={
                        "greeting_name": person["name"],
                        "record": record["record"],
                        "name": record["name"],
                        "day": day.isoformat(),
                        "headers": tracker.HEADERS[lang],
                        "columns": tracker.COLUMNS,
                        "rows": rows,
                        "rate": tracker.on_time_rate(tracked, today).spelled(),
                    },
                ),
                bound_to=person["email"],
            )
            txn.put(records.RECORDS, record["record"], record)
            queued += sum(outbox.enqueue(txn, mail, now) for mail in mailer.mails)
    return queued


# -- the weekly table --------------------------------------------------------


def last_weekly_moment(rules: Rules, now: datetime) -> datetime:
    weekly = rules.actions.weekly
    today = now.astimezone(rules.tz).date()
    day = today - timedelta(days=(today.weekday() - WEEKDAYS.index(weekly.weekday)) % 7)
    moment = _at(day, weekly.time, rules)
    return moment if moment <= now else moment - timedelta(days=7)


def weekly_recipients(
    all_items: list[Doc], record_docs: dict[str, Doc], rules: Rules, directory: Directory
) -> Iterator[tuple[Doc, list[Doc]]]:
    """Each person and the rows they get: their meetings' as tracker, their department's as head, their own."""
    people: dict[str, Doc] = {}
    rows: dict[str, dict[str, Doc]] = {}

    def give(person: Doc | None, item: Doc) -> None:
        if not person or not person.get("email"):
            return
        record = record_docs[item["record"]]
        if record.get("confidential") and records.attendee(record, person["email"]) is None:
            return  # a confidential meeting's items reach only its attendees
        address = person["email"].lower()
        people.setdefault(address, person)
        rows.setdefault(address, {})[item["id"]] = item

    for item in all_items:
        record = record_docs.get(item["record"])
        if record is None:
            continue
        give(roles.tracker_of(record, rules), item)
        give(roles.head_of(directory, roles.department_of(item, directory)), item)
        give(item["owner"], item)
    for address, person in sorted(people.items()):
        yield person, sorted(rows[address].values(), key=lambda i: (i["record"], i["no"]))


def _weekly(store: Store, outbox: Outbox, rules: Rules, now: datetime, directory: Directory) -> int:
    moment = last_weekly_moment(rules, now)
    week = moment.date()
    keep_since = moment - timedelta(days=rules.actions.weekly.keep_closed_days)
    record_docs = {r["record"]: r for r in store.all(records.RECORDS)}

    def shown(item: Doc) -> bool:
        if not assigned_by(item, moment):
            return False
        if item["status"] not in state.CLOSED:
            return True
        closed_at = item["history"][-1]["at"] if item.get("history") else item["assigned_at"]
        return datetime.fromisoformat(closed_at) >= keep_since

    chosen = [i for i in state.all_items(store) if shown(i)]
    queued = 0
    today = now.astimezone(rules.tz).date()
    mails = []
    for person, owned in weekly_recipients(chosen, record_docs, rules, directory):
        key = f"weekly:{week.isoformat()}:{person['email'].lower()}"
        if store.get(OUTBOX, key) is not None:
            continue
        languages = {record_docs[i["record"]]["language"] for i in owned}
        lang = "en" if languages == {"en"} else "zh"
        rows = [tracker.row(i, lang, directory) for i in owned]
        rate = tracker.on_time_rate(owned, today)
        title = f"行动项周报 {week}" if lang == "zh" else f"Action items, week of {week}"
        mails.append(
            OutgoingMail(
                key=key,
                to=[person["email"]],
                subject=title,
                template="weekly",
                lang=lang,
                context={
                    "greeting_name": person["name"],
                    "week": week.isoformat(),
                    "headers": tracker.HEADERS[lang],
                    "columns": tracker.COLUMNS,
                    "rows": rows,
                    "rate": rate.spelled(),
                    "counts": _counts(owned, lang),
                },
                attachments=[
                    (f"action-items-{week}.xlsx", XLSX, tracker.as_xlsx(rows, lang, rate, title)),
                    (f"action-items-{week}.csv", "text/csv", tracker.as_csv(rows, lang)),
                ],
            )
        )
    if mails:
        with store.transaction() as txn:
            queued += sum(outbox.enqueue(txn, mail, now) for mail in mails)
        log.info("weekly tracker of %s: %d mail(s)", week, queued)
    return queued


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _counts(owned: list[Doc], lang: str) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for item in owned:
        label = tracker.STATUS_LABELS[lang][item["status"]]
        counts[label] = counts.get(label, 0) + 1
    return sorted(counts.items())


def next_due(store: Store, rules: Rules, now: datetime) -> datetime | None:
    """The next moment any item, digest or weekly table falls due, so the daemon wakes for it."""
    calendar = work_calendar(rules.calendar)
    moments = [last_weekly_moment(rules, now) + timedelta(days=7)]
    for item in store.find(state.ITEMS, lambda d: d["status"] in state.OPEN and bool(d.get("assigned_at"))):
        moments += [m for _, m in item_moments(item, rules, calendar) if m > now]
    tomorrow = calendar.working_day_after(now.astimezone(rules.tz).date(), 1)
    moments.append(_at(tomorrow, rules.actions.daily_digest_time, rules))
    return min(moments)
