"""What a message leads to, through the real pipeline (no mail server): the rows of routes.ROUTES
that issue 12 added or changed."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from parsers.message import parse_message
from service.items import state
from service.mail.bodies import read_body
from service.minutes.records import RECORDS
from tests.service.items.test_actions_units import _mail, _two_items_for_zhao_min


def _answer(pipeline: Any, message_id: str) -> str:
    keys = pipeline.store.get("messages", f"{message_id}@example.test")["replies"]
    return parse_message(read_body(pipeline.store.data_dir, pipeline.store.get("outbox", keys[-1]))).text


def _confirmed(tmp_path: Path) -> Any:
    pipeline = _two_items_for_zhao_min(tmp_path)
    record = pipeline.store.get(RECORDS, "2024-OPS-001")
    for n, person in enumerate(record["attendees"]):
        user = person["email"].partition("@")[0]
        pipeline.process(_mail(user, "Re: [2024-OPS-001] 纪要", "确认", f"c{n}"), f"t:c{n}")
    assert pipeline.store.get(RECORDS, "2024-OPS-001")["state"] == "confirmed"
    return pipeline


def test_a_full_item_id_in_the_text_finds_its_record_without_a_thread(tmp_path: Path) -> None:
    pipeline = _confirmed(tmp_path)
    result = pipeline.process(
        _mail("zhao.min", "Re: 本周行动项汇总", "2024-OPS-001#1 完成", "w1", attachment=True), "t:w1"
    )
    assert result.outcome == "applied", result.reason
    assert pipeline.store.get(state.ITEMS, "2024-OPS-001#1")["status"] == "pending_verification"


def test_a_reply_to_our_weekly_mail_without_a_full_id_gets_help_and_changes_nothing(tmp_path: Path) -> None:
    pipeline = _confirmed(tmp_path)
    msg = EmailMessage()
    msg["From"] = "zhao.min@example.test"
    msg["To"] = "minutes@example.test"
    msg["Subject"] = "Re: 本周行动项汇总"
    msg["Message-ID"] = "<w2@example.test>"
    msg["In-Reply-To"] = "<minutesd.0123456789abcdef0123456789abcdef@example.test>"
    msg.set_content("#1 完成")
    msg.add_attachment(b"%PDF-1.4" * 1000, maintype="application", subtype="pdf", filename="done.pdf")
    result = pipeline.process(bytes(msg), "t:w2")
    assert result.outcome == "rejected" and "help" in result.reason
    text = _answer(pipeline, "w2")
    assert "涉及多份纪要" in text and "2024-OPS-001#1" in text and "2024-OPS-001#2" in text
    assert all(i["status"] == "not_started" for i in state.all_items(pipeline.store))
    assert pipeline.store.count(RECORDS) == 1, "never read as a draft"


def test_mail_from_outside_the_directory_that_is_not_minutes_is_not_answered(tmp_path: Path) -> None:
    pipeline = _two_items_for_zhao_min(tmp_path)
    result = pipeline.process(
        _mail("spammer", "cheap watches", "buy now", "s1").replace(
            b"spammer@example.test", b"spammer@elsewhere.test"
        ),
        "t:s1",
    )
    assert result.outcome == "ignored"
    assert pipeline.store.get("messages", "s1@example.test")["replies"] == []


def test_a_signature_logo_is_not_evidence(tmp_path: Path) -> None:
    pipeline = _confirmed(tmp_path)
    msg = EmailMessage()
    msg["From"] = "zhao.min@example.test"
    msg["To"] = "minutes@example.test"
    msg["Subject"] = "Re: [2024-OPS-001#1] 纪要"
    msg["Message-ID"] = "<logo@example.test>"
    msg.set_content("#1 完成")
    msg.add_alternative('<p>#1 完成</p><img src="cid:logo1">', subtype="html")
    msg.get_payload()[1].add_related(b"\x89PNG" + b"0" * 153, maintype="image", subtype="png", cid="<logo1>")
    msg.add_attachment(b"\x89PNG" + b"0" * 150, maintype="image", subtype="png", filename="logo.png")
    result = pipeline.process(bytes(msg), "t:logo")
    assert pipeline.store.get(state.ITEMS, "2024-OPS-001#1")["status"] == "not_started", result.reason
    assert "成果" in _answer(pipeline, "logo") or "附件" in _answer(pipeline, "logo")


def test_an_owners_correction_naming_an_item_is_a_correction_not_a_command(tmp_path: Path) -> None:
    pipeline = _two_items_for_zhao_min(tmp_path)
    text = "第2项的负责人不对，应该是孙浩负责，我这边只做review。pls update 一下，thx"
    result = pipeline.process(_mail("zhao.min", "Re: [2024-OPS-001] 纪要", text, "oc1"), "t:oc1")
    assert result.outcome == "applied"
    record = pipeline.store.get(RECORDS, "2024-OPS-001")
    assert record["responses"]["zhao.min@example.test"]["response"] == "objected"
    assert all(i["status"] == "not_started" for i in state.all_items(pipeline.store))


def test_our_minutes_quoted_without_quote_marks_give_no_commands(tmp_path: Path) -> None:
    pipeline = _two_items_for_zhao_min(tmp_path)
    quoted = (
        "确认\n\n---- 回复的原邮件 ----\n| 发件人 | 会议纪要助手<minutes@example.test> |\n\n"
        "赵敏您好:\n\n以下为「Q3产品规划会」的会议纪要(记录号 2024-OPS-001)。\n\n三、行动项清单\n"
        "  2024-OPS-001#1  完成客户投诉处理流程\n      负责人:赵敏(客服部)  截止:2024-05-27\n"
    )
    result = pipeline.process(
        _mail("zhao.min", "Re: [2024-OPS-001] 纪要", quoted, "q1", attachment=True), "t:q1"
    )
    assert result.outcome == "applied"
    assert (
        pipeline.store.get(RECORDS, "2024-OPS-001")["responses"]["zhao.min@example.test"]["response"]
        == "confirmed"
    )
    assert all(i["status"] == "not_started" for i in state.all_items(pipeline.store)), (
        "a quoted item is no 完成"
    )


def test_times_in_mail_are_the_readers_across_midnight_utc(tmp_path: Path) -> None:
    """Confirmed at 00:30 on 21 May in Shanghai, which is 16:30 on 20 May in UTC: the notice says 00:30."""
    from service.core.clock import Clock

    pipeline = _two_items_for_zhao_min(tmp_path)
    pipeline.clock = Clock("2024-05-21T00:30:00+08:00")
    record = pipeline.store.get(RECORDS, "2024-OPS-001")
    for n, person in enumerate(record["attendees"]):
        user = person["email"].partition("@")[0]
        pipeline.process(_mail(user, "Re: [2024-OPS-001] 纪要", "确认", f"m{n}"), f"t:m{n}")
    assert pipeline.store.get(RECORDS, "2024-OPS-001")["state"] == "confirmed"
    notice = next(d for d in pipeline.store.all("outbox") if d["key"].endswith(":confirmed"))
    text = parse_message(read_body(pipeline.store.data_dir, notice)).text
    assert "2024年5月21日(星期二)00:30" in text and "16:30" not in text and "5月20日" not in text


def _li_na_owns_item_2(tmp_path: Path) -> Any:
    """Confirmed minutes where 李娜 (技术部, whose head is 陈静) owns item 2."""
    from tests.conftest import SAMPLES
    from tests.service.items.test_actions_units import _pipeline

    pipeline = _pipeline(tmp_path)
    draft = (SAMPLES / "draft-zh-plain.txt").read_text(encoding="utf-8")
    draft = draft.replace(
        "| 2 | 评估A类功能开发周期 | 陈静 | 技术部 |", "| 2 | 评估A类功能开发周期 | 李娜 | 技术部 |"
    )
    assert pipeline.process(_mail("qian.fang", "纪要", draft, "d"), "t:d").outcome == "applied"
    record = pipeline.store.get(RECORDS, "2024-OPS-001")
    for n, person in enumerate(record["attendees"]):
        pipeline.process(
            _mail(person["email"].partition("@")[0], "Re: [2024-OPS-001] 纪要", "确认", f"c{n}"), f"t:c{n}"
        )
    return pipeline


def test_my_items_lists_an_owners_items_and_a_heads_department(tmp_path: Path) -> None:
    pipeline = _li_na_owns_item_2(tmp_path)
    owner = pipeline.process(_mail("li.na", "我的任务", "我的任务", "mi1"), "t:mi1")
    assert owner.outcome == "rejected" and "help with 1 open item(s)" in owner.reason
    answer = _answer(pipeline, "mi1")
    assert "2024-OPS-001#2" in answer
    assert "星期" in next(ln for ln in answer.splitlines() if "2024-OPS-001#2" in ln)
    # 陈静 heads 技术部: 李娜's item is her department's.
    assert pipeline.process(_mail("chen.jing", "my items", "my items", "mi2"), "t:mi2").outcome == "rejected"
    listed = _answer(pipeline, "mi2")
    assert "技术部" in listed and "2024-OPS-001#2" in listed and "李娜" in listed
    line = next(ln for ln in listed.splitlines() if "2024-OPS-001#2" in ln)
    assert re.search(r"(Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day \d+ \w+ 2024", line), line  # asked in English


def test_a_head_who_unsubscribes_gets_no_weekly_table_until_resume(tmp_path: Path) -> None:
    from service.items import weekly

    pipeline = _li_na_owns_item_2(tmp_path)

    def tables_to(address: str) -> list[str]:
        muted = frozenset(d["key"] for d in pipeline.store.all("muted"))
        items = state.all_items(pipeline.store)
        docs = {r["record"]: r for r in pipeline.store.all(RECORDS)}
        return [
            i["id"]
            for person, rows in weekly.weekly_recipients(
                items, docs, pipeline.rules, pipeline.directory, muted
            )
            if person["email"] == address
            for i in rows
        ]

    assert "2024-OPS-001#2" in tables_to("chen.jing@example.test"), "陈静 heads 技术部"
    assert pipeline.process(_mail("chen.jing", "退订", "退订", "u1"), "t:u1").outcome == "applied"
    assert tables_to("chen.jing@example.test") == []
    assert "退订" in _answer(pipeline, "u1") and "恢复" in _answer(pipeline, "u1")
    kept = pipeline.process(_mail("li.na", "unsubscribe", "unsubscribe", "u2"), "t:u2")
    assert "kept" in kept.reason and "2024-OPS-001#2" in _answer(pipeline, "u2"), (
        "an owner stays on her item's mail"
    )
    assert "2024-OPS-001#2" in tables_to("li.na@example.test")
    assert pipeline.process(_mail("chen.jing", "恢复", "恢复", "u3"), "t:u3").outcome == "applied"
    assert "2024-OPS-001#2" in tables_to("chen.jing@example.test")


def test_a_revision_with_errors_of_confirmed_minutes_leaves_them_confirmed_and_says_why(
    tmp_path: Path,
) -> None:
    # Found by bench/fuzz: the record has no transition from confirmed on an invalid revision, so
    # the recorder's mail went to quarantine and nobody was answered.
    from tests.conftest import SAMPLES

    pipeline = _li_na_owns_item_2(tmp_path)
    assert pipeline.store.get(RECORDS, "2024-OPS-001")["state"] == "confirmed"
    broken = (SAMPLES / "draft-zh-invalid.txt").read_text(encoding="utf-8")
    result = pipeline.process(_mail("qian.fang", "Re: [2024-OPS-001] 纪要 修订", broken, "rv1"), "t:rv1")
    assert result.outcome == "rejected" and "minutes unchanged" in result.reason
    assert pipeline.store.get(RECORDS, "2024-OPS-001")["state"] == "confirmed"
    assert pipeline.store.get("messages", "rv1@example.test")["outcome"] == "rejected"
    answer = _answer(pipeline, "rv1")
    assert "2024-OPS-001" in answer and ("错误" in answer or "问题" in answer or "修改" in answer), answer
