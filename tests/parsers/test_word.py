"""The .docx reader reads what python-docx reads, without opening the whole package.

python-docx stays a test dependency: it writes the documents here, and its reading is the
reference the reader is compared with.
"""

from __future__ import annotations

import contextlib
import io
import random
import tracemalloc
import zipfile
from pathlib import Path

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from docx.exceptions import InvalidSpanError
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph

from parsers.document import Document, Line, Table, from_docx, normal
from parsers.draft import UnsupportedDraft, document_from_file
from tests.conftest import SAMPLES

HERE = Path(__file__).resolve().parent
FIXTURES = [
    SAMPLES / "draft-zh-attachment.docx",
    HERE.parent / "cases" / "drafts" / "draft-two-level-header.docx",
]


def python_docx_reading(data: bytes) -> Document:
    """The reader this module replaced, as it was."""
    document = docx.Document(io.BytesIO(data))
    doc = Document(source="docx")
    paragraphs = tables = 0
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = normal(item.text).strip()
            if not text:
                continue
            paragraphs += 1
            style = (item.style.name if item.style is not None else "") or ""
            heading = style.startswith(("Heading", "Title")) or style.startswith("标题")
            for piece in text.split("\n"):
                if piece.strip():
                    doc.blocks.append(Line(piece.strip(), paragraphs, heading))
        elif isinstance(item, DocxTable):
            tables += 1
            rows = []
            for row in item.rows:
                cells = [
                    normal("\n".join(p.text.strip() for p in cell.paragraphs if p.text.strip()))
                    for cell in row.cells
                ]
                if any(cells):
                    rows.append(cells)
            doc.blocks.append(Table(rows, tables, paragraphs + 1))
    return doc


_WORDS = ["确认", "會議紀要", "行动项", "Ｆｕｌｌ", "deadline", "王磊", "", "  ", "１２月３日", "done"]


def _add_raw(run_parent: object, tag: str, **attributes: str) -> None:
    element = OxmlElement(tag)
    for name, value in attributes.items():
        element.set(qn(name), value)
    run_parent._r.append(element)  # type: ignore[attr-defined]


def _fill_paragraph(rng: random.Random, paragraph: Paragraph) -> None:
    for _ in range(rng.randrange(0, 4)):
        run = paragraph.add_run(rng.choice(_WORDS) + rng.choice(["", "\t", "\n", " "]) + rng.choice(_WORDS))
        kind = rng.randrange(8)
        if kind == 0:
            _add_raw(run, "w:br", **{"w:type": rng.choice(["page", "column", "textWrapping"])})
        elif kind == 1:
            _add_raw(run, rng.choice(["w:cr", "w:noBreakHyphen", "w:ptab", "w:tab"]))
    if rng.random() < 0.3:  # a hyperlink: its runs are text; a run nested deeper is not
        link = OxmlElement("w:hyperlink")
        inner = OxmlElement("w:r")
        text = OxmlElement("w:t")
        text.text = rng.choice(_WORDS) + " https://example.test/"
        inner.append(text)
        link.append(inner)
        paragraph._p.append(link)
    if rng.random() < 0.2:
        smart = OxmlElement("w:smartTag")
        inner = OxmlElement("w:r")
        text = OxmlElement("w:t")
        text.text = "skipped by both"
        inner.append(text)
        smart.append(inner)
        paragraph._p.append(smart)


def _styles(document: docx.document.Document) -> list[str | None]:
    custom = document.styles.add_style("标题 2", WD_STYLE_TYPE.PARAGRAPH)
    custom.base_style = document.styles["Normal"]
    document.styles.add_style("Emphasis Run", WD_STYLE_TYPE.CHARACTER)
    names: list[str | None] = ["Normal", "Heading 1", "Heading 2", "Title", "标题 2", "List Number", None]
    return names


def _table(rng: random.Random, container: object, depth: int = 0) -> None:
    rows, cols = rng.randrange(1, 5), rng.randrange(1, 5)
    table = container.add_table(rows=rows, cols=cols)  # type: ignore[attr-defined]
    for row in table.rows:
        for cell in row.cells:
            cell.text = rng.choice(_WORDS)
            if rng.random() < 0.2:
                _fill_paragraph(rng, cell.add_paragraph())
    for _ in range(rng.randrange(0, 3)):  # merged across, down, or both
        r0, c0 = rng.randrange(rows), rng.randrange(cols)
        r1, c1 = rng.randrange(r0, rows), rng.randrange(c0, cols)
        with contextlib.suppress(InvalidSpanError):  # python-docx refuses what is no rectangle
            table.cell(r0, c0).merge(table.cell(r1, c1))
    if depth == 0 and rng.random() < 0.2:  # a table inside a cell is not read as one
        _table(rng, table.cell(0, 0), depth + 1)
    if rng.random() < 0.2:  # a row that starts one grid column late
        tr = table.rows[-1]._tr
        properties = tr.get_or_add_trPr()
        before = OxmlElement("w:gridBefore")
        before.set(qn("w:val"), "1")
        properties.insert(0, before)


def generated(seed: int) -> bytes:
    rng = random.Random(seed)
    document = docx.Document()
    styles = _styles(document)
    for _ in range(rng.randrange(1, 12)):
        if rng.random() < 0.3:
            _table(rng, document)
        else:
            paragraph = document.add_paragraph(rng.choice(_WORDS), style=rng.choice(styles))
            _fill_paragraph(rng, paragraph)
            if rng.random() < 0.1:  # a style id that names no style: the default style
                paragraph._p.get_or_add_pPr().get_or_add_pStyle().set(qn("w:val"), "NoSuchStyle")
            elif rng.random() < 0.1:  # a character style's id: not a paragraph style either
                paragraph._p.get_or_add_pPr().get_or_add_pStyle().set(qn("w:val"), "EmphasisRun")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_the_fixture_drafts_read_as_python_docx_reads_them(path: Path) -> None:
    data = path.read_bytes()
    expected = python_docx_reading(data)
    assert expected.blocks
    assert from_docx(data).blocks == expected.blocks


def test_generated_documents_read_as_python_docx_reads_them() -> None:
    features = {"heading": 0, "table": 0, "merged": 0, "tab": 0, "break": 0}
    refused = 0
    for seed in range(200):
        data = generated(seed)
        try:
            expected = python_docx_reading(data)
        except ValueError:  # a row moved a column late under a cell merged down: no cell above
            refused += 1
            with pytest.raises(ValueError, match="no cell above"):
                from_docx(data)
            continue
        assert from_docx(data).blocks == expected.blocks, seed
        for block in expected.blocks:
            if isinstance(block, Line):
                features["heading"] += block.heading
                features["tab"] += "\t" in block.text
            else:
                features["table"] += 1
                features["merged"] += any(len(set(row)) < len(row) for row in block.rows)
                features["break"] += any("\n" in cell for row in block.rows for cell in row)
    assert all(count >= 5 for count in features.values()), features  # the cases cover each
    assert 0 < refused < 30


def test_a_document_with_words_large_styles_is_read_without_opening_the_package() -> None:
    # Word writes 350 KB of styles.xml and 440 KB of stylesWithEffects.xml into every file;
    # python-docx read them all into memory to read a page of text (2.3 MB for a 37 KB draft).
    document = docx.Document()
    for n in range(1500):
        document.styles.add_style(f"Custom style {n}", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("会议纪要", style="Heading 1")
    document.add_paragraph("确认 by 王磊")
    buffer = io.BytesIO()
    document.save(buffer)
    data = buffer.getvalue()

    def peak(read: object) -> int:
        read(data)  # type: ignore[operator]
        tracemalloc.start()
        try:
            read(data)  # type: ignore[operator]
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert from_docx(data).blocks == [Line("会议纪要", 1, True), Line("确认 by 王磊", 2)]
    ours, theirs = peak(from_docx), peak(python_docx_reading)
    assert ours < theirs / 4, (ours, theirs)  # 0.48 MB, against 2.45 MB


def test_a_package_that_is_not_a_word_document_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr(
            "[Content_Types].xml",
            "<Types xmlns='http://schemas.openxmlformats.org/package/2006/content-types'/>",
        )
    with pytest.raises(UnsupportedDraft):
        document_from_file("minutes.docx", buffer.getvalue())


def test_a_span_wider_than_word_allows_is_cut_not_multiplied() -> None:
    document = docx.Document()
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "王磊"
    table.cell(0, 1).text = "确认"
    span = table.rows[0].cells[0]._tc.get_or_add_tcPr()
    wide = OxmlElement("w:gridSpan")
    wide.set(qn("w:val"), "100000000")
    span.append(wide)
    buffer = io.BytesIO()
    document.save(buffer)
    (read,) = from_docx(buffer.getvalue()).blocks
    assert isinstance(read, Table)
    assert read.rows == [["王磊"] * 64 + ["确认"]]
