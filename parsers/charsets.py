"""Bytes and header words to text, tolerant of how Chinese mail labels its charsets.

GB2312 labels on GBK or GB18030 text, Big5 labels on Big5-HKSCS, UTF-8 labelled as
anything: each label is decoded with the superset of what it names. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import email.header
import re

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


def decode_bytes(data: bytes, label: str | None) -> str:
    """Decode text whose declared charset may be wrong, absent or unknown."""
    candidates: list[str] = []
    if label:
        name = label.strip().strip('"').lower()
        candidates.append(_CHARSET_SUPERSETS.get(name, name))
    candidates += ["utf-8", "gb18030"]
    for charset in candidates:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    first = candidates[0]
    try:
        return data.decode(first, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def decode_header_value(value: object) -> str:
    """Decode RFC 2047 words tolerantly: bad charsets, bad base64, raw 8-bit."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        value = str(value)
    text = str(value)
    if "=?" not in text:
        return _undo_surrogates(text)
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


def _undo_surrogates(text: str) -> str:
    """Headers with raw 8-bit bytes come back from the email package as surrogates."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return decode_bytes(text.encode("utf-8", errors="surrogateescape"), None)


def html_to_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "lxml")
    for tag in soup(["script", "style", "head"]):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    blocks = ("p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table")
    for block in soup.find_all(blocks):
        block.insert_after("\n")
    for cell in soup.find_all(["td", "th"]):
        cell.insert_after("\t")
    text = soup.get_text()
    lines = [line.rstrip().replace("\xa0", " ") for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
