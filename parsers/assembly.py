"""What the reader collected from a draft's blocks, assembled into minutes and checked."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from parsers.dates import parse_date, parse_time_range
from parsers.document import Document
from parsers.items import ItemReader
from parsers.model import Minutes, Place
from parsers.people import Directory, Mention, Person, parse_mention, parse_people_list, resolve
from parsers.validate import no_items_read, unread_lines, validate
from parsers.vocabulary import Vocabulary, simplified

_LIST_NUMBER = re.compile(r"^\s*(?:\d+[、.)]|[((]\d+[))]|[-*•·●▪])\s*")
_LIST_FIELDS = ("discussion", "disagreements", "consensus")


def language_of(doc: Document) -> str:
    """Line by line, and done at the fourth CJK character: the whole text joined was a
    copy as large as the draft."""
    cjk = 0
    for line in doc.lines():
        cjk += sum(1 for ch in line if "\u4e00" <= ch <= "\u9fff")
        if cjk >= 4:
            return "zh"
    return "en"


@dataclass
class Assembler:
    vocab: Vocabulary
    directory: Directory
    received: date | None
    subject: str
    doc: Document
    seen_people: dict[str, Person]
    fields: dict[str, tuple[str, Place]]
    title_line: str
    next_meeting_text: list[str]
    item_rows: list[tuple[dict[str, str], Place, dict[str, Place]]]
    sentence_items: list[tuple[int, str, Place]]
    unread_item_lines: list[tuple[str, Place]]
    minutes: Minutes = field(default_factory=Minutes)
    items_place: Place | None = None  # where an action-item section or table was seen

    def __post_init__(self) -> None:
        self.item_reader = ItemReader(self.vocab, self.directory, self.seen_people)

    def person(self, text: str) -> tuple[Mention, Person] | None:
        mentions = parse_people_list(text, self.vocab.titles) if text else []
        if not mentions:
            return None
        mention = mentions[0]
        person = resolve(mention, self.directory, self.seen_people)
        self.remember(mention, person)
        return mention, person

    def remember(self, mention: Mention, person: Person) -> None:
        if person.email:
            self.seen_people[simplified(mention.name).casefold()] = person
            self.seen_people[simplified(person.name).casefold()] = person

    def finish(self) -> Minutes:
        m = self.minutes
        m.language = language_of(self.doc)
        meeting = m.meeting
        value = {k: v for k, (v, _) in self.fields.items()}
        place = {k: p for k, (_, p) in self.fields.items()}
        reference = self.received or date.today()
        date_text = value.get("date") or value.get("time") or ""
        reading = parse_date(date_text, reference) if date_text else None
        meeting.date = reading.value if reading else None
        # "日期:2024年12月5日 周四 09:30-10:00": without a time field, the date field holds the time.
        time_text = value.get("time") or value.get("date", "")
        start, end = parse_time_range(time_text) if time_text else (None, None)
        meeting.start, meeting.end = start or "", end or ""
        meeting.location = value.get("location", "")
        meeting.classification = value.get("classification", "")
        meeting.initiating_department = simplified(value.get("initiating_department", ""))
        meeting.background = value.get("background", "")
        meeting.goal = value.get("goal", "")
        for name in _LIST_FIELDS:
            if value.get(name):
                setattr(
                    m, name, [_LIST_NUMBER.sub("", v).strip() for v in value[name].split("\n") if v.strip()]
                )

        # People named with an address anywhere help resolve the same name elsewhere.
        for key in ("host", "recorder", "attendees"):
            for mention in parse_people_list(value.get(key, ""), self.vocab.titles):
                self.remember(mention, resolve(mention, self.directory, self.seen_people))
        host = self.person(value.get("host", ""))
        recorder = self.person(value.get("recorder", ""))
        meeting.host = host[1] if host else None
        meeting.recorder = recorder[1] if recorder else None
        self.attendees(
            value.get("attendees", ""),
            place.get("attendees"),
            host,
            recorder,
            place.get("host"),
            place.get("recorder"),
        )
        m.absent = self.absentees(value.get("absent", ""))
        meeting.name = value.get("name") or self.fallback_name()
        ref = meeting.date or reference
        for values, row_place, cell_places in self.item_rows:
            m.items.append(self.item_reader.from_row(len(m.items) + 1, values, row_place, cell_places, ref))
        for number, sentence, sentence_place in self.sentence_items:
            m.items.append(self.item_reader.from_sentence(number, sentence, sentence_place, ref))
        m.next_meeting = self.next_meeting(ref)
        m.record_prefix = self.record_prefix()
        m.findings = validate(m, self.vocab, place, self.doc.source)
        m.findings += unread_lines(self.unread_item_lines, self.vocab, m.language)
        if not m.items and self.items_place is not None:
            m.findings += no_items_read(self.items_place, self.vocab, m.language)
        return m

    def attendees(
        self,
        text: str,
        place: Place | None,
        host: tuple[Mention, Person] | None,
        recorder: tuple[Mention, Person] | None,
        host_place: Place | None,
        recorder_place: Place | None,
    ) -> None:
        m = self.minutes
        seen: set[str] = set()
        entries: list[tuple[Mention, Person, Place]] = []
        for mention in parse_people_list(text, self.vocab.titles):
            if self.vocab.is_none(mention.name) or self.directory.department(mention.name):
                continue  # "运营部 孙浩、钱芳": the department heads its people, it attends through them
            person = resolve(mention, self.directory, self.seen_people)
            entries.append((mention, person, place or Place("", "")))
        # The host and the recorder attend even when the list leaves them out.
        for extra, extra_place in ((host, host_place), (recorder, recorder_place)):
            if extra is not None:
                entries.append((extra[0], extra[1], extra_place or Place("", "")))
        for mention, person, where in entries:
            key = person.email or simplified(person.name)
            if key in seen:
                continue
            seen.add(key)
            m.attendees.append(person)
            m.attendee_mentions.append((mention, person, where))

    def absentees(self, text: str) -> list[dict[str, str]]:
        if not text or self.vocab.is_none(text):
            return []
        found = []
        for chunk in re.split(r"[;；\n、]+", text):
            chunk = chunk.strip()
            if not chunk or self.vocab.is_none(chunk):
                continue
            bracketed = re.match(r"^([^((]{1,20})[((](.+)[))]\s*$", chunk)  # 周婷(出差)
            parts = (
                [bracketed.group(1), bracketed.group(2)]
                if bracketed
                else re.split(r"\s*(?:[-—–]+|[:：]|,|，)\s*", chunk, maxsplit=1)
            )
            who = parts[0].strip()
            reason = parts[1] if len(parts) > 1 else ""
            mention = parse_mention(who, self.vocab.titles)
            person = resolve(mention, self.directory, self.seen_people)
            found.append({"name": person.name, "reason": reason.strip()})
        return found

    def fallback_name(self) -> str:
        title = simplified(self.title_line)
        generic = re.sub(
            r"(会议纪要|会议记录|纪要|记录表|记录|跨部门|沟通|协调|会议|minutes|meeting|[:：\s#-])",
            "",
            title,
            flags=re.I,
        )
        if self.title_line and generic and not self.vocab.field_of(self.title_line):
            return (
                re.sub(r"\s*(会议纪要|會議紀要|会议记录|Minutes)\s*[:：]?\s*", "", self.title_line).strip()
                or self.title_line
            )
        for key in ("goal", "background"):
            if key in self.fields:
                return self.fields[key][0].split("\n")[0][:60]
        subject = re.sub(r"^\s*((re|fw|fwd|回复|答复|转发)\s*[:：]\s*)+", "", self.subject, flags=re.I)
        return subject.strip()

    def next_meeting(self, ref: date) -> dict[str, object] | None:
        text = " ".join(self.next_meeting_text).strip()
        if not text:
            return None
        reading = parse_date(text, ref)
        start, _ = parse_time_range(text)
        return {"date": reading.value.isoformat() if reading.value else None, "start": start, "text": text}

    def record_prefix(self) -> str:
        meeting = self.minutes.meeting
        owner = meeting.recorder or meeting.host
        if meeting.date is None or owner is None:
            return ""
        department = self.directory.department(owner.department) if owner.department else None
        return f"{meeting.date.year}-{department.code}" if department and department.code else ""
