"""One SMTP transaction in two round trips instead of four or more (RFC 2920, PIPELINING).

smtplib waits for the server's answer to MAIL, to each RCPT and to DATA before it writes the
next. A server that offers PIPELINING takes them in one write: on loopback that saves a wake-up
of both sides per command, and across a wide-area link a round trip each (2,000 receipts with
a copy each are 6,000 round trips fewer). The answers, and what is raised, are those of
`smtplib.SMTP.sendmail`, so the caller cannot tell which way a mail went. A server without
PIPELINING, or an address that is not ASCII (SMTPUTF8), goes through `sendmail` itself.
"""

from __future__ import annotations

import contextlib
import re
import smtplib

_LEADING_PERIOD = re.compile(rb"(?m)^\.")
Refused = dict[str, tuple[int, bytes]]


def send(client: smtplib.SMTP, sender: str, recipients: list[str], data: bytes) -> Refused:
    """Send `data` to `recipients`; the recipients the server refused while others took it."""
    client.ehlo_or_helo_if_needed()
    if not client.has_extn("pipelining") or not all(a.isascii() for a in (sender, *recipients)):
        return client.sendmail(sender, recipients, data)
    size = f" SIZE={len(data)}" if client.has_extn("size") else ""
    commands = [f"MAIL FROM:{smtplib.quoteaddr(sender)}{size}"]
    commands += [f"RCPT TO:{smtplib.quoteaddr(r)}" for r in recipients]
    client.send("".join(f"{c}\r\n" for c in [*commands, "DATA"]))
    mail = client.getreply()
    answers = [client.getreply() for _ in recipients]
    data_answer = client.getreply()
    refused = {r: a for r, a in zip(recipients, answers, strict=True) if a[0] not in (250, 251)}
    if data_answer[0] == 354 and (mail[0] != 250 or len(refused) == len(recipients)):
        client.send(b".\r\n")  # a server that said go ahead anyway: end the empty message
        client.getreply()
    if mail[0] != 250:
        _reset(client)
        raise smtplib.SMTPSenderRefused(mail[0], mail[1], sender)
    if len(refused) == len(recipients):
        _reset(client)
        raise smtplib.SMTPRecipientsRefused(refused)
    if data_answer[0] != 354:
        _reset(client)
        raise smtplib.SMTPDataError(*data_answer)
    body = _LEADING_PERIOD.sub(b"..", data)
    client.send(body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n")
    done = client.getreply()
    if done[0] != 250:
        _reset(client)
        raise smtplib.SMTPDataError(*done)
    return refused


def _reset(client: smtplib.SMTP) -> None:
    """RSET after a refusal, as sendmail does, so the connection takes the next mail."""
    with contextlib.suppress(smtplib.SMTPServerDisconnected):
        client.rset()
