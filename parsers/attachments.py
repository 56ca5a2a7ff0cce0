"""The attachments of a parsed message. Pure: no I/O, never raises on bad input.

Which parts are attachments, what they are called and what their bytes are follow mail-parser's
rules, with its own helpers for the fiddly parts (content headers of 8-bit bytes, encoded-word
names, flattening an attached message). What we no longer run is the rest of its parse: it
decodes and keeps every body a second time, re-encodes each file to base64 and builds two
dictionaries of the whole message; for an attached 300 KB container that was 4 MB, and for a
reply of text only a millisecond. Its whole parse still answers the one case its rules need
it for: parts dug out of an epilogue after a lost boundary.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from dataclasses import dataclass
from email.message import Message

import mailparser
from mailparser.utils import as_string_safe, decode_header_part, mime_header_view, raw_payload

from parsers.charsets import decode_header_value

log = logging.getLogger(__name__)
# mail-parser logs every part type it does not render, and an ERROR for every encoded word it
# cannot decode (spam is full of them): noise in an operator's log, and what matters of it is
# in the message's defects.
logging.getLogger("mailparser").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str = ""  # without <>: an inline part the HTML body shows as cid:…

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def attachments_and_defects(msg: Message) -> tuple[tuple[Attachment, ...], list[str]]:
    defects = _part_defects(msg)
    if _only_bodies(msg):
        return (), defects
    try:
        if _lost_boundary(msg):
            mail = _mail_parser_for_attachments(msg)
            return _from_mail_parser(mail), [str(d) for d in mail.defects]
        return _by_mail_parser_rules(msg), defects
    except Exception as exc:  # a parser bug must not lose the message: fall back to the stdlib
        log.debug("mail-parser failed, using the email package alone: %r", exc)
        return _walk_attachments(msg), [*defects, f"mail-parser: {exc!r}"]


def _by_mail_parser_rules(msg: Message) -> tuple[Attachment, ...]:
    """A part is an attachment if it has a name; or, unnamed, a Content-ID and a type that is not
    text; or is RTF; or is marked attachment. A multipart counts only when marked attachment, and
    is then the text of its parts. An unnamed one is called `attachment.txt` / `.rtf` (mail-parser
    names them at random, which would give a replayed message other file names)."""
    found: list[Attachment] = []
    for part in msg.walk():
        view, _ = mime_header_view(part)
        disposition = str(view.get_content_disposition() or "").lower()
        if part.is_multipart() and disposition != "attachment":
            continue
        name = decode_header_part(view.get_filename(), defects=[])
        content_id = str(view.get("content-id") or "")
        subtype = str(view.get_content_subtype() or "")
        if not name:
            if content_id and subtype not in ("html", "plain"):
                name = content_id
            elif subtype == "rtf":
                name = "attachment.rtf"
            elif disposition == "attachment":
                name = "attachment.txt"
            else:
                continue
        found.append(
            Attachment(
                decode_header_value(name) or "attachment",
                str(view.get_content_type() or ""),
                _data(part, str(view.get("content-transfer-encoding", "")).strip().lower()),
                content_id.strip().strip("<>"),
            )
        )
    return tuple(found)


def _data(part: Message, transfer_encoding: str) -> bytes:
    if part.is_multipart():
        return _utf8("".join(as_string_safe(m) for m in part.get_payload(decode=False)))
    if transfer_encoding == "base64":
        payload = raw_payload(part)  # the base64 text, or the bytes when its charset is refused
        if not isinstance(payload, str):
            return payload if isinstance(payload, bytes) else b""
        try:
            return base64.b64decode(payload)
        except (binascii.Error, ValueError):
            return payload.encode("utf-8", errors="replace")
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="replace")


def _boundary_lost_in(part: Message) -> bool:
    """The part's multipart boundary never starts: mail-parser digs parts out of its epilogue."""
    return any(type(d).__name__ == "StartBoundaryNotFoundDefect" for d in part.defects)


def _lost_boundary(msg: Message) -> bool:
    return any(_boundary_lost_in(part) for part in msg.walk())


def _walk_attachments(msg: Message) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_disposition() != "attachment":
            continue
        try:
            data = part.get_payload(decode=True)
        except (AssertionError, ValueError, LookupError):
            data = None
        name = decode_header_value(part.get_filename() or "") or "attachment"
        content_id = str(part.get("Content-ID") or "").strip().strip("<>")
        found.append(
            Attachment(name, part.get_content_type(), data if isinstance(data, bytes) else b"", content_id)
        )
    return tuple(found)


def _from_mail_parser(mail: mailparser.MailParser) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    for att in mail.attachments:
        payload = att.get("payload") or ""
        try:
            data = base64.b64decode(payload) if att.get("binary") else str(payload).encode("utf-8")
        except (binascii.Error, ValueError):
            data = str(payload).encode("utf-8", errors="replace")
        name = decode_header_value(att.get("filename") or "") or "attachment"
        content_id = str(att.get("content-id") or "").strip().strip("<>")
        found.append(Attachment(name, str(att.get("mail_content_type") or ""), data, content_id))
    return tuple(found)


_ATTACHMENT_SIGNS = ("name", "attachment")  # filename=, name=, name*0*=, and the disposition


def _attachment_signs(part: Message) -> bool:
    """A name, a Content-ID or an attachment disposition anywhere in the part's raw content
    headers: looser than any reading of them, mail-parser's included."""
    if part.get("content-id") is not None:
        return True
    # Header by header, each lowered once: the headers joined, then lowered for each sign, were
    # three copies of a part header of a few hundred KB.
    for key, value in part.raw_items():
        if key.lower() in ("content-type", "content-disposition"):
            lowered = str(value).lower()
            if any(sign in lowered for sign in _ATTACHMENT_SIGNS):
                return True
    return False


def _certain_bodies(part: Message) -> list[Message]:
    """The text parts mail-parser cannot take for attachments: reached through multiparts
    without a sign of an attachment (it copies a container attached whole, children and all),
    never inside an attached message."""
    if _attachment_signs(part):
        return []
    if part.get_content_maintype() == "multipart" and part.is_multipart():
        children = part.get_payload()
        return [body for child in children if isinstance(child, Message) for body in _certain_bodies(child)]
    if part.is_multipart() or part.get_content_type() not in ("text/plain", "text/html"):
        return []
    return [part]


def _only_bodies(part: Message) -> bool:
    """Nothing that could be an attachment: multiparts without a sign of one, down to text
    bodies, and no lost boundary. Most replies are this."""
    if _boundary_lost_in(part):
        return False
    if part.get_content_maintype() == "multipart" and part.is_multipart():
        children = part.get_payload()
        return not _attachment_signs(part) and all(
            isinstance(child, Message) and _only_bodies(child) for child in children
        )
    return _certain_bodies(part) == [part]


def _part_defects(msg: Message) -> list[str]:
    """The email package's defects of each part, written as mail-parser writes them."""
    found: list[str] = []
    for part in msg.walk():
        named = [f"{type(d).__name__}: {type(d).__doc__}" for d in part.defects]
        if named:
            found.append(str({part.get_content_type(): named}))
    return found


def _mail_parser_for_attachments(msg: Message) -> mailparser.MailParser:
    """mail-parser's whole parse, for a message with a lost boundary. It also decodes and copies
    every text body, which we read ourselves: a 1.6 MB body cost 14 MB in it. Bodies that cannot
    be attachments are hidden from it while it runs."""
    # The payload as stored: get_payload() answers a body of 8-bit bytes decoded, not as it is.
    hidden = [(part, part._payload) for part in _certain_bodies(msg)]  # type: ignore[attr-defined]
    # And the message's own header fields other than its content headers: it reads every Date,
    # Received and address field too (2,000 duplicated Date fields cost 0.9 MB in it), and
    # none of them decides what is attached.
    fields = msg._headers  # type: ignore[attr-defined]
    try:
        for part, _ in hidden:
            part.set_payload("")
        msg._headers = [(k, v) for k, v in fields if _is_content_field(k)]  # type: ignore[attr-defined]
        return mailparser.MailParser(msg)
    finally:
        msg._headers = fields  # type: ignore[attr-defined]
        for part, payload in hidden:
            part._payload = payload  # type: ignore[attr-defined]


def _is_content_field(name: str) -> bool:
    name = name.lower()
    return name.startswith("content-") or name == "mime-version"
