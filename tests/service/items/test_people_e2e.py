"""What people ask and what they stop, on the real Postfix + Dovecot (issue 13.1, 13.3, 13.9).

An owner who writes "我的任务" gets her open items of every meeting; a head who writes
"my items" gets his department's. A head who answers the weekly table with "退订" gets no
table until "恢复"; an owner who writes "unsubscribe" is told she stays on her items' mail.
Times in the mail are Shanghai's, also when the clock stands on the other side of midnight UTC.

The meeting is draft-zh-plain.txt (2024-OPS-001) with item 2 handed to 李娜 (技术部, not an
attendee), whose department head is 陈静, so 陈静 owns nothing and gets the table as a head.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from parsers.message import InboundMessage
from tests.conftest import SAMPLES, wait_until
from tests.mailstack import MailStack
from tests.service.items.test_actions_e2e import answer, arrives, subjects
from tests.service.minutes.test_confirmation_e2e import (
    PLAIN_ATTENDEES,
    at,
    deliver,
    env_for,
    mails,
    record_status,
    reply,
    run_once,
)

pytestmark = pytest.mark.mailstack

RECORD = "2024-OPS-001"
START = "2024-05-20T16:02:00+08:00"  # Monday; silence confirms on Wednesday 22 May at 16:02
CLOSED = "2024-05-22T16:05:00+08:00"
LI_NA_OWNS_2 = {"| 2 | 评估A类功能开发周期 | 陈静 | 技术部 |": "| 2 | 评估A类功能开发周期 | 李娜 | 技术部 |"}


def plain_draft(stack: MailStack, changes: dict[str, str] | None = None, subject: str = "") -> EmailMessage:
    """The recorder's new mail with draft-zh-plain.txt in the body, with some text changed."""
    text = (SAMPLES / "draft-zh-plain.txt").read_text(encoding="utf-8")
    for old, new in (changes or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    msg = EmailMessage()
    msg["From"] = stack.address("qian.fang")
    msg["To"] = stack.address("minutes")
    msg["Subject"] = subject or "会议纪要"
    msg["Message-ID"] = make_msgid(domain=stack.domain)
    msg.set_content(text)
    return msg


def confirmed_by_silence(
    stack: MailStack, tmp_path: Path, *drafts: EmailMessage, env: dict[str, str] | None = None
) -> dict[str, str]:
    """The drafts distributed on Mon 20 May at 16:02; nobody answers, so the window's close on
    Wednesday confirms them and the owners get their assignments."""
    env = env or env_for(stack, tmp_path, START)
    deliver(stack, *drafts)
    run_once(at(env, START))
    run_once(at(env, CLOSED))
    assert record_status(env, RECORD)["state"] == "confirmed"
    return env


def delivered(stack: MailStack) -> None:
    """Postfix has handed on everything it took: what is not in an inbox now never will be."""
    queue = stack.root / "postfix" / "queue"

    def empty() -> bool:
        return not any(
            p.is_file() for d in ("maildrop", "incoming", "active") for p in (queue / d).rglob("*")
        )

    assert wait_until(empty, 20), stack.logs()


def letter(stack: MailStack, user: str, subject: str, body: str) -> EmailMessage:
    """A new mail (not a reply) from someone to the service."""
    msg = EmailMessage()
    msg["From"] = stack.address(user)
    msg["To"] = stack.address("minutes")
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=stack.domain)
    msg.set_content(body)
    return msg


def listed(text: str, item_id: str) -> str:
    """The line of a mail that lists one item."""
    found = [line.strip() for line in text.splitlines() if item_id in line]
    assert found, f"{item_id} is not listed in:\n{text}"
    return found[0]


def weekly_of(stack: MailStack, user: str, week: str) -> list[InboundMessage]:
    return [
        m for m in mails(stack, user) if week in m.subject and ("周报" in m.subject or "week" in m.subject)
    ]


# -- 13.1: "我的任务 / my items" -----------------------------------------------------------

SECOND_MEETING = {
    "会议名称:Q3产品规划会": "会议名称:客服系统升级周会",
    "会议时间:2024年5月20日 14:00-15:30": "会议时间:2024年5月20日 10:00-11:00",
    "| 1 | 输出《客户投诉处理流程V2.0》 | 赵敏 | 客服部 | 2024-05-27 |": (
        "| 1 | 整理客服系统接口清单 | 李娜 | 技术部 | 2024-06-07 |"
    ),
    "| 2 | 评估A类功能开发周期 | 陈静 | 技术部 | 2024-05-24 |": (
        "| 2 | 确认工单字段映射 | 孙浩 | 运营部 | 2024-06-05 |"
    ),
    "| 3 | 协调市场部人员支持Q3产品推广 | 孙浩 | 运营部 | 2024-05-22 |": (
        "| 3 | 准备升级公告 | 孙浩 | 运营部 | 2024-06-12 |"
    ),
}


def test_my_items_gives_an_owner_her_items_of_every_meeting_and_a_head_his_departments(
    stack: MailStack, tmp_path: Path
) -> None:
    first = plain_draft(stack, LI_NA_OWNS_2)
    second = plain_draft(stack, SECOND_MEETING, subject="客服系统升级周会纪要")
    env = confirmed_by_silence(stack, tmp_path, first, second)
    assert record_status(env, "2024-OPS-002")["state"] == "confirmed"
    for user in ("li.na", "chen.jing", "sun.hao"):
        stack.empty(user)

    deliver(
        stack,
        letter(stack, "li.na", "我的任务", "我的任务"),
        letter(stack, "chen.jing", "my items", "my items"),
    )
    run_once(at(env, "2024-05-23T10:00:00+08:00"))

    owner = arrives(stack, "li.na", "我的任务")
    assert "您目前未完成的行动项" in owner.text
    assert "评估A类功能开发周期" in listed(owner.text, f"{RECORD}#2")
    assert "2024年5月24日(星期五)" in listed(owner.text, f"{RECORD}#2")  # the day, with its weekday
    assert "整理客服系统接口清单" in listed(owner.text, "2024-OPS-002#1")
    assert "2024年6月7日(星期五)" in listed(owner.text, "2024-OPS-002#1")
    for other in (f"{RECORD}#1", f"{RECORD}#3", "2024-OPS-002#2", "2024-OPS-002#3"):
        assert other not in owner.text, f"{other} is not 李娜's"

    head = arrives(stack, "chen.jing", "my items")
    assert "You have no open action items" in head.text, "陈静 owns nothing once #2 is 李娜's"
    assert "Open action items of your department" in head.text and "技术部" in head.text
    for item_id, due in ((f"{RECORD}#2", "Friday 24 May 2024"), ("2024-OPS-002#1", "Friday 7 June 2024")):
        line = listed(head.text, item_id)
        assert "李娜" in line and due in line, line
    for other in (f"{RECORD}#1", f"{RECORD}#3", "2024-OPS-002#2", "2024-OPS-002#3"):
        assert other not in head.text, f"{other} is not 技术部's"
    delivered(stack)
    assert not any("my items" in s or "我的任务" in s for s in subjects(stack, "sun.hao"))
    assert record_status(env, RECORD)["state"] == "confirmed", "asking changes nothing"


# -- 13.9: "退订 / unsubscribe" and "恢复 / resume" -----------------------------------------


def test_a_head_who_unsubscribes_gets_no_weekly_table_until_resume_and_an_owner_stays_on_hers(
    stack: MailStack, tmp_path: Path
) -> None:
    env = confirmed_by_silence(stack, tmp_path, plain_draft(stack, LI_NA_OWNS_2))

    # Monday 27 May: 陈静 gets 技术部's table as its head, 李娜 her own.
    run_once(at(env, "2024-05-27T09:05:00+08:00"))
    table = arrives(stack, "chen.jing", "行动项周报 2024-05-27")
    assert f"{RECORD}#2" in table.text and "李娜" in table.text
    own = arrives(stack, "li.na", "行动项周报 2024-05-27")

    # Both answer their table from their mail client.
    deliver(
        stack,
        answer(stack, "chen.jing", table, "退订", "2024-05-27T10:00:00+08:00"),
        answer(stack, "li.na", own, "unsubscribe", "2024-05-27T10:00:00+08:00"),
    )
    run_once(at(env, "2024-05-27T10:01:00+08:00"))
    muted = arrives(stack, "chen.jing", "回复: 行动项周报")
    assert "已为您退订行动项周报" in muted.text and "「恢复」" in muted.text
    kept = arrives(stack, "li.na", "回复: 行动项周报")
    assert "继续发给您" in kept.text and f"{RECORD}#2" in kept.text
    assert "已为您退订" not in kept.text, "an owner is not unsubscribed"

    # Monday 3 June: the tracker and the owner get theirs; the head who unsubscribed does not.
    run_once(at(env, "2024-06-03T09:05:00+08:00"))
    arrives(stack, "wang.lei", "行动项周报 2024-06-03")
    assert f"{RECORD}#2" in arrives(stack, "li.na", "行动项周报 2024-06-03").text
    delivered(stack)
    assert weekly_of(stack, "chen.jing", "2024-06-03") == []
    assert len(weekly_of(stack, "li.na", "2024-06-03")) == 1

    # 恢复, a new mail: the next table (Mon 10 June is Dragon Boat Festival: Tue 11) reaches her.
    deliver(stack, letter(stack, "chen.jing", "恢复", "恢复"))
    run_once(at(env, "2024-06-04T09:30:00+08:00"))
    assert "已为您恢复行动项周报" in arrives(stack, "chen.jing", "恢复").text
    run_once(at(env, "2024-06-11T09:05:00+08:00"))
    back = arrives(stack, "chen.jing", "行动项周报 2024-06-11")
    assert f"{RECORD}#2" in back.text and "李娜" in back.text
    delivered(stack)
    assert len(weekly_of(stack, "chen.jing", "2024-06-11")) == 1


# -- 13.3: times are the reader's, on either side of midnight UTC --------------------------


def _confirmed_past_midnight(
    stack: MailStack, tmp_path: Path
) -> tuple[dict[str, str], InboundMessage, InboundMessage]:
    """The draft arrives on Tue 21 May at 07:30 in Shanghai (Mon 23:30 UTC); everyone confirms and
    the last answer is read on Wed 22 May at 00:30 in Shanghai (Tue 16:30 UTC). The env, 陈静's
    minutes and her confirmed notice."""
    env = env_for(stack, tmp_path, "2024-05-21T07:30:00+08:00")
    deliver(stack, plain_draft(stack))
    run_once(env)
    minutes = {
        user: next(m for m in mails(stack, user) if f"[{RECORD}]" in m.subject and "待确认" in m.subject)
        for user in PLAIN_ATTENDEES
    }
    for user in ["minutes", *PLAIN_ATTENDEES]:
        stack.empty(user)
    deliver(stack, *(reply(stack, user, minutes[user], "确认") for user in PLAIN_ATTENDEES))
    run_once(at(env, "2024-05-22T00:30:00+08:00"))
    assert record_status(env, RECORD)["state"] == "confirmed"
    return env, minutes["chen.jing"], arrives(stack, "chen.jing", "会议纪要已确认")


def test_times_in_mail_are_shanghais_on_either_side_of_midnight_utc(stack: MailStack, tmp_path: Path) -> None:
    env, minutes, notice = _confirmed_past_midnight(stack, tmp_path)
    # Two working days from Tuesday morning in Shanghai (not from Monday, UTC's date).
    assert record_status(env, RECORD)["confirmation_deadline"] == "2024-05-23T07:30:00+08:00"
    assert "确认截止时间:2024年5月23日(星期四)07:30" in minutes.text
    assert "5月22日" not in minutes.text and "23:30" not in minutes.text
    confirmed_at = listed(notice.text, "00:30")  # Wednesday 22 May in Shanghai, however spelled
    assert "2024-05-22 00:30" in confirmed_at or "2024年5月22日" in confirmed_at, confirmed_at
    assert "16:30" not in notice.text and "2024-05-21" not in notice.text and "5月21日" not in notice.text


def test_the_confirmed_notice_names_the_weekday_of_its_time(stack: MailStack, tmp_path: Path) -> None:
    _, _, notice = _confirmed_past_midnight(stack, tmp_path)
    assert "星期三" in listed(notice.text, "00:30"), notice.text
