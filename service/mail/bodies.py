"""Outgoing mail bodies as files beside the raw archive, so the store holds only where they are.

Bodies are appended to one pack file a day (DATA_DIR/mail/2026-11-23.pack, see core/packs.py);
an outbox entry names its body as "mail/2026-11-23.pack#offset+length". A body is written when
its mail is queued and made durable before the store's journal is (the store calls `sync`
first), so a committed outbox entry always finds its body. Bytes of a mail whose transaction
never committed stay in the pack unread. A failed write (a full disk) is raised as
StoreUnavailable: the message is taken again later. Entries queued by versions before the
packs name a file of their own, and are still read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.core.packs import DayPacks, read_stored
from service.core.store import StoreUnavailable

FOLDER = "mail"


class BodyFiles(DayPacks):
    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, FOLDER, "pack")

    def write(self, raw: bytes) -> str:
        """Store a body; where it is, relative to the data directory."""
        try:
            return self.append(raw)
        except OSError as exc:
            raise StoreUnavailable(f"could not write an outgoing mail ({exc}); nothing was queued") from exc


def read_body(data_dir: Path, doc: dict[str, Any]) -> bytes:
    """The bytes to send: from the pack, a file of its own, or inline in the oldest entries."""
    if doc.get("raw"):
        return str(doc["raw"]).encode("ascii")
    return read_stored(data_dir, str(doc["body"]))
