"""Who someone is to a record: owner of which items, its tracker, its host or recorder, a head."""

from __future__ import annotations

from parsers.people import Directory
from parsers.vocabulary import simplified
from service.core.config import Rules
from service.core.store import Doc


def tracker_of(record: Doc, rules: Rules) -> Doc:
    """跟踪人: the person who verifies done items and gets the meeting's weekly table."""
    chosen = record.get("tracker") or (
        record["host"] if rules.actions.tracker == "host" else record["recorder"]
    )
    return dict(chosen)


def same(person: Doc | None, address: str) -> bool:
    return bool(person) and str(person.get("email", "")).lower() == address.lower()  # type: ignore[union-attr]


def owns(item: Doc, address: str) -> bool:
    return same(item.get("owner"), address)


def may_cancel(record: Doc, address: str) -> bool:
    return same(record["host"], address) or same(record["recorder"], address)


def head_of(directory: Directory, department: str) -> Doc | None:
    """The head of `department` as a person with an address, if the directory knows one."""
    entry = directory.department(department) if department else None
    if entry is None or not entry.head:
        return None
    person = directory.by_name(entry.head)
    if person is None or not person.email:
        return None
    return person.as_json()


def departments_named(directory: Directory, text: str) -> list[str]:
    """Departments of the directory that `text` names (法务部, 財務部 → 财务部), in order of mention."""
    folded = simplified(text)
    found = [
        (folded.find(simplified(name)), name) for name in directory.departments if simplified(name) in folded
    ]
    return [name for _, name in sorted(found)]


def department_of(item: Doc, directory: Directory) -> str:
    written = item.get("department") or item["owner"].get("department", "")
    return directory.canonical_department(written) if written else ""
