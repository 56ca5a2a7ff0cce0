"""Any draft (text, Markdown, HTML as Word and Outlook paste it, .docx) as one sequence of blocks.

A block is a line of text or a table of cells, each with where it came from, so
that every finding can point at the line or the table row of the original.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from parsers.charsets import MAX_HTML_DEPTH, iter_lines

if TYPE_CHECKING:
    from lxml.etree import TreeBuilder, _Element


def normal(text: str) -> str:
    """NFKC: full-width colons, parentheses, digits and spaces as their ASCII forms; CJK unchanged."""
    return unicodedata.normalize("NFKC", text)


@dataclass(frozen=True, slots=True)  # a draft of 5,000 lines held 1 MB of Line dicts
class Line:
    text: str
    number: int  # 1-based line of the text, or the paragraph number of HTML/.docx
    heading: bool = False  # marked as a heading by the source (Markdown #, <h2>, a Word heading style)


@dataclass(slots=True)
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
        return "\n".join(self.lines())

    def lines(self) -> Iterator[str]:
        """Each line, and each table row with its cells joined by tabs, in order."""
        for block in self.blocks:
            if isinstance(block, Line):
                yield block.text
            else:
                yield from ("\t".join(row) for row in block.rows)


_PIPE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_PIPE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LIST_MARK = re.compile(r"^(?:\d{1,3}[.)、]|[((]\d{1,3}[))]|[·•\-*●▪◦§])$")
_MD_HEADING = re.compile(r"^\s*#{1,6}\s+")


def from_text(text: str) -> Document:
    """Plain text or Markdown: pipe tables and tab-separated runs become tables."""
    doc = Document(source="text")
    # Line by line: no line break comes out of NFKC, and a whole normalized copy of the
    # text beside its lines was the largest part of reading a long text draft.
    lines = [normal(line) for line in iter_lines(text)]
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
                lines[i] = ""  # its cells are its copy; nothing looks back at it
                i += 1
            tables += 1
            doc.blocks.append(Table(rows, tables, start + 1, "markdown"))
            continue
        if "\t" in line.strip() and i + 1 < len(lines) and "\t" in lines[i + 1].strip():
            start = i
            rows = []
            while i < len(lines) and "\t" in lines[i].strip():
                rows.append([c.strip() for c in lines[i].strip().split("\t")])
                lines[i] = ""
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
_CONTAINERS = {"ul", "ol", "section", "article", "body", "main", "center"}
_CELL_BREAKS = {"p", "div", "li"}
_TABLE = frozenset(("table",))
_BLOCK_OR_TABLE = frozenset(_BLOCK_TAGS | _TABLE)
_HAS = {
    names: "boolean(" + " | ".join(f".//{name}" for name in sorted(names)) + ")"
    for names in (_TABLE, _BLOCK_OR_TABLE)
}
_DROPPED = " | ".join(f"//{name}" for name in ("script", "style", "head", "title", "meta", "xml"))
# Outlook and Word replies quote the thread in these: a draft is what is above them.
_QUOTED = (
    "//div[contains(concat(' ', normalize-space(@class), ' '), ' gmail_quote ')]"
    " | //blockquote[@type='cite'] | //*[@id='divRplyFwdMsg']"
)


def _name(node: _Element) -> str:
    return node.tag.lower() if isinstance(node.tag, str) else ""


def _has(node: _Element, names: frozenset[str]) -> bool:
    """Whether a node holds one of these elements (in C: lxml's own walk of a deep tree costs
    a step per level for each element it passes)."""
    return bool(node.xpath(_HAS[names]))


def _strings(node: _Element, cell: bool) -> Iterator[str]:
    """The text under a node, without its tail. In a cell, <br> and the end of a paragraph are
    new lines; comments are never text."""
    todo: list[tuple[_Element, bool]] = [(node, False)]
    while todo:
        current, closing = todo.pop()
        name = _name(current)
        if closing:
            if cell and name in _CELL_BREAKS and current is not node:
                yield "\n"
            if current is not node and current.tail:
                yield current.tail
            continue
        if not name:  # a comment or processing instruction: its tail is text
            if current is not node and current.tail:
                yield current.tail
            continue
        if cell and name == "br":
            yield "\n"
        if current.text:
            yield current.text
        todo.append((current, True))
        todo.extend((child, False) for child in reversed(current))


def _cell_text(cell: _Element) -> str:
    """A cell's text: <br> and paragraphs become new lines, Word's split spans join up."""
    text = "".join(_strings(cell, cell=True))
    lines = [" ".join(part.split()) for part in text.replace("\xa0", " ").split("\n")]
    return "\n".join(line for line in lines if line)


_TABLE_TAG = re.compile(r"<table", re.IGNORECASE)


def has_table(html: str) -> bool:
    """Whether the HTML holds a table, without lowering a copy of it (str.lower() of a 3 MB
    Chinese page allocates 40 MB: room for every character to become three)."""
    return _TABLE_TAG.search(html) is not None


def _html_tree(html: str) -> _Element | None:
    """The page as an lxml tree: BeautifulSoup's tree of the same page took 30-50 times its
    size in Python objects, lxml's a few times in C. Built from the parser's events, as
    BeautifulSoup did, since libxml2's own tree stops at 256 levels and loses what is below."""
    from lxml import etree

    text = normal(html)
    if not text.strip():
        return None
    # As bytes with the encoding given: a page's own <?xml encoding=…?> or <meta charset> is
    # about bytes we no longer have.
    parser = etree.HTMLParser(encoding="utf-8", target=_Builder(etree.TreeBuilder()))
    try:
        parser.feed(text.encode("utf-8", "surrogatepass"))
        root = parser.close()
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None
    if not isinstance(root, etree._Element):
        return None
    for node in root.xpath(_DROPPED):
        _drop(node)
    for node in root.xpath(_QUOTED):
        _drop(node)
    return root


_OUTER = frozenset(("html", "body"))
_KEPT_ATTRIBUTES = frozenset(("class", "id", "type", "rowspan", "colspan"))
_NOT_IN_A_NAME = re.compile(r"[^A-Za-z0-9_.-]")


class _Builder:
    """lxml's tree builder behind a filter: Word's names (o:p, v:shape) are no valid element
    names, only the attributes the reader asks about are kept, and elements nested deeper than
    MAX_HTML_DEPTH are read as the text they hold, so no walk of the tree is worse than
    linear (50,000 nested quotes took minutes to take out)."""

    def __init__(self, builder: TreeBuilder) -> None:
        self._builder = builder
        self._depth = 0
        self._outer: set[str] = set()  # html and body stay open: text after </html> is the page's too
        # What the builder has open: a body opened inside another element (<head><ti <body>)
        # must not make that element's end tag a mismatch.
        self._open: list[str] = []

    def _start(self, name: str, attrib: dict[str, str]) -> None:
        self._builder.start(name, attrib)
        self._open.append(name)

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        name = _element_name(tag)
        if name in _OUTER:
            if name not in self._outer:
                self._outer.add(name)
                if name == "body":  # the body is the page's, whatever head element was left open
                    while self._open and self._open[-1] != "html":
                        self._builder.end(self._open.pop())
                self._start(name, {})
            return
        self._depth += 1
        if self._depth <= MAX_HTML_DEPTH:
            self._start(name, {k: v for k, v in attrib.items() if k in _KEPT_ATTRIBUTES})

    def end(self, tag: str) -> None:
        name = _element_name(tag)
        if name in _OUTER:
            return
        if self._depth <= MAX_HTML_DEPTH and name in self._open:
            while self._open:
                closed = self._open.pop()
                self._builder.end(closed)
                if closed == name:
                    break
        self._depth -= 1

    def data(self, text: str) -> None:
        self._builder.data(text)

    def comment(self, text: str) -> None:
        if self._depth < MAX_HTML_DEPTH:
            self._builder.comment(text)

    def close(self) -> _Element:
        while self._open:
            self._builder.end(self._open.pop())
        return self._builder.close()


def _element_name(tag: str) -> str:
    name = _NOT_IN_A_NAME.sub("_", tag.lower())
    return name if name[:1].isalpha() or name[:1] == "_" else f"_{name}"


def _drop(node: _Element) -> None:
    """Remove a node and what it holds, keeping the text that follows it."""
    parent = node.getparent()
    if parent is None:
        return
    if node.tail:
        before = node.getprevious()
        if before is not None:
            before.tail = (before.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)


def from_html(html: str) -> Document:
    doc = Document(source="html")
    root = _html_tree(html)
    if root is None:
        return doc
    counter = {"line": 0, "table": 0}

    def add_line(text: str, heading: bool = False) -> None:
        for piece in text.split("\n"):
            clean = " ".join(piece.replace("\xa0", " ").split())
            if clean:
                counter["line"] += 1
                doc.blocks.append(Line(clean, counter["line"], heading))

    def walk(node: _Element) -> None:
        buffer: list[str] = [node.text or ""] if _name(node) else []

        def flush() -> None:
            if buffer:
                add_line("".join(buffer))
                buffer.clear()

        for child in node:
            name = _name(child)
            if not name:  # a comment counts as text here, as it always has
                buffer.append(child.text or "")
            elif name == "table":
                flush()
                counter["table"] += 1
                doc.blocks.append(Table(_html_grid(child), counter["table"], counter["line"] + 1))
            elif name == "br":
                buffer.append("\n")
            elif name in _BLOCK_TAGS or name in _CONTAINERS:
                flush()
                if _has(child, _TABLE):
                    walk(child)
                elif name in _HEADING_TAGS:
                    add_line(_cell_text(child), heading=True)
                elif name in _CONTAINERS:
                    walk(child)
                else:
                    add_line(_cell_text(child))
            elif _has(child, _BLOCK_OR_TABLE):
                flush()
                walk(child)
            else:
                buffer.append("".join(_strings(child, cell=False)))
            if child.tail:
                buffer.append(child.tail)
        flush()

    body = root.find("body")
    walk(body if body is not None else root)
    return doc


def _nearest(node: _Element, name: str) -> _Element | None:
    parent = node.getparent()
    while parent is not None and _name(parent) != name:
        parent = parent.getparent()
    return parent


def _html_grid(table: _Element) -> list[list[str]]:
    """The table as a full grid: a cell with colspan or rowspan fills every place it covers."""
    grid: list[list[str]] = []
    pending: dict[int, tuple[str, int]] = {}  # column → (text, rows still covered below)
    for tr in table.iter("tr"):
        if _nearest(tr, "table") is not table:
            continue
        row: list[str] = []
        cells = [td for td in tr.iter("td", "th") if _nearest(td, "tr") is tr]
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
    from parsers import word

    doc = Document(source="docx")
    paragraphs = tables = 0
    for item in word.read_docx(data):
        if isinstance(item, word.Paragraph):
            text = normal(item.text).strip()
            if not text:
                continue
            paragraphs += 1
            heading = item.style.startswith(("Heading", "Title", "标题"))
            for piece in text.split("\n"):
                if piece.strip():
                    doc.blocks.append(Line(piece.strip(), paragraphs, heading))
        else:
            tables += 1
            rows = []
            for row in item.rows:
                # A merged cell repeats itself across its span, across and down: the grid stays
                # whole, so a two-level header and a department merged over two items line up.
                cells = [normal("\n".join(t.strip() for t in cell if t.strip())) for cell in row]
                if any(cells):
                    rows.append(cells)
            doc.blocks.append(Table(rows, tables, paragraphs + 1))
    return doc


def looks_like_html(text: str) -> bool:
    head = text.lstrip()[:2000].lower()
    return head.startswith(("<!doctype html", "<html")) or bool(re.search(r"<(table|p|div|body|br)\b", head))
