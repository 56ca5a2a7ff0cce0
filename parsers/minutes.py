"""Read a draft's blocks into typed minutes. Pure: the directory and the words come in as values.

The reader walks the blocks once, keeping the section it is in (from numbered
headings, Markdown headings, Word heading styles, or a bare section label).
Fields come from `label:value` lines, from a label line followed by its value
(the record-sheet layout), and from two-column tables. Items come from tables
whose header names the columns, from record-sheet tables written one cell per
line, and from sentences (【行动项1】由…负责,于…前完成…).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from parsers.dates import parse_date, parse_time_range
from parsers.document import Document, Line, Table
from parsers.model import ActionItem, AgendaTopic, Minutes, Place
from parsers.people import Directory, Mention, Person, parse_mention, parse_people_list, resolve
from parsers.validate import unread_lines, validate
from parsers.vocabulary import Vocabulary, simplified, strip_numbering

_HEADING_NUMBER = re.compile(r"^\s*(?:[((]?[一二三四五六七八九十]+[))、.]|#+)\s*")
_LIST_NUMBER = re.compile(r"^\s*(?:\d+[、.)]|[((]\d+[))]|[-*•·●▪])\s*")
_SENTENCE_ITEM = re.compile(
    r"^[【\[]?\s*(?:行动项|行動項|Action item|Action)\s*(\d+)\s*[】\]]?\s*[:：]?\s*(.+)$", re.I
)
_TEXT_FIELDS = ("background", "goal", "discussion", "disagreements", "consensus")
_LIST_FIELDS = ("discussion", "disagreements", "consensus")


def language_of(doc: Document) -> str:
    text = doc.text
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    return "zh" if cjk >= 4 else "en"


@dataclass
class _Reader:
    vocab: Vocabulary
    directory: Directory
    received: date | None
    subject: str
    doc: Document
    minutes: Minutes = field(default_factory=Minutes)
    fields: dict[str, tuple[str, Place]] = field(default_factory=dict)
    section: str = ""
    pending_field: str = ""
    title_line: str = ""
    next_meeting_text: list[str] = field(default_factory=list)
    item_rows: list[tuple[dict[str, str], Place, dict[str, Place]]] = field(default_factory=list)
    sentence_items: list[tuple[int, str, Place]] = field(default_factory=list)
    seen_people: dict[str, Person] = field(default_factory=dict)
    unread_item_lines: list[tuple[str, Place]] = field(default_factory=list)

    # -- places --------------------------------------------------------------

    def line_place(self, number: int) -> Place:
        if self.doc.source == "text":
            return Place(f"第{number}行", f"line {number}")
        return Place(f"第{number}段", f"paragraph {number}")

    def cell_place(self, table: Table, row: int, header: str | None) -> Place:
        column_zh = f"“{header}”列" if header else ""
        column_en = f", column “{header}”" if header else ""
        if table.kind in ("markdown", "tabs") and table.line:
            # Markdown tables have a rule line under the header.
            line = table.line + row + (1 if table.kind == "markdown" and row > 0 else 0)
            return Place(f"第{line}行{column_zh}", f"line {line}{column_en}")
        if table.kind == "cells":
            return Place(f"第{table.line + row}行{column_zh}", f"line {table.line + row}{column_en}")
        return Place(
            f"表格{table.number}第{row + 1}行{column_zh}", f"table {table.number}, row {row + 1}{column_en}"
        )

    # -- the walk -------------------------------------------------------------

    def read(self) -> Minutes:
        blocks = self.doc.blocks
        i = 0
        while i < len(blocks):
            block = blocks[i]
            if isinstance(block, Table):
                self.pending_field = ""
                self.table(block)
                i += 1
                continue
            consumed = self.cells_table(blocks, i)
            if consumed:
                i += consumed
                continue
            self.line(block)
            i += 1
        return self.finish()

    def set_field(self, name: str, value: str, place: Place) -> None:
        value = value.strip()
        if not value:
            return
        if name in _TEXT_FIELDS and name in self.fields:
            old, old_place = self.fields[name]
            self.fields[name] = (f"{old}\n{value}", old_place)
        elif name not in self.fields:
            self.fields[name] = (value, place)

    def line(self, line: Line) -> None:
        text = line.text.strip()
        place = self.line_place(line.number)
        if not self.title_line and not self.fields and not self.section:
            self.title_line = text
        sentence = _SENTENCE_ITEM.match(simplified(text))
        if sentence:
            self.sentence_items.append((int(sentence.group(1)), sentence.group(2), place))
            self.pending_field = ""
            return
        label, value = _split_label(text)
        bare = strip_numbering(text)
        is_heading = line.heading or bool(_HEADING_NUMBER.match(text))
        section = self.vocab.section_of(bare) if not value else None
        field_name = self.vocab.field_of(label) if label is not None else self.vocab.field_of(bare)
        if section and (is_heading or not label):
            self.section = section
            self.pending_field = ""
            return
        if field_name and self.section != "next_meeting":
            if value:
                self.set_field(field_name, value, place)
                self.pending_field = field_name if field_name in _TEXT_FIELDS else ""
            else:
                self.pending_field = field_name
            if is_heading:
                self.section = f"field:{field_name}"
            return
        if is_heading:
            self.section = section or ""
            self.pending_field = ""
            return
        if self.pending_field:
            if self.pending_field in _TEXT_FIELDS:
                self.set_field(self.pending_field, text, place)
            else:
                self.set_field(self.pending_field, text, place)
                self.pending_field = ""
            return
        self.section_line(text, place)

    def section_line(self, text: str, place: Place) -> None:
        content = _LIST_NUMBER.sub("", text).strip()
        if self.section == "decisions":
            self.minutes.decisions.append(content)
        elif self.section == "agenda":
            self.minutes.agenda.append(AgendaTopic(len(self.minutes.agenda) + 1, content))
        elif self.section == "next_meeting":
            self.next_meeting_text.append(text)
        elif self.section.startswith("field:"):
            self.set_field(self.section.removeprefix("field:"), content, place)
        elif self.section == "items" and re.search(r"负责|負責|owner", text, re.I):
            self.sentence_items.append((len(self.sentence_items) + 1, content, place))
        elif self.section == "items":
            # Never drop silently what may be an action item: the recorder is told it was not read.
            self.unread_item_lines.append((content, place))
        elif re.match(r"^(?:下次会议|下次會議|next meeting)", simplified(content), re.I):
            self.next_meeting_text.append(content)

    # -- tables ----------------------------------------------------------------

    def table(self, table: Table) -> None:
        if not table.rows:
            return
        header = table.rows[0]
        columns = [self.vocab.column_of(cell) for cell in header]
        if "owner" in columns and ("title" in columns or "due" in columns):
            self.items_table(table, columns)
            return
        if "title" in columns and ("summary" in columns or "decision" in columns):
            self.agenda_table(table, columns)
            return
        self.fields_table(table)

    def fields_table(self, table: Table) -> None:
        for r, row in enumerate(table.rows):
            if len(row) < 2:
                continue
            name = self.vocab.field_of(row[0])
            if name:
                self.set_field(name, "\n".join(c for c in row[1:] if c), self.cell_place(table, r, row[0]))
            elif len(row) >= 4 and self.vocab.field_of(row[2]):  # label|value|label|value forms
                self.set_field(self.vocab.field_of(row[2]) or "", row[3], self.cell_place(table, r, row[2]))

    def items_table(self, table: Table, columns: list[str | None]) -> None:
        header = table.rows[0]
        for r, row in enumerate(table.rows[1:], start=1):
            if not any(cell.strip() for cell in row):
                continue
            values: dict[str, str] = {}
            places: dict[str, Place] = {}
            for c, name in enumerate(columns):
                if name and c < len(row) and name not in values:
                    values[name] = row[c].strip()
                    places[name] = self.cell_place(table, r, header[c])
            self.item_rows.append((values, self.cell_place(table, r, None), places))

    def agenda_table(self, table: Table, columns: list[str | None]) -> None:
        for row in table.rows[1:]:
            values = {name: row[c].strip() for c, name in enumerate(columns) if name and c < len(row)}
            if values.get("title"):
                self.minutes.agenda.append(
                    AgendaTopic(
                        len(self.minutes.agenda) + 1,
                        values["title"],
                        values.get("summary", ""),
                        values.get("decision", ""),
                    )
                )

    def cells_table(self, blocks: list[Line | Table], start: int) -> int:
        """The record-sheet layout: a run of column labels, one a line, then the cells one a line."""
        labels: list[str] = []
        i = start
        while i < len(blocks) and isinstance(blocks[i], Line):
            line = blocks[i]
            assert isinstance(line, Line)
            name = self.vocab.column_of(line.text)
            if not name or name in labels:
                break
            labels.append(name)
            i += 1
        if len(labels) < 3 or "owner" not in labels or not ({"title", "due"} & set(labels)):
            return 0
        header_lines = [b.text for b in blocks[start:i] if isinstance(b, Line)]
        first = blocks[start]
        assert isinstance(first, Line)
        cells: list[Line] = []
        while i < len(blocks) and isinstance(blocks[i], Line):
            line = blocks[i]
            assert isinstance(line, Line)
            if self.vocab.field_of(line.text) or self.vocab.section_of(strip_numbering(line.text)):
                break
            cells.append(line)
            i += 1
        table = Table([header_lines], 0, first.number, "cells")
        for k in range(0, len(cells) - len(labels) + 1, len(labels)):
            group = cells[k : k + len(labels)]
            values = {name: cell.text for name, cell in zip(labels, group, strict=True)}
            places = {
                name: self.cell_place(table, cell.number - first.number, header)
                for name, cell, header in zip(labels, group, header_lines, strict=True)
            }
            self.item_rows.append(
                (values, self.cell_place(table, group[0].number - first.number, None), places)
            )
        return i - start

    # -- assembling ------------------------------------------------------------

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
        start, end = parse_time_range(value.get("time", "")) if value.get("time") else (None, None)
        meeting.start, meeting.end = start or "", end or ""
        meeting.location = value.get("location", "")
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
            m.items.append(self.item_from_row(len(m.items) + 1, values, row_place, cell_places, ref))
        for number, sentence, sentence_place in self.sentence_items:
            m.items.append(self.item_from_sentence(number, sentence, sentence_place, ref))
        m.next_meeting = self.next_meeting(ref)
        m.record_prefix = self.record_prefix()
        m.findings = validate(m, self.vocab, place, self.doc.source)
        m.findings += unread_lines(self.unread_item_lines, self.vocab, m.language)
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
            if self.vocab.is_none(mention.name):
                continue
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
            parts = re.split(r"\s*(?:[-—–]+|[:：]|,|，)\s*", chunk, maxsplit=1)
            who = parts[0]
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

    def item_from_row(
        self, no: int, values: dict[str, str], place: Place, cells: dict[str, Place], ref: date
    ) -> ActionItem:
        number = re.sub(r"\D", "", values.get("no", ""))
        item = ActionItem(
            int(number) if number else no, values.get("title", ""), place=place, cell_places=cells
        )
        self.owners(item, values.get("owner", ""))
        self.departments(item, values.get("department", ""))
        self.due(item, values.get("due", ""), ref)
        item.criterion = self.text_value(values.get("criterion", ""))
        item.criterion_asked = "criterion" in values
        item.support = self.text_value(values.get("support", ""))
        item.notes = self.text_value(values.get("notes", ""))
        item.priority = self.vocab.priority_of(values.get("priority", "")) or ""
        item.status = self.vocab.status_of(values.get("status", "")) or "not_started"
        return item

    def item_from_sentence(self, no: int, sentence: str, place: Place, ref: date) -> ActionItem:
        s = simplified(sentence)
        item = ActionItem(no, place=place)
        owner = re.search(r"(?:由|请)\s*([^,，;；。]+?)\s*(?:负责|牵头)", s) or re.search(
            r"^([^,，;；。]{1,20}?)\s*负责", s
        )
        owner_text = owner.group(1) if owner else ""
        self.owners(item, owner_text)
        if item.owner_mentions and item.owner_mentions[0].department:
            item.department = item.owner_mentions[0].department
        due = re.search(
            r"(?:于|在)?\s*([^,，;；。]*?\d[^,，;；。]*?|[^,，;；。]*?(?:本周|下周|月底|尽快|近期)[^,，;；。]*?)\s*(?:前|之前|以前)",
            s,
        )
        self.due(item, due.group(1) if due else "", ref)
        criterion = re.search(
            r"(?:交付成果|交付物|交付标准|完成标准|验收标准|deliverable)\s*[:：]\s*([^;；。]+)", s, re.I
        )
        item.criterion = criterion.group(1).strip() if criterion else ""
        support = re.search(r"(?:所需支持|需要支持|需)\s*[:：]?\s*([^;；。]*?提供[^;；。,，]*)", s)
        item.support = support.group(1).strip() if support else ""
        title = s
        title = re.sub(
            r"(?:交付成果|交付物|交付标准|完成标准|验收标准|deliverable)\s*[:：].*$", "", title, flags=re.I
        )
        if owner:
            title = title.replace(owner.group(0), ",")
        if due:
            title = title.replace(due.group(0), ",")
        parts = [p.strip() for p in re.split(r"[,，;；。]", title) if p.strip()]
        parts = [re.sub(r"^(?:于|并|然后)\s*|\s*(?:完成)$", "", p).strip() for p in parts]
        item.title = ",".join(p for p in parts if p and p not in ("完成",))
        return item

    def text_value(self, text: str) -> str:
        return "" if self.vocab.is_none(text) else text.strip()

    def owners(self, item: ActionItem, text: str) -> None:
        item.owner_mentions = [
            m for m in parse_people_list(text, self.vocab.titles) if not self.vocab.is_none(m.name)
        ]
        item.owners = [resolve(m, self.directory, self.seen_people) for m in item.owner_mentions]
        if item.owner_mentions and item.owner_mentions[0].department and not item.department:
            item.department = item.owner_mentions[0].department

    def departments(self, item: ActionItem, text: str) -> None:
        if not text or self.vocab.is_none(text):
            return
        lead: list[str] = []
        supporting: list[str] = []
        for part in re.split(r"[/、,，;；+&]|\s和\s|及", simplified(text)):
            part = part.strip()
            if not part:
                continue
            marker = re.search(r"[((]([^))]*)[))]", part)
            name = re.sub(r"[((][^))]*[))]", "", part).strip()
            tag = marker.group(1) if marker else ""
            if any(w in tag for w in self.vocab.support_markers):
                supporting.append(name)
            elif any(w in tag for w in self.vocab.lead_markers) or not lead:
                lead.append(name)
            else:
                supporting.append(name)
        item.department = lead[0] if lead else ""
        item.supporting = [*lead[1:], *supporting]

    def due(self, item: ActionItem, text: str, ref: date) -> None:
        item.due_text = text.strip()
        if not item.due_text:
            return
        reading = parse_date(item.due_text, ref, self.vocab.vague_deadlines)
        item.due = reading.value
        item.due_vague = reading.vague

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


def _split_label(text: str) -> tuple[str | None, str]:
    """'会议名称:Q3产品规划会' → ('会议名称', 'Q3产品规划会'); no colon → (None, '')."""
    body = re.sub(r"^\s*[-*•·]\s*", "", text)
    m = re.match(r"^\s*([^:：]{1,24}?)\s*[:：]\s*(.*)$", body)
    if not m:
        return None, ""
    return m.group(1), m.group(2).strip()


def parse_draft(
    doc: Document, vocab: Vocabulary, directory: Directory, *, received: date | None = None, subject: str = ""
) -> Minutes:
    """The minutes a draft holds, with its findings. Never raises on any document."""
    return _Reader(vocab, directory, received, subject, doc).read()
