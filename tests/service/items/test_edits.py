"""The host's and recorder's edits by reply, through the real pipeline: a new owner, a new
deadline, a new item; the people concerned told, calendars following, nobody else able to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from icalendar import Calendar

from parsers.message import parse_message
from service.items import state
from service.mail.bodies import read_body
from tests.conftest import SAMPLES
from tests.service.items.test_actions_units import _mail, _pipeline, _receipt

SUBJECT = "Re: [2024-OPS-001] 纪要"
ATTENDEES = ["wang.lei", "chen.jing", "liu.yang", "zhao.min", "sun.hao", "qian.fang"]


def _confirmed(tmp_path: Path) -> Any:
    pipeline = _pipeline(tmp_path)
    draft = (SAMPLES / "draft-zh-plain.txt").read_text(encoding="utf-8")
    assert pipeline.process(_mail("qian.fang", "纪要", draft, "draft"), "t:draft").outcome == "applied"
    for person in ATTENDEES:
        pipeline.process(_mail(person, SUBJECT, "确认", f"ok-{person}"), f"t:ok-{person}")
    assert pipeline.store.get("records", "2024-OPS-001")["state"] == "confirmed"
    return pipeline


def _item(pipeline: Any, no: int) -> dict[str, Any]:
    return next(i for i in state.all_items(pipeline.store) if i["no"] == no)


def _mails_to(pipeline: Any, user: str, since: str) -> list[Any]:
    """Mail queued for user by the message `since`, parsed as the reader gets it."""
    keys = pipeline.store.get("messages", f"{since}@example.test")["replies"]
    docs = [pipeline.store.get("outbox", k) for k in keys]
    wanted = [d for d in docs if f"{user}@example.test" in d["recipients"]]
    return [parse_message(read_body(pipeline.store.data_dir, d)) for d in wanted]


def _event(mail: Any) -> tuple[str, Any]:
    [ics] = [a for a in mail.attachments if a.filename.endswith(".ics")]
    cal = Calendar.from_ical(ics.data)
    [event] = cal.walk("VEVENT")
    return str(cal["METHOD"]), event


def test_the_host_hands_an_item_to_another_person_and_both_calendars_follow(tmp_path: Path) -> None:
    pipeline = _confirmed(tmp_path)
    before = _item(pipeline, 2)
    assert (
        pipeline.process(_mail("wang.lei", SUBJECT, "#2 负责人改为 李娜", "re1"), "t:re1").outcome
        == "applied"
    )
    item = _item(pipeline, 2)
    assert item["owner"]["email"] == "li.na@example.test" and item["status"] == before["status"]
    assert (
        item["history"][-1]["event"] == "reassigned" and item["history"][-1]["by"] == "wang.lei@example.test"
    )
    assert "负责人已由 陈静 改为 李娜" in _receipt(pipeline, "re1")
    [away] = _mails_to(pipeline, "chen.jing", "re1")
    method, cancelled = _event(away)
    assert method == "CANCEL" and "无需再处理" in away.text
    [to_new] = [m for m in _mails_to(pipeline, "li.na", "re1") if "交给您负责" in m.text]
    method, assigned = _event(to_new)
    assert method == "PUBLISH" and assigned["UID"] == cancelled["UID"] == "2024-OPS-001#2@example.test"
    assert assigned["SEQUENCE"] >= 1
    # The new owner may act on it now; the old one may not.
    assert pipeline.process(_mail("li.na", SUBJECT, "#2 进度 30%", "re2"), "t:re2").outcome == "applied"
    assert pipeline.process(_mail("chen.jing", SUBJECT, "#2 进度 60%", "re3"), "t:re3").outcome == "rejected"
    assert _item(pipeline, 2)["percent"] == 30


def test_the_recorder_moves_a_deadline_and_the_plan_moves_with_it(tmp_path: Path) -> None:
    pipeline = _confirmed(tmp_path)
    result = pipeline.process(
        _mail("qian.fang", SUBJECT, "#1 截止改为 7月30日 原因: 客户要求延后", "rs1"), "t:rs1"
    )
    assert result.outcome == "applied"
    item = _item(pipeline, 1)
    assert item["due"] == item["planned"] == "2024-07-30" and item["delays"] == []
    assert "截止时间已由 2024-05-27 改为 2024年7月30日" in _receipt(pipeline, "rs1")
    [told] = _mails_to(pipeline, "zhao.min", "rs1")
    method, event = _event(told)
    assert method == "PUBLISH" and event.decoded("DTSTART").isoformat() == "2024-07-30"
    assert event["SEQUENCE"] == 1 and "客户要求延后" in told.text


def test_a_delay_word_from_the_host_on_someone_elses_item_is_a_reschedule(tmp_path: Path) -> None:
    pipeline = _confirmed(tmp_path)
    assert (
        pipeline.process(_mail("wang.lei", SUBJECT, "#3 延期到6月15日", "rs2"), "t:rs2").outcome == "applied"
    )
    item = _item(pipeline, 3)
    assert item["due"] == item["planned"] == "2024-06-15" and item["history"][-1]["event"] == "rescheduled"


def test_the_host_adds_an_item_read_and_checked_as_a_draft_line(tmp_path: Path) -> None:
    pipeline = _confirmed(tmp_path)
    line = "新增: 评估供应商报价,负责人:李娜,截止:6月30日,交付标准:报价对比表"
    assert pipeline.process(_mail("wang.lei", SUBJECT, line, "ad1"), "t:ad1").outcome == "applied"
    item = _item(pipeline, 4)
    assert (item["title"], item["owner"]["email"], item["due"], item["criterion"]) == (
        "评估供应商报价", "li.na@example.test", "2024-06-30", "报价对比表",
    )  # fmt: skip
    assert item["status"] == "not_started" and item.get("assigned_at")
    assert "已新增 2024-OPS-001#4,负责人 李娜,截止 2024-06-30" in _receipt(pipeline, "ad1")
    [told] = _mails_to(pipeline, "li.na", "ad1")
    assert "由您负责" in told.text and _event(told)[1]["UID"] == "2024-OPS-001#4@example.test"
    record = pipeline.store.get("records", "2024-OPS-001")
    assert [e["no"] for e in record["minutes"]["items"]] == [1, 2, 3, 4]
    assert pipeline.process(_mail("li.na", SUBJECT, "#4 进度 10%", "ad2"), "t:ad2").outcome == "applied"


def test_a_new_item_that_would_fail_as_a_draft_line_is_answered_with_why_and_nothing_is_added(
    tmp_path: Path,
) -> None:
    pipeline = _confirmed(tmp_path)
    for n, line in enumerate(
        [
            "新增: 评估供应商报价;负责人:王小明;截止:6月30日",
            "新增: 评估供应商报价;负责人:李娜;截止:下周",
            "新增: 评估供应商报价;负责人:李娜;截止:2024-05-01",
            "新增: 评估供应商报价;负责人:Eve <eve@attacker.test>;截止:6月30日",
        ]
    ):
        assert (
            pipeline.process(_mail("wang.lei", SUBJECT, line, f"bad{n}"), f"t:bad{n}").outcome == "rejected"
        )
    assert "王小明不在通讯录中" in _receipt(pipeline, "bad0")
    assert "不是具体日期" in _receipt(pipeline, "bad1")
    assert "已过" in _receipt(pipeline, "bad2")
    assert "不在通讯录中" in _receipt(pipeline, "bad3")
    assert [i["no"] for i in state.all_items(pipeline.store)] == [1, 2, 3]


def test_only_the_host_or_recorder_edits_and_not_while_the_minutes_await_confirmation(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path)
    draft = (SAMPLES / "draft-zh-plain.txt").read_text(encoding="utf-8")
    pipeline.process(_mail("qian.fang", "纪要", draft, "draft"), "t:draft")
    # While the minutes await confirmation the line is a correction of them, for the recorder.
    pipeline.process(_mail("wang.lei", SUBJECT, "#2 负责人改为 李娜", "e1"), "t:e1")
    early = _receipt(pipeline, "e1")
    assert "纪要还在确认中" in early and "意见已转给记录人" in early, early
    assert _item(pipeline, 2)["owner"]["email"] == "chen.jing@example.test"
    for person in ATTENDEES:
        pipeline.process(_mail(person, SUBJECT, "确认", f"ok-{person}"), f"t:ok-{person}")
    owner = pipeline.process(_mail("chen.jing", SUBJECT, "#2 负责人改为 李娜", "e2"), "t:e2")
    assert owner.outcome == "rejected" and "您不能更新这一项" in _receipt(pipeline, "e2")
    assert _item(pipeline, 2)["owner"]["email"] == "chen.jing@example.test"


def test_edits_in_english_and_traditional_script(tmp_path: Path) -> None:
    pipeline = _confirmed(tmp_path)
    assert (
        pipeline.process(_mail("wang.lei", SUBJECT, "#2 reassign to Li Na", "x1"), "t:x1").outcome
        == "applied"
    )
    assert _item(pipeline, 2)["owner"]["email"] == "li.na@example.test"
    assert (
        pipeline.process(_mail("wang.lei", SUBJECT, "#1 截止改為 8月1日", "x2"), "t:x2").outcome == "applied"
    )
    assert _item(pipeline, 1)["planned"] == "2024-08-01"
    added = pipeline.process(
        _mail(
            "wang.lei",
            SUBJECT,
            "add item: Li Na will compare the supplier quotes by July 3. Acceptance: a comparison sheet",
            "x3",
        ),
        "t:x3",
    )
    assert added.outcome == "applied" and _item(pipeline, 4)["due"] == "2024-07-03"
    unknown = pipeline.process(_mail("wang.lei", SUBJECT, "#3 负责人改为 王小明", "x4"), "t:x4")
    assert unknown.outcome == "rejected" and "通讯录中没有「王小明」" in _receipt(pipeline, "x4")
