"""Day packs: many small files' worth of bytes appended to one file a day.

A file created per message costs an inode, a directory entry and an fsync of each; on the
development machine's ext4 that was 0.7 ms a file, more than reading the message. A pack is
one open file and one fsync a batch, and retention drops whole days. What is stored is named
"FOLDER/2026-12-07.SUFFIX#offset+length", relative to the data directory; a name without
"#" is a whole file of its own, as versions before the packs wrote them.

Bytes are made durable by `sync`, which the caller runs before the store's journal names them.
A failed write (a full disk) is cut back to where it began and raised as OSError. A crash in
the middle of a write leaves a tail nothing names; the next write starts on a new line after it.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import IO

from service.core.files import fsync_dir


class DayPacks:
    def __init__(self, data_dir: Path, folder: str, suffix: str) -> None:
        self.data_dir = data_dir
        self.folder = folder
        self.suffix = suffix
        self._name = ""
        self._pack: IO[bytes] | None = None
        self._unsynced = False
        self._new_pack = False

    def append(self, data: bytes) -> str:
        """Store `data`; where it is, relative to the data directory."""
        name = f"{self.folder}/{time.strftime('%Y-%m-%d')}.{self.suffix}"
        pack = self._open(name)
        start = pack.seek(0, os.SEEK_END)  # another handle on the same day may have written since
        head, body, tail = self.frame(data)
        try:
            pack.write(head + body + tail)
            pack.flush()
        except OSError:
            self.close()
            os.truncate(self.data_dir / name, start)
            raise
        self._unsynced = True
        return f"{name}#{start + len(head)}+{len(body)}"

    def frame(self, data: bytes) -> tuple[bytes, bytes, bytes]:
        """What is written before the bytes, the bytes as written, and what follows them."""
        return b"", data, b""

    def _open(self, name: str) -> IO[bytes]:
        if self._pack is None or name != self._name:
            self.close()
            path = self.data_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            self._new_pack = not path.exists()
            self._pack = open(path, "ab")  # noqa: SIM115 - kept open for the day on purpose
            self._name = name
            if self._pack.tell() > 0 and not _ends_a_line(path):
                self._pack.write(b"\n")  # after a crash mid-write: what follows starts on its own line
        return self._pack

    def sync(self) -> None:
        if self._pack is not None and self._unsynced:
            os.fsync(self._pack.fileno())
            if self._new_pack:
                fsync_dir(self.data_dir / self.folder)
                self._new_pack = False
        self._unsynced = False

    def close(self) -> None:
        if self._pack is not None:
            with contextlib.suppress(OSError):
                self._pack.close()
        self._pack = None
        self._name = ""


def _ends_a_line(path: Path) -> bool:
    with open(path, "rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


def file_of(ref: str) -> str:
    """The file a stored name is in: the pack, or the file of its own."""
    return ref.partition("#")[0]


def read_stored(data_dir: Path, ref: str) -> bytes:
    """The bytes as written under `ref`: a span of a pack, or a whole file."""
    name, _, span = ref.partition("#")
    if not span:
        return (data_dir / name).read_bytes()
    offset, _, length = span.partition("+")
    with open(data_dir / name, "rb") as pack:
        pack.seek(int(offset))
        data = pack.read(int(length))
    if len(data) != int(length):
        raise OSError(f"{name} ends before the bytes at {span}")
    return data
