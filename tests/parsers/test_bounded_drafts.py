"""Bounded work: a draft too large to read is refused before it is parsed, quickly and with a
reason the recorder can act on, never by running for minutes or gigabytes."""

from __future__ import annotations

import io
import zipfile

import pytest

from parsers.draft import UnsupportedDraft, document_from_file
from tests.conftest import SAMPLES


def _docx(document_xml: bytes) -> bytes:
    real = (SAMPLES / "draft-zh-attachment.docx").read_bytes()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(real)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = document_xml if info.filename == "word/document.xml" else source.read(info.filename)
            target.writestr(info.filename, data)
    return out.getvalue()


def test_a_docx_of_two_million_empty_paragraphs_is_refused_at_once() -> None:
    body = b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
    bomb = _docx(body + b"<w:p/>" * 2_000_000 + b"</w:body></w:document>")
    assert len(bomb) < 1_000_000
    with pytest.raises(UnsupportedDraft, match=r"too long: 2000000 paragraphs"):
        document_from_file("minutes.docx", bomb)  # counted in the raw XML: python-docx never builds them


def test_a_zip_bomb_is_refused_from_its_directory() -> None:
    bomb = _docx(b"<w:document>" + b" " * (60 * 1024 * 1024) + b"</w:document>")
    with pytest.raises(UnsupportedDraft, match="too large unpacked"):
        document_from_file("minutes.docx", bomb)


def test_a_huge_text_draft_is_refused_and_a_normal_one_is_read() -> None:
    with pytest.raises(UnsupportedDraft, match="too large"):
        document_from_file("minutes.txt", "会议名称:x\n".encode() * 400_000)
    assert document_from_file("draft-zh-plain.txt", (SAMPLES / "draft-zh-plain.txt").read_bytes()).blocks
