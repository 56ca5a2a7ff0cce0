"""Finished work leaves the hot store, so its cost and size follow live work, not history.

Once a day (and on `minutesd archive`), what has been finished for `archive.after_days`
moves to the archive of the current month, where `Store.get` still finds it by key and the
tables and `status` read it on demand:

- a confirmed record whose items are all done or cancelled, with its items, the Message-IDs
  of its threads and its reply keys;
- sent mail (the body file stays where it is), with its Message-ID;
- handled messages, with the mailbox references that name them (never quarantined ones:
  those wait for an operator).

A record or item that is written again (someone answers a meeting archived long ago) simply
comes back to the hot store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from service.core.config import Rules
from service.core.ledger import ARCHIVED_TOTALS, LEDGER, MESSAGES
from service.core.store import Doc, Store, define_index
from service.items import state
from service.mail import outbox
from service.minutes import records
from service.minutes.records import State

log = logging.getLogger(__name__)

RUNS = "archiving"  # the day of the last pass
MIN_QUIET_DAYS = 8  # as archive.after_days: the weekly table and our own copies still need them

define_index(
    outbox.TABLE, "sent", lambda d: [float(d.get("sent_at") or 0)] if d.get("state") == "sent" else []
)
define_index(
    MESSAGES, "handled", lambda d: [d.get("received_at", "")] if d.get("outcome") != "quarantined" else []
)


@dataclass
class Moved:
    records: int = 0
    items: int = 0
    mail: int = 0
    messages: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"records": self.records, "items": self.items, "mail": self.mail, "messages": self.messages}


def daily(store: Store, rules: Rules, now: datetime) -> Moved | None:
    """Archive once a day; None when today's pass has run."""
    today = now.astimezone(rules.tz).date().isoformat()
    last = store.get(RUNS, "last")
    if last is not None and last.get("day") == today:
        return None
    moved = archive_finished(store, rules, now)
    with store.transaction() as txn:
        txn.put(RUNS, "last", {"day": today, **moved.as_json()})
    return moved


def archive_finished(
    store: Store, rules: Rules, now: datetime, closed_before: datetime | None = None
) -> Moved:
    """Move what has been finished long enough. With `closed_before` (`archive --before YEAR`)
    a meeting finished before that moment moves whatever `after_days` says, into the period of
    its last change, so the archive stays sorted by when work ended."""
    quiet = now - timedelta(days=rules.archive.after_days)
    cutoff = min(closed_before, now - timedelta(days=MIN_QUIET_DAYS)) if closed_before else quiet
    mail_cutoff = now - timedelta(days=rules.archive.mail_after_days)
    this_period = now.astimezone(rules.tz).strftime("%Y-%m")
    moved = Moved()
    finished: dict[str, list[Doc]] = {}  # record → its items, all done or cancelled long enough
    period_of: dict[str, str] = {}
    for number in sorted(store.keys(records.RECORDS, "state", State.CONFIRMED.value)):
        record = store.get(records.RECORDS, number)
        items = store.query(state.ITEMS, "record", number)
        if record is not None and _finished(record, items, cutoff):
            finished[number] = items
            last = _last_change_of(record, items)
            period_of[number] = (
                last.astimezone(rules.tz).strftime("%Y-%m") if closed_before and last else this_period
            )
    # One archive write a table and period for the whole pass: the first pass after an upgrade
    # moves years.
    for period in sorted(set(period_of.values())):
        _move_records(store, {n: i for n, i in finished.items() if period_of[n] == period}, period)
    moved.records = len(finished)
    moved.items = sum(len(items) for items in finished.values())
    sent = [
        key
        for key, (at,) in store.indexed(outbox.TABLE, "sent").items()
        if float(str(at)) < mail_cutoff.timestamp()
    ]
    ids = [d["message_id"] for key in sent if (d := store.get(outbox.TABLE, key)) is not None]
    store.archive(outbox.BY_MESSAGE_ID, ids, this_period)
    moved.mail = store.archive(outbox.TABLE, sent, this_period)
    _add_to_totals(store, outbox.TABLE, {"sent": moved.mail})
    handled = [
        key for key, (at,) in store.indexed(MESSAGES, "handled").items() if _before(str(at), mail_cutoff)
    ]
    docs = [d for key in handled if (d := store.get(MESSAGES, key)) is not None]
    store.archive(LEDGER, [ref for d in docs for ref in d.get("refs", [])], this_period)
    moved.messages = store.archive(MESSAGES, handled, this_period)
    by_outcome: dict[str, int] = {}
    for doc in docs:
        by_outcome[doc["outcome"]] = by_outcome.get(doc["outcome"], 0) + 1
    _add_to_totals(store, MESSAGES, by_outcome)
    if moved.records or moved.mail or moved.messages:
        log.info(
            "archived to %s: %d record(s) with %d item(s), %d sent mail(s), %d message(s)",
            this_period, moved.records, moved.items, moved.mail, moved.messages,
        )  # fmt: skip
    return moved


def _move_records(store: Store, finished: dict[str, list[Doc]], period: str) -> None:
    store.archive(state.ITEMS, [i["key"] for items in finished.values() for i in items], period)
    pages = [
        k
        for items in finished.values()
        for i in items
        for k in sorted(store.keys(state.HISTORY, "item", i["key"]))
    ]
    store.archive(state.HISTORY, pages, period)
    for table in (records.THREADS, records.REPLY_KEYS):
        store.archive(table, [k for n in finished for k in sorted(store.keys(table, "record", n))], period)
    store.archive(
        records.RECORDS, list(finished), period, summary=lambda r: summary(r, items=finished[r["record"]])
    )


def _last_change_of(record: Doc, items: Iterable[Doc]) -> datetime | None:
    moments = [m for m in (_last_change(d) for d in (record, *items)) if m is not None]
    return max(moments) if moments else None


def _add_to_totals(store: Store, table: str, added: dict[str, int]) -> None:
    """Counts of what was archived, so `status` still counts every message and mail."""
    if not any(added.values()):
        return
    with store.transaction() as txn:
        doc = txn.get(ARCHIVED_TOTALS, table) or {"counts": {}}
        for name, n in added.items():
            doc["counts"][name] = doc["counts"].get(name, 0) + n
        txn.put(ARCHIVED_TOTALS, table, doc)


def _finished(record: Doc, items: Iterable[Doc], cutoff: datetime) -> bool:
    changes = [_last_change(record)]
    for item in items:
        if item.get("status") not in state.CLOSED:
            return False
        changes.append(_last_change(item))
    return all(at is not None and at < cutoff for at in changes)


def _before(moment: str, cutoff: datetime) -> bool:
    try:
        when = datetime.fromisoformat(moment)
    except ValueError:
        return False
    return (when if when.tzinfo else when.replace(tzinfo=cutoff.tzinfo)) < cutoff


def _last_change(doc: Doc) -> datetime | None:
    moments = [h.get("at") for h in doc.get("history", []) if h.get("at")]
    moments += [doc[k] for k in ("assigned_at", "created_at", "updated_at") if doc.get(k)]
    if not moments:
        return None
    parsed = [datetime.fromisoformat(m) for m in moments]
    return max(m if m.tzinfo else m.replace(tzinfo=UTC) for m in parsed)


def summary(record: Doc, *, items: list[Doc]) -> Doc:
    """What listings and the quarterly report need without opening the record."""
    planned = sorted(d.isoformat() for i in items if (d := state.planned_date(i)) is not None)
    return {
        "record": record["record"],
        "state": record["state"],
        "name": record["name"],
        "date": record.get("minutes", {}).get("meeting", {}).get("date"),
        "items": len(record.get("minutes", {}).get("items", [])),
        "planned": [planned[0], planned[-1]] if planned else [],
    }
