"""Retention: how long finished work is kept, and the one command that deletes it.

The source documents ask for records to be kept at least two years (`archive.keep_years`).
Nothing is deleted by itself. `minutesd archive --purge-before YEAR` deletes the archive
periods before that year, and with them what only they still need: the evidence of their
meetings, the raw messages they recorded and the packs of the mail they sent. It refuses a
year that would cut into the retention, and a file that live work (or a later period) still
names is kept. Each purge leaves an entry in the store's `retention` table.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from service.core.config import Rules
from service.core.ledger import MESSAGES
from service.core.packs import file_of
from service.core.store import Store
from service.items.evidence import safe_name
from service.mail import outbox
from service.minutes import records

PURGES = "retention"


class RetentionRefused(Exception):
    """The year asked for would delete records younger than the rules keep."""


@dataclass
class Purged:
    periods: list[str] = field(default_factory=list)
    meetings: int = 0
    files: int = 0
    bytes: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"periods": self.periods, "meetings": self.meetings, "files": self.files, "bytes": self.bytes}


def newest_purgeable_year(rules: Rules, now: datetime) -> int:
    """Periods before 1 January of the year after this one are older than the retention."""
    return now.astimezone(rules.tz).year - rules.archive.keep_years


def purge_before(store: Store, rules: Rules, year: int, now: datetime, dry_run: bool = False) -> Purged:
    newest = newest_purgeable_year(rules, now)
    if year > newest:
        raise RetentionRefused(
            f"records are kept {rules.archive.keep_years} years (archive.keep_years): the latest "
            f"--purge-before allowed today is {newest}, not {year}"
        )
    archive = store.archive_files
    cutoff = f"{year:04d}-01"
    gone = [p for p in archive.periods() if p < cutoff]
    purged = Purged(periods=gone)
    if not gone:
        return purged
    later = [p for p in archive.periods() if p >= cutoff][:2]  # mail archived just after its day
    files = _files_only_these_need(store, gone, later, purged)
    if dry_run:
        return purged
    for path in files:
        purged.bytes += _remove(path)
    for period in gone:
        purged.bytes += archive.drop_period(period)
    with store.transaction() as txn:
        txn.put(PURGES, now.isoformat(), {"before": year, **purged.as_json()})
    return purged


def _files_only_these_need(store: Store, gone: list[str], later: list[str], purged: Purged) -> list[Path]:
    data = store.data_dir
    archive = store.archive_files
    files: list[Path] = []
    for key, _ in archive.documents(records.RECORDS, gone):
        if store.is_hot(records.RECORDS, key) or archive.period_of(records.RECORDS, key) not in gone:
            continue  # live again, or archived again later: its evidence is still needed
        purged.meetings += 1
        folder = data / "evidence" / safe_name(key)
        if folder.is_dir():
            files.append(folder)
    raws = {_raw(d) for k, d in archive.documents(MESSAGES, gone) if archive.period_of(MESSAGES, k) in gone}
    raws -= {_raw(d) for d in store.each(MESSAGES)}
    raws -= {_raw(d) for _, d in archive.documents(MESSAGES, later)}
    packs = {_pack(d) for _, d in archive.documents(outbox.TABLE, gone)} - {None}
    packs -= {_pack(d) for d in store.each(outbox.TABLE)}
    packs -= {_pack(d) for _, d in archive.documents(outbox.TABLE, later)}
    files += [data / p for p in sorted(p for p in raws | packs if p)]
    purged.files = len(files)
    return files


def _raw(doc: dict[str, Any]) -> str | None:
    """The file of a message's raw bytes: its day's pack, shared with that day's other messages."""
    return file_of(str(doc["archive"])) if doc.get("archive") else None


def _pack(doc: dict[str, Any]) -> str | None:
    body = str(doc.get("body") or "")
    name, _, span = body.partition("#")
    return name if span else None


def _remove(path: Path) -> int:
    if path.is_dir():
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        shutil.rmtree(path)
        return size
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return 0
    return size
