"""Each person in their language, and the quarterly review, on the real Postfix + Dovecot: a
zh-TW attendee reads the minutes in Traditional, an English one in English; after the quarter
each department head finds the review with its chart inline and its workbook attached."""

from __future__ import annotations

import email
from pathlib import Path

import pytest
import yaml

from parsers.message import parse_message
from tests.conftest import SAMPLES
from tests.mailstack import MailStack
from tests.service.minutes.test_confirmation_e2e import at, deliver, draft_mail, env_for, mails, run_once

pytestmark = pytest.mark.mailstack


def _directory(tmp_path: Path) -> Path:
    data = yaml.safe_load((SAMPLES / "people.yaml").read_text(encoding="utf-8"))
    for person in data["people"]:
        person["language"] = {"赵敏": "zh-TW", "刘洋": "en"}.get(person["name"], person.get("language"))
        if person["language"] is None:
            del person["language"]
    path = tmp_path / "people.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _raw_inbox(stack: MailStack, user: str) -> list[bytes]:
    with stack.imap(user) as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search("ALL")
        return [d[b"BODY[]"] for d in client.fetch(uids, [b"BODY.PEEK[]"]).values()] if uids else []


def test_minutes_in_each_readers_language_and_the_review_with_its_chart(
    stack: MailStack, tmp_path: Path
) -> None:
    env = {
        **env_for(stack, tmp_path, "2024-05-20T16:02:00+08:00"),
        "MINUTESD_DIRECTORY": str(_directory(tmp_path)),
    }
    deliver(stack, draft_mail(stack, "draft-zh-plain.txt", "qian.fang"))
    run_once(env)
    [tw] = [m for m in mails(stack, "zhao.min") if "2024-OPS-001" in m.subject]
    assert "會議紀要" in tw.subject and "確認" in tw.text and "赵敏" in tw.text, tw.subject
    [en] = [m for m in mails(stack, "liu.yang") if "2024-OPS-001" in m.subject]
    assert "Minutes to confirm" in en.subject and "confirm" in en.text, en.subject
    [zh] = [m for m in mails(stack, "chen.jing") if "2024-OPS-001" in m.subject]
    assert "会议纪要" in zh.subject

    run_once(at(env, "2024-05-22T16:05:00+08:00"))  # the window closes: silence is consent
    for user in ("sun.hao", "chen.jing", "zhao.min"):
        stack.empty(user)
    run_once(at(env, "2024-07-01T09:05:00+08:00"))  # the first working morning after Q2
    reviews = [email.message_from_bytes(r) for r in _raw_inbox(stack, "sun.hao")]
    [review] = [r for r in reviews if "2024Q2" in str(parse_message(r.as_bytes()).subject)]
    parts = {p.get_content_type(): p for p in review.walk()}
    chart = parts["image/png"]
    html = parts["text/html"].get_payload(decode=True).decode("utf-8")
    assert f"cid:{chart['Content-ID'].strip('<>')}" in html
    assert chart.get_payload(decode=True)[:8] == b"\x89PNG\r\n\x1a\n"
    workbook = [p for p in review.walk() if (p.get_filename() or "").endswith(".xlsx")]
    assert len(workbook) == 1 and workbook[0].get_payload(decode=True)[:2] == b"PK"
