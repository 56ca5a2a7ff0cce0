"""Dates and times as recorders write them, resolved against a reference day.

The reference is the meeting date for a draft and the reply's date for a
command. A date without a year takes the reference's year and rolls into the
next year when it would fall before the reference. Vague words (尽快, ASAP,
TBD, a quarter or a month alone) are reported, never turned into a date.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from parsers.vocabulary import simplified

WEEKDAYS_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
WEEKDAYS_EN = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
MONTHS_EN = (
    {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
    | {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
    | {"sept": 9}
)
ZH_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


@dataclass(frozen=True)
class DateReading:
    value: date | None
    vague: str = ""  # the vague word found, when there is no day
    text: str = ""

    @property
    def ok(self) -> bool:
        return self.value is not None


def _zh_number(text: str) -> int | None:
    """二十七 → 27, 十二 → 12, 5 → 5."""
    if text.isdigit():
        return int(text)
    if not text or any(ch not in ZH_DIGITS and ch != "十" for ch in text):
        return None
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (ZH_DIGITS.get(tens, 1) if tens else 1) * 10 + (ZH_DIGITS.get(ones, 0) if ones else 0)
    value = 0
    for ch in text:
        value = value * 10 + ZH_DIGITS[ch]
    return value


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _roll(month: int, day: int, ref: date) -> date | None:
    found = _safe_date(ref.year, month, day)
    if found is not None and found < ref:
        found = _safe_date(ref.year + 1, month, day)
    return found


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


NUM = r"(\d{1,2}|[一二三四五六七八九十两]{1,3})"

_ISO = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?(?!\d)")
_ZH_MD = re.compile(rf"(?<![\d年])(\d{{1,2}}|[一二三四五六七八九十]{{1,3}})\s*月\s*{NUM}\s*[日号]")
_ZH_MD_LOOSE = re.compile(r"(?<![\d.年/])(\d{1,2})\s*月\s*(\d{1,2})(?![\d.:])")
_DOT_MD = re.compile(r"(?<![\d.:/-])(\d{1,2})[./](\d{1,2})(?![\d.:/-])")
_ZH_WEEK = re.compile(r"(下下|下|本|这|今|上)?\s*(?:个)?(?:周|星期|礼拜)([一二三四五六日天七])")
_ZH_MONTH_END = re.compile(r"(下个?|本|这个?|当)?月(底|末)")
_ZH_NAMED_MONTH_END = re.compile(
    r"(?<![\d年])(\d{1,2}|[一二三四五六七八九十]{1,3})\s*月\s*(?:底|末|最后一天)"
)
_ZH_RELATIVE_DAY = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}
_ZH_IN_DAYS = re.compile(rf"{NUM}\s*(?:天|日)(?:内|后|之内|之后)")
_EN_MD = re.compile(
    r"\b(?:(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\.?|([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?)(?:,?\s*(\d{4}))?\b"
)
_EN_WEEK = re.compile(
    r"\b(next|this|coming)?\s*(monday|mon|tuesday|tues|tue|wednesday|wed|thursday|thurs|thur|thu|friday|fri|saturday|sat|sunday|sun)\b",
    re.I,
)
_EN_RELATIVE = {"today": 0, "tomorrow": 1}
_EN_MONTH_END = re.compile(r"\bend of (the |this |next )?month\b", re.I)
_QUARTER = re.compile(
    r"(?:\b|^)(?:Q[1-4]|[一二三四1-4]季度|第[一二三四1-4]季度|H[12]|上半年|下半年)(?:\b|$)", re.I
)
_DAY_ONLY = re.compile(r"(?<![\d月])(\d{1,2})\s*[号號](?!\S*月)|\b(\d{1,2})(?:st|nd|rd|th)\b", re.I)
_ZH_MONTH_DAY_RELATIVE = re.compile(
    r"(下下|下|本|这)\s*个?\s*月\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*[号號日]"
)
_EN_MONTH_ONLY = re.compile(
    r"\b(?:january|february|march|april|may|june|july|august|september|october|november|december|"
    r"jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\b",
    re.I,
)
_MONTH_ONLY = re.compile(
    r"(?<!\d)(\d{1,2}|[一二三四五六七八九十]{1,3})\s*月(?:份|中旬|上旬|下旬|内|中|初)?(?!\s*\d)"
)


def parse_date(text: str, ref: date, vague_words: tuple[str, ...] = ()) -> DateReading:
    """The day `text` names, read against `ref`; never a guess."""
    raw = text.strip()
    s = simplified(raw)
    lowered = s.casefold()
    found = _absolute(s, ref) or _relative(s, lowered, ref)
    if found is not None:
        return DateReading(found, text=raw)
    for word in vague_words:
        folded = word.casefold()
        if folded and (
            re.search(rf"\b{re.escape(folded)}\b", lowered) if folded.isascii() else folded in lowered
        ):
            return DateReading(None, vague=word, text=raw)
    month_named = _EN_MONTH_ONLY.search(s)
    if month_named and not re.search(r"\d", s):
        return DateReading(None, vague=month_named.group(0), text=raw)
    quarter = _QUARTER.search(s)
    if quarter:
        return DateReading(None, vague=quarter.group(0).strip(), text=raw)
    month_only = _MONTH_ONLY.search(s)
    if month_only:
        return DateReading(None, vague=month_only.group(0).strip(), text=raw)
    if re.search(r"下\s*(?:个)?(?:周|星期|礼拜)(?![一二三四五六日天七])|next week", lowered):
        return DateReading(None, vague="下周" if "下" in s else "next week", text=raw)
    return DateReading(None, text=raw)


def _absolute(s: str, ref: date) -> date | None:
    m = _ISO.search(s)
    if m:
        return _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _ZH_MD.search(s)
    if m:
        month, day = _zh_number(m.group(1)), _zh_number(m.group(2))
        if month and day:
            return _roll(month, day, ref)
    m = _ZH_MD_LOOSE.search(s)
    if m:
        return _roll(int(m.group(1)), int(m.group(2)), ref)
    m = _EN_MD.search(s)
    if m:
        day_text = m.group(1) or m.group(4)
        month_name = (m.group(2) or m.group(3) or "").lower()
        if month_name in MONTHS_EN:
            year = m.group(5)
            if year:
                return _safe_date(int(year), MONTHS_EN[month_name], int(day_text))
            return _roll(MONTHS_EN[month_name], int(day_text), ref)
    m = _DOT_MD.search(s)
    if m:
        month, day = int(m.group(1)), int(m.group(2))
        if 1 <= month <= 12 and 1 <= day <= 31:
            return _roll(month, day, ref)
    return None


def _relative(s: str, lowered: str, ref: date) -> date | None:
    for word, days in sorted(_ZH_RELATIVE_DAY.items(), key=lambda kv: -len(kv[0])):
        if word in s:
            return ref + timedelta(days=days)
    m = _ZH_WEEK.search(s)
    if m:
        return _weekday(m.group(1) or "", WEEKDAYS_ZH[m.group(2)], ref)
    day_only = _DAY_ONLY.search(s) if not re.search(r"月|\d\s*[-/.]\s*\d", s) else None
    if day_only:
        # "到18号", "Friday 20th": a day of this month, or of the next once it has passed.
        day = int(day_only.group(1) or day_only.group(2))
        found = _safe_date(ref.year, ref.month, day)
        if found is None or found < ref:
            index = ref.month  # the next month, zero-based
            found = _safe_date(ref.year + index // 12, index % 12 + 1, day)
        return found
    month_day = _ZH_MONTH_DAY_RELATIVE.search(s)
    if month_day:
        ahead = {"下下": 2, "下": 1}.get(month_day.group(1), 0)
        day_of_month = _zh_number(month_day.group(2))
        index = ref.month - 1 + ahead
        return _safe_date(ref.year + index // 12, index % 12 + 1, day_of_month) if day_of_month else None
    named = _ZH_NAMED_MONTH_END.search(s)
    if named:
        month = _zh_number(named.group(1))
        if month and 1 <= month <= 12:
            year = ref.year if month >= ref.month else ref.year + 1
            return date(year, month, calendar.monthrange(year, month)[1])
    m = _ZH_MONTH_END.search(s)
    if m:
        months_ahead = 1 if (m.group(1) or "").startswith("下") else 0
        return _month_end(ref, months_ahead)
    within = _ZH_IN_DAYS.search(s)
    if within:
        count = _zh_number(within.group(1))
        if count is not None:
            return ref + timedelta(days=count)
    for word, days in _EN_RELATIVE.items():
        if re.search(rf"\b{word}\b", lowered):
            return ref + timedelta(days=days)
    m = _EN_WEEK.search(s)
    if m:
        prefix = (m.group(1) or "").lower()
        return _weekday({"next": "下", "this": "本"}.get(prefix, ""), WEEKDAYS_EN[m.group(2).lower()], ref)
    m = _EN_MONTH_END.search(s)
    if m:
        return _month_end(ref, 1 if (m.group(1) or "").strip().lower() == "next" else 0)
    return None


def _weekday(prefix: str, weekday: int, ref: date) -> date:
    if prefix in ("本", "这", "今"):
        return _week_start(ref) + timedelta(days=weekday)
    if prefix == "下":
        return _week_start(ref) + timedelta(days=7 + weekday)
    if prefix == "下下":
        return _week_start(ref) + timedelta(days=14 + weekday)
    if prefix == "上":
        return _week_start(ref) - timedelta(days=7 - weekday)
    # A bare weekday: the next one on or after the reference day.
    return ref + timedelta(days=(weekday - ref.weekday()) % 7)


def _month_end(ref: date, months_ahead: int) -> date:
    year, month = ref.year, ref.month + months_ahead
    if month > 12:
        year, month = year + 1, month - 12
    return date(year, month, calendar.monthrange(year, month)[1])


_PERIOD = r"(上午|早上|中午|下午|晚上|am|pm)?\s*"
_TIME = r"(\d{1,2})\s*(?:[:\uff1a]\s*(\d{2})|点\s*(半|\d{1,2}\s*分?)?|时|(?=\s*(?:am|pm)\b))\s*(am|pm)?"
_RANGE = re.compile(rf"{_PERIOD}{_TIME}\s*(?:-|–|—|~|～|至|到|to)\s*{_PERIOD}{_TIME}", re.I)
_SINGLE = re.compile(rf"(?<![\d-]){_PERIOD}{_TIME}", re.I)
_AFTERNOON = ("下午", "晚上", "pm")


def _hhmm(hour: str, minute: str | None, half: str | None, afternoon: bool) -> str | None:
    h = int(hour)
    m = (30 if half == "半" else int(re.sub(r"\D", "", half) or 0)) if half else int(minute or 0)
    if afternoon and h < 12:
        h += 12
    if not (0 <= h <= 23 and 0 <= m <= 59):
        return None
    return f"{h:02d}:{m:02d}"


def _is_afternoon(*markers: str | None) -> bool:
    return any((marker or "").lower() in _AFTERNOON for marker in markers if marker)


def parse_time_range(text: str) -> tuple[str | None, str | None]:
    """'14:00-15:30', '14:00至15:00', '下午2点-3点半', '上午9:00-下午2:00' → ('HH:MM', 'HH:MM')."""
    s = simplified(text)
    m = _RANGE.search(s)
    if m:
        start_pm = _is_afternoon(m.group(1), m.group(5))
        # '下午2点-3点半': a period written once before the range covers its end too.
        end_pm = _is_afternoon(m.group(6), m.group(10)) or (start_pm and not m.group(6))
        return (
            _hhmm(m.group(2), m.group(3), m.group(4), start_pm),
            _hhmm(m.group(7), m.group(8), m.group(9), end_pm),
        )
    m = _SINGLE.search(s)
    if m:
        return _hhmm(m.group(2), m.group(3), m.group(4), _is_afternoon(m.group(1), m.group(5))), None
    return None, None
