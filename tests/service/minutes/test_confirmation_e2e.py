"""The confirmation workflow end to end, through the real Dovecot + Postfix, with MINUTESD_NOW."""

from __future__ import annotations

import json
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from parsers.message import InboundMessage, parse_message
from parsers.vocabulary import simplified
from tests.conftest import PEOPLE, SAMPLES, run_cli, service_env, wait_until
from tests.mailstack import MailStack

pytestmark = pytest.mark.mailstack

PLAIN_ATTENDEES = ["wang.lei", "chen.jing", "liu.yang", "zhao.min", "sun.hao", "qian.fang"]
DRAFTS = {
    # sample → (recorder, expected record, attendees as users of the stack)
    "draft-zh-plain.txt": ("qian.fang", "2024-OPS-001", PLAIN_ATTENDEES),
    "draft-en.md": (
        "zhang.wei",
        "2024-MKT-001",
        ["liu.yang", "zhang.wei", "zhou.ting", "chen.jing", "sun.hao"],
    ),
    "draft-zh-tables.html": ("qian.fang", "2024-OPS-001", None),
    "draft-zh-record-sheet.txt": ("zhao.min", "2024-CS-001", None),
    "draft-zh-tw.txt": ("wang.lei", "2024-PRD-001", None),
    "draft-zh-sentences.txt": ("qian.fang", "2024-OPS-001", None),
    "draft-zh-attachment.docx": ("zhang.wei", "2024-MKT-001", None),
}


def env_for(stack: MailStack, tmp_path: Path, now: str) -> dict[str, str]:
    return service_env(
        tmp_path / "data",
        {**stack.env(), "MINUTESD_DIRECTORY": str(SAMPLES / "people.yaml"), "MINUTESD_NOW": now},
    )


def at(env: dict[str, str], now: str) -> dict[str, str]:
    return {**env, "MINUTESD_NOW": now}


def draft_mail(stack: MailStack, sample: str, recorder: str, subject: str = "") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = stack.address(recorder)
    msg["To"] = stack.address("minutes")
    msg["Subject"] = subject or f"会议纪要 {sample}"
    msg["Message-ID"] = make_msgid(domain=stack.domain)
    data = (SAMPLES / sample).read_bytes()
    if sample.endswith(".docx"):
        msg.set_content("纪要见附件。")
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=sample)
    elif sample.endswith(".html"):
        msg.set_content(data.decode("utf-8"), subtype="html")
    else:
        msg.set_content(data.decode("utf-8"))
    return msg


def deliver(stack: MailStack, *messages: EmailMessage | bytes, sender: str = "") -> None:
    """Hands the messages to Postfix one by one, each only once the one before is in the inbox:
    Postfix delivers a batch in any order, and the order of arrival decides which draft gets
    which record number."""
    already = inbox_count(stack, "minutes")
    with smtplib.SMTP("127.0.0.1", stack.smtp_port) as smtp:
        for arrived, msg in enumerate(messages, start=already + 1):
            if isinstance(msg, bytes):
                smtp.sendmail(sender, [stack.address("minutes")], msg)
            else:
                smtp.send_message(msg)
            assert wait_until(lambda n=arrived: inbox_count(stack, "minutes") >= n, 15), stack.logs()


def inbox_count(stack: MailStack, user: str) -> int:
    with stack.imap(user) as client:
        client.select_folder("INBOX", readonly=True)
        return len(client.search("ALL"))


def mails(stack: MailStack, user: str) -> list[InboundMessage]:
    with stack.imap(user) as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search("ALL")
        data = client.fetch(uids, [b"BODY.PEEK[]"]) if uids else {}
        return [parse_message(data[uid][b"BODY[]"]) for uid in uids]


def run_once(env: dict[str, str]) -> str:
    result = run_cli(["run", "--once"], env)
    assert result.returncode == 0, result.stderr
    return result.stderr


def record_status(env: dict[str, str], record: str) -> dict:
    result = run_cli(["status", record, "--json"], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def reply(stack: MailStack, user: str, to: InboundMessage, body: str) -> EmailMessage:
    """What a mail client does with "Reply": Reply-To, threading headers, the quote below."""
    msg = EmailMessage()
    msg["From"] = stack.address(user)
    msg["To"] = to.reply_to[0] if to.reply_to else stack.address("minutes")
    msg["Subject"] = f"回复: {to.subject}"
    msg["Message-ID"] = make_msgid(domain=stack.domain)
    msg["In-Reply-To"] = f"<{to.message_id}>"
    msg["References"] = f"<{to.message_id}>"
    quoted = "\n".join(f"> {line}" for line in to.text.splitlines())
    msg.set_content(
        f'{body}\n\n在 2024-05-20 16:02,"会议纪要助手" <{stack.address("minutes")}> 写道:\n{quoted}\n'
    )
    return msg


def minutes_mail(stack: MailStack, user: str, record: str, version: int = 1) -> InboundMessage:
    wanted = (
        (f"第{version}版", f"v{version} to confirm") if version > 1 else ("(待确认)", "Minutes to confirm")
    )
    found = [
        m for m in mails(stack, user) if f"[{record}]" in m.subject and any(w in m.subject for w in wanted)
    ]
    assert found, f"{user} has no v{version} minutes of {record}: {[m.subject for m in mails(stack, user)]}"
    return found[-1]


@pytest.mark.parametrize("sample", sorted(DRAFTS))
def test_each_valid_sample_draft_reaches_every_attendee(
    stack: MailStack, tmp_path: Path, sample: str
) -> None:
    recorder, record, _ = DRAFTS[sample]
    env = env_for(stack, tmp_path, "2024-05-20T16:02:00+08:00")
    deliver(stack, draft_mail(stack, sample, recorder))
    run_once(env)
    status = record_status(env, record)
    assert status["state"] == "awaiting_confirmation"
    assert status["version"] == 1
    users = [p["email"].partition("@")[0] for p in status["attendees"]]
    assert len(users) >= 2
    expected_users = DRAFTS[sample][2]
    if expected_users:
        assert sorted(users) == sorted(expected_users)
    for user in users:
        assert wait_until(lambda u=user: inbox_count(stack, u) >= 1, 15), f"{user}: nothing arrived"
        got = minutes_mail(stack, user, record)
        assert got.reply_to and got.reply_to[0].startswith("minutes+"), (
            "a reply address bound to this attendee"
        )
        assert got.header("auto-submitted") == "auto-generated"
        assert got.html and "<table" in got.html
        assert "前直接回复本邮件" in got.text or "Please reply to this mail by" in got.text
    # The recorder also hears that the draft was taken.
    # A recorder who wrote Traditional is answered in Traditional: compared folded to Simplified.
    assert any(
        "已登记为" in simplified(m.text) or "are registered as" in m.text for m in mails(stack, recorder)
    )


def test_a_draft_with_errors_gets_its_findings_and_nothing_is_distributed(
    stack: MailStack, tmp_path: Path
) -> None:
    env = env_for(stack, tmp_path, "2024-05-20T16:02:00+08:00")
    deliver(stack, draft_mail(stack, "draft-zh-invalid.txt", "qian.fang"))
    run_once(env)
    summary = json.loads(run_cli(["status", "--json"], env).stdout)
    assert summary["records"] == []
    assert summary["messages"]["rejected"] == 1
    assert wait_until(lambda: inbox_count(stack, "qian.fang") == 1, 15)
    (findings,) = mails(stack, "qian.fang")
    assert "处需要修改" in findings.text and "1." in findings.text
    for user in PLAIN_ATTENDEES[:-1]:
        assert inbox_count(stack, user) == 0


def test_each_sample_reply_gets_the_outcome_of_its_readme(stack: MailStack, tmp_path: Path) -> None:
    env = env_for(stack, tmp_path, "2024-05-20T16:02:00+08:00")
    deliver(
        stack,
        draft_mail(stack, "draft-zh-plain.txt", "qian.fang"),
        draft_mail(stack, "draft-en.md", "zhang.wei"),
    )
    run_once(env)
    for user in ["minutes", *PEOPLE]:
        stack.empty(user)
    replies = SAMPLES / "replies"
    samples = ["confirm-outlook-zh", "confirm-foxmail-gbk", "object-163", "out-of-office",
               "not-a-participant", "english-confirm-gmail"]  # fmt: skip
    for name in samples:
        raw = (replies / f"{name}.eml").read_bytes()
        deliver(stack, raw, sender=parse_message(raw).from_addr)
    assert wait_until(lambda: inbox_count(stack, "minutes") == len(samples), 15)
    run_once(at(env, "2024-05-21T09:15:00+08:00"))

    ops = {p["email"].partition("@")[0]: p for p in record_status(env, "2024-OPS-001")["attendees"]}
    assert ops["chen.jing"]["response"] == "confirmed"
    assert ops["liu.yang"]["response"] == "confirmed", "the quoted 不同意 below Foxmail's header is not read"
    assert ops["zhao.min"]["response"] == "objected"
    assert ops["wang.lei"]["response"] == ops["sun.hao"]["response"] == "none"
    assert record_status(env, "2024-OPS-001")["state"] == "revising"
    mkt = {p["email"].partition("@")[0]: p for p in record_status(env, "2024-MKT-001")["attendees"]}
    assert mkt["zhou.ting"]["response"] == "confirmed", "the quoted 'I object' is not read"

    # The objection, with its text, reaches the recorder and the host.
    for user in ("qian.fang", "wang.lei"):
        assert wait_until(lambda u=user: any("修改意见" in m.subject for m in mails(stack, u)), 15), user
        objection = next(m for m in mails(stack, user) if "修改意见" in m.subject)
        assert "2024-05-29" in objection.text and "赵敏" in objection.text
    # Receipts say what was understood; the stranger learns nothing of the record.
    assert wait_until(lambda: inbox_count(stack, "chen.jing") == 1, 15)
    assert "已记录您对 2024-OPS-001(第 1 版)的确认" in mails(stack, "chen.jing")[0].text
    assert wait_until(lambda: inbox_count(stack, "ma.chao") == 1, 15)
    refusal = mails(stack, "ma.chao")[0]
    assert (
        "2024-OPS-001" not in refusal.text
        and "Q3" not in refusal.text
        and "只有该会议纪要的参会人" in refusal.text
    )
    assert "Your confirmation of 2024-MKT-001" in mails(stack, "zhou.ting")[0].text
    # The auto-reply is recorded and never answered: liu.yang got exactly one receipt (Foxmail's).
    assert inbox_count(stack, "liu.yang") == 1
    summary = json.loads(run_cli(["status", "--json"], env).stdout)
    assert summary["messages"]["ignored"] >= 1
    assert summary["messages"]["quarantined"] == 0


def test_objection_then_revision_then_everyone_confirms(stack: MailStack, tmp_path: Path) -> None:
    env = env_for(stack, tmp_path, "2024-05-20T16:02:00+08:00")
    deliver(stack, draft_mail(stack, "draft-zh-plain.txt", "qian.fang"))
    run_once(env)
    for user in PLAIN_ATTENDEES:
        assert wait_until(lambda u=user: inbox_count(stack, u) >= 1, 15)
    first = {user: minutes_mail(stack, user, "2024-OPS-001") for user in PLAIN_ATTENDEES}
    stack.empty("minutes")

    # 陈静 confirms, 赵敏 objects: by replying from their mail client.
    deliver(stack, reply(stack, "chen.jing", first["chen.jing"], "确认无误"),
            reply(stack, "zhao.min", first["zhao.min"], "第1项截止时间应为2024-05-29,其余确认"))  # fmt: skip
    run_once(at(env, "2024-05-21T09:00:00+08:00"))
    status = record_status(env, "2024-OPS-001")
    assert status["state"] == "revising"
    responses = {p["email"].partition("@")[0]: p["response"] for p in status["attendees"]}
    assert responses["chen.jing"] == "confirmed" and responses["zhao.min"] == "objected"
    assert wait_until(lambda: any("修改意见" in m.subject for m in mails(stack, "qian.fang")), 15)
    objection = next(m for m in mails(stack, "qian.fang") if "修改意见" in m.subject)

    # The recorder answers the objection with the revised draft.
    revised_text = (
        (SAMPLES / "draft-zh-plain.txt").read_text(encoding="utf-8").replace("2024-05-27", "2024-05-29", 1)
    )
    for user in ["minutes", *PEOPLE]:
        stack.empty(user)
    revision = reply(stack, "qian.fang", objection, revised_text)
    deliver(stack, revision)
    run_once(at(env, "2024-05-21T11:00:00+08:00"))
    status = record_status(env, "2024-OPS-001")
    assert status["version"] == 2 and status["state"] == "awaiting_confirmation"
    responses = {p["email"].partition("@")[0]: p["response"] for p in status["attendees"]}
    # The change is to 赵敏's item 1: 陈静's confirmation (her item 2 unchanged) carries over.
    assert responses.pop("chen.jing") == "confirmed", "a confirmation the change does not concern stays"
    assert set(responses.values()) == {"none"}, "every other confirmation is asked again"
    assert status["confirmation_deadline"].startswith("2024-05-23T11:00")
    second = {}
    for user in PLAIN_ATTENDEES:
        assert wait_until(lambda u=user: inbox_count(stack, u) >= 1, 15)
        second[user] = minutes_mail(stack, user, "2024-OPS-001", version=2)
    assert "2024-05-27 → 2024-05-29" in second["zhao.min"].text, "the mail lists what changed"
    assert "确认仍然有效" in second["chen.jing"].text and "确认仍然有效" not in second["zhao.min"].text

    # Everyone confirms version 2: the confirmed notice names them all.
    stack.empty("minutes")
    deliver(stack, *(reply(stack, user, second[user], "同意") for user in PLAIN_ATTENDEES))
    run_once(at(env, "2024-05-22T10:00:00+08:00"))
    status = record_status(env, "2024-OPS-001")
    assert status["state"] == "confirmed"
    assert wait_until(lambda: any("已确认" in m.subject for m in mails(stack, "wang.lei")), 15)
    notice = next(m for m in mails(stack, "wang.lei") if "会议纪要已确认" in m.subject)
    assert "赵敏" in notice.text and "未回复" not in notice.text


def test_a_reply_key_used_by_someone_else_is_refused(stack: MailStack, tmp_path: Path) -> None:
    env = env_for(stack, tmp_path, "2024-05-20T16:02:00+08:00")
    deliver(stack, draft_mail(stack, "draft-zh-plain.txt", "qian.fang"))
    run_once(env)
    assert wait_until(lambda: inbox_count(stack, "chen.jing") >= 1, 15)
    chen = minutes_mail(stack, "chen.jing", "2024-OPS-001")
    stack.empty("minutes")
    deliver(stack, reply(stack, "sun.hao", chen, "确认"))  # 孙浩 answers through 陈静's address
    run_once(at(env, "2024-05-21T09:00:00+08:00"))
    responses = {p["email"]: p["response"] for p in record_status(env, "2024-OPS-001")["attendees"]}
    assert responses["sun.hao@example.test"] == responses["chen.jing@example.test"] == "none"


@pytest.mark.parametrize(
    ("opened", "deadline", "before", "after"),
    [
        # National Day 2024: Sunday 29 Sep is a make-up working day, 1-7 Oct are off.
        (
            "2024-09-27T10:00:00+08:00",
            "2024-09-30T10:00:00+08:00",
            "2024-09-30T09:59:00+08:00",
            "2024-09-30T10:00:00+08:00",
        ),
        # Mid-Autumn 2024: Saturday 14 Sep is worked, 15-17 Sep are off.
        (
            "2024-09-13T15:30:00+08:00",
            "2024-09-18T15:30:00+08:00",
            "2024-09-18T15:29:00+08:00",
            "2024-09-18T15:31:00+08:00",
        ),
        # Spring Festival 2024: 10-17 Feb off, Sunday 18 Feb worked.
        (
            "2024-02-08T09:00:00+08:00",
            "2024-02-18T09:00:00+08:00",
            "2024-02-18T08:59:00+08:00",
            "2024-02-18T09:00:00+08:00",
        ),
    ],
    ids=["national-day", "mid-autumn", "spring-festival"],
)
def test_a_window_opened_before_a_public_holiday_closes_on_the_right_day(
    stack: MailStack, tmp_path: Path, opened: str, deadline: str, before: str, after: str
) -> None:
    env = env_for(stack, tmp_path, opened)
    deliver(stack, draft_mail(stack, "draft-zh-plain.txt", "qian.fang"))
    run_once(env)
    status = record_status(env, "2024-OPS-001")
    assert status["confirmation_deadline"] == deadline
    assert wait_until(lambda: inbox_count(stack, "chen.jing") >= 1, 15)
    spelled = minutes_mail(stack, "chen.jing", "2024-OPS-001").text
    day = deadline[:10].split("-")
    assert f"{int(day[0])}年{int(day[1])}月{int(day[2])}日" in spelled, (
        "the deadline written is the one enforced"
    )

    run_once(at(env, before))
    assert record_status(env, "2024-OPS-001")["state"] == "awaiting_confirmation"
    assert wait_until(lambda: any("请确认会议纪要" in m.subject for m in mails(stack, "wang.lei")), 15), (
        "the silent are reminded before the deadline"
    )
    run_once(at(env, after))
    status = record_status(env, "2024-OPS-001")
    assert status["state"] == "confirmed", "silence counts as consent by default"
    assert wait_until(lambda: any("会议纪要已确认" in m.subject for m in mails(stack, "chen.jing")), 15)
    notice = next(m for m in mails(stack, "chen.jing") if "会议纪要已确认" in m.subject)
    assert "未回复(视为同意):王磊、陈静" in notice.text
