"""A send in doubt is settled by its copy wherever it sits, on the real Dovecot + Postfix.

A kill after the SMTP server's 250 and before our "sent" commit leaves the mail "sending";
after a downtime longer than the grace, with a backlog ahead of it, the copy has been taken
in and moved to Processed long before. The mail must still not go out twice.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from service.core.store import Store
from service.mail import outbox
from service.mail.bodies import read_body
from service.mail.outbox import Outbox, OutgoingMail
from tests.conftest import run_cli, running_daemon, service_env, wait_until, write_rules
from tests.mailstack import MailStack

pytestmark = pytest.mark.mailstack


def test_a_mail_in_doubt_whose_copy_is_already_in_processed_is_not_sent_again(
    stack: MailStack, tmp_path: Path, fast_rules: Path
) -> None:
    data = tmp_path / "data"
    env = service_env(data, {**stack.env(), "MINUTESD_RULES": str(fast_rules)})
    raw = _left_in_doubt(stack, data, "doubt-1", "chen.jing")
    stack.empty("minutes")
    stack.empty("chen.jing")
    with stack.imap("minutes") as client:  # the copy came back and was processed long ago
        if not client.folder_exists("Processed"):
            client.create_folder("Processed")
        client.append("Processed", raw)

    result = run_cli(["run", "--once"], env)
    assert result.returncode == 0, result.stderr
    time.sleep(1.0)
    with stack.imap("chen.jing") as client:
        client.select_folder("INBOX", readonly=True)
        assert client.search("ALL") == [], "delivered once, by the send before the kill"
    with Store(data, read_only=True) as store:
        doc = store.get(outbox.TABLE, "doubt-1")
    assert doc["state"] == "sent" and doc.get("confirmed_by_copy")


def test_a_mail_in_doubt_without_any_copy_is_sent_once_after_the_grace(
    stack: MailStack, tmp_path: Path, fast_rules: Path
) -> None:
    data = tmp_path / "data"
    env = service_env(data, {**stack.env(), "MINUTESD_RULES": str(fast_rules)})
    _left_in_doubt(stack, data, "doubt-2", "li.na")
    stack.empty("minutes")
    stack.empty("li.na")
    assert run_cli(["run", "--once"], env).returncode == 0
    assert wait_until(lambda: _count(stack, "li.na") == 1, 15), stack.logs()
    assert run_cli(["run", "--once"], env).returncode == 0
    time.sleep(1.0)
    assert _count(stack, "li.na") == 1


def test_a_running_daemon_settles_a_send_in_doubt_when_its_grace_ends_with_nothing_arriving(
    stack: MailStack, tmp_path: Path
) -> None:
    """The daemon sleeps in IDLE for minutes when nothing arrives; a send in doubt must still be
    settled when its grace ends, not at the next IDLE renewal (5 minutes by default)."""
    grace = 8
    data = tmp_path / "data"
    rules = write_rules(tmp_path / "rules.yaml", outbox={"confirm_grace_seconds": grace})
    env = service_env(data, {**stack.env(), "MINUTESD_RULES": str(rules)})
    stack.empty("minutes")
    stack.empty("zhao.min")
    left_at = time.time()
    _left_in_doubt(stack, data, "doubt-3", "zhao.min", ago=0.0)
    log = tmp_path / "daemon.log"
    with running_daemon(env, log):
        assert wait_until(lambda: _count(stack, "zhao.min") == 1, grace + 30), log.read_text()
        took = time.time() - left_at
        # Not before the grace, and long before the 5-minute IDLE renewal (slack for a loaded CI).
        assert grace <= took <= grace + 20, f"settled after {took:.1f} s for a grace of {grace} s"
        time.sleep(2.0)
    assert _count(stack, "zhao.min") == 1


def _left_in_doubt(stack: MailStack, data: Path, key: str, user: str, ago: float = 3600.0) -> bytes:
    """A mail queued, then left "sending" `ago` seconds ago: what a kill between the SMTP
    server's 250 and our commit leaves behind. Returns its raw bytes as they went out."""
    from datetime import UTC, datetime

    box = Outbox(stack.address("minutes"), "会议纪要助手")
    mail = OutgoingMail(
        key=key, to=[stack.address(user)], subject="在途", template="refusal", lang="zh", context={}
    )
    with Store(data) as store:
        with store.transaction() as txn:
            box.enqueue(txn, mail, datetime.now(UTC))
        with store.transaction() as txn:
            doc = txn.get(outbox.TABLE, key)
            doc.update(state="sending", sending_since=time.time() - ago, attempts=1)
            txn.put(outbox.TABLE, key, doc)
        return read_body(store.data_dir, store.get(outbox.TABLE, key))


def _count(stack: MailStack, user: str) -> int:
    with stack.imap(user) as client:
        client.select_folder("INBOX", readonly=True)
        return len(client.search("ALL"))
