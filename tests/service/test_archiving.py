"""Finished work leaves the hot store and is still found: status, tables, report, replies, dedupe.

The data directory is the demo's, written by the version before the archive existed
(tests/fixtures/datadir-v65ea8f7.tgz), so the upgrade on first start is tested with it.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from service.core.store import SNAPSHOT, Store
from service.items import state
from service.mail import outbox
from service.mail.bodies import read_body
from service.minutes import records
from service.pipeline import LEDGER, MESSAGES
from tests.conftest import REPO, run_cli, service_env

FIXTURE = REPO / "tests" / "fixtures" / "datadir-v65ea8f7.tgz"
RECORD = "2024-OPS-001"
LATER = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)  # years after the demo meeting, weeks after its mail


@pytest.fixture
def old_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(data, filter="data")
    return data


def _cli(data: Path, *args: str) -> Any:
    done = run_cli([*args], service_env(data, {"MINUTESD_NOW": LATER.isoformat()}))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if "--json" in args else done.stdout


def test_the_first_start_after_the_upgrade_moves_mail_bodies_out_of_the_store(old_data: Path) -> None:
    before = json.loads((old_data / SNAPSHOT).read_text())
    inline = {d["key"]: d["raw"] for d in before["outbox"].values()}
    assert inline and all(inline.values()), "the fixture is of the version that kept bodies inside"
    status_before = _cli(old_data, "status", RECORD, "--json")

    _cli(old_data, "run", "--once", "--json")

    store = Store(old_data, read_only=True)
    for key, raw in inline.items():
        doc = store.get(outbox.TABLE, key)
        assert doc is not None and "raw" not in doc, key
        assert read_body(old_data, doc) == raw.encode("ascii"), "the very bytes, now from a file"
    assert '"raw":' not in (old_data / SNAPSHOT).read_text(), "the snapshot was compacted without them"
    assert _cli(old_data, "status", RECORD, "--json")["record"] == status_before["record"]


def _finish_every_item(data: Path) -> None:
    with Store(data) as store, store.transaction() as txn:
        for item in store.query(state.ITEMS, "record", RECORD):
            item["status"] = state.Status.DONE
            item.setdefault("history", []).append({"at": "2024-06-03T10:00:00+08:00", "event": "done"})
            txn.put(state.ITEMS, item["key"], item)


def _archive(data: Path) -> dict[str, int]:
    moved: dict[str, int] = _cli(data, "archive", "--json")
    return moved


def test_a_meeting_archived_two_years_ago_still_answers_status_tables_and_report(old_data: Path) -> None:
    _cli(old_data, "run", "--once", "--json")
    _finish_every_item(old_data)
    status_before = _cli(old_data, "status", RECORD, "--json")
    tracker_before = _cli(old_data, "tracker", "--json")
    report_before = _cli(old_data, "report", "--quarter", "2024Q2", "--json")
    listing_before = _cli(old_data, "status", "--json")

    moved = _archive(old_data)

    assert (moved["records"], moved["items"]) == (1, 3), (
        "messages and mail went at the first start's daily pass"
    )
    with Store(old_data, read_only=True) as store:
        assert store.count(records.RECORDS) == 0 and store.count(state.ITEMS) == 0
        assert store.count(records.THREADS) == 0 and store.count(records.REPLY_KEYS) == 0
        assert store.count(outbox.TABLE) == 0 and store.count(MESSAGES) == 0 and store.count(LEDGER) == 0
    assert _cli(old_data, "status", RECORD, "--json") == status_before
    assert _cli(old_data, "report", "--quarter", "2024Q2", "--json") == report_before
    assert _cli(old_data, "tracker", "--json")["items"] == [], "the live table holds live work only"
    assert _cli(old_data, "tracker", "--archived", "--json") == tracker_before
    listing = _cli(old_data, "status", "--json")
    assert [(r["record"], r["state"], r["name"]) for r in listing["records"]] == [
        (r["record"], r["state"], r["name"]) for r in listing_before["records"]
    ]
    assert listing["records"][0]["archived"] == LATER.strftime("%Y-%m")
    assert listing["messages"] == listing_before["messages"], "archived messages are still counted"
    assert listing["outbox"] == listing_before["outbox"]


def test_archived_messages_are_still_known_and_an_archived_meeting_still_takes_replies(
    old_data: Path,
) -> None:
    _cli(old_data, "run", "--once", "--json")
    _finish_every_item(old_data)
    twin = old_data.parent / "twin"
    shutil.copytree(old_data, twin)
    _archive(old_data)
    seen = sorted((old_data / "raw").glob("*/*.eml"))[0]
    env = {"MINUTESD_NOW": LATER.isoformat()}
    again = run_cli(["ingest", str(seen), "--json"], service_env(old_data, env))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["messages"][0]["seen_before"] is True, (
        "duplicate detection reads the archive"
    )

    with Store(twin, read_only=True) as store:
        thread = next(iter(store.all(records.THREADS)))["key"]
        attendee = store.get(records.RECORDS, RECORD)["attendees"][0]["email"]
    reply = (
        f"From: {attendee}\r\nTo: minutes@demo.example\r\nSubject: Re: [{RECORD}] 会议纪要\r\n"
        f"Message-ID: <late-reply@demo.example>\r\nIn-Reply-To: <{thread}>\r\n"
        "Date: Mon, 23 Nov 2026 09:00:00 +0800\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n确认\r\n"
    ).encode()
    outcomes = []
    for data in (old_data, twin):
        (data.parent / "reply.eml").write_bytes(reply)
        done = run_cli(["ingest", str(data.parent / "reply.eml"), "--json"], service_env(data, env))
        assert done.returncode == 0, done.stderr
        (result,) = json.loads(done.stdout)["messages"]
        outcomes.append({k: v for k, v in result.items() if k != "file"})
    assert outcomes[0] == outcomes[1], "a reply to an archived meeting is taken as if it were live"
