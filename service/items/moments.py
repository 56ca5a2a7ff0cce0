"""When the service writes about an item: reminder moments, the weekly moment, who was assigned by then."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from parsers.workdays import WorkCalendar
from service.core.config import Rules
from service.core.store import Doc
from service.items import state

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def at(day: date, clock: str, rules: Rules) -> datetime:
    hours, minutes = (int(part) for part in clock.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=rules.tz)


def item_moments(item: Doc, rules: Rules, calendar: WorkCalendar) -> list[tuple[str, datetime]]:
    """(purpose, moment) for the item's current deadline: reminders, overdue, escalation."""
    due = state.due_date(item)
    if due is None:
        return []
    clock = rules.actions.reminder_time
    moments = [
        (f"remind{k}", at(calendar.working_day_on_or_before(due, k), clock, rules))
        for k in sorted(set(rules.actions.reminder_working_days_before), reverse=True)
    ]
    if rules.actions.overdue_notice:
        moments.append(("overdue", at(calendar.working_day_after(due, 1), clock, rules)))
    escalate = rules.actions.escalate_after_working_days
    moments.append(("escalate", at(calendar.working_day_after(due, escalate + 1), clock, rules)))
    return moments


def assigned_by(item: Doc, moment: datetime) -> bool:
    return bool(item.get("assigned_at")) and datetime.fromisoformat(item["assigned_at"]) <= moment


def last_weekly_moment(rules: Rules, now: datetime, calendar: WorkCalendar | None = None) -> datetime:
    """The latest weekly moment at or before now. A weekday that is a public holiday moves to
    the next working morning (unless calendar.send_on_holidays), so nobody gets the table on
    National Day; the week keeps one moment either way."""
    nominal = _nominal_weekly_day(rules, now)
    for start in (nominal, nominal - timedelta(days=7), nominal - timedelta(days=14)):
        moment = at(_sendable(start, rules, calendar), rules.actions.weekly.time, rules)
        if moment <= now:
            return moment
    return moment


def next_weekly_moment(rules: Rules, now: datetime, calendar: WorkCalendar | None = None) -> datetime:
    nominal = _nominal_weekly_day(rules, now)
    for start in (nominal, nominal + timedelta(days=7), nominal + timedelta(days=14)):
        moment = at(_sendable(start, rules, calendar), rules.actions.weekly.time, rules)
        if moment > now:
            return moment
    return moment


def _nominal_weekly_day(rules: Rules, now: datetime) -> date:
    today = now.astimezone(rules.tz).date()
    return today - timedelta(days=(today.weekday() - WEEKDAYS.index(rules.actions.weekly.weekday)) % 7)


def _sendable(day: date, rules: Rules, calendar: WorkCalendar | None) -> date:
    if calendar is None or rules.calendar.send_on_holidays or day.weekday() >= 5:
        return day  # a weekly table set for a weekend day was chosen so
    return day if calendar.is_working_day(day) else calendar.working_day_after(day, 1)
