"""Mail about action items: assignments (with an .ics), and what owners, trackers and heads are told.

Every mail names its item or record in the subject (`[2024-OPS-001#2] …`) and carries a reply
address bound to its recipient, so an answer finds its way back whatever the client does to
the thread. Keys name the cause, so queuing the same notice twice sends it once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from icalendar import Calendar, Event

from parsers.message import Attachment
from parsers.people import Directory
from service.context import Context
from service.core.config import Rules
from service.core.store import Doc, Transaction
from service.items import roles, state
from service.mail.outbox import OutgoingMail, message_id_for
from service.mail.render import base_language
from service.minutes import records
from service.minutes.records import for_readers

WEEKDAYS_ZH = "一二三四五六日"
MAX_FORWARDED_EVIDENCE = 10 * 1024 * 1024


@dataclass
class Mailer:
    """Where notices go: the open transaction (reply keys, threads) and the list of mails."""

    txn: Transaction
    rules: Rules
    address: str
    domain: str
    now: datetime
    directory: Directory
    mails: list[OutgoingMail] = field(default_factory=list)
    secret: bytes = b""  # the outbox's key for Message-IDs


def mailer_of(ctx: Context) -> Mailer:
    return Mailer(
        ctx.txn,
        ctx.rules,
        ctx.settings.address,
        ctx.outbox.domain,
        ctx.now,
        ctx.directory,
        ctx.replies,
        ctx.outbox.secret,
    )


def spell_day(day: date, lang: str) -> str:
    if lang == "zh":
        return f"{day.year}年{day.month}月{day.day}日(星期{WEEKDAYS_ZH[day.weekday()]})"
    return f"{day:%A} {day.day} {day:%B %Y}"


def item_subject(record: Doc, item: Doc, zh: str, en: str, lang: str = "") -> str:
    spelled = base_language(lang or record["language"])
    label = zh if spelled == "zh" else en
    return f"[{item['id']}] {label}{':' if spelled == 'zh' else ': '}{item['title']}"


def language_for(directory: Directory, record: Doc, people: list[Doc]) -> str:
    """The language of a mail to `people`: theirs from the directory (someone without one reads
    the record's) when they all read the same, else the record's. Copied people do not choose."""
    chosen = {records.reader_language(directory, record, p["email"]) for p in people}
    return chosen.pop() if len(chosen) == 1 else str(record["language"])


def reply_to(mailer: Mailer, record: Doc, address: str) -> str:
    """The plus address bound to `address` for this record (made once, kept on the record)."""
    address = address.lower()
    key = record.setdefault("reply_keys", {}).get(address)
    if key is None:
        key = records.new_reply_key(mailer.txn, record["record"], address)
        record["reply_keys"][address] = key
    local = mailer.address.partition("@")[0]
    return f"{local}+{key}@{mailer.domain}"


def send(mailer: Mailer, record: Doc, mail: OutgoingMail, bound_to: str = "") -> None:
    """Queue `mail`, remember its Message-ID as a thread of the record, bind its reply address.
    A mail written in Chinese goes out in Traditional characters when its addressees read them
    (the directory's zh-TW): reminders and escalations are written in the record's language."""
    for_readers(mailer.directory, record, mail)
    if bound_to:
        mail.reply_to = reply_to(mailer, record, bound_to)
    mailer.mails.append(mail)
    records.remember_thread(
        mailer.txn,
        message_id_for(mail.key, mailer.domain, mailer.secret),
        record["record"],
        record["version"],
    )


def item_row(item: Doc, lang: str) -> dict[str, Any]:
    due = state.due_date(item)
    return {
        "id": item["id"],
        "title": item["title"],
        "owner": item["owner"]["name"],
        "department": item["department"],
        "due": item["due"] or "",
        "due_spelled": spell_day(due, lang) if due else "",
        "planned": item.get("planned") or "",
        "criterion": item.get("criterion", ""),
        "support": item.get("support", ""),
        "status": item["status"],
        "percent": item.get("percent"),
    }


# -- assignment --------------------------------------------------------------


def assign(mailer: Mailer, record: Doc) -> int:
    """One mail per owner with their items of this meeting; the number of owners told."""
    tracked = state.sync_from_minutes(mailer.txn, record, mailer.now)
    by_owner: dict[str, list[Doc]] = {}
    for item in tracked:
        if state.is_open(item):
            by_owner.setdefault(item["owner"]["email"].lower(), []).append(item)
    tracker = roles.tracker_of(record, mailer.rules)
    for address, owned in by_owner.items():
        for item in owned:
            item.setdefault("assigned_at", mailer.now.isoformat())
            state.save(mailer.txn, item)
        attachments = []
        if mailer.rules.actions.calendar_attachment:
            attachments.append(
                ("deadlines.ics", "text/calendar", calendar_file(record, owned, mailer.domain))
            )
        lang = language_for(mailer.directory, record, [owned[0]["owner"]])  # the owner's
        spelled = base_language(lang)
        zh = spelled == "zh"
        send(
            mailer,
            record,
            OutgoingMail(
                key=f"{record['record']}:v{record['version']}:assign:{address}",
                to=[owned[0]["owner"]["email"]],
                subject=records.subject(record, "您的行动项", "Your action items", record["name"], lang),
                template="assignment",
                lang=lang,
                context={
                    "greeting_name": owned[0]["owner"]["name"],
                    "record": record["record"],
                    "name": record["name"],
                    "tracker": tracker["name"],
                    "items": [item_row(i, spelled) for i in owned],
                    "verification": mailer.rules.actions.verification,
                    "evidence_required": mailer.rules.actions.evidence.required,
                    "first": owned[0]["no"],
                    "zh": zh,
                    "late": [i["id"] for i in owned if _late(i, mailer)],
                },
                attachments=attachments,
            ),
            bound_to=address,
        )
    _tell_tracker_of_late(
        mailer, record, [i for owned in by_owner.values() for i in owned if _late(i, mailer)]
    )
    return len(by_owner)


def _late(item: Doc, mailer: Mailer) -> bool:
    """Already past its deadline when it is assigned (the window ran past it, or a late draft)."""
    due = state.due_date(item)
    return due is not None and due < mailer.now.astimezone(mailer.rules.tz).date()


def _tell_tracker_of_late(mailer: Mailer, record: Doc, late: list[Doc]) -> None:
    if not late:
        return
    tracker = roles.tracker_of(record, mailer.rules)
    lang = records.reader_language(mailer.directory, record, tracker["email"])
    send(
        mailer,
        record,
        OutgoingMail(
            key=f"{record['record']}:v{record['version']}:late-at-assignment",
            to=[tracker["email"]],
            subject=records.subject(
                record, "行动项分配时已逾期", "Items overdue when assigned", record["name"], lang
            ),
            template="late_at_assignment",
            lang=lang,
            context={
                "greeting_name": tracker["name"],
                "record": record["record"],
                "name": record["name"],
                "items": [item_row(i, base_language(lang)) for i in late],
            },
        ),
        bound_to=tracker["email"],
    )


def calendar_file(record: Doc, owned: list[Doc], domain: str, method: str = "PUBLISH") -> bytes:
    """An iCalendar file with one all-day entry per deadline (RFC 5545). The UID is the item's,
    so a later file with a higher SEQUENCE moves the same entry, and METHOD:CANCEL removes it."""
    cal = Calendar()
    cal.add("prodid", "-//minutesd//action items//")
    cal.add("version", "2.0")
    cal.add("method", method)
    for item in owned:
        due = state.due_date(item)
        if due is None:
            continue
        event = Event()
        event.add("uid", f"{item['id']}@{domain}")
        event.add("summary", f"[{item['id']}] {item['title']}")
        event.add("description", item.get("criterion") or "")
        event.add("dtstart", due)
        event.add("dtend", due + timedelta(days=1))
        event.add("dtstamp", datetime.fromisoformat(item.get("assigned_at") or item["created_at"]))
        event.add("sequence", calendar_sequence(item) + (1 if method == "CANCEL" else 0))
        if method == "CANCEL":
            event.add("status", "CANCELLED")
        cal.add_component(event)
    return bytes(cal.to_ical())


def calendar_sequence(item: Doc) -> int:
    """How often the entry has moved: each delay, reschedule and reassignment raises it."""
    return len(item.get("delays", [])) + int(item.get("calendar_changes", 0))


# -- what a command causes ---------------------------------------------------


def _base(record: Doc, item: Doc, lang: str = "") -> dict[str, Any]:
    return {
        "record": record["record"],
        "name": record["name"],
        "item": item_row(item, base_language(lang or record["language"])),
    }


def _notice(
    ctx: Context,
    record: Doc,
    item: Doc,
    event: str,
    to: list[Doc],
    cc: list[Doc],
    extra: dict[str, Any],
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> list[str]:
    """Queue one notice; the people told, by name. The sender is never told what they just wrote."""
    seen = {ctx.msg.from_addr.lower()}
    to, cc = _distinct(to, seen), _distinct(cc, seen)
    if not to:
        to, cc = cc, []
    if not to:
        return []
    labels = {
        "to_verify": ("待核实", "To verify"),
        "delayed": ("延期", "Delayed"),
        "blocked": ("受阻", "Blocked"),
        "cancelled": ("已取消", "Cancelled"),
        "verified": ("已核实完成", "Verified done"),
        "rejected": ("退回", "Sent back"),
        "reassigned_away": ("已转交他人", "Handed to someone else"),
        "reassigned_to": ("转交给您", "Now yours"),
        "rescheduled": ("截止时间已调整", "Deadline changed"),
        "added": ("新增行动项", "New action item"),
    }
    zh, en = labels[event]
    lang = language_for(ctx.directory, record, to)  # the addressees', when they agree
    send(
        mailer_of(ctx),
        record,
        OutgoingMail(
            key=f"{ctx.msg.message_id}:{event}:{item['id']}",
            to=[p["email"] for p in to],
            cc=[p["email"] for p in cc],
            subject=item_subject(record, item, zh, en, lang),
            template="item_notice",
            lang=lang,
            context={
                **_base(record, item, lang),
                "event": event,
                "greeting_name": ("、" if base_language(lang) == "zh" else ", ").join(p["name"] for p in to),
                "by": ctx.msg.from_name or ctx.msg.from_addr,
                **extra,
            },
            attachments=attachments or [],
            in_reply_to=ctx.msg.message_id,
        ),
        bound_to=to[0]["email"],
    )
    return [p["name"] for p in [*to, *cc]]


def _distinct(people: list[Doc], seen: set[str]) -> list[Doc]:
    kept = []
    for person in people:
        address = person["email"].lower()
        if address not in seen:
            seen.add(address)
            kept.append(person)
    return kept


def to_verify(ctx: Context, record: Doc, item: Doc, files: list[Attachment]) -> None:
    forwarded = []
    size = 0
    for f in files:
        size += len(f.data)
        if size <= MAX_FORWARDED_EVIDENCE:
            forwarded.append((f.filename or "evidence", f.content_type or "application/octet-stream", f.data))
    tracker = roles.tracker_of(record, ctx.rules)
    evidence = [
        {"filename": e["filename"], "sha256": e["sha256"], "size": e["size"]} for e in item["evidence"]
    ]
    _notice(ctx, record, item, "to_verify", [tracker], [], {"evidence": evidence}, forwarded)


def delayed(ctx: Context, record: Doc, item: Doc, detail: dict[str, Any]) -> None:
    tracker = roles.tracker_of(record, ctx.rules)
    _notice(ctx, record, item, "delayed", [tracker], [record["host"]], detail)
    if ctx.rules.actions.calendar_attachment:
        _calendar_update(ctx, record, item)


def _calendar_update(ctx: Context, record: Doc, item: Doc) -> None:
    """The owner's calendar moves with the deadline: the same UID, SEQUENCE raised."""
    owner = item["owner"]
    sequence = calendar_sequence(item)
    lang = language_for(ctx.directory, record, [owner])
    send(
        mailer_of(ctx),
        record,
        OutgoingMail(
            key=f"{item['id']}:calendar:{sequence}",
            to=[owner["email"]],
            subject=item_subject(record, item, "日历已更新", "Calendar updated", lang),
            template="calendar_update",
            lang=lang,
            context={**_base(record, item, lang), "greeting_name": owner["name"]},
            attachments=[("deadline.ics", "text/calendar", calendar_file(record, [item], ctx.outbox.domain))],
        ),
        bound_to=owner["email"],
    )


def blocked(ctx: Context, record: Doc, item: Doc, blocked: dict[str, Any]) -> list[str]:
    heads = [h for h in (roles.head_of(ctx.directory, d) for d in blocked["departments"]) if h]
    if not heads:
        own = roles.head_of(ctx.directory, roles.department_of(item, ctx.directory))
        heads = [own] if own else []
    tracker = roles.tracker_of(record, ctx.rules)
    if record.get("confidential"):
        # A head who was not at a confidential meeting learns nothing of it: the tracker, who
        # was, asks for the support in person.
        attended = {p["email"].lower() for p in record["attendees"]}
        heads = [h for h in heads if h["email"].lower() in attended]
    return _notice(
        ctx, record, item, "blocked", heads or [tracker], [tracker] if heads else [], {"blocked": blocked}
    )


def cancelled(ctx: Context, record: Doc, item: Doc, reason: str) -> None:
    _notice(
        ctx,
        record,
        item,
        "cancelled",
        [item["owner"]],
        [roles.tracker_of(record, ctx.rules)],
        {"reason": reason},
        [("cancel.ics", "text/calendar", calendar_file(record, [item], ctx.outbox.domain, "CANCEL"))]
        if ctx.rules.actions.calendar_attachment
        else None,
    )


def verified(ctx: Context, record: Doc, item: Doc) -> None:
    _notice(ctx, record, item, "verified", [item["owner"]], [], {"actual": item.get("actual") or ""})


def rejected(ctx: Context, record: Doc, item: Doc, reason: str) -> None:
    _notice(ctx, record, item, "rejected", [item["owner"]], [], {"reason": reason})


# -- the host's and recorder's edits (items/edits.py) ---------------------------


def _calendar(ctx: Context, record: Doc, item: Doc, method: str = "PUBLISH") -> list[tuple[str, str, bytes]]:
    if not ctx.rules.actions.calendar_attachment:
        return []
    name = "cancel.ics" if method == "CANCEL" else "deadline.ics"
    return [(name, "text/calendar", calendar_file(record, [item], ctx.outbox.domain, method))]


def reassigned(ctx: Context, record: Doc, item: Doc, old_owner: Doc, reason: str) -> None:
    """The old owner's entry is cancelled; the new owner is assigned the item, same UID."""
    extra = {"old_owner": old_owner.get("name", ""), "new_owner": item["owner"]["name"], "reason": reason}
    _notice(
        ctx, record, item, "reassigned_away", [old_owner], [], extra, _calendar(ctx, record, item, "CANCEL")
    )
    tracker = roles.tracker_of(record, ctx.rules)
    _notice(
        ctx, record, item, "reassigned_to", [item["owner"]], [tracker], extra, _calendar(ctx, record, item)
    )


def rescheduled(ctx: Context, record: Doc, item: Doc, detail: dict[str, Any]) -> None:
    tracker = roles.tracker_of(record, ctx.rules)
    _notice(
        ctx, record, item, "rescheduled", [item["owner"]], [tracker], detail, _calendar(ctx, record, item)
    )


def added(ctx: Context, record: Doc, item: Doc) -> None:
    tracker = roles.tracker_of(record, ctx.rules)
    _notice(ctx, record, item, "added", [item["owner"]], [tracker], {}, _calendar(ctx, record, item))
