"""Bytes and header words to text, tolerant of how Chinese mail labels its charsets.

GB2312 labels on GBK or GB18030 text, Big5 labels on Big5-HKSCS, UTF-8 labelled as
anything: each label is decoded with the superset of what it names. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email.header
import re
from typing import TYPE_CHECKING

from parsers.html_cost import MAX_PARSE_WORK, parse_work, text_by_tags

if TYPE_CHECKING:
    from collections.abc import Iterator

    from bs4 import BeautifulSoup

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")

# Decode with the superset of what the label names.
_CHARSET_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "gb_2312-80": "gb18030",
    "chinese": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "cp950": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "iso-8859-1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "unknown-8bit": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "x-unknown": "utf-8",
}
# Codecs Python knows that are no charset of mail: their decoders raise UnicodeError whatever the
# error handler, and punycode's is quadratic in the length of the text.
_NOT_MAIL_CHARSETS = frozenset({"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape"})


def _codec(label: object) -> str | None:
    if isinstance(label, tuple):  # an RFC 2231 parameter: (charset, language, value)
        label = label[2] if len(label) == 3 else ""
    if not isinstance(label, str):
        return None
    name = label.strip().strip('"').lower()
    name = _CHARSET_SUPERSETS.get(name, name)
    try:
        known = codecs.lookup(name).name
    except (LookupError, ValueError, TypeError):  # unknown, or a label holding a NUL
        return None
    return None if known in _NOT_MAIL_CHARSETS else name


def decode_bytes(data: bytes, label: str | None) -> str:
    """Decode text whose declared charset may be wrong, absent or unknown."""
    candidates: list[str] = []
    declared = _codec(label) if label else None
    if declared:
        candidates.append(declared)
    candidates += ["utf-8", "gb18030"]
    for charset in candidates:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeError):
            continue
    try:
        return data.decode(candidates[0], errors="replace")
    except (LookupError, UnicodeError):
        return data.decode("utf-8", errors="replace")


def header_text(value: object) -> str:
    """A header as written, its raw 8-bit bytes read as text, its encoded words left encoded.

    The email package wraps a header of raw 8-bit bytes (UTF-8 from SMTPUTF8 clients, GB18030
    from older ones) in a Header whose str() is U+FFFD for every byte: its bytes are taken back."""
    if isinstance(value, email.header.Header):
        return "".join(
            decode_bytes(data, None if str(charset) in ("unknown-8bit", "us-ascii", "None") else str(charset))
            if isinstance(data, bytes)
            else data
            for data, charset in email.header.decode_header(value)
        )
    return _undo_surrogates(str(value))


def decode_header_value(value: object) -> str:
    """Decode RFC 2047 words tolerantly: bad charsets, bad base64, raw 8-bit."""
    if value is None:
        return ""
    text = header_text(value)
    if "=?" not in text:
        return text
    # Adjacent encoded words are joined without the white space between them.
    text = re.sub(r"\?=\s+=\?", "?==?", text)
    return _ENCODED_WORD.sub(_decode_word, text)


def _decode_word(match: re.Match[str]) -> str:
    charset, kind, payload = match.group(1), match.group(2).lower(), match.group(3)
    charset = charset.split("*", 1)[0]  # RFC 2231 language suffix
    try:
        data = base64.b64decode(payload + "=" * (-len(payload) % 4)) if kind == "b" else _q_decode(payload)
    except (binascii.Error, ValueError):
        return match.group(0)
    return decode_bytes(data, charset)


def _q_decode(payload: str) -> bytes:
    out = bytearray()
    i = 0
    raw = payload.replace("_", " ")
    while i < len(raw):
        if raw[i] == "=" and i + 2 < len(raw) + 1 and re.fullmatch(r"[0-9A-Fa-f]{2}", raw[i + 1 : i + 3]):
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
        else:
            out += raw[i].encode("utf-8", errors="replace")
            i += 1
    return bytes(out)


_SURROGATE = re.compile("[\udc80-\udcff]")


def _undo_surrogates(text: str) -> str:
    """Headers with raw 8-bit bytes come back from the email package as surrogates."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return decode_bytes(text.encode("utf-8", errors="surrogateescape"), None)


# Elements nested deeper than this are read as the text they hold: real mail nests a few dozen
# deep, and every walk of the tree below stays linear in its size (50,000 nested <div> took minutes).
MAX_HTML_DEPTH = 100


def html_soup(html: str) -> BeautifulSoup:
    """The HTML parsed by lxml, no deeper than MAX_HTML_DEPTH."""
    import warnings

    from bs4 import BeautifulSoup, Tag, XMLParsedAsHTMLWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)  # Outlook's XHTML is read as HTML on purpose
        soup = BeautifulSoup(html, "lxml")
    todo: list[tuple[Tag, int]] = [(soup, 0)]
    while todo:
        node, depth = todo.pop()
        for child in node.contents:
            if not isinstance(child, Tag):
                continue
            if depth + 1 < MAX_HTML_DEPTH:
                todo.append((child, depth + 1))
            elif any(isinstance(grandchild, Tag) for grandchild in child.contents):
                text = child.get_text()
                child.clear(decompose=True)
                child.append(text)
    return soup


_TEXT_BLOCKS = frozenset(("p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table"))
_TEXT_CELLS = frozenset(("td", "th"))
_NO_TEXT = frozenset(("script", "style", "head"))
_KEEP_SPACE = frozenset(("pre", "textarea"))
_ASCII_SPACE = " \n\t\x0c\r"
_PIECES_JOINED = 4096
_LINES_AT_ONCE = 65536  # characters of text whose lines are tidied at once


class _TextOfHtml:
    """lxml's parser events turned into text as they come, with no tree: a tree costs 30-55
    times the HTML it holds (182 MB for a 3.3 MB body). Text is what BeautifulSoup's get_text()
    gives, white space between tags included: a run of ASCII space alone becomes one space, or
    one line break if it held one (outside <pre>), a line ends after each block, a tab after
    each cell, and <script>, <style> and <head> say nothing."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.pending: list[str] = []
        self.hidden = 0
        self.kept = 0

    def _flush(self) -> None:
        if not self.pending:
            return
        text, self.pending = "".join(self.pending), []
        if self.hidden:
            return
        if not self.kept and not text.strip(_ASCII_SPACE):
            text = "\n" if "\n" in text else " "
        self._add(text)

    def _add(self, piece: str) -> None:
        self.pieces.append(piece)
        if len(self.pieces) >= _PIECES_JOINED:
            # a string object per piece costs 50-80 bytes over its text: joined as they come,
            # a body of short lines stays near its size
            self.pieces = ["".join(self.pieces)]

    def start(self, tag: object, attrib: object) -> None:
        self._flush()
        if tag in _NO_TEXT:
            self.hidden += 1
        elif tag in _KEEP_SPACE:
            self.kept += 1
        elif tag == "br" and not self.hidden:
            self._add("\n")

    def end(self, tag: object) -> None:
        self._flush()
        if tag in _NO_TEXT:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _KEEP_SPACE:
            self.kept = max(0, self.kept - 1)
        if self.hidden:
            return
        if tag in _TEXT_BLOCKS:
            self._add("\n")
        elif tag in _TEXT_CELLS:
            self._add("\t")

    def data(self, data: str) -> None:
        self.pending.append(data)

    def comment(self, text: str) -> None:
        self._flush()  # a comment ends the text before it, and says nothing

    def close(self) -> str:
        self._flush()
        return "".join(self.pieces)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


# A body longer than this is read up to its first line of binary data (below).
BINARY_CHECK_CHARACTERS = 65536
_NOT_TEXT = re.compile("[\ufffd\x00-\x08\x0b\x0e-\x1f\x7f]")
_SAMPLE = 4096  # a line is judged by its first characters: one may run for megabytes


def until_binary(text: str) -> tuple[str, int]:
    """A long body up to its first line of binary data, and how many characters were left.

    Bytes that no charset made text (U+FFFD, control characters) in one line of five or more
    are a file, not words: an attachment a broken boundary spilled into the body, or one sent as
    text. Read as text it is garbage of four bytes a character that every reader copies; what
    a person wrote stands before it."""
    if len(text) <= BINARY_CHECK_CHARACTERS:
        return text, 0
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        sample = min(end, start + _SAMPLE)
        if sample - start >= 40:
            bad = len(_NOT_TEXT.findall(text, start, sample))
            if bad * 5 >= sample - start:
                return text[:start].rstrip(), len(text) - start
        start = end
    return text, 0


def split_lines(text: str) -> list[str]:
    """The text's lines, ended by \r\n, \r or \n (not by the other breaks str.splitlines
    knows), in one pass: replacing the line ends first held two more copies of the text."""
    return _LINE_BREAK.split(text)


def iter_lines(text: str, end: int | None = None) -> Iterator[str]:
    """The lines of split_lines(text[:end]), one at a time, without that copy or the list."""
    end = len(text) if end is None else end
    start = 0
    for line_break in _LINE_BREAK.finditer(text, 0, end):
        yield text[start : line_break.start()]
        start = line_break.end()
    yield text[start:end]


def html_to_text(html: str) -> str:
    """The text of the HTML, a line for each block and a tab after each cell, read as lxml
    parses it (no tree, no depth limit), or by its tags if that parse would cost too much."""
    from lxml import etree

    def read(markup: str) -> str:
        parser = etree.HTMLParser(target=_TextOfHtml(), recover=True, no_network=True, huge_tree=True)
        parser.feed(markup)
        return str(parser.close())

    if parse_work(html) > MAX_PARSE_WORK:
        text = text_by_tags(html)
    else:
        try:
            text = read(html)
        except UnicodeEncodeError:  # lone surrogates from bytes the charset could not decode
            text = read(html.encode("utf-8", errors="replace").decode("utf-8"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(_tidy_lines(text))).strip()


def _tidy_lines(text: str) -> Iterator[str]:
    """Each line without its trailing space and with no-break spaces as spaces, the text's lines
    taken a block at a time so that no list holds a string per line of all of it. A block ends
    just after a "\n", so no line break (not even "\r\n") is cut in two."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + _LINES_AT_ONCE) + 1 or len(text)
        yield "\n".join(line.rstrip().replace("\xa0", " ") for line in text[start:end].splitlines())
        start = end
