"""Who someone is to a record: owner of which items, its tracker, its host or recorder, a head."""

from __future__ import annotations

import re

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


def departments_named(directory: Directory, text: str, aliases: dict[str, str] | None = None) -> list[str]:
    """Departments of the directory that `text` names (法务部, 財務部 → 财务部; 法务, Legal → 法务部),
    in order of mention."""
    folded = simplified(text).casefold()
    spellings = [(simplified(name).casefold(), name) for name in directory.departments]
    spellings += [
        (simplified(alias).casefold(), name)
        for alias, name in (aliases or {}).items()
        if name in directory.departments
    ]
    found: dict[str, int] = {}
    for spelling, name in sorted(spellings, key=lambda s: -len(s[0])):
        at = _find_word(folded, spelling)
        if at >= 0 and (name not in found or at < found[name]):
            found[name] = at
    return sorted(found, key=lambda name: found[name])


def _find_word(text: str, word: str) -> int:
    if not word.isascii():
        return text.find(word)
    match = re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", text)
    return match.start() if match else -1


def department_of(item: Doc, directory: Directory) -> str:
    written = item.get("department") or item["owner"].get("department", "")
    return directory.canonical_department(written) if written else ""
