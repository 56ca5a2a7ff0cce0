"""What the person actually wrote in a reply: quotes, quoted headers and signatures removed.

The two libraries we measured on the labelled corpora (email-reply-parser 0.5.12 and
mail-parser-reply 1.36) kept or cut the wrong lines in half the cases, Chinese clients
included, so this is our own line classifier (`quote_lines`; bench/README.md has the figures).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice

from parsers.charsets import html_soup, html_to_text, iter_lines
from parsers.html_cost import MAX_PARSE_WORK, parse_work
from parsers.quote_lines import classify_lines

_FORWARD = re.compile(r"Forwarded message|转发邮件|Begin forwarded message", re.IGNORECASE)


_NAME_SIGN_OFF = re.compile(r"^\s*-{1,2}[^\s\-][^\s]*(?:\s[^\s]+){0,3}\s*$")


_HTML_QUOTE_SELECTORS = (
    "blockquote",
    "div.gmail_quote",
    "div.gmail_extra",
    "div.moz-cite-prefix",
    "div.yahoo_quoted",
    "div#divRplyFwdMsg",
    "div#appendonsend",
    "div.OutlookMessageHeader",
    "div#isForwardContent",
    "div#QQMailSignature",
    "div.ntes-mailmaster-quote",
    "div#isReplyContent",
)

# "On 3 May, Ann <a@b> wrote:", "在 2024-05-20 16:02,"minutes" <m@x> 写道:", "Ann <a@b> schrieb am Fr.:"


@dataclass(frozen=True)
class Reading:
    """The visible text of a reply. (What was taken away is not kept: nothing read it, and it
    was a copy of the quoted thread, often the larger part of a long reply.)"""

    text: str


def visible_text(text: str) -> str:
    """The reply without quotes, quoted mails, signatures and mobile footers."""
    return _trim(text, signatures=True).text


def strip_quotes(text: str) -> str:
    """Only the quoted material removed; signatures stay (what mailgun/talon calls a reply)."""
    return _trim(text, signatures=False).text


def visible_html(html: str) -> str:
    """An HTML-only reply: drop the quoting containers clients use, then read the text."""
    return visible_text(html_to_text(_without_html_quotes(html)))


def read_reply(text: str, html: str = "") -> Reading:
    if text.strip():
        return _trim(text, signatures=True)
    if html.strip():
        return _trim(html_to_text(_without_html_quotes(html)), signatures=True)
    return Reading("")


# -- classification ----------------------------------------------------------


# -- trimming ----------------------------------------------------------------


# A reply is read in its first lines: what people write to us is a few, the minutes they may
# send back in a reply a few hundred, a long quoted thread a few thousand. 75,000 lines of a
# mangled body took 4 s to read as a reply.
MAX_REPLY_LINES = 5000
# and in its first characters: 33 lines of 50,000 characters held 14x their size in the readers.
MAX_REPLY_CHARACTERS = 200_000


def _trim(text: str, signatures: bool) -> Reading:
    read_to = len(text)
    if read_to > MAX_REPLY_CHARACTERS:
        read_to = max(text.rfind("\n", 0, MAX_REPLY_CHARACTERS), 0) or MAX_REPLY_CHARACTERS
    # The lines are cut out of the text itself: a copy of the first characters beside them
    # was one more copy of a body that holds four bytes a character.
    lines = list(islice(iter_lines(text, read_to), MAX_REPLY_LINES + 1))
    if len(lines) > MAX_REPLY_LINES:
        del lines[MAX_REPLY_LINES:]
        text = "\n".join(lines)
        read_to = len(text)
    kinds = classify_lines(lines)
    keep = [True] * len(kinds)

    def drop(start: int, end: int | None = None) -> None:
        for position in range(start, len(kinds) if end is None else end):
            keep[position] = False

    if "t" not in kinds:
        # Nothing but quotes: it is all the person sent, so show it rather than nothing.
        return Reading(_tidy(lines, [k not in ("b", "x") for k in kinds]) or text[:read_to].strip())

    # Where the person's own text starts and ends, so no line asks the whole list again.
    first_text, last_text = kinds.index("t"), len(kinds) - 1 - kinds[::-1].index("t")
    index = 0
    while index < len(kinds):
        kind = kinds[index]
        wrote_before = first_text < index
        if kind == "b":
            forward = bool(_FORWARD.search(lines[index]))
            if forward and wrote_before and not signatures:
                break  # talon's reading: a forwarded mail under a note is what the person sent
            end = _quote_block_end(kinds, index)
            if end is None and not wrote_before:
                # A header on top of unquoted text (a bottom-posted answer, a bare forward):
                # the header goes, the text under it is the reply.
                end = _run_end(kinds, index, ("b", "x", "e"))
            drop(index, end)
            _drop_separator_above(kinds, index, drop)
            if end is None:
                break
            index = end
            continue
        if kind == "q" and not wrote_before and last_text >= _run_end(kinds, index, ("q", "e")):
            index = _run_end(kinds, index, ("q", "e"))
            continue  # a bare quote the person answers below it: part of what they wrote
        if kind in ("q", "x"):
            drop(index, index + 1)
        elif signatures and wrote_before and _signs_off(lines, kinds, index):
            drop(index)
            break
        elif signatures and kind == "s":
            drop(index, index + 1)
        index += 1

    if all(keep) and text.find("\r", 0, read_to) < 0:
        # Nothing taken away, and the lines joined again would be the text itself: the text is
        # the reading, not a copy of it (a long body with nothing quoted was held twice).
        return Reading(text[:read_to].strip())
    return Reading(_tidy(lines, keep))


def _signs_off(lines: list[str], kinds: list[str], index: int) -> bool:
    """A delimiter, or "-Name" on its own as the last line of text."""
    if kinds[index] == "d":
        return True
    if kinds[index] != "t" or not _NAME_SIGN_OFF.match(lines[index]):
        return False
    if index > 0 and kinds[index - 1] != "e":
        return False
    following = next((kinds[i] for i in range(index + 1, len(kinds)) if kinds[i] != "e"), None)
    return following != "t"


def _run_end(kinds: list[str], index: int, members: tuple[str, ...]) -> int:
    while index < len(kinds) and kinds[index] in members:
        index += 1
    return index


def _quote_block_end(kinds: list[str], start: int) -> int | None:
    """Where the reader's own text resumes after a quote header, or None if it never does.

    After "On … wrote:" a block of > lines is the quote, and text after it is an inline
    answer. Unquoted text right after a header (Outlook's way) is the quoted mail itself.
    """
    position = start
    while position < len(kinds) and kinds[position] in ("b", "x"):
        position += 1
    while position < len(kinds) and kinds[position] == "e":
        position += 1
    if position >= len(kinds) or kinds[position] != "q":
        return None
    while position < len(kinds) and kinds[position] in ("q", "e"):
        position += 1
    if position >= len(kinds) or "t" not in kinds[position:]:
        return None
    return position


def _drop_separator_above(kinds: list[str], index: int, drop: Callable[[int, int], None]) -> None:
    probe = index - 1
    while probe >= 0 and kinds[probe] == "e":
        probe -= 1
    if probe >= 0 and kinds[probe] == "d":
        drop(probe, probe + 1)


def _tidy(lines: list[str], keep: list[bool]) -> str:
    return "\n".join(line for line, flag in zip(lines, keep, strict=True) if flag).strip()


# -- HTML ---------------------------------------------------------------------


# Outlook puts the quoted mail after one of these: the marker and all that follows it go.
_HTML_REPLY_MARKERS = ("div#divRplyFwdMsg", "div#appendonsend", "hr#stopSpelling", "div.OutlookMessageHeader")
_BORDER_TOP = "border-top"  # Outlook's header block of the quoted mail: a div with a top border

# Every name the containers above are found by (the selector's class, id or tag), in lower case:
# HTML with none of them anywhere has nothing to drop, and is not made into a tree (about 250
# bytes a tag). Derived from the selectors, so a container added there is looked for here too.
_HTML_QUOTE_SIGNS = (
    *sorted(
        {re.split(r"[.#]", selector)[-1].lower() for selector in _HTML_REPLY_MARKERS + _HTML_QUOTE_SELECTORS}
    ),
    _BORDER_TOP,
)


def _may_quote(html: str) -> bool:
    lowered = html.lower()
    return any(sign in lowered for sign in _HTML_QUOTE_SIGNS)


def _without_html_quotes(html: str) -> str:
    from bs4 import Tag

    if parse_work(html) > MAX_PARSE_WORK:
        return html  # too costly to parse: read by its tags, quotes and all, and trimmed as text
    if not _may_quote(html):
        return html
    soup = html_soup(html)  # no deeper than MAX_HTML_DEPTH: removing nested quotes stays linear
    for marker in soup.select(", ".join(_HTML_REPLY_MARKERS)):
        for sibling in list(marker.find_all_next()):
            if isinstance(sibling, Tag):
                sibling.decompose()
        marker.decompose()
    for selector in _HTML_QUOTE_SELECTORS:
        for node in soup.select(selector):
            node.decompose()
    for node in soup.find_all("div"):
        style = str(node.get("style", "")).replace(" ", "").lower()
        if f"{_BORDER_TOP}:solid" in style and re.search(r"(From|发件人|寄件者)\s*[:：]", node.get_text()):
            for sibling in list(node.find_all_next()):
                if isinstance(sibling, Tag):
                    sibling.decompose()
            node.decompose()
            break
    return str(soup)
