"""service.core.journal: a replay hands back each document's encoding exactly as written."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from service.core import snapshot
from service.core.journal import Damaged, Replay, decode_encoded, transaction_lines

AWKWARD_KEYS = ["plain", 'with "quotes"', "back\\slash", "中文键", 'ends with \\"', "tab\there"]


def _line_over(payload: bytes) -> bytes:
    return b'{"c":"%08x","e":%s}' % (zlib.crc32(payload) & 0xFFFFFFFF, payload)


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_a_written_operation_reads_back_as_the_same_bytes(key: str) -> None:
    encoded = snapshot.encode(key, {"text": '确认 "d":{} }', "n": 1, "nested": {"d": None}})
    (line,) = transaction_lines({('tab"le', key): encoded}).splitlines()[:1]
    (table, read_key, document), legacy = decode_encoded(line)
    assert (table, read_key, document, legacy) == ('tab"le', key, encoded, False)
    assert document is not None and snapshot.decode(document)["text"] == '确认 "d":{} }'


def test_a_deletion_and_a_commit_read_back() -> None:
    delete, commit = transaction_lines({("t", "gone"): None}).splitlines()
    assert decode_encoded(delete) == (("t", "gone", None), False)
    assert decode_encoded(commit) == (1, False)


def test_a_replay_gives_each_transaction_with_the_stores_encodings(tmp_path: Path) -> None:
    first = {("t", "a"): snapshot.encode("a", {"n": 1}), ("t", "b"): None}
    second = {("u", "c"): snapshot.encode("c", {"list": [1, 2.5, "三"]})}
    path = tmp_path / "journal.jsonl"
    path.write_bytes(transaction_lines(first) + transaction_lines(second))
    replay = Replay(path)
    assert list(replay) == [first, second]
    assert replay.operations == 3 and not replay.legacy


def test_lines_of_the_earlier_formats_are_encoded_as_the_store_encodes() -> None:
    bare = b'{"t":"t","k":"a","d":{"n":1}}'
    (table, key, document), legacy = decode_encoded(bare)
    assert (table, key, document, legacy) == ("t", "a", snapshot.encode("a", {"n": 1}), True)


@pytest.mark.parametrize(
    "payload",
    [b'{"t":"t","k":"a","d":[1]}', b'{"t":"t","k":"a","d":"text"}', b'{"t":"t","d":{"key":"a"}}', b"[1]"],
)
def test_a_line_whose_checksum_holds_but_is_not_an_operation_is_damage(
    payload: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(_line_over(payload) + b"\n" + transaction_lines({("t", "b"): None}))
    with pytest.raises(Damaged, match="line 1 is damaged"):
        list(Replay(path))


def test_a_document_that_is_not_the_stores_encoding_is_read_in_full() -> None:
    # Written by hand (a restore tool, an older writer): no key first, so decoded and encoded again.
    line = _line_over(b'{"t":"t","k":"a","d":{"n":1,"key":"a"}}')
    (_, _, document), _ = decode_encoded(line)
    assert document == snapshot.encode("a", {"n": 1})
    assert snapshot.decode(document) == {"n": 1, "key": "a"}
