"""The typed model of a draft: what the minutes say, and what is wrong with them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from parsers.people import Mention, Person


@dataclass(frozen=True)
class Finding:
    severity: str  # error or warning
    rule: str
    message: str
    where: str

    def as_json(self) -> dict[str, str]:
        return {"severity": self.severity, "rule": self.rule, "message": self.message, "where": self.where}


@dataclass
class Place:
    """Where something stands in the draft, in both languages."""

    zh: str
    en: str

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass
class ActionItem:
    no: int
    title: str = ""
    owner_mentions: list[Mention] = field(default_factory=list)
    owners: list[Person] = field(default_factory=list)
    department: str = ""
    supporting: list[str] = field(default_factory=list)
    due: date | None = None
    due_text: str = ""
    due_vague: str = ""
    criterion: str = ""
    support: str = ""
    priority: str = ""
    status: str = "not_started"
    notes: str = ""
    criterion_asked: bool = True  # False where the draft's layout has no place for a criterion
    place: Place = field(default_factory=lambda: Place("", ""))
    cell_places: dict[str, Place] = field(default_factory=dict)

    @property
    def owner(self) -> Person | None:
        return self.owners[0] if len(self.owners) == 1 else None

    def place_of(self, column: str) -> Place:
        return self.cell_places.get(column, self.place)

    def as_json(self) -> dict[str, Any]:
        return {
            "no": self.no,
            "title": self.title,
            "owner": self.owner.as_json() if self.owner else None,
            "owners": [p.as_json() for p in self.owners],
            "department": self.department,
            "supporting": self.supporting,
            "due": self.due.isoformat() if self.due else None,
            "due_text": self.due_text,
            "criterion": self.criterion,
            "support": self.support,
            "priority": self.priority,
            "status": self.status,
            "notes": self.notes,
        }


@dataclass
class AgendaTopic:
    no: int
    title: str
    summary: str = ""
    decision: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"no": self.no, "title": self.title, "summary": self.summary, "decision": self.decision}


@dataclass
class Meeting:
    name: str = ""
    date: date | None = None
    start: str = ""
    end: str = ""
    location: str = ""
    host: Person | None = None
    recorder: Person | None = None
    initiating_department: str = ""
    background: str = ""
    goal: str = ""
    classification: str = ""  # 密级: 机密, Confidentiality: …; the draft's own marking

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "date": self.date.isoformat() if self.date else None,
            "start": self.start or None,
            "end": self.end or None,
            "location": self.location,
            "classification": self.classification,
            "host": self.host.as_json() if self.host else None,
            "recorder": self.recorder.as_json() if self.recorder else None,
            "initiating_department": self.initiating_department,
            "background": self.background,
            "goal": self.goal,
        }


@dataclass
class Minutes:
    meeting: Meeting = field(default_factory=Meeting)
    attendees: list[Person] = field(default_factory=list)
    attendee_mentions: list[tuple[Mention, Person, Place]] = field(default_factory=list)
    absent: list[dict[str, str]] = field(default_factory=list)
    agenda: list[AgendaTopic] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    discussion: list[str] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)
    consensus: list[str] = field(default_factory=list)
    items: list[ActionItem] = field(default_factory=list)
    next_meeting: dict[str, Any] | None = None
    findings: list[Finding] = field(default_factory=list)
    language: str = "zh"
    record_prefix: str = ""

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def valid(self) -> bool:
        return not self.errors

    def as_json(self) -> dict[str, Any]:
        return {
            "meeting": self.meeting.as_json(),
            "attendees": [p.as_json() for p in self.attendees],
            "absent": self.absent,
            "agenda": [t.as_json() for t in self.agenda],
            "decisions": self.decisions,
            "discussion": self.discussion,
            "disagreements": self.disagreements,
            "consensus": self.consensus,
            "items": [i.as_json() for i in self.items],
            "next_meeting": self.next_meeting,
            "language": self.language,
            "record_prefix": self.record_prefix,
            "valid": self.valid,
            "findings": [f.as_json() for f in self.findings],
        }
