"""Any draft (text, Markdown, HTML as Word and Outlook paste it, .docx) as one sequence of blocks.

A block is a line of text or a table of cells, each with where it came from, so
that every finding can point at the line or the table row of the original.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field

from bs4 import NavigableString, Tag

from parsers.charsets import html_soup


def normal(text: str) -> str:
    """NFKC: full-width colons, parentheses, digits and spaces as their ASCII forms; CJK unchanged."""
    return unicodedata.normalize("NFKC", text)


@dataclass(frozen=True)
class Line:
    text: str
    number: int  # 1-based line of the text, or the paragraph number of HTML/.docx
    heading: bool = False  # marked as a heading by the source (Markdown #, <h2>, a Word heading style)


@dataclass
class Table:
    rows: list[list[str]]
    number: int  # 1-based table number in the document
    line: int = 0  # the line where it starts, for text tables
    kind: str = "table"  # table, markdown, tabs, cells (one cell per line)


Block = Line | Table


@dataclass
class Document:
    blocks: list[Block] = field(default_factory=list)
    source: str = "text"  # text, html, docx

    @property
    def text(self) -> str:
        parts: list[str] = []
        for block in self.blocks:
            if isinstance(block, Line):
                parts.append(block.text)
            else:
                parts.extend("\t".join(row) for row in block.rows)
        return "\n".join(parts)


_PIPE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_PIPE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LIST_MARK = re.compile(r"^(?:\d{1,3}[.)、]|[((]\d{1,3}[))]|[·•\-*●▪◦§])$")
_MD_HEADING = re.compile(r"^\s*#{1,6}\s+")


def from_text(text: str) -> Document:
    """Plain text or Markdown: pipe tables and tab-separated runs become tables."""
    doc = Document(source="text")
    text = normal(text)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    tables = 0
    while i < len(lines):
        line = lines[i]
        if _PIPE_ROW.match(line):
            start = i
            rows: list[list[str]] = []
            while i < len(lines) and (_PIPE_ROW.match(lines[i]) or _PIPE_RULE.match(lines[i])):
                if not _PIPE_RULE.match(lines[i]):
                    rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            tables += 1
            doc.blocks.append(Table(rows, tables, start + 1, "markdown"))
            continue
        if "\t" in line.strip() and i + 1 < len(lines) and "\t" in lines[i + 1].strip():
            start = i
            rows = []
            while i < len(lines) and "\t" in lines[i].strip():
                rows.append([c.strip() for c in lines[i].strip().split("\t")])
                i += 1
            if _is_list(rows):
                # Outlook's numbered and bulleted lists: "1.<TAB>text", "·<TAB>text", not a table.
                for offset, row in enumerate(rows):
                    doc.blocks.append(Line(f"{row[0]} {row[1]}", start + offset + 1))
                continue
            tables += 1
            doc.blocks.append(Table(rows, tables, start + 1, "tabs"))
            continue
        stripped = line.strip()
        if stripped:
            heading = bool(_MD_HEADING.match(stripped))
            doc.blocks.append(Line(_MD_HEADING.sub("", stripped) if heading else stripped, i + 1, heading))
        i += 1
    return doc


_BLOCK_TAGS = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "dt", "dd"}
_HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


def _cell_text(cell: Tag) -> str:
    """A cell's text: <br> and paragraphs become new lines, Word's split spans join up."""
    for br in cell.find_all("br"):
        br.replace_with("\n")
    for block in cell.find_all(["p", "div", "li"]):
        block.insert_after("\n")
    text = cell.get_text()
    lines = [" ".join(part.split()) for part in text.replace("\xa0", " ").split("\n")]
    return "\n".join(line for line in lines if line)


_TABLE_TAG = re.compile(r"<table", re.IGNORECASE)


def has_table(html: str) -> bool:
    """Whether the HTML holds a table, without lowering a copy of it (str.lower() of a 3 MB
    Chinese page allocates 40 MB: room for every character to become three)."""
    return _TABLE_TAG.search(html) is not None


def from_html(html: str) -> Document:
    soup = html_soup(normal(html))  # no deeper than MAX_HTML_DEPTH: the walk below recurses
    for tag in soup(["script", "style", "head", "title", "meta", "xml"]):
        tag.decompose()
    # Outlook and Word replies quote the thread in these: a draft is what is above them.
    for quoted in soup.select("div.gmail_quote, blockquote[type=cite], #divRplyFwdMsg"):
        quoted.decompose()
    doc = Document(source="html")
    counter = {"line": 0, "table": 0}

    def add_line(text: str, heading: bool = False) -> None:
        for piece in text.split("\n"):
            clean = " ".join(piece.replace("\xa0", " ").split())
            if clean:
                counter["line"] += 1
                doc.blocks.append(Line(clean, counter["line"], heading))

    def walk(node: Tag) -> None:
        buffer: list[str] = []

        def flush() -> None:
            if buffer:
                add_line("".join(buffer))
                buffer.clear()

        for child in node.children:
            if isinstance(child, NavigableString):
                buffer.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name.lower()
            if name == "table":
                flush()
                rows = _html_grid(child)
                counter["table"] += 1
                doc.blocks.append(Table(rows, counter["table"], counter["line"] + 1))
            elif name == "br":
                buffer.append("\n")
            elif name in _BLOCK_TAGS or name in ("ul", "ol", "section", "article", "body", "main", "center"):
                flush()
                if child.find("table"):
                    walk(child)
                elif name in _HEADING_TAGS:
                    add_line(_cell_text(child), heading=True)
                elif name in ("ul", "ol", "section", "article", "body", "main", "center"):
                    walk(child)
                else:
                    add_line(_cell_text(child))
            else:
                if child.find("table") or child.find(list(_BLOCK_TAGS)):
                    flush()
                    walk(child)
                else:
                    buffer.append(child.get_text())
        flush()

    walk(soup.body or soup)
    return doc


def _html_grid(table: Tag) -> list[list[str]]:
    """The table as a full grid: a cell with colspan or rowspan fills every place it covers."""
    grid: list[list[str]] = []
    pending: dict[int, tuple[str, int]] = {}  # column → (text, rows still covered below)
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue
        row: list[str] = []
        cells = [td for td in tr.find_all(["td", "th"]) if td.find_parent("tr") is tr]
        for td in cells:
            _fill_spanned(row, pending)
            text = _cell_text(td)
            down = _span(td.get("rowspan"))
            for _ in range(_span(td.get("colspan"))):
                if down > 1:
                    pending[len(row)] = (text, down - 1)
                row.append(text)
        _fill_spanned(row, pending)
        if any(row):
            grid.append(row)
    return grid


def _is_list(rows: list[list[str]]) -> bool:
    """Rows of "1." / "·" and text: a numbered or bulleted list, numbered from 1 if numbered."""
    if not all(len(row) == 2 and _LIST_MARK.match(row[0]) for row in rows):
        return False
    numbers = [int(n) for row in rows if (n := re.sub(r"\D", "", row[0]))]
    return not numbers or numbers == list(range(numbers[0], numbers[0] + len(rows)))


def _fill_spanned(row: list[str], pending: dict[int, tuple[str, int]]) -> None:
    """Cells covered by a rowspan from above, at the place the row has reached."""
    while len(row) in pending:
        column = len(row)
        text, left = pending[column]
        row.append(text)
        if left <= 1:
            del pending[column]
        else:
            pending[column] = (text, left - 1)


def _span(value: object) -> int:
    try:
        return max(1, min(int(str(value)), 50))
    except (TypeError, ValueError):
        return 1


def from_docx(data: bytes) -> Document:
    import docx
    from docx.table import Table as DocxTable
    from docx.text.paragraph import Paragraph

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
                # A merged cell repeats itself across its span, across and down: the grid stays
                # whole, so a two-level header and a department merged over two items line up.
                cells = [
                    normal("\n".join(p.text.strip() for p in cell.paragraphs if p.text.strip()))
                    for cell in row.cells
                ]
                if any(cells):
                    rows.append(cells)
            doc.blocks.append(Table(rows, tables, paragraphs + 1))
    return doc


def looks_like_html(text: str) -> bool:
    head = text.lstrip()[:2000].lower()
    return head.startswith(("<!doctype html", "<html")) or bool(re.search(r"<(table|p|div|body|br)\b", head))
