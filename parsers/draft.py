"""Which part of a message or file is the draft, as a Document. Pure: bytes in, document out."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from itertools import islice
from pathlib import PurePath

from parsers.charsets import decode_bytes, until_binary
from parsers.document import Document, Table, from_docx, from_html, from_text, has_table, looks_like_html
from parsers.html_cost import MAX_PARSE_WORK, parse_work
from parsers.message import InboundMessage

DRAFT_EXTENSIONS = (".docx", ".md", ".markdown", ".txt", ".html", ".htm")


class UnsupportedDraft(ValueError):
    """The file is of a kind the parser does not read (a PDF, an image, an old .doc)."""


@dataclass(frozen=True)
class DocumentLimits:
    """Bounded work: a draft past these is refused before it is parsed, never half-parsed.
    The service takes them from the rules (`limits:`); these are the defaults."""

    text_bytes: int = 2 * 1024 * 1024  # a text or HTML draft, or body
    unzipped_bytes: int = 30 * 1024 * 1024  # a .docx's parts, from the zip's own directory
    blocks: int = 4000  # paragraphs and tables of one draft
    cells: int = 40000
    html_elements: int = 40000  # start tags, counted before the HTML is parsed into a tree


DEFAULT_LIMITS = DocumentLimits()


def _bounded(document: Document, suffix: str, limits: DocumentLimits) -> Document:
    cells = sum(len(row) for block in document.blocks if isinstance(block, Table) for row in block.rows)
    if len(document.blocks) > limits.blocks or cells > limits.cells:
        raise UnsupportedDraft(f"{suffix} (too long: {len(document.blocks)} paragraphs, {cells} cells)")
    return document


_START_TAG = re.compile(r"<[A-Za-z]")


def _from_bounded_html(html: str, what: str, limits: DocumentLimits) -> Document:
    """The tree the document reader walks costs time and memory by element (200,000 took 5 s
    and 120 MB): count them in the text first."""
    # Counted up to the limit and no further: a list of every tag found was 60 bytes a tag
    # (8.9 MB to refuse a 750 KB page of 150,000).
    elements = sum(1 for _ in islice(_START_TAG.finditer(html), limits.html_elements + 1))
    if elements > limits.html_elements:
        raise UnsupportedDraft(f"{what} (too many HTML elements: more than {limits.html_elements:,})")
    if parse_work(html) > MAX_PARSE_WORK:
        raise UnsupportedDraft(f"{what} (HTML elements left open too deep to read)")
    return _bounded(from_html(html), what, limits)


def _unzipped_size(data: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sum(info.file_size for info in archive.infolist())


def _paragraphs_in(data: bytes) -> int:
    """Paragraph elements in the body, counted in the raw XML before python-docx builds objects."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        try:
            body = archive.read("word/document.xml")
        except KeyError:
            return 0
    return body.count(b"<w:p>") + body.count(b"<w:p ") + body.count(b"<w:p/>")


def document_from_file(name: str, data: bytes, limits: DocumentLimits = DEFAULT_LIMITS) -> Document:
    suffix = PurePath(name).suffix.lower()
    if suffix == ".docx":
        try:
            size = _unzipped_size(data)
            if size > limits.unzipped_bytes:
                raise UnsupportedDraft(f"{suffix} (too large unpacked: {size // (1024 * 1024)} MB)")
            paragraphs = _paragraphs_in(data)
        except UnsupportedDraft:
            raise
        # A damaged zip fails in many ways: a bad CRC, zlib's error, an unsupported version.
        except (
            zipfile.BadZipFile,
            zlib.error,
            OSError,
            ValueError,
            NotImplementedError,
            EOFError,
            RuntimeError,
        ) as exc:
            raise UnsupportedDraft(f"{suffix} ({type(exc).__name__})") from exc
        if paragraphs > limits.blocks * 10:
            raise UnsupportedDraft(f"{suffix} (too long: {paragraphs} paragraphs)")
        try:
            return _bounded(from_docx(data), suffix, limits)
        except UnsupportedDraft:
            raise
        except Exception as exc:  # python-docx raises zip, XML and key errors on damaged files
            raise UnsupportedDraft(f"{suffix} ({type(exc).__name__})") from exc
    if len(data) > limits.text_bytes:
        raise UnsupportedDraft(f"{suffix or 'text'} (too large: {len(data) // 1024} KB)")
    if suffix in (".doc", ".pdf", ".xls", ".xlsx", ".png", ".jpg", ".jpeg"):
        raise UnsupportedDraft(suffix)
    text = decode_bytes(data, None).lstrip("\ufeff")
    if until_binary(text)[1]:
        raise UnsupportedDraft(f"{suffix or 'text'} (binary data, not text)")
    if suffix in (".html", ".htm") or (suffix not in (".md", ".markdown", ".txt") and looks_like_html(text)):
        return _from_bounded_html(text, suffix, limits)
    return _bounded(from_text(text), suffix, limits)


def document_from_message(msg: InboundMessage, limits: DocumentLimits = DEFAULT_LIMITS) -> Document:
    """An attached draft wins; then an HTML body with tables (pasted from Word); then the text."""
    for attachment in msg.attachments:
        if attachment.filename.lower().endswith(DRAFT_EXTENSIONS):
            return document_from_file(attachment.filename, attachment.data, limits)
    if msg.html and (has_table(msg.html) or not msg.text.strip()):
        if len(msg.html) > limits.text_bytes:
            raise UnsupportedDraft(f"HTML (too large: {len(msg.html) // 1024} KB)")
        return _from_bounded_html(msg.html, "HTML", limits)
    if len(msg.text) > limits.text_bytes:
        raise UnsupportedDraft(f"text (too large: {len(msg.text) // 1024} KB)")
    return _bounded(from_text(msg.text), "text", limits)
