"""Action items as tracked things: one document each, its state machine and its audit log.

An item is made from the minutes the first time anyone needs it (an owner reporting done
while the minutes are still being confirmed, or the assignment once they are). The
planned date is the one the minutes gave; a delay moves `due` and keeps `planned`, so the
on-time rate is always measured against what the meeting agreed.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from service.core.store import Doc, Store, Transaction, define_index

ITEMS = "items"


class Status(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    PENDING = "pending_verification"
    DONE = "done"
    DELAYED = "delayed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"


OPEN = (Status.NOT_STARTED, Status.IN_PROGRESS, Status.DELAYED, Status.BLOCKED)
CLOSED = (Status.DONE, Status.CANCELLED)

# An item carries its latest audit entries itself; older ones move to pages of their own, so a
# reply's cost does not grow with how often the item was reported on. full_history joins them.
HISTORY = "item_history"  # key "<item id>/<page>": {"item", "page", "entries"}
KEEP_ENTRIES = 10
PAGE_ENTRIES = 25

define_index(HISTORY, "item", lambda page: [page.get("item")])
define_index(ITEMS, "unfinished", lambda item: [True] if item.get("status") not in CLOSED else [])
define_index(ITEMS, "record", lambda item: [item.get("record")])
define_index(
    ITEMS,
    "owner",
    lambda item: (
        [str((item.get("owner") or {}).get("email", "")).lower()] if item.get("status") not in CLOSED else []
    ),
)  # unfinished items by their owner's address: whom a bounce concerns


class ItemEvent(StrEnum):
    PROGRESS = "progress"
    DONE = "done"  # finished, no verification wanted
    SUBMITTED = "submitted"  # finished, waiting for the tracker
    VERIFIED = "verified"
    REJECTED = "rejected"
    DELAYED = "delayed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"
    # The host's or recorder's edits (items/edits.py): the status stays what it was.
    REASSIGNED = "reassigned"
    RESCHEDULED = "rescheduled"
    ADDED = "added"


_ACTIVE = (Status.NOT_STARTED, Status.IN_PROGRESS, Status.DELAYED, Status.BLOCKED)
TRANSITIONS: dict[tuple[Status, ItemEvent], Status] = {
    **{(s, ItemEvent.PROGRESS): Status.IN_PROGRESS for s in _ACTIVE},
    **{(s, ItemEvent.DONE): Status.DONE for s in _ACTIVE},
    **{(s, ItemEvent.SUBMITTED): Status.PENDING for s in _ACTIVE},
    **{(s, ItemEvent.DELAYED): Status.DELAYED for s in _ACTIVE},
    **{(s, ItemEvent.BLOCKED): Status.BLOCKED for s in _ACTIVE},
    **{(s, ItemEvent.CANCELLED): Status.CANCELLED for s in (*_ACTIVE, Status.PENDING)},
    (Status.PENDING, ItemEvent.VERIFIED): Status.DONE,
    (Status.PENDING, ItemEvent.REJECTED): Status.IN_PROGRESS,
    (Status.PENDING, ItemEvent.DONE): Status.PENDING,  # more evidence while waiting
    (Status.PENDING, ItemEvent.SUBMITTED): Status.PENDING,
    **{(s, ItemEvent.REASSIGNED): s for s in _ACTIVE},
    **{(s, ItemEvent.RESCHEDULED): s for s in _ACTIVE},
    (Status.NOT_STARTED, ItemEvent.ADDED): Status.NOT_STARTED,
}


class ItemRefused(Exception):
    """The item's status does not take this event (done twice, delay a cancelled item)."""

    def __init__(self, status: str, event: ItemEvent) -> None:
        super().__init__(f"{event.value} refused in status {status}")
        self.status = status
        self.event = event


def item_id(record: str, no: int) -> str:
    return f"{record}#{no}"


def apply(
    item: Doc, event: ItemEvent, now: datetime, by: str, message_id: str, note: str = "", **fields: Any
) -> Status:
    """Move `item` along the table, write `fields` and one audit entry; ItemRefused otherwise."""
    current = Status(item["status"])
    target = TRANSITIONS.get((current, event))
    if target is None:
        raise ItemRefused(current.value, event)
    item.update(fields)
    item["status"] = target.value
    item.setdefault("history", []).append(
        {
            "at": now.isoformat(),
            "event": event.value,
            "from": current.value,
            "to": target.value,
            "by": by,
            "message_id": message_id,
            "note": note,
        }
    )
    return target


def sync_from_minutes(txn: Transaction, record: Doc, now: datetime) -> list[Doc]:
    """The record's items, made or refreshed from its current minutes.

    An item nobody has acted on follows the minutes (a revision moved its date); one with
    history keeps what its owner and tracker made of it.
    """
    found: list[Doc] = []
    current = {e["no"] for e in record["minutes"].get("items", []) if e.get("owner")}
    for number in set(record.get("item_numbers", [])) - current:
        # A revision dropped the item: forget it unless someone already acted on it.
        gone = txn.get(ITEMS, item_id(record["record"], number))
        if gone is not None and not gone.get("history"):
            txn.delete(ITEMS, gone["id"])
    record["item_numbers"] = sorted(current)
    for entry in record["minutes"].get("items", []):
        if not entry.get("owner"):
            continue
        key = item_id(record["record"], entry["no"])
        item = txn.get(ITEMS, key)
        if item is None or not item.get("history"):
            item = _from_minutes(record, entry, now, item)
            save(txn, item)
        found.append(item)
    return found


def _from_minutes(record: Doc, entry: Doc, now: datetime, old: Doc | None) -> Doc:
    written = entry.get("status") or Status.NOT_STARTED
    status = written if written in (Status.NOT_STARTED, Status.IN_PROGRESS) else Status.NOT_STARTED
    return {
        "id": item_id(record["record"], entry["no"]),
        "record": record["record"],
        "no": entry["no"],
        "title": entry.get("title", ""),
        "owner": entry["owner"],
        "department": entry.get("department") or entry["owner"].get("department", ""),
        "supporting": entry.get("supporting", []),
        "criterion": entry.get("criterion", ""),
        "support": entry.get("support", ""),
        "priority": entry.get("priority", ""),
        "notes": entry.get("notes", ""),
        "planned": entry.get("due"),
        "due": entry.get("due"),
        "actual": None,
        "status": status,
        "percent": None,
        "delays": [],
        "evidence": [],
        "history": [],
        "created_at": (old or {}).get("created_at") or now.isoformat(),
        **({"assigned_at": old["assigned_at"]} if old and old.get("assigned_at") else {}),
    }


def of_record(store: Store | Transaction, record: Doc) -> list[Doc]:
    """The items of the record's current minutes that are tracked, in their order."""
    found = (store.get(ITEMS, item_id(record["record"], e["no"])) for e in record["minutes"].get("items", []))
    return [item for item in found if item is not None]


def save(txn: Transaction, item: Doc) -> None:
    """The one way an item is written: a page of its oldest entries first, when it has grown."""
    history = item.get("history", [])
    if len(history) >= KEEP_ENTRIES + PAGE_ENTRIES:
        page = int(item.get("history_pages", 0))
        txn.put(
            HISTORY,
            f"{item['id']}/{page}",
            {"item": item["id"], "page": page, "entries": history[:PAGE_ENTRIES]},
        )
        item["history"] = history[PAGE_ENTRIES:]
        item["history_pages"] = page + 1
    txn.put(ITEMS, item["id"], item)


def full_history(store: Store, item: Doc) -> Doc:
    """The item with every audit entry, its pages first (for status and the tables' JSON)."""
    pages = [store.get(HISTORY, f"{item['id']}/{n}") for n in range(int(item.get("history_pages", 0)))]
    return {
        **item,
        "history": [e for page in pages if page for e in page["entries"]] + item.get("history", []),
    }


def all_items(store: Store, *, archived: bool = False) -> list[Doc]:
    """The items of the hot store (open work and what closed lately); with archived, all of history."""
    found = store.all(ITEMS) + (list(store.archived(ITEMS)) if archived else [])
    return sorted(found, key=lambda i: (i["record"], i["no"]))


def unfinished_items(store: Store) -> list[Doc]:
    """Items not done or cancelled (open, or waiting for verification), without reading the rest."""
    return sorted(store.query(ITEMS, "unfinished", True), key=lambda i: (i["record"], i["no"]))


def open_items_of(store: Store, address: str) -> list[Doc]:
    """The open items an address owns, in any meeting, attended or not."""
    found = store.query(ITEMS, "owner", address.lower())
    return sorted((i for i in found if is_open(i)), key=lambda i: (i["record"], i["no"]))


def open_items(store: Store) -> list[Doc]:
    return [item for item in unfinished_items(store) if is_open(item)]


def is_open(item: Doc) -> bool:
    return item["status"] in OPEN


def due_date(item: Doc) -> date | None:
    return date.fromisoformat(item["due"]) if item.get("due") else None


def planned_date(item: Doc) -> date | None:
    return date.fromisoformat(item["planned"]) if item.get("planned") else None


def as_json(item: Doc) -> dict[str, Any]:
    return {
        "id": item["id"],
        "title": item["title"],
        "owner": item["owner"],
        "department": item["department"],
        "due": item["due"],
        "planned": item["planned"],
        "actual": item.get("actual"),
        "criterion": item["criterion"],
        "status": item["status"],
        "percent": item.get("percent"),
        "delays": item.get("delays", []),
        "blocked": item.get("blocked"),
        "evidence": [
            {k: e[k] for k in ("filename", "sha256", "size", "content_type", "at")}
            for e in item.get("evidence", [])
        ],
        "history": item.get("history", []),
    }
