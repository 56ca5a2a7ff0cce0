"""Each person in their language (issue 13.5), through the real pipeline: the directory's
`language` (zh-CN, zh-TW, en) chooses the minutes mail, the assignment, the reminders and the
answers each person gets; zh-TW is the zh text in Traditional characters, names kept as written."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from parsers.message import parse_message
from parsers.vocabulary import simplified as to_simplified
from service.core.config import load_rules
from service.mail.bodies import read_body
from service.pipeline import Pipeline
from tests.conftest import SAMPLES, write_rules

SHANGHAI = ZoneInfo("Asia/Shanghai")
RECORD = "2024-OPS-001"
LANGUAGES = {
    "赵敏": "zh_TW",  # owner of item 1: Traditional
    "孙浩": "zh-Hant",  # owner of item 3, due 2024-05-22: Traditional reminders
    "刘洋": "en-US",  # English
    "陈静": "zh-Hans",  # Simplified, said
}  # 王磊 and 钱芳 say nothing: the record's language (Simplified)


def _directory(tmp_path: Path, languages: dict[str, str] = LANGUAGES) -> Path:
    data = yaml.safe_load((SAMPLES / "people.yaml").read_text(encoding="utf-8"))
    for person in data["people"]:
        if person["name"] in languages:
            person["language"] = languages[person["name"]]
    path = tmp_path / "people.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _pipeline(tmp_path: Path, languages: dict[str, str] = LANGUAGES) -> Pipeline:
    from service.core.clock import Clock
    from service.core.config import settings_from_env
    from service.core.store import Store

    rules_path = write_rules(tmp_path / "rules.yaml")
    settings = settings_from_env(
        {"MINUTESD_DATA_DIR": str(tmp_path / "data"), "MINUTESD_ADDRESS": "minutes@example.test",
         "MINUTESD_RULES": str(rules_path), "MINUTESD_DIRECTORY": str(_directory(tmp_path, languages)),
         "MINUTESD_NOW": "2024-05-20T16:02:00+08:00"}
    )  # fmt: skip
    return Pipeline(settings, load_rules(rules_path), Store(settings.data_dir), Clock(settings.now))


def _mail(sender: str, subject: str, body: str, message_id: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{sender}@example.test"
    msg["To"] = "minutes@example.test"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{message_id}@example.test>"
    msg.set_content(body)
    return bytes(msg)


def _read(pipeline: Pipeline, key: str) -> tuple[str, str, str]:
    """(subject, text, html) of the queued mail `key`, as the reader gets them."""
    doc: dict[str, Any] | None = pipeline.store.get("outbox", key)
    assert doc is not None, f"no mail {key}"
    msg = parse_message(read_body(pipeline.store.data_dir, doc))
    return msg.subject, msg.text, msg.html


def _distributed(tmp_path: Path) -> Pipeline:
    pipeline = _pipeline(tmp_path)
    draft = (SAMPLES / "draft-zh-plain.txt").read_text(encoding="utf-8")
    assert pipeline.process(_mail("qian.fang", "纪要", draft, "draft"), "t:0").outcome == "applied"
    return pipeline


def test_a_simplified_draft_reaches_each_attendee_in_their_language(tmp_path: Path) -> None:
    pipeline = _distributed(tmp_path)

    subject, text, html = _read(pipeline, f"{RECORD}:v1:minutes:zhao.min@example.test")
    assert subject.startswith(f"[{RECORD}] 會議紀要"), subject
    assert "確認" in text and "会议纪要" not in text and "确认" not in text
    assert "確認" in html and 'lang="zh-TW"' in html
    # Names stay as the directory writes them (赵敏, 钱芳 would become 趙敏, 錢芳); the record
    # number and the addresses are untouched; the item titles are read in Traditional.
    assert "赵敏" in text and "钱芳" in text and "趙敏" not in text and "錢芳" not in text
    assert RECORD in text and f"{RECORD}#1" in text
    assert "客戶投訴處理流程" in text

    subject, text, _ = _read(pipeline, f"{RECORD}:v1:minutes:liu.yang@example.test")
    assert subject.startswith(f"[{RECORD}] Minutes to confirm: "), subject
    assert "confirm" in text.lower() and "请" not in text.split("客户投诉")[0]
    assert "刘洋" in text and RECORD in text

    for simplified in ("wang.lei", "chen.jing", "qian.fang"):
        subject, text, _ = _read(pipeline, f"{RECORD}:v1:minutes:{simplified}@example.test")
        assert subject.startswith(f"[{RECORD}] 会议纪要"), subject
        assert "确认" in text and "確認" not in text and "會議" not in text


def test_the_assignment_and_reminders_follow_each_owner(tmp_path: Path) -> None:
    from service import scheduler

    pipeline = _distributed(tmp_path)
    closed = datetime(2024, 5, 22, 16, 3, tzinfo=SHANGHAI)  # the window closes: silence is consent
    scheduler.tick(pipeline.store, pipeline.outbox, pipeline.rules, closed, pipeline.directory)
    assert pipeline.store.get("records", RECORD)["state"] == "confirmed"

    subject, text, _ = _read(pipeline, f"{RECORD}:v1:assign:zhao.min@example.test")
    assert "您的行動項" in subject and subject.startswith(f"[{RECORD}]"), subject
    assert "赵敏" in text and "趙敏" not in text and f"{RECORD}#1" in text
    assert "2024年5月27日" in text  # the deadline spelled in Chinese
    # Her calendar entry reads as her mail does; its UID is the item's, untouched.
    doc = pipeline.store.get("outbox", f"{RECORD}:v1:assign:zhao.min@example.test")
    [ics] = [
        a
        for a in parse_message(read_body(pipeline.store.data_dir, doc)).attachments
        if a.filename.endswith(".ics")
    ]
    calendar = ics.data.decode("utf-8")
    assert "處理流程" in calendar and "处理流程" not in calendar, calendar
    assert f"UID:{RECORD}-1@" in calendar or f"{RECORD}#1" in calendar

    subject, text, _ = _read(pipeline, f"{RECORD}:v1:assign:chen.jing@example.test")
    assert "您的行动项" in subject and "項" not in text

    # The next morning item 3 (孙浩's, due 2024-05-22) is overdue: the chase is Traditional.
    scheduler.tick(
        pipeline.store, pipeline.outbox, pipeline.rules, datetime(2024, 5, 23, 9, 1, tzinfo=SHANGHAI),
        pipeline.directory,
    )  # fmt: skip
    chases = [
        d
        for d in pipeline.store.all("outbox")
        if d["template"] == "item_chase" and d["recipients"] == ["sun.hao@example.test"]
    ]
    assert chases, "孙浩 is chased"
    for doc in chases:
        text = parse_message(read_body(pipeline.store.data_dir, doc)).text
        assert "項" in doc["subject"] and f"{RECORD}#3" in doc["subject"]
        assert "孙浩" in text and "孫浩" not in text


def test_an_answer_follows_the_directory_then_the_way_it_was_written(tmp_path: Path) -> None:
    pipeline = _distributed(tmp_path)
    subject = f"回复: [{RECORD}] 会议纪要(待确认):Q3产品规划会"
    # 刘洋 (en) confirms in Chinese: the directory says English.
    assert pipeline.process(_mail("liu.yang", subject, "确认", "a1"), "t:a1").outcome == "applied"
    # 赵敏 (zh-TW) confirms in Simplified: the directory says Traditional.
    assert pipeline.process(_mail("zhao.min", subject, "确认", "a2"), "t:a2").outcome == "applied"
    # 王磊 has no language in the directory and writes Traditional: the answer is Traditional.
    assert pipeline.process(_mail("wang.lei", subject, "確認,沒有問題。", "a3"), "t:a3").outcome == "applied"
    # 钱芳 has none either and writes Simplified: Simplified, as before.
    assert pipeline.process(_mail("qian.fang", subject, "确认", "a4"), "t:a4").outcome == "applied"

    def answer_to(message_id: str) -> tuple[str, str]:
        docs = [d for d in pipeline.store.all("outbox") if d["key"].startswith(f"{message_id}@example.test:")]
        assert len(docs) == 1, [d["key"] for d in docs]
        return docs[0]["subject"], parse_message(read_body(pipeline.store.data_dir, docs[0])).text

    _, text = answer_to("a1")
    assert text.isascii() or "Thank" in text or "confirm" in text.lower()
    assert "确认" not in text and "您" not in text
    for traditional in ("a2", "a3"):
        _, text = answer_to(traditional)
        assert (
            RECORD in text
            and not any(ch in text for ch in "确认谢纪")
            and any(ch in text for ch in "確認謝紀")
        )
    _, text = answer_to("a4")
    assert any(ch in text for ch in "确认谢纪")


def test_a_bad_language_in_the_directory_is_reported_with_its_line(tmp_path: Path) -> None:
    from service.core.directory import check_directory, read_directory

    path = tmp_path / "people.yaml"
    path.write_text(
        "people:\n"
        "  - {name: 王磊, email: wang.lei@example.test, language: zh_TW}\n"
        "  - {name: 陈静, email: chen.jing@example.test, language: klingon}\n"
        "  - name: 李娜\n"
        "    email: li.na@example.test\n"
        "    language: fr\n"
        "  - name: 刘洋\n"
        "    email: liu.yang@example.test\n",
        encoding="utf-8",
    )
    assert check_directory(path) == [
        "line 3: 陈静's language klingon is not one of zh-CN, zh-TW, en",
        "line 6: 李娜's language fr is not one of zh-CN, zh-TW, en",
    ]
    directory = read_directory(path)
    assert directory.language_of("wang.lei@example.test") == "zh-TW"
    assert directory.language_of("chen.jing@example.test") == "", "a bad value falls back, not fails"


def test_the_traditional_conversion_keeps_names_record_numbers_and_addresses() -> None:
    from service.mail.render import localise, mail_language, render

    text = "[2024-OPS-001#2] 请王信息确认,抄送 钱芳 <qian.fang@example.test>,回复本邮件即可"
    # Without the names kept, OpenCC's Taiwan phrases turn 王信息 into 王資訊.
    assert localise(text, "zh-TW") == (
        "[2024-OPS-001#2] 請王資訊確認,抄送 錢芳 <qian.fang@example.test>,回覆本郵件即可"
    )
    assert localise(text, "zh-TW", ("王信息", "钱芳", "Liu Yang")) == (
        "[2024-OPS-001#2] 請王信息確認,抄送 钱芳 <qian.fang@example.test>,回覆本郵件即可"
    )
    assert localise(text, "zh") == text and localise(text, "en") == text
    assert [mail_language(x, "zh") for x in ("zh-CN", "zh-TW", "en", "")] == ["zh", "zh-TW", "en", "zh"]
    text, html = render("muted", "zh-TW", {"stop": True, "kept": [], "subject": "回覆: 退订"})
    assert "郵件" in html and "邮件" not in html + text


def test_an_english_owner_of_a_chinese_meeting_is_chased_in_english(tmp_path: Path) -> None:
    from service import scheduler

    pipeline = _pipeline(tmp_path)
    draft = (SAMPLES / "draft-zh-plain.txt").read_text(encoding="utf-8")
    draft = draft.replace(
        "| 2 | 评估A类功能开发周期 | 陈静 | 技术部 |", "| 2 | 评估A类功能开发周期 | 刘洋 | 市场部 |"
    )
    assert pipeline.process(_mail("qian.fang", "会议纪要", draft, "d-en"), "t:d-en").outcome == "applied"
    for when in (datetime(2024, 5, 22, 16, 3, tzinfo=SHANGHAI), datetime(2024, 5, 23, 9, 1, tzinfo=SHANGHAI)):
        scheduler.tick(pipeline.store, pipeline.outbox, pipeline.rules, when, pipeline.directory)
    chases = [
        d
        for d in pipeline.store.all("outbox")
        if d["template"] == "item_chase" and d["recipients"] == ["liu.yang@example.test"]
    ]
    assert chases, "刘洋 is reminded of item 2"
    for doc in chases:
        text = parse_message(read_body(pipeline.store.data_dir, doc)).text
        assert doc["subject"].startswith(f"[{RECORD}#2] Action item reminder"), doc["subject"]
        assert "is due" in text and "您负责" not in text


def test_a_head_gets_the_quarterly_review_in_their_language_and_the_daemon_wakes_for_it(
    tmp_path: Path,
) -> None:
    from service import scheduler

    pipeline = _distributed(tmp_path)  # 孙浩, head of 运营部, reads Traditional
    closed = datetime(2024, 5, 22, 16, 3, tzinfo=SHANGHAI)
    scheduler.tick(pipeline.store, pipeline.outbox, pipeline.rules, closed, pipeline.directory)
    wake = scheduler.next_due(pipeline.store, pipeline.rules, datetime(2024, 6, 30, 12, 0, tzinfo=SHANGHAI))
    assert wake is not None and wake <= datetime(2024, 7, 1, 9, 0, tzinfo=SHANGHAI)
    review = datetime(2024, 7, 1, 9, 1, tzinfo=SHANGHAI)
    scheduler.tick(pipeline.store, pipeline.outbox, pipeline.rules, review, pipeline.directory)
    subject, text, html = _read(pipeline, "report:2024Q2:sun.hao@example.test")
    assert "行動項季度報告" in subject and "運營部" in html and "孙浩" in text, subject


def test_window_reminders_weekly_tables_and_forwarded_corrections_follow_their_reader(
    tmp_path: Path,
) -> None:
    from service import scheduler

    pipeline = _distributed(tmp_path)
    reminder_time = datetime(2024, 5, 22, 12, 30, tzinfo=SHANGHAI)  # 4 h before the window closes
    scheduler.tick(pipeline.store, pipeline.outbox, pipeline.rules, reminder_time, pipeline.directory)
    subject, text, _ = _read(pipeline, f"{RECORD}:v1:reminder:zhao.min@example.test")
    assert "請確認會議紀要" in subject and "赵敏" in text, subject
    subject, text, _ = _read(pipeline, f"{RECORD}:v1:reminder:liu.yang@example.test")
    assert "Please confirm the minutes" in subject and "2024" in text, subject

    scheduler.tick(
        pipeline.store, pipeline.outbox, pipeline.rules, datetime(2024, 5, 22, 16, 3, tzinfo=SHANGHAI),
        pipeline.directory,
    )  # fmt: skip
    weekly = datetime(2024, 5, 27, 9, 1, tzinfo=SHANGHAI)
    scheduler.tick(pipeline.store, pipeline.outbox, pipeline.rules, weekly, pipeline.directory)
    subject, text, html = _read(pipeline, "weekly:2024-05-27:sun.hao@example.test")
    assert "行動項週報" in subject and "孙浩" in text and "運營部" in html, subject
    subject, _, _ = _read(pipeline, "weekly:2024-05-27:chen.jing@example.test")
    assert "行动项周报" in subject


def test_the_confirmed_notice_goes_once_in_each_language_its_attendees_read(tmp_path: Path) -> None:
    from service import scheduler

    pipeline = _distributed(tmp_path)
    closed = datetime(2024, 5, 22, 16, 3, tzinfo=SHANGHAI)
    scheduler.tick(pipeline.store, pipeline.outbox, pipeline.rules, closed, pipeline.directory)
    notices = {d["key"]: d for d in pipeline.store.all("outbox") if ":confirmed" in d["key"]}
    assert set(notices) == {
        f"{RECORD}:v1:confirmed",
        f"{RECORD}:v1:confirmed:zh-TW",
        f"{RECORD}:v1:confirmed:en",
    }
    assert notices[f"{RECORD}:v1:confirmed:en"]["recipients"] == ["liu.yang@example.test"]
    assert sorted(notices[f"{RECORD}:v1:confirmed:zh-TW"]["recipients"]) == [
        "sun.hao@example.test", "zhao.min@example.test",
    ]  # fmt: skip
    everyone = [a for d in notices.values() for a in d["recipients"]]
    assert len(everyone) == len(set(everyone)) == 6, "each attendee once"
    assert "會議紀要已確認" in _read(pipeline, f"{RECORD}:v1:confirmed:zh-TW")[0]
    assert "Minutes confirmed" in _read(pipeline, f"{RECORD}:v1:confirmed:en")[0]
    assert "会议纪要已确认" in _read(pipeline, f"{RECORD}:v1:confirmed")[0]


def test_mail_for_the_recorder_and_the_host_is_in_their_own_language(tmp_path: Path) -> None:
    """Not only attendees' mail: the forwarded correction, the revision reminder and the host's
    notice go in the language of the one they are for (钱芳 the recorder reads English, 王磊 the
    host Traditional), of a meeting written in Simplified."""
    from service import scheduler

    pipeline = _pipeline(tmp_path, {"钱芳": "en", "王磊": "zh-TW"})
    draft = (SAMPLES / "draft-zh-plain.txt").read_text(encoding="utf-8")
    assert pipeline.process(_mail("qian.fang", "纪要", draft, "draft"), "t:0").outcome == "applied"
    subject = f"回复: [{RECORD}] 会议纪要(待确认):Q3产品规划会"
    objection = "第2项的截止日期应为6月5日"
    assert pipeline.process(_mail("chen.jing", subject, objection, "o1"), "t:o1").outcome == "applied"

    forwarded = [d for d in pipeline.store.all("outbox") if d["template"] == "objection"]
    assert len(forwarded) == 1 and forwarded[0]["recipients"][0] == "qian.fang@example.test"
    msg = parse_message(read_body(pipeline.store.data_dir, forwarded[0]))
    assert msg.subject.startswith(f"[{RECORD}] Correction:"), msg.subject
    assert objection in msg.text, "their words are forwarded as written"
    assert "修改意见" not in msg.text.replace(objection, "")

    # The revision is overdue a working day later: the recorder in English, the host in Traditional.
    later = datetime(2024, 5, 22, 17, 0, tzinfo=SHANGHAI)
    scheduler.tick(pipeline.store, pipeline.outbox, pipeline.rules, later, pipeline.directory)
    subject_en, text_en, _ = _read(pipeline, f"{RECORD}:v1:revision-due:recorder")
    assert subject_en.startswith(f"[{RECORD}] Revision overdue:"), subject_en
    assert "May 2024" in text_en and "年" not in text_en.split("Q3")[0]
    subject_tw, text_tw, _ = _read(pipeline, f"{RECORD}:v1:revision-due:host")
    assert "紀要修改已逾期" in subject_tw, subject_tw
    assert "2024年5月" in text_tw and "纪要" not in text_tw


def test_an_echo_of_a_traditional_answer_is_known_as_ours(tmp_path: Path) -> None:
    """The loop guard remembers the lines a zh-TW reader got, in Traditional characters: an
    auto-responder that sends them back is not answered again."""
    pipeline = _distributed(tmp_path)
    before = {d["key"] for d in pipeline.store.all("outbox")}
    reply = pipeline.process(_mail("zhao.min", f"Re: [{RECORD}] 纪要", "#1 完成", "q1"), "t:q1")
    assert reply.outcome in ("applied", "rejected"), reply
    answers = [
        d for d in pipeline.store.all("outbox")
        if d["key"] not in before and d["recipients"] == ["zhao.min@example.test"]
    ]  # fmt: skip
    assert answers, "zhao.min got no answer"
    subject, text, _ = _read(pipeline, answers[0]["key"])
    assert text != to_simplified(text), "the answer is not in Traditional characters"
    echo = pipeline.process(_mail("zhao.min", f"Re: {subject}", text, "echo1"), "t:echo1")
    assert echo.outcome == "ignored" and "echoes" in echo.reason, echo
