"""What the store raises; each message says why and what to do."""

from __future__ import annotations


class StoreError(Exception):
    """The store cannot be used; the message says why and what to do."""


class StoreCorrupt(StoreError):
    pass


class StoreUnavailable(StoreError):
    """A write failed for a reason that passes (no space left): nothing was written; try again."""


class StoreLocked(StoreError):
    pass
