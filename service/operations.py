"""What an operator repairs with: `minutesd outbox`, `outbox retry`, `init` and `fsck`."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service import archiving, retention
from service.core.clock import Clock
from service.core.config import Rules, load_from_env
from service.core.files import write_atomically
from service.core.store import JOURNAL, SNAPSHOT, Store, StoreError
from service.mail import outbox, rawmail
from service.minutes import records
from service.pipeline import Pipeline

WAITING = (outbox.OutboxState.FAILED, outbox.OutboxState.PENDING, outbox.OutboxState.SENDING)


def cmd_outbox(args: argparse.Namespace) -> int:
    settings, _ = load_from_env()
    if args.action == "retry":
        return _retry(settings.data_dir, args.keys, args.all)
    store = Store(settings.data_dir, read_only=True)
    rows = [
        {
            "key": d["key"],
            "state": d["state"],
            "attempts": d["attempts"],
            "to": d.get("recipients", []),
            "subject": d.get("subject", ""),
            "queued": d.get("created_at", ""),
            "error": (d.get("last_error") or "").splitlines()[0][:120] if d.get("last_error") else "",
        }
        for d in store.find(outbox.TABLE, lambda d: d["state"] in WAITING)
    ]
    rows.sort(key=lambda r: (r["state"] != outbox.OutboxState.FAILED, r["queued"]))
    if args.json:
        print(json.dumps({"mails": rows}, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("outbox: nothing failed or waiting")
    for row in rows:
        print(
            f"{row['state']:8} {row['attempts']:>2}x  {row['key']}  to {', '.join(row['to'])}  {row['error']}"
        )
    return 0


def _retry(data_dir: Path, keys: list[str], every: bool) -> int:
    with Store(data_dir) as store:
        wanted = keys or [d["key"] for d in store.find(outbox.TABLE, lambda d: d["state"] == "failed")]
        if not wanted and not every:
            print("outbox retry: name a key, or --all for every failed mail")
            return 2
        now = datetime.now(UTC)
        with store.transaction() as txn:
            done = [key for key in wanted if outbox.retry(txn, key, now)]
    unknown = sorted(set(wanted) - set(done))
    print(f"outbox retry: {len(done)} mail(s) will be sent at the next pass (same Message-ID)")
    for key in unknown:
        print(f"  not retried (unknown, or already sent): {key}")
    return 1 if unknown and keys else 0


def cmd_init(args: argparse.Namespace) -> int:
    settings, _ = load_from_env()
    data_dir = settings.data_dir
    snapshot = data_dir / SNAPSHOT
    if snapshot.exists() and snapshot.stat().st_size > 0 and not args.force:
        print(f"minutesd init: {snapshot} exists; nothing done (use --force to start over, keeping it aside)")
        return 1
    data_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for name in (SNAPSHOT, JOURNAL):
        path = data_dir / name
        if path.exists():
            shutil.move(path, data_dir / f"{name}.before-init-{stamp}")
    write_atomically(snapshot, b"{}")
    print(f"minutesd init: an empty store in {data_dir}; anything it held before is kept beside it")
    if args.force:
        with Store(data_dir) as store:
            print(f"  record counters rebuilt: {rebuild_counters(store)}")
    return 0


def rebuild_counters(store: Store) -> int:
    """Each YEAR-DEPT counter at least the highest record number the store and archive know."""
    highest: dict[str, int] = {}
    known = [r["record"] for r in store.all(records.RECORDS)] + [
        k for k, _, _ in store.summaries(records.RECORDS)
    ]
    for number in known + _archived_record_numbers(store):
        prefix, _, n = number.rpartition("-")
        if n.isdigit():
            highest[prefix] = max(highest.get(prefix, 0), int(n))
    with store.transaction() as txn:
        for prefix, last in highest.items():
            counter = txn.get(records.COUNTERS, prefix) or {"last": 0}
            if int(counter["last"]) < last:
                txn.put(records.COUNTERS, prefix, {"last": last})
    return len(highest)


def _archived_record_numbers(store: Store) -> list[str]:
    """Record numbers in the subjects of archived mail: what a lost db.json still leaves behind."""
    found: set[str] = set()
    for path in rawmail.stored_files(store.data_dir):
        for raw in rawmail.messages_in(path):
            head = raw[:8192].decode("utf-8", errors="replace")
            found.update(re.findall(r"\[(\d{4}-[A-Z]{2,6}-\d{3,})", head))
    return sorted(found)


def cmd_archive(args: argparse.Namespace) -> int:
    """Move finished work to the archive now, rather than at the daemon's next daily pass."""
    settings, rules = load_from_env()
    now = Clock(settings.now).now()
    if args.purge_before is not None:
        return _purge(settings.data_dir, rules, args.purge_before, now, args.dry_run, args.json)
    with Store(settings.data_dir) as store:
        moved = archiving.Moved()
        if args.before is not None:
            moved = archiving.archive_finished(
                store, rules, now, datetime(args.before, 1, 1, tzinfo=rules.tz)
            )
        more = archiving.archive_finished(store, rules, now)
    moved.records, moved.items = moved.records + more.records, moved.items + more.items
    moved.mail, moved.messages = moved.mail + more.mail, moved.messages + more.messages
    if args.json:
        print(json.dumps(moved.as_json()))
    else:
        print(
            f"archive: {moved.records} finished meeting(s) with {moved.items} item(s), "
            f"{moved.mail} sent mail(s), {moved.messages} handled message(s) moved to {settings.data_dir / 'archive'}"
        )
    return 0


def _purge(data_dir: Path, rules: Rules, year: int, now: datetime, dry_run: bool, as_json: bool) -> int:
    with Store(data_dir) as store:
        try:
            purged = retention.purge_before(store, rules, year, now, dry_run=dry_run)
        except retention.RetentionRefused as exc:
            print(f"archive: refused: {exc}", file=sys.stderr)
            return 2
    if as_json:
        print(json.dumps({**purged.as_json(), "dry_run": dry_run}))
    else:
        verb = "would delete" if dry_run else "deleted"
        print(
            f"archive: {verb} {len(purged.periods)} period(s) before {year} "
            f"({', '.join(purged.periods) or 'none'}): {purged.meetings} meeting(s), "
            f"{purged.files} file(s) or folder(s) beside them, {purged.bytes / 1e6:.1f} MB"
        )
    return 0


def cmd_fsck(args: argparse.Namespace) -> int:
    settings, _ = load_from_env()
    problems = fsck(settings.data_dir)
    if args.json:
        print(json.dumps({"problems": problems}, ensure_ascii=False, indent=2))
    else:
        for problem in problems:
            print(f"✗ {problem}")
        print(f"fsck: {len(problems)} problem(s) in {settings.data_dir}")
    return 1 if problems else 0


def fsck(data_dir: Path) -> list[str]:
    """Store, journal, raw archive and evidence checked against each other."""
    try:
        store = Store(data_dir, read_only=True)
    except StoreError as exc:
        return [f"store: {exc}", *_archive_only(data_dir)]
    problems: list[str] = []
    for doc in store.all("messages"):
        problems += _archived(data_dir, doc)
    for item in store.all("items"):
        for evidence in item.get("evidence", []):
            problems += _evidence(data_dir, item["key"], evidence)
    counters = {d["key"]: int(d["last"]) for d in store.all(records.COUNTERS)}
    for record in store.all(records.RECORDS):
        prefix, _, n = record["record"].rpartition("-")
        if n.isdigit() and counters.get(prefix, 0) < int(n):
            problems.append(f"counter {prefix} is {counters.get(prefix, 0)} but {record['record']} exists")
    return problems


def _archived(data_dir: Path, doc: dict[str, Any]) -> list[str]:
    ref = str(doc.get("archive") or "")
    try:
        raw = rawmail.read_raw(data_dir, ref) if ref else None
    except OSError:
        raw = None
    if raw is None:
        return [f"message {doc['key']}: its raw archive {doc.get('archive')} is missing"]
    if hashlib.sha256(raw).hexdigest() != doc.get("sha256"):
        return [f"message {doc['key']}: {data_dir / ref} does not match its sha256"]
    return []


def _evidence(data_dir: Path, item: str, evidence: dict[str, Any]) -> list[str]:
    path = data_dir / evidence["stored_as"] if evidence.get("stored_as") else None
    if path is None or not path.is_file():
        return [f"item {item}: evidence {evidence.get('filename')} is missing"]
    if hashlib.sha256(path.read_bytes()).hexdigest() != evidence.get("sha256"):
        return [f"item {item}: evidence {path} does not match its sha256"]
    return []


def _archive_only(data_dir: Path) -> list[str]:
    kept = sum(1 for path in rawmail.stored_files(data_dir) for _ in rawmail.messages_in(path))
    return [f"archive: {kept} raw message(s) are kept in {data_dir / 'raw'}; nothing there is lost"]


def cmd_quarantine(args: argparse.Namespace) -> int:
    settings, rules = load_from_env()
    if args.action == "list":
        store = Store(settings.data_dir, read_only=True)
        held = sorted(
            store.find("messages", lambda d: d["outcome"] == "quarantined"), key=lambda d: d["received_at"]
        )
        rows = [
            {
                "id": d["message_id"],
                "at": d["received_at"],
                "from": d.get("from", ""),
                "subject": d.get("subject", ""),
                "error": (d.get("reason") or "").splitlines()[0][:160] if d.get("reason") else "",
            }
            for d in held
        ]
        if args.json:
            print(json.dumps({"held": rows}, ensure_ascii=False, indent=2))
        else:
            print(f"quarantine: {len(rows)} message(s) held")
            for row in rows:
                print(
                    f"  {row['at'][:16]}  {row['id']}  from {row['from']}  「{row['subject']}」\n      {row['error']}"
                )
        return 0
    with Store(settings.data_dir) as store:
        pipeline = Pipeline(settings, rules, store, Clock(settings.now))
        wanted = args.ids or (
            [d["message_id"] for d in store.find("messages", lambda d: d["outcome"] == "quarantined")]
            if args.all
            else []
        )
        if not wanted:
            print(f"quarantine {args.action}: name a message id, or --all")
            return 2
        failed = 0
        for message_id in wanted:
            try:
                if args.action == "retry":
                    result = pipeline.retry(message_id)
                    print(f"{message_id}: {result.outcome.value}: {result.reason}")
                    failed += result.outcome == "quarantined"
                else:
                    pipeline.drop(message_id, args.reason or "dropped by the operator")
                    print(f"{message_id}: ignored (dropped)")
            except KeyError as exc:
                print(f"{message_id}: {exc.args[0]}")
                failed += 1
        pipeline.sync()
    return 1 if failed else 0


BACKUP_FORMAT = 1


def cmd_backup(args: argparse.Namespace) -> int:
    settings, _ = load_from_env()
    counts = backup(settings.data_dir, Path(args.file))
    print(f"backup: {args.file}: {counts['records']} record(s), {counts['files']} archived file(s)")
    return 0


def backup(data_dir: Path, target: Path) -> dict[str, int]:
    """A consistent copy while the daemon runs: the store as of its last whole transaction
    (read through the journal, as a restart would), then the archive and evidence it names."""
    import tarfile

    store = Store(data_dir, read_only=True)
    snapshot = store.snapshot_bytes()
    files = [
        p
        for folder in ("raw", "evidence", "archive", "mail")
        for p in sorted((data_dir / folder).rglob("*"))
        if p.is_file()
    ]
    files += [p for p in (data_dir / "outbox.key",) if p.exists()]
    partial = target.with_name(f".{target.name}.partial")
    with tarfile.open(partial, "w:gz") as tar:
        manifest = {"format": BACKUP_FORMAT, "made": datetime.now(UTC).isoformat(), "files": len(files)}
        for name, payload in (("manifest.json", json.dumps(manifest).encode()), ("store.json", snapshot)):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        for path in files:
            tar.add(path, arcname=str(path.relative_to(data_dir)), recursive=False)
    partial.replace(target)
    return {"records": store.count(records.RECORDS), "files": len(files)}


def cmd_restore(args: argparse.Namespace) -> int:
    import tarfile

    settings, _ = load_from_env()
    data_dir = settings.data_dir
    if data_dir.exists() and any(data_dir.iterdir()):
        print(f"minutesd restore: {data_dir} is not empty; restore only into an empty data directory")
        return 3
    data_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(args.file, "r:gz") as tar:
        members = tar.getmembers()
        names = {m.name for m in members}
        if not {"manifest.json", "store.json"} <= names:
            print(f"minutesd restore: {args.file} is not a minutesd backup")
            return 2
        for member in members:
            if member.name in ("manifest.json", "store.json"):
                continue
            tar.extract(member, data_dir, filter="data")  # no absolute paths, no "..", no links out
        snapshot = tar.extractfile("store.json")
        assert snapshot is not None
        write_atomically(data_dir / SNAPSHOT, snapshot.read())
    with Store(data_dir) as store:
        print(f"restore: {store.count(records.RECORDS)} record(s) into {data_dir}")
    return 0
