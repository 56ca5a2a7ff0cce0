"""One inbound message: archive → parse → classify → skip what is not for us → route → record.

`stages.STAGES` is the whole flow after parsing, in order; `routes.route` matches the
message to its record, decides who may do what, and hands it to its handler.

Each message ends in exactly one stored outcome. A stage ends a message early by
raising an Outcome (Ignored, Rejected with a reply); any other exception
quarantines the message, and the daemon goes on with the next one. What a stage
wrote is committed with Applied and Ignored (the bookkeeping of a bounce or of our
own copy); a rejected message commits its record and its reply and nothing else.
"""

from __future__ import annotations

import hashlib
import logging
import time
import traceback
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from parsers.classify import LOOP_HEADER, Kind, classify
from parsers.message import InboundMessage
from parsers.people import Directory
from service.context import Context, queue_reply, visible_text
from service.core.bounded import TooSlow, deadline
from service.core.clock import Clock
from service.core.config import Rules, Settings
from service.core.directory import LiveDirectory
from service.core.ledger import LEDGER as LEDGER
from service.core.ledger import MESSAGES as MESSAGES
from service.core.ledger import outcome_counts as outcome_counts
from service.core.outcomes import Applied, Outcome, OutcomeKind
from service.core.store import Store, StoreUnavailable, Transaction
from service.mail import loops
from service.mail.bodies import BodyFiles
from service.mail.outbox import (
    BY_MESSAGE_ID,
    Outbox,
    OutgoingMail,
    confirm_copy,
    move_bodies_to_files,
    secret_of,
)
from service.mail.rawmail import RawArchive, read_raw
from service.mail.reading import read_message
from service.mail.render import language_of
from service.minutes.records import for_readers
from service.stages import STAGES, assign_items, automatic_policy

log = logging.getLogger(__name__)


@dataclass
class Result:
    message_id: str
    outcome: OutcomeKind
    reason: str
    already_done: bool = False

    @property
    def folder_kind(self) -> str:
        return "attention" if self.outcome == OutcomeKind.QUARANTINED else "processed"


class Pipeline:
    def __init__(self, settings: Settings, rules: Rules, store: Store, clock: Clock) -> None:
        self.settings = settings
        self.rules = rules
        self.store = store
        self.clock = clock
        bodies = BodyFiles(settings.data_dir)
        store.before_sync.append(bodies.sync)  # a committed outbox entry always finds its body
        move_bodies_to_files(store, bodies)
        self.outbox = Outbox(
            settings.address, rules.service.display_name, secret_of(settings.data_dir), bodies
        )
        self.policy = automatic_policy(rules, settings)
        self.raw = RawArchive(settings.data_dir)
        store.before_sync.append(self.raw.sync)  # a message made durable always finds its raw bytes
        self._directory = LiveDirectory(settings.directory_path)

    @property
    def directory(self) -> Directory:
        return self._directory.get()

    def sync(self) -> None:
        """Make every processed message durable: archives first, then the store's journal.

        The daemon calls this once per batch, before the batch leaves the inbox and before
        any mail it caused is sent; until then a crash simply means processing it again.
        """
        self.store.sync()  # the raw pack first: it is one of the store's before_sync hooks

    def process(self, raw: bytes, source_ref: str) -> Result:
        known = self.store.get(LEDGER, source_ref)
        if known is not None:
            return self._known(known["message_id"])
        digest = hashlib.sha256(raw).hexdigest()
        try:
            archived = self.raw.append(raw)
        except OSError as exc:
            raise StoreUnavailable(f"could not archive the message ({exc}); it stays in the inbox") from exc
        now = self.clock.now()
        try:
            reading = read_message(raw, self.rules.limits, own_copy=self._own_copy)
        except Exception as exc:  # parse_message promises not to raise; if it does, quarantine
            return self._quarantine(source_ref, digest, archived, None, now, exc)
        msg = reading.msg
        previous = self.store.get(MESSAGES, msg.message_id)
        if previous is not None:
            # The same message again (a re-scan after UIDVALIDITY changed, a second copy): one outcome.
            with self.store.transaction(durable=False) as txn:
                previous["refs"] = sorted({*previous.get("refs", []), source_ref})
                txn.put(MESSAGES, msg.message_id, previous)
                txn.put(LEDGER, source_ref, {"message_id": msg.message_id})
                if self._own_copy(msg):  # the copy of a retried mail: it still settles a send in doubt
                    confirm_copy(txn, msg.message_id, time.time())
            return self._known(msg.message_id)
        txn = Transaction(self.store)
        ctx = Context(
            self.settings, self.rules, self.store, self.outbox, self.clock, txn, now, msg, self.directory,
            on_confirmed=assign_items,
        )  # fmt: skip
        ctx.facts["sha256"] = digest  # the archived raw message, for records that keep it
        if reading.over_limit:
            ctx.facts["over_limit"] = reading.over_limit
            ctx.facts["limit"] = {"limit": reading.limit, "amount": reading.amount}
        ctx.lang = language_of(f"{msg.subject}\n{msg.text[:2000]}", self.rules.service.default_language)
        try:
            with deadline(self.rules.limits.message_seconds):
                self._stages(ctx)
            raise Applied(ctx.facts.get("reason", "handled"))
        except TooSlow as exc:  # what it wrote is dropped with its transaction; a person looks
            return self._quarantine(source_ref, digest, archived, msg, now, exc)
        except Outcome as outcome:
            try:
                return self._record(ctx, source_ref, digest, archived, outcome)
            except StoreUnavailable:
                raise  # nothing was written: the message stays in the inbox and is taken again
            except Exception as exc:  # e.g. a reply that cannot be rendered: the message waits in quarantine
                return self._quarantine(source_ref, digest, archived, msg, now, exc)
        except StoreUnavailable:
            raise
        except Exception as exc:
            return self._quarantine(source_ref, digest, archived, msg, now, exc)

    def _own_copy(self, head: InboundMessage) -> bool:
        """One of our sent mails coming back (copy-to-self): signed by us and in the outbox."""
        return self.outbox.is_ours(head.message_id, head.header(LOOP_HEADER)) and (
            self.store.get(BY_MESSAGE_ID, head.message_id) is not None
        )

    # -- stages --------------------------------------------------------------

    def _stages(self, ctx: Context) -> None:
        for stage in STAGES:
            stage(ctx)

    # -- recording -----------------------------------------------------------

    def _record(self, ctx: Context, ref: str, digest: str, archived: str, outcome: Outcome) -> Result:
        msg = ctx.msg
        if outcome.kind in (OutcomeKind.APPLIED, OutcomeKind.IGNORED):
            txn = ctx.txn
        else:
            txn = Transaction(self.store)  # drop what the stages wrote; keep record and reply
            ctx.replies = []
            ctx.txn = txn
        if outcome.reply is not None:
            queue_reply(ctx, outcome.reply)
        readers = [for_readers(ctx.directory, None, m) for m in ctx.replies]  # zh-TW readers: Traditional
        sent = [(m, text) for m in readers if (text := self.outbox.queue(txn, m, ctx.now)) is not None]
        queued = [m.key for m, _ in sent]
        self._note_exchange(ctx, txn, sent, repeatable=outcome.kind != OutcomeKind.REJECTED)
        txn.put(
            MESSAGES,
            msg.message_id,
            self._doc(msg, ref, digest, archived, ctx, outcome.kind, outcome.reason, queued),
        )
        txn.put(LEDGER, ref, {"message_id": msg.message_id})
        with self.store.transaction(durable=False) as commit:
            commit.pending.update(txn.pending)
        log.info("%s %s from %s: %s", outcome.kind, msg.message_id, msg.from_addr or "?", outcome.reason)
        return Result(msg.message_id, outcome.kind, outcome.reason)

    def _note_exchange(
        self,
        ctx: Context,
        txn: Transaction,
        sent: list[tuple[OutgoingMail, str]],
        repeatable: bool,
    ) -> None:
        """What this sender wrote and what we answered them, for stop_loops to count. A refused
        message is not remembered as a repeat: sending it again after fixing the cause is fine.
        The lines remembered are those sent, in the reader's script: an echo comes back in it."""
        sender = ctx.msg.from_addr
        if (
            not sender
            or ctx.classification is None
            or ctx.classification.kind in (Kind.BOUNCE, Kind.AUTOMATIC)
        ):
            return
        if repeatable:
            loops.note_received(txn, sender, ctx.msg.subject, visible_text(ctx), ctx.now)
        for mail, text in sent:
            if sender.lower() in {a.lower() for a in mail.to}:
                loops.note_answered(txn, sender, ctx.now, text)

    def _doc(
        self,
        msg: InboundMessage | None,
        ref: str,
        digest: str,
        archived: str,
        ctx: Context | None,
        outcome: OutcomeKind,
        reason: str,
        queued: list[str],
    ) -> dict[str, Any]:
        return {
            "message_id": msg.message_id if msg else f"sha256-{digest}@minutesd",
            "refs": [ref],
            "sha256": digest,
            "archive": archived,
            "from": msg.from_addr if msg else "",
            "subject": msg.subject if msg else "",
            "kind": ctx.classification.kind.value if ctx and ctx.classification else "",
            "outcome": outcome.value,
            "reason": reason,
            "received_at": (ctx.now if ctx else self.clock.now()).isoformat(),
            "replies": queued,
        }

    def _quarantine(
        self,
        ref: str,
        digest: str,
        archived: str,
        msg: InboundMessage | None,
        now: datetime,
        exc: BaseException,
    ) -> Result:
        message_id = msg.message_id if msg else f"sha256-{digest}@minutesd"
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        log.error("quarantined %s (%s): %s", message_id, ref, detail, exc_info=exc)
        doc = self._doc(msg, ref, digest, archived, None, OutcomeKind.QUARANTINED, detail, [])
        doc["received_at"] = now.isoformat()
        with self.store.transaction(durable=False) as txn:
            doc["replies"] = self._holding_answer(txn, msg, now)
            txn.put(MESSAGES, message_id, doc)
            txn.put(LEDGER, ref, {"message_id": message_id})
        return Result(message_id, OutcomeKind.QUARANTINED, detail)

    def retry(self, message_id: str) -> Result:
        """Run a quarantined message through the pipeline again; its new outcome replaces the old."""
        held = self.store.get(MESSAGES, message_id)
        if held is None or held["outcome"] != OutcomeKind.QUARANTINED:
            raise KeyError(f"{message_id} is not held in quarantine")
        raw = read_raw(self.settings.data_dir, held["archive"])
        refs = list(held.get("refs", [])) or [f"retry:{message_id}"]
        with self.store.transaction() as txn:
            txn.delete(MESSAGES, message_id)
            for ref in refs:
                txn.delete(LEDGER, ref)
        result = self.process(raw, refs[0])
        with self.store.transaction() as txn:
            for ref in refs[1:]:
                txn.put(LEDGER, ref, {"message_id": result.message_id})
            doc = txn.get(MESSAGES, result.message_id)
            if doc is not None:
                doc["refs"] = sorted({*doc.get("refs", []), *refs})
                doc["retried_from_quarantine"] = held["received_at"]
                txn.put(MESSAGES, result.message_id, doc)
        self.sync()
        return result

    def drop(self, message_id: str, reason: str) -> None:
        """End a quarantined message as ignored, with the operator's reason."""
        with self.store.transaction() as txn:
            held = txn.get(MESSAGES, message_id)
            if held is None or held["outcome"] != OutcomeKind.QUARANTINED:
                raise KeyError(f"{message_id} is not held in quarantine")
            held["outcome"] = OutcomeKind.IGNORED.value
            held["reason"] = f"dropped from quarantine: {reason}"
            held["quarantine_error"] = held.get("reason", "")
            txn.put(MESSAGES, message_id, held)

    def _holding_answer(self, txn: Transaction, msg: InboundMessage | None, now: datetime) -> list[str]:
        """One short "received, a person will look at it" to a person (never to automatic mail)."""
        if msg is None or not msg.from_addr or msg.from_addr.lower() == self.settings.address.lower():
            return []
        try:
            if classify(msg, self.policy).kind in (Kind.AUTOMATIC, Kind.BOUNCE):
                return []
            mail = OutgoingMail(
                key=f"{msg.message_id}:holding",
                to=[msg.from_addr],
                subject=f"回复: {msg.subject}" if msg.subject else "回复",
                template="holding",
                lang=language_of(f"{msg.subject}\n{msg.text[:2000]}", self.rules.service.default_language),
                context={"original_subject": msg.subject},
                in_reply_to=msg.message_id,
                references=list(msg.references),
            )
            return [mail.key] if self.outbox.enqueue(txn, mail, now) else []
        except Exception:  # the holding answer must never cost the message its outcome
            log.exception("no holding answer for %s", msg.message_id)
            return []

    def _known(self, message_id: str) -> Result:
        doc = self.store.get(MESSAGES, message_id) or {}
        return Result(message_id, OutcomeKind(doc.get("outcome", "applied")), doc.get("reason", ""), True)
