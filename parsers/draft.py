"""Which part of a message or file is the draft, as a Document. Pure: bytes in, document out."""

from __future__ import annotations

from pathlib import PurePath

from parsers.charsets import decode_bytes
from parsers.document import Document, from_docx, from_html, from_text, looks_like_html
from parsers.message import InboundMessage

DRAFT_EXTENSIONS = (".docx", ".md", ".markdown", ".txt", ".html", ".htm")


class UnsupportedDraft(ValueError):
    """The file is of a kind the parser does not read (a PDF, an image, an old .doc)."""


def document_from_file(name: str, data: bytes) -> Document:
    suffix = PurePath(name).suffix.lower()
    if suffix == ".docx":
        try:
            return from_docx(data)
        except Exception as exc:  # python-docx raises zip, XML and key errors on damaged files
            raise UnsupportedDraft(f"{suffix} ({type(exc).__name__})") from exc
    if suffix in (".doc", ".pdf", ".xls", ".xlsx", ".png", ".jpg", ".jpeg"):
        raise UnsupportedDraft(suffix)
    text = decode_bytes(data, None).lstrip("\ufeff")
    if suffix in (".html", ".htm") or (suffix not in (".md", ".markdown", ".txt") and looks_like_html(text)):
        return from_html(text)
    return from_text(text)


def document_from_message(msg: InboundMessage) -> Document:
    """An attached draft wins; then an HTML body with tables (pasted from Word); then the text."""
    for attachment in msg.attachments:
        if attachment.filename.lower().endswith(DRAFT_EXTENSIONS):
            return document_from_file(attachment.filename, attachment.data)
    if msg.html and ("<table" in msg.html.lower() or not msg.text.strip()):
        return from_html(msg.html)
    return from_text(msg.text)
