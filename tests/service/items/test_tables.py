"""The tracker's files as people open them: text stays text, dates are dates, Chinese is UTF-8."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook

from service.items.tracker import COLUMNS, Rate, as_csv, as_xlsx
from service.mail.bodies import read_body
from service.mail.outbox import Outbox, OutgoingMail

ROW = dict.fromkeys(COLUMNS, "")
EVIL = {**ROW, "item": "2024-OPS-001#1", "title": "=HYPERLINK(\"http://x\",\"点我\")", "owner": "赵敏",
        "planned": "2024-05-27", "actual": "", "notes": "+SUM(A1:A9)", "deliverable": "@cmd"}  # fmt: skip


def test_no_cell_becomes_a_formula_and_dates_are_dates() -> None:
    data = as_xlsx([EVIL], "zh", Rate(1, 2), "行动项周报 2024-05-27")
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet["A1"].value == "行动项周报 2024-05-27"
    assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref == "A2:I3"
    assert sheet["B3"].data_type == "s" and sheet["B3"].value.startswith("=HYPERLINK")
    assert sheet["I3"].data_type == "s" and sheet["H3"].data_type == "s"
    assert sheet["E3"].value.date() == date(2024, 5, 27) and sheet["E3"].number_format == "yyyy-mm-dd"
    assert sheet["B5"].value == 0.5 and sheet["B5"].number_format == "0.0%"
    assert sheet.page_setup.orientation == "landscape"


def test_the_csv_quotes_formula_starts() -> None:
    text = as_csv([EVIL], "zh").decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'+SUM" in text and "'@cmd" in text


def test_text_attachments_declare_utf8() -> None:
    from datetime import UTC, datetime

    box = Outbox("minutes@example.test", "会议纪要助手")
    mail = OutgoingMail(
        key="k", to=["a@example.test"], subject="s", template="refusal", lang="zh", context={},
        attachments=[("deadlines.ics", "text/calendar", "SUMMARY:评估".encode()),
                     ("a.csv", "text/csv", "负责人".encode())],
    )  # fmt: skip
    raw = box.build(mail, "m@example.test", datetime(2024, 5, 20, tzinfo=UTC)).decode()
    assert (
        'Content-Type: text/calendar; charset="utf-8"' in raw
        and 'Content-Type: text/csv; charset="utf-8"' in raw
    )


def test_a_delay_moves_the_owners_calendar_entry_and_a_cancel_removes_it(tmp_path: object) -> None:
    from icalendar import Calendar

    from parsers.message import parse_message
    from tests.service.items.test_actions_units import _mail
    from tests.service.test_routes import _confirmed

    pipeline = _confirmed(tmp_path)  # type: ignore[arg-type]
    subject = "Re: [2024-OPS-001#1] 纪要"
    delay = pipeline.process(_mail("zhao.min", subject, "#1 延期至5月31日 原因:等报价", "dl"), "t:dl")
    assert delay.outcome == "applied", delay.reason

    def calendar(key: str) -> tuple[str, Calendar]:
        msg = parse_message(read_body(pipeline.store.data_dir, pipeline.store.get("outbox", key)))
        (ics,) = [a for a in msg.attachments if a.filename.endswith(".ics")]
        return msg.to[0], Calendar.from_ical(ics.data)

    to, moved = calendar("2024-OPS-001#1:calendar:1")
    (event,) = moved.walk("VEVENT")
    assert to == "zhao.min@example.test" and str(event["UID"]).startswith("2024-OPS-001#1@")
    assert event.decoded("DTSTART") == date(2024, 5, 31) and int(event["SEQUENCE"]) == 1
    cancel = pipeline.process(_mail("wang.lei", subject, "#1 取消 需求变了", "cx"), "t:cx")
    assert cancel.outcome == "applied", cancel.reason
    notice = next(
        d["key"] for d in pipeline.store.all("outbox") if d["key"].endswith(":cancelled:2024-OPS-001#1")
    )
    to, removed = calendar(notice)
    (event,) = removed.walk("VEVENT")
    assert str(removed["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 2 and str(event["UID"]).startswith("2024-OPS-001#1@")
