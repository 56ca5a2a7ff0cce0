"""Our directly written mail against the email package's own output, byte for byte."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest

from service.mail import outbox
from service.mail.outbox import SMTP_COMPAT, Outbox, OutgoingMail

NOW = datetime(2024, 5, 21, 9, 30, tzinfo=UTC)
BOUNDARY = "=_minutesd_000102030405060708090a0b"


def _mail(**changes: object) -> OutgoingMail:
    fields: dict[str, object] = {
        "key": "k1",
        "to": ["lin.tao@demo.example"],
        "subject": "[2024-OPS-001] 收到: 客服系统升级评审会 — a subject long enough to be folded by the policy",
        "template": "receipt",
        "lang": "zh",
        "context": {},
        "cc": ["xu.jing@demo.example", "he.lei@demo.example"],
        "reply_to": "minutes+62bfdf4b21@demo.example",
        "in_reply_to": "reply-1@demo.example",
        "references": [f"ref-{n}@demo.example" for n in range(30)],
    }
    fields.update(changes)
    return OutgoingMail(**fields)  # type: ignore[arg-type]


def _by_the_email_package(box: Outbox, mail: OutgoingMail, text: str, html: str) -> bytes:
    msg = MIMEMultipart("alternative")
    msg.attach(MIMEText(text, "plain", "utf-8"))
    msg.attach(MIMEText(html, "html", "utf-8"))
    for name, value in box._headers(mail, "minutesd.abc@demo.example", NOW):
        msg[name] = value
    msg.set_boundary(BOUNDARY)
    return msg.as_bytes(policy=SMTP_COMPAT)


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("林涛您好:\n\n已收到您的进度。\n" * 40, "<p>林涛您好:</p>\n<p>已收到您的进度。</p>\n" * 40),
        ("", ""),
        ("no newline at the end", "<b>x</b>"),
        ("Ｆｕｌｌ-width ＡＳＣＩＩ and 繁體字 and emoji 🙂\r\nCRLF line", "<p>&amp; 🙂</p>"),
    ],
)
def test_the_alternative_is_what_the_email_package_writes(
    text: str, html: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = Outbox("minutes@demo.example", "会议纪要助手", secret=b"s" * 32)
    mail = _mail()
    monkeypatch.setattr(outbox, "_boundary", lambda: BOUNDARY)
    written = box.build(mail, "minutesd.abc@demo.example", NOW, (text, html))
    assert written == _by_the_email_package(box, mail, text, html)
    parsed = email.message_from_bytes(written, policy=email.policy.default)
    plain, rich = parsed.iter_parts()
    assert plain.get_payload(decode=True).decode("utf-8") == text
    assert rich.get_payload(decode=True).decode("utf-8") == html
    assert parsed["Subject"].strip() == mail.subject


def test_each_mail_gets_its_own_boundary_absent_from_its_parts() -> None:
    box = Outbox("minutes@demo.example", "会议纪要助手")
    first = box.build(_mail(), "a@demo.example", NOW, ("=_minutesd_ in the text", "x"))
    second = box.build(_mail(), "a@demo.example", NOW, ("=_minutesd_ in the text", "x"))
    boundary = email.message_from_bytes(first).get_boundary()
    assert boundary and boundary != email.message_from_bytes(second).get_boundary()
    assert first.count(boundary.encode()) == 4  # the header, two delimiters, the close
    plain, _ = email.message_from_bytes(first).get_payload()
    assert plain.get_payload(decode=True) == b"=_minutesd_ in the text"


def test_mail_with_attachments_still_goes_through_the_email_package() -> None:
    box = Outbox("minutes@demo.example", "会议纪要助手")
    raw = box.build(
        _mail(attachments=[("跟踪表.csv", "text/csv", "编号,事项\n".encode())]),
        "a@demo.example",
        NOW,
        ("x", "y"),
    )
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    (attachment,) = list(parsed.iter_attachments())
    assert attachment.get_filename() == "跟踪表.csv"
    assert attachment.get_content() == "编号,事项\n"
