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
opening be cheap: each line is kept as the bytes it is, found by its key (written first in
every document), and decoded only when someone reads it. The checksum covers every byte
before its table, so damage is found at opening, not when a document is first read. A file
in any other layout (TinyDB's own, or an earlier version's) is read whole, once, and
rewritten in this one at the next checkpoint.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping

Tables = dict[str, dict[str, bytes]]  # table → key → the document's compact JSON

CHECKSUM = "_checksum"
_DECODER = json.JSONDecoder()


class Unreadable(ValueError):
    pass


def encode(key: str, doc: Mapping[str, object]) -> bytes:
    """A document's one encoding, its key first (in memory, in the journal, in db.json)."""
    ordered: dict[str, object] = {"key": key}
    ordered.update(doc)
    ordered["key"] = key
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":")).encode()


def dump(tables: Tables) -> bytes:
    parts = []
    for table, rows in tables.items():
        if rows and table != CHECKSUM:
            lines = b",\n".join(b'"%d":%s' % (n, doc) for n, doc in enumerate(rows.values(), 1))
            parts.append(_name(table) + b":{\n" + lines + b"\n}")
    head = b"{\n" + b"".join(part + b",\n" for part in parts)
    crc = f"{zlib.crc32(head) & 0xFFFFFFFF:08x}"
    return head + _name(CHECKSUM) + b':{\n"1":' + encode("snapshot", {"crc": crc}) + b"\n}\n}\n"


def load(raw: bytes) -> tuple[Tables, bool]:
    """The tables, and whether the file was in another layout (so it should be rewritten)."""
    tail = raw.rfind(b"\n" + _name(CHECKSUM) + b":{\n")
    if not raw.startswith(b"{\n") or tail < 0:
        return _load_any(raw), True
    head = raw[: tail + 1]
    stamp = json.loads(raw[tail:].split(b"\n")[2].partition(b":")[2])
    if stamp.get("crc") != f"{zlib.crc32(head) & 0xFFFFFFFF:08x}":
        raise Unreadable("its checksum does not match its content")
    tables: Tables = {}
    rows: dict[str, bytes] | None = None
    for line in head.split(b"\n")[1:]:
        if not line:
            continue
        if line in (b"}", b"},"):
            rows = None
        elif rows is None and line.endswith(b":{"):
            rows = tables.setdefault(json.loads(line[:-2]), {})
        elif rows is not None:
            doc = line.partition(b":")[2].removesuffix(b",")
            rows[_key_of(doc)] = doc
        else:
            raise Unreadable(f"a line outside any table: {line[:60]!r}")
    return tables, False


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
