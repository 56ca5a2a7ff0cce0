"""What the unfinished items have coming, kept between a daemon's wake-ups.

A tick and the daemon's "when do I wake next" both need every unfinished item's moments
(reminders, overdue, escalation) and whether its meeting is confirmed. Reading every item and
its record again on every wake-up made each reply pay for all open work. The agenda remembers
what it derived from each document at which `Store.version`, and reads again only what
changed since; and the outbox keys it has seen queued, which never go away (the archive keeps
them), so an item overdue for months costs nothing after the first look.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from service.core.calendar import work_calendar
from service.core.config import Rules
from service.core.store import Doc, Store
from service.items import state
from service.items.moments import item_moments
from service.items.weekly import is_important
from service.mail.outbox import TABLE as OUTBOX
from service.minutes import records
from service.minutes.records import State


@dataclass
class _Item:
    version: int
    item: Doc
    moments: list[tuple[str, datetime]]  # empty unless open and assigned

    @property
    def chased(self) -> bool:
        return bool(self.moments)


@dataclass
class _Record:
    version: int
    confirmed: bool
    important: bool


class Agenda:
    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.calendar = work_calendar(rules.calendar)
        self._items: dict[str, _Item] = {}
        self._records: dict[str, _Record] = {}
        self._queued: set[str] = set()

    def refresh(self, store: Store) -> None:
        keys = store.keys(state.ITEMS, "unfinished", True)
        for key, version, item in _changed(store, state.ITEMS, keys, self._items):
            if item is None:
                continue
            chased = state.is_open(item) and bool(item.get("assigned_at"))
            moments = item_moments(item, self.rules, self.calendar) if chased else []
            self._items[key] = _Item(version, item, moments)
        numbers = {entry.item["record"] for entry in self._items.values()}
        for number, version, record in _changed(store, records.RECORDS, numbers, self._records):
            confirmed = record is not None and record.get("state") == State.CONFIRMED
            important = record is not None and is_important(record, self.rules)
            self._records[number] = _Record(version, confirmed, important)

    def chased(self) -> Iterator[Doc]:
        """Open, assigned items of confirmed meetings: the ones reminders are about."""
        for entry in self._items.values():
            record = self._records.get(entry.item["record"])
            if entry.chased and record is not None and record.confirmed:
                yield entry.item

    def unfinished_records(self, *, important: bool = False) -> list[str]:
        return sorted(n for n, r in self._records.items() if r.confirmed and (r.important or not important))

    def next_moment(self, now: datetime) -> datetime | None:
        later = [m for entry in self._items.values() for _, m in entry.moments if m > now]
        return min(later) if later else None

    def queued(self, store: Store, key: str) -> bool:
        if key in self._queued:
            return True
        if store.get(OUTBOX, key) is not None:
            self._queued.add(key)
            return True
        return False


def _changed(
    store: Store, table: str, keys: set[str], known: dict[str, _Item] | dict[str, _Record]
) -> Iterator[tuple[str, int, Doc | None]]:
    """Forget what is no longer wanted; (key, version, document) of each key read since it changed."""
    for gone in known.keys() - keys:
        del known[gone]
    for key in keys:
        version = store.version(table, key)
        entry = known.get(key)
        if entry is None or entry.version != version:
            yield key, version, store.get(table, key)


_AGENDAS: weakref.WeakKeyDictionary[Store, Agenda] = weakref.WeakKeyDictionary()


def agenda(store: Store, rules: Rules) -> Agenda:
    """The store's agenda, brought up to date: one per open store and set of rules."""
    found = _AGENDAS.get(store)
    if found is None or found.rules is not rules:
        found = _AGENDAS[store] = Agenda(rules)
    found.refresh(store)
    return found
