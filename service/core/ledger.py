"""The tables that say what became of every inbound message, and their counts.

Apart from the pipeline so that `minutesd status` reads them without loading the handlers.
"""

from __future__ import annotations

from service.core.outcomes import OutcomeKind
from service.core.store import Store, define_index

MESSAGES = "messages"  # Message-ID → its one outcome, where its raw copy is, what we answered
LEDGER = "ledger"  # a mailbox reference (imap:UIDVALIDITY:UID, maildir:NAME) → Message-ID
ARCHIVED_TOTALS = "archived_totals"  # table → {"counts": {outcome or state: number archived}}

define_index(MESSAGES, "outcome", lambda d: [d.get("outcome")])


def outcome_counts(store: Store) -> dict[str, int]:
    """Messages by outcome, live and archived."""
    return with_archived(store, MESSAGES, "outcome", {kind.value: 0 for kind in OutcomeKind})


def with_archived(
    store: Store, table: str, index: str, counts: dict[str, int] | None = None
) -> dict[str, int]:
    """How many documents of a table an index files under each value: the live ones (counted by
    the index, unread) and those archived (ARCHIVED_TOTALS, kept by archiving)."""
    counts = dict(counts or {})
    archived = (store.get(ARCHIVED_TOTALS, table) or {}).get("counts", {})
    for value, n in [*store.tally(table, index).items(), *archived.items()]:
        counts[str(value)] = counts.get(str(value), 0) + int(n)
    return counts
