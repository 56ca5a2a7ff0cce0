"""The daemon: take in what arrived, drain the outbox, wait for more; until told to stop."""

from __future__ import annotations

import logging
import signal
import time
from dataclasses import dataclass, field
from types import FrameType

from service import scheduler
from service.core.clock import Clock
from service.core.config import Rules, Settings
from service.core.store import Store, StoreUnavailable
from service.mail import outbox
from service.mail.mailbox import ImapMailbox, Mailbox, MailboxUnavailable, MaildirMailbox
from service.mail.sender import (
    DrainReport,
    MaildirTransport,
    SmtpTransport,
    Transport,
    connection_refused,
    drain,
)
from service.pipeline import Pipeline

log = logging.getLogger(__name__)


def build_mailbox(settings: Settings, rules: Rules, timeout: float = 60.0) -> Mailbox:
    if settings.imap is not None:
        return ImapMailbox(settings.imap, rules.mailbox, timeout=timeout)
    return MaildirMailbox(settings.data_dir / "maildir" / "inbox", rules.mailbox)


def build_transport(settings: Settings, rules: Rules, timeout: float = 30.0) -> Transport:
    if settings.smtp is not None:
        copy_to = (
            copy_address(settings.address, rules.mailbox.copies_folder) if rules.outbox.copy_to_self else None
        )
        return SmtpTransport(
            settings.smtp, copy_to=copy_to, fallback_copy_to=settings.address, timeout=timeout
        )
    return MaildirTransport(settings.data_dir / "maildir" / "sent")


def copy_address(address: str, copies_folder: str) -> str:
    """`minutes+Copies@example.com` for a copies folder: a server that files mail by its address
    extension (Dovecot's lmtp_save_to_detail_mailbox) puts our copies there, not in the inbox."""
    if not copies_folder:
        return address
    local, _, domain = address.rpartition("@")
    return f"{local}+{copies_folder}@{domain}"


@dataclass
class PassReport:
    processed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    outbox: DrainReport = field(default_factory=DrainReport)


class Daemon:
    def __init__(self, settings: Settings, rules: Rules, store: Store, clock: Clock) -> None:
        self.settings = settings
        self.rules = rules
        self.store = store
        self.mailbox = build_mailbox(settings, rules)
        self.transport = build_transport(settings, rules)
        self.clock = clock
        self.pipeline = Pipeline(settings, rules, store, clock)
        self._stopping = False
        self._failures = 0

    def stop(self, *_: object) -> None:
        self._stopping = True

    def stopping(self) -> bool:
        return self._stopping

    def take_in(self, report: PassReport) -> None:
        """Process the inbox a batch at a time: store, move, then send what the batch caused."""
        while not self._stopping:
            batch = self.mailbox.fetch_new(self.rules.mailbox.fetch_batch)
            if not batch:
                return
            done: dict[str, list[str]] = {}
            full: StoreUnavailable | None = None
            for fetched in batch:
                if self._stopping:
                    break
                try:
                    result = self.pipeline.process(fetched.raw, fetched.ref)
                except StoreUnavailable as exc:
                    full = exc  # this one and the rest stay in the inbox
                    break
                folder = (
                    self.rules.mailbox.attention_folder
                    if result.folder_kind == "attention"
                    else self.rules.mailbox.processed_folder
                )
                done.setdefault(folder, []).append(fetched.ref)
                if not result.already_done:
                    report.processed += 1
                    report.outcomes[result.outcome.value] = report.outcomes.get(result.outcome.value, 0) + 1
            self.pipeline.sync()  # outcomes on disk before anything leaves the inbox
            for folder, refs in done.items():
                self.mailbox.finish(refs, folder)
            if full is not None:
                raise full
            self._drain(report)

    def _settle_in_doubt(self, now: float) -> None:
        """Before a mail in doubt is sent again, look for its copy everywhere in the mailbox:
        after a long downtime it may sit in Processed, or behind a backlog, not just arrive."""
        rules = self.rules.outbox
        in_doubt = outbox.in_doubt(self.store, now, rules.confirm_grace_seconds)
        if not in_doubt:
            return
        found = self.mailbox.holds([d["message_id"] for d in in_doubt])
        if found:
            with self.store.transaction() as txn:
                for message_id in found:
                    outbox.confirm_copy(txn, message_id, time.time())
            log.info("outbox: %d mail(s) in doubt were delivered (their copy was found)", len(found))

    def _drain(self, report: PassReport) -> None:
        settled_at: float | None = None
        if self.rules.outbox.copy_to_self:
            settled_at = time.time()
            self._settle_in_doubt(settled_at)
        drained = drain(self.store, self.transport, self.rules.outbox, doubt_settled_at=settled_at)
        report.outbox.sent += drained.sent
        report.outbox.retrying += drained.retrying
        report.outbox.failed += drained.failed

    def run_once(self) -> PassReport:
        report = PassReport()
        self.take_in(report)
        self._tick()
        self._drain(report)
        self._compact_if_quiet(report)
        return report

    def _compact_if_quiet(self, report: PassReport) -> None:
        """A pass that took nothing in is a quiet moment: fold a long journal into db.json now,
        rather than leave every command started meanwhile to replay it."""
        if report.processed == 0 and self.store.compact_when_quiet():
            log.info("store: journal folded into db.json while quiet")

    def _tick(self) -> None:
        queued = scheduler.tick(
            self.store, self.pipeline.outbox, self.rules, self.clock.now(), self.pipeline.directory
        )
        if queued:
            log.info("scheduler: %d mail(s) queued", queued)

    def run_forever(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        log.info("minutesd running: %s", self._describe_mailbox())
        while not self._stopping:
            try:
                report = PassReport()
                self.take_in(report)
                if not self._stopping:
                    self._tick()
                    self._drain(report)
                    self._compact_if_quiet(report)
                if self._failures:
                    log.info("mailbox reachable again after %d failed attempt(s)", self._failures)
                self._failures = 0
                if not self._stopping:
                    self.mailbox.wait(self._wait_seconds(), self.stopping)
            except MailboxUnavailable as exc:
                self._backoff(exc)
            except StoreUnavailable as exc:
                log.error("cannot write to %s: %s; waiting for room", self.settings.data_dir, exc)
                self._backoff(exc)
        self.mailbox.close()
        log.info("minutesd stopped")

    def _wait_seconds(self) -> float:
        longest = self.rules.mailbox.idle_renew_minutes * 60
        grace = self.rules.outbox.confirm_grace_seconds
        moments = [
            (d["next_attempt_at"] if d["state"] == "pending" else d.get("sending_since", 0) + grace)
            - time.time()
            for state in ("pending", "sending")
            for d in self.store.query(outbox.TABLE, "state", state)
        ]  # a send in doubt is settled within its grace even when nothing else arrives
        due = scheduler.next_due(self.store, self.rules, self.clock.now())
        if due is not None:
            moments.append((due - self.clock.now()).total_seconds())
        if moments:
            return max(0.5, min(min(moments), longest))
        return longest

    def _backoff(self, exc: Exception) -> None:
        steps = self.rules.mailbox.reconnect_backoff_seconds or [5.0]
        delay = steps[min(self._failures, len(steps) - 1)]
        if connection_refused(exc):
            delay = min(delay, 2.0)  # a server that answers "refused" is coming back: ask again soon
        self._failures += 1
        log.warning("%s; reconnecting in %.1f s", exc, delay)
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and not self._stopping:
            time.sleep(min(0.5, deadline - time.monotonic()))

    def _describe_mailbox(self) -> str:
        try:
            return self.mailbox.check()
        except MailboxUnavailable as exc:
            return f"mailbox not reachable yet ({exc})"

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: finishing the current message, then stopping", signum)
        self._stopping = True
