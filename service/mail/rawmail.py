"""The raw archive: every inbound message, byte for byte, as it arrived.

Messages are appended to one mbox a day, DATA_DIR/raw/2026-12-07.mbox (core/packs.py), in the
mboxrd form any mail client opens: each after a "From " line, and a line of its own that
starts with ">*From " one ">" deeper, which reading takes off again. A handled message names
its raw bytes as "raw/2026-12-07.mbox#offset+length"; messages of versions before the packs
name a file of their own, raw/ab/<sha256>.eml, and are still read.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

from service.core.packs import DayPacks, read_stored

FOLDER = "raw"
_NEEDS_QUOTING = re.compile(rb"(?m)^(>*From )")
_QUOTED = re.compile(rb"(?m)^>(>*From )")
_SEPARATOR = re.compile(rb"(?m)^From ")


class RawArchive(DayPacks):
    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, FOLDER, "mbox")

    def frame(self, data: bytes) -> tuple[bytes, bytes, bytes]:
        head = f"From MAILER-DAEMON {time.asctime()}\n".encode("ascii")
        body = _NEEDS_QUOTING.sub(rb">\1", data) if b"From " in data else data
        return head, body, b"\n" if body.endswith(b"\n") else b"\n\n"


def read_raw(data_dir: Path, ref: str) -> bytes:
    """The message exactly as it arrived."""
    stored = read_stored(data_dir, ref)
    if "#" not in ref or b"From " not in stored:
        return stored
    return _QUOTED.sub(rb"\1", stored)


def stored_files(data_dir: Path) -> list[Path]:
    """Every file of the raw archive: the day packs, and the files of older versions."""
    folder = data_dir / FOLDER
    return sorted([*folder.glob("*.mbox"), *folder.glob("*/*.eml")])


def messages_in(path: Path) -> Iterator[bytes]:
    """The messages of one archive file, read without the store (a lost db.json, a check)."""
    data = path.read_bytes()
    if path.suffix != ".mbox":
        yield data
        return
    starts = [m.start() for m in _SEPARATOR.finditer(data)]
    for start, end in zip(starts, [*starts[1:], len(data)], strict=True):
        body = data[data.index(b"\n", start) + 1 : end]
        # The frame's last newline is not the message's (one that did not end a line gains one).
        body = body[:-1] if body.endswith(b"\n") else body
        yield _QUOTED.sub(rb"\1", body) if b"From " in body else body
