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


def load(fh: BinaryIO) -> tuple[Tables, bool]:
    """The tables, and whether the file was in another layout (so it should be rewritten).

    Read a line at a time: the file is never held whole beside the documents it holds."""
    first = fh.readline()
    if first != b"{\n":
        return _load_any(first + fh.read()), True
    crc = zlib.crc32(first)
    tables: Tables = {}
    rows: dict[str, bytes] | None = None
    checksum_header = _name(CHECKSUM) + b":{\n"
    for line in fh:
        if line == checksum_header:
            stamp = json.loads(fh.readline().partition(b":")[2])
            if stamp.get("crc") != f"{crc & 0xFFFFFFFF:08x}":
                raise Unreadable("its checksum does not match its content")
            return tables, False
        crc = zlib.crc32(line, crc)
        line = line.rstrip(b"\n")
        if line in (b"}", b"},"):
            rows = None
        elif rows is None and line.endswith(b":{"):
            rows = tables.setdefault(json.loads(line[:-2]), {})
        elif rows is not None:
            doc = line.partition(b":")[2].removesuffix(b",")
            rows[_key_of(doc)] = doc
        else:
            break  # not this layout (TinyDB's own, indented): read it whole
    fh.seek(0)
    return _load_any(fh.read()), True


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
