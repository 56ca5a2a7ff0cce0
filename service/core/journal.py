"""The store's journal format: one JSON line per operation, a commit line per transaction.

Each line is {"c": CRC-32 of the entry, "e": entry}; an entry is {"t": table, "k": key,
"d": document or null} or {"commit": number of operations}. Lines written before checksums
(the bare entry) are still read, once, and then checkpointed away.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Batch = dict[tuple[str, str], dict[str, Any] | None]


class Damaged(Exception):
    """A line that is not the last is damaged, or a commit does not close what came before."""

    def __init__(self, number: int, reason: str) -> None:
        super().__init__(f"line {number} {reason}")
        self.number = number
        self.reason = reason


def _crc(payload: str) -> str:
    return f"{zlib.crc32(payload.encode()) & 0xFFFFFFFF:08x}"


def _payload(entry: Any) -> str:
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def encode(entry: dict[str, Any]) -> str:
    return json.dumps({"c": _crc(_payload(entry)), "e": entry}, ensure_ascii=False, separators=(",", ":"))


def transaction_lines(ops: Batch) -> bytes:
    lines = [encode({"t": t, "k": k, "d": d}) for (t, k), d in ops.items()]
    lines.append(encode({"commit": len(ops)}))
    return ("\n".join(lines) + "\n").encode()


def decode(line: bytes) -> dict[str, Any]:
    """One journal line, its checksum verified; ValueError says what is wrong with it."""
    try:
        outer = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(str(exc)) from exc
    if not isinstance(outer, dict):
        raise ValueError("not an object")
    entry: Any = outer
    if "c" in outer:
        entry = outer.get("e")
        if not isinstance(entry, dict) or _crc(_payload(entry)) != outer["c"]:
            raise ValueError("checksum mismatch")
    if "commit" in entry:
        if not isinstance(entry["commit"], int):
            raise ValueError("a commit line without its count")
    elif not (isinstance(entry.get("t"), str) and isinstance(entry.get("k"), str)):
        raise ValueError("an operation without table and key")
    elif entry.get("d") is not None and not isinstance(entry.get("d"), dict):
        raise ValueError("a document that is not an object")
    return dict(entry)


def replay(path: Path) -> Iterator[Batch]:
    """Every committed transaction in order; a torn last transaction is dropped, other damage raised."""
    if not path.exists():
        return
    lines = path.read_bytes().split(b"\n")
    batch: Batch = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = decode(line)
        except ValueError as exc:
            if number >= len(lines) - 1:
                log.warning("journal ends in a torn write; dropping the unfinished transaction")
                return
            raise Damaged(number, f"is damaged ({exc})") from exc
        if "commit" in entry:
            if entry["commit"] != len(batch):
                raise Damaged(
                    number, f"closes {entry['commit']} operation(s) but {len(batch)} came before it"
                )
            yield batch
            batch = {}
        else:
            batch[(entry["t"], entry["k"])] = entry.get("d")
    if batch:
        log.warning("dropping %d journal operations without a commit line", len(batch))
