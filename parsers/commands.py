"""Item commands in a reply, one a line: `#1 完成`, `#2 延期至6月30日 原因: 等供应商报价`.

A line is a command only when it starts with an item reference followed by a command word,
or with a command word itself; prose that merely contains 完成 somewhere is not one. The
line keeps what the command needs and names what is missing (`problem`), so the service
can ask for exactly that instead of guessing. Relative dates are read against the reply's
own date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from parsers.dates import parse_date
from parsers.vocabulary import simplified


class Verb(StrEnum):
    DONE = "done"
    PROGRESS = "progress"
    DELAY = "delay"
    BLOCKED = "blocked"
    CANCEL = "cancel"
    VERIFY = "verify"
    REJECT = "reject"


class Problem(StrEnum):
    NO_DATE = "no_date"
    VAGUE_DATE = "vague_date"
    DATE_PASSED = "date_passed"
    NO_REASON = "no_reason"
    NO_SUPPORT = "no_support"
    BAD_PERCENT = "bad_percent"


@dataclass(frozen=True)
class CommandWords:
    verbs: tuple[tuple[Verb, str], ...]  # (verb, word); any order, the longest word wins
    reason_labels: tuple[str, ...]
    support_labels: tuple[str, ...]
    not_commands: tuple[str, ...] = ()  # line starts that look like a command and are not (完成情况)
    vague_dates: tuple[str, ...] = ()


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
    problem: Problem | None = None


@dataclass(frozen=True)
class CommandReading:
    commands: tuple[Command, ...]
    rest: str  # the lines that are not commands


_BULLET = re.compile(r"^\s*(?:[-*•·●▪]\s*)?")  # never ">": a quoted line is not a command
_ITEM_REF = re.compile(
    r"^(?:\[?(?P<record>\d{4}-[A-Z]{2,6}-\d{3,})\]?\s*)?"
    r"(?:#\s*(?P<hash>\d{1,3})|第\s*(?P<zh>\d{1,3}|[一二三四五六七八九十]{1,3})\s*(?:项|条|個|个)"
    r"|item\s*#?\s*(?P<en>\d{1,3}))",
    re.I,
)
_SEPARATOR = re.compile(r"^[\s:,.;、。,;:\-–—]*")
_PERCENT = re.compile(r"(\d{1,4})\s*%")
_TRIM = " ,;。、:"  # after NFKC the full-width forms are these
_ZH_NUMBERS = dict(zip("一二三四五六七八九十", range(1, 11), strict=True))


def read_commands(text: str, words: CommandWords, reply_day: date) -> CommandReading:
    commands: list[Command] = []
    rest: list[str] = []
    for line in text.splitlines():
        command = read_line(line, words, reply_day)
        if command is None:
            rest.append(line)
        else:
            commands.append(command)
    return CommandReading(tuple(commands), "\n".join(rest).strip())


def read_line(line: str, words: CommandWords, reply_day: date) -> Command | None:
    # NFKC before anything: ＃ and full-width digits become # and digits.
    folded = simplified(_BULLET.sub("", line, count=1)).strip()
    if not folded:
        return None
    record, item, after_ref = _item_reference(folded)
    if item is not None:
        folded = _SEPARATOR.sub("", after_ref, count=1)
    found = _verb_at_start(folded, words)
    if found is None:
        return None
    verb, word = found
    tail = folded[len(word) :]
    if item is None:
        # "完成 #3", "完成第三项": the reference may follow the word.
        record, item, after_ref = _item_reference(_SEPARATOR.sub("", tail, count=1))
        if item is not None:
            tail = after_ref
    tail = _SEPARATOR.sub("", tail, count=1).strip()
    return _arguments(verb, item, record, line.strip(), tail, words, reply_day)


def _item_reference(text: str) -> tuple[str, int | None, str]:
    match = _ITEM_REF.match(text)
    if match is None:
        return "", None, text
    raw = match.group("hash") or match.group("en") or match.group("zh")
    number = int(raw) if raw.isdigit() else _zh_number(raw)
    return match.group("record") or "", number, text[match.end() :]


def _zh_number(text: str) -> int | None:
    if text in _ZH_NUMBERS:
        return _ZH_NUMBERS[text]
    if text.startswith("十") and len(text) == 2:
        return 10 + _ZH_NUMBERS.get(text[1], 0)
    if len(text) == 2 and text.endswith("十"):
        return _ZH_NUMBERS.get(text[0], 0) * 10
    if len(text) == 3 and text[1] == "十":
        return _ZH_NUMBERS.get(text[0], 0) * 10 + _ZH_NUMBERS.get(text[2], 0)
    return None


def _verb_at_start(text: str, words: CommandWords) -> tuple[Verb, str] | None:
    lowered = text.casefold()
    if any(lowered.startswith(simplified(n).casefold()) for n in words.not_commands if n):
        return None
    for verb, word in sorted(words.verbs, key=lambda vw: -len(vw[1])):
        folded = simplified(word).casefold()
        if not folded or not lowered.startswith(folded):
            continue
        following = lowered[len(folded) : len(folded) + 1]
        if folded[-1].isascii() and folded[-1].isalnum() and following.isascii() and following.isalnum():
            continue  # "done" in "doner", "ok" in "okay"
        return verb, text[: len(folded)]
    return None


def _arguments(
    verb: Verb, item: int | None, record: str, line: str, tail: str, words: CommandWords, reply_day: date
) -> Command:
    base = Command(verb, item, line, record)
    if verb == Verb.PROGRESS:
        percent = _PERCENT.search(tail)
        note = _PERCENT.sub("", tail, count=1).strip(_TRIM) if percent else tail
        if percent and int(percent.group(1)) > 100:
            return _with(base, note=note, problem=Problem.BAD_PERCENT)
        return _with(base, note=note, percent=int(percent.group(1)) if percent else None)
    if verb == Verb.DELAY:
        return _delay(base, tail, words, reply_day)
    if verb == Verb.BLOCKED:
        return _blocked(base, tail, words)
    if verb == Verb.REJECT:
        reason = _after_label(tail, words.reason_labels)[1] or tail
        return _with(base, reason=reason, problem=None if reason else Problem.NO_REASON)
    if verb == Verb.CANCEL:
        return _with(base, reason=_after_label(tail, words.reason_labels)[1] or tail)
    return _with(base, note=tail)


def _delay(base: Command, tail: str, words: CommandWords, reply_day: date) -> Command:
    before, reason = _after_label(tail, words.reason_labels)
    if not reason:
        # "延期到下周五,等供应商报价": the reason is what follows the date's clause.
        parts = re.split(r"[,;,;。]\s*", before, maxsplit=1)
        before, reason = parts[0], (parts[1] if len(parts) > 1 else "")
    reading = parse_date(before, reply_day, words.vague_dates)
    date_text = before.strip(" :")
    if reading.value is None:
        problem = Problem.VAGUE_DATE if reading.vague else Problem.NO_DATE
        return _with(base, date_text=date_text, reason=reason, problem=problem)
    if reading.value <= reply_day:
        return _with(
            base, new_date=reading.value, date_text=date_text, reason=reason, problem=Problem.DATE_PASSED
        )
    missing = None if reason else Problem.NO_REASON
    return _with(base, new_date=reading.value, date_text=date_text, reason=reason, problem=missing)


def _blocked(base: Command, tail: str, words: CommandWords) -> Command:
    before, support = _after_label(tail, words.support_labels)
    _, labelled_reason = _after_label(before, words.reason_labels)
    reason = labelled_reason or before.strip()
    if not reason:
        return _with(base, support=support, problem=Problem.NO_REASON)
    return _with(base, reason=reason, support=support, problem=None if support else Problem.NO_SUPPORT)


def _after_label(text: str, labels: tuple[str, ...]) -> tuple[str, str]:
    """Split at the first label ("原因:", "reason:"): (before it, after it)."""
    lowered = text.casefold()
    best: tuple[int, int] | None = None
    for label in labels:
        folded = simplified(label).casefold()
        if not folded:
            continue
        pattern = (
            re.escape(folded) + r"\s*[::]?" if not folded.isascii() else rf"\b{re.escape(folded)}\b\s*:?"
        )
        match = re.search(pattern, lowered)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), match.end())
    if best is None:
        return text, ""
    return text[: best[0]].strip(_TRIM), text[best[1] :].strip(_TRIM)


def _with(base: Command, **changes: object) -> Command:
    return Command(**{**base.__dict__, **changes})
