"""bench/fuzz: mutated messages through the parsers and through the pipeline (issue 15).

    python -m bench.fuzz                          # 100,000 through the parsers, 2,000 end to end
    python -m bench.fuzz --messages 5000 --e2e 200 --seed 3

Deterministic by seed: the same seed makes the same messages (timings of course differ).

Seeds are the real messages of ../shared/samples (the replies, and each sample draft sent as
a message: text, HTML, .docx attached) and ../shared/corpora (every file that is a message:
quoted replies, odd charsets, malformed MIME, bounces, auto-replies). Those folders are only
read. Each fuzzed message is a seed (or two spliced) with one to four mutations that matter
for mail: see MUTATIONS.

1. Parsers: each message goes through the pure chain the service runs on a message:
   parse_message, classify, the Authentication-Results verdict, read_reply (the visible
   text), before_our_mail, read_intent, read_commands, visible_text of the text part (record
   matching), and the draft path (own_part, document_from_message, parse_draft, the revision
   diff against a sample draft). Any exception is a finding, except UnsupportedDraft (the
   draft reader's documented refusal); so is a parse that parse_message's last guard turned
   into a bare message (an exception it swallowed). Time is taken for every message; memory
   (tracemalloc peak of the whole chain) for every 100th, for the slowest, and for any
   message during which the process's peak RSS grew by more than 8 MiB. A chain over 1 s,
   or over 10x the message's size in memory beyond a fixed 1 MiB allowance (what even an
   empty message costs: mail-parser, BeautifulSoup and the draft reader's objects), is a
   finding.

2. End to end: the demo's meeting is played into a fresh data directory (a live record,
   assigned items, reply keys), then mutated messages (the demo's own replies and sent mail
   among the seeds, a third of the rest sent in the name of a directory person) go through
   `Daemon.run_once` on the embedded Maildir transport in batches of 200, a day apart (so
   the scheduler and the daily archiving run between them). Checked: every message file has
   exactly one outcome (ledger → messages), none is left in the inbox, none quarantined,
   and every outgoing mail (the sent Maildir, and any mail still in the outbox) has an
   intact header block: CRLF lines only, no bare CR/LF or NUL or 8-bit byte, every line a
   header field or its continuation, no header outside those the outbox writes, From, To,
   Subject, Date, Message-ID, Auto-Submitted and X-Minutesd-Loop each exactly once, and no
   decoded header value holding a control character.

Findings are written to bench/fuzz-findings/ (one reproducer .eml per distinct finding and a
findings.json); the summary table is printed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import email
import email.errors
import email.policy
import hashlib
import heapq
import json
import logging
import random
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SAMPLES = SHARED / "samples"
CORPORA = SHARED / "corpora"
FINDINGS = REPO / "bench" / "fuzz-findings"

SLOW_SECONDS = 1.0
MEMORY_RATIO = 10.0
MEMORY_ALLOWANCE = 1024 * 1024  # bytes every parse may use whatever its size (see the docstring)
MAX_MESSAGE = 8 * 1024 * 1024  # the mutations stay under this; bigger ones are cut
HANG_SECONDS = 30  # a chain still running after this is stopped and reported


# -- seeds -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    name: str
    raw: bytes


_HEADER_START = re.compile(rb"^(?:From |[\x21-\x39\x3b-\x7e]{1,76}:)")


def _is_message(data: bytes) -> bool:
    return bool(_HEADER_START.match(data.lstrip(b"\r\n")[:200]))


def _draft_message(path: Path) -> bytes:
    msg = EmailMessage()
    msg["From"] = "钱芳 <qian.fang@example.test>"
    msg["To"] = "minutes@example.test"
    msg["Subject"] = f"会议纪要 {path.stem}"
    msg["Date"] = "Mon, 20 May 2024 16:00:00 +0800"
    msg["Message-ID"] = f"<{path.stem}@samples.example.test>"
    data = path.read_bytes()
    if path.suffix == ".docx":
        msg.set_content("纪要见附件。")
        msg.add_attachment(
            data,
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
            filename=path.name,
        )
    elif path.suffix == ".html":
        msg.set_content(data.decode("utf-8"), subtype="html")
    else:
        msg.set_content(data.decode("utf-8"))
    return bytes(msg)


def load_seeds() -> list[Seed]:
    seeds = [
        Seed(f"samples/{p.relative_to(SAMPLES)}", p.read_bytes()) for p in sorted(SAMPLES.rglob("*.eml"))
    ]
    for path in sorted(SAMPLES.glob("draft-*")):
        seeds.append(Seed(f"samples/{path.name} (as a message)", _draft_message(path)))
    skip = {"README.txt", "README.md", "LICENSE", "expected.tsv"}
    for path in sorted(CORPORA.rglob("*")):
        if (
            not path.is_file()
            or path.name in skip
            or "expected" in path.name
            or path.suffix in (".py", ".tsv")
        ):
            continue
        data = path.read_bytes()
        if _is_message(data):
            seeds.append(Seed(f"corpora/{path.relative_to(CORPORA)}", data))
    if not seeds:
        sys.exit(f"no seed messages under {SAMPLES} or {CORPORA}")
    return seeds


# -- mutations -------------------------------------------------------------------------

_BLANK = re.compile(rb"\r?\n\r?\n")


def _split(raw: bytes) -> tuple[list[bytes], bytes, bytes, bytes]:
    """Header fields (each with its continuation lines, without the line end), the line end,
    the blank line that ends the header block, and the body."""
    match = _BLANK.search(raw)
    head, sep, body = (raw[: match.start()], match.group(), raw[match.end() :]) if match else (raw, b"", b"")
    nl = b"\r\n" if b"\r\n" in head[:2000] else b"\n"
    fields: list[bytes] = []
    for line in re.split(rb"\r?\n", head):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += nl + line
        else:
            fields.append(line)
    return fields, nl, sep or nl + nl, body


def _join(fields: list[bytes], nl: bytes, sep: bytes, body: bytes) -> bytes:
    return nl.join(fields) + sep + body


def _name(field_: bytes) -> bytes:
    return field_.partition(b":")[0].strip().lower()


def _set_header(raw: bytes, name: str, value: bytes, rng: random.Random, replace: bool = True) -> bytes:
    fields, nl, sep, body = _split(raw)
    line = name.encode() + b": " + value
    found = [i for i, f in enumerate(fields) if _name(f) == name.lower().encode()]
    if found and replace:
        fields[rng.choice(found)] = line
    else:
        fields.insert(rng.randint(0, len(fields)), line)
    return _join(fields, nl, sep, body)


def _header_value(raw: bytes, name: str) -> bytes:
    fields, _, _, _ = _split(raw)
    for f in fields:
        if _name(f) == name.lower().encode():
            return f.partition(b":")[2].strip()
    return b""


INTERESTING = [
    b"\x00", b"\r", b"\n", b"\r\n", b"=", b"?", b"=?", b"?=", b"<", b">", b"--", b":", b";", b'"',
    b"\\", b"(", b")", b"\xff", b"\xe4\xb8", b"\x1b$B", b"%", b"@", b",", b" ", b"\t", b"\r\n\r\n",
    b"\n--", b"=\r\n", b"\xc0\x80", b"\xef\xbb\xbf", b"&#", b"<table>", b"</", b"#1 ", b"\xe5\xae\x8c",
]  # fmt: skip


def m_flip(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 12)):
        if data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def m_insert(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 10)):
        token = rng.choice(INTERESTING) if rng.random() < 0.7 else rng.randbytes(rng.randint(1, 8))
        data[rng.randint(0, len(data)) : 0] = token * (1 if rng.random() < 0.9 else rng.randint(2, 500))
    return bytes(data)


def m_delete(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 4)):
        if len(data) > 2:
            start = rng.randrange(len(data))
            del data[start : start + rng.choice([1, 2, 8, 64, 512])]
    return bytes(data)


def m_truncate(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    return raw[: rng.randint(0, len(raw))]


def m_dup_header(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    fields, nl, sep, body = _split(raw)
    if not fields:
        return raw
    important = [i for i, f in enumerate(fields) if _name(f) in _IMPORTANT]
    i = rng.choice(important) if important and rng.random() < 0.7 else rng.randrange(len(fields))
    copies = rng.choice([1, 1, 2, 5, 5, 50, 50, 2000])
    fields[i + 1 : i + 1] = [fields[i]] * copies
    return _join(fields, nl, sep, body)


_IMPORTANT = {
    b"from", b"to", b"cc", b"subject", b"message-id", b"in-reply-to", b"references", b"content-type",
    b"content-transfer-encoding", b"mime-version", b"sender", b"reply-to", b"date", b"auto-submitted",
    b"authentication-results", b"x-minutesd-loop",
}  # fmt: skip


def m_drop_header(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    fields, nl, sep, body = _split(raw)
    if not fields:
        return raw
    important = [i for i, f in enumerate(fields) if _name(f) in _IMPORTANT]
    for _ in range(rng.randint(1, 3)):
        if not fields:
            break
        i = rng.choice(important) if important and rng.random() < 0.7 else rng.randrange(len(fields))
        if i < len(fields):
            del fields[i]
        important = [i for i, f in enumerate(fields) if _name(f) in _IMPORTANT]
    return _join(fields, nl, sep, body)


_HUGE_HEADERS = ["Subject", "From", "To", "References", "X-Long", "Content-Type", "Received", "Message-ID"]


def _huge_value(rng: random.Random, size: int) -> bytes:
    kind = rng.choice(
        ["words", "token", "folded", "encoded", "comments", "quotes", "angles", "commas", "cjk"]
    )
    if kind == "words":
        words = [b"confirm", b"Re:", b"\xe7\xa1\xae\xe8\xae\xa4", b"#1", b"done", b"<a@b>", b"2024-OPS-001"]
        out = bytearray()
        while len(out) < size:
            out += rng.choice(words) + b" "
        return bytes(out)
    if kind == "token":
        return b"a" * size
    if kind == "folded":
        return b"\r\n ".join([b"x" * 70] * (size // 73 + 1))
    if kind == "encoded":
        return b" ".join([b"=?utf-8?b?5L2g5aW9?="] * (size // 21 + 1))
    if kind == "comments":
        return b"(" * size + b"a@b.test" + b")" * rng.choice([0, size])
    if kind == "quotes":
        return b'"' * size + b" <a@b.test>"
    if kind == "angles":
        return b"<" * size + b"a@b.test" + b">" * rng.choice([0, size])
    if kind == "commas":
        return b"a@b.test, " * (size // 10 + 1)
    return "确认无误".encode() * (size // 12 + 1)


def m_huge_header(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    size = (
        rng.choice([300, 1_000, 1_000, 10_000, 10_000, 10_000, 100_000]) if rng.random() < 0.97 else 1_000_000
    )
    return _set_header(raw, rng.choice(_HUGE_HEADERS), _huge_value(rng, size), rng, rng.random() < 0.7)


_WORD_HEADERS = [
    "From",
    "Subject",
    "Message-ID",
    "References",
    "In-Reply-To",
    "To",
    "Cc",
    "Reply-To",
    "Sender",
]
_CHARSETS = [
    "utf-8", "gb2312", "gbk", "big5", "iso-2022-jp", "utf-7", "utf-16", "utf-32", "x-unknown", "unknown-8bit",
    "idna", "punycode", "undefined", "base64", "rot13", "hex", "zlib", "uu", "quopri", "unicode_escape",
    "raw_unicode_escape", "utf-8\x00", "", '"', "utf-8*zh", "iso-8859-1", "cp1252", "koi8-r", "x" * 300,
    "mbcs", "oem", "charmap", "utf_8_sig", "cp65001", "euc-kr", "shift_jis", "ascii", "latin-1", "\u00e9",
]  # fmt: skip


def _encoded_word(rng: random.Random) -> bytes:
    charset = rng.choice(_CHARSETS)
    choice = rng.randrange(9)
    if choice == 0:
        payload = rng.randbytes(rng.randint(0, 60))
        import base64

        return f"=?{charset}?B?{base64.b64encode(payload).decode()}?=".encode("utf-8", "surrogateescape")
    if choice == 1:
        return f"=?{charset}?Q?Hi=0D=0ABcc:_evil@attacker.test=0D=0A=0D=0Abody?=".encode(errors="replace")
    if choice == 2:
        return b"=?utf-8?b?" + b"A" * rng.randint(0, 200)  # never closed
    if choice == 3:
        return b"=?utf-8?q?" + b"=" * rng.randint(1, 50) + b"?="
    if choice == 4:
        return b" ".join([b"=?utf-8?b?5L2g?="] * rng.choice([2, 2, 100, 100, 5000]))
    if choice == 5:
        # a display name that holds an address list: a name, never a second sender
        return b"=?utf-8?b?546L56OKIDx3YW5nLmxlaUBleGFtcGxlLnRlc3Q+LCA=?= <a@attacker.test>"
    if choice == 6:
        return b"=?utf-8?b?" + b"\r\n".join([b"5L2g5aW9"] * 3) + b"?="
    if choice == 7:
        return f"=?{charset}?x?abc?=".encode(errors="replace")  # unknown encoding letter
    return b"=?" + rng.randbytes(rng.randint(1, 20)) + b"?b?" + rng.randbytes(rng.randint(1, 40)) + b"?="


def m_encoded_word(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    name = rng.choice(_WORD_HEADERS)
    value = _encoded_word(rng)
    if name in ("From", "To", "Cc", "Reply-To", "Sender") and rng.random() < 0.5:
        value += b" <someone@example.test>"
    if name in ("Message-ID", "References", "In-Reply-To") and rng.random() < 0.5:
        value = b"<" + value + b"@example.test>"
    return _set_header(raw, name, value, rng)


_INJECTIONS = [
    b"\rBcc: evil@attacker.test",
    b"\nBcc: evil@attacker.test",
    b"\r\nX-Injected: 1",
    b"\r\n\r\nbody text in the header",
    b"\x00Bcc: evil@attacker.test",
    b"\x85Bcc: evil@attacker.test",
    "\u2028Bcc: evil@attacker.test".encode(),
    b"\x0bX-Injected: 1",
    b"\x0cX-Injected: 1",
]


def m_crlf_inject(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    name = rng.choice(["From", "Subject", "Message-ID", "References", "In-Reply-To", "Reply-To", "To"])
    current = _header_value(raw, name) or b"<x@example.test>"
    cut = rng.randint(0, len(current))
    value = current[:cut] + rng.choice(_INJECTIONS) + current[cut:]
    return _set_header(raw, name, value, rng)


_CHARSET_PARAM = re.compile(rb'charset\s*=\s*"?[^";\s]*"?', re.I)


def m_charset(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    found = list(_CHARSET_PARAM.finditer(raw))
    charset = rng.choice(_CHARSETS).encode("utf-8")
    if found:
        match = rng.choice(found)
        quoted = b'"' if rng.random() < 0.5 else b""
        return raw[: match.start()] + b"charset=" + quoted + charset + quoted + raw[match.end() :]
    return _set_header(raw, "Content-Type", b"text/plain; charset=" + charset, rng)


_BOUNDARY = re.compile(rb'boundary\s*=\s*"?([^";\r\n]*)"?', re.I)


def m_boundary(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    found = list(_BOUNDARY.finditer(raw))
    if not found:
        return m_nest(rng, raw, other)
    match = rng.choice(found)
    boundary = match.group(1)
    choice = rng.randrange(7)
    if choice == 0:  # the declared boundary no longer matches the lines
        return raw[: match.start(1)] + boundary[::-1] + b"x" + raw[match.end(1) :]
    if choice == 1:  # the closing line lost
        return raw.replace(b"--" + boundary + b"--", b"", 1)
    if choice == 2:  # an empty boundary
        return raw[: match.start()] + b'boundary=""' + raw[match.end() :]
    if choice == 3 and boundary:  # boundary lines inside parts
        pos = rng.randint(0, len(raw))
        return raw[:pos] + b"\n--" + boundary + b"\n" + raw[pos:]
    if choice == 4:  # a boundary 5000 characters long
        return raw.replace(boundary, boundary + b"z" * 5000)
    if choice == 5:  # the parameter removed
        return raw[: match.start()] + raw[match.end() :]
    return raw.replace(b"--" + boundary, b"--" + boundary + b" \t", rng.randint(1, 3))


def m_nest(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    depth = rng.choice([2, 2, 3, 5, 5, 10, 30]) if rng.random() < 0.95 else rng.choice([200, 1000])
    fields, nl, _sep, body = _split(raw)
    content = [f for f in fields if _name(f).startswith(b"content-")] or [b"Content-Type: text/plain"]
    rest = [f for f in fields if not _name(f).startswith(b"content-")]
    inner = nl.join(content) + nl + nl + body
    for level in range(depth):
        b = f"nest{level}".encode()
        inner = b"Content-Type: multipart/mixed; boundary=" + b + nl + nl + b"--" + b + nl + inner
        inner += nl + b"--" + b + (b"--" if rng.random() < 0.8 else b"") + nl
    return nl.join([*rest, b"MIME-Version: 1.0"]) + nl + inner


def m_cte(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    choice = rng.randrange(6)
    fields, nl, sep, body = _split(raw)
    if choice == 0:  # claim base64 on whatever the body is
        cte = b"base64"
    elif choice == 1:
        cte = b"quoted-printable"
    elif choice == 2:
        cte = rng.choice([b"x-uuencode", b"uuencode", b"8bit", b"binary", b"bogus", b"7bit; x=1"])
    else:
        cte = b""
    if cte:
        fields = [f for f in fields if _name(f) != b"content-transfer-encoding"]
        fields.append(b"Content-Transfer-Encoding: " + cte)
        if cte in (b"x-uuencode", b"uuencode") and rng.random() < 0.5:
            body = b"begin 644 x.txt\n" + body[:2000] + b"\nend\n"
        return _join(fields, nl, sep, body)
    if choice == 3:  # damage base64 lines: stray characters, lost padding, a line cut short
        lines = body.split(b"\n")
        b64 = [i for i, line in enumerate(lines) if re.fullmatch(rb"[A-Za-z0-9+/=]{20,}\r?", line)]
        for i in rng.sample(b64, min(len(b64), rng.randint(1, 5))):
            line = bytearray(lines[i])
            pos = rng.randrange(len(line))
            line[pos : pos + 1] = rng.choice([b"!", b"=", b"==", b"", b"\x00", b"-_", b"A"])
            lines[i] = bytes(line)
        return _join(fields, nl, sep, b"\n".join(lines))
    if choice == 4:  # quoted-printable garbage
        junk = rng.choice([b"=ZZ", b"=\r\n=", b"=0", b"=", b"=3D=3", b"=\n\n=20", b"=E4=B8"])
        pos = rng.randint(0, len(body))
        return _join(fields, nl, sep, body[:pos] + junk * rng.randint(1, 300) + body[pos:])
    return _join(fields, nl, sep, body.replace(b"=", b"=\x00", rng.randint(1, 50)))


def m_long_refs(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    count = rng.choice([30, 100, 100, 1000, 1000, 10_000]) if rng.random() < 0.97 else 60_000
    ids = b" ".join(b"<%d.%d@example.test>" % (i, rng.randrange(10**6)) for i in range(count))
    name = rng.choice(["References", "References", "In-Reply-To"])
    if rng.random() < 0.3:  # folded, one id a line
        ids = ids.replace(b" ", b"\r\n ")
    return _set_header(raw, name, ids, rng)


def m_nul(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    data = bytearray(raw)
    if rng.random() < 0.3:
        return raw.replace(b" ", b"\x00", rng.randint(1, 200))
    for _ in range(rng.randint(1, 20)):
        data[rng.randint(0, len(data)) : 0] = b"\x00" * rng.choice([1, 1, 4, 1000])
    return bytes(data)


def m_line_endings(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    lines = re.split(rb"\r\n|\r|\n", raw)
    ends = [b"\n", b"\r\n", b"\r", b"\n\r"]
    style = rng.random()
    if style < 0.3:
        end = rng.choice(ends)
        return end.join(lines)
    out = bytearray()
    for line in lines:
        out += line + rng.choice(ends)
    return bytes(out)


def _html(rng: random.Random) -> bytes:
    depth = rng.choice([3, 10, 10, 50, 200, 500]) if rng.random() < 0.95 else rng.choice([5000, 50_000])
    tag = rng.choice(["div", "blockquote", "table><tr><td", "span", "p", "ul><li", "font", "b"])
    closing = rng.random() < 0.5
    opener = f"<{tag}>".encode()
    closer = b"".join(f"</{t.split(' ')[0]}>".encode() for t in reversed(tag.split("><")))
    inner = "确认,没问题\n#1 完成".encode()
    body = opener * depth + inner + (closer * depth if closing else b"")
    if rng.random() < 0.3:
        body = b"<br>" * depth * 2 + body
    if rng.random() < 0.3:
        body = b'<div class="gmail_quote">' * depth + body
    return b"<html><body>" + body + b"</body></html>"


def _add_part(raw: bytes, part: bytes, rng: random.Random) -> bytes:
    fields, nl, _sep, body = _split(raw)
    content = [f for f in fields if _name(f).startswith(b"content-")] or [b"Content-Type: text/plain"]
    rest = [f for f in fields if not _name(f).startswith(b"content-") and _name(f) != b"mime-version"]
    boundary = b"fuzz%08x" % rng.randrange(1 << 32)
    return (
        nl.join([*rest, b"MIME-Version: 1.0", b'Content-Type: multipart/mixed; boundary="' + boundary + b'"'])
        + nl
        + nl
        + b"--"
        + boundary
        + nl
        + nl.join(content)
        + nl
        + nl
        + body
        + nl
        + b"--"
        + boundary
        + nl
        + part
        + nl
        + b"--"
        + boundary
        + b"--"
        + nl
    )


def m_html(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    html = _html(rng)
    if rng.random() < 0.5:  # the HTML as the only body
        fields, nl, sep, _body = _split(raw)
        fields = [f for f in fields if not _name(f).startswith(b"content-")]
        fields.append(b"Content-Type: text/html; charset=utf-8")
        return _join(fields, nl, sep, html)
    return _add_part(raw, b"Content-Type: text/html; charset=utf-8\r\n\r\n" + html, rng)


_DOCX = (
    (SAMPLES / "draft-zh-attachment.docx").read_bytes()
    if (SAMPLES / "draft-zh-attachment.docx").exists()
    else b""
)


def m_attachment(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    import base64
    import io
    import zipfile

    name = rng.choice(["draft.docx", "minutes.txt", "纪要.html", "notes.md", "report.pdf", "a.xlsx", "x", ""])
    ctype = rng.choice(
        ["image/png", "text/plain", "application/octet-stream", "message/rfc822", "text/html",
         "message/delivery-status", "application/zip", "multipart/mixed", "text/plain; charset=idna"]
    )  # fmt: skip
    kind = rng.randrange(5)
    if kind == 0 and _DOCX:
        data = _DOCX
    elif kind == 1 and _DOCX:  # the docx damaged
        cut = bytearray(_DOCX)
        for _ in range(20):
            cut[rng.randrange(len(cut))] = rng.randrange(256)
        data = bytes(cut)
    elif kind == 2:  # a zip whose document.xml is all paragraphs
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("[Content_Types].xml", "<Types/>")
            archive.writestr(
                "word/document.xml", "<w:document><w:body>" + "<w:p/>" * 50_000 + "</w:body></w:document>"
            )
        data = buffer.getvalue()
    elif kind == 3:
        data = other[: rng.randint(0, len(other))]
    else:
        data = rng.randbytes(rng.choice([0, 10, 3000, 3000, 30_000, 300_000]))
    disposition = rng.choice(["attachment", "inline", "attachment; filename*=utf-8''%E7%BA%AA", "bogus"])
    encoded = base64.encodebytes(data) if rng.random() < 0.8 else data
    cte = b"base64" if encoded is not data else b"8bit"
    part = (
        f'Content-Type: {ctype}; name="{name}"\r\nContent-Disposition: {disposition}; filename="{name}"\r\n'.encode()
        + b"Content-Transfer-Encoding: "
        + cte
        + b"\r\n\r\n"
        + encoded
    )
    return _add_part(raw, part, rng)


def m_splice(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    if rng.random() < 0.5:  # the headers of one, the body of the other
        fields, nl, sep, _ = _split(raw)
        _, _, _, body = _split(other)
        return _join(fields, nl, sep, body)
    return raw[: rng.randint(0, len(raw))] + other[rng.randint(0, len(other)) :]


def m_date(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    value = rng.choice(
        [b"Fri, 31 Dec 9999 23:59:59 -1200", b"Mon, 1 Jan 0001 00:00:00 +1400", b"Mon, 1 Jan 1 00:00:00 +0000",
         b"Thu, 32 Foo 2024 25:61:61 +9999", b"99999999999999999999", b"Tue, 21 May 2024 09:30:00 +0800",
         b"Sun, 31 Dec 9999 23:59:59 +0000", b"Wed, 21 May 2024 09:30:00 -0000", b"", b"\x00",
         b"Tue, 21 May 2024 09:30:00 +2459", b"Sat, 1 Jan 10000 00:00:00 +0000", b"2024-05-21T09:30:00"]
    )  # fmt: skip
    return _set_header(raw, "Date", value, rng)


def m_auth_results(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    value = rng.choice(
        [b"mx.example.test; dmarc=fail spf=pass", b"mx.example.test; dkim=pass", b"", b";;;", b"mx.example.test",
         b"mx.example.test; " + b"spf=fail " * 20_000, b"\x00; dmarc=pass", b"mx.example.test;\r\n dmarc=pass"]
    )  # fmt: skip
    return _set_header(raw, "Authentication-Results", value, rng, replace=False)


MUTATIONS: dict[str, Callable[[random.Random, bytes, bytes], bytes]] = {
    "flip": m_flip,
    "insert": m_insert,
    "delete": m_delete,
    "truncate": m_truncate,
    "dup_header": m_dup_header,
    "drop_header": m_drop_header,
    "huge_header": m_huge_header,
    "encoded_word": m_encoded_word,
    "crlf_inject": m_crlf_inject,
    "charset": m_charset,
    "boundary": m_boundary,
    "nest": m_nest,
    "cte": m_cte,
    "long_refs": m_long_refs,
    "nul": m_nul,
    "line_endings": m_line_endings,
    "html": m_html,
    "attachment": m_attachment,
    "splice": m_splice,
    "date": m_date,
    "auth_results": m_auth_results,
}
_NAMES = sorted(MUTATIONS)


def mutate(rng: random.Random, seeds: list[Seed]) -> tuple[bytes, str, list[str]]:
    seed = rng.choice(seeds)
    other = rng.choice(seeds).raw
    raw = seed.raw
    applied: list[str] = []
    for _ in range(1 + min(3, int(rng.expovariate(1.2)))):
        name = rng.choice(_NAMES)
        raw = MUTATIONS[name](rng, raw, other)
        applied.append(name)
        if len(raw) > MAX_MESSAGE:
            raw = raw[:MAX_MESSAGE]
    return raw, seed.name, applied


# -- the parser chain ------------------------------------------------------------------


class Hang(Exception):
    pass


@dataclass
class Failure:
    stage: str
    kind: str
    detail: str
    where: str

    @property
    def signature(self) -> str:
        return f"{self.stage}: {self.kind} at {self.where}"


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/parsers/" in f.filename or "/service/" in f.filename]
    frame = (ours or frames or [None])[-1]
    if frame is None:
        return "?"
    return f"{Path(frame.filename).parent.name}/{Path(frame.filename).name}:{frame.lineno} ({frame.name})"


class Chain:
    """The parsers as the service calls them, with the shipped rules and the sample directory."""

    def __init__(self) -> None:
        from parsers.classify import classify
        from parsers.people import load_directory
        from service.core.config import load_rules
        from service.items.commands import command_words
        from service.minutes.answers import intent_words
        from service.minutes.drafts import vocabulary
        from service.stages import automatic_policy

        rules = load_rules()

        @dataclass
        class _Settings:
            address: str = "minutes@example.test"

        self.rules = rules
        self.policy = automatic_policy(rules, _Settings())  # type: ignore[arg-type]
        self.classify = classify
        self.intent_words = intent_words(rules.intent)
        self.command_words = command_words(
            rules.actions.commands, tuple(rules.parsing.get("vague_deadlines", []))
        )
        self.vocab = vocabulary(rules)
        people = SAMPLES / "people.yaml"
        self.directory = load_directory(people.read_text(encoding="utf-8")) if people.exists() else None
        self.today = date(2024, 5, 21)
        self.base: dict[str, Any] = {}
        base = SAMPLES / "draft-zh-plain.txt"
        if base.exists():
            self.base = self._draft_of(_draft_message(base))[1] or {}

    def _draft_of(self, raw: bytes) -> tuple[Any, dict[str, Any] | None]:
        from parsers.draft import document_from_message
        from parsers.message import parse_message
        from parsers.minutes import parse_draft
        from service.minutes.drafts import own_part

        msg = parse_message(raw)
        doc = document_from_message(own_part(msg))
        minutes = parse_draft(doc, self.vocab, self.directory, received=self.today, subject=msg.subject)
        return minutes, minutes.as_json()

    def run(self, raw: bytes) -> tuple[list[Failure], dict[str, Any]]:
        """Each stage on its own: one stage's exception is recorded and the next still runs."""
        from parsers.authresults import verdict
        from parsers.draft import UnsupportedDraft, document_from_message
        from parsers.intent import before_our_mail, read_intent
        from parsers.message import _parse, parse_message
        from parsers.minutes import parse_draft
        from parsers.reply_text import read_reply, visible_text
        from parsers.revision import diff_minutes, touches
        from service.minutes.drafts import looks_like_minutes, own_part, tries_to_be_minutes

        failures: list[Failure] = []
        facts: dict[str, Any] = {}

        def stage(name: str, call: Callable[[], Any]) -> Any:
            try:
                return call()
            except Hang:
                raise
            except Exception as exc:
                failures.append(Failure(name, type(exc).__name__, str(exc)[:300], _where(exc)))
                return None

        msg = stage("parse_message", lambda: parse_message(raw))
        if msg is None:
            return failures, facts
        if any(d.startswith("unparseable:") for d in msg.defects):
            # parse_message's last guard swallowed an exception: find out which.
            try:
                _parse(raw)
                failures.append(Failure("parse_message (guard)", "?", msg.defects[-1][:300], "?"))
            except Exception as exc:
                failures.append(
                    Failure("parse_message (guard)", type(exc).__name__, str(exc)[:300], _where(exc))
                )
        facts["mail_parser_fallback"] = any(d.startswith("mail-parser:") for d in msg.defects)
        kind = stage("classify", lambda: self.classify(msg, self.policy))
        facts["kind"] = kind.kind.value if kind else "?"
        stage("authresults.verdict", lambda: verdict(msg.auth_results, "mx.example.test"))
        reading = stage("read_reply", lambda: read_reply(msg.text, msg.html))
        visible = reading.text if reading else ""
        text = stage("before_our_mail", lambda: before_our_mail(visible, self.intent_words)) or ""
        stage("read_intent", lambda: read_intent(text, self.intent_words))
        day = msg.date.date() if msg.date and abs(msg.date.year - 2024) < 5 else self.today
        stage("read_commands", lambda: read_commands(text, self.command_words, day))
        stage("visible_text (matching)", lambda: visible_text(msg.text)[:4000])
        received = stage(
            "date (received day)", lambda: msg.date.astimezone(self.rules.tz).date() if msg.date else None
        )
        for label, part in (
            ("draft", lambda: own_part(msg, read=(lambda: visible) if reading else None)),
            ("draft on a record", lambda: own_part(msg, text)),
        ):
            own = stage(f"{label}: own_part", part)
            if own is None:
                continue
            try:
                doc = document_from_message(own)
            except UnsupportedDraft:
                facts["refused_draft"] = True
                continue
            except Hang:
                raise
            except Exception as exc:
                failures.append(
                    Failure(f"{label}: document", type(exc).__name__, str(exc)[:300], _where(exc))
                )
                continue
            minutes = stage(
                f"{label}: parse_draft",
                lambda doc=doc: parse_draft(
                    doc, self.vocab, self.directory, received=received, subject=msg.subject
                ),
            )
            if minutes is None:
                continue
            stage(f"{label}: looks_like", lambda m=minutes: (looks_like_minutes(m), tries_to_be_minutes(m)))
            new = stage(f"{label}: as_json", minutes.as_json)
            if new is not None and self.base:
                changes = stage(f"{label}: diff_minutes", lambda new=new: diff_minutes(self.base, new))
                if changes is not None:
                    stage(
                        f"{label}: touches", lambda c=changes, n=new: touches(c, self.base, n, msg.from_addr)
                    )
            if label == "draft":
                facts["items"] = len(minutes.items)
        return failures, facts


def read_commands(text: str, words: Any, day: date) -> Any:
    from parsers.commands import read_commands as read

    return read(text, words, day)


@contextlib.contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    def alarm(signum: int, frame: object) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _maxrss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


@dataclass
class Finding:
    kind: str  # exception, slow, memory, hang, lost, quarantined, header, outbox
    signature: str
    detail: str
    raw: bytes
    seed: str
    mutations: list[str]
    count: int = 1
    figure: float = 0.0

    def reproducer(self) -> str:
        digest = hashlib.sha256(self.signature.encode()).hexdigest()[:10]
        return f"{self.kind}-{digest}.eml"


@dataclass
class ParserReport:
    messages: int = 0
    seconds: float = 0.0
    bytes: int = 0
    largest: int = 0
    slowest: float = 0.0
    slowest_what: str = ""
    measured: int = 0
    worst_ratio: float = 0.0
    worst_ratio_what: str = ""
    worst_peak: int = 0
    worst_peak_what: str = ""
    over_slow: int = 0
    over_memory: int = 0
    fallbacks_mail_parser: int = 0
    refused_drafts: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    mutations: Counter[str] = field(default_factory=Counter)
    findings: dict[str, Finding] = field(default_factory=dict)


def _memory(chain: Chain, raw: bytes) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        with _deadline(HANG_SECONDS * 4):
            chain.run(raw)
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def _note(report: dict[str, Finding], finding: Finding) -> None:
    known = report.get(finding.signature)
    if known is None:
        report[finding.signature] = finding
        return
    known.count += 1
    if finding.kind in ("slow", "memory") and finding.figure > known.figure:
        finding.count = known.count
        report[finding.signature] = finding
    elif finding.kind not in ("slow", "memory") and len(finding.raw) < len(known.raw):
        finding.count = known.count
        report[finding.signature] = finding  # keep the smallest reproducer


def _memory_check(
    report: ParserReport, chain: Chain, raw: bytes, what: str, seed: str, mutations: list[str]
) -> None:
    peak = _memory(chain, raw)
    report.measured += 1
    ratio = peak / max(1, len(raw))
    if ratio > report.worst_ratio:
        report.worst_ratio, report.worst_ratio_what = (
            ratio,
            f"{what}: {peak / 1e6:.2f} MB for {len(raw):,} bytes",
        )
    if peak > report.worst_peak:
        report.worst_peak, report.worst_peak_what = peak, f"{what}: {ratio:.1f}x of {len(raw):,} bytes"
    if peak > MEMORY_RATIO * len(raw) + MEMORY_ALLOWANCE:
        report.over_memory += 1
        _note(
            report.findings,
            Finding("memory", f"memory over {MEMORY_RATIO:.0f}x + 1 MiB ({'+'.join(sorted(set(mutations)))})",
                    f"{peak:,} bytes peak for a {len(raw):,}-byte message ({ratio:.1f}x)", raw, seed, mutations,
                    figure=ratio),
        )  # fmt: skip


def fuzz_parsers(
    count: int, seed: int, seeds: list[Seed], progress: bool = True, memory_from: int = 0
) -> ParserReport:
    """`memory_from`: also measure the memory of every message of at least that many bytes
    (0: only the sample, every 100th, the slowest and those after which RSS jumped)."""
    rng = random.Random(seed)
    chain = Chain()
    report = ParserReport()
    slowest: list[tuple[float, int, bytes, str, list[str]]] = []  # a heap of the 20 slowest
    started = time.perf_counter()
    for n in range(count):
        raw, seed_name, mutations = mutate(rng, seeds)
        what = f"#{n} {seed_name} [{', '.join(mutations)}]"
        report.messages += 1
        report.bytes += len(raw)
        report.largest = max(report.largest, len(raw))
        report.mutations.update(set(mutations))
        rss = _maxrss()
        t0 = time.perf_counter()
        try:
            with _deadline(HANG_SECONDS):
                failures, facts = chain.run(raw)
        except Hang as exc:
            failures, facts = [Failure("chain", "Hang", str(exc), "?")], {}
            _note(
                report.findings, Finding("hang", "chain did not finish", str(exc), raw, seed_name, mutations)
            )
        elapsed = time.perf_counter() - t0
        report.seconds += elapsed
        report.kinds[facts.get("kind", "?")] += 1
        report.fallbacks_mail_parser += bool(facts.get("mail_parser_fallback"))
        report.refused_drafts += bool(facts.get("refused_draft"))
        for failure in failures:
            if failure.kind != "Hang":
                _note(
                    report.findings,
                    Finding("exception", failure.signature, failure.detail, raw, seed_name, mutations),
                )
        if elapsed > report.slowest:
            report.slowest, report.slowest_what = elapsed, f"{what}, {len(raw):,} bytes"
        if elapsed > SLOW_SECONDS:
            report.over_slow += 1
            _note(
                report.findings,
                Finding("slow", f"slower than {SLOW_SECONDS:.0f} s ({'+'.join(sorted(set(mutations)))})",
                        f"{elapsed:.2f} s for {len(raw):,} bytes", raw, seed_name, mutations, figure=elapsed),
            )  # fmt: skip
        item = (elapsed, n, raw, seed_name, mutations)
        if len(slowest) < 20:
            heapq.heappush(slowest, item)
        elif elapsed > slowest[0][0]:
            heapq.heapreplace(slowest, item)
        if n % 100 == 0 or _maxrss() - rss > 8 * 1024 * 1024 or 0 < memory_from <= len(raw):
            _memory_check(report, chain, raw, what, seed_name, mutations)
        if progress and n and n % 5000 == 0:
            print(
                f"  parsers: {n:,} messages, {time.perf_counter() - started:.0f} s, "
                f"slowest {report.slowest:.2f} s, {len(report.findings)} distinct finding(s)",
                file=sys.stderr,
                flush=True,
            )
    for elapsed, n, raw, seed_name, mutations in sorted(slowest, reverse=True):
        if elapsed > 5 * SLOW_SECONDS:
            continue  # already a finding; under tracemalloc it would take minutes more
        _memory_check(report, chain, raw, f"#{n} {seed_name} [{', '.join(mutations)}]", seed_name, mutations)
    return report


# -- end to end ------------------------------------------------------------------------

OUR_HEADERS = {
    "from", "to", "cc", "reply-to", "subject", "date", "message-id", "in-reply-to", "references",
    "auto-submitted", "x-auto-response-suppress", "precedence", "x-minutesd-loop", "content-type",
    "mime-version", "content-transfer-encoding",
}  # fmt: skip
ONCE = ("from", "to", "subject", "date", "message-id", "auto-submitted", "x-minutesd-loop")
_FIELD_NAME = re.compile(rb"[\x21-\x39\x3b-\x7e]+")


def header_problems(raw: bytes, service_address: str) -> list[str]:
    """What is wrong with the header block of a mail we send; [] when it is intact."""
    problems: list[str] = []
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        return ["no blank line ends the header block"]
    head = raw[:end]
    if any(b > 0x7E or (b < 0x20 and b not in (0x09, 0x0D, 0x0A)) for b in head):
        problems.append("a control or 8-bit byte in the header block")
    names: Counter[str] = Counter()
    for line in head.split(b"\r\n"):
        if b"\r" in line or b"\n" in line:
            problems.append(f"a bare CR or LF in a header line: {line[:80]!r}")
        if len(line) > 998:
            problems.append(f"a header line of {len(line)} characters")
        if line[:1] in (b" ", b"\t"):
            if not names:
                problems.append("a continuation line before the first header")
            continue
        name, colon, _ = line.partition(b":")
        if not colon or not _FIELD_NAME.fullmatch(name):
            problems.append(f"not a header field (body text in the header block?): {line[:80]!r}")
            continue
        names[name.decode("ascii").lower()] += 1
    for name in ONCE:
        if names[name] != 1:
            problems.append(f"{name} {names[name]} times")
    unexpected = sorted(set(names) - OUR_HEADERS)
    if unexpected:
        problems.append(f"headers we never write: {', '.join(unexpected)}")
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    if any(not isinstance(d, (email.errors.NonPrintableDefect)) for d in parsed.defects):
        problems.append(f"defects: {[type(d).__name__ for d in parsed.defects]}")
    for name, value in parsed.items():
        try:
            text = str(value)
        except Exception as exc:  # a header the email package cannot even decode
            problems.append(f"{name} does not decode: {exc!r}")
            continue
        if any(ch in text for ch in "\r\n\x00\x85\u2028\u2029"):
            problems.append(f"{name} decodes to a control character: {text[:80]!r}")
    if str(parsed.get("auto-submitted", "")).strip() != "auto-generated":
        problems.append(f"Auto-Submitted is {parsed.get('auto-submitted')!r}")
    if not str(parsed.get("x-minutesd-loop", "")).startswith(service_address):
        problems.append(f"X-Minutesd-Loop is {parsed.get('x-minutesd-loop')!r}")
    return problems


@dataclass
class E2EReport:
    messages: int = 0
    seconds: float = 0.0
    slowest: float = 0.0
    slowest_what: str = ""
    outcomes: Counter[str] = field(default_factory=Counter)
    same_message_again: int = 0
    lost: int = 0
    left_in_inbox: int = 0
    sent_checked: int = 0
    outbox_states: Counter[str] = field(default_factory=Counter)
    header_failures: int = 0
    findings: dict[str, Finding] = field(default_factory=dict)


DEMO_ADDRESS = "minutes@demo.example"
DEMO_PEOPLE = ["lin.tao", "xu.jing", "he.lei", "huang.min", "wu.hao", "zheng.fang"]


def fuzz_e2e(count: int, seed: int, seeds: list[Seed], workdir: Path, progress: bool = True) -> E2EReport:
    from service.core.clock import Clock
    from service.core.config import load_rules, settings_from_env
    from service.core.resources import shipped
    from service.core.store import Store
    from service.daemon import Daemon
    from service.demo import play
    from service.mail import rawmail
    from service.mail.bodies import read_body
    from service.mail.outbox import TABLE as OUTBOX
    from service.pipeline import LEDGER, MESSAGES, Result

    rng = random.Random(seed * 7919 + 1)
    rules = load_rules()
    data = workdir / "data"
    play(rules, data)  # a live record with its items, reply keys and threads
    demo_seeds = [
        Seed(f"demo/raw/{path.stem}-{n}", raw)
        for path in rawmail.stored_files(data)
        for n, raw in enumerate(rawmail.messages_in(path))
    ]
    demo_seeds += [
        Seed(f"demo/sent/{p.name[:24]}", p.read_bytes())
        for p in sorted((data / "maildir/sent/new").iterdir())
    ]
    already_sent = {p.name for p in (data / "maildir/sent/new").iterdir()}
    inbox = data / "maildir" / "inbox" / "new"
    env = {
        "MINUTESD_DATA_DIR": str(data),
        "MINUTESD_ADDRESS": DEMO_ADDRESS,
        "MINUTESD_DIRECTORY": str(shipped("demo") / "people.yaml"),
    }
    report = E2EReport()
    written: dict[str, tuple[bytes, str, list[str]]] = {}
    start = datetime.fromisoformat("2024-05-28T09:00:00+08:00")
    batch_size = 200
    for batch in range((count + batch_size - 1) // batch_size):
        for n in range(batch * batch_size, min(count, (batch + 1) * batch_size)):
            pool = demo_seeds if rng.random() < 0.3 else seeds
            raw, seed_name, mutations = mutate(rng, pool)
            if pool is seeds and rng.random() < 0.35:  # in the name of a directory person
                person = rng.choice(DEMO_PEOPLE)
                raw = _set_header(raw, "From", f"Person <{person}@demo.example>".encode(), rng)
                raw = _set_header(raw, "To", DEMO_ADDRESS.encode(), rng)
                mutations = [*mutations, "sender"]
            if rng.random() < 0.9:  # mostly a Message-ID of its own, or the first copy settles them all
                raw = _set_header(raw, "Message-ID", f"<fuzz.{seed}.{n}@fuzz.example>".encode(), rng)
            name = f"fuzz-{n:05d}.eml"
            (inbox / name).write_bytes(raw)
            written[name] = (raw, seed_name, mutations)
        now = (start + timedelta(days=batch)).isoformat()
        settings = settings_from_env({**env, "MINUTESD_NOW": now})
        with Store(data) as store:
            daemon = Daemon(settings, rules, store, Clock(now))
            process = daemon.pipeline.process

            def timed(raw: bytes, ref: str, process: Callable[[bytes, str], Result] = process) -> Result:
                t0 = time.perf_counter()
                result = process(raw, ref)
                elapsed = time.perf_counter() - t0
                if elapsed > report.slowest:
                    name = ref.removeprefix("maildir:")
                    origin = written.get(name, (b"", "?", []))
                    report.slowest = elapsed
                    report.slowest_what = f"{name} {origin[1]} [{', '.join(origin[2])}], {len(raw):,} bytes"
                return result

            daemon.pipeline.process = timed  # type: ignore[method-assign]
            t0 = time.perf_counter()
            try:
                daemon.run_once()
            finally:
                report.seconds += time.perf_counter() - t0
                daemon.mailbox.close()
        if progress:
            print(
                f"  end to end: {len(written):,} messages, {report.seconds:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    report.messages = len(written)

    # One outcome per message, none lost.
    left = {p.name for sub in ("new", "cur") for p in (data / "maildir/inbox" / sub).iterdir()}
    with Store(data, read_only=True) as store:
        seen_ids: Counter[str] = Counter()
        for name, (raw, seed_name, mutations) in sorted(written.items()):
            ledger = store.get(LEDGER, f"maildir:{name}")
            doc = store.get(MESSAGES, ledger["message_id"]) if ledger else None
            if name in left:
                report.left_in_inbox += 1
            if doc is None or doc.get("outcome") not in ("applied", "rejected", "ignored", "quarantined"):
                report.lost += 1
                _note(
                    report.findings,
                    Finding("lost", "a message without an outcome", name, raw, seed_name, mutations),
                )
                continue
            seen_ids[ledger["message_id"]] += 1
            if f"maildir:{name}" not in doc.get("refs", []):
                _note(
                    report.findings,
                    Finding("lost", "the outcome does not name the message", name, raw, seed_name, mutations),
                )
            if seen_ids[ledger["message_id"]] > 1:
                report.same_message_again += 1
                continue
            report.outcomes[doc["outcome"]] += 1
            if doc["outcome"] == "quarantined":
                reason = (
                    re.sub(r"\d+", "N", doc.get("reason", "")).splitlines()[-1][:160]
                    if doc.get("reason")
                    else ""
                )
                _note(
                    report.findings,
                    Finding(
                        "quarantined",
                        f"quarantined: {reason}",
                        doc.get("reason", ""),
                        raw,
                        seed_name,
                        mutations,
                    ),
                )
        # Every outgoing mail: what the transport wrote, and what is still in the outbox.
        mails: list[tuple[str, bytes]] = []
        for path in sorted((data / "maildir/sent/new").iterdir()):
            if path.name not in already_sent:
                mails.append((f"sent/{path.name}", path.read_bytes()))
        for entry in store.all(OUTBOX):
            report.outbox_states[str(entry.get("state"))] += 1
            if str(entry.get("state")) != "sent":
                with contextlib.suppress(Exception):
                    mails.append((f"outbox/{entry.get('key')}", read_body(data, entry)))
    for where, raw in mails:
        report.sent_checked += 1
        problems = header_problems(raw, DEMO_ADDRESS)
        if problems:
            report.header_failures += 1
            signature = re.sub(r"'.*|\d+", "…", problems[0])
            _note(
                report.findings,
                Finding(
                    "header", f"outgoing header block: {signature}", "; ".join(problems)[:500], raw, where, []
                ),
            )
    if report.outbox_states.get("failed"):
        _note(
            report.findings,
            Finding("outbox", "outgoing mail failed", str(dict(report.outbox_states)), b"", "", []),
        )
    return report


# -- report ----------------------------------------------------------------------------


def write_findings(findings: list[Finding], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    index = []
    for finding in findings:
        name = finding.reproducer() if finding.raw else ""
        if finding.raw:
            (folder / name).write_bytes(finding.raw)
        index.append(
            {"kind": finding.kind, "signature": finding.signature, "detail": finding.detail, "count": finding.count,
             "seed": finding.seed, "mutations": finding.mutations, "reproducer": name, "bytes": len(finding.raw)}
        )  # fmt: skip
    (folder / "findings.json").write_text(
        json.dumps(index, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


def summary(
    args: argparse.Namespace, seeds: list[Seed], parsers: ParserReport, e2e: E2EReport, took: float
) -> str:
    rows = [
        ("command", f"python -m bench.fuzz --messages {args.messages} --e2e {args.e2e} --seed {args.seed}"),
        ("seed messages", f"{len(seeds)} ({sum(s.name.startswith('samples/') for s in seeds)} samples, "
                          f"{sum(s.name.startswith('corpora/') for s in seeds)} corpora)"),
        ("total time", f"{took:.0f} s"),
        ("parsers: messages", f"{parsers.messages:,} ({parsers.bytes / 1e6:.0f} MB, largest {parsers.largest:,} bytes)"),
        ("parsers: time in the chain", f"{parsers.seconds:.0f} s ({1000 * parsers.seconds / max(1, parsers.messages):.2f} ms a message)"),
        ("parsers: classified", ", ".join(f"{k} {v:,}" for k, v in parsers.kinds.most_common())),
        ("parsers: slowest chain", f"{parsers.slowest:.3f} s: {parsers.slowest_what}"),
        ("parsers: over 1 s", f"{parsers.over_slow}"),
        ("parsers: memory measured", f"{parsers.measured:,} messages (every 100th, the 20 slowest under 5 s, RSS jumps"
         + (f", every one of {args.memory_from:,} bytes or more)" if args.memory_from else ")")),
        ("parsers: worst memory ratio", f"{parsers.worst_ratio:.1f}x: {parsers.worst_ratio_what}"),
        ("parsers: largest peak", f"{parsers.worst_peak / 1e6:.1f} MB: {parsers.worst_peak_what}"),
        ("parsers: over 10x + 1 MiB", f"{parsers.over_memory}"),
        ("parsers: exceptions (distinct)", f"{sum(1 for f in parsers.findings.values() if f.kind == 'exception')}"),
        ("parsers: mail-parser fell back to the email package", f"{parsers.fallbacks_mail_parser:,}"),
        ("parsers: drafts refused (UnsupportedDraft)", f"{parsers.refused_drafts:,}"),
        ("end to end: messages", f"{e2e.messages:,} in {e2e.seconds:.0f} s (batches of 200, a day apart)"),
        ("end to end: outcomes", ", ".join(f"{k} {v:,}" for k, v in sorted(e2e.outcomes.items()))
         + f"; the same Message-ID again {e2e.same_message_again}"),
        ("end to end: lost / left in the inbox", f"{e2e.lost} / {e2e.left_in_inbox}"),
        ("end to end: slowest message", f"{e2e.slowest:.3f} s: {e2e.slowest_what}"),
        ("end to end: outgoing mails checked", f"{e2e.sent_checked:,}; header block broken in {e2e.header_failures}"),
        ("end to end: outbox", ", ".join(f"{k} {v}" for k, v in sorted(e2e.outbox_states.items()))),
    ]  # fmt: skip
    findings = sorted(
        [*parsers.findings.values(), *e2e.findings.values()], key=lambda f: (f.kind, f.signature)
    )
    width = max(len(k) for k, _ in rows)
    lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
    lines.append(f"\nfindings: {len(findings)} distinct")
    for f in findings:
        lines.append(f"  [{f.kind}] {f.signature} (x{f.count}): {f.detail[:160]}")
        if f.raw:
            lines.append(
                f"      reproducer bench/fuzz-findings/{f.reproducer()} (seed {f.seed}, {'+'.join(f.mutations)})"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000, help="mutated messages through the parsers")
    parser.add_argument("--e2e", type=int, default=2_000, help="mutated messages through the pipeline")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--findings", type=Path, default=FINDINGS, help="where reproducers are written")
    parser.add_argument("--keep", type=Path, help="keep the end-to-end data directory here")
    parser.add_argument(
        "--memory-from", type=int, default=0, metavar="BYTES",
        help="also measure the memory of every message of at least BYTES (slower: tracemalloc)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)  # quarantines are read from the store, not the log
    logging.getLogger().setLevel(logging.CRITICAL)
    seeds = load_seeds()
    started = time.perf_counter()
    print(f"bench.fuzz: {len(seeds)} seeds, seed {args.seed}", file=sys.stderr)
    parsers = fuzz_parsers(args.messages, args.seed, seeds, memory_from=args.memory_from)
    if args.keep:
        shutil.rmtree(args.keep, ignore_errors=True)
        args.keep.mkdir(parents=True)
        e2e = fuzz_e2e(args.e2e, args.seed, seeds, args.keep) if args.e2e else E2EReport()
    else:
        with tempfile.TemporaryDirectory(prefix="minutesd-fuzz-") as scratch:
            e2e = fuzz_e2e(args.e2e, args.seed, seeds, Path(scratch)) if args.e2e else E2EReport()
    took = time.perf_counter() - started
    findings = sorted(
        [*parsers.findings.values(), *e2e.findings.values()], key=lambda f: (f.kind, f.signature)
    )
    write_findings(findings, args.findings)
    print(summary(args, seeds, parsers, e2e, took))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
