"""The read-only commands: `minutesd status`, `tracker` and `report`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from parsers.people import Directory
from service.core.clock import Clock
from service.core.config import Rules, Settings, load_from_env
from service.core.directory import read_directory
from service.core.ledger import outcome_counts
from service.core.store import Store
from service.items import state, tracker
from service.items.status import status_json
from service.mail.bounces import ADDRESSES
from service.mail.outbox import counts_by_state
from service.minutes import records


def cmd_status(args: argparse.Namespace) -> int:
    settings, _ = load_from_env()
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
        if args.json:  # compact: years of meetings are tens of thousands of lines (issue 11)
            print(orjson.dumps(summary).decode())
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
    tracked = {item["no"]: state.full_history(store, item) for item in state.of_record(store, record)}
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
    settings, rules = load_from_env()
    today = Clock(settings.now).now().astimezone(rules.tz).date()
    return settings, rules, read_directory(settings.directory_path), today


def cmd_tracker(args: argparse.Namespace) -> int:
    settings, rules, directory, today = _for_tables()
    store = Store(settings.data_dir, read_only=True)
    try:
        every = state.all_items(store, archived=args.archived)
        if args.json:
            every = [state.full_history(store, item) for item in every]
        chosen = tracker.select(every, directory, args.department or "", args.owner or "")
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
        print(
            json.dumps(tracker.as_json(chosen, rows, rate), ensure_ascii=False)
        )  # compact: thousands of items
    else:
        print(tracker.as_table(rows, lang) if rows else "(no action items)")
        print(f"\n{len(rows)} item(s); on-time rate {rate.spelled()}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from service.items import quarterly, report  # the review's modules, only for the review

    settings, rules, directory, today = _for_tables()
    try:
        report.quarter_bounds(args.quarter)
    except ValueError as exc:
        print(f"minutesd report: {exc}", file=sys.stderr)
        return 2
    store = Store(settings.data_dir, read_only=True)
    try:
        meetings, all_items = quarterly.gather(store, args.quarter)
    finally:
        store.close()
    data = report.report(all_items, meetings, directory, args.quarter, today)
    lang = args.lang or rules.service.default_language
    if args.xlsx:
        title = f"行动项季度报告 {data['quarter']}" if lang == "zh" else f"Quarterly review {data['quarter']}"
        Path(args.xlsx).write_bytes(report.report_xlsx(data, lang, title))
        print(f"quarterly review of {data['quarter']} written to {args.xlsx}")
    if args.chart:
        codes = {name: d.code for name in directory.departments if (d := directory.department(name))}
        Path(args.chart).write_bytes(quarterly.chart_png(data, lang, codes=codes))
        print(f"chart of {data['quarter']} written to {args.chart}")
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    elif not (args.xlsx or args.chart):
        print(report.report_text(data))
    return 0
