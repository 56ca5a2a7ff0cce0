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


def last_weekly_moment(rules: Rules, now: datetime) -> datetime:
    weekly = rules.actions.weekly
    today = now.astimezone(rules.tz).date()
    day = today - timedelta(days=(today.weekday() - WEEKDAYS.index(weekly.weekday)) % 7)
    moment = at(day, weekly.time, rules)
    return moment if moment <= now else moment - timedelta(days=7)
