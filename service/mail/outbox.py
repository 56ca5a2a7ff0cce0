"""The durable outbox: every outgoing mail is stored, keyed by what caused it, before it is sent.

The idempotency key names the cause ("<inbound Message-ID>:receipt", later
"<record>:v2:distribute:<address>"), so replaying the cause finds the mail already queued and
queues nothing. The Message-ID is derived from the key too, so even a resend after a crash in
the instant between the SMTP server's acceptance and our commit carries the same Message-ID.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from email import encoders
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

from parsers.classify import LOOP_HEADER
from service.core.ledger import with_archived
from service.core.store import Doc, Store, Transaction, define_index
from service.mail import mime
from service.mail.bodies import BodyFiles
from service.mail.render import render

log = logging.getLogger(__name__)

TABLE = "outbox"
BY_MESSAGE_ID = "outbox_ids"

define_index(TABLE, "state", lambda d: [d.get("state")])


class OutboxState:
    PENDING = "pending"
    SENDING = "sending"  # handed to the server; settled by a reply code or by our copy arriving
    SENT = "sent"
    FAILED = "failed"


@dataclass
class OutgoingMail:
    key: str
    to: list[str]
    subject: str
    template: str
    lang: str
    context: dict[str, Any]
    cc: list[str] = field(default_factory=list)
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)
    reply_to: str | None = None
    # (Content-ID, type, bytes) the HTML part shows as <img src="cid:…">: sent with it as multipart/related
    inline: list[tuple[str, str, bytes]] = field(default_factory=list)


def message_id_for(key: str, domain: str, secret: bytes = b"") -> str:
    """Keyed with the data directory's secret, so nobody outside can predict (and pre-empt) it."""
    digest = (
        hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()
        if secret
        else (hashlib.sha256(key.encode()).hexdigest())
    )
    return f"minutesd.{digest[:32]}@{domain}"


def loop_signature(message_id: str, secret: bytes) -> str:
    return hmac.new(secret, f"loop:{message_id}".encode(), hashlib.sha256).hexdigest()[:24]


def secret_of(data_dir: Path) -> bytes:
    """The data directory's own key for Message-IDs and the loop header; made once, kept 0600."""
    path = data_dir / "outbox.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


class Outbox:
    def __init__(
        self, address: str, display_name: str, secret: bytes = b"", bodies: BodyFiles | None = None
    ) -> None:
        self.address = address
        self.display_name = display_name
        self.secret = secret
        self.bodies = bodies  # without it (tools and tests with no data directory) bodies stay inline
        self.domain = address.rpartition("@")[2] or "localhost"
        self._from = formataddr((str(Header(display_name, "utf-8")), address))

    def enqueue(self, txn: Transaction, mail: OutgoingMail, now: datetime) -> bool:
        """Queue `mail` unless its key is already queued or sent; True if queued now."""
        return self.queue(txn, mail, now) is not None

    def queue(self, txn: Transaction, mail: OutgoingMail, now: datetime) -> str | None:
        """`enqueue`, answering with the plain text queued (None if it was queued before): the
        loop guard remembers the lines of what was sent without rendering it a second time."""
        if txn.get(TABLE, mail.key) is not None:
            return None
        message_id = self.message_id_for(mail.key)
        text, html = _rendered(mail)
        raw = self.build(mail, message_id, now, (text, html))
        txn.put(
            TABLE,
            mail.key,
            {
                "state": OutboxState.PENDING,
                "message_id": message_id,
                "sender": self.address,
                "recipients": sorted({*mail.to, *mail.cc}),
                "subject": mail.subject,
                "template": mail.template,
                **({"body": self.bodies.write(raw)} if self.bodies else {"raw": raw.decode("ascii")}),
                "created_at": now.isoformat(),
                "attempts": 0,
                "next_attempt_at": 0.0,
                "last_error": "",
            },
        )
        txn.put(BY_MESSAGE_ID, message_id, {"outbox_key": mail.key})
        return text

    def message_id_for(self, key: str) -> str:
        return message_id_for(key, self.domain, self.secret)

    def is_ours(self, message_id: str, loop_header: str) -> bool:
        """A copy is ours only with our signed loop header: a guessed Message-ID is not enough."""
        if not self.secret:
            return True
        return loop_header.strip().endswith(loop_signature(message_id, self.secret))

    def build(
        self, mail: OutgoingMail, message_id: str, now: datetime, rendered: tuple[str, str] | None = None
    ) -> bytes:
        text, html = rendered or _rendered(mail)
        headers = self._headers(mail, message_id, now)
        if not mail.inline and not mail.attachments:
            return mime.alternative(headers, text, html, _boundary(), SMTP_COMPAT.fold_binary)
        # The compat32 API: the modern header registry costs about 4 ms a mail in folding alone.
        body = MIMEMultipart("alternative")
        body.attach(_text_part(text, "plain"))
        body.attach(
            _related(_text_part(html, "html"), mail.inline) if mail.inline else _text_part(html, "html")
        )
        if mail.attachments:
            msg = MIMEMultipart("mixed")
            msg.attach(body)
            for filename, content_type, data in mail.attachments:
                msg.attach(_attachment(filename, content_type, data))
        else:
            msg = body
        for name, value in headers:
            msg[name] = value
        for part in msg.walk():  # the generator compiles a regex to choose each boundary itself
            if part.is_multipart():
                part.set_boundary(_boundary())
        return msg.as_bytes(policy=SMTP_COMPAT)

    def _headers(self, mail: OutgoingMail, message_id: str, now: datetime) -> list[tuple[str, str]]:
        headers = [("From", self._from), ("To", ", ".join(_safe(a) for a in mail.to))]
        if mail.cc:
            headers.append(("Cc", ", ".join(_safe(a) for a in mail.cc)))
        if mail.reply_to:
            headers.append(("Reply-To", _safe(mail.reply_to)))
        headers += [
            ("Subject", Header(_safe(mail.subject), "utf-8").encode()),
            ("Date", format_datetime(now)),
            ("Message-ID", f"<{message_id}>"),
        ]
        if mail.in_reply_to:
            headers.append(("In-Reply-To", f"<{_safe(mail.in_reply_to)}>"))
        refs = [_safe(r) for r in (*mail.references[-20:], *([mail.in_reply_to] if mail.in_reply_to else []))]
        if refs:
            headers.append(("References", " ".join(f"<{r}>" for r in dict.fromkeys(refs))))
        signed = f"{self.address} {loop_signature(message_id, self.secret)}" if self.secret else self.address
        return [
            *headers,
            ("Auto-Submitted", "auto-generated"),
            ("X-Auto-Response-Suppress", "All"),
            ("Precedence", "bulk"),
            (LOOP_HEADER, signed),
        ]


def _boundary() -> str:
    return f"=_minutesd_{secrets.token_hex(12)}"  # "=_" is in no base64 part


def _safe(value: str) -> str:
    """No control character (a CR/LF someone encoded into a header) reaches a header of ours."""
    if value.isprintable():
        return value.strip()
    return "".join(ch if ch.isprintable() else " " for ch in value).strip()


class _Compat32Smtp(Compat32):
    """compat32 with CRLF, where a short ASCII header is written as it is: compat32 builds a
    Header object to fold every header, 40 µs each, 20 a mail. What needs folding still is."""

    def fold_binary(self, name: str, value: str) -> bytes:
        if isinstance(value, str) and value.isascii() and len(name) + len(value) <= 76 and "\n" not in value:
            return f"{name}: {value}\r\n".encode("ascii")
        return super().fold_binary(name, value)


SMTP_COMPAT = _Compat32Smtp(linesep="\r\n", max_line_length=78)


def _rendered(mail: OutgoingMail) -> tuple[str, str]:
    return render(mail.template, mail.lang, {**mail.context, "subject": mail.subject})


def _text_part(content: str, subtype: str) -> MIMEText:
    # base64 keeps every part 7-bit: any SMTP server takes it, none rewraps CJK lines.
    return MIMEText(content, subtype, "utf-8")


def _related(html: MIMEText, inline: list[tuple[str, str, bytes]]) -> MIMEMultipart:
    related = MIMEMultipart("related")
    related.attach(html)
    for content_id, content_type, data in inline:
        maintype, _, subtype = content_type.partition("/")
        part = MIMEBase(maintype or "application", subtype or "octet-stream")
        part.set_payload(data)
        encoders.encode_base64(part)
        part.add_header("Content-ID", f"<{content_id}>")
        part.add_header("Content-Disposition", "inline", filename=f"{content_id.partition('@')[0]}.{subtype}")
        related.attach(part)
    return related


def _attachment(filename: str, content_type: str, data: bytes) -> MIMEBase:
    maintype, _, subtype = content_type.partition("/")
    # Text parts say their charset, or a reader decodes the Chinese in an .ics or .csv as U+FFFD.
    part = MIMEBase(maintype or "application", subtype or "octet-stream")
    if maintype == "text":
        part.set_param("charset", "utf-8")
    part.set_payload(data)
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", filename))
    return part


def due(
    store: Store, now_ts: float, limit: int, grace_seconds: float, doubt_settled_at: float | None = None
) -> list[Doc]:
    """Pending mail whose time has come, and mail left in doubt whose copy never arrived.

    Mail in doubt is due only if its grace had ended by `doubt_settled_at`, the moment its copy
    was last looked for: a grace that ends while a long drain runs would otherwise resend a
    mail whose copy nobody looked for (one duplicate in 200 kills). None: copies are not looked
    for (copy-to-self off), and the grace alone decides."""
    settled = now_ts if doubt_settled_at is None else doubt_settled_at

    def is_due(d: Doc) -> bool:
        if d["state"] == OutboxState.PENDING:
            return bool(d["next_attempt_at"] <= now_ts)
        return d["state"] == OutboxState.SENDING and d.get("sending_since", 0) + grace_seconds <= settled

    waiting = [
        *store.query(TABLE, "state", OutboxState.PENDING),
        *store.query(TABLE, "state", OutboxState.SENDING),
    ]
    pending = [d for d in waiting if is_due(d)]
    pending.sort(key=lambda d: (d["next_attempt_at"], d["created_at"]))
    return pending[:limit]


def in_doubt(store: Store, now_ts: float, grace_seconds: float) -> list[Doc]:
    """Mail handed to the server whose result we never recorded, past the grace for its copy."""
    return [
        d
        for d in store.query(TABLE, "state", OutboxState.SENDING)
        if d.get("sending_since", 0) + grace_seconds <= now_ts
    ]


def confirm_copy(txn: Transaction, message_id: str, now_ts: float) -> bool:
    """Our own copy of an outgoing mail came back: the server took it. True if it is ours.

    It settles only a mail in doubt ("sending"): a copy also comes back when the server took
    our copy but refused every reader, and that mail stays failed, or waits for its retry."""
    entry = txn.get(BY_MESSAGE_ID, message_id)
    if entry is None:
        return False
    doc = txn.get(TABLE, entry["outbox_key"])
    if doc is not None and doc["state"] == OutboxState.SENDING:
        doc["state"] = OutboxState.SENT
        doc["sent_at"] = doc.get("sent_at") or now_ts
        doc["confirmed_by_copy"] = True
        txn.put(TABLE, entry["outbox_key"], doc)
    return True


def tried_for_hours(doc: Doc) -> float:
    """How long this mail has been trying since it was queued, or since an operator's retry."""
    started = doc.get("retried_at") or doc.get("created_at")
    if not started:
        return float("inf")
    since = datetime.fromisoformat(started)
    return max(0.0, (time.time() - since.timestamp()) / 3600)


def retry(txn: Transaction, key: str, now: datetime) -> bool:
    """A failed (or waiting) mail goes out again at the next drain, with its own Message-ID."""
    doc = txn.get(TABLE, key)
    if doc is None or doc["state"] not in (OutboxState.FAILED, OutboxState.PENDING):
        return False
    doc.update(state=OutboxState.PENDING, attempts=0, next_attempt_at=0.0, retried_at=now.isoformat())
    txn.put(TABLE, key, doc)
    return True


def next_attempt_at(attempts: int, backoff: list[float], now_ts: float) -> float:
    step = backoff[min(attempts - 1, len(backoff) - 1)] if backoff else 60.0
    return now_ts + step


def counts_by_state(store: Store) -> dict[str, int]:
    return with_archived(store, TABLE, "state")


FORMAT = "format"  # what version of each layout the data directory is in


def move_bodies_to_files(store: Store, bodies: BodyFiles) -> int:
    """Once, on the first start after an upgrade: mail queued with its body inside the store
    (before 2026-11-23) gets its body file, and the store forgets the bytes."""
    if store.read_only or (store.get(FORMAT, "outbox") or {}).get("bodies") == "files":
        return 0
    inline = [d for d in store.all(TABLE) if d.get("raw")]
    for doc in inline:
        doc["body"] = bodies.write(str(doc.pop("raw")).encode("ascii"))
    with store.transaction() as txn:  # the store syncs the body files before its journal
        for doc in inline:
            txn.put(TABLE, doc["key"], doc)
        txn.put(FORMAT, "outbox", {"bodies": "files"})
    if inline:
        store.checkpoint()  # the snapshot no longer carries the bytes
        log.info("upgrade: %d outgoing mail bodies moved from the store to %s", len(inline), bodies.data_dir)
    return len(inline)
