"""What `minutesd status RECORD` shows: the record, its attendees' answers and its items."""

from __future__ import annotations

from typing import Any

from service.core.store import Doc
from service.items import state
from service.minutes.records import response_of


def status_json(record: Doc, tracked: dict[int, Doc] | None = None) -> dict[str, Any]:
    """What `status RECORD --json` shows; `tracked` are the record's items by number, once made."""
    tracked = tracked or {}
    return {
        "record": record["record"],
        "name": record["name"],
        "state": record["state"],
        "version": record["version"],
        "confidential": record.get("confidential", False),
        "confirmation_deadline": record.get("window", {}).get("deadline"),
        "recorder": record["recorder"],
        "host": record["host"],
        "attendees": [
            {
                **person,
                "response": response_of(record, person).get("response", "none"),
                "at": response_of(record, person).get("at"),
            }
            for person in record["attendees"]
        ],
        "items": [
            _item_status(record, entry, tracked.get(entry["no"]))
            for entry in record["minutes"].get("items", [])
        ],
        "history": record.get("history", []),
    }


def _item_status(record: Doc, entry: Doc, item: Doc | None) -> dict[str, Any]:
    if item is not None:
        return {**state.as_json(item), "criterion": item["criterion"]}
    return {
        "id": f"{record['record']}#{entry['no']}",
        "title": entry["title"],
        "owner": entry["owner"],
        "department": entry["department"],
        "due": entry["due"],
        "planned": entry["due"],
        "actual": None,
        "criterion": entry["criterion"],
        "status": "not_started",
        "evidence": [],
        "history": [],
    }
