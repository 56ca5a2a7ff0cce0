"""Editing items by reply on the real Postfix + Dovecot: the host hands one item to another
person and adds one; the people concerned get their mail with the calendar entry."""

from __future__ import annotations

from pathlib import Path

import pytest
from icalendar import Calendar

from tests.mailstack import MailStack
from tests.service.minutes.test_confirmation_e2e import (
    PLAIN_ATTENDEES,
    at,
    deliver,
    draft_mail,
    env_for,
    mails,
    minutes_mail,
    record_status,
    reply,
    run_once,
)

pytestmark = pytest.mark.mailstack


def _ics(mail: object) -> Calendar:
    [part] = [a for a in mail.attachments if a.filename.endswith(".ics")]  # type: ignore[attr-defined]
    return Calendar.from_ical(part.data)


def test_the_host_reassigns_and_adds_an_item_by_reply(stack: MailStack, tmp_path: Path) -> None:
    env = env_for(stack, tmp_path, "2024-05-20T16:02:00+08:00")
    deliver(stack, draft_mail(stack, "draft-zh-plain.txt", "qian.fang"))
    run_once(env)
    for user in PLAIN_ATTENDEES:
        deliver(stack, reply(stack, user, minutes_mail(stack, user, "2024-OPS-001"), "确认"))
    run_once(at(env, "2024-05-20T17:00:00+08:00"))
    assert record_status(env, "2024-OPS-001")["state"] == "confirmed"
    for user in ("chen.jing", "li.na", "wang.lei"):
        stack.empty(user)
    host_minutes = [m for m in mails(stack, "qian.fang")] or [
        minutes_mail(stack, "qian.fang", "2024-OPS-001")
    ]
    edit = reply(
        stack,
        "wang.lei",
        host_minutes[0],
        "#2 负责人改为 李娜\n新增: 评估供应商报价;负责人:李娜;截止:6月30日;交付标准:报价对比表",
    )
    edit.replace_header("Subject", "回复: [2024-OPS-001] 会议纪要")
    deliver(stack, edit)
    run_once(at(env, "2024-05-21T09:00:00+08:00"))

    status = record_status(env, "2024-OPS-001")
    owners = {i["id"]: i["owner"]["email"] for i in status["items"]}
    assert owners["2024-OPS-001#2"] == owners["2024-OPS-001#4"] == stack.address("li.na")
    [away] = [m for m in mails(stack, "chen.jing") if "已转交他人" in m.subject]
    assert str(_ics(away)["METHOD"]) == "CANCEL"
    li_na = {m.subject: m for m in mails(stack, "li.na")}
    mine = [m for s, m in li_na.items() if "转交给您" in s]
    new = [m for s, m in li_na.items() if "新增行动项" in s]
    assert len(mine) == len(new) == 1, list(li_na)
    [event] = _ics(new[0]).walk("VEVENT")
    assert event.decoded("DTSTART").isoformat() == "2024-06-30"
    receipt = [m for m in mails(stack, "wang.lei") if "负责人已由 陈静 改为 李娜" in m.text]
    assert receipt and "已新增 2024-OPS-001#4" in receipt[0].text
