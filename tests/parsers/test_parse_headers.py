"""parse_headers reads what parse_message reads from the header block, on every real message."""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers.message import header_block, parse_headers, parse_message
from tests.conftest import CORPORA, SAMPLES

FIELDS = (
    "message_id", "subject", "from_name", "from_addr", "from_addresses", "sender_addr", "to", "cc",
    "reply_to", "date", "in_reply_to", "references", "auth_results", "headers",
)  # fmt: skip
MESSAGES = sorted([*SAMPLES.rglob("*.eml"), *CORPORA.rglob("*.eml")])


def test_there_are_real_messages_to_compare() -> None:
    assert len(MESSAGES) > 100


@pytest.mark.parametrize("path", MESSAGES, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_the_header_fields_are_those_of_the_full_parse(path: Path) -> None:
    raw = path.read_bytes()
    full, head = parse_message(raw), parse_headers(raw)
    assert {f: getattr(head, f) for f in FIELDS} == {f: getattr(full, f) for f in FIELDS}
    assert head.text == "" and head.attachments == ()


def test_the_header_block_ends_at_the_first_empty_line_whatever_the_line_ends() -> None:
    assert header_block(b"A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore") == b"A: 1\r\nB: 2\r\n\r\n"
    assert header_block(b"A: 1\nB: 2\n\nbody") == b"A: 1\nB: 2\r\n\r\n"
    assert header_block(b"\r\nA: 1\r\n\r\nbody") == b"A: 1\r\n\r\n"
    assert header_block(b"A: " + b"x" * 100_000).startswith(b"A: x")
