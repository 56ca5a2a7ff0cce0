"""The weekly table and the daily digest mark the rows someone must look at, in colour and in words.

Two meetings of 钱芳's (draft-zh-plain.txt as 2024-OPS-001 Q3产品规划会, and a copy as 2024-OPS-002
客服战略会, important, so its tracker gets a digest), confirmed on Mon 20 May 2024. On Monday 27
May 09:00: OPS-001#1 is blocked (due that day), #2 delayed once to 31 May, #3 (due Wed 22 May)
untouched, so 3 working days overdue; OPS-002#1 is in progress and #3 not started, both due in
June (on time); #2 (due 22 May) is blocked and overdue. 王磊 hosts both: he is the tracker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html
import pytest

from parsers.message import InboundMessage, parse_message
from service import scheduler
from service.mail.bodies import read_body
from tests.conftest import SAMPLES

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2024, 5, 27, 9, 1, tzinfo=SHANGHAI)
ONE, TWO = "2024-OPS-001", "2024-OPS-002"


def _mail(sender: str, subject: str, body: str, message_id: str, when: datetime) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{sender}@example.test"
    msg["To"] = "minutes@example.test"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<{message_id}@example.test>"
    msg.set_content(body)
    return bytes(msg)


def _pipeline(tmp_path: Path, now: str) -> Any:
    from service.core.clock import Clock
    from service.core.config import load_rules, settings_from_env
    from service.core.store import Store
    from service.pipeline import Pipeline
    from tests.conftest import write_rules

    rules_path = write_rules(tmp_path / "rules.yaml")
    settings = settings_from_env(
        {"MINUTESD_DATA_DIR": str(tmp_path / "data"), "MINUTESD_ADDRESS": "minutes@example.test",
         "MINUTESD_RULES": str(rules_path), "MINUTESD_DIRECTORY": str(SAMPLES / "people.yaml"),
         "MINUTESD_NOW": now}
    )  # fmt: skip
    return Pipeline(settings, load_rules(rules_path), Store(settings.data_dir), Clock(settings.now))


def _confirm_and_act(pipeline: Any, draft: str, recorder: str, commands: list[tuple[str, str]]) -> str:
    """The draft through the pipeline, confirmed by every attendee, then each owner's command."""
    when = pipeline.clock.now()
    before = {d["key"] for d in pipeline.store.all("records")}
    accepted = pipeline.process(_mail(recorder, "纪要", draft, f"d{len(before)}", when), f"t:d{len(before)}")
    assert accepted.outcome == "applied", accepted.reason
    (number,) = {d["key"] for d in pipeline.store.all("records")} - before
    record = pipeline.store.get("records", number)
    for n, person in enumerate(record["attendees"]):
        user = person["email"].partition("@")[0]
        pipeline.process(
            _mail(user, f"Re: [{number}] 纪要", "确认", f"c{number}{n}", when), f"t:c{number}{n}"
        )
    assert pipeline.store.get("records", number)["state"] == "confirmed"
    for n, (user, line) in enumerate(commands):
        done = pipeline.process(
            _mail(user, f"Re: [{number}] 纪要", line, f"x{number}{n}", when), f"t:x{number}{n}"
        )
        assert done.outcome == "applied", done.reason
    return str(number)


@pytest.fixture
def two_meetings(tmp_path: Path) -> Any:
    pipeline = _pipeline(tmp_path, "2024-05-20T16:02:00+08:00")
    first = (SAMPLES / "draft-zh-plain.txt").read_text(encoding="utf-8")
    second = (
        first.replace("Q3产品规划会", "客服战略会")
        .replace("输出《客户投诉处理流程V2.0》 | 赵敏 | 客服部 | 2024-05-27", "上线一级响应看板 | 赵敏 | 客服部 | 2024-06-28")
        .replace("评估A类功能开发周期 | 陈静 | 技术部 | 2024-05-24", "完成客服系统接口联调 | 陈静 | 技术部 | 2024-05-22")
        .replace("协调市场部人员支持Q3产品推广 | 孙浩 | 运营部 | 2024-05-22", "培训客服人员 | 孙浩 | 运营部 | 2024-06-14")
    )  # fmt: skip
    assert _confirm_and_act(pipeline, first, "qian.fang", [
        ("zhao.min", "#1 受阻 原因:缺客户反馈数据 需要:市场部提供客户反馈数据"),
        ("chen.jing", "#2 延期至5月31日 原因:需求评审推迟"),
    ]) == ONE  # fmt: skip
    assert _confirm_and_act(pipeline, second, "qian.fang", [
        ("chen.jing", "#2 受阻 原因:接口文档未到 需要:技术部提供接口文档"),
        ("zhao.min", "#1 进度 30%"),
    ]) == TWO  # fmt: skip
    return pipeline


def _sent(pipeline: Any, when: datetime, key: str) -> InboundMessage:
    scheduler.tick(pipeline.store, pipeline.outbox, pipeline.rules, when, pipeline.directory)
    queued = pipeline.store.get("outbox", key)
    assert queued is not None, sorted(d["key"] for d in pipeline.store.all("outbox"))
    return parse_message(read_body(pipeline.store.data_dir, queued))


# -- reading what people see ---------------------------------------------------------


@dataclass
class Row:
    item: str
    mark: str  # the text of the first cell, as a reader (or a printer) gets it
    backgrounds: set[str]  # every cell's inline background; empty when the row is not coloured


@dataclass
class Meeting:
    heading: str
    rows: dict[str, Row] = field(default_factory=dict)


def _background(style: str) -> str:
    found = re.search(r"background:\s*(#[0-9a-fA-F]{3,6})", style or "")
    return found.group(1).lower() if found else ""


def html_table(html: str) -> list[Meeting]:
    """The table's meetings and rows as the HTML part draws them (a full-width cell is a heading)."""
    (table,) = lxml.html.fromstring(html).xpath("//table")
    header, *body = table.xpath("./tr | ./tbody/tr")
    assert header.xpath("./th"), "the first row is the header"
    meetings: list[Meeting] = []
    for tr in body:
        cells = tr.xpath("./td")
        if len(cells) == 1 and cells[0].get("colspan"):
            meetings.append(Meeting(" ".join(cells[0].text_content().split())))
            continue
        assert meetings, "no row before the first meeting's heading"
        item = cells[1].text_content().strip()
        mark = " ".join(cells[0].text_content().split())
        backgrounds = {_background(c.get("style", "")) for c in cells} - {""}
        if backgrounds:
            assert len([c for c in cells if _background(c.get("style", ""))]) == len(cells), (
                f"{item}: the whole row is coloured, not some cells"
            )
        meetings[-1].rows[item] = Row(item, mark, backgrounds)
    return meetings


def text_table(text: str) -> list[tuple[str, dict[str, str]]]:
    """(heading, {item: its lines}) of the text part: '== … ==' starts a meeting, an id a row."""
    meetings: list[tuple[str, dict[str, str]]] = []
    current = ""
    for line in text.splitlines():
        if line.startswith("== ") and line.endswith(" =="):
            meetings.append((line.strip("= "), {}))
        elif re.match(r"^\d{4}-[A-Z]+-\d{3}#\d+  ", line):
            assert meetings, "no row before the first meeting's heading"
            current = line.split()[0]
            meetings[-1][1][current] = line + "\n"
        elif line.startswith("  ") and current and meetings:
            meetings[-1][1][current] += line + "\n"
        else:
            current = ""
    return meetings


# -- the weekly table ------------------------------------------------------------------


def test_the_weekly_html_marks_overdue_delayed_and_blocked_rows_under_their_meetings(
    two_meetings: Any,
) -> None:
    weekly = _sent(two_meetings, MONDAY, "weekly:2024-05-27:wang.lei@example.test")
    one, two = html_table(weekly.html)
    assert ONE in one.heading and "Q3产品规划会" in one.heading and "2024-05-20" in one.heading
    assert TWO in two.heading and "客服战略会" in two.heading and "2024-05-20" in two.heading
    assert list(one.rows) == [f"{ONE}#1", f"{ONE}#2", f"{ONE}#3"], "each meeting's rows under its heading"
    assert list(two.rows) == [f"{TWO}#1", f"{TWO}#2", f"{TWO}#3"]

    overdue = one.rows[f"{ONE}#3"]
    assert overdue.mark.startswith("逾期") and "已逾期 3 个工作日" in overdue.mark, overdue.mark
    delayed = one.rows[f"{ONE}#2"]
    assert delayed.mark.startswith("已延期") and "延期 1 次" in delayed.mark and "2024-05-31" in delayed.mark
    assert "逾期" not in delayed.mark.replace("已延期", ""), "delayed to 31 May: not overdue"
    blocked = one.rows[f"{ONE}#1"]
    assert blocked.mark.startswith("受阻") and "市场部提供客户反馈数据" in blocked.mark
    assert "逾期" not in blocked.mark, "due today is not overdue"
    both = two.rows[f"{TWO}#2"]
    assert both.mark.startswith("逾期") and "已逾期 3 个工作日" in both.mark
    assert "受阻" in both.mark and "技术部提供接口文档" in both.mark
    assert both.backgrounds == overdue.backgrounds, "overdue colours the row before blocked"

    colours = [overdue.backgrounds, delayed.backgrounds, blocked.backgrounds]
    assert all(len(c) == 1 for c in colours) and len(set().union(*colours)) == 3, "three colours, one a kind"
    for on_time in (two.rows[f"{TWO}#1"], two.rows[f"{TWO}#3"]):
        assert on_time.mark == "-" and on_time.backgrounds == set(), "a row on time carries no mark"
    assert re.search(r"逾期\s*2\s*项", weekly.html) and re.search(r"受阻\s*2\s*项", weekly.html)


def test_the_weekly_text_part_says_the_same_marks_in_words_under_the_same_headings(two_meetings: Any) -> None:
    weekly = _sent(two_meetings, MONDAY, "weekly:2024-05-27:wang.lei@example.test")
    (one, first), (two, second) = text_table(weekly.text)
    assert ONE in one and "Q3产品规划会" in one and TWO in two and "客服战略会" in two
    assert list(first) == [f"{ONE}#1", f"{ONE}#2", f"{ONE}#3"] and list(second) == [
        f"{TWO}#1",
        f"{TWO}#2",
        f"{TWO}#3",
    ]
    assert "【逾期】已逾期 3 个工作日" in first[f"{ONE}#3"]
    assert "【已延期】延期 1 次,现截止 2024-05-31" in first[f"{ONE}#2"]
    assert "【受阻】需:市场部提供客户反馈数据" in first[f"{ONE}#1"] and "逾期" not in first[f"{ONE}#1"]
    assert "【逾期】已逾期 3 个工作日" in second[f"{TWO}#2"] and "【受阻】" in second[f"{TWO}#2"]
    assert "【" not in second[f"{TWO}#1"] + second[f"{TWO}#3"], "rows on time carry no mark"
    assert "需要关注:逾期 2 项,受阻 2 项,已延期 1 项" in weekly.text


def test_an_owner_sees_only_their_own_rows_grouped_and_marked(two_meetings: Any) -> None:
    weekly = _sent(two_meetings, MONDAY, "weekly:2024-05-27:sun.hao@example.test")
    meetings = html_table(weekly.html)
    assert [list(m.rows) for m in meetings] == [[f"{ONE}#3"], [f"{TWO}#3"]]
    assert "已逾期 3 个工作日" in meetings[0].rows[f"{ONE}#3"].mark
    assert meetings[1].rows[f"{TWO}#3"].mark == "-"


# -- the daily digest ------------------------------------------------------------------


def test_the_digest_marks_its_rows_under_the_meeting_in_html_and_text(two_meetings: Any) -> None:
    digest = _sent(two_meetings, MONDAY, f"{TWO}:digest:2024-05-27")
    (meeting,) = html_table(digest.html)
    assert TWO in meeting.heading and "客服战略会" in meeting.heading and "2024-05-20" in meeting.heading
    marked = meeting.rows[f"{TWO}#2"]
    assert marked.mark.startswith("逾期") and "已逾期 3 个工作日" in marked.mark and "受阻" in marked.mark
    assert marked.backgrounds
    assert meeting.rows[f"{TWO}#1"].mark == "-" and not meeting.rows[f"{TWO}#1"].backgrounds
    ((heading, rows),) = text_table(digest.text)
    assert TWO in heading and "【逾期】已逾期 3 个工作日" in rows[f"{TWO}#2"] and "【" not in rows[f"{TWO}#3"]


def test_days_overdue_are_the_working_days_the_escalation_counts(two_meetings: Any) -> None:
    """Tue 28 May: OPS-002#2 (due Wed 22 May) is escalated the same morning its digest goes out."""
    tuesday = datetime(2024, 5, 28, 9, 1, tzinfo=SHANGHAI)
    digest = _sent(two_meetings, tuesday, f"{TWO}:digest:2024-05-28")
    escalated = parse_message(
        read_body(
            two_meetings.store.data_dir,
            two_meetings.store.get("outbox", f"{TWO}#2:due2024-05-22:escalate"),
        )
    )
    (said,) = re.findall(r"已逾期 (\d+) 个工作日", escalated.text)
    (meeting,) = html_table(digest.html)
    assert f"已逾期 {said} 个工作日" in meeting.rows[f"{TWO}#2"].mark and said == "4"


def test_a_public_holiday_is_not_a_day_overdue(two_meetings: Any) -> None:
    """Mon 17 June 2024; Mon 10 June was Dragon Boat Festival: 22 May to 17 June is 17 working days."""
    weekly = _sent(
        two_meetings, datetime(2024, 6, 17, 9, 1, tzinfo=SHANGHAI), "weekly:2024-06-17:wang.lei@example.test"
    )
    one = html_table(weekly.html)[0]
    assert "已逾期 17 个工作日" in one.rows[f"{ONE}#3"].mark
    assert "已逾期 10 个工作日" in one.rows[f"{ONE}#2"].mark, "delayed to Fri 31 May, then overdue too"
    assert "已延期" in one.rows[f"{ONE}#2"].mark


# -- in English ------------------------------------------------------------------------


def test_an_english_meetings_table_says_overdue_delayed_and_blocked(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path, "2024-06-17T17:00:00+08:00")
    draft = (SAMPLES / "draft-en.md").read_text(encoding="utf-8")
    number = _confirm_and_act(pipeline, draft, "zhang.wei", [
        ("chen.jing", "#2 delay to July 19 because the sales data is late"),
        ("sun.hao", "#3 blocked: needs Finance to release the travel budget"),
    ])  # fmt: skip
    monday = datetime(2024, 7, 8, 9, 1, tzinfo=SHANGHAI)  # #1 was due Sun 30 June, #3 Fri 5 July
    weekly = _sent(pipeline, monday, "weekly:2024-07-08:liu.yang@example.test")
    (meeting,) = html_table(weekly.html)
    assert number in meeting.heading and "Q3 marketing budget allocation" in meeting.heading
    assert "2024-06-17" in meeting.heading
    rows = meeting.rows
    assert rows[f"{number}#1"].mark == "Overdue 6 working days overdue"
    assert rows[f"{number}#2"].mark == "Delayed 1 delay, now due 2024-07-19"
    assert rows[f"{number}#3"].mark.startswith("Overdue 1 working day overdue")
    assert "Blocked needs: Finance to release the travel budget" in rows[f"{number}#3"].mark
    ((heading, lines),) = text_table(weekly.text)
    assert number in heading and "[Overdue] 6 working days overdue" in lines[f"{number}#1"]
    assert "[Delayed] 1 delay, now due 2024-07-19" in lines[f"{number}#2"]
    assert "[Blocked] needs: Finance to release the travel budget" in lines[f"{number}#3"]
