"""Action items without a mail server: commands, the item table, evidence names, moments, rates."""

from __future__ import annotations

from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from parsers.command_types import Problem, Verb
from parsers.commands import read_commands
from parsers.message import Attachment
from service.core.calendar import work_calendar
from service.core.config import EvidenceRules, load_rules
from service.items import evidence, followup, moments, report, state, tracker, weekly
from service.items.commands import command_words
from service.items.state import ItemEvent, ItemRefused, Status
from service.mail.bodies import read_body

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEDNESDAY = date(2024, 5, 22)


def words() -> Any:
    rules = load_rules()
    return command_words(rules.actions.commands, tuple(rules.parsing["vague_deadlines"]))


@pytest.mark.parametrize(
    ("line", "verb", "item", "day", "problem"),
    [
        ("#3 完成", Verb.DONE, 3, None, None),
        ("已完成,流程文档见附件。", Verb.DONE, None, None, None),
        ("#5 延期至6月30日 原因:等供应商报价", Verb.DELAY, 5, date(2024, 6, 30), None),
        ("延期到下周五,等供应商报价", Verb.DELAY, None, date(2024, 5, 31), None),
        ("延期到下周五", Verb.DELAY, None, date(2024, 5, 31), Problem.NO_REASON),
        ("#1 延期 原因:等报价", Verb.DELAY, 1, None, Problem.NO_DATE),
        ("#1 延期至尽快 原因:等报价", Verb.DELAY, 1, None, Problem.VAGUE_DATE),
        # Without a year, the date nearest the reply: two days ago is asked back, never next year.
        ("#1 延期至5月20日 原因:等报价", Verb.DELAY, 1, date(2024, 5, 20), Problem.DATE_PASSED),
        ("#1 延期至1月10日 原因:等报价", Verb.DELAY, 1, date(2025, 1, 10), None),
        ("#1 延期至今天 原因:x", Verb.DELAY, 1, WEDNESDAY, Problem.DATE_PASSED),
        ("＃2 進度 60% 初稿已完成", Verb.PROGRESS, 2, None, None),
        ("#2 进度 160%", Verb.PROGRESS, 2, None, Problem.BAD_PERCENT),
        ("第二项 受阻 原因:合同未审 需要:法务部审核", Verb.BLOCKED, 2, None, None),
        ("受阻:等待中", Verb.BLOCKED, None, None, None),  # support optional: the item's departments are told
        ("#4 受阻:需要财务部提供近两年的物流费用数据", Verb.BLOCKED, 4, None, None),
        ("#1 核實通過", Verb.VERIFY, 1, None, None),
        ("退回:缺少流程图", Verb.REJECT, None, None, None),
        ("退回", Verb.REJECT, None, None, Problem.NO_REASON),
        ("2024-OPS-001#1 完成", Verb.DONE, 1, None, None),
        ("Done #2, see attached", Verb.DONE, 2, None, None),
        ("item 3 delay to July 5 because the vendor is late", Verb.DELAY, 3, date(2024, 7, 5), None),
        ("- #4 取消", Verb.CANCEL, 4, None, None),
    ],
)
def test_a_command_line_is_read_with_its_item_date_and_what_is_missing(
    line: str, verb: Verb, item: int | None, day: date | None, problem: Problem | None
) -> None:
    (command,) = read_commands(line, words(), WEDNESDAY).commands
    assert (command.verb, command.item, command.new_date, command.problem) == (verb, item, day, problem)


@pytest.mark.parametrize(
    "text",
    ["完成情况如下:基本完成", "我会尽快完成", "确认", "第2项应为5月29日完成", "donegal", "> #1 完成"],
)
def test_prose_is_not_a_command(text: str) -> None:
    assert read_commands(text, words(), WEDNESDAY).commands == ()


def test_several_commands_one_a_line_and_the_rest_kept() -> None:
    reading = read_commands("确认纪要\n#3 完成\n#5 延期至6月30日 原因:等供应商报价\n谢谢", words(), WEDNESDAY)
    assert [(c.verb, c.item) for c in reading.commands] == [(Verb.DONE, 3), (Verb.DELAY, 5)]
    assert reading.rest == "确认纪要\n谢谢"
    delay = reading.commands[1]
    assert delay.reason == "等供应商报价" and delay.date_text == "至6月30日"


# -- the item table -----------------------------------------------------------


def _item(status: str = "not_started") -> dict[str, Any]:
    return {"id": "2024-OPS-001#1", "status": status, "history": []}


def test_the_item_table_moves_only_along_its_rows_and_audits_each_move() -> None:
    now = datetime(2024, 5, 21, 9, 0, tzinfo=SHANGHAI)
    item = _item()
    state.apply(item, ItemEvent.SUBMITTED, now, "zhao.min@example.test", "<m1>")
    assert item["status"] == Status.PENDING
    with pytest.raises(ItemRefused):
        state.apply(item, ItemEvent.DELAYED, now, "x", "<m2>")
    state.apply(item, ItemEvent.VERIFIED, now, "wang.lei@example.test", "<m3>")
    with pytest.raises(ItemRefused):
        state.apply(item, ItemEvent.DONE, now, "x", "<m4>")  # done is final
    assert [(h["from"], h["to"], h["message_id"]) for h in item["history"]] == [
        ("not_started", "pending_verification", "<m1>"),
        ("pending_verification", "done", "<m3>"),
    ]
    moves = {target for (source, _), target in state.TRANSITIONS.items() if source != target}
    assert Status.NOT_STARTED not in moves, "nothing goes back to not started (edits keep the status)"
    assert all((s, ItemEvent.VERIFIED) not in state.TRANSITIONS for s in Status if s != Status.PENDING)


def test_an_item_reported_on_a_hundred_times_stays_small_and_keeps_every_entry(tmp_path: Path) -> None:
    from service.core.store import Store

    now = datetime(2024, 5, 21, 9, 0, tzinfo=SHANGHAI)
    store = Store(tmp_path)
    for n in range(100):
        with store.transaction() as txn:
            item = txn.get(state.ITEMS, "2024-OPS-001#1") or _item()
            state.apply(item, ItemEvent.PROGRESS, now, "zhao.min@example.test", f"<m{n}>", note=f"{n}%")
            state.save(txn, item)
    kept = store.get(state.ITEMS, "2024-OPS-001#1")
    assert len(kept["history"]) < state.KEEP_ENTRIES + state.PAGE_ENTRIES, "older entries went to pages"
    assert kept["history"][-1]["message_id"] == "<m99>", "the latest entry is on the item itself"
    every = state.full_history(store, kept)["history"]
    assert [h["message_id"] for h in every] == [f"<m{n}>" for n in range(100)], "all of them, in order"
    assert store.keys(state.HISTORY, "item", "2024-OPS-001#1") == {f"2024-OPS-001#1/{p}" for p in range(3)}
    store.close()


# -- evidence -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\evil.pdf", "evil.pdf"),
        ("/abs/path/报告.pdf", "报告.pdf"),
        (".bashrc", "bashrc"),
        ("", "evidence"),
        ("a\x00b;rm -rf.pdf", "a_b_rm -rf.pdf"),
        ("客户投诉处理流程V2.0.pdf", "客户投诉处理流程V2.0.pdf"),
    ],
)
def test_evidence_names_are_only_names(sent: str, kept: str) -> None:
    assert evidence.safe_name(sent) == kept


def test_evidence_is_checked_stored_once_and_never_outside_its_folder(tmp_path: Path) -> None:
    rules = EvidenceRules(max_megabytes=0.001, allowed_extensions=[".pdf", "csv"])
    files = (
        Attachment("../../x.pdf", "application/pdf", b"%PDF small"),
        Attachment("run.exe", "application/octet-stream", b"MZ"),
        Attachment("big.csv", "text/csv", b"a" * 2000),
    )
    kept, refused = evidence.check(files, rules)
    assert [a.filename for a in kept] == ["../../x.pdf"]
    assert [(r.filename, r.why) for r in refused] == [("run.exe", "type"), ("big.csv", "size")]
    now = datetime(2024, 5, 21, tzinfo=SHANGHAI)
    first = evidence.store(tmp_path, "2024-OPS-001", 1, kept[0], now, "<m>")
    again = evidence.store(tmp_path, "2024-OPS-001", 1, kept[0], now, "<m2>")
    path = tmp_path / first["stored_as"]
    assert first["stored_as"] == again["stored_as"] and path.read_bytes() == b"%PDF small"
    assert path.parent == tmp_path / "evidence" / "2024-OPS-001" / "1"
    assert first["sha256"] == kept[0].sha256 and first["size"] == 10


# -- moments ----------------------------------------------------------------------


def _open_item(due: str, assigned: str = "2024-05-20T16:30:00+08:00") -> dict[str, Any]:
    return {
        "id": "2024-OPS-001#2",
        "due": due,
        "status": "in_progress",
        "assigned_at": assigned,
        "created_at": assigned,
    }


def test_reminders_count_working_days_around_a_public_holiday() -> None:
    rules = load_rules()
    calendar = work_calendar(rules.calendar)
    when = dict(moments.item_moments(_open_item("2024-06-11"), rules, calendar))
    assert when["remind3"].date() == date(2024, 6, 5)
    assert when["remind1"].date() == date(2024, 6, 7), "Mon 10 June is Dragon Boat Festival"
    assert when["remind0"].date() == date(2024, 6, 11)
    assert when["overdue"].date() == date(2024, 6, 12)
    assert when["escalate"].date() == date(2024, 6, 17), "beyond 3 working days overdue"
    assert when["remind1"].hour == 9


def test_a_daemon_that_was_down_sends_only_the_latest_reminder() -> None:
    rules = load_rules()
    calendar = work_calendar(rules.calendar)
    item = _open_item("2024-06-11")
    down_until = datetime(2024, 6, 7, 9, 30, tzinfo=SHANGHAI)
    assert [p for p, _ in followup._due_item_mails(item, rules, calendar, down_until)] == ["remind1"]
    past_due = datetime(2024, 6, 18, 9, 30, tzinfo=SHANGHAI)
    assert [p for p, _ in followup._due_item_mails(item, rules, calendar, past_due)] == [
        "overdue",
        "escalate",
    ]
    late_assignment = _open_item("2024-06-11", assigned="2024-06-06T10:00:00+08:00")
    early = datetime(2024, 6, 6, 11, 0, tzinfo=SHANGHAI)
    assert followup._due_item_mails(late_assignment, rules, calendar, early) == [], "just told: no reminder"


def test_the_weekly_moment_is_the_last_monday_nine_oclock() -> None:
    rules = load_rules()
    assert moments.last_weekly_moment(rules, datetime(2024, 5, 27, 8, 59, tzinfo=SHANGHAI)).date() == date(
        2024, 5, 20
    )
    assert moments.last_weekly_moment(rules, datetime(2024, 5, 27, 9, 0, tzinfo=SHANGHAI)).date() == date(
        2024, 5, 27
    )
    assert moments.last_weekly_moment(rules, datetime(2024, 6, 2, 23, 0, tzinfo=SHANGHAI)).date() == date(
        2024, 5, 27
    )


# -- rates -----------------------------------------------------------------------


def _tracked(
    status: str, planned: str, actual: str | None = None, submitted: str | None = None
) -> dict[str, Any]:
    return {"status": status, "planned": planned, "actual": actual, "submitted_on": submitted}


def test_the_on_time_rate_counts_finished_and_overdue_items_against_the_planned_date() -> None:
    today = date(2024, 6, 12)
    rows = [
        _tracked("done", "2024-05-22", actual="2024-05-22"),  # on time
        _tracked("done", "2024-05-22", actual="2024-05-23"),  # late
        _tracked("pending_verification", "2024-06-01", submitted="2024-05-30"),  # on time, waiting
        _tracked("delayed", "2024-05-24"),  # overdue against the plan
        _tracked("in_progress", "2024-07-01"),  # not yet due: not counted
        _tracked("cancelled", "2024-05-01"),  # never counted
    ]
    rate = tracker.on_time_rate(rows, today)
    assert (rate.on_time, rate.counted, rate.percent) == (2, 4, 50.0)
    assert tracker.on_time_rate([], today).spelled() == "-"


@pytest.mark.parametrize(
    ("quarter", "bounds"),
    [
        ("2024Q1", ("2024-01-01", "2024-03-31")),
        ("2024q3", ("2024-07-01", "2024-09-30")),
        ("2024Q4", ("2024-10-01", "2024-12-31")),
    ],
)
def test_quarter_bounds(quarter: str, bounds: tuple[str, str]) -> None:
    assert tuple(d.isoformat() for d in report.quarter_bounds(quarter)) == bounds


def test_a_bad_quarter_is_refused() -> None:
    with pytest.raises(ValueError):
        report.quarter_bounds("2024Q5")


# -- who may act, through the pipeline -----------------------------------------------


def _pipeline(tmp_path: Path) -> Any:
    from tests.service.minutes.test_confirmation_units import _pipeline_with

    return _pipeline_with(tmp_path)


def _mail(sender: str, subject: str, body: str, message_id: str, attachment: bool = False) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{sender}@example.test"
    msg["To"] = "minutes@example.test"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2024, 5, 20, 16, 1, tzinfo=SHANGHAI))
    msg["Message-ID"] = f"<{message_id}@example.test>"
    msg.set_content(body)
    if attachment:
        msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="done.pdf")
    return bytes(msg)


def _two_items_for_zhao_min(tmp_path: Path) -> Any:
    from tests.conftest import SAMPLES

    pipeline = _pipeline(tmp_path)
    draft = (SAMPLES / "draft-zh-plain.txt").read_text(encoding="utf-8")
    draft = draft.replace(
        "| 2 | 评估A类功能开发周期 | 陈静 | 技术部 |", "| 2 | 评估A类功能开发周期 | 赵敏 | 客服部 |"
    )
    assert pipeline.process(_mail("qian.fang", "纪要", draft, "draft"), "t:0").outcome == "applied"
    return pipeline


def _receipt(pipeline: Any, message_id: str) -> str:
    keys = pipeline.store.get("messages", f"{message_id}@example.test")["replies"]
    answer = [k for k in keys if k.endswith((":item_receipt", ":refusal"))]
    raw = read_body(pipeline.store.data_dir, pipeline.store.get("outbox", answer[-1]))
    from parsers.message import parse_message

    return parse_message(raw).text


def test_a_line_that_could_mean_two_items_changes_nothing_and_lists_them(tmp_path: Path) -> None:
    pipeline = _two_items_for_zhao_min(tmp_path)
    result = pipeline.process(
        _mail("zhao.min", "Re: [2024-OPS-001] 纪要", "已完成", "a1", attachment=True), "t:1"
    )
    assert result.outcome == "rejected"
    text = _receipt(pipeline, "a1")
    assert "无法判断指哪一项" in text and "2024-OPS-001#1" in text and "2024-OPS-001#2" in text
    assert all(i["status"] == "not_started" for i in state.all_items(pipeline.store))


def test_only_the_owner_updates_only_the_tracker_verifies_and_others_learn_nothing(tmp_path: Path) -> None:
    pipeline = _two_items_for_zhao_min(tmp_path)
    subject = "Re: [2024-OPS-001] 纪要"
    assert (
        pipeline.process(_mail("sun.hao", subject, "#1 完成", "b1", attachment=True), "t:1").outcome
        == "rejected"
    )
    assert "您不能更新这一项" in _receipt(pipeline, "b1") and "客户投诉" not in _receipt(pipeline, "b1")
    assert (
        pipeline.process(_mail("zhao.min", subject, "#1 完成", "b2", attachment=True), "t:2").outcome
        == "applied"
    )
    assert pipeline.process(_mail("zhao.min", subject, "#1 核实通过", "b3"), "t:3").outcome != "applied"
    stranger = pipeline.process(_mail("ma.chao", subject, "#1 核实通过", "b4"), "t:4")
    assert stranger.outcome == "rejected" and "2024-OPS-001" not in _receipt(pipeline, "b4")
    assert pipeline.process(_mail("wang.lei", subject, "#1 核实通过", "b5"), "t:5").outcome == "applied"
    first = pipeline.store.get(state.ITEMS, "2024-OPS-001#1")
    assert first["status"] == "done" and first["actual"] == "2024-05-20"
    assert [h["by"] for h in first["history"]] == ["zhao.min@example.test", "wang.lei@example.test"]


def test_important_meetings_get_one_digest_a_working_day_and_others_none(tmp_path: Path) -> None:
    from service import scheduler
    from tests.conftest import SAMPLES

    pipeline = _pipeline(tmp_path)
    draft = (
        (SAMPLES / "draft-zh-plain.txt").read_text(encoding="utf-8").replace("Q3产品规划会", "Q3产品战略会")
    )
    assert pipeline.process(_mail("qian.fang", "纪要", draft, "important"), "t:0").outcome == "applied"

    def tick(when: datetime) -> list[str]:
        scheduler.tick(pipeline.store, pipeline.outbox, pipeline.rules, when, pipeline.directory)
        return sorted(d["key"] for d in pipeline.store.all("outbox") if ":digest:" in d["key"])

    assert tick(datetime(2024, 5, 22, 16, 5, tzinfo=SHANGHAI)) == [], (
        "confirmed by silence, assigned after 09:00"
    )
    assert pipeline.store.get("records", "2024-OPS-001")["state"] == "confirmed"
    thursday = ["2024-OPS-001:digest:2024-05-23"]
    assert tick(datetime(2024, 5, 23, 8, 59, tzinfo=SHANGHAI)) == []
    assert tick(datetime(2024, 5, 23, 9, 1, tzinfo=SHANGHAI)) == thursday
    assert tick(datetime(2024, 5, 23, 17, 0, tzinfo=SHANGHAI)) == thursday, "once a day"
    assert tick(datetime(2024, 5, 25, 10, 0, tzinfo=SHANGHAI)) == [
        *thursday,
        "2024-OPS-001:digest:2024-05-24",
    ]
    digest = pipeline.store.get("outbox", thursday[0])
    assert digest["recipients"] == ["wang.lei@example.test"], "to the tracker"
    assert tick(datetime(2024, 5, 26, 10, 0, tzinfo=SHANGHAI))[-1] == "2024-OPS-001:digest:2024-05-24", (
        "no digest on a weekend"
    )


def test_a_revision_that_drops_an_untouched_item_forgets_it(tmp_path: Path) -> None:
    from service.core.store import Store

    record = {
        "record": "2024-OPS-001",
        "minutes": {
            "items": [
                {
                    "no": n,
                    "title": f"t{n}",
                    "owner": {"name": "赵敏", "email": "zhao.min@example.test", "department": "客服部"},
                    "due": "2024-05-27",
                }
                for n in (1, 2, 3)
            ]
        },
    }
    now = datetime(2024, 5, 21, tzinfo=SHANGHAI)
    with Store(tmp_path) as store:
        with store.transaction() as txn:
            found = state.sync_from_minutes(txn, record, now)
            state.apply(found[0], ItemEvent.PROGRESS, now, "zhao.min@example.test", "<m>")
            txn.put(state.ITEMS, found[0]["id"], found[0])
        record["minutes"]["items"] = [record["minutes"]["items"][1]]  # v2 keeps only #2
        with store.transaction() as txn:
            state.sync_from_minutes(txn, record, now)
        kept = [i["id"] for i in state.all_items(store)]
    assert kept == ["2024-OPS-001#1", "2024-OPS-001#2"], "#1 was acted on and stays; #3 is gone"


def test_an_owners_reply_that_applies_no_command_still_answers_the_minutes(tmp_path: Path) -> None:
    from service.minutes.records import RECORDS

    pipeline = _two_items_for_zhao_min(tmp_path)
    subject = "Re: [2024-OPS-001] 纪要"
    partial = pipeline.process(_mail("zhao.min", subject, "已完成第一步,其余确认", "c1"), "t:1")
    assert partial.outcome == "applied", "a partial confirmation is a correction, never dropped"
    record = pipeline.store.get(RECORDS, "2024-OPS-001")
    assert record["responses"]["zhao.min@example.test"]["response"] == "objected"
    assert "已转给记录人和主持人" in _receipt(pipeline, "c1")
    both = pipeline.process(_mail("chen.jing", subject, "确认\n#1 完成", "c2"), "t:2")
    assert both.outcome == "applied"
    record = pipeline.store.get(RECORDS, "2024-OPS-001")
    assert record["responses"]["chen.jing@example.test"]["response"] == "confirmed"
    assert pipeline.store.get(state.ITEMS, "2024-OPS-001#1")["status"] == "not_started", (
        "not chen.jing's item"
    )


@pytest.mark.parametrize("confidential", [False, True])
def test_the_weekly_table_of_a_confidential_meeting_reaches_only_its_attendees(confidential: bool) -> None:
    from service.core.directory import read_directory
    from tests.conftest import SAMPLES

    li_na = {"name": "李娜", "email": "li.na@example.test", "department": "技术部"}
    wang_lei = {"name": "王磊", "email": "wang.lei@example.test", "department": "产品部"}
    record = {"record": "2024-PRD-001", "host": wang_lei, "recorder": wang_lei, "attendees": [li_na, wang_lei],
              "confidential": confidential}  # fmt: skip
    item = {"id": "2024-PRD-001#1", "record": "2024-PRD-001", "no": 1, "owner": li_na, "department": "技术部"}
    directory = read_directory(SAMPLES / "people.yaml")
    told = [
        p["email"]
        for p, _ in weekly.weekly_recipients([item], {"2024-PRD-001": record}, load_rules(), directory)
    ]
    head = "chen.jing@example.test"  # heads 技术部 and was not at the meeting
    assert (head in told) is not confidential
    assert {"li.na@example.test", "wang.lei@example.test"} <= set(told)
