"""Secondary indexes of the hot store: declared by the workflow, kept current by the store."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any

Doc = dict[str, Any]
IndexValues = Callable[[Doc], Iterable[Hashable]]

_DEFINED: dict[str, dict[str, IndexValues]] = {}


def define_index(table: str, name: str, values: IndexValues) -> None:
    """File every document of `table` under the values `values(doc)` gives, for query()."""
    _DEFINED.setdefault(table, {})[name] = values


def defined_index(table: str, name: str) -> IndexValues:
    values = _DEFINED.get(table, {}).get(name)
    if values is None:
        raise KeyError(f"no index {name!r} is defined on {table!r}")
    return values


class Index:
    """value → keys, and key → values, of one index over one table."""

    def __init__(self, values: IndexValues) -> None:
        self.values = values
        self.keys_of: dict[Hashable, set[str]] = {}
        self.values_of: dict[str, tuple[Hashable, ...]] = {}

    def file(self, key: str, doc: Doc | None) -> None:
        for value in self.values_of.pop(key, ()):
            keys = self.keys_of.get(value)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.keys_of[value]
        if doc is None:
            return
        values = tuple(dict.fromkeys(v for v in self.values(doc) if v is not None))
        if values:
            self.values_of[key] = values
            for value in values:
                self.keys_of.setdefault(value, set()).add(key)
