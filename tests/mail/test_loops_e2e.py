"""A naive auto-responder against the service on the real Dovecot + Postfix: it sets no
Auto-Submitted header and answers everything it gets, copying the subject, for two minutes.
The loop must end by itself: at most the rules' limit of answers reaches it, and the recorder
is told once. Two kinds of responder: one that answers to Reply-To (the attendee's reply
address) and one that ignores it and answers to From, the service's plain address."""

from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from parsers.message import parse_message
from tests.conftest import SAMPLES, running_daemon, service_env, wait_until, write_rules
from tests.mailstack import MailStack
from tests.service.minutes.test_confirmation_e2e import draft_mail, minutes_mail

pytestmark = [pytest.mark.mailstack, pytest.mark.slow]

LIMIT = 3
RESPONDING_SECONDS = 120


def _new_mail(stack: MailStack, user: str, seen: set[int]) -> list[bytes]:
    with stack.imap(user) as client:
        client.select_folder("INBOX", readonly=True)
        uids = [u for u in client.search("ALL") if u not in seen]
        data = client.fetch(uids, [b"BODY.PEEK[]"]) if uids else {}
        seen.update(uids)
        return [data[u][b"BODY[]"] for u in uids]


@pytest.mark.parametrize("answers_to", ["Reply-To", "From"])
def test_a_naive_auto_responder_gets_at_most_the_limit_and_the_recorder_is_told_once(
    stack: MailStack, tmp_path: Path, answers_to: str
) -> None:
    rules = write_rules(
        tmp_path / "rules.yaml", loops={"max_answers_per_hour": LIMIT}, mailbox={"poll_seconds": 1}
    )
    env = service_env(
        tmp_path / "data",
        {**stack.env(), "MINUTESD_RULES": str(rules), "MINUTESD_DIRECTORY": str(SAMPLES / "people.yaml")},
    )
    for user in ["minutes", "chen.jing", "qian.fang"]:
        stack.empty(user)
    log = tmp_path / "daemon.log"
    with running_daemon(env, log):
        _send(stack, draft_mail(stack, "draft-zh-plain.txt", "qian.fang"))
        assert wait_until(lambda: bool(minutes_mail_or_none(stack)), 30), log.read_text()
        minutes = minutes_mail(stack, "chen.jing", "2024-OPS-001")
        seen: set[int] = set()
        _new_mail(stack, "chen.jing", seen)  # the minutes themselves
        answers = 0
        first = EmailMessage()  # the responder's first "answer", to the minutes
        first["From"] = stack.address("chen.jing")
        first["To"] = minutes.reply_to[0] if answers_to == "Reply-To" else minutes.from_addr
        first["Subject"] = f"Re: {minutes.subject}"
        first["Message-ID"] = make_msgid(domain=stack.domain)
        first.set_content("您好,我正在休假(1),返回后处理。")
        _send(stack, first)
        deadline = time.monotonic() + RESPONDING_SECONDS
        n = 1
        while time.monotonic() < deadline:
            for raw in _new_mail(stack, "chen.jing", seen):
                got = parse_message(raw)
                answers += 1
                n += 1
                echo = EmailMessage()
                echo["From"] = stack.address("chen.jing")
                echo["To"] = got.reply_to[0] if got.reply_to and answers_to == "Reply-To" else got.from_addr
                echo["Subject"] = f"Re: {got.subject}"
                echo["Message-ID"] = make_msgid(domain=stack.domain)
                echo.set_content(f"您好,我正在休假({n}),返回后处理。")  # a little different each time
                _send(stack, echo)
            time.sleep(0.5)
    assert 1 <= answers <= LIMIT, f"{answers} answers reached the responder"
    told = [
        m for m in (parse_message(r) for r in _new_mail(stack, "qian.fang", set())) if "循环" in m.subject
    ]
    assert len(told) == 1, [m.subject for m in told]


def _send(stack: MailStack, msg: EmailMessage) -> None:
    """Through Postfix, without waiting for the inbox: the running daemon empties it at once."""
    with smtplib.SMTP("127.0.0.1", stack.smtp_port) as smtp:
        smtp.send_message(msg)


def minutes_mail_or_none(stack: MailStack) -> bool:
    with stack.imap("chen.jing") as client:
        client.select_folder("INBOX", readonly=True)
        return bool(client.search("ALL"))
