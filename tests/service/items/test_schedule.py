"""A schedule that respects people (issue 13.8), through the real pipeline and scheduler:
no weekly table on a public holiday, a weekend deadline named as such, escalations that say
what the head can do, blocked items not nagged, late items flagged at assignment, and a
minutes mail that shows what the draft had and states its silence policy."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from parsers.message import InboundMessage, parse_message
from service import scheduler
from service.core.calendar import work_calendar
from service.core.config import load_rules
from service.items import moments
from service.mail.bodies import read_body
from tests.conftest import SAMPLES, write_rules
from tests.service.items.test_actions_units import _mail
from tests.service.minutes.test_confirmation_units import pipeline_with_rules

SHANGHAI = ZoneInfo("Asia/Shanghai")
SUBJECT = "Re: [2024-OPS-001] 纪要"
ATTENDEES = ["wang.lei", "chen.jing", "liu.yang", "zhao.min", "sun.hao", "qian.fang"]


def _at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)  # type: ignore[misc]


def test_a_weekly_table_due_on_a_public_holiday_goes_the_next_working_morning(tmp_path: Path) -> None:
    rules = load_rules()
    calendar = work_calendar(rules.calendar)
    # Mon 10 June 2024 is Dragon Boat Festival; Mon 7 Oct 2024 is in the National Day week.
    assert moments.last_weekly_moment(rules, _at(2024, 6, 10, 12, 0), calendar) == _at(2024, 6, 3, 9, 0)
    assert moments.next_weekly_moment(rules, _at(2024, 6, 8, 12, 0), calendar) == _at(2024, 6, 11, 9, 0)
    assert moments.last_weekly_moment(rules, _at(2024, 6, 11, 9, 0), calendar) == _at(2024, 6, 11, 9, 0)
    assert moments.next_weekly_moment(rules, _at(2024, 6, 11, 9, 0), calendar) == _at(2024, 6, 17, 9, 0)
    assert moments.next_weekly_moment(rules, _at(2024, 10, 4, 9, 0), calendar) == _at(2024, 10, 8, 9, 0)
    allowed = load_rules(write_rules(tmp_path / "r.yaml", calendar={"send_on_holidays": True}))
    assert moments.next_weekly_moment(allowed, _at(2024, 6, 8, 12, 0), calendar) == _at(2024, 6, 10, 9, 0)


def _confirmed(tmp_path: Path, draft: str, **rules: Any) -> Any:
    pipeline = pipeline_with_rules(tmp_path, **rules)
    assert pipeline.process(_mail("qian.fang", "纪要", draft, "draft"), "t:draft").outcome == "applied"
    for person in ATTENDEES:
        pipeline.process(_mail(person, SUBJECT, "确认", f"ok-{person}"), f"t:ok-{person}")
    assert pipeline.store.get("records", "2024-OPS-001")["state"] == "confirmed"
    return pipeline


def _tick(pipeline: Any, when: datetime) -> None:
    scheduler.tick(pipeline.store, pipeline.outbox, pipeline.rules, when, pipeline.directory)


def _sent(pipeline: Any, key_part: str) -> list[InboundMessage]:
    docs = [d for d in pipeline.store.all("outbox") if key_part in d["key"]]
    return [parse_message(read_body(pipeline.store.data_dir, d)) for d in docs]


def _plain(**dues: str) -> str:
    draft = (SAMPLES / "draft-zh-plain.txt").read_text(encoding="utf-8")
    for old, new in dues.items():
        draft = draft.replace(old.replace("_", "-"), new)
    return draft


def test_a_deadline_on_a_weekend_is_named_not_called_today(tmp_path: Path) -> None:
    pipeline = _confirmed(tmp_path, _plain(**{"2024_05_22": "2024-06-15"}))  # item 3, a Saturday
    _tick(pipeline, _at(2024, 6, 14, 9, 5))
    [reminder] = _sent(pipeline, "2024-OPS-001#3:due2024-06-15:remind0")
    assert "2024年6月15日(星期六)" in reminder.text and "今天是截止前的最后一个工作日" in reminder.text
    assert "就是今天" not in reminder.text


def test_an_escalation_says_the_status_the_history_and_what_the_head_can_do(tmp_path: Path) -> None:
    pipeline = _confirmed(tmp_path, _plain())
    pipeline.process(_mail("chen.jing", SUBJECT, "#2 进度 30% 接口文档在写", "p1"), "t:p1")
    _tick(pipeline, _at(2024, 6, 3, 9, 5))
    [escalation] = _sent(pipeline, "2024-OPS-001#2:due2024-05-24:escalate")
    text = escalation.text
    assert "当前状态:进行中,进度 30%" in text
    assert "经过:" in text and "接口文档在写" in text
    assert "您可以" in text and "主持人 王磊" in text and "#2 截止改为" in text


def test_a_blocked_item_is_not_nagged_but_its_escalation_says_what_it_waits_for(tmp_path: Path) -> None:
    pipeline = _confirmed(tmp_path, _plain())
    line = "#2 受阻 原因: 接口方案未定 需要: 产品部确认需求"
    assert pipeline.process(_mail("chen.jing", SUBJECT, line, "b1"), "t:b1").outcome == "applied"
    for day in (20, 21, 22, 23, 24, 27, 28):
        _tick(pipeline, _at(2024, 5, day, 9, 5))
    keys = [d["key"] for d in pipeline.store.all("outbox") if d["key"].startswith("2024-OPS-001#2:")]
    assert not [k for k in keys if ":remind" in k or ":overdue" in k], keys
    _tick(pipeline, _at(2024, 5, 30, 9, 5))
    [escalation] = _sent(pipeline, "2024-OPS-001#2:due2024-05-24:escalate")
    assert "它受阻于:接口方案未定" in escalation.text and "产品部确认需求" in escalation.text


def test_an_item_already_overdue_when_assigned_is_flagged_to_its_owner_and_the_tracker(
    tmp_path: Path,
) -> None:
    pipeline = pipeline_with_rules(tmp_path)
    draft = _plain(**{"2024_05_22": "2024-05-21"})  # item 3: past by the time silence confirms
    assert pipeline.process(_mail("qian.fang", "纪要", draft, "draft"), "t:draft").outcome == "applied"
    _tick(pipeline, _at(2024, 5, 22, 16, 5))
    assert pipeline.store.get("records", "2024-OPS-001")["state"] == "confirmed"
    [owner] = [m for m in _sent(pipeline, ":assign:sun.hao") if "2024-OPS-001#3" in m.text]
    assert "已逾期" in owner.text
    [other] = _sent(pipeline, ":assign:zhao.min")
    assert "已逾期" not in other.text
    [tracker] = _sent(pipeline, ":late-at-assignment")
    assert "2024-OPS-001#3" in tracker.text and "2024-OPS-001#1" not in tracker.text
    _tick(pipeline, _at(2024, 5, 22, 17, 0))
    assert len(_sent(pipeline, ":late-at-assignment")) == 1


def test_the_minutes_mail_shows_agenda_absences_notes_next_meeting_and_the_silence_policy(
    tmp_path: Path,
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    pipeline = pipeline_with_rules(tmp_path / "a")
    html = (SAMPLES / "draft-zh-tables.html").read_text(encoding="utf-8")
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "qian.fang@example.test", "minutes@example.test", "纪要"
    msg["Message-ID"] = "<tables@example.test>"
    msg.set_content(html, subtype="html")
    assert pipeline.process(bytes(msg), "t:tables").outcome == "applied"
    [minutes] = [m for m in _sent(pipeline, "") if "会议纪要(待确认)" in m.subject][:1]
    text = minutes.text
    assert "产品排期确认" in text and "客户投诉处理" in text, "the agenda"
    assert "刘洋(因客户拜访请假)" in text, "absent, with the reason"
    assert "备注:等待研发部功能确认" in text, "an item's note"
    assert "截止时仍未回复的,视为同意本纪要" in text
    assert "逾期未回复的处理方式见文末" in text

    strict = pipeline_with_rules(tmp_path / "b", confirmation={"on_close": "remind_and_tell_host"})
    plain = (SAMPLES / "draft-zh-plain.txt").read_text(encoding="utf-8")
    assert strict.process(_mail("qian.fang", "纪要", plain, "d2"), "t:d2").outcome == "applied"
    [other] = [m for m in _sent(strict, "") if "会议纪要(待确认)" in m.subject][:1]
    assert "不视为同意" in other.text and "下次会议:2024-05-27 15:00" in other.text
