"""What a command line is read into: the verb, the item, and what it needs or lacks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Verb(StrEnum):
    DONE = "done"
    PROGRESS = "progress"
    DELAY = "delay"
    BLOCKED = "blocked"
    CANCEL = "cancel"
    VERIFY = "verify"
    REJECT = "reject"
    # The host's and the recorder's edits of a confirmed meeting's items:
    REASSIGN = "reassign"  # "#3 负责人改为 李娜"
    RESCHEDULE = "reschedule"  # "#3 截止改为 7月30日": the plan moves, not only the due date
    ADD = "add"  # "新增: 评估报价;负责人:李娜;截止:6月30日"


class Problem(StrEnum):
    NO_DATE = "no_date"
    VAGUE_DATE = "vague_date"
    DATE_PASSED = "date_passed"
    NO_REASON = "no_reason"
    NO_SUPPORT = "no_support"
    BAD_PERCENT = "bad_percent"
    NO_ASSIGNEE = "no_assignee"
    NO_ITEM_TEXT = "no_item_text"


@dataclass(frozen=True)
class CommandWords:
    verbs: tuple[tuple[Verb, str], ...]  # (verb, word); any order, the longest word wins
    reason_labels: tuple[str, ...]
    support_labels: tuple[str, ...]
    not_commands: tuple[str, ...] = ()  # line starts that look like a command and are not (完成情况)
    vague_dates: tuple[str, ...] = ()
    needs_item: tuple[str, ...] = ()  # words that are a command only after an item reference


@dataclass(frozen=True)
class Command:
    verb: Verb
    item: int | None  # None: the line names no item
    line: str
    record: str = ""  # a record number written on the line (2024-OPS-001#2)
    note: str = ""
    percent: int | None = None
    new_date: date | None = None
    date_text: str = ""
    reason: str = ""
    support: str = ""
    assignee: str = ""  # reassign: the new owner as written
    problem: Problem | None = None
    word_inside: bool = False  # the command word came after other words ("… pls update 一下")


@dataclass(frozen=True)
class CommandReading:
    commands: tuple[Command, ...]
    rest: str  # the lines that are not commands
