"""Which record a reply answers.

Matching goes from the strongest evidence to the weakest: the plus-address key of the
reply address (bound to one attendee), our Message-IDs in In-Reply-To / References, and
last the record number in the subject, which alone never lets in a sender who is not on
the record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from parsers.classify import RECORD_TOKEN
from parsers.reply_text import visible_text
from service.context import Context
from service.core.store import Doc
from service.minutes import records

ITEM_ID = re.compile(r"(?<![\w-])(\d{4}-[A-Z]{2,6}-\d{3,})\s*[#＃]\s*\d{1,3}")


@dataclass(frozen=True)
class Match:
    record: Doc | None
    how: str  # reply key, thread, record number in the subject, unknown-token, none
    version: int | None = None
    key_owner: str = ""

    @property
    def stale(self) -> bool:
        """Answers an earlier version than the record's current one."""
        return self.record is not None and self.version is not None and self.version < self.record["version"]


def match_record(ctx: Context) -> Match:
    local, _, domain = ctx.settings.address.lower().partition("@")
    for address in [*ctx.msg.to, *ctx.msg.cc]:
        mailbox, _, host = address.lower().partition("@")
        if host == domain and mailbox.startswith(f"{local}+"):
            bound = ctx.store.get(records.REPLY_KEYS, mailbox.partition("+")[2])
            if bound is not None:
                record = ctx.store.get(records.RECORDS, bound["record"])
                return Match(record, "reply key", None, bound["address"])
    for message_id in reversed(ctx.msg.thread_ids):
        thread = ctx.store.get(records.THREADS, message_id)
        if thread is not None:
            return Match(ctx.store.get(records.RECORDS, thread["record"]), "thread", thread["version"])
    token = RECORD_TOKEN.search(ctx.msg.subject)
    if token:
        record = ctx.store.get(records.RECORDS, token.group(1))
        if record is not None:
            return Match(record, "record number in the subject")
        return Match(None, "unknown-token")
    for number in ITEM_ID.findall(visible_text(ctx.msg.text)[:4000]):
        # "2024-OPS-001#7 完成" answering the weekly table, which names many records.
        record = ctx.store.get(records.RECORDS, number)
        if record is not None:
            return Match(record, "item id in the text")
    ours = f"@{ctx.outbox.domain}"
    if any(i.startswith("minutesd.") and i.endswith(ours) for i in ctx.msg.thread_ids):
        return Match(None, "our-mail")  # a weekly table, digest or reminder: no one record
    return Match(None, "none")
