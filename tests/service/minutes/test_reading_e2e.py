"""Reading people as they write, end to end on the suite's own Dovecot + Postfix.

An unclear answer is asked back and counts for nothing; an objection followed by silence reaches
the recorder and the host by the revision deadline; 维持原纪要 resumes the window; the recorder's
Outlook 確認, which quotes the minutes table in its HTML part, confirms; a mail that is neither
minutes nor about a record gets help, not a draft fix list.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from parsers.message import InboundMessage
from parsers.vocabulary import simplified
from tests.mailstack import MailStack
from tests.service.minutes.test_confirmation_e2e import (
    PLAIN_ATTENDEES,
    at,
    deliver,
    draft_mail,
    env_for,
    inbox_count,
    mails,
    minutes_mail,
    record_status,
    reply,
    run_once,
)

pytestmark = pytest.mark.mailstack

START = "2024-05-20T16:02:00+08:00"  # Monday; the window closes Wednesday 16:02


def _distributed(stack: MailStack, env: dict[str, str]) -> dict[str, InboundMessage]:
    deliver(stack, draft_mail(stack, "draft-zh-plain.txt", "qian.fang"))
    run_once(env)
    for user in PLAIN_ATTENDEES:
        assert inbox_count_at_least(stack, user, 1)
    first = {user: minutes_mail(stack, user, "2024-OPS-001") for user in PLAIN_ATTENDEES}
    for user in ["minutes", *PLAIN_ATTENDEES]:
        stack.empty(user)
    return first


def inbox_count_at_least(stack: MailStack, user: str, count: int) -> bool:
    from tests.conftest import wait_until

    return wait_until(lambda: inbox_count(stack, user) >= count, 15)


def _responses(env: dict[str, str]) -> dict[str, str]:
    status = record_status(env, "2024-OPS-001")
    return {p["email"].partition("@")[0]: p["response"] for p in status["attendees"]}


def test_an_unclear_answer_is_asked_back_and_counts_for_nothing(stack: MailStack, tmp_path: Path) -> None:
    env = env_for(stack, tmp_path, START)
    first = _distributed(stack, env)
    deliver(
        stack,
        reply(stack, "chen.jing", first["chen.jing"], "收到,我晚点看一下再回复"),
        reply(stack, "liu.yang", first["liu.yang"], "无法同意"),
        reply(stack, "sun.hao", first["sun.hao"], "没意见"),
    )
    run_once(at(env, "2024-05-21T09:00:00+08:00"))
    responses = _responses(env)
    assert responses["chen.jing"] == "none", "收到 is never consent"
    assert responses["liu.yang"] == "objected" and responses["sun.hao"] == "confirmed"
    assert inbox_count_at_least(stack, "chen.jing", 1)
    (question,) = mails(stack, "chen.jing")
    assert "没能确定" in question.text and "确认" in question.text
    forwarded = [m for m in mails(stack, "qian.fang") if "修改意见" in m.subject]
    assert [m.subject.endswith("刘洋") for m in forwarded] == [True], "only the objection is forwarded"


def test_an_objection_then_silence_reaches_recorder_and_host_and_keeping_resumes_the_window(
    stack: MailStack, tmp_path: Path
) -> None:
    env = env_for(stack, tmp_path, START)
    first = _distributed(stack, env)
    deliver(stack, reply(stack, "zhao.min", first["zhao.min"], "第1项截止时间应为2024-05-29"))
    run_once(at(env, "2024-05-20T17:00:00+08:00"))
    assert record_status(env, "2024-OPS-001")["state"] == "revising"
    objection = next(m for m in mails(stack, "qian.fang") if "修改意见" in m.subject)

    # One working day of silence from the recorder (revision_working_days: 1): nothing before it.
    run_once(at(env, "2024-05-21T16:00:00+08:00"))
    assert not any("逾期" in m.subject for m in mails(stack, "qian.fang"))
    run_once(at(env, "2024-05-21T17:01:00+08:00"))
    run_once(at(env, "2024-05-21T17:30:00+08:00"))  # a second pass sends nothing twice
    assert inbox_count_at_least(stack, "wang.lei", 1)
    overdue = [m for m in mails(stack, "qian.fang") if "纪要修改已逾期" in m.subject]
    told = [m for m in mails(stack, "wang.lei") if "纪要修改已逾期" in m.subject]
    assert len(overdue) == 1 and len(told) == 1
    assert "维持原纪要" in overdue[0].text and "赵敏" in told[0].text

    # The recorder keeps the minutes with a note to the objector: the window resumes.
    for user in ["minutes", *PLAIN_ATTENDEES]:
        stack.empty(user)
    deliver(stack, reply(stack, "qian.fang", objection, "维持原纪要。会上确认的就是5月27日,见录音。"))
    run_once(at(env, "2024-05-22T09:00:00+08:00"))
    status = record_status(env, "2024-OPS-001")
    assert status["state"] == "awaiting_confirmation" and status["version"] == 1
    assert _responses(env)["zhao.min"] == "none", "the objector is asked again"
    assert inbox_count_at_least(stack, "zhao.min", 1)
    (asked,) = mails(stack, "zhao.min")
    assert "维持" in asked.text and "见录音" in asked.text
    assert status["confirmation_deadline"] >= "2024-05-23T09:00", "at least a working day to answer"

    # Silence is consent when the window closes again: the record completes.
    run_once(at(env, "2024-05-23T09:01:00+08:00"))
    assert record_status(env, "2024-OPS-001")["state"] == "confirmed"


def _outlook_reply_with_html_quote(
    stack: MailStack, user: str, to: InboundMessage, body: str
) -> EmailMessage:
    """Outlook zh-TW: the answer on top, the minutes (with their table) quoted in the HTML part."""
    msg = EmailMessage()
    msg["From"] = stack.address(user)
    msg["To"] = to.reply_to[0] if to.reply_to else stack.address("minutes")
    msg["Subject"] = f"回覆: {to.subject}"
    msg["Message-ID"] = make_msgid(domain=stack.domain)
    msg["In-Reply-To"] = f"<{to.message_id}>"
    msg["References"] = f"<{to.message_id}>"
    header = (
        f"寄件者: 會議紀要助手 <{stack.address('minutes')}>\n寄件日期: 2024年5月20日 下午 04:02\n"
        f"收件者: {user}\n主旨: {to.subject}"
    )
    msg.set_content(f"{body}\n\n________________________________\n{header}\n\n{to.text}")
    msg.add_alternative(
        f"<html><body><p>{body}</p><div id=divRplyFwdMsg><hr><b>寄件者:</b> 會議紀要助手</div>"
        f"<div>{to.html}</div></body></html>",
        subtype="html",
    )
    return msg


def test_the_recorders_quoted_confirmation_confirms(stack: MailStack, tmp_path: Path) -> None:
    env = env_for(stack, tmp_path, START)
    first = _distributed(stack, env)
    assert "<table" in first["qian.fang"].html or "行动项" in first["qian.fang"].text
    deliver(stack, _outlook_reply_with_html_quote(stack, "qian.fang", first["qian.fang"], "確認"))
    run_once(at(env, "2024-05-20T17:00:00+08:00"))
    status = record_status(env, "2024-OPS-001")
    assert status["version"] == 1 and status["state"] == "awaiting_confirmation", "not a revised draft"
    assert _responses(env)["qian.fang"] == "confirmed"


def test_a_mail_that_is_not_minutes_gets_help_with_the_senders_open_items(
    stack: MailStack, tmp_path: Path
) -> None:
    env = env_for(stack, tmp_path, START)
    msg = EmailMessage()
    msg["From"] = stack.address("zhao.min")
    msg["To"] = stack.address("minutes")
    msg["Subject"] = "我的待办"
    msg["Message-ID"] = make_msgid(domain=stack.domain)
    msg.set_content("我的待办")
    deliver(stack, msg)
    run_once(env)
    assert inbox_count_at_least(stack, "zhao.min", 1)
    (answer,) = mails(stack, "zhao.min")
    assert "读到会议纪要" in answer.text and "提交新的会议纪要" in answer.text
    assert "第1项" not in answer.text, "no list of draft errors"
    assert record_status_list(env) == []


def record_status_list(env: dict[str, str]) -> list[dict[str, str]]:
    import json

    from tests.conftest import run_cli

    return list(json.loads(run_cli(["status", "--json"], env).stdout)["records"])


CASES = Path(__file__).resolve().parents[2] / "cases" / "drafts"
TW_PEOPLE = ["zhao.min", "chen.jing", "li.na", "sun.hao", "wu.gang", "qian.fang"]


def test_a_traditional_word_paste_becomes_a_record_and_an_owner_writes_as_people_write(
    stack: MailStack, tmp_path: Path
) -> None:
    """Issue 12 points 4 and 5 on the real stack: 主席/紀錄/工作事項/協辦單位 read, four items; the
    owner's colloquial 搞掂 with the deliverable attached is taken once the minutes are confirmed."""
    env = env_for(stack, tmp_path, "2024-07-22T16:00:00+08:00")
    draft = EmailMessage()
    draft["From"] = stack.address("qian.fang")
    draft["To"] = stack.address("minutes")
    draft["Subject"] = "客服系統升級專案協調會議紀錄"
    draft["Message-ID"] = make_msgid(domain=stack.domain)
    draft.set_content((CASES / "draft-zh-tw-word-paste.txt").read_text(encoding="utf-8"))
    for user in ["minutes", *TW_PEOPLE]:
        stack.empty(user)
    deliver(stack, draft)
    run_once(env)
    status = record_status(env, "2024-OPS-001")
    assert [i["owner"]["name"] for i in status["items"]] == ["赵敏", "李娜", "吴刚", "孙浩"]
    assert inbox_count_at_least(stack, "qian.fang", 2)
    # She wrote Traditional, so her receipt is in Traditional: read folded to Simplified.
    accepted = next(m for m in mails(stack, "qian.fang") if "行动项:4 项" in simplified(m.text))
    assert "保密:否" in simplified(accepted.text)
    first = {user: minutes_mail(stack, user, "2024-OPS-001") for user in TW_PEOPLE}
    stack.empty("minutes")
    deliver(stack, *(reply(stack, user, first[user], "確認") for user in TW_PEOPLE))
    run_once(at(env, "2024-07-22T17:00:00+08:00"))
    assert record_status(env, "2024-OPS-001")["state"] == "confirmed"
    stack.empty("minutes")
    done = reply(stack, "zhao.min", first["zhao.min"], "第1項 搞掂，需求清單見附件")
    done.add_attachment(
        b"%PDF-1.4 " + b"0" * 5000, maintype="application", subtype="pdf", filename="需求清單.pdf"
    )
    deliver(stack, done)
    run_once(at(env, "2024-07-23T10:00:00+08:00"))
    items = {i["id"]: i for i in record_status(env, "2024-OPS-001")["items"]}
    assert items["2024-OPS-001#1"]["status"] == "pending_verification"
    assert [e["filename"] for e in items["2024-OPS-001#1"]["evidence"]] == ["需求清單.pdf"]


def test_a_signature_disclaimer_does_not_make_the_meeting_confidential(
    stack: MailStack, tmp_path: Path
) -> None:
    env = env_for(stack, tmp_path, "2024-06-03T18:00:00+08:00")
    raw = (CASES / "draft-zh-signature-disclaimer.eml").read_bytes()
    for user in ["minutes", "li.na"]:
        stack.empty(user)
    deliver(stack, raw, sender=stack.address("li.na"))
    run_once(env)
    assert inbox_count_at_least(stack, "li.na", 2)
    accepted = next(m for m in mails(stack, "li.na") if "保密:" in m.text)
    assert "保密:否" in accepted.text, "a signature's CONFIDENTIALITY NOTICE is not the meeting's marking"
