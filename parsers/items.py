"""One action item from a table row or a sentence: owner, departments, deadline, criterion."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from parsers.dates import parse_date
from parsers.model import ActionItem, Place
from parsers.people import Directory, Person, parse_people_list, resolve
from parsers.vocabulary import Vocabulary, simplified

_SEGMENT = re.compile(r"\s*[；;|]\s*|\s+/\s+")
_EN_SENTENCE = re.compile(
    r"^(?P<who>[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3})\s+(?:will|shall|is to|to|needs to)\s+"
    r"(?P<what>.+?)\s+(?:by|before|no later than)\s+(?P<by>[^.;]+?)\s*(?:[.;]|$)"
    r"(?:\s*(?:Acceptance|Deliverable|Done when|Criterion)\s*:\s*(?P<done>.+))?$",
)


@dataclass
class ItemReader:
    vocab: Vocabulary
    directory: Directory
    seen_people: dict[str, Person]  # shared with the draft's reader: one person, one resolution

    def from_row(
        self, no: int, values: dict[str, str], place: Place, cells: dict[str, Place], ref: date
    ) -> ActionItem:
        number = re.sub(r"\D", "", values.get("no", ""))
        item = ActionItem(
            int(number) if number else no, values.get("title", ""), place=place, cell_places=cells
        )
        self.owners(item, values.get("owner", ""))
        self.departments(item, values.get("department", ""))
        self.supporting(item, values.get("supporting", ""))
        self.due(item, values.get("due", ""), ref)
        item.criterion = self.text_value(values.get("criterion", ""))
        item.criterion_asked = "criterion" in values
        item.support = self.text_value(values.get("support", ""))
        item.notes = self.text_value(values.get("notes", ""))
        item.priority = self.vocab.priority_of(values.get("priority", "")) or ""
        item.status = self.vocab.status_of(values.get("status", "")) or "not_started"
        return item

    def from_inline_fields(self, text: str) -> dict[str, str] | None:
        """ "修订管理办法;负责人:周婷;完成时间:4月3日;交付标准:…", "Task / Owner: Wu Gang / Due: 4/24":
        the fields of a row written on one line, or None when it is not one."""
        values: dict[str, str] = {}
        for segment in _SEGMENT.split(text):
            label, _, value = segment.partition(":") if ":" in segment else segment.partition("：")
            column = self.vocab.column_of(label) if value.strip() and len(label) <= 24 else None
            if column and column not in values:
                values[column] = value.strip()
            elif segment.strip() and "title" not in values:
                values["title"] = segment.strip()
        labelled = set(values) - {"title"}
        return values if "owner" in labelled and len(labelled) >= 2 else None

    def from_english(self, no: int, sentence: str, place: Place, ref: date) -> ActionItem | None:
        """ "Zhang Wei will deliver the revised budget by July 3. Acceptance: signed-off budget sheet." """
        match = _EN_SENTENCE.match(sentence.strip())
        if match is None:
            return None
        item = ActionItem(no, match.group("what").strip(), place=place)
        self.owners(item, match.group("who"))
        self.due(item, match.group("by"), ref)
        item.criterion = (match.group("done") or "").strip().rstrip(".")
        return item

    def from_sentence(self, no: int, sentence: str, place: Place, ref: date) -> ActionItem:
        english = self.from_english(no, sentence, place, ref)
        if english is not None:
            return english
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
        support = re.search(
            r"(?:所需支持|需要支持|需)\s*[:：]?\s*([^;；。]*?提供[^;；。,，]*)", s
        ) or re.search(r"((?:若需|如需|如有需要)[^;；。]*?(?:支援|支持|协助|协调)[^;；。]*)", s)
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
        text, helpers = self.lead_and_support(text)
        item.owner_mentions = [
            m for m in parse_people_list(text, self.vocab.titles) if not self.vocab.is_none(m.name)
        ]
        for mention in parse_people_list(helpers, self.vocab.titles):
            helper = resolve(mention, self.directory, self.seen_people)
            if helper.name not in item.supporting:
                item.supporting.append(helper.name)
        item.owners = [resolve(m, self.directory, self.seen_people) for m in item.owner_mentions]
        if item.owner_mentions and item.owner_mentions[0].department and not item.department:
            item.department = item.owner_mentions[0].department

    def lead_and_support(self, text: str) -> tuple[str, str]:
        """ "孙浩(牵头)、吴刚(配合)", "lead: Sun Hao; support: Wu Gang": (the lead, the helpers).

        Without such marks the cell is returned whole, and two names stay two owners.
        """
        folded = simplified(text)
        parts = [p.strip() for p in re.split(r"[、,，;；/]|\s+and\s+|和|及", folded) if p.strip()]
        lead: list[str] = []
        helpers: list[str] = []
        marked = False
        for part in parts:
            tag = " ".join(re.findall(r"[((]([^))]*)[))]", part))
            label, _, rest = part.partition(":")
            if not tag and rest and len(label) <= 12:
                tag, part = label, rest
            name = re.sub(r"[((][^))]*[))]", "", part).strip()
            lowered = tag.casefold()
            if any(w.casefold() in lowered for w in self.vocab.support_markers if w):
                helpers.append(name)
                marked = True
            elif any(w.casefold() in lowered for w in self.vocab.lead_markers if w):
                lead.append(name)
                marked = True
            else:
                lead.append(part)
        if not marked:
            return text, ""
        return "、".join(lead), "、".join(helpers)

    def supporting(self, item: ActionItem, text: str) -> None:
        """A column of its own (协办单位): departments or people who help, never owners."""
        if not text or self.vocab.is_none(text):
            return
        for part in re.split(r"[、,，;；/+&]|\s和\s|及", simplified(text)):
            name = self.directory.canonical_department(part.strip()) if part.strip() else ""
            if name and name not in item.supporting:
                item.supporting.append(name)

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


def item_from_line(text: str, no: int, vocab: Vocabulary, directory: Directory, ref: date) -> ActionItem:
    """One item written on one line after the minutes were confirmed ("新增: 标题;负责人:李娜;
    截止:6月30日"), read as the same line in a draft would be: labelled fields, or a sentence."""
    reader = ItemReader(vocab, directory, {})
    place = Place(f"新增的第{no}项", f"new item {no}")
    values = reader.from_inline_fields(text)
    if values is not None:
        return reader.from_row(no, values, place, {}, ref)
    return reader.from_sentence(no, text, place, ref)
