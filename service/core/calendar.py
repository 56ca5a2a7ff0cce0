"""The working-day calendar: chinese-calendar's data plus the overrides in the rules."""

from __future__ import annotations

import logging
from functools import lru_cache

import chinese_calendar

from parsers.workdays import WorkCalendar
from service.core.config import CalendarRules

log = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def work_calendar(rules: CalendarRules) -> WorkCalendar:
    base = WorkCalendar()
    if rules.source == "chinese_calendar":
        base = WorkCalendar(
            holidays=frozenset(chinese_calendar.constants.holidays),
            workdays=frozenset(chinese_calendar.constants.workdays),
        )
    return base.with_overrides(rules.holidays, rules.workdays)


def covered_until() -> int:
    """The last year chinese-calendar knows; after it only weekends and the overrides count."""
    return max(day.year for day in chinese_calendar.constants.holidays)
