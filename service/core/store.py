"""The store: the one interface the workflow uses, and the only module that knows its files.

The interface, all of it (a PostgreSQL backend goes behind these and nothing else):

    get(table, key)              one document, from the hot store or else the archive; a
                                 fresh copy the caller may edit (edits reach the store only
                                 through a transaction)
    query(table, index, value)   the hot documents an index files under value
    keys(table, index, value)    their keys only, without reading the documents
    indexed(table, index)        {key: values} of an index, for range questions (what is due)
    tally(table, index)          {value: how many}, without reading the documents
    all(table) / each(table)     every hot document of a table, as a list / one at a time
    count(table)                 how many hot documents a table has
    version(table, key)          a number that changes whenever the hot document does, so a
                                 reader can keep what it derived from it (the scheduler does)
    transaction()                yields a Transaction: get, put, delete; committed together
    archive(table, keys, period) move finished documents to the archive of a period
    archived(table) / summaries(table)   read the archive on demand
    sync(), checkpoint()         for the daemon: durability and compaction
    compact_when_quiet()         checkpoint now if the journal is worth it (a daemon with nothing
                                 to do, so that the commands started next replay little)

Indexes are declared by the workflow modules with `define_index(table, name, values)`, next
to the code that asks them; the store keeps them current on every write.

The hot store holds live work only, each document as its compact JSON in memory: a read
decodes one document and never copies a table. db.json is TinyDB's file format, laid out a
document a line (service/core/snapshot.py), so TinyDB opens it (tested) while opening here
checks it whole but reads a table's lines only when the table is first asked for, keeping
each line's bytes without decoding them. TinyDB's own JSONStorage is not used to write:
it rewrites the whole file in place on every write, slow for a growing ledger and torn by a
crash mid-write; nor its Table, which materialises whole tables on a query. Instead each
committed transaction is appended to a journal and fsynced (one small write per message), and
a checkpoint writes db.json atomically (temp file, fsync, rename) and empties the journal.
Opening replays the journal: a transaction without its commit line was never acknowledged and
is dropped; damage anywhere else stops the service with the reason. Opening and closing
checkpoint only when the journal has grown long (checkpoint_every operations, or as many as
the hot store holds documents up to 50,000, or as many bytes as db.json: see _checkpoint_due).

Every journal line carries a CRC-32 of its content, and each commit line the number of
operations it closes, so damage is found and named, never glued or accepted. A failed
append (a full disk) is rolled back to the last good length before anything else is
written, and raised as StoreUnavailable: the message is retried later, not quarantined.
A missing or empty db.json in a data directory that holds anything else is refused: a new
store is made only in an empty directory or by `minutesd init`. One daemon per directory:
the lock is an flock on the directory itself, so deleting minutesd.lock lets nobody in.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from collections.abc import Callable, Hashable, Iterable, Iterator
from pathlib import Path
from typing import Any

from service.core import journal, snapshot
from service.core.archive import Archive
from service.core.errors import StoreCorrupt, StoreError, StoreLocked, StoreUnavailable
from service.core.files import fsync_dir, holds_something, write_atomically
from service.core.indexes import Index, IndexValues, define_index, defined_index
from service.core.lock import lock_directory

log = logging.getLogger(__name__)

__all__ = [  # what the workflow imports from here, wherever it is defined
    "Doc", "IndexValues", "Store", "StoreCorrupt", "StoreError", "StoreLocked", "StoreUnavailable",
    "Transaction", "define_index",
]  # fmt: skip

Doc = dict[str, Any]
_NONE: dict[str, bytes] = {}  # the rows of a table that has none; never written to

SNAPSHOT = "db.json"
JOURNAL = "journal.jsonl"
LOCKFILE = "minutesd.lock"
ARCHIVE = "archive"
JOURNAL_BYTES = 8 << 20  # a journal shorter than this is never checkpointed for its size alone
QUIET_BYTES = 1 << 20  # nor, when the daemon is quiet, one shorter than this

# What a data directory holds besides the store: if any of it is there, the store is not new.
_HISTORY = ("raw", "evidence", "outbox", "mail", ARCHIVE, JOURNAL)


def _write(rows: dict[str, bytes], key: str, encoded: bytes | None) -> None:
    """One write to a table's documents, as committed or as held for a table not yet read: a
    document's encoding, or None for its deletion."""
    if encoded is None:
        rows.pop(key, None)
    else:
        rows[key] = encoded


class Transaction:
    def __init__(self, store: Store) -> None:
        self._store = store
        self.pending: journal.EncodedBatch = {}

    def put(self, table: str, key: str, doc: Doc) -> None:
        self.pending[(table, key)] = snapshot.encode(key, doc)

    def delete(self, table: str, key: str) -> None:
        self.pending[(table, key)] = None

    def get(self, table: str, key: str) -> Doc | None:
        if (table, key) in self.pending:
            pending = self.pending[(table, key)]
            return snapshot.decode(pending) if pending is not None else None
        return self._store.get(table, key)


class Store:
    """Tables of documents addressed by a string key."""

    def __init__(self, data_dir: Path, *, read_only: bool = False) -> None:
        self.data_dir = data_dir
        self.read_only = read_only
        self._lock_fd: int | None = None
        self._journal: Any = None
        self._journal_ops = 0
        self._journal_bytes = 0
        self._snapshot_bytes = 0
        self._unsynced = False
        self._docs: snapshot.Tables = {}  # the tables read so far
        self._unread: snapshot.Unread | None = None  # db.json's tables nobody has asked for yet
        self._deferred: dict[str, list[tuple[str, bytes | None]]] = {}  # the journal's writes to those
        self._indexes: dict[tuple[str, str], Index] = {}
        self._indexes_of: dict[str, list[Index]] = {}  # the same, by table, for every write
        self._versions: dict[tuple[str, str], int] = {}
        self._writes = 0
        self.checkpoint_every = 5000
        self.before_sync: list[Callable[[], None]] = []  # files a journal entry names, made durable first
        self.archive_files = Archive(data_dir / ARCHIVE)
        data_dir.mkdir(parents=True, exist_ok=True)
        if not read_only:
            self._lock()
        try:
            other_layout = self._load_snapshot()
            replay = journal.Replay(data_dir / JOURNAL)
            for ops in self._replay(replay):
                self._apply(ops)
            self._journal_ops = replay.operations
            self._journal_bytes = replay.size
            if not read_only and (replay.legacy or other_layout):
                self.checkpoint()
        except BaseException:
            if self._unread is not None:
                self._unread.close()
            self._unlock()
            raise

    # -- opening -----------------------------------------------------------

    def _lock(self) -> None:
        self._lock_fd = lock_directory(self.data_dir, LOCKFILE)

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _load_snapshot(self) -> bool:
        """Open db.json (its tables are read when first asked for); whether it must be rewritten
        (new, or in another layout)."""
        path = self.data_dir / SNAPSHOT
        size = path.stat().st_size if path.exists() else None
        self._snapshot_bytes = size or 0
        if not size:
            history = [name for name in _HISTORY if holds_something(self.data_dir / name)]
            if size is not None or history:
                what = "is empty" if size is not None else "is missing"
                raise StoreCorrupt(
                    f"the database {path} {what}, but {self.data_dir} holds "
                    f"{', '.join(history) or 'an empty db.json'}: it was not reset. Restore db.json from a "
                    "backup; `minutesd fsck` says what the directory holds; only if you mean to start "
                    "over with an empty store, run `minutesd init --force`."
                )
            return True
        try:
            self._docs, self._unread = snapshot.open_tables(open(path, "rb"))  # noqa: SIM115 - kept by Unread
        except snapshot.Unreadable as exc:
            raise StoreCorrupt(
                f"the database {path} cannot be read ({exc}); it was not reset. "
                "Restore it from a backup or move it aside to start empty."
            ) from exc
        return self._unread is None

    def _rows(self, table: str) -> dict[str, bytes]:
        """A table's documents by key, read from db.json the first time it is asked for."""
        rows = self._docs.get(table)
        if rows is None and self._unread is not None and table in self._unread:
            rows = self._docs[table] = self._take(table)
        return _NONE if rows is None else rows

    def _take(self, table: str) -> dict[str, bytes]:
        assert self._unread is not None
        try:
            rows = self._unread.take(table)
        except (OSError, snapshot.Unreadable) as exc:
            raise StoreCorrupt(
                f"the table {table} of {self.data_dir / SNAPSHOT} cannot be read ({exc})"
            ) from exc
        for key, encoded in self._deferred.pop(table, []):
            _write(rows, key, encoded)
        return rows

    def _read_all(self) -> snapshot.Tables:
        if self._unread is not None:
            for table in self._unread.names():
                self._rows(table)
            self._unread.close()
            self._unread = None
        return self._docs

    def _replay(self, replay: journal.Replay) -> Iterator[journal.EncodedBatch]:
        try:
            yield from replay
        except journal.Damaged as exc:
            raise StoreCorrupt(
                f"{replay.path} {exc}; it was not reset. Restore a backup; `minutesd fsck` names what else is affected."
            ) from exc

    # -- reading -----------------------------------------------------------

    def get(self, table: str, key: str) -> Doc | None:
        """The document, hot or archived; the caller's copy, so its edits change nothing here."""
        encoded = self._rows(table).get(key)
        if encoded is not None:
            return dict(snapshot.decode(encoded))
        return self.archive_files.get(table, key)

    def is_hot(self, table: str, key: str) -> bool:
        return key in self._rows(table)

    def all(self, table: str) -> list[Doc]:
        return [snapshot.decode(doc) for doc in self._rows(table).values()]

    def each(self, table: str) -> Iterator[Doc]:
        """Every hot document of a table, decoded one at a time (a big table is never whole in memory)."""
        for doc in list(self._rows(table).values()):
            yield snapshot.decode(doc)

    def find(self, table: str, predicate: Callable[[Doc], bool]) -> list[Doc]:
        """Hot documents that satisfy predicate: reads the whole table, so only for small ones."""
        return [doc for doc in self.all(table) if predicate(doc)]

    def query(self, table: str, index: str, value: Hashable) -> list[Doc]:
        rows = self._rows(table)
        return [snapshot.decode(rows[key]) for key in sorted(self.keys(table, index, value)) if key in rows]

    def keys(self, table: str, index: str, value: Hashable) -> set[str]:
        return set(self._index(table, index).keys_of.get(value, ()))

    def indexed(self, table: str, index: str) -> dict[str, tuple[Hashable, ...]]:
        return dict(self._index(table, index).values_of)

    def tally(self, table: str, index: str) -> dict[Hashable, int]:
        """How many hot documents the index files under each value, without reading them."""
        return {value: len(keys) for value, keys in self._index(table, index).keys_of.items()}

    def _index(self, table: str, name: str) -> Index:
        index = self._indexes.get((table, name))
        if index is None:
            values = defined_index(table, name)
            index = Index(values)
            for key, encoded in self._rows(table).items():
                index.file(key, snapshot.decode(encoded))
            self._indexes[(table, name)] = index
            self._indexes_of.setdefault(table, []).append(index)
        return index

    def version(self, table: str, key: str) -> int:
        """Changes whenever the hot document does; 0 for one not written since the store opened."""
        return self._versions.get((table, key), 0)

    def count(self, table: str) -> int:
        return len(self._rows(table))

    def archived(self, table: str, periods: Iterable[str] | None = None) -> Iterator[Doc]:
        """Archived documents of a table that are not hot again, read from their files."""
        hot = self._rows(table)
        for key, doc in self.archive_files.documents(table, periods):
            if key not in hot:
                yield doc

    def summaries(self, table: str) -> Iterator[tuple[str, str, Doc]]:
        """(key, period, summary) of archived documents that are not hot again."""
        hot = self._rows(table)
        for key, period, summary in self.archive_files.summaries(table):
            if key not in hot:
                yield key, period, summary

    def snapshot_bytes(self) -> bytes:
        """The hot store as the checkpoint writes it (for backups): TinyDB's file format."""
        return snapshot.dump(self._read_all())

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

    def archive(
        self, table: str, keys: Iterable[str], period: str, summary: Callable[[Doc], Doc] | None = None
    ) -> int:
        """Move hot documents to the archive of `period`; afterwards get() still finds them."""
        if self.read_only:
            raise StoreError("this store was opened read-only")
        rows = self._rows(table)
        moving = [(key, rows[key]) for key in keys if key in rows]
        if not moving:
            return 0
        try:
            self.archive_files.write(
                period,
                table,
                ((key, doc, summary(snapshot.decode(doc)) if summary else None) for key, doc in moving),
            )
        except OSError as exc:
            raise StoreUnavailable(f"could not write the archive ({exc}); nothing was moved") from exc
        with self.transaction() as txn:
            for key, _ in moving:
                txn.delete(table, key)
        return len(moving)

    def sync(self) -> None:
        """Make every committed transaction durable."""
        try:
            for hook in self.before_sync:
                hook()
        except OSError as exc:
            raise StoreUnavailable(f"could not make the files of the journal durable ({exc})") from exc
        if self._journal is not None and self._unsynced:
            try:
                self._journal.flush()
                os.fsync(self._journal.fileno())
            except OSError as exc:
                raise StoreUnavailable(f"could not make the journal durable ({exc})") from exc
        self._unsynced = False
        if self._checkpoint_due():
            self.checkpoint()

    def _commit(self, ops: journal.EncodedBatch, durable: bool = True) -> None:
        if self._journal is None:
            self._journal = open(self.data_dir / JOURNAL, "ab")  # noqa: SIM115 - kept open on purpose
        good = self._journal.tell()
        lines = journal.transaction_lines(ops)
        try:
            self._journal.write(lines)
            self._journal.flush()
        except OSError as exc:
            self._roll_back(good)
            raise StoreUnavailable(
                f"could not write the journal ({os.strerror(exc.errno or errno.EIO)}); nothing was "
                "written and the message will be taken again once there is room"
            ) from exc
        self._apply(ops)
        self._journal_ops += len(ops)
        self._journal_bytes += len(lines)
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

    def _apply(self, ops: journal.EncodedBatch) -> None:
        for (table, key), encoded in ops.items():
            self._writes += 1
            if encoded is None:
                self._versions.pop((table, key), None)
            else:
                self._versions[(table, key)] = self._writes
            if self._unread is not None and table in self._unread:
                self._deferred.setdefault(table, []).append((key, encoded))  # when the table is read
                continue
            _write(self._docs.setdefault(table, {}), key, encoded)
            indexes = self._indexes_of.get(table)
            if indexes:
                doc = None if encoded is None else snapshot.decode(encoded)
                for index in indexes:
                    index.file(key, doc)

    def _checkpoint_due(self) -> bool:
        """Whether the journal is long enough to fold into db.json: checkpoint_every operations or
        as many as the hot store holds documents, whichever is more, up to 50,000; or, past
        JOURNAL_BYTES, as many bytes as db.json. A checkpoint writes every hot document, so both
        keep its cost per operation or byte journaled from growing with live work, while the
        journal every command replays at start stays short: records of 13 KB are written whole,
        so 40,000 operations were 54 MB, and a replay costs three to five times a read of db.json
        per byte. 1,000 replies at 250,000 items journal 12 MB; a checkpoint then costs 0.2 s
        to write and up to 0.2 s to read the tables the command had not read. At half db.json's
        bytes (34 MB) one run of 1,000 replies in three paid for one; at its size, one in six."""
        if self._journal_bytes >= max(JOURNAL_BYTES, self._snapshot_bytes):
            return True
        if self._journal_ops < self.checkpoint_every:
            return False  # the hot store's size cannot matter: no need to count tables not read
        hot = sum(len(rows) for rows in self._docs.values()) + (self._unread.lines() if self._unread else 0)
        return self._journal_ops >= min(hot, 50_000)

    def checkpoint(self) -> None:
        if self._journal is not None:
            self._journal.flush()
        write_atomically(self.data_dir / SNAPSHOT, lambda fh: snapshot.write(fh, self._read_all()))
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        path = self.data_dir / JOURNAL
        if path.exists():
            path.unlink()
            fsync_dir(self.data_dir)
        self._journal_ops = 0
        self._journal_bytes = 0
        self._snapshot_bytes = (self.data_dir / SNAPSHOT).stat().st_size

    def compact_when_quiet(self) -> bool:
        """Checkpoint if the journal holds an eighth of db.json's bytes or more (past QUIET_BYTES):
        for a daemon between bursts of mail, when a checkpoint costs nobody a wait. Every command
        replays the journal at start (at 250,000 items, a journal of 54 MB was 0.3-0.45 s of
        `status --json`); waiting for a full one (db.json's size) keeps checkpoints rare under
        load. Whether it checkpointed."""
        if self.read_only or self._journal_bytes < max(QUIET_BYTES, self._snapshot_bytes // 8):
            return False
        self.checkpoint()
        return True

    def close(self) -> None:
        if not self.read_only and self._lock_fd is not None:
            if self._checkpoint_due():
                self.checkpoint()
            elif self._journal is not None:
                self.sync()
                self._journal.close()
                self._journal = None
        if self._unread is not None:
            self._unread.close()
        self._unlock()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
