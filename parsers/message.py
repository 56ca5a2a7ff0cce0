"""Raw RFC 5322 bytes to a typed message. Pure: no I/O, never raises on bad input.

The email package does the MIME walk; `attachments` picks the attachments by mail-parser's rules;
`charsets` decodes text with a tolerant policy because Chinese mail routinely mislabels its charset.
"""

from __future__ import annotations

import contextlib
import email.feedparser
import email.header
import email.parser
import email.utils
import hashlib
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import Message

from parsers.attachments import Attachment, attachments_and_defects
from parsers.bounds import (
    MAX_BOUNDARY_CHECKS,
    MAX_MIME_DEPTH,
    bounded_fields,
    bounded_part_fields,
    mime_depth,
)
from parsers.charsets import decode_bytes, decode_header_value, header_text, html_to_text, until_binary

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboundMessage:
    message_id: str
    subject: str
    from_name: str
    from_addr: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: tuple[str, ...]
    date: datetime | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    headers: dict[str, str]
    text: str
    html: str
    attachments: tuple[Attachment, ...]
    content_type: str
    report_type: str
    failed_recipients: tuple[str, ...] = ()
    defects: tuple[str, ...] = field(default_factory=tuple)
    from_addresses: tuple[str, ...] = ()  # every address in From: a person is exactly one
    sender_addr: str = ""  # the Sender: header's address, when there is one
    auth_results: tuple[str, ...] = ()  # each Authentication-Results header, as received

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Message-IDs this one answers, most specific first."""
        return tuple(dict.fromkeys((*self.in_reply_to, *reversed(self.references))))


_MSGID = re.compile(r"<([\x21-\x3b\x3d\x3f-\x7e]{1,250})>")  # printable ASCII only: nothing to inject
_MAX_IDS = 100  # the most recent References are enough to find a thread; 40,000 are an attack


def _ids(value: str) -> tuple[str, ...]:
    found = _MSGID.findall(value[-40_000:])
    if not found and _BARE_ID.fullmatch(value.strip().strip("<>")):
        found = [value.strip().strip("<>")]
    return tuple(found[-_MAX_IDS:])


_BARE_ID = re.compile(r"[\x21-\x3b\x3d\x3f-\x7e]{1,250}")


_ENCODED = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_BARE_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


def _address_pairs(values: Sequence[object]) -> list[tuple[str, str]]:
    texts = [decode_header_value(v) for v in values]
    try:
        return email.utils.getaddresses(texts)
    except (RecursionError, ValueError, IndexError, TypeError):
        # Pathological headers (deeply nested comments) defeat the stdlib parser.
        return [("", found) for text in texts for found in _BARE_ADDRESS.findall(text[:10000])]


# RFC 5321's longest path: a longer "address" can be neither delivered nor answered, and an
# answer's To of 10,000 characters is a header line no server takes.
MAX_ADDRESS = 254


def _sender_pairs(values: Sequence[object]) -> list[tuple[str, str]]:
    """Addresses parsed before any display name is decoded: an encoded name that holds
    "王磊 <wang.lei@…>, " is a name, never a second address (what DMARC sees is what we see)."""
    words: list[str] = []

    def mask(match: re.Match[str]) -> str:
        # An encoded word is one opaque token: its ":" or "@" never shape the address list.
        words.append(match.group(0))
        return f"ENCODEDWORD{len(words) - 1}X"

    raw = [_ENCODED.sub(mask, header_text(v)) for v in values]
    try:
        pairs = email.utils.getaddresses(raw)
    except (RecursionError, ValueError, IndexError, TypeError):
        return [("", found) for text in raw for found in _BARE_ADDRESS.findall(text[:10000])]

    def unmask(text: str) -> str:
        return re.sub(r"ENCODEDWORD(\d+)X", lambda m: words[int(m.group(1))], text)

    return [
        (decode_header_value(unmask(name)), addr)
        for name, addr in pairs
        if addr and "ENCODEDWORD" not in addr and len(addr) <= MAX_ADDRESS
    ]


def _clean(value: str) -> str:
    """No control character (an encoded CR/LF) survives into an address we may answer."""
    return "".join(ch for ch in value if ch.isprintable()).strip()


def _addresses(values: Sequence[object]) -> tuple[str, ...]:
    return tuple(
        addr.strip().lower() for _, addr in _address_pairs(values) if "@" in addr and len(addr) <= MAX_ADDRESS
    )


def _parse_date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        return None
    try:
        utc = parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    # Year 1 or 9999 is no date anyone wrote, and moved into another zone it overflows.
    return parsed if 1 < utc.year < 9999 else None


def _part_text(part: Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except (AssertionError, ValueError, LookupError):
        payload = None
    if payload is None:
        raw = part.get_payload()
        if isinstance(raw, str):
            payload = raw.encode("utf-8", errors="surrogateescape")
        else:
            return ""
    if not isinstance(payload, bytes):
        return ""
    return decode_bytes(payload, part.get_content_charset() or part.get_param("charset"))  # type: ignore[arg-type]


def _bodies(msg: Message) -> tuple[str, str, list[str]]:
    """The plain and the HTML text, each part up to any binary data in it, and what was left."""
    plain: list[str] = []
    html: list[str] = []
    defects: list[str] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        if part.get_content_disposition() == "attachment":
            continue
        ctype = part.get_content_type()
        if ctype in ("text/plain", "text/html"):
            text, left = until_binary(_part_text(part))
            (plain if ctype == "text/plain" else html).append(text)
            if left:
                defects.append(f"binary data in a {ctype} body: its last {left:,} characters not read")
    return "\n".join(plain), "\n".join(html), defects


def _failed_recipients(msg: Message) -> tuple[str, ...]:
    """Final-Recipient of each per-recipient block whose Action is failed (RFC 3464)."""
    failed: list[str] = []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        for block in blocks:
            if not isinstance(block, Message):
                continue
            if not str(block.get("action", "")).strip().lower().startswith("fail"):  # "failure" too
                continue
            # Original-Recipient is the address we wrote to; Final-Recipient may be rewritten.
            for header in ("original-recipient", "final-recipient"):
                addr = str(block.get(header) or "").rpartition(";")[2].strip().strip("<>").lower()
                if "@" in addr and addr not in failed:
                    failed.append(addr)
    return tuple(failed)


_HEADER_BYTES = 64 * 1024  # a header block larger than this is itself an attack; the rest is cut


def header_block(raw: bytes) -> bytes:
    """The message up to its first empty line (at most 64 KB), as a message without a body."""
    head = raw[:_HEADER_BYTES].lstrip(b"\r\n")
    ends = [i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0]
    cut = min(ends) if ends else head.rfind(b"\n") + 1  # no end in sight: up to the last whole line
    head = head[:cut] if cut > 0 else head
    return head.rstrip(b"\r\n") + b"\r\n\r\n"


def parse_headers(raw: bytes) -> InboundMessage:
    """The message from its header block alone, with no body: what recognising our own copies,
    or answering a message too large to read, needs. The Message-ID a message without one gets
    is the same as parse_message gives it (a hash of the whole message)."""
    try:
        head, cut = bounded_fields(header_block(raw))
        # The header parser: the full one compiles a regex for a multipart's boundary even
        # when there is no body to split (half a millisecond for each of our own copies).
        return _from_headers(email.parser.BytesHeaderParser().parsebytes(head), raw, "", "", (), cut)
    except Exception:  # the headers alone are unreadable: the full reader's own guard decides
        return parse_message(header_block(raw))


def parse_message(raw: bytes) -> InboundMessage:
    """Parse raw message bytes; whatever the input, a message comes back."""
    try:
        return _parse(raw)
    except Exception as exc:  # the last guard: the header block, or a bare message
        log.debug("falling back to the header block: %r", exc)
        defect = f"unparseable: {exc!r}"
        if b"\x00" in raw:  # a NUL in a parameter's RFC 2231 charset stops the email package
            with contextlib.suppress(Exception):
                cleaned = _parse(raw.replace(b"\x00", b""))
                synthetic = f"sha256-{hashlib.sha256(raw).hexdigest()}@minutesd"  # of what came
                message_id = synthetic if cleaned.message_id.startswith("sha256-") else cleaned.message_id
                return replace(
                    cleaned, message_id=message_id, defects=(*cleaned.defects, "NUL bytes removed")
                )
        with contextlib.suppress(Exception):
            # A body the email package cannot take apart (a NUL in an RFC 2231 boundary's
            # charset) keeps the sender an answer: the headers, and the body as text.
            head = header_block(raw)
            text = decode_bytes(raw[len(head.rstrip(b"\r\n")) :], None).strip()
            fields = email.parser.BytesHeaderParser().parsebytes(head)
            return _from_headers(fields, raw, text, "", (), [defect])
        return InboundMessage(
            message_id=f"sha256-{hashlib.sha256(raw).hexdigest()}@minutesd",
            subject="",
            from_name="",
            from_addr="",
            to=(),
            cc=(),
            reply_to=(),
            date=None,
            in_reply_to=(),
            references=(),
            headers={},
            text=decode_bytes(raw, None),
            html="",
            attachments=(),
            content_type="text/plain",
            report_type="",
            defects=(defect,),
        )


_FEED_BYTES = 65536
# The email package's own patterns for a header line and for the empty line after the headers
# (not in its declared interface, so read from the module: the cut must be where it cuts).
_HEADER_LINE: re.Pattern[str] = vars(email.feedparser)["headerRE"]
_LINE_BREAK: re.Pattern[str] = vars(email.feedparser)["NLCRE"]


def _message_from_bytes(raw: bytes) -> Message:
    """The email package's parse, with less of its memory: it holds a string object per line of
    a part until the part ends (50-80 bytes over each line's text: 10-13x the size of a body of
    short lines). A message of one part gets its body as it is; the rest is fed in pieces, which
    at least keeps the parser from splitting all of it into lines before it starts."""
    if len(raw) <= _FEED_BYTES:
        return email.message_from_bytes(raw)  # small: nothing to save, and no header read twice
    split = _single_part(raw)
    if split is not None:
        head, body = split
        msg = email.parser.BytesParser().parsebytes(head)
        if not (msg.defects or msg.is_multipart() or msg.get_content_maintype() in ("multipart", "message")):
            msg.set_payload(body.decode("ascii", "surrogateescape"))
            return msg
    parser = email.parser.BytesFeedParser()
    for start in range(0, len(raw), _FEED_BYTES):
        parser.feed(raw[start : start + _FEED_BYTES])
    return parser.close()


def _single_part(raw: bytes) -> tuple[bytes, bytes] | None:
    """The header block with its empty line, and the body, cut where the email package's parser
    ends the headers (its own patterns, over the lines as it splits them); None if it would not
    end them at an empty line within the first 64 KB."""
    text = raw[:_HEADER_BYTES].decode("ascii", "surrogateescape")
    at = 0
    for line in io.StringIO(text, newline=""):  # lines end at \r, \n or \r\n only, as in its reader
        if _HEADER_LINE.match(line):
            at += len(line)
            continue
        if not _LINE_BREAK.match(line) or at + len(line) >= len(text):
            return None  # no empty line, or it may run on past what was read
        at += len(line)
        return raw[:at], raw[at:]
    return None


def _parse(raw: bytes) -> InboundMessage:
    defects: list[str] = []
    if raw[:1] in (b"\r", b"\n"):
        # Some senders put a blank line before the headers; strict parsers then see none.
        raw = raw.lstrip(b"\r\n")
        defects.append("blank line before the headers")
    whole = raw  # what the synthetic Message-ID is a hash of
    raw, cut = bounded_fields(raw)
    defects += cut
    raw, cut = bounded_part_fields(raw)
    defects += cut
    depth = mime_depth(raw)
    lines = max(raw.count(b"\n"), raw.count(b"\r")) + 1
    if depth > MAX_MIME_DEPTH or depth * lines > MAX_BOUNDARY_CHECKS:
        defects.append(f"multiparts nested {depth} deep over {lines} lines: only the headers were read")
        return _from_headers(email.message_from_bytes(header_block(raw)), whole, "", "", (), defects)
    msg = _message_from_bytes(raw)
    attachments, found = attachments_and_defects(msg)
    defects += found
    text, html, binary = _bodies(msg)
    defects += binary
    if not text.strip() and html.strip():
        text = html_to_text(html)
    return _from_headers(msg, whole, text, html, attachments, defects)


def _from_headers(
    msg: Message, raw: bytes, text: str, html: str, attachments: tuple[Attachment, ...], defects: list[str]
) -> InboundMessage:
    headers = {k.lower(): decode_header_value(v) for k, v in msg.items()}
    from_pairs = _sender_pairs(msg.get_all("from", []))
    from_name, from_addr = from_pairs[0] if from_pairs else ("", "")
    sender_pairs = _sender_pairs(msg.get_all("sender", []))
    message_ids = _ids(headers.get("message-id", ""))
    message_id = message_ids[0] if message_ids else f"sha256-{hashlib.sha256(raw).hexdigest()}@minutesd"
    return InboundMessage(
        message_id=message_id,
        subject=" ".join(headers.get("subject", "").split()),
        from_name=_clean(from_name),
        from_addr=_clean(from_addr).lower(),
        from_addresses=tuple(_clean(a).lower() for _, a in from_pairs),
        sender_addr=_clean(sender_pairs[0][1]).lower() if sender_pairs else "",
        auth_results=tuple(" ".join(str(v).split()) for v in msg.get_all("authentication-results", [])),
        to=_addresses(msg.get_all("to", [])),
        cc=_addresses(msg.get_all("cc", [])),
        reply_to=_addresses(msg.get_all("reply-to", [])),
        date=_parse_date(headers.get("date", "")),
        in_reply_to=_ids(headers.get("in-reply-to", "")),
        references=_ids(headers.get("references", "")),
        headers=headers,
        text=text,
        html=html,
        attachments=attachments,
        content_type=msg.get_content_type(),
        report_type=(msg.get_param("report-type") or "")
        if msg.get_content_type() == "multipart/report"
        else "",  # type: ignore[arg-type]
        failed_recipients=_failed_recipients(msg),
        defects=tuple(defects),
    )
