"""The CLI on the embedded Maildir transport: no mail server needed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from parsers.message import parse_message
from tests.conftest import (
    INSTALLED,
    REPO,
    SAMPLES,
    cli_command,
    run_cli,
    running_daemon,
    service_env,
    wait_until,
)


def drop(data: Path, *names: str) -> None:
    inbox = data / "maildir" / "inbox" / "new"
    inbox.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(SAMPLES / "replies" / name, inbox / name)


def test_run_once_answers_a_dropped_message_into_the_sent_maildir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    drop(data, "confirm-outlook-zh.eml", "out-of-office.eml")
    env = service_env(data, {"MINUTESD_NOW": "2024-05-21T09:30:00+08:00"})
    result = run_cli(["run", "--once"], env)
    assert result.returncode == 0, result.stderr
    assert "processed 2 message(s)" in result.stdout
    (sent,) = (data / "maildir" / "sent" / "new").iterdir()
    receipt = parse_message(sent.read_bytes())
    assert receipt.to == ("chen.jing@example.test",)
    assert receipt.header("date") == "Tue, 21 May 2024 01:30:00 +0000", "MINUTESD_NOW freezes the clock"
    # An unknown record number gets the very answer a record the sender is not on gets.
    assert "只有该会议纪要的参会人" in receipt.text and "2024-OPS-001" not in receipt.text
    assert sorted(p.name for p in (data / "maildir/inbox/.Processed/cur").iterdir()) == [
        "confirm-outlook-zh.eml",
        "out-of-office.eml",
    ]
    status = json.loads(run_cli(["status", "--json"], env).stdout)
    assert status["messages"] == {"applied": 0, "rejected": 1, "ignored": 1, "quarantined": 0}
    assert status["outbox"] == {"sent": 1}
    assert status["records"] == []


def test_ingest_processes_files_once(tmp_path: Path) -> None:
    env = service_env(tmp_path / "data")
    files = [str(SAMPLES / "replies" / "object-163.eml")] * 2
    result = run_cli(["ingest", *files], env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("rejected: a reply that matches no record (unknown record number)")
    assert "(seen before)" in lines[1]
    assert "sent 1," in lines[2]


def test_check_names_the_bad_key(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("outbox:\n  max_attemps: 3\nservice:\n  timezone: Mars/Olympus\n")
    result = run_cli(["check"], service_env(tmp_path / "data", {"MINUTESD_RULES": str(rules)}))
    assert result.returncode == 1
    assert "outbox.max_attemps: unknown key" in result.stdout
    assert "service.timezone" in result.stdout and "Mars/Olympus" in result.stdout
    good = run_cli(
        ["check"], service_env(tmp_path / "data", {"MINUTESD_DIRECTORY": str(SAMPLES / "people.yaml")})
    )
    assert good.returncode == 0, good.stdout
    assert "embedded mailbox" in good.stdout
    assert "10 people, 8 departments" in good.stdout
    bad_words = tmp_path / "words.yaml"
    bad_words.write_text("parsing:\n  validation:\n    single_owner: sometimes\n")
    refused = run_cli(["check"], service_env(tmp_path / "data", {"MINUTESD_RULES": str(bad_words)}))
    assert refused.returncode == 1 and "parsing.validation.single_owner" in refused.stdout


def test_check_reports_an_unreachable_imap_server(tmp_path: Path) -> None:
    env = service_env(
        tmp_path / "data",
        {
            "MINUTESD_IMAP_HOST": "127.0.0.1",
            "MINUTESD_IMAP_PORT": "9",
            "MINUTESD_IMAP_TLS": "none",
            "MINUTESD_SMTP_HOST": "127.0.0.1",
            "MINUTESD_SMTP_PORT": "9",
            "MINUTESD_SMTP_TLS": "none",
        },
    )
    result = run_cli(["check"], env)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    inbound = next(line for line in lines if line.startswith("FAIL inbound"))
    outbound = next(line for line in lines if line.startswith("FAIL outbound"))
    assert "refused the connection" in inbound and "IMAP 127.0.0.1:9" in inbound
    assert "refused the connection" in outbound and "SMTP 127.0.0.1:9" in outbound
    as_json = json.loads(run_cli(["check", "--json"], env).stdout)["checks"]
    assert {c["check"]: c["status"] for c in as_json}["inbound"] == "fail"


def test_check_fails_on_held_and_failed_mail_and_warns_of_a_calendar_that_ends(tmp_path: Path) -> None:
    from service.core.calendar import covered_until
    from service.core.store import Store

    data = tmp_path / "data"
    env = service_env(data)
    assert run_cli(["check"], env).returncode == 0, "a new installation is healthy"
    beyond = f"{covered_until() + 1}-03-02"
    with Store(data) as store, store.transaction() as txn:
        txn.put("messages", "m1@x", {"message_id": "m1@x", "outcome": "quarantined", "reason": "KeyError",
                                     "received_at": "2024-05-20T16:00:00+08:00", "refs": ["r"]})  # fmt: skip
        txn.put("outbox", "k", {"state": "failed", "attempts": 8})
        txn.put("items", "2024-OPS-001#1", {"due": beyond, "status": "not_started"})
    checks = {c["check"]: c for c in json.loads(run_cli(["check", "--json"], env).stdout)["checks"]}
    assert checks["quarantine"]["status"] == "fail" and "1 message(s) held" in checks["quarantine"]["message"]
    assert checks["outbox"]["status"] == "fail"
    assert (
        checks["calendar"]["status"] == "warn" and str(covered_until() + 1) in checks["calendar"]["message"]
    )
    assert run_cli(["check"], env).returncode == 1


def test_two_daemons_on_one_data_directory_refuse_and_sigterm_stops_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = service_env(data)
    log = tmp_path / "daemon.log"
    with running_daemon(env, log) as daemon:
        assert wait_until(lambda: "drop .eml files into" in log.read_text(), 15), log.read_text()
        second = run_cli(["run", "--once"], env)
        assert second.returncode == 3
        assert "another minutesd" in second.stderr and str(daemon.pid) in second.stderr
        drop(data, "confirm-foxmail-gbk.eml")
        assert wait_until(lambda: any((data / "maildir/sent/new").iterdir()), 10)
    assert "stopped" in log.read_text()


def test_an_unreadable_database_stops_the_daemon_with_the_reason(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "db.json").write_text("{not json")
    result = run_cli(["run", "--once"], service_env(data))
    assert result.returncode == 3
    assert "cannot be read" in result.stderr and "not reset" in result.stderr
    assert (data / "db.json").read_text() == "{not json"


def test_demo_plays_a_meeting_from_draft_to_weekly_table(tmp_path: Path) -> None:
    kept = tmp_path / "demo-data"
    result = run_cli(["demo", "--data-dir", str(kept)], service_env(tmp_path / "unused"), timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for seen in ("修改意见", "会议纪要(第2版,待确认)", "会议纪要已确认", "您的行动项", "待核实", "已核实完成",
                 "延期", "行动项周报 2024-05-27", "未计为完成"):  # fmt: skip
        assert seen in out, seen
    weekly = [p for p in (kept / "maildir" / "sent" / "new").iterdir() if b".xlsx" in p.read_bytes()]
    assert weekly, "the weekly table went out with its attachment"
    assert (kept / "evidence" / "2024-OPS-001" / "3").is_dir()


def test_demo_piped_to_a_reader_that_stops_early_ends_quietly(tmp_path: Path) -> None:
    """`minutesd demo | grep -q …`: the reader goes away before the demo writes; the shell's
    answer for that (141, nothing on stderr), not a traceback."""
    env = service_env(tmp_path / "unused")
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte
    with os.fdopen(write_end, "wb") as stdout:
        result = subprocess.run(
            [*cli_command(), "demo", "--data-dir", str(tmp_path / "demo-data")],
            cwd=tmp_path if INSTALLED else REPO,
            env=env,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            check=False,
        )
    assert result.returncode == 141, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
