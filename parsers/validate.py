"""The validation rules of the spec. Each is on, off, error or warning in the rules file.

Every finding says what is wrong, where (the line, or the table row and column)
and how to fix it, in the draft's language.
"""

from __future__ import annotations

from collections.abc import Callable

from parsers.model import ActionItem, Finding, Minutes, Place
from parsers.vocabulary import Vocabulary, simplified


class _Findings:
    def __init__(self, vocab: Vocabulary, lang: str) -> None:
        self.vocab = vocab
        self.lang = lang
        self.found: list[Finding] = []

    def add(self, rule: str, place: Place | None, zh: str, en: str) -> None:
        severity = self.vocab.severity(rule)
        if severity == "off":
            return
        where = place.text(self.lang) if place else ""
        self.found.append(Finding(severity, rule, zh if self.lang == "zh" else en, where))


def validate(minutes: Minutes, vocab: Vocabulary, places: dict[str, Place], source: str) -> list[Finding]:
    f = _Findings(vocab, minutes.language)
    meeting = minutes.meeting
    if not meeting.date:
        f.add(
            "meeting_date_present",
            places.get("date") or places.get("time"),
            "没有会议日期:请写“会议时间:2024年5月20日 14:00-15:30”。",
            "The meeting date is missing: write “Date: 2024-05-20”.",
        )
    if not meeting.name:
        f.add(
            "meeting_name_present",
            None,
            "没有会议名称:请写“会议名称:…”。",
            "The meeting name is missing: write “Meeting: …”.",
        )
    if meeting.host is None:
        f.add(
            "host_named",
            None,
            "没有读到主持人:请加一行“主持人:姓名”;否则以记录人为主持人。",
            "No host was read: add “Host: name”; otherwise the recorder is taken as the host.",
        )
    if meeting.recorder is None:
        f.add(
            "recorder_named",
            None,
            "没有读到记录人:请加一行“记录人:姓名”;否则以发件人为记录人。",
            "No recorder was read: add “Recorder: name”; otherwise the sender is taken as the recorder.",
        )
    _people(minutes, f)
    for item in minutes.items:
        _item(item, f)
    limit = vocab.limits.get("attendees", 8)
    if len(minutes.attendees) > limit:
        f.add(
            "max_attendees",
            places.get("attendees"),
            f"参会人有{len(minutes.attendees)}位,超过建议的{limit}位:请确认每位都必须参加。",
            f"{len(minutes.attendees)} attendees, more than the suggested {limit}: check that each one is needed.",
        )
    topics = vocab.limits.get("agenda_topics", 5)
    if len(minutes.agenda) > topics:
        f.add(
            "max_agenda_topics",
            None,
            f"议程有{len(minutes.agenda)}项,超过建议的{topics}项:可考虑拆分会议。",
            f"{len(minutes.agenda)} agenda topics, more than the suggested {topics}: consider splitting the meeting.",
        )
    return f.found


def validate_item(item: ActionItem, vocab: Vocabulary, lang: str) -> list[Finding]:
    """The checks a draft's item gets, for an item added on its own (`新增: …` in a reply)."""
    f = _Findings(vocab, lang)
    _item(item, f)
    return f.found


def _people(minutes: Minutes, f: _Findings) -> None:
    reported: set[str] = set()
    for mention, person, place in minutes.attendee_mentions:
        key = person.email or person.name
        if not person.known and not person.email and key not in reported:
            reported.add(key)
            f.add(
                "people_resolve",
                place,
                f"{person.name}不在通讯录中,也没有邮箱地址:请写成“{person.name} <邮箱>”,或请管理员把他/她加入通讯录。",
                f"{person.name} is not in the directory and has no address: write “{person.name} <address>”, "
                "or ask the administrator to add them.",
            )
        written = simplified(mention.department) if mention.department else ""
        if person.known and written and written != person.department and key not in reported:
            reported.add(key)
            f.add(
                "department_matches",
                place,
                f"{person.name}写在{written}下,通讯录中是{person.department}:请核对部门。",
                f"{person.name} is listed under {written} but the directory has {person.department}: check the department.",
            )


def _item(item: ActionItem, f: _Findings) -> None:
    n = item.no
    label_zh = f"第{n}项行动项"
    label_en = f"Action item {n}"
    add: Callable[..., None] = f.add
    if not item.title.strip():
        add(
            "title_present",
            item.place_of("title"),
            f"{label_zh}没有内容:请写明要做什么。",
            f"{label_en} has no title: say what is to be done.",
        )
    if not item.owners:
        add(
            "owner_present",
            item.place_of("owner"),
            f"{label_zh}没有负责人:请填写一位负责人。",
            f"{label_en} has no owner: name exactly one.",
        )
    elif len(item.owners) > 1:
        names = "、".join(p.name for p in item.owners)
        add(
            "single_owner",
            item.place_of("owner"),
            f"{label_zh}有{len(item.owners)}位负责人({names}):每项只能有一位负责人;其他人可写入“所需支持”,或拆成多项。",
            f"{label_en} has {len(item.owners)} owners ({', '.join(p.name for p in item.owners)}): exactly one is "
            "required; put the others under support, or split the item.",
        )
    else:
        owner = item.owners[0]
        if not owner.known and not owner.email:
            add(
                "people_resolve",
                item.place_of("owner"),
                f"{label_zh}的负责人{owner.name}不在通讯录中,也没有邮箱地址:请写成“{owner.name} <邮箱>”。",
                f"The owner of {label_en.lower()}, {owner.name}, is not in the directory and has no address: "
                f"write “{owner.name} <address>”.",
            )
        written = simplified(item.department) if item.department else ""
        if owner.known and written and written != owner.department:
            add(
                "department_matches",
                item.place_of("department"),
                f"{label_zh}写的部门是{written},通讯录中{owner.name}属于{owner.department}:请核对。",
                f"{label_en} names {written}, but the directory has {owner.name} in {owner.department}: check it.",
            )
    if item.due is None:
        if item.due_vague:
            add(
                "concrete_deadline",
                item.place_of("due"),
                f"{label_zh}的截止时间“{item.due_text}”不是具体日期:请写明到日,例如 2024-06-10。",
                f"{label_en}: the deadline “{item.due_text}” is not a day: write a date such as 2024-06-10.",
            )
        elif item.due_text:
            add(
                "concrete_deadline",
                item.place_of("due"),
                f"{label_zh}的截止时间“{item.due_text}”无法识别:请写成 2024-06-10 或 6月10日。",
                f"{label_en}: the deadline “{item.due_text}” cannot be read: write 2024-06-10 or June 10.",
            )
        else:
            add(
                "concrete_deadline",
                item.place_of("due"),
                f"{label_zh}没有截止时间:请写明到日,例如 2024-06-10。",
                f"{label_en} has no deadline: write a date such as 2024-06-10.",
            )
    if not item.criterion and item.criterion_asked:
        add(
            "criterion_present",
            item.place_of("criterion"),
            f"{label_zh}没有交付标准:请写明怎样才算完成(例如交付的文档或数据)。",
            f"{label_en} has no acceptance criterion: say what counts as done (a document, a figure).",
        )
    elif not item.criterion and f.vocab.severity("criterion_present") != "off":
        # The layout has no criterion column (the record-sheet template): worth saying, not refusing.
        f.found.append(
            Finding(
                "warning",
                "criterion_present",
                f"{label_zh}没有交付标准:表格中没有“交付标准”一栏,建议加上,写明怎样才算完成。"
                if f.lang == "zh"
                else f"{label_en} has no acceptance criterion: the table has no column for one; "
                "consider adding it.",
                item.place.text(f.lang),
            )
        )


def unread_lines(lines: list[tuple[str, Place]], vocab: Vocabulary, lang: str) -> list[Finding]:
    """Lines under the action items that are not understood as items."""
    f = _Findings(vocab, lang)
    for text, place in lines:
        short = text if len(text) <= 40 else f"{text[:40]}…"
        f.add(
            "items_understood",
            place,
            f"行动项部分的“{short}”没有被识别为行动项:请用表格(行动项/负责人/截止时间/交付标准),"
            "或写成“【行动项1】由某某负责,于2024年6月10日前完成…,交付成果:…”。",
            f"“{short}” under the action items was not understood as an item: use a table "
            "(Action / Owner / Due / Deliverable) or write “Action 1: owner …, due …, deliverable …”.",
        )
    return f.found


def no_items_read(place: Place, vocab: Vocabulary, lang: str) -> list[Finding]:
    """An action-item section or table was there and not one item came out of it."""
    f = _Findings(vocab, lang)
    f.add(
        "items_found",
        place,
        "行动项部分没有读到任何行动项:请用表格(行动项/负责人/截止时间/交付标准),"
        "或每项写成“【行动项1】由某某负责,于2024年6月10日前完成…,交付成果:…”。",
        "No action item could be read under the action items: use a table (Action / Owner / Due / "
        "Deliverable) or write each as “Action 1: owner …, due …, deliverable …”.",
    )
    return f.found
