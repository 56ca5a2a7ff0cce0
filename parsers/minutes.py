"""Read a draft's blocks into typed minutes. Pure: the directory and the words come in as values.

The reader walks the blocks once, keeping the section it is in (from numbered
headings, Markdown headings, Word heading styles, or a bare section label).
Fields come from `label:value` lines, from a label line followed by its value
(the record-sheet layout), and from two-column tables. Items come from tables
whose header names the columns, from record-sheet tables written one cell per
line, and from sentences (【行动项1】由…负责,于…前完成…).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import date

from parsers.assembly import Assembler
from parsers.document import Document, Line, Table
from parsers.items import ItemReader
from parsers.model import AgendaTopic, Minutes, Place
from parsers.people import Directory, Person
from parsers.vocabulary import Vocabulary, simplified_text, strip_numbering

_HEADING_NUMBER = re.compile(r"^\s*(?:[((]?[一二三四五六七八九十]+[))、.]|#+)\s*")
_LIST_NUMBER = re.compile(r"^\s*(?:\d+[、.)]|[((]\d+[))]|[-*•·●▪])\s*")
_SENTENCE_ITEM = re.compile(
    r"^[【\[]?\s*(?:行动项|行動項|Action item|Action)\s*(\d+)\s*[】\]]?\s*[:：]?\s*(.+)$", re.I
)
_TEXT_FIELDS = ("background", "goal", "discussion", "disagreements", "consensus")


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

    items_place: Place | None = None

    def __post_init__(self) -> None:
        self.item_reader = ItemReader(self.vocab, self.directory, self.seen_people)

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
        sentence = _SENTENCE_ITEM.match(simplified_text(text))
        if sentence:
            self.sentence_items.append((int(sentence.group(1)), sentence.group(2), place))
            self.pending_field = ""
            return
        label, value = _split_label(text)
        bare = strip_numbering(text)
        is_heading = line.heading or bool(_HEADING_NUMBER.match(text))
        section = self.vocab.section_of(bare) if not value else None
        field_name = self.vocab.field_of(label) if label is not None else self.vocab.field_of(bare)
        if section and (is_heading or not label or not value):  # "Action Items:" is a heading too
            self.section = section
            if section == "items" and self.items_place is None:
                self.items_place = place
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
        elif self.section == "items" and (inline := self.item_reader.from_inline_fields(content)):
            self.item_rows.append((inline, place, {}))
        elif self.section == "items" and _LOOKS_LIKE_ITEM.search(text):
            self.sentence_items.append((len(self.sentence_items) + 1, content, place))
        elif self.section == "items":
            # Never drop silently what may be an action item: the recorder is told it was not read.
            self.unread_item_lines.append((content, place))
        elif re.match(r"^(?:下次会议|下次會議|next meeting)", simplified_text(content), re.I):
            self.next_meeting_text.append(content)

    # -- tables ----------------------------------------------------------------

    def table(self, table: Table) -> None:
        if not table.rows:
            return
        header, columns, body = self.header_of(table)
        if "owner" in columns and ("title" in columns or "due" in columns):
            self.items_place = self.items_place or self.cell_place(table, 0, None)
            self.items_table(table, header, columns, body)
            return
        if "title" in columns and ("summary" in columns or "decision" in columns):
            self.agenda_table(table, columns)
            return
        self.fields_table(table)

    def header_of(self, table: Table) -> tuple[list[str], list[str | None], int]:
        """Column labels, their fields, and the first body row.

        A two-level header (责任人 over 姓名 | 部门, 完成时限 over 计划 | 实际, as Word and WPS
        make them with merged cells) is read as one: the lower label where it names a column
        of its own, else the upper one.
        """
        top = table.rows[0]
        columns = [self.vocab.column_of(cell) for cell in top]
        if len(table.rows) < 3 or not _spans_across(top):
            return top, columns, 1
        below = table.rows[1]
        lower = [
            self.vocab.column_of(cell) if cell != above else None
            for cell, above in zip(below, top, strict=False)
        ]
        if not any(lower) or any(_DATE_LIKE.search(cell) for cell in below):
            return top, columns, 1
        merged = [low or high for low, high in zip(lower, columns, strict=False)]
        labels = [f"{a}/{b}" if a != b else a for a, b in zip(top, below, strict=False)]
        return labels, merged, 2

    def fields_table(self, table: Table) -> None:
        for r, full_row in enumerate(table.rows):
            row = _without_repeats(full_row)  # a merged cell fills every column it spans
            if len(row) < 2:
                continue
            if len(row) >= 4 and self.vocab.field_of(row[2]):
                # label | value | label | value, as Word forms put two fields on a row
                for c in range(0, len(row) - 1, 2):
                    name = self.vocab.field_of(row[c])
                    if name:
                        self.set_field(name, row[c + 1], self.cell_place(table, r, row[c]))
                continue
            name = self.vocab.field_of(row[0])
            if name:
                self.set_field(name, "\n".join(c for c in row[1:] if c), self.cell_place(table, r, row[0]))

    def items_table(self, table: Table, header: list[str], columns: list[str | None], body: int) -> None:
        for r, row in enumerate(table.rows[body:], start=body):
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

    def finish(self) -> Minutes:
        return Assembler(
            self.vocab, self.directory, self.received, self.subject, self.doc, self.seen_people,
            self.fields, self.title_line, self.next_meeting_text, self.item_rows, self.sentence_items,
            self.unread_item_lines, self.minutes, self.items_place,
        ).finish()  # fmt: skip


_LOOKS_LIKE_ITEM = re.compile(r"负责|負責|owner|\bwill\b.+\bby\b", re.I)
_DATE_LIKE = re.compile(r"\d{1,4}[-/.年月]\d{1,2}")


def _spans_across(row: list[str]) -> bool:
    return any(a == b and a.strip() for a, b in itertools.pairwise(row))


def _without_repeats(row: list[str]) -> list[str]:
    out: list[str] = []
    for cell in row:
        if not out or cell != out[-1] or not cell:
            out.append(cell)
    return out


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
