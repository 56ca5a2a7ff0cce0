"""Recovery in seconds on the real Dovecot + Postfix, with the rules' default backoff steps.

An outage long enough to walk the backoff up its steps (1, 2, 5, 10 s for IMAP; 5, 15, 60 s for
SMTP) must not make people wait those steps once the server is back: a refused connection means
the server is restarting, so the daemon asks again within seconds. Measured from the moment the
server's port answers again to the moment the work is done.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import REPO, running_daemon, service_env, wait_until
from tests.mail.test_mailstack_e2e import count, mail_from, message_ids
from tests.mailstack import MailStack

pytestmark = pytest.mark.mailstack

BACK_WITHIN = 5.0
OUTAGE = 25.0  # past four IMAP steps and two SMTP steps of the default rules


@pytest.fixture
def stack(mailstack: MailStack) -> MailStack:
    for user in ["minutes", "s05", "s06"]:
        mailstack.empty(user)
    return mailstack


def test_after_dovecot_comes_back_a_waiting_message_is_processed_within_5_seconds(
    stack: MailStack, tmp_path: Path
) -> None:
    env = service_env(tmp_path / "data", {**stack.env(), "MINUTESD_RULES": str(REPO / "mailbox_rules.yaml")})
    log = tmp_path / "daemon.log"
    with running_daemon(env, log):
        assert wait_until(lambda: "IDLE" in log.read_text(), 20), log.read_text()
        stack.stop_dovecot()
        try:
            time.sleep(OUTAGE)
            assert log.read_text().count("reconnecting in") >= 3, log.read_text()
        finally:
            stack.start_dovecot()  # returns once its port answers
        back = time.monotonic()
        msg = mail_from(stack, "s05", "after the outage")
        with stack.imap("minutes") as client:
            client.append("INBOX", msg.as_bytes())
        assert wait_until(lambda: msg["Message-ID"] in message_ids(stack, "minutes", "Processed"), 15), (
            log.read_text()
        )
        took = time.monotonic() - back
        assert took <= BACK_WITHIN, f"processed {took:.1f} s after Dovecot was back\n{log.read_text()}"
    assert "mailbox reachable again" in log.read_text()


def test_after_postfix_comes_back_the_waiting_answer_is_sent_within_5_seconds(
    stack: MailStack, tmp_path: Path
) -> None:
    env = service_env(tmp_path / "data", {**stack.env(), "MINUTESD_RULES": str(REPO / "mailbox_rules.yaml")})
    log = tmp_path / "daemon.log"
    msg = mail_from(stack, "s06", "while Postfix is away")
    stack.stop_postfix()
    postfix_up = False
    try:
        with running_daemon(env, log):
            with stack.imap("minutes") as client:
                client.append("INBOX", msg.as_bytes())
            assert wait_until(lambda: "outbox:" in log.read_text() or "refused" in log.read_text(), 30)
            time.sleep(OUTAGE)
            assert count(stack, "s06") == 0
            stack.start_postfix()
            postfix_up = True
            back = time.monotonic()
            assert wait_until(lambda: count(stack, "s06") == 1, 20), log.read_text()
            took = time.monotonic() - back
            assert took <= BACK_WITHIN, f"delivered {took:.1f} s after Postfix was back\n{log.read_text()}"
    finally:
        if not postfix_up:
            stack.start_postfix()
