"""Pipelined SMTP (service/mail/pipelining.py) against the suite's real Postfix, which offers it."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest

from service.mail import pipelining
from tests.mail.test_mailstack_e2e import private_stack
from tests.mailstack import DOMAIN, MailStack

pytestmark = pytest.mark.mailstack


def _inbox(stack: MailStack, user: str) -> list[bytes]:
    with stack.imap(user) as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search("ALL")
        return [d[b"BODY[]"] for d in client.fetch(uids, [b"BODY.PEEK[]"]).values()] if uids else []


def test_the_bytes_arrive_as_sent_to_every_reader_in_two_round_trips(stack: MailStack) -> None:
    body = b"Subject: dots\r\nMessage-ID: <dots@x>\r\n\r\n.leading\r\n..two\r\n.\r\nlast line without end"
    readers = [stack.address("li.na"), stack.address("chen.jing")]
    with smtplib.SMTP("127.0.0.1", stack.smtp_port) as client:
        client.ehlo()
        assert client.has_extn("pipelining"), "the pipelined way is the one under test"
        writes: list[object] = []
        real_send = client.send
        client.send = lambda data: (writes.append(data), real_send(data))[1]  # type: ignore[method-assign]
        refused = pipelining.send(client, stack.address("minutes"), readers, body)
        assert len(writes) == 2, "MAIL, RCPT and DATA in one write, the message in the other"
    assert refused == {}
    assert stack.wait_until_delivered() >= 0
    for user in ("li.na", "chen.jing"):
        [got] = _inbox(stack, user)
        # (Postfix adds the Date and From this bare message lacks, in its header.)
        assert got.partition(b"\r\n\r\n")[2] == body.partition(b"\r\n\r\n")[2] + b"\r\n", "dots kept"


@pytest.fixture(scope="module")
def refusing_stack() -> Iterator[MailStack]:
    yield from private_stack(users=["minutes", "li.na"], refused=(f"gone@{DOMAIN}",))


def test_refusals_are_answered_as_sendmail_answers_them(refusing_stack: MailStack) -> None:
    stack, gone = refusing_stack, f"gone@{DOMAIN}"
    with smtplib.SMTP("127.0.0.1", stack.smtp_port) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            pipelining.send(client, stack.address("minutes"), [gone], b"Subject: x\r\n\r\nx\r\n")
        assert list(refused.value.recipients) == [gone]
        with pytest.raises(smtplib.SMTPSenderRefused):
            pipelining.send(client, "bad sender@", [stack.address("li.na")], b"Subject: x\r\n\r\nx\r\n")
        # The connection takes the next mail after each refusal (RSET was sent).
        partly = pipelining.send(
            client,
            stack.address("minutes"),
            [stack.address("li.na"), gone],
            b"Subject: ok\r\n\r\nok\r\n",
        )
    assert list(partly) == [gone] and partly[gone][0] >= 500
    stack.wait_until_delivered()
    assert [m for m in _inbox(stack, "li.na") if b"Subject: ok" in m]
