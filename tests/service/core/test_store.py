"""service.core.store: durable transactions, crash safety, the lock, and refusing to reset."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tinydb import TinyDB

from service.core.store import JOURNAL, SNAPSHOT, Store, StoreCorrupt, StoreLocked, StoreUnavailable
from tests.conftest import REPO


def test_commits_survive_reopen_through_journal_and_checkpoint(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.transaction() as txn:
        txn.put("messages", "<a@x>", {"outcome": "applied"})
        txn.put("ledger", "imap:1:1", {"message_id": "<a@x>"})
    with store.transaction() as txn:
        txn.put("messages", "<a@x>", {"outcome": "ignored"})
    store._unlock()  # simulate a crash: no checkpoint at close, the journal holds the truth
    reopened = Store(tmp_path)
    assert reopened.get("messages", "<a@x>") == {"outcome": "ignored", "key": "<a@x>"}
    assert reopened.get("ledger", "imap:1:1")["message_id"] == "<a@x>"
    assert (tmp_path / JOURNAL).exists(), "a short journal is replayed, not checkpointed, on opening"
    assert json.loads((tmp_path / SNAPSHOT).read_text()).keys() <= {"_checksum"}, "not rewritten at start-up"
    reopened.checkpoint()
    assert not (tmp_path / JOURNAL).exists()
    data = json.loads((tmp_path / SNAPSHOT).read_text())
    assert list(data["messages"].values()) == [{"outcome": "ignored", "key": "<a@x>"}]
    reopened.close()


def test_a_long_journal_is_checkpointed_on_opening_and_a_short_one_survives_closing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.checkpoint_every = 3
    with store.transaction() as txn:
        txn.put("t", "a", {"n": 1})
    store.close()
    assert (tmp_path / JOURNAL).exists(), "closing after one transaction leaves the journal as it is"
    reopened = Store(tmp_path)
    reopened.checkpoint_every = 3
    for n in range(2):
        with reopened.transaction() as txn:
            txn.put("t", f"b{n}", {"n": n})
    assert not (tmp_path / JOURNAL).exists(), "the replayed one and two more reach checkpoint_every"
    assert {d["key"] for d in json.loads((tmp_path / SNAPSHOT).read_text())["t"].values()} == {
        "a",
        "b0",
        "b1",
    }
    reopened.close()


def test_a_torn_last_write_is_dropped_and_earlier_commits_kept(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.transaction() as txn:
        txn.put("t", "kept", {"v": 1})
    store._unlock()
    with open(tmp_path / JOURNAL, "ab") as fh:
        fh.write(b'{"t":"t","k":"lost","d":{"v":2}}\n{"t":"t","k":"lo')
    reopened = Store(tmp_path)
    assert reopened.get("t", "kept") == {"v": 1, "key": "kept"}
    assert reopened.get("t", "lost") is None, "a transaction without its commit line never happened"
    reopened.close()


def test_a_damaged_database_stops_with_the_reason_and_is_not_reset(tmp_path: Path) -> None:
    (tmp_path / SNAPSHOT).write_text('{"messages": {"1": {"key": "a"')
    with pytest.raises(StoreCorrupt, match="not reset"):
        Store(tmp_path)
    assert (tmp_path / SNAPSHOT).read_text() == '{"messages": {"1": {"key": "a"'


def test_damage_in_the_middle_of_the_journal_is_not_skipped(tmp_path: Path) -> None:
    (tmp_path / SNAPSHOT).write_text("{}")
    (tmp_path / JOURNAL).write_text('garbage\n{"commit": 0}\n{"t":"t","k":"a","d":{}}\n{"commit": 1}\n')
    with pytest.raises(StoreCorrupt, match="line 1"):
        Store(tmp_path)


def test_a_second_writer_is_refused_and_readers_still_work(tmp_path: Path) -> None:
    first = Store(tmp_path)
    with first.transaction() as txn:
        txn.put("t", "a", {"v": 1})
    with pytest.raises(StoreLocked, match=f"pid {os.getpid()}"):
        Store(tmp_path)
    reader = Store(tmp_path, read_only=True)
    assert reader.get("t", "a") == {"v": 1, "key": "a"}
    reader.close()
    first.close()
    Store(tmp_path).close()  # free again once the first is closed


def test_a_failed_transaction_block_writes_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with pytest.raises(RuntimeError), store.transaction() as txn:
        txn.put("t", "a", {"v": 1})
        raise RuntimeError("stage failed")
    assert store.get("t", "a") is None
    store.close()
    assert Store(tmp_path, read_only=True).get("t", "a") is None


WRITER = """
import sys
from pathlib import Path
from service.core.store import Store
store = Store(Path(sys.argv[1]))
store.checkpoint_every = 50  # checkpoints happen under the kill too
i = 0
while True:
    with store.transaction() as txn:
        txn.put("pairs", f"a{i}", {"i": i})
        txn.put("pairs", f"b{i}", {"i": i})
        txn.put("meta", "last", {"i": i})
    print(i, flush=True)
    i += 1
"""


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.4])
def test_sigkill_mid_write_leaves_a_consistent_prefix(tmp_path: Path, delay: float) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    proc.stdout.readline()  # the first commit is done
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    acknowledged = [int(line) for line in proc.stdout.read().split()]
    proc.wait()
    store = Store(tmp_path)
    last = store.get("meta", "last")["i"]
    assert last >= max(acknowledged, default=0), "every acknowledged commit survived"
    for i in range(last + 1):
        assert store.get("pairs", f"a{i}") and store.get("pairs", f"b{i}"), i
    assert store.get("pairs", f"a{last + 1}") is None and store.get("pairs", f"b{last + 1}") is None
    store.close()


def test_a_deleted_lock_file_lets_no_second_store_in(tmp_path: Path) -> None:
    first = Store(tmp_path)
    try:
        (tmp_path / "minutesd.lock").unlink()
        with pytest.raises(StoreLocked):
            Store(tmp_path)
    finally:
        first.close()
    Store(tmp_path).close()  # released with the first


@pytest.mark.parametrize("snapshot", ["missing", "empty"])
def test_a_lost_database_beside_history_is_refused_not_reset(tmp_path: Path, snapshot: str) -> None:
    with Store(tmp_path) as store, store.transaction() as txn:
        txn.put("records", "2024-OPS-001", {"state": "confirmed"})
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "ab.eml").write_bytes(b"x")
    if snapshot == "missing":
        (tmp_path / SNAPSHOT).unlink()
    else:
        (tmp_path / SNAPSHOT).write_bytes(b"")
    with pytest.raises(StoreCorrupt, match=f"db.json is {snapshot}.*not reset.*minutesd init --force"):
        Store(tmp_path)
    assert (tmp_path / "raw" / "ab.eml").exists()
    assert not (tmp_path / SNAPSHOT).exists() or (tmp_path / SNAPSHOT).read_bytes() == b"", (
        "nothing rewritten"
    )


def test_a_new_store_is_made_in_an_empty_directory(tmp_path: Path) -> None:
    with Store(tmp_path / "fresh") as store:
        assert store.count("records") == 0
    assert TinyDB(tmp_path / "fresh" / SNAPSHOT, access_mode="r").tables() <= {"_checksum"}


def test_a_full_disk_rolls_the_journal_back_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    with store.transaction() as txn:
        txn.put("t", "a", {"n": 1})
    journal = tmp_path / JOURNAL
    good = journal.read_bytes()
    real_write = store._journal.write

    def half_then_enospc(data: bytes) -> int:
        real_write(data[: len(data) // 2])
        store._journal.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store._journal, "write", half_then_enospc)
    with pytest.raises(StoreUnavailable, match="No space left"), store.transaction() as txn:
        txn.put("t", "b", {"n": 2})
    assert journal.read_bytes() == good, "the torn half is cut off before anything else is written"
    assert store.get("t", "b") is None
    with store.transaction() as txn:  # room again: the next write goes on a clean line
        txn.put("t", "c", {"n": 3})
    store._journal.close()
    store._journal = None
    store._unlock()
    reopened = Store(tmp_path)
    assert reopened.get("t", "a") == {"n": 1, "key": "a"} and reopened.get("t", "c") == {"n": 3, "key": "c"}
    assert reopened.get("t", "b") is None
    reopened.close()


def test_garbage_inside_a_json_string_is_found_by_its_checksum(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for key in ("a", "b"):
        with store.transaction() as txn:
            txn.put("t", key, {"text": "确认无误"})
    store._journal.close()
    store._journal = None
    store._unlock()
    journal = tmp_path / JOURNAL
    journal.write_bytes(journal.read_bytes().replace("确认无误".encode(), "确认有误".encode(), 1))
    with pytest.raises(StoreCorrupt, match="line 1 is damaged \\(checksum mismatch\\)"):
        Store(tmp_path)


def test_a_journal_of_the_earlier_format_is_read_and_migrated(tmp_path: Path) -> None:
    (tmp_path / SNAPSHOT).write_text("{}")
    (tmp_path / JOURNAL).write_text('{"t":"t","k":"a","d":{"n":1,"key":"a"}}\n{"commit": 1}\n')
    with Store(tmp_path) as store:
        assert store.get("t", "a") == {"n": 1, "key": "a"}
    assert not (tmp_path / JOURNAL).exists(), "checkpointed into db.json on opening"
