"""db.json's tables are read when first asked for: the same documents, damage still found at
opening, and a checkpoint still writes every table."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.core import snapshot
from service.core import store as store_module
from service.core.store import JOURNAL, SNAPSHOT, Store, StoreCorrupt

TABLES = ("records", "threads", "reply_keys")


def _filled(path: Path) -> None:
    with Store(path) as store, store.transaction() as txn:
        for table in TABLES:
            for n in range(5):
                txn.put(table, f"{table}-{n}", {"n": n, "名": "会议纪要", "esc": 'a"b\\c\td'})
    with Store(path) as store:
        store.checkpoint()


def _journal_writes(store: Store) -> None:
    """Writes to a table after the checkpoint: a change, a new one, a deletion, one deleted and
    written again (which moves it to the end, as it did before tables were read lazily)."""
    with store.transaction() as txn:
        txn.put("threads", "threads-1", {"n": 100})
        txn.put("threads", "threads-new", {"n": 200})
        txn.delete("threads", "threads-2")
        txn.delete("threads", "threads-0")
    with store.transaction() as txn:
        txn.put("threads", "threads-0", {"n": 300})


def test_a_table_read_late_holds_what_the_journal_wrote_to_it(tmp_path: Path) -> None:
    _filled(tmp_path)
    writer = Store(tmp_path)
    _journal_writes(writer)
    expected = {table: writer.all(table) for table in TABLES}
    writer._unlock()  # a crash: the journal holds the writes
    assert (tmp_path / JOURNAL).exists()

    with Store(tmp_path, read_only=True) as reader:
        assert [d["key"] for d in reader.all("threads")] == [
            "threads-1", "threads-3", "threads-4", "threads-new", "threads-0",
        ]  # fmt: skip
        assert {table: reader.all(table) for table in TABLES} == expected
        assert reader.get("threads", "threads-2") is None
        assert reader.get("records", "records-3") == {
            "key": "records-3",
            "n": 3,
            "名": "会议纪要",
            "esc": 'a"b\\c\td',
        }


def test_only_the_tables_asked_for_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _filled(tmp_path)
    taken: list[str] = []
    take = snapshot.Unread.take

    def spying(self: snapshot.Unread, table: str) -> dict[str, bytes]:
        taken.append(table)
        return take(self, table)

    monkeypatch.setattr(snapshot.Unread, "take", spying)
    with Store(tmp_path, read_only=True) as reader:
        assert reader.count("records") == 5
        assert reader.get("records", "records-1")["n"] == 1
        assert reader.get("nothing", "x") is None
    assert taken == ["records"]


def test_damage_in_a_table_nobody_reads_is_found_at_opening(tmp_path: Path) -> None:
    _filled(tmp_path)
    raw = (tmp_path / SNAPSHOT).read_bytes()
    at = raw.index(b'"reply_keys-3"')
    (tmp_path / SNAPSHOT).write_bytes(raw[:at] + b'"reply_keys-9"' + raw[at + 14 :])
    with pytest.raises(StoreCorrupt, match="checksum"):
        Store(tmp_path, read_only=True)


def test_a_checkpoint_writes_the_tables_nobody_read(tmp_path: Path) -> None:
    _filled(tmp_path)
    writer = Store(tmp_path)
    _journal_writes(writer)
    writer.close()
    writer = Store(tmp_path)
    with writer.transaction() as txn:
        txn.put("records", "records-new", {"n": 9})
    writer.checkpoint()  # has read neither threads nor reply_keys since opening
    writer.close()
    assert not (tmp_path / JOURNAL).exists()
    with Store(tmp_path, read_only=True) as reader:
        assert reader.count("records") == 6
        assert reader.count("reply_keys") == 5
        assert [d["n"] for d in reader.all("threads")] == [100, 3, 4, 200, 300]


def _checkpointed_records(store: Store) -> None:
    """100 documents of about 200 bytes, all in db.json, the journal empty."""
    with store.transaction() as txn:
        for n in range(100):
            txn.put("records", f"r{n}", {"text": "x" * 200})
    store.checkpoint()


def test_the_journal_is_checkpointed_once_it_holds_as_many_bytes_as_db_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "JOURNAL_BYTES", 1000)
    with Store(tmp_path) as store:
        _checkpointed_records(store)
        size = (tmp_path / SNAPSHOT).stat().st_size
        written = 0
        while written + 400 < size:  # far fewer operations than checkpoint_every
            with store.transaction() as txn:
                txn.put("records", "r1", {"text": "y" * 200})
            written = (tmp_path / JOURNAL).stat().st_size
            assert written > 0
        for _ in range(3):
            with store.transaction() as txn:
                txn.put("records", "r1", {"text": "z" * 200})
        assert not (tmp_path / JOURNAL).exists() or (tmp_path / JOURNAL).stat().st_size < 1000
    with Store(tmp_path, read_only=True) as reader:
        assert reader.get("records", "r1")["text"] == "z" * 200


def test_a_quiet_moment_folds_a_journal_of_an_eighth_of_db_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "QUIET_BYTES", 1000)
    with Store(tmp_path) as store:
        _checkpointed_records(store)
        eighth = (tmp_path / SNAPSHOT).stat().st_size // 8
        with store.transaction() as txn:
            txn.put("records", "r1", {"text": "y" * 200})
        assert (tmp_path / JOURNAL).stat().st_size < eighth
        assert not store.compact_when_quiet(), "a short journal is left as it is"
        while (tmp_path / JOURNAL).stat().st_size < eighth:
            with store.transaction() as txn:
                txn.put("records", "r2", {"text": "z" * 200})
        assert store.compact_when_quiet()
        assert not (tmp_path / JOURNAL).exists()
    with Store(tmp_path, read_only=True) as reader:
        assert not reader.compact_when_quiet(), "a reader never writes"
        assert reader.get("records", "r2")["text"] == "z" * 200
