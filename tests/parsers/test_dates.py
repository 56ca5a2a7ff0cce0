"""parsers.dates: the forms recorders write, and properties over all days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers.dates import parse_date, parse_time_range

MONDAY = date(2024, 5, 20)
VAGUE = ("尽快", "近期", "asap", "tbd", "待定")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-27", date(2024, 5, 27)),
        ("2024/5/27", date(2024, 5, 27)),
        ("2024.5.27", date(2024, 5, 27)),
        ("2024年5月27日", date(2024, 5, 27)),
        ("2024 年 5 月 27 日前完成", date(2024, 5, 27)),
        ("5月27日前", date(2024, 5, 27)),
        ("五月二十七日", date(2024, 5, 27)),
        ("5.27", date(2024, 5, 27)),
        ("5/27", date(2024, 5, 27)),
        ("本周五", date(2024, 5, 24)),
        ("这周五", date(2024, 5, 24)),
        ("下周一", date(2024, 5, 27)),
        ("下星期三", date(2024, 5, 29)),
        ("下下周一", date(2024, 6, 3)),
        ("周五", date(2024, 5, 24)),
        ("月底", date(2024, 5, 31)),
        ("本月底", date(2024, 5, 31)),
        ("下月底", date(2024, 6, 30)),
        ("明天", date(2024, 5, 21)),
        ("三天内", date(2024, 5, 23)),
        ("June 30", date(2024, 6, 30)),
        ("30 June 2024", date(2024, 6, 30)),
        ("Jun 30th, 2024", date(2024, 6, 30)),
        ("next Monday", date(2024, 5, 27)),
        ("this Friday", date(2024, 5, 24)),
        ("end of month", date(2024, 5, 31)),
        ("下週五", date(2024, 5, 31)),  # Traditional script
        ("3月1日", date(2025, 3, 1)),  # before the meeting: next year
        ("6月底", date(2024, 6, 30)),
        ("3月底", date(2025, 3, 31)),
    ],
)
def test_dates(text: str, expected: date) -> None:
    assert parse_date(text, MONDAY, VAGUE).value == expected


@pytest.mark.parametrize(
    "text", ["尽快", "近期", "ASAP", "TBD", "待定", "Q3", "三季度", "6月", "6月中旬", "下周", "next week", ""]
)
def test_vague_words_are_never_a_date(text: str) -> None:
    reading = parse_date(text, MONDAY, VAGUE)
    assert reading.value is None
    assert reading.vague or not text


def test_a_weekday_written_on_a_wednesday_means_the_next_weeks() -> None:
    wednesday = date(2024, 5, 22)
    assert parse_date("下周五", wednesday).value == date(2024, 5, 31)
    assert parse_date("本周五", wednesday).value == date(2024, 5, 24)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14:00-15:30", ("14:00", "15:30")),
        ("14:00至15:00", ("14:00", "15:00")),
        ("14:00—15:20", ("14:00", "15:20")),
        ("14：00～15：00", ("14:00", "15:00")),
        ("下午2点-3点半", ("14:00", "15:30")),
        ("2024年5月20日 14:00-15:30", ("14:00", "15:30")),
        ("15:00", ("15:00", None)),
        ("上午9:00-下午2:00", ("09:00", "14:00")),
        ("9:30 am - 1 pm", ("09:30", "13:00")),
        ("上午10点至11点", ("10:00", "11:00")),
        ("全天", (None, None)),
    ],
)
def test_time_ranges(text: str, expected: tuple[str | None, str | None]) -> None:
    assert parse_time_range(text) == expected


days = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


@given(day=days, ref=days)
def test_full_dates_read_back_exactly(day: date, ref: date) -> None:
    for text in (
        day.isoformat(),
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
    ):
        assert parse_date(text, ref).value == day


@given(day=days, ref=days)
def test_a_date_without_year_is_the_first_on_or_after_the_reference(day: date, ref: date) -> None:
    reading = parse_date(f"{day.month}月{day.day}日", ref).value
    if reading is None:  # 2月29日 in a year without it, twice over
        assert (day.month, day.day) == (2, 29)
        return
    assert (reading.month, reading.day) == (day.month, day.day)
    assert ref <= reading < ref + timedelta(days=366 * 4 + 1)


@given(ref=days, weekday=st.sampled_from("一二三四五六日"))
def test_next_weekday_lands_in_the_next_week(ref: date, weekday: str) -> None:
    found = parse_date(f"下周{weekday}", ref).value
    assert found is not None
    assert found.weekday() == "一二三四五六日".index(weekday)
    monday = ref - timedelta(days=ref.weekday())
    assert monday + timedelta(days=7) <= found < monday + timedelta(days=14)


@given(text=st.text(max_size=80), ref=days)
def test_any_text_gives_a_reading_and_never_raises(text: str, ref: date) -> None:
    reading = parse_date(text, ref, VAGUE)
    assert reading.value is None or isinstance(reading.value, date)
    parse_time_range(text)
