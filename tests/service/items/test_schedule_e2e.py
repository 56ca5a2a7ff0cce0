"""What people receive on a schedule, on the real Postfix + Dovecot (issue 13.4, 13.8): the
weekly table marks what is late and blocked under its meeting, and a weekly table due on a
public holiday arrives the next working morning."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import html as lxml_html

from tests.mailstack import MailStack
from tests.service.items.test_actions_e2e import answer, arrives, confirmed_record, subjects
from tests.service.minutes.test_confirmation_e2e import at, deliver, run_once

pytestmark = pytest.mark.mailstack


def _cells(html: str) -> list[str]:
    return [" ".join(td.text_content().split()) for td in lxml_html.fromstring(html).iter("td", "th")]


def test_the_weekly_table_marks_rows_and_skips_the_holiday(stack: MailStack, tmp_path: Path) -> None:
    env = confirmed_record(stack, tmp_path)
    assigned = arrives(stack, "chen.jing", "您的行动项")
    line = "#2 受阻 原因: 接口方案未定 需要: 产品部确认需求"
    deliver(stack, answer(stack, "chen.jing", assigned, line, "2024-05-21T10:00:00+08:00"))
    run_once(at(env, "2024-05-21T10:05:00+08:00"))

    run_once(at(env, "2024-05-27T09:05:00+08:00"))  # Monday: the weekly tables
    weekly = arrives(stack, "wang.lei", "行动项周报 2024-05-27")
    cells = _cells(weekly.html)
    assert any(c.startswith("会议 2024-OPS-001") for c in cells), "rows under their meeting"
    assert any("逾期" in c and "个工作日" in c for c in cells), "#3 was due 22 May"
    assert any("受阻" in c and "产品部确认需求" in c for c in cells), "#2 is blocked"
    assert "【逾期】" in weekly.text and "【受阻】" in weekly.text

    # Mon 10 June is Dragon Boat Festival: no table that day; it comes on Tuesday morning.
    run_once(at(env, "2024-06-10T10:00:00+08:00"))
    assert not any("2024-06-10" in s for s in subjects(stack, "wang.lei"))
    run_once(at(env, "2024-06-11T09:05:00+08:00"))
    arrives(stack, "wang.lei", "行动项周报 2024-06-11")
