"""The only module that knows TinyDB.

TinyDB's own JSONStorage rewrites the whole file in place on every write: slow
for a growing ledger and torn by a crash mid-write. Here TinyDB holds the data
in memory; each committed transaction is appended to a journal and fsynced (one
small write per message), and a checkpoint writes the TinyDB file atomically
(temp file, fsync, rename) and empties the journal. Opening replays the
journal: a transaction without its commit line was never acknowledged and is
dropped; damage anywhere else stops the service with the reason.

Every journal line carries a CRC-32 of its content, and each commit line the number of
operations it closes, so damage is found and named, never glued or accepted. A failed
append (a full disk) is rolled back to the last good length before anything else is
written, and raised as StoreUnavailable: the message is retried later, not quarantined.
A missing or empty db.json in a data directory that holds anything else is refused: a new
store is made only in an empty directory or by `minutesd init`. One daemon per directory:
the lock is an flock on the directory itself, so deleting minutesd.lock lets nobody in.

The interface the workflow uses is small: `get`, `all`, `find`, `count`, and `transaction()`
yielding a Transaction with `get`, `put`, `delete`; `sync()` and `checkpoint()` for the daemon.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage

from service.core import journal
from service.core.files import fsync_dir, holds_something, write_atomically

log = logging.getLogger(__name__)

Doc = dict[str, Any]

SNAPSHOT = "db.json"
JOURNAL = "journal.jsonl"
LOCKFILE = "minutesd.lock"


class StoreError(Exception):
    """The store cannot be used; the message says why and what to do."""


class StoreLocked(StoreError):
    pass


class StoreCorrupt(StoreError):
    pass


class StoreUnavailable(StoreError):
    """A write failed for a reason that passes (no space left): nothing was written; try again."""


# What a data directory holds besides the store: if any of it is there, the store is not new.
_HISTORY = ("raw", "evidence", "outbox", JOURNAL)


class _MemoryStorage(Storage):
    """TinyDB storage whose data lives in memory; Store persists it."""

    def __init__(self, data: dict[str, dict[str, Doc]]) -> None:
        self.data = data

    def read(self) -> dict[str, dict[str, Doc]]:
        return self.data

    def write(self, data: dict[str, dict[str, Doc]]) -> None:
        self.data = data


class Transaction:
    def __init__(self, store: Store) -> None:
        self._store = store
        self.pending: dict[tuple[str, str], Doc | None] = {}

    def put(self, table: str, key: str, doc: Doc) -> None:
        self.pending[(table, key)] = dict(doc, key=key)

    def delete(self, table: str, key: str) -> None:
        self.pending[(table, key)] = None

    def get(self, table: str, key: str) -> Doc | None:
        if (table, key) in self.pending:
            pending = self.pending[(table, key)]
            return copy.deepcopy(dict(pending)) if pending is not None else None
        return self._store.get(table, key)


class Store:
    """Tables of documents addressed by a string key."""

    def __init__(self, data_dir: Path, *, read_only: bool = False) -> None:
        self.data_dir = data_dir
        self.read_only = read_only
        self._lock_fd: int | None = None
        self._journal: Any = None
        self._journal_ops = 0
        self._unsynced = False
        self._ids: dict[str, dict[str, int]] = {}
        self._next_id: dict[str, int] = {}
        self.checkpoint_every = 5000
        data_dir.mkdir(parents=True, exist_ok=True)
        if not read_only:
            self._lock()
        try:
            self.db = TinyDB(self._load_snapshot(), storage=_MemoryStorage)
            self._storage: _MemoryStorage = self.db.storage  # type: ignore[assignment]
            self._index()
            for ops in self._replay():
                self._apply(ops)
            if not read_only:
                self.checkpoint()
        except BaseException:
            self._unlock()
            raise

    # -- opening -----------------------------------------------------------

    def _lock(self) -> None:
        # The kernel's lock on the directory itself: a deleted minutesd.lock changes nothing.
        fd = os.open(self.data_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            try:
                holder = (self.data_dir / LOCKFILE).read_text().strip() or "unknown"
            except OSError:
                holder = "unknown"
            raise StoreLocked(
                f"another minutesd (pid {holder}) is using {self.data_dir}; "
                "stop it first, or give this one its own MINUTESD_DATA_DIR"
            ) from None
        self._lock_fd = fd
        with contextlib.suppress(OSError):  # who holds it, for the message above; not the lock
            (self.data_dir / LOCKFILE).write_text(str(os.getpid()))

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _load_snapshot(self) -> dict[str, dict[str, Doc]]:
        snapshot = self.data_dir / SNAPSHOT
        raw = snapshot.read_bytes() if snapshot.exists() else None
        if not raw:
            history = [name for name in _HISTORY if holds_something(self.data_dir / name)]
            if raw is not None or history:
                what = "is empty" if raw is not None else "is missing"
                raise StoreCorrupt(
                    f"the database {snapshot} {what}, but {self.data_dir} holds "
                    f"{', '.join(history) or 'an empty db.json'}: it was not reset. Restore db.json from a "
                    "backup; `minutesd fsck` says what the directory holds; only if you mean to start "
                    "over with an empty store, run `minutesd init --force`."
                )
            return {}
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StoreCorrupt(
                f"the database {snapshot} cannot be read ({exc}); it was not reset. "
                "Restore it from a backup or move it aside to start empty."
            ) from exc
        if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
            raise StoreCorrupt(f"the database {snapshot} is not a TinyDB file; it was not reset")
        return data

    def _replay(self) -> Iterator[journal.Batch]:
        path = self.data_dir / JOURNAL
        try:
            yield from journal.replay(path)
        except journal.Damaged as exc:
            raise StoreCorrupt(
                f"{path} {exc}; it was not reset. Restore a backup; `minutesd fsck` names what else is affected."
            ) from exc

    def _index(self) -> None:
        self._ids = {}
        self._next_id = {}
        for table, rows in self._storage.data.items():
            ids = {doc["key"]: int(doc_id) for doc_id, doc in rows.items() if "key" in doc}
            self._ids[table] = ids
            self._next_id[table] = max((int(i) for i in rows), default=0) + 1

    # -- reading -----------------------------------------------------------

    def get(self, table: str, key: str) -> Doc | None:
        doc_id = self._ids.get(table, {}).get(key)
        if doc_id is None:
            return None
        doc = self._storage.data[table].get(str(doc_id))
        # Deep copies: a caller's edit must reach the store only through a transaction.
        return copy.deepcopy(dict(doc)) if doc is not None else None

    def all(self, table: str) -> list[Doc]:
        return [copy.deepcopy(dict(doc)) for doc in self.db.table(table).all()]

    def find(self, table: str, predicate: Callable[[Doc], bool]) -> list[Doc]:
        return [doc for doc in self.all(table) if predicate(doc)]

    def snapshot(self) -> dict[str, dict[str, Doc]]:
        """The whole store as the checkpoint would write it (for backups)."""
        return copy.deepcopy(self._storage.data)

    def count(self, table: str) -> int:
        return len(self._storage.data.get(table, {}))

    # -- writing -----------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[Transaction]:
        """Everything put inside is committed together once the block exits, or not at all.

        durable=False is group commit: visible at once, on disk at the next `sync()`. A crash
        before that loses this transaction and every later one, never an earlier one.
        """
        if self.read_only:
            raise StoreError("this store was opened read-only")
        txn = Transaction(self)
        yield txn
        if txn.pending:
            self._commit(txn.pending, durable)

    def sync(self) -> None:
        """Make every committed transaction durable."""
        if self._journal is not None and self._unsynced:
            try:
                self._journal.flush()
                os.fsync(self._journal.fileno())
            except OSError as exc:
                raise StoreUnavailable(f"could not make the journal durable ({exc})") from exc
        self._unsynced = False
        if self._journal_ops >= self.checkpoint_every:
            self.checkpoint()

    def _commit(self, ops: dict[tuple[str, str], Doc | None], durable: bool = True) -> None:
        if self._journal is None:
            self._journal = open(self.data_dir / JOURNAL, "ab")  # noqa: SIM115 - kept open on purpose
        good = self._journal.tell()
        try:
            self._journal.write(journal.transaction_lines(ops))
            self._journal.flush()
        except OSError as exc:
            self._roll_back(good)
            raise StoreUnavailable(
                f"could not write the journal ({os.strerror(exc.errno or errno.EIO)}); nothing was "
                "written and the message will be taken again once there is room"
            ) from exc
        self._apply(ops)
        self._journal_ops += len(ops)
        self._unsynced = True
        if durable:
            self.sync()

    def _roll_back(self, good: int) -> None:
        """Cut the journal back to its last whole transaction, so nothing torn is left behind."""
        journal, self._journal = self._journal, None
        with contextlib.suppress(OSError):
            journal.close()
        fd = os.open(self.data_dir / JOURNAL, os.O_WRONLY)
        try:
            os.ftruncate(fd, good)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _apply(self, ops: dict[tuple[str, str], Doc | None]) -> None:
        data = self._storage.data
        for (table, key), doc in ops.items():
            rows = data.setdefault(table, {})
            ids = self._ids.setdefault(table, {})
            doc_id = ids.get(key)
            if doc is None:
                if doc_id is not None:
                    rows.pop(str(doc_id), None)
                    del ids[key]
                continue
            if doc_id is None:
                doc_id = self._next_id.get(table, 1)
                self._next_id[table] = doc_id + 1
                ids[key] = doc_id
            rows[str(doc_id)] = doc
        for table in {t for t, _ in ops}:
            self.db.table(table).clear_cache()

    def checkpoint(self) -> None:
        if self._journal is not None:
            self._journal.flush()
        payload = json.dumps(self._storage.data, ensure_ascii=False, separators=(",", ":"))
        write_atomically(self.data_dir / SNAPSHOT, payload.encode())
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        journal = self.data_dir / JOURNAL
        if journal.exists():
            journal.unlink()
            fsync_dir(self.data_dir)
        self._journal_ops = 0

    def close(self) -> None:
        if not self.read_only and self._lock_fd is not None:
            self.checkpoint()
        self.db.close()
        self._unlock()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
