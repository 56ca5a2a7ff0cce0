"""The `minutesd` command line."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from parsers.people import Directory
from service.core.clock import Clock
from service.core.config import ConfigError, Rules, Settings, load_rules, settings_from_env
from service.core.directory import read_directory
from service.core.store import Store, StoreError
from service.daemon import Daemon, build_mailbox, build_transport
from service.items import state, tracker
from service.items.status import status_json
from service.mail.bounces import ADDRESSES
from service.mail.mailbox import MailboxUnavailable
from service.mail.outbox import counts_by_state
from service.mail.sender import TemporaryFailure, drain
from service.minutes import records
from service.minutes.drafts import parse_file
from service.pipeline import Pipeline, outcome_counts

log = logging.getLogger("minutesd")


def _setup_logging() -> None:
    logging.basicConfig(
        level=os.environ.get("MINUTESD_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _load() -> tuple[Settings, Rules]:
    settings = settings_from_env()
    return settings, load_rules(settings.rules_path)


def cmd_run(args: argparse.Namespace) -> int:
    settings, rules = _load()
    with Store(settings.data_dir) as store:
        daemon = Daemon(settings, rules, store, Clock(settings.now))
        if args.once:
            report = daemon.run_once()
            daemon.mailbox.close()
            print(
                f"processed {report.processed} message(s) {report.outcomes}; "
                f"sent {report.outbox.sent}, retrying {report.outbox.retrying}, failed {report.outbox.failed}"
            )
            return 0
        if settings.imap is None:
            inbox = settings.data_dir / "maildir" / "inbox" / "new"
            sent = settings.data_dir / "maildir" / "sent" / "new"
            print(
                f"minutesd on the embedded mailbox.\n  drop .eml files into: {inbox}\n  replies appear in:   {sent}"
            )
            sys.stdout.flush()
        daemon.run_forever()
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    settings, rules = _load()
    worst = 0
    with Store(settings.data_dir) as store:
        pipeline = Pipeline(settings, rules, store, Clock(settings.now))
        for name in args.files:
            path = Path(name)
            try:
                raw = path.read_bytes()
            except OSError as exc:
                print(f"{name}: cannot read: {exc.strerror}", file=sys.stderr)
                worst = 1
                continue
            ref = f"file:{hashlib.sha256(raw).hexdigest()}"
            result = pipeline.process(raw, ref)
            again = " (seen before)" if result.already_done else ""
            print(f"{name}: {result.outcome.value}{again}: {result.reason}")
        pipeline.sync()
        report = drain(store, build_transport(settings, rules), rules.outbox)
        print(f"outbox: sent {report.sent}, retrying {report.retrying}, failed {report.failed}")
    return worst


def cmd_status(args: argparse.Namespace) -> int:
    settings, _ = _load()
    store = Store(settings.data_dir, read_only=True)
    try:
        if args.record:
            return _status_of_record(store, args.record, args.json)
        summary: dict[str, Any] = {
            **records.list_json(store),
            "messages": outcome_counts(store),
            "outbox": counts_by_state(store),
            "failing_addresses": sorted(
                doc["key"] for doc in store.all(ADDRESSES) if doc.get("state") == "failing"
            ),
        }
        if args.json:
            print(json.dumps(summary, ensure_ascii=False, indent=2))
        else:
            print("records:")
            for entry in summary["records"] or [{"record": "(none)", "state": "", "name": ""}]:
                print(f"  {entry['record']:<16} {entry['state']:<22} {entry['name']}")
            print("messages by outcome:")
            for key, value in summary["messages"].items():
                print(f"  {key:<12} {value}")
            print("outbox by state:")
            for key, value in sorted(summary["outbox"].items()) or [("(empty)", 0)]:
                print(f"  {key:<12} {value}")
            if summary["failing_addresses"]:
                print("failing addresses (bounced):")
                for address in summary["failing_addresses"]:
                    print(f"  {address}")
    finally:
        store.close()
    return 0


def _status_of_record(store: Store, number: str, as_json: bool) -> int:
    record = store.get(records.RECORDS, number)
    if record is None:
        print(f"no record {number}", file=sys.stderr)
        return 1
    tracked = {item["no"]: item for item in state.of_record(store, record)}
    status = status_json(record, tracked)
    if as_json:
        print(json.dumps(status, ensure_ascii=False, indent=2))
        return 0
    print(f"{status['record']}  {status['name']}")
    print(
        f"  state {status['state']}, version {status['version']}, confirm by {status['confirmation_deadline']}"
    )
    for person in status["attendees"]:
        print(f"  {person['name']:<10} {person['email']:<28} {person['response']:<10} {person['at'] or ''}")
    for item in status["items"]:
        print(
            f"  {item['id']:<18} {item['status']:<22} due {item['due']}  {item['owner']['name'] if item['owner'] else ''}"
        )
    return 0


def _for_tables() -> tuple[Settings, Rules, Directory, date]:
    """What the tracker and the report read besides the store: rules, directory, today."""
    settings, rules = _load()
    today = Clock(settings.now).now().astimezone(rules.tz).date()
    return settings, rules, read_directory(settings.directory_path), today


def cmd_tracker(args: argparse.Namespace) -> int:
    settings, rules, directory, today = _for_tables()
    store = Store(settings.data_dir, read_only=True)
    try:
        chosen = tracker.select(state.all_items(store), directory, args.department or "", args.owner or "")
    finally:
        store.close()
    lang = args.lang or rules.service.default_language
    rows = [tracker.row(item, lang, directory) for item in chosen]
    rate = tracker.on_time_rate(chosen, today)
    if args.xlsx:
        Path(args.xlsx).write_bytes(tracker.as_xlsx(rows, lang, rate, f"minutesd tracker {today}"))
        print(f"{len(rows)} item(s) written to {args.xlsx}; on-time rate {rate.spelled()}")
    elif args.csv:
        sys.stdout.buffer.write(tracker.as_csv(rows, lang))
    elif args.json:
        print(json.dumps(tracker.as_json(chosen, rows, rate), ensure_ascii=False, indent=2))
    else:
        print(tracker.as_table(rows, lang) if rows else "(no action items)")
        print(f"\n{len(rows)} item(s); on-time rate {rate.spelled()}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    settings, _, directory, today = _for_tables()
    store = Store(settings.data_dir, read_only=True)
    try:
        meetings = [
            {
                "record": r["record"],
                "name": r["name"],
                "date": r["minutes"].get("meeting", {}).get("date"),
                "items": len(r["minutes"].get("items", [])),
            }
            for r in store.all(records.RECORDS)
        ]
        all_items = state.all_items(store)
    finally:
        store.close()
    try:
        data = tracker.report(all_items, meetings, directory, args.quarter, today)
    except ValueError as exc:
        print(f"minutesd report: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(data, ensure_ascii=False, indent=2) if args.json else tracker.report_text(data))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from service.demo import play

    rules = load_rules(Path(os.environ["MINUTESD_RULES"]) if os.environ.get("MINUTESD_RULES") else None)
    target = Path(args.data_dir) if args.data_dir else None
    if target is not None and target.exists() and any(target.iterdir()):
        print(f"minutesd demo: {target} is not empty; give an empty or new directory", file=sys.stderr)
        return 1
    print(play(rules, target))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    ok = True
    try:
        settings, rules = _load()
    except ConfigError as exc:
        print(f"FAIL configuration: {exc}")
        return 1
    print(f"ok   rules {settings.rules_path}")
    try:
        directory = read_directory(settings.directory_path)
    except ConfigError as exc:
        ok = False
        print(f"FAIL people directory: {exc}")
    else:
        where = settings.directory_path or "none (MINUTESD_DIRECTORY is unset: only Name <addr> resolves)"
        print(
            f"ok   people directory {where}: {len(directory.people)} people, {len(directory.departments)} departments"
        )
    print(f"ok   service address {settings.address}, data directory {settings.data_dir}")
    try:
        print(f"ok   {build_mailbox(settings, rules).check()}")
    except MailboxUnavailable as exc:
        ok = False
        print(f"FAIL inbound: {exc}")
    try:
        print(f"ok   {asyncio.run(build_transport(settings, rules).check())}")
    except TemporaryFailure as exc:
        ok = False
        print(f"FAIL outbound: {exc}")
    return 0 if ok else 1


def cmd_parse(args: argparse.Namespace) -> int:
    settings, rules = _load()
    minutes = parse_file(Path(args.file), rules, read_directory(settings.directory_path))
    print(json.dumps(minutes.as_json(), ensure_ascii=False, indent=2))
    return 0 if minutes.valid else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minutesd", description="Meeting minutes and action items, run by email."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the daemon (IMAP IDLE or polling, plus the outbox)")
    run.add_argument("--once", action="store_true", help="one pass over inbox and outbox, then exit")
    run.set_defaults(func=cmd_run)
    ingest = sub.add_parser("ingest", help="process message files as if they had arrived")
    ingest.add_argument("files", nargs="+")
    ingest.set_defaults(func=cmd_ingest)
    status = sub.add_parser("status", help="what the service holds")
    status.add_argument("record", nargs="?")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    parse = sub.add_parser("parse", help="parse a draft (.eml .txt .html .md .docx) and print it as JSON")
    parse.add_argument("file")
    parse.set_defaults(func=cmd_parse)
    track = sub.add_parser("tracker", help="the action-item tracker table (行动项跟踪表)")
    shape = track.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true")
    shape.add_argument("--csv", action="store_true", help="CSV (UTF-8 with BOM) on standard output")
    shape.add_argument("--xlsx", metavar="FILE", help="write an Excel workbook")
    track.add_argument("--department", help="only this department's items")
    track.add_argument("--owner", help="only this owner's items (name or address)")
    track.add_argument("--lang", choices=["zh", "en"], help="column headers and statuses in this language")
    track.set_defaults(func=cmd_tracker)
    review = sub.add_parser(
        "report", help="quarterly review: on-time rate by department, slip, items per meeting"
    )
    review.add_argument("--quarter", required=True, help="e.g. 2024Q3")
    review.add_argument("--json", action="store_true")
    review.set_defaults(func=cmd_report)
    demo = sub.add_parser("demo", help="play a whole meeting through the pipeline on the embedded transport")
    demo.add_argument("--data-dir", help="keep the demo's data here (default: a temporary directory)")
    demo.set_defaults(func=cmd_demo)
    check = sub.add_parser("check", help="validate the configuration and try the connections")
    check.set_defaults(func=cmd_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    _setup_logging()
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except ConfigError as exc:
        print(f"minutesd: configuration error: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"minutesd: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
