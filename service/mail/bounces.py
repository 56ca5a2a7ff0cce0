"""Bounces: the addresses a delivery report says failed."""

from __future__ import annotations

from datetime import datetime

from parsers.message import InboundMessage
from service.core.store import Transaction

ADDRESSES = "addresses"


def record_bounce(txn: Transaction, msg: InboundMessage, now: datetime) -> None:
    """Mark each failed address; later issues tell the recorder of the affected record."""
    for address in msg.failed_recipients:
        doc = txn.get(ADDRESSES, address) or {"bounces": []}
        doc["state"] = "failing"
        doc["bounces"] = [*doc["bounces"], msg.message_id][-20:]
        doc["since"] = doc.get("since") or now.isoformat()
        txn.put(ADDRESSES, address, doc)
