"""Most of our mail written as bytes directly: a text and an HTML alternative, base64 UTF-8.

Receipts, reminders and notices all have this one shape. The email package's objects and
generator took 0.7 ms to build each of them on the development machine (most of what a receipt
costs us to queue); written here it is a fraction of that. Headers are still folded by the email
package's policy, so they read exactly as before. Mail with inline images or attachments is
built with the email package (`outbox.Outbox.build`).
"""

from __future__ import annotations

import base64
from collections.abc import Callable

Fold = Callable[[str, str], bytes]  # a policy's fold_binary: one header, CRLF-terminated

_TEXT_PART = (
    'Content-Type: text/{}; charset="utf-8"\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n\r\n'
)


def alternative(headers: list[tuple[str, str]], text: str, html: str, boundary: str, fold: Fold) -> bytes:
    """multipart/alternative of `text` and `html` under `headers`; `boundary` must appear in
    neither part (base64 lines never hold "=_", which a boundary of ours starts with)."""
    head = [
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
        ("MIME-Version", "1.0"),
        *headers,
    ]
    delimiter = f"--{boundary}\r\n".encode("ascii")
    out = [*(fold(name, value) for name, value in head), b"\r\n", delimiter]
    for number, (subtype, content) in enumerate((("plain", text), ("html", html))):
        if number:
            out += [b"\r\n", delimiter]
        out += [_TEXT_PART.format(subtype).encode("ascii"), _base64(content)]
    out.append(f"\r\n--{boundary}--\r\n".encode("ascii"))
    return b"".join(out)


def _base64(content: str) -> bytes:
    return base64.encodebytes(content.encode("utf-8")).replace(b"\n", b"\r\n")
