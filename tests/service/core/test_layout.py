"""db.json's layout (TinyDB's format, a document a line) and the archive's files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tinydb import Query, TinyDB

from service.core.archive import Archive
from service.core.snapshot import encode
from service.core.store import SNAPSHOT, Store, StoreCorrupt, define_index


def _filled(path: Path) -> Store:
    store = Store(path)
    with store.transaction() as txn:
        txn.put("records", "2024-OPS-001", {"state": "confirmed", "name": '评审会\n第二行 "引号"'})
        txn.put("records", "2024-OPS-002", {"state": "awaiting_confirmation", "name": "Q3"})
        txn.put("messages", 'odd "key"\twith tab@x', {"outcome": "applied"})
    store.checkpoint()
    return store


def test_tinydb_itself_opens_the_snapshot_and_finds_every_document(tmp_path: Path) -> None:
    _filled(tmp_path).close()
    db = TinyDB(tmp_path / SNAPSHOT, access_mode="r")
    found = db.table("records").search(Query().state == "confirmed")
    assert [d["key"] for d in found] == ["2024-OPS-001"]
    assert found[0]["name"] == '评审会\n第二行 "引号"'
    assert db.table("messages").all()[0]["key"] == 'odd "key"\twith tab@x'


def test_reopening_reads_every_line_back_by_its_key(tmp_path: Path) -> None:
    _filled(tmp_path).close()
    with Store(tmp_path) as store:
        assert store.get("records", "2024-OPS-001")["name"] == '评审会\n第二行 "引号"'
        assert store.get("messages", 'odd "key"\twith tab@x') == {
            "key": 'odd "key"\twith tab@x',
            "outcome": "applied",
        }
        assert store.count("records") == 2


def test_a_flipped_byte_anywhere_in_the_snapshot_stops_opening(tmp_path: Path) -> None:
    _filled(tmp_path).close()
    raw = (tmp_path / SNAPSHOT).read_bytes()
    (tmp_path / SNAPSHOT).write_bytes(raw.replace(b"Q3", b"Q4"))
    with pytest.raises(StoreCorrupt, match="checksum does not match"):
        Store(tmp_path)


def test_a_snapshot_in_tinydbs_own_layout_is_read_and_rewritten_in_ours(tmp_path: Path) -> None:
    legacy = {
        "records": {"1": {"state": "confirmed", "key": "2024-OPS-001"}},
        "t": {"7": {"key": "a", "n": 1}},
    }
    (tmp_path / SNAPSHOT).write_text(json.dumps(legacy, ensure_ascii=False, indent=4))
    with Store(tmp_path) as store:
        assert store.get("records", "2024-OPS-001")["state"] == "confirmed"
        assert store.get("t", "a")["n"] == 1
    assert (tmp_path / SNAPSHOT).read_bytes().startswith(b'{\n"records":{\n"1":{"key":"2024-OPS-001"')


def test_indexes_follow_every_write_and_a_reopen(tmp_path: Path) -> None:
    define_index("layout_test", "colour", lambda d: [d.get("colour")])
    define_index("layout_test", "tags", lambda d: d.get("tags", []))
    store = Store(tmp_path)
    with store.transaction() as txn:
        txn.put("layout_test", "a", {"colour": "red", "tags": ["x", "y"]})
        txn.put("layout_test", "b", {"colour": "red", "tags": ["y"]})
    assert store.keys("layout_test", "colour", "red") == {"a", "b"}
    with store.transaction() as txn:
        txn.put("layout_test", "a", {"colour": "blue", "tags": ["x"]})
        txn.delete("layout_test", "b")
    assert store.keys("layout_test", "colour", "red") == set()
    assert [d["key"] for d in store.query("layout_test", "colour", "blue")] == ["a"]
    assert store.keys("layout_test", "tags", "y") == set() and store.tally("layout_test", "tags") == {"x": 1}
    store.close()
    with Store(tmp_path) as again:
        assert again.keys("layout_test", "colour", "blue") == {"a"}
    with pytest.raises(KeyError, match="no index 'size'"):
        again.keys("layout_test", "size", 1)


def test_archived_documents_are_found_by_key_and_a_live_copy_wins(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.transaction() as txn:
        for n in range(50):
            txn.put("items", f"R#{n}", {"n": n, "title": f"第{n}项"})
    assert (
        store.archive("items", [f"R#{n}" for n in range(40)], "2024-06", summary=lambda d: {"n": d["n"]})
        == 40
    )
    assert store.count("items") == 10
    assert store.get("items", "R#7") == {"key": "R#7", "n": 7, "title": "第7项"}
    assert store.get("items", "R#99") is None
    with store.transaction() as txn:  # an archived item written again comes back
        doc = txn.get("items", "R#7")
        txn.put("items", "R#7", {**doc, "title": "改了"})
    assert store.get("items", "R#7")["title"] == "改了"
    assert sorted(d["n"] for d in store.archived("items")) == [n for n in range(40) if n != 7]
    assert len(list(store.summaries("items"))) == 39
    store.archive("items", ["R#7"], "2024-07")
    assert store.get("items", "R#7")["title"] == "改了", "the newest archived copy wins"
    store.close()


def test_a_torn_last_line_of_an_archive_file_is_skipped(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    archive.write("2024-06", "t", [("a", encode("a", {"n": 1}), None), ("b", encode("b", {"n": 2}), None)])
    with open(tmp_path / "2024-06" / "t.jsonl", "ab") as fh:
        fh.write(b'{"k":"c","d":{"n":')
    assert archive.get("t", "b") == {"key": "b", "n": 2}
    assert [k for k, _ in archive.documents("t")] == ["a", "b"]


def test_the_key_index_finds_the_newest_whole_line_and_never_a_longer_key(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    for period, n in (("2024-06", 1), ("2024-07", 2)):
        archive.write(
            period, "t", [("a", encode("a", {"n": n}), None), ("ba", encode("ba", {"n": 10 * n}), None)]
        )
    assert archive.get("t", "a") == {"key": "a", "n": 2}, "the newest copy"
    assert archive.get("t", "ba") == {"key": "ba", "n": 20}
    assert archive.get("t", "b") is None and archive.get("t", "") is None
    for bucket in (tmp_path / "keys" / "t").iterdir():
        with open(bucket, "ab") as fh:
            fh.write(b"a\t2024-08\t12")  # a torn line, no newline: the one before it counts
    assert archive.get("t", "a") == {"key": "a", "n": 2}
