"""What libxml2's HTML parser would spend on a page, told before it is given the page.

The parser looks for the element an end tag closes down its whole stack of open elements,
so a page that opens many elements and never closes them, then sends many end tags that
match none of them, costs depth x end tags: 50,000 "<div><p>" and 50,000 "</p>" took 8 s.
Real mail nests a few dozen deep. Pure: no I/O.
"""

from __future__ import annotations

import html as html_entities
import re

# Past this many comparisons (about 0.2 s of the parser) a page is read another way or refused.
MAX_PARSE_WORK = 50_000_000

_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)[^>]*>")
# Elements the parser closes by itself (optional end tags) and elements with no end tag: they
# do not stay open, whatever the page writes.
# fmt: off
_CLOSE_THEMSELVES = frozenset((
    "p", "li", "td", "th", "tr", "dt", "dd", "option", "optgroup", "thead", "tbody", "tfoot",
    "colgroup", "rb", "rt", "rp", "html", "head", "body",
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "basefont", "frame",
))
# fmt: on


def parse_work(html: str) -> int:
    """Open elements at the deepest point times the end tags: an upper bound of the parser's
    search for what each end tag closes. Linear; 0 for a page with few end tags."""
    ends = html.count("</")
    starts = html.count("<") - ends
    if starts * ends <= MAX_PARSE_WORK:
        return starts * ends  # no stack these tags could build makes the search matter
    depth = deepest = 0
    for match in _TAG.finditer(html):
        name = match.group(2).lower()
        if name in _CLOSE_THEMSELVES:
            continue
        if match.group(1):
            depth = max(0, depth - 1)
        elif not match.group(0).endswith("/>"):
            depth += 1
            deepest = max(deepest, depth)
    return deepest * ends


_BLOCK_END = re.compile(r"(?i)<(?:br\b[^>]*|/(?:p|div|tr|li|h[1-6]|blockquote|table))>")
_CELL_END = re.compile(r"(?i)</t[dh]\s*>")
_ANY_TAG = re.compile(r"<[^>]*>")


def text_by_tags(html: str) -> str:
    """The text of a page too costly to parse: tags taken out, a line after each block and a
    tab after each cell, entities read. Coarser than the parser (script and style text stay),
    which is fine for what only an attacker or a broken generator writes."""
    text = _BLOCK_END.sub("\n", html)
    text = _CELL_END.sub("\t", text)
    return html_entities.unescape(_ANY_TAG.sub("", text))
