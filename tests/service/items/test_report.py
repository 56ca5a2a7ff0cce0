"""The quarterly review people receive: the workbook as a spreadsheet opens it, the chart as an
image, the mail to each department head once a quarter, and the one rule placing things in a quarter."""

from __future__ import annotations

import email
import io
import struct
import warnings
from datetime import date, datetime
from email.message import Message
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from service import scheduler
from service.core.directory import read_directory
from service.items import quarterly, report
from service.mail.bodies import read_body
from tests.conftest import SAMPLES
from tests.service.items.test_tables_marked import _confirm_and_act, _pipeline

SHANGHAI = ZoneInfo("Asia/Shanghai")
DIRECTORY = read_directory(SAMPLES / "people.yaml")


def _item(n: int, department: str, planned: str, actual: str = "", status: str = "done") -> dict[str, Any]:
    return {
        "id": f"2024-OPS-001#{n}", "record": "2024-OPS-001", "no": n, "title": f"事项{n}",
        "owner": {"name": "赵敏", "email": "zhao.min@example.test", "department": department},
        "department": department, "planned": planned, "due": planned, "status": status,
        "actual": actual or None, "delays": [],
    }  # fmt: skip


MEETINGS = [
    {"record": "2024-OPS-001", "name": "六月协调会", "date": "2024-06-20", "items": 4},
    {"record": "2024-OPS-002", "name": '=HYPERLINK("http://x")', "date": "2024-08-01", "items": 0},
]
ITEMS = [
    _item(1, "客服部", "2024-07-10", "2024-07-09"),  # planned in Q3, of a meeting held in Q2: on time
    _item(2, "客服部", "2024-08-20", "2024-08-25"),  # late
    _item(3, "技术部", "2024-09-05", status="in_progress"),  # past due, unfinished: late
    _item(4, "=cmd|' /C calc'!A0", "2024-06-28", "2024-06-28"),  # Q2; a department that is a formula
]


def _q3() -> dict[str, Any]:
    return report.report(ITEMS, MEETINGS, DIRECTORY, "2024q3", date(2024, 10, 8))


# -- the quarter of an item and of its meeting ---------------------------------------


def test_an_item_counts_in_its_planned_quarter_and_its_meeting_in_the_quarter_it_was_held() -> None:
    q3, q2 = _q3(), report.report(ITEMS, MEETINGS, DIRECTORY, "2024Q2", date(2024, 10, 8))
    assert (
        report.quarter_of(date(2024, 7, 10)) == "2024Q3" and report.quarter_of(date(2024, 6, 20)) == "2024Q2"
    )
    # Q3 rates the item planned in July, though its meeting was held in June ...
    assert q3["quarter"] == "2024Q3" and q3["items"] == 3 and q3["from_earlier_meetings"] == 3
    assert [m["record"] for m in q3["per_meeting"]] == ["2024-OPS-002"] and q3["meetings"] == 1
    july = q3["by_department"][0]["months"][0]
    assert q3["by_department"][0]["department"] == "客服部" and july == {
        "month": "2024-07", "on_time": 1, "counted": 1, "on_time_rate": 100.0
    }  # fmt: skip
    # ... and Q2 counts that meeting with all the items it decided, but rates only the June item.
    assert q2["items"] == 1 and q2["meetings"] == 1 and q2["items_per_meeting"] == 4
    assert q2["per_meeting"][0]["record"] == "2024-OPS-001" and q2["from_earlier_meetings"] == 0


def test_the_rates_by_department_and_month() -> None:
    q3 = _q3()
    assert [m["on_time_rate"] for m in q3["months"]] == [100.0, 0.0, 0.0]
    service, tech = q3["by_department"]
    assert (service["on_time"], service["counted"], service["on_time_rate"]) == (1, 2, 50.0)
    assert tech["department"] == "技术部" and [m["on_time_rate"] for m in tech["months"]] == [None, None, 0.0]
    assert "2024-07" in report.report_text(q3) and "from meetings held before it" in report.report_text(q3)


# -- the workbook ----------------------------------------------------------------------


def test_the_workbook_has_a_title_a_frozen_filtered_header_percentages_and_months() -> None:
    data = report.report(ITEMS, MEETINGS, DIRECTORY, "2024Q3", date(2024, 10, 8))
    data["by_department"].append({**data["by_department"][0], "department": "=SUM(A1:A9)"})
    book = load_workbook(io.BytesIO(report.report_xlsx(data, "zh", "行动项季度报告 2024Q3")))
    sheet = book["季度报告"]
    assert sheet["A1"].value == "行动项季度报告 2024Q3" and sheet["A1"].font.bold
    assert [c.value for c in sheet[2]][:8] == list(report.REPORT_LABELS["zh"]["headers"])
    assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref == "A2:H5"
    assert [sheet.cell(row=r, column=1).value for r in (3, 4, 5, 6)] == [
        "客服部",
        "技术部",
        "=SUM(A1:A9)",
        "全公司",
    ]
    assert sheet["A5"].data_type == "s"  # a department written as a formula stays text
    assert sheet["G3"].value == 0.5 and sheet["G3"].number_format == "0.0%"
    assert sheet["G6"].value == pytest.approx(1 / 3, abs=1e-3) and sheet["G6"].font.bold
    assert sheet["H3"].number_format == "0.0" and isinstance(sheet["B3"].value, int)
    # The rate of each planned month, under its own header; '-' where nothing was due.
    months_header = next(r for r in range(7, 12) if sheet.cell(row=r, column=2).value == "7月")
    assert [c.value for c in sheet[months_header]][:5] == ["部门", "7月", "8月", "9月", "本季度"]
    tech = [c.value for c in sheet[months_header + 2]][:5]
    assert tech == ["技术部", "-", "-", 0.0, 0.0]
    assert sheet.cell(row=months_header + 1, column=2).number_format == "0.0%"
    # Widths follow the text, a Chinese character counted two columns.
    assert sheet.column_dimensions["A"].width >= 11 and sheet.page_setup.orientation == "landscape"
    held = book["会议"]
    assert held["B2"].value.startswith("=HYPERLINK") and held["B2"].data_type == "s"
    assert held["C2"].value.date() == date(2024, 8, 1) and held.freeze_panes == "A2"


def test_an_english_workbook_and_one_without_meetings() -> None:
    book = load_workbook(
        io.BytesIO(report.report_xlsx(_q3(), "en", "Quarterly review 2024Q3", meetings=False))
    )
    assert book.sheetnames == ["Quarterly review"]
    sheet = book.active
    assert sheet["A2"].value == "Department" and sheet["G2"].value == "On-time rate"
    assert any(c.value == "Jul 2024" for row in sheet.iter_rows() for c in row)


# -- the chart ---------------------------------------------------------------------------


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_chart_is_a_png_of_a_sensible_size() -> None:
    png = quarterly.chart_png(_q3(), "zh", highlight=["客服部"])
    assert _png_size(png) == (1200, 600) and 10_000 < len(png) < 400_000


def test_without_a_cjk_font_the_chart_is_english_with_department_codes() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Glyph missing" warning escapes
        png = quarterly.chart_png(_q3(), "zh", codes={"客服部": "CS", "技术部": "TEC"}, font=None)
    assert _png_size(png) == (1200, 600)


# -- the mail to each head -----------------------------------------------------------------


@pytest.fixture
def q2_and_q3(tmp_path: Path) -> Any:
    """A meeting of 20 May: 客服部's item planned in July (Q3), 技术部's and 运营部's in May (Q2)."""
    pipeline = _pipeline(tmp_path, "2024-05-20T16:02:00+08:00")
    draft = (SAMPLES / "draft-zh-plain.txt").read_text(encoding="utf-8")
    draft = draft.replace("| 赵敏 | 客服部 | 2024-05-27 |", "| 赵敏 | 客服部 | 2024-07-10 |")
    _confirm_and_act(pipeline, draft, "qian.fang", [])
    return pipeline


def _tick(pipeline: Any, when: str) -> set[str]:
    before = {d["key"] for d in pipeline.store.all("outbox")}
    scheduler.tick(
        pipeline.store, pipeline.outbox, pipeline.rules, datetime.fromisoformat(when), pipeline.directory
    )
    return {k for d in pipeline.store.all("outbox") if (k := d["key"]).startswith("report:")} - before


def _mail(pipeline: Any, key: str) -> Message:
    return email.message_from_bytes(read_body(pipeline.store.data_dir, pipeline.store.get("outbox", key)))


def test_each_head_gets_one_mail_after_the_quarter_ends(q2_and_q3: Any) -> None:
    pipeline = q2_and_q3
    assert _tick(pipeline, "2024-06-28T09:30:00+08:00") == set()  # the quarter has not ended
    assert _tick(pipeline, "2024-07-01T08:59:00+08:00") == set()  # Monday 1 July, before 09:00
    first = _tick(pipeline, "2024-07-01T09:01:00+08:00")
    assert first == {"report:2024Q2:chen.jing@example.test", "report:2024Q2:sun.hao@example.test"}
    assert _tick(pipeline, "2024-07-01T09:06:00+08:00") == set()  # the next wake-up: nothing again
    with pipeline.store.transaction() as txn:  # without the quarter's mark, the outbox keys hold
        txn.delete(quarterly.QUARTERS, "2024Q2")
    assert _tick(pipeline, "2024-07-02T09:00:00+08:00") == set()
    # 客服部's item is planned in July: its head hears about it after Q3 (8 October, after the holiday).
    assert _tick(pipeline, "2024-09-30T09:30:00+08:00") == set()
    assert _tick(pipeline, "2024-10-08T09:01:00+08:00") == {"report:2024Q3:zhao.min@example.test"}


def test_a_daemon_down_past_a_quarter_sends_only_the_last_one(q2_and_q3: Any) -> None:
    assert _tick(q2_and_q3, "2024-10-09T10:00:00+08:00") == {"report:2024Q3:zhao.min@example.test"}


def test_the_mail_has_the_chart_inline_the_workbook_attached_and_the_heads_department(q2_and_q3: Any) -> None:
    pipeline = q2_and_q3
    _tick(pipeline, "2024-07-01T09:01:00+08:00")
    mail = _mail(pipeline, "report:2024Q2:sun.hao@example.test")
    assert mail.get_content_type() == "multipart/mixed" and "2024Q2" in str(email.header.make_header(
        email.header.decode_header(mail["Subject"])))  # fmt: skip
    body, attached = mail.get_payload()
    assert body.get_content_type() == "multipart/alternative"
    text_part, related = body.get_payload()
    assert related.get_content_type() == "multipart/related"
    html_part, image = related.get_payload()
    html = html_part.get_payload(decode=True).decode("utf-8")
    text = text_part.get_payload(decode=True).decode("utf-8")
    content_id = image["Content-ID"].strip("<>")
    assert image.get_content_type() == "image/png" and f'src="cid:{content_id}"' in html
    assert _png_size(image.get_payload(decode=True))[0] == 1200
    assert attached.get_filename() == "quarterly-review-2024Q2.xlsx"
    sheet = load_workbook(io.BytesIO(attached.get_payload(decode=True))).active
    assert {sheet.cell(row=r, column=1).value for r in (3, 4)} == {"技术部", "运营部"}
    # 孙浩 heads 运营部: its row and the company's above the chart, not 技术部's (that is in the workbook).
    assert "运营部" in html and "全公司" in html and "技术部" not in html.split("<img")[0]
    assert text.startswith("孙浩您好") and "运营部:行动项 1" in text and "全公司:行动项 2" in text
    assert "技术部:" not in text and "会议按召开日期计入季度" in text


def test_the_report_command_writes_the_workbook_and_the_chart(q2_and_q3: Any, tmp_path: Path) -> None:
    from tests.conftest import run_cli, service_env

    env = service_env(
        q2_and_q3.store.data_dir,
        {"MINUTESD_DIRECTORY": str(SAMPLES / "people.yaml"), "MINUTESD_NOW": "2024-10-08T10:00:00+08:00"},
    )
    sheet, chart = tmp_path / "q3.xlsx", tmp_path / "q3.png"
    done = run_cli(["report", "--quarter", "2024Q3", "--xlsx", str(sheet), "--chart", str(chart)], env)
    assert done.returncode == 0, done.stderr
    book = load_workbook(sheet)
    assert (
        book["季度报告"]["A3"].value == "客服部" and book["季度报告"]["G3"].value == 0
    )  # not done, past due
    assert book["会议"].max_row == 1  # the meeting of 20 May is Q2's, though its item is Q3's
    assert _png_size(chart.read_bytes()) == (1200, 600)
    assert run_cli(["report", "--quarter", "2024Q5"], env).returncode == 2
