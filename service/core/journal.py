"""The store's journal format: one JSON line per operation, a commit line per transaction.

Each line is {"c": CRC-32 of the entry, "e": entry}; an entry is {"t": table, "k": key,
"d": document or null} or {"commit": number of operations}. The checksum covers the entry
exactly as written (compact JSON, keys in the document's own order), so a document already
encoded for the store is written as it is, never encoded twice. Lines of the earlier formats
(the bare entry; a checksum over the entry with sorted keys) are still read, once, and then
checkpointed away.
"""

from __future__ import annotations

import json
import logging
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from service.core import snapshot

log = logging.getLogger(__name__)

EncodedBatch = dict[tuple[str, str], bytes | None]  # documents as compact JSON


class Damaged(Exception):
    """A line that is not the last is damaged, or a commit does not close what came before."""

    def __init__(self, number: int, reason: str) -> None:
        super().__init__(f"line {number} {reason}")
        self.number = number
        self.reason = reason


def dumps(value: Any) -> str:
    """The one encoding of a document, in memory, in the journal and in the snapshot."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _crc(payload: bytes) -> str:
    return f"{zlib.crc32(payload) & 0xFFFFFFFF:08x}"


def _line(payload: bytes) -> bytes:
    return b'{"c":"%s","e":%s}\n' % (_crc(payload).encode(), payload)


def transaction_lines(ops: EncodedBatch) -> bytes:
    lines = [
        _line(b'{"t":%s,"k":%s,"d":%s}' % (dumps(t).encode(), dumps(k).encode(), b"null" if d is None else d))
        for (t, k), d in ops.items()
    ]
    lines.append(_line(dumps({"commit": len(ops)}).encode()))
    return b"".join(lines)


def _checksum_holds(entry: Any, crc: Any) -> bool:
    if _crc(dumps(entry).encode()) == crc:
        return True
    # Lines written before 2026-11-23 checksummed the entry with sorted keys.
    return _crc(json.dumps(entry, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()) == crc


_WRITTEN = re.compile(rb'\{"c":"([0-9a-f]{8})","e":')


def _checked_payload(line: bytes) -> bytes | None:
    """The entry's bytes of a line as `_line` writes it, when its checksum holds; else None."""
    written = _WRITTEN.match(line)
    payload = line[written.end() : -1] if written and line.endswith(b"}") else b""
    return payload if written and _crc(payload).encode() == written.group(1) else None


def _decode_older(line: bytes) -> tuple[dict[str, Any], bool]:
    """A line of an earlier format (or a damaged one: ValueError)."""
    outer = snapshot.decode(line)
    if not isinstance(outer, dict):
        raise ValueError("not an object")
    entry: Any = outer
    legacy = "c" not in outer
    if not legacy:
        entry = outer.get("e")
        if not isinstance(entry, dict) or not _checksum_holds(entry, outer["c"]):
            raise ValueError("checksum mismatch")
    return _valid(entry), legacy


# The start of an operation as transaction_lines writes it: table and key as JSON strings, then
# the document's encoding, byte for byte as the store holds it.
_OPERATION = re.compile(rb'\{"t":("(?:[^"\\]|\\.)*"),"k":("(?:[^"\\]|\\.)*"),"d":')


def decode_encoded(line: bytes) -> tuple[tuple[str, str, bytes | None] | int, bool]:
    """One journal line as the store keeps it: (table, key, the document's encoding or None when
    it was deleted), or a commit's count; and whether the line is of an earlier format.

    A line as `_line` writes it, its checksum holding, gives its document's bytes as they were
    written: they are the store's encoding already, so a replay neither decodes nor encodes them
    again (half of what a replay of 50,000 operations cost). ValueError says what is wrong."""
    payload = _checked_payload(line)
    if payload is None:
        entry, legacy = _decode_older(line)
    else:
        operation = _OPERATION.match(payload)
        document = payload[operation.end() : -1] if operation and payload.endswith(b"}") else b""
        if operation and (document == b"null" or document.startswith(b'{"key":')):
            table, key = _string(operation.group(1)), _string(operation.group(2))
            return (table, key, None if document == b"null" else document), False
        entry, legacy = _valid(snapshot.decode(payload)), False  # a commit, or a hand-written document
    if "commit" in entry:
        return entry["commit"], legacy
    doc = entry.get("d")
    return (entry["t"], entry["k"], None if doc is None else snapshot.encode(entry["k"], doc)), legacy


def _string(written: bytes) -> str:
    """A JSON string as _OPERATION matched it. One without escapes is its own UTF-8 between the
    quotes: two of these a line were a quarter of a replay, each a call to the JSON decoder."""
    if b"\\" not in written:
        return written[1:-1].decode()
    value = snapshot.decode(written)
    assert isinstance(value, str)
    return value


def _valid(entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ValueError("not an object")
    if "commit" in entry:
        if not isinstance(entry["commit"], int):
            raise ValueError("a commit line without its count")
    elif not (isinstance(entry.get("t"), str) and isinstance(entry.get("k"), str)):
        raise ValueError("an operation without table and key")
    elif entry.get("d") is not None and not isinstance(entry.get("d"), dict):
        raise ValueError("a document that is not an object")
    return dict(entry)


class Replay:
    """Every committed transaction of a journal file, in order.

    A torn last transaction is dropped; damage anywhere else raises Damaged. `legacy` is true
    once a line of an earlier format was read, so the caller can checkpoint it away."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.legacy = False
        self.operations = 0
        self.size = 0  # bytes read

    def __iter__(self) -> Iterator[EncodedBatch]:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        self.size = len(data)
        lines = data.split(b"\n")
        batch: EncodedBatch = {}
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry, legacy = decode_encoded(line)
            except ValueError as exc:
                if number >= len(lines) - 1:
                    log.warning("journal ends in a torn write; dropping the unfinished transaction")
                    return
                raise Damaged(number, f"is damaged ({exc})") from exc
            self.legacy |= legacy
            if isinstance(entry, int):
                if entry != len(batch):
                    raise Damaged(number, f"closes {entry} operation(s) but {len(batch)} came before it")
                self.operations += len(batch)
                yield batch
                batch = {}
            else:
                table, key, document = entry
                batch[(table, key)] = document
        if batch:
            log.warning("dropping %d journal operations without a commit line", len(batch))
