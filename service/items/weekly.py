"""The tables people receive: the daily digest of important meetings and the weekly tracker."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from parsers.people import Directory
from parsers.workdays import WorkCalendar
from service.core.calendar import work_calendar
from service.core.config import Rules
from service.core.store import Doc, Store
from service.items import notices, roles, state, tracker
from service.items.moments import assigned_by, at, last_weekly_moment
from service.items.state import Status
from service.mail.outbox import TABLE as OUTBOX
from service.mail.outbox import Outbox, OutgoingMail
from service.mail.render import VERBATIM, base_language, localise, mail_language
from service.minutes import records

log = logging.getLogger(__name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


WEEKS = "weekly_tables"  # a week whose tables are queued


def is_important(record: Doc, rules: Rules) -> bool:
    text = f"{record['name']}\n{record['minutes'].get('meeting', {}).get('name', '')}".lower()
    return bool(record.get("important")) or any(
        m.lower() in text for m in rules.actions.important_markers if m
    )


def digests(
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
    if at(day, rules.actions.daily_digest_time, rules) > now:
        day = calendar.working_day_on_or_before(day - timedelta(days=1))
    moment = at(day, rules.actions.daily_digest_time, rules)
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
        groups = grouped(open_items, rows, {record["record"]: record}, lang, today, calendar)
        with store.transaction() as txn:
            mailer = notices.Mailer(
                txn, rules, outbox.address, outbox.domain, now, directory, secret=outbox.secret
            )
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
                        "groups": groups,
                        "flags": flagged(groups, lang),
                        "rate": tracker.on_time_rate(tracked, today).spelled(),
                    },
                ),
                bound_to=person["email"],
            )
            txn.put(records.RECORDS, record["record"], record)
            queued += sum(outbox.enqueue(txn, mail, now) for mail in mailer.mails)
    return queued


def weekly_recipients(
    all_items: list[Doc],
    record_docs: dict[str, Doc],
    rules: Rules,
    directory: Directory,
    muted: frozenset[str] = frozenset(),
) -> Iterator[tuple[Doc, list[Doc]]]:
    """Each person and the rows they get: their meetings' as tracker, their department's as head, their own."""
    people: dict[str, Doc] = {}
    rows: dict[str, dict[str, Doc]] = {}

    def give(person: Doc | None, item: Doc, as_head: bool = False) -> None:
        if as_head and person and str(person.get("email", "")).lower() in muted:
            return  # a head who wrote 退订
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
        give(roles.head_of(directory, roles.department_of(item, directory)), item, as_head=True)
        give(item["owner"], item)
    for address, person in sorted(people.items()):
        yield person, sorted(rows[address].values(), key=lambda i: (i["record"], i["no"]))


def weekly(store: Store, outbox: Outbox, rules: Rules, now: datetime, directory: Directory) -> int:
    moment = last_weekly_moment(rules, now, work_calendar(rules.calendar))
    week = moment.date()
    keep_since = moment - timedelta(days=rules.actions.weekly.keep_closed_days)
    if store.get(WEEKS, week.isoformat()) is not None:
        return 0  # this week's tables are queued: no wake-up reads the items again until the next

    def shown(item: Doc) -> bool:
        if not assigned_by(item, moment):
            return False
        if item["status"] not in state.CLOSED:
            return True
        closed_at = item["history"][-1]["at"] if item.get("history") else item["assigned_at"]
        return datetime.fromisoformat(closed_at) >= keep_since

    chosen = [i for i in state.all_items(store) if shown(i)]
    record_docs = {
        number: record
        for number in sorted({i["record"] for i in chosen})
        if (record := store.get(records.RECORDS, number)) is not None
    }
    queued = 0
    today = now.astimezone(rules.tz).date()
    calendar = work_calendar(rules.calendar)
    mails = []
    muted = frozenset(d["key"] for d in store.all("muted"))
    for person, owned in weekly_recipients(chosen, record_docs, rules, directory, muted):
        key = f"weekly:{week.isoformat()}:{person['email'].lower()}"
        if store.get(OUTBOX, key) is not None:
            continue
        languages = {record_docs[i["record"]]["language"] for i in owned}
        reads = mail_language(directory.language_of(person["email"]), "en" if languages == {"en"} else "zh")
        lang = base_language(reads)  # the table is spelled zh or en; zh-TW converts it when rendered
        rows = [tracker.row(i, lang, directory) for i in owned]
        rate = tracker.on_time_rate(owned, today)
        groups = grouped(owned, rows, record_docs, lang, today, calendar)
        title = f"行动项周报 {week}" if lang == "zh" else f"Action items, week of {week}"
        mails.append(
            OutgoingMail(
                key=key,
                to=[person["email"]],
                subject=localise(title, reads, tuple(directory.names)),
                template="weekly",
                lang=reads,
                context={
                    "greeting_name": person["name"],
                    "week": week.isoformat(),
                    "headers": tracker.HEADERS[lang],
                    "columns": tracker.COLUMNS,
                    "groups": groups,
                    "flags": flagged(groups, lang),
                    "rate": rate.spelled(),
                    "counts": _counts(owned, lang),
                    VERBATIM: tuple(directory.names),
                },
                attachments=[
                    (f"action-items-{week}.xlsx", XLSX, tracker.as_xlsx(rows, lang, rate, title)),
                    (f"action-items-{week}.csv", "text/csv", tracker.as_csv(rows, lang)),
                ],
            )
        )
    with store.transaction() as txn:
        queued += sum(outbox.enqueue(txn, mail, now) for mail in mails)
        txn.put(WEEKS, week.isoformat(), {"queued": queued, "at": now.isoformat()})
    if mails:
        log.info("weekly tracker of %s: %d mail(s)", week, queued)
    return queued


def _counts(owned: list[Doc], lang: str) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for item in owned:
        label = tracker.STATUS_LABELS[lang][item["status"]]
        counts[label] = counts.get(label, 0) + 1
    return sorted(counts.items())


# -- marks: what a row needs someone to look at ----------------------------------
#
# A mark is a word and what it is about, kept in the cell text (so it survives plain text,
# printing and colour blindness); the templates colour the row by the first mark's kind.

MARK_ORDER = ("overdue", "blocked", "delayed")  # the row's colour is the first that applies
MARK_WORDS = {
    "zh": {"overdue": "逾期", "delayed": "已延期", "blocked": "受阻"},
    "en": {"overdue": "Overdue", "delayed": "Delayed", "blocked": "Blocked"},
}


def days_overdue(item: Doc, today: date, calendar: WorkCalendar) -> int:
    """Working days past the current deadline of an open item, counted as the escalation counts them."""
    due = state.due_date(item)
    if due is None or not state.is_open(item):
        return 0
    return calendar.working_days_between(due, today)


def marks(item: Doc, lang: str, today: date, calendar: WorkCalendar) -> list[dict[str, str]]:
    """The marks of one row, most urgent first: overdue (with the working days), blocked (with the
    support asked), delayed (with how many times). Closed, waiting and on-time items carry none."""
    zh = lang == "zh"
    words = MARK_WORDS["zh" if zh else "en"]
    found: dict[str, str] = {}
    if (over := days_overdue(item, today, calendar)) > 0:
        found["overdue"] = (
            f"已逾期 {over} 个工作日" if zh else f"{over} working day{'s' if over != 1 else ''} overdue"
        )
    if item["status"] == Status.BLOCKED:
        blocked = item.get("blocked") or {}
        support, reason = blocked.get("support", ""), blocked.get("reason", "")
        if support:
            found["blocked"] = f"需:{support}" if zh else f"needs: {support}"
        elif reason:
            found["blocked"] = f"原因:{reason}" if zh else f"because: {reason}"
        else:
            found["blocked"] = "未写明需要的支持" if zh else "no support named"
    delays = len(item.get("delays", []))
    if state.is_open(item) and (delays or item["status"] == Status.DELAYED):
        found["delayed"] = (
            f"延期 {delays} 次,现截止 {item['due']}"
            if zh
            else f"{delays} delay{'s' if delays != 1 else ''}, now due {item['due']}"
        )
    return [
        {"kind": kind, "word": words[kind], "detail": found[kind]} for kind in MARK_ORDER if kind in found
    ]


def grouped(
    items: list[Doc],
    rows: list[dict[str, str]],
    record_docs: dict[str, Doc],
    lang: str,
    today: date,
    calendar: WorkCalendar,
) -> list[dict[str, Any]]:
    """The rows under their meeting (record number, name, date), meetings in record order."""
    groups: dict[str, dict[str, Any]] = {}
    for item, row in zip(items, rows, strict=True):
        number = item["record"]
        group = groups.get(number)
        if group is None:
            record = record_docs.get(number) or {}
            meeting = (record.get("minutes") or {}).get("meeting") or {}
            group = groups[number] = {
                "record": number,
                "name": record.get("name") or meeting.get("name") or "",
                "date": meeting.get("date") or "",
                "rows": [],
            }
        found = marks(item, lang, today, calendar)
        group["rows"].append({**row, "marks": found, "tone": found[0]["kind"] if found else ""})
    return [groups[number] for number in sorted(groups)]


def flagged(groups: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """How many rows carry each mark, for the line above the table (marks nobody has are left out)."""
    counts = dict.fromkeys(MARK_ORDER, 0)
    for group in groups:
        for row in group["rows"]:
            for mark in row["marks"]:
                counts[mark["kind"]] += 1
    words = MARK_WORDS["zh" if lang == "zh" else "en"]
    return [{"kind": kind, "word": words[kind], "count": n} for kind, n in counts.items() if n]
