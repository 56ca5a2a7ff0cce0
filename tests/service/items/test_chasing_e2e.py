"""How items are chased, read in the inboxes of the real Postfix + Dovecot (issue 13.8, 13.3).

draft-zh-plain.txt gives 2024-OPS-001, confirmed by silence on Wed 22 May 2024 at 16:02: #1 赵敏
(客服部, which she heads; due Mon 27 May), #2 陈静 (技术部, which she heads; due Fri 24 May), #3
孙浩 (运营部, which he heads; due Wed 22 May). The host, 王磊, is the tracker. Some tests change an
owner or a deadline in the draft.
"""

from __future__ import annotations

from email.utils import getaddresses
from pathlib import Path

import pytest

from parsers.message import InboundMessage
from tests.mailstack import MailStack
from tests.service.items.test_actions_e2e import answer, arrives, subjects
from tests.service.items.test_people_e2e import (
    LI_NA_OWNS_2,
    RECORD,
    confirmed_by_silence,
    delivered,
    listed,
    plain_draft,
)
from tests.service.minutes.test_confirmation_e2e import at, deliver, mails, run_once

pytestmark = pytest.mark.mailstack


def _addresses(mail: InboundMessage, header: str) -> list[str]:
    return [a.partition("@")[0] for _, a in getaddresses([mail.header(header) or ""])]


def _chases(stack: MailStack, user: str, word: str) -> list[InboundMessage]:
    return [m for m in mails(stack, user) if word in m.subject]


def test_a_reminder_for_a_saturday_deadline_names_the_day_not_today(stack: MailStack, tmp_path: Path) -> None:
    # #3 is due Saturday 25 May; #2 on Friday 24 May, the day both last reminders go.
    env = confirmed_by_silence(
        stack, tmp_path, plain_draft(stack, {"| 运营部 | 2024-05-22 |": "| 运营部 | 2024-05-25 |"})
    )
    run_once(at(env, "2024-05-24T09:05:00+08:00"))

    saturday = arrives(stack, "sun.hao", f"[{RECORD}#3] 行动项提醒")
    assert saturday.subject.endswith("(截止 2024-05-25)")
    assert "截止日期为 2024年5月25日(星期六),那天不是工作日:今天是截止前的最后一个工作日" in saturday.text
    assert "就是今天" not in saturday.text
    friday = arrives(stack, "chen.jing", f"[{RECORD}#2] 行动项提醒")
    assert "截止日期为 2024年5月24日(星期五),就是今天" in friday.text
    delivered(stack)
    assert len(_chases(stack, "sun.hao", "行动项提醒")) == 1, "the last reminder only, once"


def test_an_escalation_tells_the_head_the_status_the_history_and_what_they_can_do(
    stack: MailStack, tmp_path: Path
) -> None:
    env = confirmed_by_silence(stack, tmp_path, plain_draft(stack, LI_NA_OWNS_2))
    assignment = arrives(stack, "li.na", "您的行动项")
    # Thu 23 May at 07:30 in Shanghai is still Wed 22 May in UTC.
    deliver(stack, answer(stack, "li.na", assignment, "进度 30% 接口文档在写", "2024-05-23T07:30:00+08:00"))
    run_once(at(env, "2024-05-23T07:30:00+08:00"))
    arrives(stack, "li.na", f"回复: [{RECORD}]")

    # Thu 30 May: #2 (due Fri 24) is past 3 working days overdue; so is #3 (due Wed 22).
    run_once(at(env, "2024-05-30T09:05:00+08:00"))
    escalation = arrives(stack, "chen.jing", f"[{RECORD}#2] 逾期升级")
    assert _addresses(escalation, "To") == ["chen.jing"]
    assert sorted(_addresses(escalation, "Cc")) == ["li.na", "wang.lei"], "the owner and the tracker see it"
    text = escalation.text
    assert text.startswith("陈静您好")
    assert "李娜(技术部)负责的 2024-OPS-001#2「评估A类功能开发周期」已逾期 4 个工作日" in text
    assert "(截止 2024年5月24日(星期五))" in text
    assert "当前状态:进行中,进度 30%" in text, "the status in words"
    history = text.split("经过:", 1)[1].split("您可以", 1)[0]
    assert "接口文档在写" in listed(history, "进度更新")
    assert "2024年5月23日(星期四)" in listed(history, "进度更新"), "the day in Shanghai, with its weekday"
    assert "05-22" not in history and "5月22日" not in history
    assert "您可以:与 李娜 确认卡在哪里" in text
    assert "告知主持人 王磊" in text and "「#2 截止改为 …」" in text and "「#2 负责人改为 …」" in text

    # 孙浩 heads 运营部 himself: his #3 goes up to the tracker, never to him as his own head.
    up = arrives(stack, "wang.lei", f"[{RECORD}#3] 逾期升级")
    assert _addresses(up, "To") == ["wang.lei"] and up.text.startswith("王磊您好")
    assert "孙浩(运营部)负责的 2024-OPS-001#3" in up.text
    delivered(stack)
    to_sun_hao = [m for m in _chases(stack, "sun.hao", "逾期升级") if "sun.hao" in _addresses(m, "To")]
    assert to_sun_hao == []
    assert len(_chases(stack, "chen.jing", "逾期升级")) == 1
    assert not any(f"[{RECORD}#1] 逾期升级" in s for s in subjects(stack, "wang.lei")), "#1 is due Fri 31"


def test_a_blocked_item_is_not_chased_like_an_idle_one(stack: MailStack, tmp_path: Path) -> None:
    env = confirmed_by_silence(stack, tmp_path, plain_draft(stack))
    assignment = arrives(stack, "chen.jing", "您的行动项")
    line = "#2 受阻 原因: 接口方案未定 需要: 产品部确认需求"
    deliver(stack, answer(stack, "chen.jing", assignment, line, "2024-05-22T17:00:00+08:00"))
    run_once(at(env, "2024-05-22T17:01:00+08:00"))

    # Fri 24: #2's deadline day, #1's reminder a working day ahead. Tue 28: both past due.
    run_once(at(env, "2024-05-24T09:05:00+08:00"))
    run_once(at(env, "2024-05-28T09:05:00+08:00"))
    arrives(stack, "zhao.min", f"[{RECORD}#1] 行动项提醒")
    arrives(stack, "zhao.min", f"[{RECORD}#1] 行动项逾期")
    delivered(stack)
    chased = [s for s in subjects(stack, "chen.jing") if f"[{RECORD}#2] 行动项" in s]
    assert chased == [], "the blocked owner waits on someone else: no reminder, no overdue notice"

    # Thu 30 May, past 3 working days: the escalation says what it waits for. 陈静 heads 技术部
    # herself, so it goes to the tracker.
    run_once(at(env, "2024-05-30T09:05:00+08:00"))
    escalation = arrives(stack, "wang.lei", f"[{RECORD}#2] 逾期升级")
    assert "当前状态:受阻" in escalation.text
    assert "它受阻于:接口方案未定;所需支持:产品部确认需求" in escalation.text
    assert "并协调上面所需的支持" in escalation.text


def test_an_item_overdue_when_assigned_is_flagged_to_its_owner_and_the_tracker(
    stack: MailStack, tmp_path: Path
) -> None:
    # #3 is due Tue 21 May: past by the time silence confirms the minutes on Wednesday.
    env = confirmed_by_silence(
        stack, tmp_path, plain_draft(stack, {"| 运营部 | 2024-05-22 |": "| 运营部 | 2024-05-21 |"})
    )
    late = arrives(stack, "sun.hao", "您的行动项")
    assert "截止:2024年5月21日(星期二)  ⚠ 已逾期" in listed(late.text, "截止:2024年5月21日")
    assert "请与跟踪人 王磊 商定新的日期" in late.text
    on_time = arrives(stack, "zhao.min", "您的行动项")
    assert "已逾期" not in on_time.text

    told = arrives(stack, "wang.lei", "行动项分配时已逾期")
    assert "2024-OPS-001#3" in told.text and "负责人:孙浩" in listed(told.text, "2024-OPS-001#3")
    assert "2024年5月21日(星期二)" in listed(told.text, "2024-OPS-001#3")
    assert "2024-OPS-001#1" not in told.text and "2024-OPS-001#2" not in told.text
    run_once(at(env, "2024-05-22T17:00:00+08:00"))
    delivered(stack)
    assert len(_chases(stack, "wang.lei", "行动项分配时已逾期")) == 1
    assert not any("分配时已逾期" in s for s in subjects(stack, "sun.hao")), (
        "the owner's is in the assignment"
    )
