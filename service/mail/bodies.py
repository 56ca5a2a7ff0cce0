"""Outgoing mail bodies as files beside the raw archive, so the store holds only their names.

A body is written when its mail is queued and made durable before the store's journal is
(the store calls `sync` first), so a committed outbox entry always finds its body. The name
comes from the Message-ID, which is unique and ours; writing the same mail again overwrites
it with the same bytes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

FOLDER = "mail"


class BodyFiles:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._unsynced: set[Path] = set()

    def write(self, message_id: str, raw: bytes) -> str:
        """Store a body; its name relative to the data directory."""
        digest = hashlib.sha256(message_id.encode()).hexdigest()
        name = f"{FOLDER}/{digest[:2]}/{digest[2:34]}.eml"
        path = self.data_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
        self._unsynced.add(path)
        return name

    def sync(self) -> None:
        for folder in {p.parent for p in self._unsynced} | (
            {self.data_dir / FOLDER} if self._unsynced else set()
        ):
            _fsync(folder)
        for path in self._unsynced:
            _fsync(path)
        self._unsynced.clear()


def read_body(data_dir: Path, doc: dict[str, Any]) -> bytes:
    """The bytes to send: from the body file, or inline in entries queued before bodies were files."""
    if doc.get("raw"):
        return str(doc["raw"]).encode("ascii")
    return (data_dir / doc["body"]).read_bytes()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
