"""The parser's words, from the `parsing:` section of mailbox_rules.yaml.

Every label is compared in one normal form: Traditional converted to Simplified
(OpenCC), full-width forms folded, case folded, spaces, colons, bullets and
section numbers removed. A company adds its own words in the rules file.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from opencc import OpenCC

SEVERITIES = ("error", "warning", "off")


@dataclass(frozen=True)
class _Converter:
    opencc: OpenCC
    triggers: frozenset[str] | None  # None: convert every text
    runs: re.Pattern[str] | None  # runs of characters that some dictionary entry holds


@lru_cache(maxsize=1)
def _t2s() -> _Converter:
    """The converter, the characters without which it changes nothing, and the runs of text
    it can change at all.

    The pure-Python converter builds a tree for every piece it is given (0.3 ms a line: a
    300 KB attachment read as text took 3 s). Output differs from input only where a
    character maps to another one, or where a phrase maps to something else; a phrase made
    only of characters that stay as they are brings its own characters in. A text with none
    of these characters is returned as it is, which is what the converter would return.

    No match can hold a character that no dictionary entry holds, and the converter reads
    each piece between such characters on its own (it already splits at white space and
    punctuation): only the pieces with a trigger in them are given to it. A 50,000-character
    line of base64 with one CJK character in it took 130 ms; now the character alone is read."""
    converter = OpenCC("t2s")
    converter.convert("")  # loads the dictionaries
    tables = [table for _, _, table in getattr(converter, "dict_cache", {}).values()]
    single = {key: value for table in tables for key, value in table.items() if len(key) == 1}
    triggers = {key for key, value in single.items() if value != key}
    for table in tables:
        for key, value in table.items():
            if len(key) > 1 and value != key and triggers.isdisjoint(key):
                triggers.update(key)
    if not triggers:  # another version keeps its dictionaries elsewhere: convert every line
        return _Converter(converter, None, None)
    held = sorted({character for table in tables for key in table for character in key})
    runs = re.compile("[" + "".join(re.escape(character) for character in held) + "]+")
    return _Converter(converter, frozenset(triggers), runs)


# Labels, names, cells and dates come back in draft after draft: they are cached. The lines of
# replies and drafts seldom do, and caching every text read held up to 65,536 lines of any
# length for the life of the daemon (one 300 KB message left 2.7 MB behind); they are read
# with simplified_text, and the cache keeps short texts only (at most about 8 MB).
CACHED_CHARACTERS = 100
CACHED_TEXTS = 8192


def simplified(text: str) -> str:
    """Traditional → Simplified, and full-width ASCII → ASCII (NFKC keeps CJK as it is)."""
    if text.isascii():
        return text
    if len(text) <= CACHED_CHARACTERS:
        return _simplified_short(text)
    return _simplified(text)


def simplified_text(text: str) -> str:
    """simplified, for free text read once: the lines of a reply or a draft."""
    return text if text.isascii() else _simplified(text)


@lru_cache(maxsize=CACHED_TEXTS)
def _simplified_short(text: str) -> str:
    return _simplified(text)


def _simplified(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text)
    converter = _t2s()
    triggers = converter.triggers
    if triggers is None or converter.runs is None:
        return str(converter.opencc.convert(folded))
    if triggers.isdisjoint(folded):
        return folded

    def convert(run: re.Match[str]) -> str:
        piece = run.group()
        return piece if triggers.isdisjoint(piece) else str(converter.opencc.convert(piece))

    return converter.runs.sub(convert, folded)


_NUMBERING = re.compile(
    r"^\s*(?:#+\s*|[-*•·●▪]\s*|[((]?[一二三四五六七八九十]+[))、.]\s*|[((]\d+[))]\s*|\d+(?:\.\d+)*[、.)]\s*(?!\d))"
)
_LABEL_NOISE = re.compile(r"[\s::*_`【】\[\]]+")


def strip_numbering(text: str) -> str:
    previous = None
    while previous != text:
        previous = text
        text = _NUMBERING.sub("", text, count=1)
    return text.strip()


def label_key(text: str) -> str:
    """The normal form in which labels are compared."""
    return _LABEL_NOISE.sub("", strip_numbering(simplified(text))).casefold()


# No label, heading, column name, status or priority is longer; a longer line is none of them
# and is not normalised to find out (a 1.6 MB line took 0.4 s of label_key, again and again).
MAX_LABEL_CHARACTERS = 200


def _look_up(index: dict[str, str], text: str) -> str | None:
    return None if len(text) > MAX_LABEL_CHARACTERS else index.get(label_key(text))


class VocabularyError(ValueError):
    pass


@dataclass(frozen=True)
class Vocabulary:
    fields: dict[str, str]  # label key → field name
    sections: dict[str, str]
    columns: dict[str, str]
    statuses: dict[str, str]
    priorities: dict[str, str]
    vague_deadlines: tuple[str, ...]
    titles: tuple[str, ...]
    none_words: frozenset[str]
    lead_markers: tuple[str, ...]
    support_markers: tuple[str, ...]
    validation: dict[str, str] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=dict)

    def field_of(self, label: str) -> str | None:
        return _look_up(self.fields, label)

    def section_of(self, label: str) -> str | None:
        return _look_up(self.sections, label)

    def column_of(self, label: str) -> str | None:
        return _look_up(self.columns, label)

    def status_of(self, text: str) -> str | None:
        return _look_up(self.statuses, text)

    def priority_of(self, text: str) -> str | None:
        return _look_up(self.priorities, text)

    def is_none(self, text: str) -> bool:
        return label_key(text) in self.none_words or not label_key(text)

    def severity(self, rule: str) -> str:
        return self.validation.get(rule, "error")


def _index(groups: dict[str, list[str]], what: str) -> dict[str, str]:
    index: dict[str, str] = {}
    for name, words in (groups or {}).items():
        if not isinstance(words, list):
            raise VocabularyError(f"parsing.{what}.{name} must be a list of words")
        for word in words:
            index.setdefault(label_key(str(word)), name)
    return index


def load_vocabulary(parsing: dict[str, Any]) -> Vocabulary:
    validation = {str(k): str(v) for k, v in (parsing.get("validation") or {}).items()}
    for rule, severity in validation.items():
        if severity not in SEVERITIES:
            raise VocabularyError(f"parsing.validation.{rule} must be one of {', '.join(SEVERITIES)}")
    return Vocabulary(
        fields=_index(parsing.get("fields", {}), "fields"),
        sections=_index(parsing.get("sections", {}), "sections"),
        columns=_index(parsing.get("columns", {}), "columns"),
        statuses=_index(parsing.get("statuses", {}), "statuses"),
        priorities=_index(parsing.get("priorities", {}), "priorities"),
        vague_deadlines=tuple(str(w).casefold() for w in parsing.get("vague_deadlines", [])),
        titles=tuple(sorted((simplified(str(t)) for t in parsing.get("titles", [])), key=len, reverse=True)),
        none_words=frozenset(label_key(str(w)) for w in parsing.get("none_words", [])),
        lead_markers=tuple(str(w) for w in parsing.get("lead_markers", [])),
        support_markers=tuple(str(w) for w in parsing.get("support_markers", [])),
        validation=validation,
        limits={str(k): int(v) for k, v in (parsing.get("limits") or {}).items()},
    )
