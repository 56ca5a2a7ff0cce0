"""Outgoing mail bodies as files beside the raw archive, so the store holds only where they are.

Bodies are appended to one pack file a day (DATA_DIR/mail/2026-11-23.pack); an outbox entry
names its body as "mail/2026-11-23.pack#offset+length". One open file and one fsync a batch,
instead of a file created and fsynced per mail; retention can drop whole days. A body is
written when its mail is queued and made durable before the store's journal is (the store
calls `sync` first), so a committed outbox entry always finds its body. Bytes of a mail whose
transaction never committed stay in the pack unread. A failed write (a full disk) is cut back
to the last whole body and raised as StoreUnavailable: the message is taken again later.
Entries queued by versions before the packs name a file of their own, and are still read.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import IO, Any

from service.core.files import fsync_dir
from service.core.store import StoreUnavailable

FOLDER = "mail"


class BodyFiles:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._name = ""
        self._pack: IO[bytes] | None = None
        self._unsynced = False
        self._new_pack = False

    def write(self, raw: bytes) -> str:
        """Store a body; where it is, relative to the data directory."""
        name = f"{FOLDER}/{time.strftime('%Y-%m-%d')}.pack"
        try:
            pack = self._open(name)
            offset = pack.tell()
            try:
                pack.write(raw)
                pack.flush()
            except OSError:
                self.close()
                os.truncate(self.data_dir / name, offset)
                raise
        except OSError as exc:
            raise StoreUnavailable(f"could not write an outgoing mail ({exc}); nothing was queued") from exc
        self._unsynced = True
        return f"{name}#{offset}+{len(raw)}"

    def _open(self, name: str) -> IO[bytes]:
        if self._pack is None or name != self._name:
            self.close()
            path = self.data_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            self._new_pack = not path.exists()
            self._pack = open(path, "ab")  # noqa: SIM115 - kept open for the day on purpose
            self._name = name
        return self._pack

    def sync(self) -> None:
        if self._pack is not None and self._unsynced:
            os.fsync(self._pack.fileno())
            if self._new_pack:
                fsync_dir(self.data_dir / FOLDER)
                self._new_pack = False
        self._unsynced = False

    def close(self) -> None:
        if self._pack is not None:
            with contextlib.suppress(OSError):
                self._pack.close()
        self._pack = None
        self._name = ""


def read_body(data_dir: Path, doc: dict[str, Any]) -> bytes:
    """The bytes to send: from the pack, a file of its own, or inline in the oldest entries."""
    if doc.get("raw"):
        return str(doc["raw"]).encode("ascii")
    name, _, span = str(doc["body"]).partition("#")
    if not span:
        return (data_dir / name).read_bytes()
    offset, _, length = span.partition("+")
    with open(data_dir / name, "rb") as pack:
        pack.seek(int(offset))
        raw = pack.read(int(length))
    if len(raw) != int(length):
        raise OSError(f"{name} ends before the body at {span}")
    return raw
