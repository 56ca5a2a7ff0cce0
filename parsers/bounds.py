"""What of a message is read at all, decided on its bytes before any parser sees them.

Header fields are cut to a size the parsers read in bounded time and memory (the message's own
and each part's), repeated address fields are dropped past a few, and a message whose multiparts
nest too deep is read from its headers alone.
"""

from __future__ import annotations

import re
from collections import Counter

# The email package checks every line against the boundary of each open multipart, so its work
# is lines × nesting (and some hundred levels down it recurses too deep). Beyond these only the
# header block is read: the sender still gets an answer, the body is not taken apart.
MAX_MIME_DEPTH = 30
MAX_BOUNDARY_CHECKS = 3_000_000

_BOUNDARY_PARAM = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]*)"|([^\s;"]+))', re.IGNORECASE)
_DELIMITER = re.compile(rb"^--([^\r\n]*?)[ \t]*\r?$", re.MULTILINE)


def _declared_boundaries(raw: bytes) -> set[bytes]:
    return {m.group(1) if m.group(1) is not None else m.group(2) for m in _BOUNDARY_PARAM.finditer(raw)}


def mime_depth(raw: bytes) -> int:
    """How many multiparts are open at once at most, from the boundaries and the delimiter lines."""
    declared = _declared_boundaries(raw)
    if len(declared) <= 2:
        return len(declared)
    open_: list[bytes] = []
    deepest = 0
    for match in _DELIMITER.finditer(raw):
        line = match.group(1)
        closing = line.endswith(b"--") and line[:-2] in declared
        boundary = line[:-2] if closing else line
        if boundary in open_:
            del open_[open_.index(boundary) + (0 if closing else 1) :]  # the parts inside it ended
        elif boundary in declared and not closing:
            open_.append(boundary)
            deepest = max(deepest, len(open_))
    return deepest


# mail-parser and the email package decode a header in time quadratic in its length (a 1 MB
# From took 4 s and 90 MB): a field is read up to this many bytes, and a References or
# In-Reply-To keeps its last ids, the ones nearest this message.
_FIELD_BYTES = 16 * 1024
_THREAD_FIELDS = (b"references", b"in-reply-to")
# One From, To or Cc is the rule (RFC 5322); address parsing is slow, and 838 To fields of 10 KB
# each took 40 s in the email package and mail-parser.
_ADDRESS_FIELDS = frozenset((b"from", b"sender", b"reply-to", b"to", b"cc", b"bcc", b"resent-from",
                             b"resent-sender", b"resent-to", b"resent-cc", b"resent-bcc"))  # fmt: skip
_SAME_ADDRESS_FIELDS = 4


def _whole_characters(cut: bytes) -> bytes:
    """Without a UTF-8 sequence the cut broke: one broken character makes the charset guess
    read the whole field as something else."""
    end = len(cut)
    while end > 0 and cut[end - 1] & 0xC0 == 0x80:
        end -= 1
    if end > 0 and cut[end - 1] >= 0xC0:
        end -= 1  # the lead byte of the sequence (whole or not: one character at most is lost)
    return cut[:end] if end < len(cut) and end > 0 else cut


def bounded_fields(raw: bytes) -> tuple[bytes, list[str]]:
    """The message with each header field cut to _FIELD_BYTES, no more than _SAME_ADDRESS_FIELDS
    of one address field, and what was cut."""
    head_end = min((i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0), default=len(raw))
    if head_end <= _FIELD_BYTES:
        return raw, []  # no field can be longer than the whole block, nor many fields cost much
    fields = re.split(rb"\r?\n(?![ \t])", raw[:head_end])
    names = [field_.partition(b":")[0].strip().lower() for field_ in fields]
    repeated = Counter(name for name in names if name in _ADDRESS_FIELDS)
    if max(map(len, fields)) <= _FIELD_BYTES and max(repeated.values(), default=0) <= _SAME_ADDRESS_FIELDS:
        return raw, []
    kept: list[bytes] = []
    cut: list[str] = []
    seen: Counter[bytes] = Counter()
    for name, field_ in zip(names, fields, strict=True):
        if name in _ADDRESS_FIELDS:
            seen[name] += 1
            if seen[name] > _SAME_ADDRESS_FIELDS:
                continue
        if len(field_) > _FIELD_BYTES:
            written = field_.partition(b":")[0].strip()
            cut.append(f"header {written[:40].decode('ascii', 'replace')} of {len(field_):,} bytes cut")
            if name in _THREAD_FIELDS:
                tail = field_[-_FIELD_BYTES:]
                field_ = written + b": " + tail[tail.find(b"<") :] if b"<" in tail else written + b":"
            else:
                field_ = _whole_characters(field_[:_FIELD_BYTES])
        kept.append(field_)
    for name, count in repeated.items():
        if count > _SAME_ADDRESS_FIELDS:
            cut.append(
                f"{count - _SAME_ADDRESS_FIELDS:,} more {name.decode('ascii', 'replace')} fields dropped"
            )
    return b"\r\n".join(kept) + raw[head_end:], cut


def bounded_part_fields(raw: bytes) -> tuple[bytes, list[str]]:
    """Each part's header fields cut as the message's own are: the email package copied a
    part header of 1 MB five times over (21 MB for a 1 MB message)."""
    if len(raw) <= _FIELD_BYTES:
        return raw, []
    declared = _declared_boundaries(raw)
    pieces: list[bytes] = []
    cut: list[str] = []
    done = 0
    for match in _DELIMITER.finditer(raw):
        if match.group(1) not in declared or match.end() < done:
            continue  # not a part's opening delimiter, or inside a header block already cut
        start = match.end() + 1
        ends = [i for i in (raw.find(b"\r\n\r\n", start - 2), raw.find(b"\n\n", start - 1)) if i >= 0]
        end = min(ends) if ends else len(raw)
        if end - start <= _FIELD_BYTES:
            continue  # no field of the block can be over the limit
        block, what = bounded_fields(raw[start:end] + b"\r\n\r\n")
        if not what:
            continue
        pieces += [raw[done:start], block[:-4]]
        cut += [f"a part's {text}" for text in what]
        done = end
    if not cut:
        return raw, []
    return b"".join([*pieces, raw[done:]]), cut
