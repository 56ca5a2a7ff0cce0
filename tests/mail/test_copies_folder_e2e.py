"""Copies filed by the server (mailbox.copies_folder), on the real Dovecot + Postfix.

With a copies folder our copies go to `minutes+Copies@`; the suite's Dovecot files mail by its
address extension, so they never reach the inbox and cost no intake. They must still settle a
send in doubt, and a server that refuses the extension must not lose anyone a mail.
"""

from __future__ import annotations

import json
import smtplib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.core.store import Store
from service.mail import outbox
from service.mail.bodies import read_body
from service.mail.outbox import Outbox, OutgoingMail, secret_of
from tests.conftest import run_cli, service_env, wait_until, write_rules
from tests.mail.test_mailstack_e2e import private_stack
from tests.mailstack import DOMAIN, MailStack

pytestmark = pytest.mark.mailstack

COPIES = "Copies"


@pytest.fixture
def copies_rules(tmp_path: Path) -> Path:
    return write_rules(
        tmp_path / "rules.yaml",
        outbox={"backoff_seconds": [1, 1, 2], "max_attempts": 30},
        mailbox={"copies_folder": COPIES, "poll_seconds": 1},
    )


@pytest.fixture(scope="module")
def refusing_stack() -> Iterator[MailStack]:
    """A server that knows no address extension: it refuses `minutes+Copies@` as unknown, and
    `gone@` as an address that left the company."""
    yield from private_stack(
        users=["minutes", "li.na"], refused=(f"minutes+{COPIES}@{DOMAIN}", f"gone@{DOMAIN}")
    )


def test_with_a_copies_folder_the_copy_is_filed_there_and_the_inbox_stays_empty(
    stack: MailStack, tmp_path: Path, copies_rules: Path
) -> None:
    data = tmp_path / "data"
    env = service_env(data, {**stack.env(), "MINUTESD_RULES": str(copies_rules)})
    _empty_copies(stack)
    message_id = _queue(stack, data, "copy-1", "chen.jing")

    first = run_cli(["run", "--once", "--json"], env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["outbox"]["sent"] == 1
    assert wait_until(lambda: _ids(stack, "minutes", COPIES) == [message_id], 15), stack.logs()
    assert wait_until(lambda: len(_ids(stack, "chen.jing", "INBOX")) == 1, 15)
    second = run_cli(["run", "--once", "--json"], env)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["processed"] == 0, "the copy never came through the intake"
    assert _ids(stack, "minutes", "INBOX") == []


def test_a_mail_in_doubt_whose_copy_is_in_the_copies_folder_is_not_sent_again(
    stack: MailStack, tmp_path: Path, copies_rules: Path
) -> None:
    data = tmp_path / "data"
    env = service_env(data, {**stack.env(), "MINUTESD_RULES": str(copies_rules)})
    _empty_copies(stack)
    _queue(stack, data, "doubt-copies", "li.na", left_sending=True)
    with Store(data, read_only=True) as store:
        raw = read_body(store.data_dir, store.get(outbox.TABLE, "doubt-copies"))
    with stack.imap("minutes") as client:  # the server filed the copy before the kill
        if not client.folder_exists(COPIES):
            client.create_folder(COPIES)
        client.append(COPIES, raw)

    result = run_cli(["run", "--once"], env)
    assert result.returncode == 0, result.stderr
    time.sleep(1.0)
    assert _ids(stack, "li.na", "INBOX") == [], "delivered once, by the send before the kill"
    with Store(data, read_only=True) as store:
        doc = store.get(outbox.TABLE, "doubt-copies")
    assert doc["state"] == "sent" and doc.get("confirmed_by_copy")


def test_a_server_that_refuses_the_extension_still_delivers_and_copies_come_to_the_address(
    refusing_stack: MailStack, tmp_path: Path, copies_rules: Path
) -> None:
    stack = refusing_stack
    data = tmp_path / "data"
    env = service_env(data, {**stack.env(), "MINUTESD_RULES": str(copies_rules)})
    first = _queue(stack, data, "refused-1", "li.na")
    second = _queue(stack, data, "refused-2", "li.na")

    result = run_cli(["run", "--once", "--json"], env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["outbox"] == {"sent": 2, "retrying": 0, "failed": 0}
    assert "refused our copy" in result.stderr
    assert wait_until(lambda: sorted(_ids(stack, "li.na", "INBOX")) == sorted([first, second]), 15)
    # The first copy was refused; from then on copies go to the plain address, the inbox.
    assert wait_until(lambda: _ids(stack, "minutes", "INBOX") == [second], 15), stack.logs()


@pytest.mark.parametrize("copy_to_self", [True, False])
def test_a_reader_refused_at_rcpt_is_a_failure_not_a_sent_mail(
    refusing_stack: MailStack, tmp_path: Path, copy_to_self: bool
) -> None:
    stack = refusing_stack
    data = tmp_path / "data"
    rules = write_rules(
        tmp_path / "rules.yaml",
        outbox={"backoff_seconds": [1], "max_attempts": 3, "copy_to_self": copy_to_self},
    )
    env = service_env(data, {**stack.env(), "MINUTESD_RULES": str(rules)})
    _empty_copies(stack)
    message_id = _queue(stack, data, "to-gone", "gone")
    after = _queue(stack, data, "after-gone", "li.na")  # the connection takes the next mail

    first = run_cli(["run", "--once", "--json"], env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["outbox"] == {"sent": 1, "retrying": 0, "failed": 1}
    assert wait_until(lambda: after in _ids(stack, "li.na", "INBOX"), 15), stack.logs()
    if copy_to_self:  # our copy went through and comes back: it must not count as the mail delivered
        assert wait_until(lambda: message_id in _ids(stack, "minutes", "INBOX"), 15), stack.logs()
    second = run_cli(["run", "--once", "--json"], env)
    assert second.returncode == 0, second.stderr
    with Store(data, read_only=True) as store:
        doc = store.get(outbox.TABLE, "to-gone")
    assert doc["state"] == "failed" and "gone@" in doc["last_error"], doc
    assert not doc.get("confirmed_by_copy")


@pytest.fixture(scope="module")
def stack_without_pipelining() -> Iterator[MailStack]:
    yield from private_stack(users=["minutes", "li.na"], pipelining=False)


def test_a_server_without_pipelining_gets_each_command_in_turn(
    stack_without_pipelining: MailStack, tmp_path: Path
) -> None:
    stack = stack_without_pipelining
    data = tmp_path / "data"
    env = service_env(data, stack.env())
    sent = [_queue(stack, data, f"plain-{n}", "li.na") for n in range(3)]
    result = run_cli(["run", "--once", "--json"], env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["outbox"] == {"sent": 3, "retrying": 0, "failed": 0}
    assert wait_until(lambda: sorted(_ids(stack, "li.na", "INBOX")) == sorted(sent), 15), stack.logs()
    with smtplib.SMTP("127.0.0.1", stack.smtp_port) as client:
        client.ehlo()
        assert not client.has_extn("pipelining"), "the server under test really does not offer it"


def _queue(stack: MailStack, data: Path, key: str, user: str, left_sending: bool = False) -> str:
    """A mail queued as the service queues it (with the data directory's key); with
    `left_sending`, left as a kill between the server's 250 and our commit leaves it."""
    box = Outbox(stack.address("minutes"), "会议纪要助手", secret_of(data))
    mail = OutgoingMail(
        key=key, to=[stack.address(user)], subject="抄送", template="refusal", lang="zh", context={}
    )
    with Store(data) as store:
        with store.transaction() as txn:
            box.enqueue(txn, mail, datetime.now(UTC))
        doc = store.get(outbox.TABLE, key)
        if left_sending:
            with store.transaction() as txn:
                doc.update(state="sending", sending_since=time.time() - 3600, attempts=1)
                txn.put(outbox.TABLE, key, doc)
    return str(doc["message_id"])


def _ids(stack: MailStack, user: str, folder: str) -> list[str]:
    with stack.imap(user) as client:
        if not client.folder_exists(folder):
            return []
        client.select_folder(folder, readonly=True)
        uids = client.search("ALL")
        fetched = client.fetch(uids, [b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]) if uids else {}
        return [
            fetched[uid][b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].decode().split(":", 1)[1].strip().strip("<>")
            for uid in uids
        ]


def _empty_copies(stack: MailStack) -> None:
    stack.empty("minutes", ("INBOX", "Processed", "Needs-Attention", COPIES))
