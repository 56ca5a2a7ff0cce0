"""The arguments of a delay or a blocked line: the new date, the reason, the support asked for."""

from __future__ import annotations

import re
from datetime import date

from parsers.command_types import Command, CommandWords, Problem
from parsers.dates import DateReading, parse_date
from parsers.vocabulary import simplified

_FILLER = re.compile(r"^(?:目前|现在|暂时|眼下|当前|一直|currently|now|still)\s*$", re.I)


TRIM = " ,;。、:"  # after NFKC the full-width forms are these


_AIMED = re.compile(r"到|至|\bto\b|\buntil\b|\btill\b|new due", re.I)


_CLAUSES = re.compile(r"\s*[,;。，；?？!！]\s*|\s+[-—–]+\s+|(?<=[a-z0-9])\.\s+")


def delay(base: Command, tail: str, words: CommandWords, reply_day: date) -> Command:
    _, labelled = after_label(tail, words.reason_labels)
    clauses = [c for c in _CLAUSES.split(tail) if c.strip(TRIM)]
    # The new date is in the clause that names a day, preferring one aimed at (延到, 至, to):
    # "因供应商未报价,延到7月26日", "本周五前完成不了,延到下周二", "delay, short of staff".
    dated_clauses = [c for c in clauses if parse_date(c, reply_day).value is not None]
    aimed = [c for c in dated_clauses if _AIMED.search(c)]
    dated = (aimed or dated_clauses or [""])[0]
    if not dated:
        dated = next((c for c in clauses if parse_date(c, reply_day, words.vague_dates).vague), "")
    others = [c.strip(TRIM) for c in clauses if c is not dated]
    reason = labelled.replace(dated, "").strip(TRIM) if labelled else "; ".join(o for o in others if o)
    reason = after_label(reason, words.reason_labels)[1] or reason
    before = after_label(dated, words.reason_labels)[0] if dated else ""
    reading = parse_date(before, reply_day, words.vague_dates)
    if reading.value is not None and not re.search(r"\d{4}", before):
        reading = DateReading(_nearest_year(reading.value, reply_day), text=reading.text)
    date_text = before.strip(" :")
    if reading.value is None:
        problem = Problem.VAGUE_DATE if reading.vague else Problem.NO_DATE
        return with_(base, date_text=date_text, reason=reason, problem=problem)
    if reading.value <= reply_day:
        return with_(
            base, new_date=reading.value, date_text=date_text, reason=reason, problem=Problem.DATE_PASSED
        )
    missing = None if reason else Problem.NO_REASON
    return with_(base, new_date=reading.value, date_text=date_text, reason=reason, problem=missing)


def _nearest_year(day: date, reply_day: date) -> date:
    """A new date written without its year: this year's, when it passed less than two months ago
    (7月5日 written on 10 July is a date to ask about), else the next one (1月10日 in May)."""
    this_year = _same_day(day, reply_day.year) or day
    if this_year >= reply_day or (reply_day - this_year).days <= 60:
        return this_year
    return _same_day(day, reply_day.year + 1) or this_year


def _same_day(day: date, year: int) -> date | None:
    try:
        return day.replace(year=year)
    except ValueError:
        return None


def blocked(base: Command, tail: str, words: CommandWords) -> Command:
    """A reason is needed; the support asked for may be labelled (需要: 法务部审核) or just said."""
    before, support = after_label(tail, words.support_labels)
    _, labelled_reason = after_label(before, words.reason_labels)
    reason = (labelled_reason or before.strip() or support).strip(TRIM)
    if not reason or _FILLER.match(reason):
        return with_(base, support=support, problem=Problem.NO_REASON)
    return with_(base, reason=reason, support=support or reason)


def after_label(text: str, labels: tuple[str, ...]) -> tuple[str, str]:
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
    return text[: best[0]].strip(TRIM), text[best[1] :].strip(TRIM)


def with_(base: Command, **changes: object) -> Command:
    return Command(**{**base.__dict__, **changes})
