"""Reading drafts with the configured words and directory."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from parsers.document import has_table
from parsers.draft import DocumentLimits, UnsupportedDraft, document_from_file, document_from_message
from parsers.message import InboundMessage, parse_message
from parsers.minutes import parse_draft
from parsers.model import Finding, Minutes
from parsers.people import Directory
from parsers.reply_text import read_reply
from parsers.vocabulary import Vocabulary, VocabularyError, load_vocabulary
from service.core.bounded import TooCostly, run_bounded
from service.core.config import ConfigError, PerRules, Rules
from service.mail.reading import budget


def document_limits(rules: Rules) -> DocumentLimits:
    limits = rules.limits
    return DocumentLimits(
        text_bytes=int(limits.draft_text_megabytes * 1024 * 1024),
        unzipped_bytes=int(limits.docx_unpacked_megabytes * 1024 * 1024),
        blocks=limits.draft_blocks,
        cells=limits.draft_cells,
        html_elements=limits.draft_html_elements,
    )


def _vocabulary(rules: Rules) -> Vocabulary:
    try:
        return load_vocabulary(rules.parsing)
    except VocabularyError as exc:
        raise ConfigError(str(exc)) from exc


vocabulary = PerRules(_vocabulary)


def parse_message_draft(msg: InboundMessage, rules: Rules, directory: Directory) -> Minutes:
    """The minutes in a message. An attached document, or a body past the inline size, is read
    in a worker held to the rules' budget: a crafted .docx costs its sender an answer, not us
    the daemon."""
    inline = rules.limits.inline_kilobytes * 1024
    if not _has_document(msg) and len(msg.text) + len(msg.html) <= inline:
        return _parse_draft(msg, rules, directory)
    try:
        return run_bounded(lambda: _parse_draft(msg, rules, directory), budget(rules.limits))
    except TooCostly as exc:
        return _too_costly(exc)


def _parse_draft(msg: InboundMessage, rules: Rules, directory: Directory) -> Minutes:
    received = msg.date.astimezone(rules.tz).date() if msg.date else None
    try:
        doc = document_from_message(msg, document_limits(rules))
    except UnsupportedDraft as exc:
        return _unreadable(str(exc))
    return parse_draft(doc, vocabulary(rules), directory, received=received, subject=msg.subject)


def _has_document(msg: InboundMessage) -> bool:
    return any(a.filename.lower().endswith(DRAFT_FILES) for a in msg.attachments)


DRAFT_FILES = (".docx", ".md", ".txt", ".html", ".htm")


def own_part(
    msg: InboundMessage, visible: str | None = None, read: Callable[[], str] | None = None
) -> InboundMessage:
    """The message with only what the person wrote, so a quoted earlier draft is not read.

    `visible` is the reply's own text when the message answers a record: then an HTML part
    (which holds the quoted minutes table of an Outlook reply) is never read. `read` gives
    read_reply(msg.text, msg.html).text if the caller has it already: a second reading of a
    long body was one more copy of it.
    """
    if _has_document(msg):
        return msg
    if visible is not None:
        return dataclasses.replace(msg, text=visible, html="")
    if has_table(msg.html) or not msg.text.strip():
        return msg  # a draft pasted from Word: its tables are in the HTML part
    # With a text part, read_reply reads it and never the HTML: the caller's reading is this one.
    own = read() if read is not None else read_reply(msg.text).text
    return dataclasses.replace(msg, text=own, html="")


def looks_like_minutes(minutes: Minutes) -> bool:
    # Not the meeting name: the parser falls back to the subject, which every reply has.
    return bool(minutes.items or len(minutes.attendees) > 1)


def tries_to_be_minutes(minutes: Minutes) -> bool:
    """A new message meant as a draft, however broken: two signs of minutes are enough.

    "我的待办", "退订" or a question has none and gets help instead of a list of what to fix.
    """
    meeting = minutes.meeting
    signs = [
        meeting.date is not None,
        meeting.host is not None,
        meeting.recorder is not None,
        bool(meeting.location),
        len(minutes.attendees) > 1,
        bool(minutes.items),
        bool(minutes.decisions or minutes.agenda or minutes.discussion),
        any(f.rule in _ITEM_FINDINGS for f in minutes.findings),
    ]
    if any(f.rule == "readable_format" for f in minutes.findings):
        return True  # a document it could not read: the sender hears why, not a help text
    return sum(signs) >= 2 or bool(minutes.items)


# Findings that say an action-item section or table was there but not read.
_ITEM_FINDINGS = frozenset({"items_understood", "items_present"})


def parse_file(path: Path, rules: Rules, directory: Directory) -> Minutes:
    data = path.read_bytes()
    if path.suffix.lower() == ".eml":
        return parse_message_draft(parse_message(data), rules, directory)
    try:
        doc = document_from_file(path.name, data, document_limits(rules))
    except UnsupportedDraft as exc:
        return _unreadable(str(exc))
    return parse_draft(doc, vocabulary(rules), directory)


def _too_costly(exc: TooCostly) -> Minutes:
    what = "内存" if exc.what == "memory" else "时间"
    minutes = Minutes()
    minutes.findings.append(
        Finding(
            "error",
            "readable_format",
            f"这份纪要读取超出了{what}限制({exc}),没有被处理:请把纪要写在邮件正文中,或附上一个内容更简单的 .docx / .txt 文件。"
            f" / Reading this draft went past its {exc.what} budget ({exc}): write the minutes in the"
            " mail, or attach a simpler .docx or .txt file.",
            "",
        )
    )
    return minutes


def _unreadable(kind: str) -> Minutes:
    minutes = Minutes()
    minutes.findings.append(
        Finding(
            "error",
            "readable_format",
            f"无法读取这份{kind}纪要(格式不支持或文件已损坏):请把纪要写在邮件正文中,或附上 .docx / .txt / .md / .html 文件。"
            f" / The {kind} draft cannot be read (unsupported or damaged): write it in the mail, or attach"
            " .docx, .txt, .md or .html.",
            "",
        )
    )
    return minutes
