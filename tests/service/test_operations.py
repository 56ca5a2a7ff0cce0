"""The operator's repair commands through the CLI: init, fsck, outbox and outbox retry."""

from __future__ import annotations

import json
from pathlib import Path

from service.core.store import SNAPSHOT, Store
from service.mail import outbox
from service.mail.rawmail import RawArchive
from tests.conftest import SAMPLES as SAMPLES_DIR
from tests.conftest import run_cli, service_env


def _store_with_history(data: Path) -> None:
    with Store(data) as store, store.transaction() as txn:
        txn.put("records", "2024-OPS-007", {"record": "2024-OPS-007", "state": "confirmed", "name": "x"})
        txn.put("counters", "2024-OPS", {"last": 7})
        txn.put(
            outbox.TABLE,
            "k1",
            {"state": "failed", "attempts": 8, "recipients": ["a@example.test"], "subject": "s",
             "created_at": "2024-05-20T16:00:00+08:00", "last_error": "550 no", "next_attempt_at": 0.0,
             "message_id": "m1@x", "raw": ""},
        )  # fmt: skip
    (data / "raw" / "ab").mkdir(parents=True)
    (data / "raw" / "ab" / "ab.eml").write_bytes(
        b"Subject: [2024-OPS-009] x\r\n\r\nbody"
    )  # an older version's
    packs = RawArchive(data)
    packs.append(b"Subject: [2024-OPS-011] x\r\n\r\nFrom the meeting\r\n")
    packs.append(b"Subject: [2024-OPS-010] y\r\n\r\nbody\r\n")
    packs.close()


def test_a_lost_database_is_refused_named_by_fsck_and_rebuilt_only_on_purpose(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _store_with_history(data)
    (data / SNAPSHOT).write_bytes(b"")
    env = service_env(data)
    refused = run_cli(["status", "--json"], env)
    assert (
        refused.returncode == 3 and "db.json is empty" in refused.stderr and "Traceback" not in refused.stderr
    )
    assert (data / SNAPSHOT).read_bytes() == b"", "nothing rewritten"
    fsck = run_cli(["fsck", "--json"], env)
    assert fsck.returncode == 1
    problems = json.loads(fsck.stdout)["problems"]
    assert any("db.json is empty" in p for p in problems) and any("3 raw message" in p for p in problems)
    assert run_cli(["init"], env).returncode == 0, "an empty db.json is no store: init may make one"
    forced = run_cli(["init", "--force"], env)
    assert forced.returncode == 0 and "counters rebuilt" in forced.stdout
    with Store(data) as store:
        assert store.get("counters", "2024-OPS")["last"] == 11, "the next record never reuses a number"


def test_fsck_names_a_counter_behind_its_records(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _store_with_history(data)
    with Store(data) as store, store.transaction() as txn:
        txn.put("counters", "2024-OPS", {"last": 3})
    result = run_cli(["fsck"], service_env(data))
    assert result.returncode == 1 and "counter 2024-OPS is 3 but 2024-OPS-007 exists" in result.stdout


def test_failed_mail_is_listed_and_retried_with_its_message_id(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _store_with_history(data)
    env = service_env(data)
    listed = json.loads(run_cli(["outbox", "--json"], env).stdout)["mails"]
    assert [(m["key"], m["state"], m["error"]) for m in listed] == [("k1", "failed", "550 no")]
    retried = run_cli(["outbox", "retry", "--all"], env)
    assert retried.returncode == 0 and "1 mail(s)" in retried.stdout
    with Store(data, read_only=True) as store:
        doc = store.get(outbox.TABLE, "k1")
    assert doc["state"] == "pending" and doc["attempts"] == 0 and doc["message_id"] == "m1@x"
    assert outbox.tried_for_hours(doc) < 1, "the time budget starts again"


def test_a_held_message_is_listed_retried_after_a_fix_and_ends_with_one_outcome(tmp_path: Path) -> None:
    import pytest

    from service import routes
    from service.pipeline import LEDGER, MESSAGES
    from tests.service.items.test_actions_units import _mail, _pipeline

    pipeline = _pipeline(tmp_path)
    real_route = routes.route

    def broken(ctx: object) -> None:
        raise KeyError("a bug of ours")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(routes, "route", broken)
        held = pipeline.process(_mail("chen.jing", "会议纪要", "我的待办", "q1"), "maildir:q1")
    assert held.outcome == "quarantined"
    doc = pipeline.store.get(MESSAGES, "q1@example.test")
    assert [k for k in doc["replies"] if k.endswith(":holding")], (
        "the sender hears once that a person will look"
    )
    again = pipeline.process(_mail("chen.jing", "会议纪要", "我的待办", "q1"), "maildir:q1")
    assert again.already_done and pipeline.store.count("outbox") == 1, "one holding answer per message"

    assert routes.route is real_route  # the fix
    result = pipeline.retry("q1@example.test")
    assert result.outcome == "rejected" and "help" in result.reason
    messages = [d for d in pipeline.store.all(MESSAGES) if d["message_id"] == "q1@example.test"]
    assert len(messages) == 1 and messages[0]["outcome"] == "rejected", "the retry replaces the outcome"
    assert pipeline.store.get(LEDGER, "maildir:q1") == {"message_id": "q1@example.test", "key": "maildir:q1"}
    with pytest.raises(KeyError):
        pipeline.retry("q1@example.test")


def test_quarantine_lists_and_drops_through_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store(data) as store, store.transaction() as txn:
        txn.put("messages", "m1@x", {"message_id": "m1@x", "outcome": "quarantined", "reason": "KeyError: 'x'\nmore",
                                     "received_at": "2024-05-20T16:00:00+08:00", "refs": ["r"], "from": "a@x",
                                     "subject": "纪要"})  # fmt: skip
    env = service_env(data)
    listed = json.loads(run_cli(["quarantine", "--json"], env).stdout)["held"]
    assert listed == [{"id": "m1@x", "at": "2024-05-20T16:00:00+08:00", "from": "a@x", "subject": "纪要",
                       "error": "KeyError: 'x'"}]  # fmt: skip
    dropped = run_cli(["quarantine", "drop", "m1@x", "--reason", "spam"], env)
    assert dropped.returncode == 0, dropped.stdout + dropped.stderr
    with Store(data, read_only=True) as store:
        doc = store.get("messages", "m1@x")
    assert doc["outcome"] == "ignored" and "spam" in doc["reason"]
    assert json.loads(run_cli(["quarantine", "--json"], env).stdout)["held"] == []


def test_configuration_mistakes_are_said_in_words_never_a_traceback(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for extra, words in (
        ({"MINUTESD_NOW": "yesterday"}, "MINUTESD_NOW must be an ISO 8601 instant"),
        ({"MINUTESD_NOW": "2024-05-20T16:02:00"}, "needs a time zone offset"),
        ({"MINUTESD_LOG_LEVEL": "LOUD"}, "MINUTESD_LOG_LEVEL must be one of"),
        ({"MINUTESD_IMAP_HOST": "x", "MINUTESD_IMAP_PORT": "abc"}, "MINUTESD_IMAP_PORT must be a number"),
        ({"MINUTESD_DIRECTORY": str(tmp_path / "missing.yaml")}, "missing.yaml"),
    ):
        result = run_cli(["run", "--once"], service_env(data, extra))
        assert result.returncode == 2, (extra, result.stderr)
        assert words in result.stderr and "Traceback" not in result.stderr, result.stderr
    missing = run_cli(["parse", str(tmp_path / "nope.txt")], service_env(data))
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr


def test_logs_for_machines_are_one_json_object_a_line(tmp_path: Path) -> None:
    env = service_env(tmp_path / "data", {"MINUTESD_LOG_FORMAT": "json", "MINUTESD_LOG_LEVEL": "DEBUG"})
    (tmp_path / "data" / "maildir" / "inbox" / "new").mkdir(parents=True)
    (tmp_path / "data" / "maildir" / "inbox" / "new" / "a.eml").write_bytes(
        b"From: someone@example.test\nTo: minutes@example.test\nSubject: hi\nMessage-ID: <j1@x>\n\nhello\n"
    )
    result = run_cli(["run", "--once"], env)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and all(json.loads(line)["level"] for line in lines)
    assert any("j1@x" in json.loads(line)["message"] for line in lines)


def test_a_backup_taken_while_the_daemon_runs_restores_to_the_same_state(tmp_path: Path) -> None:
    from tests.conftest import running_daemon, wait_until

    data = tmp_path / "data"
    env = service_env(data, {"MINUTESD_DIRECTORY": str(SAMPLES_DIR / "people.yaml"),
                             "MINUTESD_NOW": "2024-05-20T16:02:00+08:00"})  # fmt: skip
    inbox = data / "maildir" / "inbox" / "new"
    inbox.mkdir(parents=True)
    draft = (SAMPLES_DIR / "draft-zh-plain.txt").read_text(encoding="utf-8")
    (inbox / "draft.eml").write_bytes(
        f"From: qian.fang@example.test\nTo: minutes@example.test\nSubject: 纪要\nMessage-ID: <bk1@x>\n"
        f"Content-Type: text/plain; charset=utf-8\n\n{draft}".encode()
    )
    with running_daemon(env, tmp_path / "daemon.log"):
        assert wait_until(lambda: not any(inbox.iterdir()), 20), (tmp_path / "daemon.log").read_text()
        made = run_cli(["backup", str(tmp_path / "b.tar.gz")], env)  # the daemon holds the lock
        assert made.returncode == 0, made.stderr
        before = json.loads(run_cli(["status", "2024-OPS-001", "--json"], env).stdout)
    restored = service_env(tmp_path / "elsewhere", {"MINUTESD_DIRECTORY": str(SAMPLES_DIR / "people.yaml")})
    back = run_cli(["restore", str(tmp_path / "b.tar.gz")], restored)
    assert back.returncode == 0, back.stdout + back.stderr
    after = json.loads(run_cli(["status", "2024-OPS-001", "--json"], restored).stdout)
    assert after == before
    assert run_cli(["fsck"], restored).returncode == 0, "archive and evidence came along"
    again = run_cli(["restore", str(tmp_path / "b.tar.gz")], restored)
    assert again.returncode == 3, "never over an existing data directory"


def test_fsck_names_a_message_whose_raw_bytes_changed_in_the_archive(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = service_env(data, {"MINUTESD_DIRECTORY": str(SAMPLES_DIR / "people.yaml"),
                             "MINUTESD_NOW": "2024-05-20T16:02:00+08:00"})  # fmt: skip
    taken = run_cli(["ingest", str(SAMPLES_DIR / "replies" / "confirm-outlook-zh.eml")], env)
    assert taken.returncode == 0, taken.stderr
    assert run_cli(["fsck"], env).returncode == 0
    [pack] = (data / "raw").glob("*.mbox")
    damaged = pack.read_bytes().replace(b"Subject:", b"Subject;", 1)
    pack.write_bytes(damaged)
    result = run_cli(["fsck"], env)
    assert result.returncode == 1 and "does not match its sha256" in result.stdout, result.stdout


def test_ingest_reports_each_file_as_json(tmp_path: Path) -> None:
    env = service_env(tmp_path / "data")
    sample = str(SAMPLES_DIR / "replies" / "out-of-office.eml")
    result = run_cli(["ingest", "--json", sample, sample], env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [(m["outcome"], m["seen_before"]) for m in report["messages"]] == [
        ("ignored", False),
        ("ignored", True),
    ]
    assert report["outbox"] == {"sent": 0, "retrying": 0, "failed": 0}


def test_the_directory_is_checked_with_lines_and_read_again_when_it_changes(tmp_path: Path) -> None:
    import os
    import time as clock

    from service.core.directory import LiveDirectory, check_directory

    path = tmp_path / "people.yaml"
    path.write_text(
        "departments:\n  产品部: {code: PRD, head: 王磊}\n  法务部: {code: LEG, head: 不存在}\n"
        "people:\n  - {name: 王磊, email: wang.lei@example.test, department: 产品部}\n"
        "  - {name: 陈静, email: not-an-address, department: 技术部}\n"
        "  - {name: 王磊, email: wang.lei@example.test, department: 产品部}\n",
        encoding="utf-8",
    )
    problems = check_directory(path)
    assert "line 6: 陈静 has no valid address (not-an-address)" in problems
    assert "line 6: 陈静's department 技术部 is not among the departments" in problems
    assert any(p.startswith("line 7: wang.lei@example.test is also the address on line 5") for p in problems)
    assert any("line 3: the head of 法务部, 不存在" in p for p in problems)
    live = LiveDirectory(path)
    assert live.get().by_email("li.na@example.test") is None
    path.write_text("people:\n  - {name: 李娜, email: li.na@example.test}\n", encoding="utf-8")
    later = clock.time() + 5
    os.utime(path, (later, later))
    assert live.get().by_email("li.na@example.test") is not None, "an edit needs no restart"
    path.write_text("people: [: broken", encoding="utf-8")
    os.utime(path, (later + 5, later + 5))
    assert live.get().by_email("li.na@example.test") is not None, "a broken edit keeps the last good one"


def test_check_words_each_way_a_server_cannot_be_reached() -> None:
    from service.health import _in_words

    said = {
        "[Errno -2] Name or service not known": "host name is unknown",
        "[Errno -3] Temporary failure in name resolution": "does not resolve",
        "Error connecting to 127.0.0.1 on port 1: [Errno 111] Connect call failed": "refused the connection",
        "timed out": "no answer within",
    }
    for raw, words in said.items():
        assert words in _in_words(Exception(f"IMAP mail.example.invalid:993: {raw}")), raw


def test_a_mail_in_doubt_is_sent_again_only_if_its_grace_ended_before_its_copy_was_looked_for(
    tmp_path: Path,
) -> None:
    # bench.kills (1,000 messages, 200 kills, grace 30 s) delivered one answer twice: a grace
    # that ended while a long drain ran made the mail due with no search for its copy.
    import time
    from datetime import UTC, datetime

    from service.core.config import load_rules
    from service.mail.outbox import Outbox, OutgoingMail
    from service.mail.sender import MaildirTransport, drain

    rules = load_rules().outbox
    data, sent = tmp_path / "data", tmp_path / "sent"
    box = Outbox("minutes@example.test", "会议纪要助手")
    left = time.time() - rules.confirm_grace_seconds - 5  # its grace ended 5 s ago
    with Store(data) as store:
        with store.transaction() as txn:
            mail = OutgoingMail(key="doubt", to=["li.na@example.test"], subject="在途", template="refusal", lang="zh", context={})  # fmt: skip
            box.enqueue(txn, mail, datetime.now(UTC))
            doc = txn.get(outbox.TABLE, "doubt")
            doc.update(state="sending", sending_since=left, attempts=1)
            txn.put(outbox.TABLE, "doubt", doc)

        looked_before_the_grace_ended = drain(store, MaildirTransport(sent), rules, doubt_settled_at=left + 1)
        assert looked_before_the_grace_ended.sent == 0
        assert list((sent / "new").iterdir()) == []
        assert store.get(outbox.TABLE, "doubt")["state"] == "sending"

        looked_after = drain(store, MaildirTransport(sent), rules, doubt_settled_at=time.time())
        assert looked_after.sent == 1
        assert len(list((sent / "new").iterdir())) == 1
        assert store.get(outbox.TABLE, "doubt")["state"] == "sent"
