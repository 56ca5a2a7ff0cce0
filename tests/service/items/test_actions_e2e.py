"""Action items end to end, through the real Dovecot + Postfix, the clock moved across weeks.

draft-zh-plain.txt gives 2024-OPS-001 with three items: #1 赵敏 (due Mon 27 May 2024), #2 陈静
(Fri 24 May), #3 孙浩 (Wed 22 May). The host, 王磊, is the tracker. Dragon Boat Festival fell on
Mon 10 June 2024.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from icalendar import Calendar
from openpyxl import load_workbook

from parsers.message import InboundMessage, parse_message
from tests.conftest import SAMPLES, run_cli, wait_until
from tests.mailstack import MailStack
from tests.service.minutes.test_confirmation_e2e import (
    PLAIN_ATTENDEES,
    at,
    deliver,
    draft_mail,
    env_for,
    inbox_count,
    mails,
    record_status,
    run_once,
)

pytestmark = pytest.mark.mailstack

RECORD = "2024-OPS-001"
CSV_LIST = b"name,role\nZhang Wei,lead\nLi Si,design\n"


def answer(
    stack: MailStack,
    user: str,
    to: InboundMessage,
    body: str,
    written: str,
    attachment: tuple[str, str, bytes] | None = None,
) -> EmailMessage:
    """A reply as a mail client writes it: Reply-To, threading, Date, the quote below."""
    msg = EmailMessage()
    msg["From"] = stack.address(user)
    msg["To"] = to.reply_to[0] if to.reply_to else stack.address("minutes")
    msg["Subject"] = f"回复: {to.subject}"
    msg["Date"] = format_datetime(datetime.fromisoformat(written))
    msg["Message-ID"] = make_msgid(domain=stack.domain)
    msg["In-Reply-To"] = f"<{to.message_id}>"
    msg["References"] = f"<{to.message_id}>"
    quoted = "\n".join(f"> {line}" for line in to.text.splitlines())
    msg.set_content(f"{body}\n\n-----原始邮件-----\n发件人: minutes\n主题: {to.subject}\n\n{quoted}\n")
    if attachment:
        name, mime, data = attachment
        maintype, _, subtype = mime.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def latest(stack: MailStack, user: str, words: str) -> InboundMessage:
    found = [m for m in mails(stack, user) if words in m.subject]
    assert found, f"{user} has no mail with {words!r}: {[m.subject for m in mails(stack, user)]}"
    return found[-1]


def arrives(stack: MailStack, user: str, words: str, count: int = 1) -> InboundMessage:
    assert wait_until(lambda: sum(words in m.subject for m in mails(stack, user)) >= count, 15), (
        f"{user}: {[m.subject for m in mails(stack, user)]}"
    )
    return latest(stack, user, words)


def subjects(stack: MailStack, user: str) -> list[str]:
    return [m.subject for m in mails(stack, user)]


def item(env: dict[str, str], no: int) -> dict:
    return next(i for i in record_status(env, RECORD)["items"] if i["id"] == f"{RECORD}#{no}")


def confirmed_record(stack: MailStack, tmp_path: Path) -> dict[str, str]:
    """2024-OPS-001 distributed on Mon 20 May and confirmed by everyone that afternoon."""
    env = env_for(stack, tmp_path, "2024-05-20T16:02:00+08:00")
    deliver(stack, draft_mail(stack, "draft-zh-plain.txt", "qian.fang"))
    run_once(env)
    confirmations = []
    for user in PLAIN_ATTENDEES:
        minutes = next(m for m in mails(stack, user) if f"[{RECORD}]" in m.subject and "待确认" in m.subject)
        confirmations.append(answer(stack, user, minutes, "确认", "2024-05-20T16:20:00+08:00"))
    for user in ["minutes", *PLAIN_ATTENDEES]:
        stack.empty(user)
    deliver(stack, *confirmations)
    run_once(at(env, "2024-05-20T16:30:00+08:00"))
    assert record_status(env, RECORD)["state"] == "confirmed"
    return env


def test_sample_replies_done_with_evidence_and_multi_command(stack: MailStack, tmp_path: Path) -> None:
    env = env_for(stack, tmp_path, "2024-05-20T16:02:00+08:00")
    deliver(stack, draft_mail(stack, "draft-zh-plain.txt", "qian.fang"))
    run_once(env)
    for user in ["minutes", *PLAIN_ATTENDEES]:
        stack.empty(user)
    replies = SAMPLES / "replies"
    raws = [(replies / f"{name}.eml").read_bytes() for name in ("done-with-evidence", "multi-command")]
    for raw in raws:
        deliver(stack, raw, sender=parse_message(raw).from_addr)
    assert wait_until(lambda: inbox_count(stack, "minutes") == 2, 15)
    run_once(at(env, "2024-05-21T09:15:00+08:00"))

    status = record_status(env, RECORD)
    by_id = {i["id"]: i for i in status["items"]}
    pdf = parse_message(raws[0]).attachments[0]
    first = by_id[f"{RECORD}#1"]
    assert first["status"] == "pending_verification"
    assert first["evidence"][0]["filename"] == "客户投诉处理流程V2.0.pdf"
    assert first["evidence"][0]["sha256"] == hashlib.sha256(pdf.data).hexdigest()
    stored = list((tmp_path / "data" / "evidence" / RECORD / "1").iterdir())
    assert [p.read_bytes() for p in stored] == [pdf.data]
    third = by_id[f"{RECORD}#3"]
    assert third["status"] == "pending_verification"
    assert third["evidence"][0]["filename"] == "推广人员名单.csv"
    assert by_id[f"{RECORD}#2"]["status"] == "not_started" and by_id[f"{RECORD}#2"]["history"] == []
    assert f"{RECORD}#5" not in by_id and all(not i["delays"] for i in status["items"])
    # Item commands are not answers to the minutes: nobody's confirmation changed.
    assert {p["response"] for p in status["attendees"]} == {"none"}

    receipt = arrives(stack, "sun.hao", RECORD)
    assert "#3" in receipt.text and "等待跟踪人核实" in receipt.text
    assert f"本次会议没有 {RECORD}#5" in receipt.text
    assert "已记为完成" in arrives(stack, "zhao.min", RECORD).text
    # The tracker (the host) is asked to verify each, with the deliverable attached.
    assert wait_until(lambda: sum("待核实" in s for s in subjects(stack, "wang.lei")) == 2, 15)
    to_verify = latest(stack, "wang.lei", f"[{RECORD}#1] 待核实")
    assert to_verify.attachments[0].data == pdf.data


def test_an_item_from_assignment_to_done_delay_blocked_escalation_and_weekly_table(
    stack: MailStack, tmp_path: Path
) -> None:
    env = confirmed_record(stack, tmp_path)

    # Assignment: one mail per owner with id, deadline, criterion, how to answer, and an .ics.
    assignment = arrives(stack, "zhao.min", "您的行动项")
    assert f"{RECORD}#1" in assignment.text and "包含一级响应机制、流程节点图" in assignment.text
    assert "2024年5月27日(星期一)" in assignment.text and "#1 完成" in assignment.text
    ics = next(a for a in assignment.attachments if a.filename.endswith(".ics"))
    event = next(iter(Calendar.from_ical(ics.data).walk("VEVENT")))
    assert event.decoded("dtstart") == date(2024, 5, 27) and f"{RECORD}#1" in str(event.get("summary"))
    for user in ("chen.jing", "sun.hao"):
        arrives(stack, user, "您的行动项")
    assert not any("您的行动项" in s for s in subjects(stack, "liu.yang")), "not an owner"

    # Tue 21 May 09:05: #3 is due tomorrow (1 working day), #2 in 3 working days. Once each.
    for _ in range(2):
        run_once(at(env, "2024-05-21T09:05:00+08:00"))
    assert "行动项提醒" in arrives(stack, "sun.hao", f"[{RECORD}#3] 行动项提醒").subject
    arrives(stack, "chen.jing", f"[{RECORD}#2] 行动项提醒")
    assert not any("行动项提醒" in s for s in subjects(stack, "zhao.min")), "#1 is 4 working days away"
    assert sum("行动项提醒" in s for s in subjects(stack, "sun.hao")) == 1
    assert not any("周报" in s for s in subjects(stack, "wang.lei")), (
        "Monday 20 May 09:00 came before the items"
    )

    # Done without evidence: asked for it, the status stays.
    reminder = latest(stack, "sun.hao", "行动项提醒")
    deliver(stack, answer(stack, "sun.hao", reminder, "完成", "2024-05-21T10:00:00+08:00"))
    run_once(at(env, "2024-05-21T10:01:00+08:00"))
    asked = arrives(stack, "sun.hao", f"回复: [{RECORD}#3]")
    assert "未计为完成" in asked.text and ".csv" in asked.text
    assert item(env, 3)["status"] == "not_started"

    # With evidence: pending verification; the tracker rejects; the owner fixes it; verified.
    deliver(
        stack,
        answer(
            stack,
            "sun.hao",
            reminder,
            "#3 完成",
            "2024-05-21T11:00:00+08:00",
            ("名单.csv", "text/csv", CSV_LIST),
        ),
    )
    run_once(at(env, "2024-05-21T11:01:00+08:00"))
    assert item(env, 3)["status"] == "pending_verification"
    to_verify = arrives(stack, "wang.lei", f"[{RECORD}#3] 待核实")
    assert to_verify.attachments[0].data == CSV_LIST
    deliver(stack, answer(stack, "wang.lei", to_verify, "退回:缺少职责分工", "2024-05-21T14:00:00+08:00"))
    run_once(at(env, "2024-05-21T14:01:00+08:00"))
    assert item(env, 3)["status"] == "in_progress"
    assert "缺少职责分工" in arrives(stack, "sun.hao", f"[{RECORD}#3] 退回").text
    fixed = CSV_LIST + b"Wang Wu,copy\n"
    deliver(
        stack,
        answer(
            stack,
            "sun.hao",
            reminder,
            "#3 完成 已补充职责分工",
            "2024-05-22T09:30:00+08:00",
            ("名单v2.csv", "text/csv", fixed),
        ),
    )
    run_once(at(env, "2024-05-22T09:31:00+08:00"))
    to_verify = arrives(stack, "wang.lei", f"[{RECORD}#3] 待核实", count=2)
    deliver(stack, answer(stack, "wang.lei", to_verify, "核实通过", "2024-05-22T15:00:00+08:00"))
    run_once(at(env, "2024-05-22T15:01:00+08:00"))
    third = item(env, 3)
    assert third["status"] == "done" and third["actual"] == "2024-05-22"
    assert [e["sha256"] for e in third["evidence"]] == [
        hashlib.sha256(d).hexdigest() for d in (CSV_LIST, fixed)
    ]
    assert [h["to"] for h in third["history"]] == [
        "pending_verification",
        "in_progress",
        "pending_verification",
        "done",
    ]
    arrives(stack, "sun.hao", f"[{RECORD}#3] 已核实完成")

    # Progress, then a delay with a relative date: 下周五 written on Wed 22 May is Fri 31 May.
    assignment2 = latest(stack, "chen.jing", "您的行动项")
    deliver(
        stack,
        answer(
            stack,
            "chen.jing",
            assignment2,
            "进度 50% 评估表初稿已完成\n延期到下周五 原因:需求评审推迟",
            "2024-05-22T16:00:00+08:00",
        ),
    )
    run_once(at(env, "2024-05-22T16:01:00+08:00"))
    second = item(env, 2)
    assert (
        second["status"] == "delayed" and second["due"] == "2024-05-31" and second["planned"] == "2024-05-24"
    )
    assert second["delays"][0]["reason"] == "需求评审推迟"
    receipt = arrives(stack, "chen.jing", f"回复: [{RECORD}]")
    assert "50%" in receipt.text and "2024年5月31日(星期五)" in receipt.text and "晚 7 天" in receipt.text
    delayed = arrives(stack, "wang.lei", f"[{RECORD}#2] 延期")
    assert "需求评审推迟" in delayed.text and "2024年5月31日" in delayed.text

    # Blocked: the department that must help (市场部, head 刘洋) is told.
    assignment1 = latest(stack, "zhao.min", "您的行动项")
    deliver(
        stack,
        answer(
            stack,
            "zhao.min",
            assignment1,
            "受阻 原因:缺客户反馈数据 需要:市场部提供客户反馈数据",
            "2024-05-23T10:00:00+08:00",
        ),
    )
    run_once(at(env, "2024-05-23T10:01:00+08:00"))
    assert item(env, 1)["status"] == "blocked"
    blocked = arrives(stack, "liu.yang", f"[{RECORD}#1] 受阻")
    assert "缺客户反馈数据" in blocked.text and "市场部提供客户反馈数据" in blocked.text

    # Monday 27 May 09:00: the weekly table, once, also across a restart in the same minute.
    for user in ["wang.lei", "zhao.min", "chen.jing", "sun.hao", "liu.yang"]:
        stack.empty(user)
    run_once(at(env, "2024-05-27T08:59:00+08:00"))
    assert not any("周报" in s for s in subjects(stack, "wang.lei"))
    run_once(at(env, "2024-05-27T09:00:30+08:00"))
    run_once(at(env, "2024-05-27T09:01:00+08:00"))
    weekly = arrives(stack, "wang.lei", "行动项周报 2024-05-27")
    xlsx = next(a for a in weekly.attachments if a.filename.endswith(".xlsx"))
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = [r for r in sheet.iter_rows(values_only=True)]
    assert "行动项周报" in str(rows[0][0]) or rows[0][0], "a title above the table"
    assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref.startswith("A2:")
    rows = rows[1:]
    assert rows[0][:9] == (
        "编号",
        "行动项描述",
        "负责人",
        "所属部门",
        "计划完成时间",
        "实际完成时间",
        "状态",
        "交付成果",
        "备注",
    )
    table = {r[0]: r for r in rows[1:4]}
    stored = {i["id"]: i for i in record_status(env, RECORD)["items"]}
    assert set(table) == set(stored)
    for item_id, values in table.items():
        assert values[2] == stored[item_id]["owner"]["name"]
        assert values[4].date().isoformat() == stored[item_id]["planned"], "a real date cell"
    done = table[f"{RECORD}#3"]
    assert (done[5].date().isoformat(), done[6]) == ("2024-05-22", "已完成") and "名单v2.csv" in done[7]
    assert table[f"{RECORD}#2"][6] == "延期" and "2024-05-31" in table[f"{RECORD}#2"][8]
    assert table[f"{RECORD}#1"][6] == "受阻"
    assert any(r and r[0] == "按时完成率" for r in rows)
    csv_rows = list(
        csv.reader(
            io.StringIO(
                next(a for a in weekly.attachments if a.filename.endswith(".csv")).data.decode("utf-8-sig")
            )
        )
    )
    assert [r[0] for r in csv_rows[1:]] == [r[0] for r in rows[1:4]]
    own = arrives(stack, "sun.hao", "行动项周报")
    assert f"{RECORD}#3" in own.text and f"{RECORD}#1" not in own.text, "an owner sees their own items"
    assert sum("周报" in s for s in subjects(stack, "wang.lei")) == 1
    assert not any("周报" in s for s in subjects(stack, "liu.yang")), "no item of 市场部, none of his"

    # #1 was due Mon 27 May and is blocked: its owner waits on someone else's support, so no
    # overdue notice nags her on Tue 28; past 3 working days overdue (Fri 31) the tracker hears
    # of it (赵敏 heads 客服部 herself), with what it waits for.
    run_once(at(env, "2024-05-28T09:10:00+08:00"))
    run_once(at(env, "2024-05-30T18:00:00+08:00"))
    assert not any(f"[{RECORD}#1] 行动项逾期" in s for s in subjects(stack, "zhao.min"))
    assert not any("逾期升级" in s for s in subjects(stack, "wang.lei"))
    run_once(at(env, "2024-05-31T09:10:00+08:00"))
    escalated = arrives(stack, "wang.lei", f"[{RECORD}#1] 逾期升级")
    assert "已逾期 4 个工作日" in escalated.text and "它受阻于" in escalated.text

    # #2 delayed again, past Dragon Boat (Mon 10 June): 1 working day before Tue 11 June is Fri 7 June.
    deliver(
        stack,
        answer(
            stack,
            "chen.jing",
            assignment2,
            "#2 延期至6月11日 原因:等需求评审结论",
            "2024-05-31T10:00:00+08:00",
        ),
    )
    run_once(at(env, "2024-05-31T10:01:00+08:00"))
    assert item(env, 2)["due"] == "2024-06-11" and len(item(env, 2)["delays"]) == 2
    stack.empty("chen.jing")
    run_once(at(env, "2024-06-07T08:50:00+08:00"))
    reminders = [s for s in subjects(stack, "chen.jing") if "行动项提醒" in s]
    assert len(reminders) == 1, "the 3-working-day reminder (Wed 5 June), caught up once"
    run_once(at(env, "2024-06-07T09:05:00+08:00"))
    assert wait_until(lambda: sum("行动项提醒" in s for s in subjects(stack, "chen.jing")) == 2, 15)
    run_once(at(env, "2024-06-10T09:05:00+08:00"))  # the holiday: nothing new
    run_once(at(env, "2024-06-11T09:05:00+08:00"))  # the day itself
    assert wait_until(lambda: sum("行动项提醒" in s for s in subjects(stack, "chen.jing")) == 3, 15)
    assert "就是今天" in latest(stack, "chen.jing", "行动项提醒").text

    # The host cancels #1; anyone else is refused without learning anything about the item.
    deliver(stack, answer(stack, "liu.yang", blocked, "#1 取消", "2024-06-11T10:00:00+08:00"))
    run_once(at(env, "2024-06-11T10:01:00+08:00"))
    assert item(env, 1)["status"] == "blocked"
    refused = arrives(stack, "liu.yang", f"回复: [{RECORD}#1] 受阻")
    assert "您不能更新这一项" in refused.text and "缺客户反馈数据" not in refused.text
    deliver(
        stack,
        answer(
            stack, "wang.lei", escalated, "#1 取消 原因:流程改由总部统一制定", "2024-06-11T11:00:00+08:00"
        ),
    )
    run_once(at(env, "2024-06-11T11:01:00+08:00"))
    assert item(env, 1)["status"] == "cancelled"
    arrives(stack, "zhao.min", f"[{RECORD}#1] 已取消")

    # The tracker and the quarterly review show every status the items went through.
    final = at(env, "2024-06-12T09:00:00+08:00")
    tracked = json.loads(run_cli(["tracker", "--json"], final).stdout)
    statuses = {i["id"]: i["status"] for i in tracked["items"]}
    assert statuses == {f"{RECORD}#1": "cancelled", f"{RECORD}#2": "delayed", f"{RECORD}#3": "done"}
    seen = {h["to"] for i in tracked["items"] for h in i["history"]}
    assert seen >= {"in_progress", "pending_verification", "done", "delayed", "blocked", "cancelled"}
    assert tracked["on_time_rate"] == 50.0  # #3 on time, #2 late, #1 cancelled
    table = run_cli(["tracker"], final).stdout
    assert "陈静" in table and "已取消" in table and "on-time rate 50.0% (1/2)" in table
    only_ops = json.loads(run_cli(["tracker", "--json", "--department", "运营部"], final).stdout)
    assert [i["id"] for i in only_ops["items"]] == [f"{RECORD}#3"]
    out = tmp_path / "tracker.xlsx"
    assert run_cli(["tracker", "--xlsx", str(out)], final).returncode == 0
    assert load_workbook(out).active.max_row >= 4
    report = json.loads(run_cli(["report", "--quarter", "2024Q2", "--json"], final).stdout)
    assert report["items"] == 3 and report["meetings"] == 1 and report["items_per_meeting"] == 3
    by_department = {d["department"]: d for d in report["by_department"]}
    assert by_department["运营部"]["on_time_rate"] == 100.0
    assert (
        by_department["技术部"]["on_time_rate"] == 0.0 and by_department["技术部"]["average_slip_days"] == 19
    )
    assert "运营部" in run_cli(["report", "--quarter", "2024Q2"], final).stdout
