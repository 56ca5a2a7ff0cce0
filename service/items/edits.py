"""The host's and the recorder's edits of a confirmed meeting's items, by reply.

`#3 负责人改为 李娜` hands the item to another person: the old owner's calendar entry is
cancelled and the new owner is assigned it (same UID, SEQUENCE raised). `#3 截止改为 7月30日`
moves the plan itself (planned and due, unlike an owner's delay, which keeps the plan): the
owner's calendar follows. `新增: 标题;负责人:…;截止:…` adds an item read and checked as a
draft's item line, and its owner is assigned it. Each is one entry of the item's history.
While the minutes still await confirmation these are refused: a revised draft does that.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from parsers.command_types import Command
from parsers.items import item_from_line
from parsers.model import Finding
from parsers.people import parse_people_list, resolve
from parsers.validate import validate_item
from service.context import Context, within
from service.core.store import Doc
from service.items import notices, state
from service.items.state import ItemEvent
from service.minutes.drafts import vocabulary
from service.minutes.records import State


def editable(record: Doc) -> bool:
    return bool(record["state"] == State.CONFIRMED)


def reassign(ctx: Context, record: Doc, item: Doc, command: Command) -> dict[str, Any]:
    """The new owner, or a problem; the caller reports either."""
    mentions = parse_people_list(command.assignee, vocabulary(ctx.rules).titles)
    person = resolve(mentions[0], ctx.directory, {}) if len(mentions) == 1 else None
    if person is None or not person.known or not person.email:
        return {"problem": "unknown_person", "name": command.assignee}
    old = dict(item["owner"])
    if old.get("email", "").lower() == person.email.lower():
        return {"problem": "same_owner", "name": person.name}
    new_owner = {**person.as_json()}
    state.apply(
        item, ItemEvent.REASSIGNED, ctx.now, ctx.msg.from_addr, ctx.msg.message_id, command.reason,
        owner=new_owner, department=person.department or item.get("department", ""),
        calendar_changes=int(item.get("calendar_changes", 0)) + 1, assigned_at=ctx.now.isoformat(),
    )  # fmt: skip
    notices.reassigned(ctx, record, item, old, command.reason)
    return {"from": old.get("name", ""), "to": person.name}


def reschedule(ctx: Context, record: Doc, item: Doc, command: Command) -> dict[str, Any]:
    assert command.new_date is not None
    previous = item["due"]
    state.apply(
        item, ItemEvent.RESCHEDULED, ctx.now, ctx.msg.from_addr, ctx.msg.message_id, command.reason,
        due=command.new_date.isoformat(), planned=command.new_date.isoformat(),
        calendar_changes=int(item.get("calendar_changes", 0)) + 1,
    )  # fmt: skip
    detail = {
        "date": notices.spell_day(command.new_date, record["language"]),
        "from": previous,
        "reason": command.reason,
    }
    notices.rescheduled(ctx, record, item, detail)
    return detail


_LABELLED_COMMA = re.compile(r"\s*[,，]\s*(?=[^,，;；:：]{1,12}[:：])")


def add(ctx: Context, record: Doc, command: Command, reply_day: date) -> tuple[Doc | None, dict[str, Any]]:
    """The new item, or None with what is wrong with the line, as a draft's findings say it."""
    numbers = [e["no"] for e in record["minutes"].get("items", [])]
    number = max(numbers, default=0) + 1
    text = _LABELLED_COMMA.sub(";", command.note)
    words = vocabulary(ctx.rules)
    read = item_from_line(text, number, words, ctx.directory, reply_day)
    findings = [f for f in validate_item(read, words, record["language"]) if f.severity == "error"]
    if read.due is not None and read.due <= reply_day:
        findings.append(_passed(read.due, record))
    owner = read.owner
    if owner is not None and owner.email and not within(ctx, owner.email):
        findings.append(_outside(owner.name, owner.email, record))
    if findings:
        return None, {"findings": [f.message for f in findings]}
    entry = read.as_json()
    entry["no"] = number
    record["minutes"].setdefault("items", []).append(entry)
    [item] = [i for i in state.sync_from_minutes(ctx.txn, record, ctx.now) if i["no"] == number]
    state.apply(
        item, ItemEvent.ADDED, ctx.now, ctx.msg.from_addr, ctx.msg.message_id, "",
        assigned_at=ctx.now.isoformat(),
    )  # fmt: skip
    notices.added(ctx, record, item)
    return item, {"item": item["id"], "owner": item["owner"]["name"], "due": item["due"]}


def _outside(name: str, address: str, record: Doc) -> Finding:
    zh = f"{name} <{address}> 不在通讯录中,也不属于允许的域名:行动项只能交给通讯录中的人。"
    en = f"{name} <{address}> is outside the directory and the allowed domains: items go to its people only."
    return Finding("error", "attendee_outside", zh if record["language"] == "zh" else en, "")


def _passed(day: date, record: Doc) -> Finding:
    spelled = notices.spell_day(day, record["language"])
    return Finding(
        "error",
        "concrete_deadline",
        f"截止时间 {spelled} 已过:请写一个今天以后的日期。"
        if record["language"] == "zh"
        else f"The deadline {spelled} has passed: write a day after today.",
        "",
    )
