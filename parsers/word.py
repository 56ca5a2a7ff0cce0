"""A .docx draft read straight from its XML, as python-docx reads it, without its package.

python-docx opens every part of the package to read one: Word's own styles.xml and
stylesWithEffects.xml alone are 0.8 MB unpacked, so a 37 KB draft cost 2.3 MB before its
first paragraph. Here only the main document is parsed; the styles are streamed once, for
the names of the paragraph styles. What is read is python-docx's reading (1.2):

- the body's paragraphs and tables, its direct children, in order;
- a paragraph's text is its runs and hyperlinks' runs: text, tabs, line breaks, hyphens;
- a table row has a cell for each grid column a cell spans, and a cell merged down
  (vMerge "continue") repeats the cell above it;
- a paragraph's style is the one its pStyle names, else the default paragraph style, and
  Word's lower-case "heading 1" is called "Heading 1".

Where python-docx raised on a damaged file (a required attribute missing, an unknown style
type) this reader reads on; where the package itself cannot be read, it raises.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from lxml import etree

if TYPE_CHECKING:
    from lxml.etree import _Element

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_MAIN_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
# Word's names as its UI shows them (python-docx's BabelFish).
_UI_NAMES = {name.lower(): name for name in ("Caption", "Footer", "Header")} | {
    f"heading {n}": f"Heading {n}" for n in range(1, 10)
}
_ON = ("1", "true", "on")
# Word has at most 63 columns; a span beyond that is a damaged file, not a wider table.
MAX_GRID_SPAN = 64


def _parser() -> etree.XMLParser:
    return etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str
    style: str  # the style's name, "" if it has none


@dataclass(frozen=True, slots=True)
class Table:
    rows: list[list[list[str]]]  # row → cell → the texts of the cell's paragraphs


def read_docx(data: bytes) -> Iterator[Paragraph | Table]:
    """The body's paragraphs and tables in order. Raises on a package that is not Word's."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        main = _related(package, "/", "officeDocument")
        if main is None:
            raise ValueError("no main document in the package")
        kind = _content_type(package, main)
        if kind != _MAIN_TYPE:
            raise ValueError(f"not a Word document: {kind}")
        # Streamed from the archive: the unpacked bytes of Word's styles alone were 0.5 MB.
        with package.open(main.lstrip("/")) as stream:
            root = etree.parse(stream, _parser()).getroot()
        styles = _Styles()
        styles_part = _related(package, main, "styles")
        if styles_part is not None:
            with package.open(styles_part.lstrip("/")) as stream:
                styles.read(stream)
    body = root.find(f"{_W}body")
    if body is None:
        return
    for element in body:
        if element.tag == f"{_W}p":
            yield Paragraph(paragraph_text(element), styles.name_of(_style_id(element)))
        elif element.tag == f"{_W}tbl":
            yield Table([_row_cells(tr) for tr in element.iterchildren(f"{_W}tr")])


def paragraph_text(p: _Element) -> str:
    return "".join(
        _run_text(e) if e.tag == f"{_W}r" else _link_text(e) for e in _children(p, "r", "hyperlink")
    )


def _link_text(link: _Element) -> str:
    return "".join(_run_text(r) for r in link.iterchildren(f"{_W}r"))


def _run_text(run: _Element) -> str:
    pieces = []
    for e in _children(run, "br", "cr", "noBreakHyphen", "ptab", "t", "tab"):
        tag = e.tag[len(_W) :]
        if tag == "t":
            pieces.append(e.text or "")
        elif tag == "br":
            pieces.append("\n" if e.get(f"{_W}type", "textWrapping") == "textWrapping" else "")
        else:
            pieces.append({"cr": "\n", "noBreakHyphen": "-"}.get(tag, "\t"))
    return "".join(pieces)


def _children(element: _Element, *names: str) -> Iterator[_Element]:
    return element.iterchildren(*(f"{_W}{name}" for name in names))


def _property(element: _Element, properties: str, name: str) -> _Element | None:
    """The first <properties>/<name> child, as python-docx's ZeroOrOne finds it."""
    holder = element.find(f"{_W}{properties}")
    return None if holder is None else holder.find(f"{_W}{name}")


def _style_id(p: _Element) -> str | None:
    style = _property(p, "pPr", "pStyle")
    return None if style is None else style.get(f"{_W}val")


def _int(element: _Element | None, default: int) -> int:
    if element is None:
        return default
    return int(element.get(f"{_W}val", str(default)))


def _grid_before(tr: _Element) -> int:
    return _int(_property(tr, "trPr", "gridBefore"), 0)


def _grid_span(tc: _Element) -> int:
    return min(_int(_property(tc, "tcPr", "gridSpan"), 1), MAX_GRID_SPAN)


def _row_cells(tr: _Element) -> list[list[str]]:
    cells: list[list[str]] = []
    offset = _grid_before(tr)
    for tc in tr.iterchildren(f"{_W}tc"):
        cells.extend(_cells_of(tc, tr, offset))
        offset += _grid_span(tc)
    return cells


def _cells_of(tc: _Element, tr: _Element, offset: int) -> list[list[str]]:
    """A cell for each grid column it spans; one merged down is the cell above it, again."""
    merge = _property(tc, "tcPr", "vMerge")
    if merge is not None and merge.get(f"{_W}val", "continue") == "continue":
        above_tr, above_tc = _above(tr, offset)
        return _cells_of(above_tc, above_tr, offset)
    texts = [paragraph_text(p) for p in tc.iterchildren(f"{_W}p")]
    return [texts] * max(_grid_span(tc), 0)


def _above(tr: _Element, offset: int) -> tuple[_Element, _Element]:
    above = next(tr.itersiblings(f"{_W}tr", preceding=True), None)
    if above is None:
        raise ValueError("a cell merged down from above the first row")
    remaining = offset - _grid_before(above)
    for tc in above.iterchildren(f"{_W}tc"):
        if remaining < 0:
            break
        if remaining == 0:
            return above, tc
        remaining -= _grid_span(tc)
    raise ValueError(f"no cell above at grid column {offset}")


class _Styles:
    """Paragraph style names by id, streamed from styles.xml (Word's is 350 KB unpacked)."""

    def __init__(self) -> None:
        self.names: dict[str, str | None] = {}  # the first style of each id, if a paragraph style
        self.seen: set[str] = set()
        self.default = "Normal"  # python-docx's own template's, for a package without styles

    def read(self, xml: IO[bytes]) -> None:
        self.default = ""
        events = etree.iterparse(
            xml, events=("end",), tag=f"{_W}style", remove_blank_text=True,
            resolve_entities=False, no_network=True,
        )  # fmt: skip
        for _, style in events:
            parent = style.getparent()
            if parent is not None and parent.getparent() is None:
                self._note(style)
            style.clear(keep_tail=True)

    def _note(self, style: _Element) -> None:
        name_element = style.find(f"{_W}name")
        raw = None if name_element is None else name_element.get(f"{_W}val")
        name = None if raw is None else _UI_NAMES.get(raw, raw)
        paragraph = style.get(f"{_W}type") == "paragraph"
        style_id = style.get(f"{_W}styleId")
        if style_id is not None and style_id not in self.seen:
            self.seen.add(style_id)
            if paragraph:
                self.names[style_id] = name
        if paragraph and style.get(f"{_W}default", "0") in _ON:
            self.default = name or ""  # the last default in the file, as the spec says

    def name_of(self, style_id: str | None) -> str:
        if style_id and style_id in self.names:
            return self.names[style_id] or ""
        return self.default


def _related(package: zipfile.ZipFile, source: str, kind: str) -> str | None:
    """The part a relationship of this kind from `source` ("/" for the package) points at."""
    folder, name = posixpath.split(source)
    rels = posixpath.join(folder, "_rels", f"{name}.rels").lstrip("/")
    targets = []
    if rels in package.namelist():
        for rel in etree.fromstring(package.read(rels), _parser()).iter(_REL):
            if rel.get("Type") == _RELATIONSHIPS + kind and rel.get("TargetMode") != "External":
                targets.append(posixpath.normpath(posixpath.join(folder or "/", rel.get("Target", ""))))
    if len(targets) > 1:
        raise ValueError(f"{len(targets)} {kind} parts in the package")
    return targets[0] if targets else None


def _content_type(package: zipfile.ZipFile, part: str) -> str:
    types = etree.fromstring(package.read("[Content_Types].xml"), _parser())
    for override in types.iter(f"{_TYPES}Override"):
        if override.get("PartName", "").lower() == part.lower():
            return override.get("ContentType", "")
    extension = posixpath.splitext(part)[1].lstrip(".").lower()
    for default in types.iter(f"{_TYPES}Default"):
        if default.get("Extension", "").lower() == extension:
            return default.get("ContentType", "")
    return ""
