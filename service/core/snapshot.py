"""db.json: TinyDB's file format ({table: {id: document}}), laid out one document a line.

    {
    "records":{
    "1":{"key":"2024-OPS-001",...},
    "2":{"key":"2024-OPS-002",...}
    },
    ...
    "_checksum":{
    "1":{"key":"snapshot","crc":"1a2b3c4d"}
    }
    }

It is still one JSON object that TinyDB (or any JSON reader) opens. The layout is what lets
opening be cheap: each table's place is found at opening, its lines are read the first time
the table is asked for, each kept as the bytes it is, found by its key (written first in
every document), and decoded only when someone reads it. The checksum covers every byte
before its table and is verified at opening, so damage is found then, not when a table or a
document is first read. A file
in any other layout (TinyDB's own, or an earlier version's) is read whole, once, and
rewritten in this one at the next checkpoint.
"""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Mapping
from typing import Any, BinaryIO

import orjson

Tables = dict[str, dict[str, bytes]]  # table → key → the document's compact JSON

CHECKSUM = "_checksum"
_DECODER = json.JSONDecoder()


class Unreadable(ValueError):
    pass


def encode(key: str, doc: Mapping[str, object]) -> bytes:
    """A document's one encoding, its key first (in memory, in the journal, in db.json).

    orjson writes what json.dumps(ensure_ascii=False, separators=(",", ":")) writes, at a tenth
    of the cost; what it refuses (an integer past 64 bits) goes to json as before."""
    ordered: dict[str, object] = {"key": key}
    ordered.update(doc)
    ordered["key"] = key
    try:
        # orjson's bytes keep its 4 KB write buffer; the store holds every hot document's
        # encoding for the life of the process, so each is copied to its own size.
        return memoryview(orjson.dumps(ordered, option=orjson.OPT_NON_STR_KEYS)).tobytes()
    except orjson.JSONEncodeError:
        return json.dumps(ordered, ensure_ascii=False, separators=(",", ":")).encode()


def decode(encoded: bytes | str) -> Any:
    """A document from its encoding. orjson, a fifth of json's cost; json for what orjson does not
    read (NaN, written by versions that encoded with json alone)."""
    try:
        return orjson.loads(encoded)
    except orjson.JSONDecodeError:
        return json.loads(encoded)


def write(fh: BinaryIO, tables: Tables) -> None:
    """db.json, a line at a time, its checksum last."""
    crc = 0

    def put(chunk: bytes) -> None:
        nonlocal crc
        crc = zlib.crc32(chunk, crc)
        fh.write(chunk)

    put(b"{\n")
    for table, rows in tables.items():
        if rows and table != CHECKSUM:
            put(_name(table) + b":{\n")
            last = len(rows)
            for n, doc in enumerate(rows.values(), 1):
                put(b'"%d":%s%s\n' % (n, doc, b"," if n < last else b""))
            put(b"},\n")
    fh.write(
        _name(CHECKSUM) + b':{\n"1":' + encode("snapshot", {"crc": f"{crc & 0xFFFFFFFF:08x}"}) + b"\n}\n}\n"
    )


def dump(tables: Tables) -> bytes:
    buffer = io.BytesIO()
    write(buffer, tables)
    return buffer.getvalue()


class Unread:
    """The tables of a db.json in this layout, its checksum verified at opening, each table's lines
    read from the file the first time the table is asked for (`take`).

    A read-only command asks for a few tables of many: `status` reads the records, never the
    threads or reply keys that are most of the lines. The file stays open until every table is
    taken; a checkpoint replaces db.json by a rename, so what is read is still what was checked."""

    def __init__(self, fh: BinaryIO, regions: dict[str, tuple[int, int]]) -> None:
        self._fh: BinaryIO | None = fh
        self._regions = regions  # table → (offset, bytes) of its document lines
        self._lines: dict[str, int] = {}  # counted when first asked for: a writer asks, a reader not

    def names(self) -> list[str]:
        return list(self._regions)

    def __contains__(self, table: str) -> bool:
        return table in self._regions

    def lines(self) -> int:
        """How many documents the tables not yet taken hold."""
        for table in self._regions.keys() - self._lines.keys():
            self._lines[table] = self._read(table).count(b"\n")
        return sum(self._lines[table] for table in self._regions)

    def take(self, table: str) -> dict[str, bytes]:
        lines = self._read(table).split(b"\n")
        del self._regions[table]
        rows: dict[str, bytes] = {}
        for line in lines:
            if line:
                doc = line.partition(b":")[2].removesuffix(b",")
                rows[_key_of(doc)] = doc
        if not self._regions:
            self.close()
        return rows

    def _read(self, table: str) -> bytes:
        offset, size = self._regions[table]
        assert self._fh is not None
        self._fh.seek(offset)
        return self._fh.read(size)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def open_tables(fh: BinaryIO) -> tuple[Tables, Unread | None]:
    """db.json's tables: none read yet (Unread) when the file is in this layout, else all of them
    read at once (the caller rewrites the file in this layout). Takes ownership of fh."""
    try:
        data = fh.read()
        unread = _scan(fh, data) if data.startswith(b"{\n") else None
    except BaseException:
        fh.close()
        raise
    if unread is None:
        fh.close()
        return _load_any(data), None
    return {}, unread


def _scan(fh: BinaryIO, data: bytes) -> Unread | None:
    """Where each table's lines are, once the checksum holds; None for a file in another layout."""
    stamp_at = data.rfind(b"\n" + _name(CHECKSUM) + b":{\n") + 1
    if stamp_at <= 0:
        return None
    stamp_line = data[data.index(b"\n", stamp_at) + 1 :].split(b"\n", 1)[0]
    try:
        stamp = json.loads(stamp_line.partition(b":")[2])
    except ValueError:
        return None
    crc = zlib.crc32(memoryview(data)[:stamp_at]) & 0xFFFFFFFF
    if not isinstance(stamp, dict) or stamp.get("crc") != f"{crc:08x}":
        raise Unreadable("its checksum does not match its content")
    regions: dict[str, tuple[int, int]] = {}
    at = 2
    while at < stamp_at:
        header_end = data.index(b"\n", at)
        header = data[at:header_end]
        close = data.find(b"\n},\n", header_end)
        if not header.endswith(b":{") or not header.startswith(b'"') or close < 0 or close >= stamp_at:
            return None  # not this layout after all: read whole
        try:
            table = json.loads(header[:-2])
        except ValueError:
            return None
        regions[table] = (header_end + 1, close - header_end)
        at = close + 4
    return Unread(fh, regions)


def _load_any(raw: bytes) -> Tables:
    try:
        data = json.loads(raw)  # what TinyDB's JSONStorage.read does, from bytes already read
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Unreadable(str(exc)) from exc
    if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
        raise Unreadable("it is not a TinyDB file")
    return {
        table: {
            doc["key"]: encode(doc["key"], doc)
            for doc in rows.values()
            if isinstance(doc, dict) and "key" in doc
        }
        for table, rows in data.items()
        if table != CHECKSUM
    }


def _key_of(doc: bytes) -> str:
    if doc.startswith(b'{"key":"'):
        end = doc.find(b'"', 8)
        if end > 0 and b"\\" not in doc[8:end]:
            return doc[8:end].decode()  # the common case: no escapes in the key
        try:
            key, _ = _DECODER.raw_decode(doc[7:300].decode("utf-8", "ignore"))
            if isinstance(key, str):
                return key
        except ValueError:
            pass  # a key longer than the slice: read the whole document
    try:
        key = json.loads(doc)["key"]
    except (ValueError, KeyError, TypeError) as exc:
        raise Unreadable(f"a document without its key: {doc[:60]!r}") from exc
    return str(key)


def _name(table: str) -> bytes:
    return json.dumps(table, ensure_ascii=False).encode()
