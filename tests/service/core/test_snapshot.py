"""A document's encoding is the one json.dumps wrote before orjson, and reads back the same."""

from __future__ import annotations

import json
import math
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from service.core import snapshot

exact = st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.text()
# A float in exponent form is written 1e-05 by json and 1e-5 by orjson: the same number.
floats = st.floats(allow_nan=False, allow_infinity=False)


def _documents(scalars: st.SearchStrategy[object]) -> st.SearchStrategy[dict[str, object]]:
    values = st.recursive(
        scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4)
    )
    return st.dictionaries(st.text(), values, max_size=8)


def _by_json(key: str, doc: dict[str, object]) -> bytes:
    ordered: dict[str, object] = {"key": key}  # first, and the document's own "key" gives way
    ordered.update(doc)
    ordered["key"] = key
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":")).encode()


@settings(max_examples=500, deadline=None)
@given(st.text(), _documents(exact | floats))
def test_the_encoding_reads_back_as_the_document(key: str, doc: dict[str, object]) -> None:
    encoded = snapshot.encode(key, doc)
    assert snapshot.decode(encoded) == json.loads(_by_json(key, doc))
    assert json.loads(encoded) == snapshot.decode(encoded), "any JSON reader (TinyDB) reads the same"


@settings(max_examples=500, deadline=None)
@given(st.text(), _documents(exact | st.floats(min_value=1e-4, max_value=1e15)))
def test_the_bytes_are_json_s_bytes(key: str, doc: dict[str, object]) -> None:
    assert snapshot.encode(key, doc) == _by_json(key, doc)


def test_what_orjson_refuses_is_written_and_read_as_json_did() -> None:
    huge = {"n": 2**70, "when": 1.5}
    assert snapshot.encode("k", huge) == _by_json("k", huge)
    written_by_json = b'{"key":"k","rate":NaN}'
    assert math.isnan(snapshot.decode(written_by_json)["rate"])
    assert snapshot.encode("k", {1: "int key"}) == _by_json("k", {1: "int key"})


def test_an_encoding_held_in_memory_costs_its_size_not_a_write_buffer() -> None:
    doc = {"title": "输出工单自动分派方案", "owner": "li.na@example.test", "history": [{"at": "x"}] * 3}
    tracemalloc.start()
    try:
        held = [snapshot.encode(f"2024-OPS-{n:03d}#1", doc) for n in range(1000)]
        per_document = tracemalloc.get_traced_memory()[0] / len(held)
    finally:
        tracemalloc.stop()
    assert per_document < 2 * len(held[0]) + 100, per_document
