"""Evidence files: checked against the rules and kept on disk under a name we choose.

The sender's filename is only ever a label. The stored name is the content's hash plus a
cleaned copy of that label, inside `DATA_DIR/evidence/<record>/<item no>/`, so no name a
sender writes can reach outside that folder, and the same file sent twice is one file.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from parsers.message import Attachment
from service.core.config import EvidenceRules

_UNSAFE = re.compile(r"[^\w.\-()（）《》【】 ]+")


@dataclass(frozen=True)
class Refused:
    filename: str
    why: str  # "type" or "size"


def safe_name(filename: str) -> str:
    """A file name that is only a name: no folders, no control characters, no leading dot."""
    name = unicodedata.normalize("NFKC", filename or "")
    name = PureWindowsPath(PurePosixPath(name).name).name  # both separators, whatever the client
    name = _UNSAFE.sub("_", name).strip(" .")
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    stem = stem[:80] or "evidence"
    return f"{stem}.{extension[:10]}" if extension else stem


def extension_of(filename: str) -> str:
    suffix = PurePosixPath(safe_name(filename)).suffix.lower()
    return suffix


def is_decoration(attachment: Attachment, html: str, rules: EvidenceRules) -> bool:
    """A signature logo or an image the body shows inline: part of the mail, not a deliverable."""
    if not attachment.content_type.lower().startswith("image/"):
        return False
    inline = bool(attachment.content_id) and f"cid:{attachment.content_id}".lower() in html.lower()
    return inline or len(attachment.data) < rules.min_image_bytes


def check(
    attachments: tuple[Attachment, ...], rules: EvidenceRules, html: str = ""
) -> tuple[list[Attachment], list[Refused]]:
    allowed = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in rules.allowed_extensions}
    limit = int(rules.max_megabytes * 1024 * 1024)
    kept: list[Attachment] = []
    refused: list[Refused] = []
    for attachment in attachments:
        label = attachment.filename or "(unnamed)"
        if is_decoration(attachment, html, rules):
            continue
        if extension_of(attachment.filename) not in allowed:
            refused.append(Refused(label, "type"))
        elif len(attachment.data) > limit:
            refused.append(Refused(label, "size"))
        else:
            kept.append(attachment)
    return kept, refused


def store(
    data_dir: Path, record: str, item_no: int, attachment: Attachment, now: datetime, message_id: str
) -> dict[str, Any]:
    """Write the file (atomically, fsynced) and return the entry the item keeps of it."""
    digest = attachment.sha256
    folder = data_dir / "evidence" / safe_name(record) / str(int(item_no))
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{digest[:16]}-{safe_name(attachment.filename)}"
    target = folder / name
    if not target.exists():
        temporary = folder / f".{name}.tmp"
        with open(temporary, "wb") as handle:
            handle.write(attachment.data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    return {
        "filename": attachment.filename or name,
        "stored_as": str(target.relative_to(data_dir)),
        "sha256": digest,
        "size": len(attachment.data),
        "content_type": attachment.content_type,
        "at": now.isoformat(),
        "message_id": message_id,
    }
