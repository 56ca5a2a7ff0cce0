"""What changed between two versions of the minutes, in words a reader can check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_MEETING_FIELDS = (
    ("name", "会议名称", "Meeting"),
    ("date", "会议日期", "Date"),
    ("start", "开始时间", "Start"),
    ("end", "结束时间", "End"),
    ("location", "地点", "Location"),
)
_ITEM_FIELDS = (
    ("title", "内容", "action"),
    ("owner", "负责人", "owner"),
    ("department", "部门", "department"),
    ("due", "截止日期", "due"),
    ("criterion", "验收标准", "criterion"),
    ("priority", "优先级", "priority"),
)


@dataclass(frozen=True)
class Change:
    zh: str
    en: str
    before: str
    after: str
    item: int | None = None  # the action item it concerns; None for the meeting, attendees, decisions

    def as_json(self) -> dict[str, Any]:
        return {"zh": self.zh, "en": self.en, "before": self.before, "after": self.after, "item": self.item}


def _person(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name") or value.get("email") or "")
    return "" if value is None else str(value)


def diff_minutes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes: list[Change] = []
    old_meeting, new_meeting = old.get("meeting", {}), new.get("meeting", {})
    for key, zh, en in _MEETING_FIELDS:
        before, after = _person(old_meeting.get(key)), _person(new_meeting.get(key))
        if before != after:
            changes.append(Change(zh, en, before, after))
    for key, zh, en in (("host", "主持人", "Host"), ("recorder", "记录人", "Recorder")):
        before, after = _person(old_meeting.get(key)), _person(new_meeting.get(key))
        if before != after:
            changes.append(Change(zh, en, before, after))
    before_people = sorted(_person(p) for p in old.get("attendees", []))
    after_people = sorted(_person(p) for p in new.get("attendees", []))
    if before_people != after_people:
        changes.append(Change("参会人", "Attendees", "、".join(before_people), "、".join(after_people)))
    if old.get("decisions", []) != new.get("decisions", []):
        for no, (before, after) in enumerate(_pairs(old.get("decisions", []), new.get("decisions", [])), 1):
            if before != after:
                changes.append(Change(f"决策结论 {no}", f"Decision {no}", before, after))
    old_items = {item["no"]: item for item in old.get("items", [])}
    new_items = {item["no"]: item for item in new.get("items", [])}
    for no in sorted({*old_items, *new_items}):
        before_item, after_item = old_items.get(no), new_items.get(no)
        if before_item is None and after_item is not None:
            changes.append(
                Change(f"行动项 {no}", f"Action item {no}", "", f"(新增 / added) {after_item['title']}", no)
            )
        elif after_item is None and before_item is not None:
            changes.append(
                Change(f"行动项 {no}", f"Action item {no}", before_item["title"], "(删除 / removed)", no)
            )
        elif before_item is not None and after_item is not None:
            for key, zh, en in _ITEM_FIELDS:
                before, after = _person(before_item.get(key)), _person(after_item.get(key))
                if before != after:
                    changes.append(Change(f"行动项 {no} {zh}", f"Action item {no} {en}", before, after, no))
    return changes


def touches(changes: list[Change], old: dict[str, Any], new: dict[str, Any], address: str) -> bool:
    """Whether a change concerns the person: anything outside the items, or an item they own."""
    address = address.lower()

    def owned(minutes: dict[str, Any]) -> set[int]:
        return {
            int(i["no"])
            for i in minutes.get("items", [])
            if str((i.get("owner") or {}).get("email", "")).lower() == address
        }

    theirs = owned(old) | owned(new)
    return any(c.item is None or c.item in theirs for c in changes)


def _pairs(old: list[str], new: list[str]) -> list[tuple[str, str]]:
    length = max(len(old), len(new))
    return [(old[i] if i < len(old) else "", new[i] if i < len(new) else "") for i in range(length)]
