"""The cold half of the store: finished work in per-period files, read on demand.

Layout under DATA_DIR/archive:

    <period>/<table>.jsonl           one archived document a line: {"k": key, "d": doc}
    <period>/<table>.summary.jsonl   one small line a document, for listings: {"k", "s"}
    keys/<table>/<xyz>.tsv           key → period and byte offset, bucketed by a hash of the key

A period is the month the documents were archived in ("2026-11"), so retention can drop or
export whole periods. Files are only appended to. A document is written (and fsynced) before
its index line, and the hot store forgets it only after both: a crash in between leaves the
document in both places, where the hot copy wins and the next archiving pass writes it again.
The newest index line of a key wins; a torn last line of any file is skipped.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from service.core import snapshot
from service.core.journal import dumps

Doc = dict[str, Any]
_BUCKETS = 3  # hex digits of the key's hash: 4,096 index files a table


class Archive:
    def __init__(self, root: Path) -> None:
        self.root = root

    # -- writing -----------------------------------------------------------

    def write(self, period: str, table: str, docs: Iterable[tuple[str, bytes, Doc | None]]) -> None:
        """Append documents (key, encoded document, summary or None) to a period, durably."""
        rows = list(docs)
        if not rows:
            return
        folder = self.root / period
        folder.mkdir(parents=True, exist_ok=True)
        data_path = folder / f"{table}.jsonl"
        placed: list[tuple[str, int]] = []
        with open(data_path, "ab") as data:
            for key, encoded, _ in rows:
                placed.append((key, data.tell()))
                data.write(b'{"k":%s,"d":%s}\n' % (dumps(key).encode(), encoded))
            data.flush()
            os.fdatasync(data.fileno())
        summaries = [(key, summary) for key, _, summary in rows if summary is not None]
        if summaries:
            with open(folder / f"{table}.summary.jsonl", "ab") as fh:
                fh.write("".join(dumps({"k": k, "s": s}) + "\n" for k, s in summaries).encode())
                fh.flush()
                os.fdatasync(fh.fileno())
        by_bucket: dict[Path, list[str]] = {}
        for key, offset in placed:
            by_bucket.setdefault(self._bucket(table, key), []).append(f"{_escape(key)}\t{period}\t{offset}\n")
        for bucket, lines in by_bucket.items():
            bucket.parent.mkdir(parents=True, exist_ok=True)
            with open(bucket, "ab") as fh:
                fh.write("".join(lines).encode())
                fh.flush()
                os.fdatasync(fh.fileno())

    # -- reading -----------------------------------------------------------

    def get(self, table: str, key: str) -> Doc | None:
        place = self._place(table, key)
        if place is None:
            return None
        period, offset = place
        try:
            with open(self.root / period / f"{table}.jsonl", "rb") as fh:
                fh.seek(offset)
                line = snapshot.decode(fh.readline())
        except (OSError, ValueError):
            return None
        doc = line.get("d") if isinstance(line, dict) and line.get("k") == key else None
        return doc if isinstance(doc, dict) else None

    def periods(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and p.name != "keys")

    def documents(self, table: str, periods: Iterable[str] | None = None) -> Iterator[tuple[str, Doc]]:
        """Every archived document of a table, the newest copy of each key once, oldest period first."""
        newest: dict[str, Doc] = {}
        for period in self.periods() if periods is None else periods:
            for line in _lines(self.root / period / f"{table}.jsonl"):
                if isinstance(line.get("d"), dict):
                    newest.pop(line["k"], None)
                    newest[line["k"]] = line["d"]
        yield from newest.items()

    def summaries(self, table: str) -> Iterator[tuple[str, str, Doc]]:
        """(key, period, summary) of every archived document that has one, the newest copy once."""
        newest: dict[str, tuple[str, Doc]] = {}
        for period in self.periods():
            for line in _lines_at_once(self.root / period / f"{table}.summary.jsonl"):
                if isinstance(line.get("s"), dict):
                    newest.pop(line["k"], None)
                    newest[line["k"]] = (period, line["s"])
        for key, (period, summary) in newest.items():
            yield key, period, summary

    def period_of(self, table: str, key: str) -> str | None:
        """The period that holds the newest copy of key (a key archived twice lives in the later)."""
        place = self._place(table, key)
        return place[0] if place else None

    def drop_period(self, period: str) -> int:
        """Delete a whole period's files; its index lines are left to point at nothing, which
        `get` reads as "not archived". Returns the bytes freed."""
        folder = self.root / period
        freed = sum(f.stat().st_size for f in folder.glob("*") if f.is_file())
        for path in folder.glob("*"):
            path.unlink()
        folder.rmdir()
        return freed

    # -- the key index -------------------------------------------------------

    def _bucket(self, table: str, key: str) -> Path:
        digest = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:_BUCKETS]
        return self.root / "keys" / table / f"{digest}.tsv"

    def _place(self, table: str, key: str) -> tuple[str, int] | None:
        """Where the newest copy of key is: the last whole line of its bucket that names it.

        A substring search, not a parse of the bucket: most lookups are misses (a new message
        is looked up before it is known), and they must stay cheap as the archive grows."""
        try:
            data = self._bucket(table, key).read_bytes()
        except OSError:
            return None
        needle = _escape(key).encode() + b"\t"
        end = len(data)
        while True:
            at = data.rfind(b"\n" + needle, 0, end)
            start = at + 1 if at >= 0 else (0 if data.startswith(needle) and end > 0 else -1)
            if start < 0:
                return None
            stop = data.find(b"\n", start)
            parts = data[start : stop if stop >= 0 else len(data)].split(b"\t")
            if stop >= 0 and len(parts) == 3 and parts[2].isdigit():
                return parts[1].decode(), int(parts[2])
            if start == 0:
                return None
            end = at  # a torn line: look at the one before


def _escape(key: str) -> str:
    return key.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _lines_at_once(path: Path) -> list[Doc]:
    """A file of small lines decoded in one call; line by line only when its last line is torn."""
    try:
        text = path.read_bytes().strip()
    except OSError:
        return []
    try:
        lines = snapshot.decode(b"[" + text.replace(b"\n", b",") + b"]")
    except ValueError:
        return list(_lines(path))
    return [line for line in lines if isinstance(line, dict) and isinstance(line.get("k"), str)]


def _lines(path: Path) -> Iterator[Doc]:
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError:
        return
    with fh:
        for raw in fh:
            try:
                line = snapshot.decode(raw)
            except ValueError:
                continue  # a torn last line
            if isinstance(line, dict) and isinstance(line.get("k"), str):
                yield line
