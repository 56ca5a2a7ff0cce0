"""Working days: weekends, public holidays and make-up working days (调休).

Pure: the holiday data is handed in. service/calendar.py fills it from the
chinese-calendar package and the overrides in mailbox_rules.yaml.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)  # weekend days worked (调休)
    weekend: frozenset[int] = frozenset({5, 6})

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() not in self.weekend

    def add_working_days(self, start: datetime, count: int) -> datetime:
        """The same time of day, `count` working days after `start` (a local datetime)."""
        current = start
        remaining = count
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_working_day(current.date()):
                remaining -= 1
        return current

    def working_day_on_or_before(self, day: date, count: int = 0) -> date:
        """The `count`-th working day before `day`; with 0, `day` itself or the working day before it."""
        current = day
        while not self.is_working_day(current):
            current -= timedelta(days=1)
        remaining = count
        while remaining > 0:
            current -= timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_day_after(self, day: date, count: int = 1) -> date:
        """The `count`-th working day after `day`."""
        current = day
        remaining = count
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, first: date, last: date) -> int:
        """Working days after `first` up to and including `last` (0 if last <= first)."""
        days = 0
        current = first
        while current < last:
            current += timedelta(days=1)
            days += self.is_working_day(current)
        return days

    def with_overrides(self, holidays: Iterable[date], workdays: Iterable[date]) -> WorkCalendar:
        extra_holidays = frozenset(holidays)
        extra_workdays = frozenset(workdays)
        return WorkCalendar(
            holidays=(self.holidays - extra_workdays) | extra_holidays,
            workdays=(self.workdays - extra_holidays) | extra_workdays,
            weekend=self.weekend,
        )
