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
    """Messages by outcome: the live ones, and those archived (ARCHIVED_TOTALS, kept by archiving)."""
    counts = {kind.value: 0 for kind in OutcomeKind}
    archived = (store.get(ARCHIVED_TOTALS, MESSAGES) or {}).get("counts", {})
    for outcome, n in [*store.tally(MESSAGES, "outcome").items(), *archived.items()]:
        counts[str(outcome)] = counts.get(str(outcome), 0) + int(n)
    return counts
