"""Drains the outbox through a transport, one commit per result, retrying with backoff."""

from __future__ import annotations

import errno
import logging
import os
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from service.core.config import OutboxRules, ServerSettings
from service.core.store import Doc, Store
from service.mail import outbox, pipelining
from service.mail.bodies import read_body

log = logging.getLogger(__name__)

REFUSED_RETRY_SECONDS = 2.0


class TemporaryFailure(Exception):
    """Try again later: the server is away or said 4xx."""


class PermanentFailure(Exception):
    """Give up on this mail: the server said 5xx for every recipient."""


def connection_refused(exc: BaseException | None) -> bool:
    """True when the server's host answered but nothing listens yet: a restart, back in seconds.
    Some clients word it "Connect call failed", so the cause chain is read, not only the words."""
    while exc is not None:
        if isinstance(exc, ConnectionRefusedError) or "refused" in str(exc).lower():
            return True
        if isinstance(exc, OSError) and exc.errno == errno.ECONNREFUSED:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


StartCallback = Callable[[Doc], None]
ResultCallback = Callable[[Doc, Exception | None], None]


class Transport(Protocol):
    def send_all(self, mails: list[Doc], on_start: StartCallback, on_result: ResultCallback) -> None: ...

    def check(self) -> str: ...


class SmtpTransport:
    """SMTP via the standard library's smtplib, pipelined where the server allows. With `copy_to` every transaction also delivers to
    the service's own mailbox: the copy's arrival proves the server accepted the mail, which
    settles a send that a crash or a dropped connection left in doubt."""

    def __init__(
        self,
        server: ServerSettings,
        copy_to: str | None = None,
        timeout: float = 30.0,
        fallback_copy_to: str | None = None,
    ) -> None:
        self.server = server
        self.copy_to = copy_to
        self.timeout = timeout
        # The plain address, for a server that refuses `copy_to` (it knows no address extension).
        self.fallback_copy_to = fallback_copy_to

    def _connect(self) -> smtplib.SMTP:
        server, tls = self.server, self.server.tls
        context = ssl.create_default_context() if tls != "none" else None
        client: smtplib.SMTP | None = None
        try:
            if tls == "ssl":
                client = smtplib.SMTP_SSL(server.host, server.port, timeout=self.timeout, context=context)
            else:
                client = smtplib.SMTP(server.host, server.port, timeout=self.timeout)
                if tls == "starttls":
                    client.starttls(context=context)
            if server.user:
                client.login(server.user, server.password or "")
        except (smtplib.SMTPException, OSError) as exc:
            if client is not None:
                client.close()
            raise TemporaryFailure(f"SMTP {server.host}:{server.port}: {exc}") from exc
        return client

    def send_all(self, mails: list[Doc], on_start: StartCallback, on_result: ResultCallback) -> None:
        client = self._connect()
        try:
            for mail in mails:
                on_start(mail)
                on_result(mail, self._send(client, mail))
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()

    def _send(self, client: smtplib.SMTP, mail: Doc) -> Exception | None:
        """None when the server took the mail for its readers (all, or some of them); the
        failure otherwise. InDoubt when the connection broke mid-transaction: the server may
        have the mail, which stays in doubt until its copy arrives or the grace period ends."""
        readers = list(mail["recipients"])
        copy = self.copy_to if self.copy_to and self.copy_to not in readers else None
        try:
            refused = pipelining.send(
                client, mail["sender"], [*readers, *([copy] if copy else [])], mail["raw"].encode("ascii")
            )
        except smtplib.SMTPRecipientsRefused as exc:
            return _refusal(exc.recipients)
        except smtplib.SMTPServerDisconnected as exc:
            raise InDoubt(str(exc)) from exc
        except smtplib.SMTPResponseException as exc:  # MAIL or DATA refused; RSET was sent
            kind = PermanentFailure if exc.smtp_code >= 500 else TemporaryFailure
            return kind(f"{exc.smtp_code} {_text(exc.smtp_error)}")
        except (smtplib.SMTPException, OSError) as exc:
            raise InDoubt(str(exc)) from exc
        if copy and copy in refused:
            self._copy_refused(refused.pop(copy))
        if refused and len(refused) == len(readers):
            # Only our copy was taken: no reader gets the mail, so it is not sent. Its copy will
            # come back and settle nothing: only a mail still "sending" is in doubt.
            return _refusal(refused)
        if refused:
            log.warning("SMTP refused %s for %s; the others took it", ", ".join(refused), mail["key"])
        return None

    def _copy_refused(self, answer: object) -> None:
        """The mail went to its readers; only our copy was refused. Later copies go to the plain
        address, so a send in doubt can still be settled."""
        log.warning(
            "SMTP refused our copy to %s (%s): the server knows no address extension; "
            "copies now go to %s (see copies_folder in the rules)",
            self.copy_to,
            answer,
            self.fallback_copy_to or "nowhere",
        )
        self.copy_to = self.fallback_copy_to

    def check(self) -> str:
        client = self._connect()
        client.quit()
        login = f" as {self.server.user}" if self.server.user else ""
        return f"SMTP {self.server.host}:{self.server.port} ({self.server.tls}) accepts us{login}"


def _refusal(refused: dict[str, tuple[int, bytes]]) -> Exception:
    """Every reader refused: for good if every refusal was permanent (5xx), else try again."""
    why = "; ".join(f"{address}: {code} {_text(said)}" for address, (code, said) in refused.items())
    permanent = all(code >= 500 for code, _ in refused.values())
    return PermanentFailure(why) if permanent else TemporaryFailure(why)


def _text(said: bytes | str) -> str:
    return said.decode(errors="replace") if isinstance(said, bytes) else said


class InDoubt(Exception):
    """A transaction broke after it began: whether the server took the mail is unknown."""


class MaildirTransport:
    """The embedded transport: each mail lands as a file in a sent Maildir."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for sub in ("tmp", "new", "cur"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def send_all(self, mails: list[Doc], on_start: StartCallback, on_result: ResultCallback) -> None:
        for mail in mails:
            on_start(mail)
            name = f"{mail['message_id'].partition('@')[0]}.eml"
            tmp = self.root / "tmp" / name
            with open(tmp, "wb") as fh:
                fh.write(mail["raw"].encode("ascii"))
                fh.flush()
                os.fsync(fh.fileno())
            # The same key always lands under the same name: a replay overwrites, never duplicates.
            os.replace(tmp, self.root / "new" / name)
            on_result(mail, None)

    def check(self) -> str:
        return f"embedded transport: sent mail goes to {self.root}/new"


@dataclass
class DrainReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def drain(
    store: Store, transport: Transport, rules: OutboxRules, doubt_settled_at: float | None = None
) -> DrainReport:
    """Send what is due; every state change is committed as soon as it is known. Mail in doubt
    is sent again only if its grace had ended when its copy was looked for (`outbox.due`)."""
    report = DrainReport()

    def result(mail: Doc, error: Exception | None) -> None:
        # Lazy on purpose: a lost "sent" mark leaves the mail "sending", which its copy settles.
        _record(store, mail["key"], error, rules, report, durable=False)

    try:
        _drain_batches(store, transport, rules, report, result, doubt_settled_at)
    finally:
        store.sync()
    return report


def _marker(store: Store, batch: list[Doc]) -> StartCallback:
    """The start callback of one batch: at its first call (the server is connected and about
    to take the first mail) the whole batch is marked "sending" in one durable commit, so a
    crash from then on leaves each mail in doubt, to be settled by its copy, never sent twice.
    One fsync a batch, not one a mail."""
    marked = False

    def start(mail: Doc) -> None:
        nonlocal marked
        if marked:
            return
        marked = True
        now = time.time()
        with store.transaction() as txn:
            for each in batch:
                doc = txn.get(outbox.TABLE, each["key"]) or each
                doc["state"] = outbox.OutboxState.SENDING
                doc["sending_since"] = now
                doc["attempts"] = int(doc["attempts"]) + 1
                txn.put(outbox.TABLE, each["key"], doc)

    return start


def _drain_batches(
    store: Store,
    transport: Transport,
    rules: OutboxRules,
    report: DrainReport,
    result: ResultCallback,
    doubt_settled_at: float | None,
) -> None:
    while True:
        due = outbox.due(store, time.time(), rules.batch, rules.confirm_grace_seconds, doubt_settled_at)
        batch = _with_bodies(store, due, rules, report)
        if not batch:
            return
        try:
            transport.send_all(batch, _marker(store, batch), result)
        except TemporaryFailure as exc:
            log.warning("outbox: %s; %d mail(s) wait for the next attempt", exc, len(batch))
            for mail in batch:
                current = store.get(outbox.TABLE, mail["key"])
                if current and current["state"] == outbox.OutboxState.PENDING:
                    _record(store, mail["key"], exc, rules, report, count_attempt=True, durable=False)
            return
        except InDoubt as exc:
            log.warning("outbox: connection lost mid-send (%s); waiting for the copy to settle it", exc)
            return


def _with_bodies(store: Store, batch: list[Doc], rules: OutboxRules, report: DrainReport) -> list[Doc]:
    """The batch with each mail's bytes read from its body file; a mail whose body is gone fails
    at once, visibly (`minutesd check`, `outbox`), rather than blocking the queue."""
    ready = []
    for mail in batch:
        try:
            mail["raw"] = read_body(store.data_dir, mail).decode("ascii")
        except (OSError, KeyError, ValueError) as exc:
            _record(
                store, mail["key"], PermanentFailure(f"its body file cannot be read ({exc})"), rules, report
            )
            continue
        ready.append(mail)
    return ready


def _record(
    store: Store,
    key: str,
    error: Exception | None,
    rules: OutboxRules,
    report: DrainReport,
    count_attempt: bool = False,
    durable: bool = True,
) -> None:
    with store.transaction(durable=durable) as txn:
        doc = txn.get(outbox.TABLE, key)
        if doc is None:
            return
        if count_attempt:
            doc["attempts"] = int(doc["attempts"]) + 1
        attempts = int(doc["attempts"])
        if error is None:
            doc["state"] = outbox.OutboxState.SENT
            doc["sent_at"] = time.time()
            report.sent += 1
            log.info("outbox: sent %s to %s", key, ", ".join(doc.get("recipients", [])))
        elif isinstance(error, PermanentFailure) or (
            attempts >= rules.max_attempts and outbox.tried_for_hours(doc) >= rules.keep_trying_hours
        ):
            doc["state"] = outbox.OutboxState.FAILED
            doc["last_error"] = str(error)
            report.failed += 1
            log.error("outbox: giving up on %s after %d attempt(s): %s", key, attempts, error)
        else:
            doc["state"] = outbox.OutboxState.PENDING
            doc["last_error"] = str(error)
            doc["next_attempt_at"] = outbox.next_attempt_at(attempts, rules.backoff_seconds, time.time())
            if connection_refused(error):  # the server is restarting: try again within seconds
                doc["next_attempt_at"] = min(doc["next_attempt_at"], time.time() + REFUSED_RETRY_SECONDS)
            report.retrying += 1
        txn.put(outbox.TABLE, key, doc)
