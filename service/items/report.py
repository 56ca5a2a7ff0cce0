"""The quarterly review: which quarter an item and a meeting count in, the figures by
department and month, and the review as text and as a workbook.

An item counts in the quarter (and month) of its planned date: a delay does not move it. A
meeting counts in the quarter it was held. The on-time rate is tracker.on_time_rate's.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from tabulate import tabulate

from parsers.people import Directory
from service.core.store import Doc
from service.items import roles, state, tracker
from service.items.state import Status


def quarter_bounds(text: str) -> tuple[date, date]:
    """'2024Q3' → (2024-07-01, 2024-09-30)."""
    year, _, quarter = text.upper().partition("Q")
    if not (year.isdigit() and quarter in ("1", "2", "3", "4")):
        raise ValueError(f"{text!r} is not a quarter like 2024Q3")
    first_month = 3 * (int(quarter) - 1) + 1
    start = date(int(year), first_month, 1)
    end = date(int(year) + (first_month == 10), (first_month + 3 - 1) % 12 + 1, 1)
    return start, date.fromordinal(end.toordinal() - 1)


def quarter_of(day: date) -> str:
    """2024-08-15 → '2024Q3': the one rule for items (planned date) and meetings (meeting date)."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_months(quarter: str) -> list[str]:
    """'2024Q3' → ['2024-07', '2024-08', '2024-09']."""
    start, _ = quarter_bounds(quarter)
    return [f"{start.year}-{start.month + k:02d}" for k in range(3)]


def _rate_json(rate: tracker.Rate) -> dict[str, Any]:
    return {"on_time": rate.on_time, "counted": rate.counted, "on_time_rate": rate.percent}


def _by_month(owned: list[Doc], months: list[str], today: date) -> list[dict[str, Any]]:
    return [
        {
            "month": month,
            **_rate_json(
                tracker.on_time_rate([i for i in owned if str(state.planned_date(i))[:7] == month], today)
            ),
        }
        for month in months
    ]


def report(
    all_items: list[Doc], meetings: list[Doc], directory: Directory, quarter: str, today: date
) -> dict[str, Any]:
    start, end = quarter_bounds(quarter)
    quarter = quarter_of(start)  # '2024q3' and '2024Q3' are one quarter
    months = quarter_months(quarter)
    planned_in = [
        i for i in all_items if (p := state.planned_date(i)) is not None and quarter_of(p) == quarter
    ]
    departments: dict[str, list[Doc]] = {}
    for item in planned_in:
        departments.setdefault(roles.department_of(item, directory) or "-", []).append(item)
    by_department = []
    for name, owned in sorted(departments.items()):
        rate = tracker.on_time_rate(owned, today)
        by_department.append(
            {
                "department": name,
                "items": len(owned),
                "done": sum(1 for i in owned if i["status"] == Status.DONE),
                "cancelled": sum(1 for i in owned if i["status"] == Status.CANCELLED),
                **_rate_json(rate),
                "average_slip_days": _average_slip(owned, today),
                "months": _by_month(owned, months, today),
            }
        )
    met_on = {m["record"]: m["date"] for m in meetings if m.get("date")}
    held = [m for m in meetings if m.get("date") and quarter_of(date.fromisoformat(m["date"])) == quarter]
    counts = [m["items"] for m in held]
    overall = tracker.on_time_rate(planned_in, today)
    return {
        "quarter": quarter,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "items": len(planned_in),
        "done": sum(1 for i in planned_in if i["status"] == Status.DONE),
        "cancelled": sum(1 for i in planned_in if i["status"] == Status.CANCELLED),
        "on_time": overall.on_time,
        "counted": overall.counted,
        "on_time_rate": overall.percent,
        "average_slip_days": _average_slip(planned_in, today),
        "delays": sum(len(i.get("delays", [])) for i in planned_in),
        "months": _by_month(planned_in, months, today),
        "by_department": by_department,
        # items of this quarter decided by a meeting held in an earlier one (counted there as a meeting)
        "from_earlier_meetings": sum(
            1 for i in planned_in if met_on.get(i["record"], start.isoformat()) < start.isoformat()
        ),
        "meetings": len(held),
        "items_per_meeting": round(sum(counts) / len(counts), 2) if counts else None,
        "per_meeting": [
            {"record": m["record"], "name": m["name"], "date": m["date"], "items": m["items"]} for m in held
        ],
    }


def _average_slip(owned: list[Doc], today: date) -> float | None:
    """Mean days past the planned date, over items finished or already due (0 when on time)."""
    slips = []
    for item in owned:
        planned = state.planned_date(item)
        if planned is None or item["status"] == Status.CANCELLED:
            continue
        finished = tracker.finished_on(item)
        if finished is None and planned >= today:
            continue
        slips.append(max(0, ((finished or today) - planned).days))
    return round(sum(slips) / len(slips), 2) if slips else None


def report_text(data: dict[str, Any]) -> str:
    months = [m["month"] for m in data["months"]]
    lines = [
        f"Quarter {data['quarter']} ({data['from']} – {data['to']}): {data['items']} item(s) planned, "
        f"on-time rate {tracker.spelled_percent(data['on_time_rate'])}, average slip {tracker.spelled_days(data['average_slip_days'])}, "
        f"{data['delays']} delay(s)",
        "",
        tabulate(
            [
                [
                    d["department"],
                    d["items"],
                    d["done"],
                    d["cancelled"],
                    f"{d['on_time']}/{d['counted']}",
                    tracker.spelled_percent(d["on_time_rate"]),
                    tracker.spelled_days(d["average_slip_days"]),
                ]
                for d in data["by_department"]
            ],
            headers=["部门 Department", "Items", "Done", "Cancelled", "On time", "tracker.Rate", "Avg slip"],
        ),
        "",
        tabulate(
            [
                [d["department"], *(tracker.spelled_percent(m["on_time_rate"]) for m in d["months"])]
                for d in [*data["by_department"], {"department": "全公司 Company", "months": data["months"]}]
            ],
            headers=["On-time rate by planned month", *months],
        ),
        "",
        f"Meetings held: {data['meetings']}, items per meeting: {data['items_per_meeting'] if data['items_per_meeting'] is not None else '-'}"
        + (
            f"; {data['from_earlier_meetings']} item(s) of this quarter come from meetings held before it"
            if data["from_earlier_meetings"]
            else ""
        ),
    ]
    if data["per_meeting"]:
        lines += [
            "",
            tabulate(
                [[m["record"], m["name"], m["date"], m["items"]] for m in data["per_meeting"]],
                headers=["Record", "Meeting", "Held", "Items"],
            ),
        ]
    return "\n".join(lines)


REPORT_LABELS: dict[str, dict[str, Any]] = {
    "zh": {
        "sheet": "季度报告",
        "meetings_sheet": "会议",
        "headers": ("部门", "行动项", "已完成", "已取消", "按时完成", "计入", "按时完成率", "平均延误(天)"),
        "company": "全公司",
        "by_month": "按计划完成月份的按时完成率",
        "quarter": "本季度",
        "meeting_headers": ("会议编号", "会议名称", "召开日期", "行动项数"),
        "rule": "行动项按计划完成日期计入季度和月份,会议按召开日期计入季度。",
    },
    "en": {
        "sheet": "Quarterly review",
        "meetings_sheet": "Meetings",
        "headers": (
            "Department",
            "Items",
            "Done",
            "Cancelled",
            "On time",
            "Counted",
            "On-time rate",
            "Avg slip (days)",
        ),
        "company": "Whole company",
        "by_month": "On-time rate by planned month",
        "quarter": "Quarter",
        "meeting_headers": ("Record", "Meeting", "Held on", "Items"),
        "rule": "An item counts in the quarter and month of its planned date, a meeting in the quarter it was held.",
    },
}


_REPORT_KEYS = (
    "department",
    "items",
    "done",
    "cancelled",
    "on_time",
    "counted",
    "on_time_rate",
    "average_slip_days",
)


def month_label(month: str, lang: str) -> str:
    """'2024-07' → '7月' / 'Jul 2024'."""
    year, number = (int(part) for part in month.split("-"))
    return f"{number}月" if lang == "zh" else f"{date(year, number, 1):%b %Y}"


def report_xlsx(data: dict[str, Any], lang: str, title: str, *, meetings: bool = True) -> bytes:
    """The quarterly review as a workbook: a title, the departments under a frozen, filtered header
    (rates as percentages, slip in days), the whole company, then the rate of each planned month;
    with `meetings`, a second sheet of the meetings held. No cell text ever becomes a formula."""
    from openpyxl import Workbook  # only where a sheet is made: it costs 0.15 s to import
    from openpyxl.styles import Font

    labels = REPORT_LABELS["zh" if lang == "zh" else "en"]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = labels["sheet"]
    sheet.cell(row=1, column=1, value=title).font = Font(name=tracker.FONT, bold=True, size=13)
    tracker.header_row(sheet, 2, labels["headers"])
    company = {**data, "department": labels["company"]}
    rows = data["by_department"]
    for n, entry in enumerate(rows, start=3):
        _report_row(sheet, n, entry)
    last = 2 + len(rows)
    sheet.freeze_panes = "A3"
    sheet.auto_filter.ref = f"A2:H{max(last, 3)}"
    _report_row(sheet, last + 1, company, bold=True)
    at = last + 3
    sheet.cell(row=at, column=1, value=labels["by_month"]).font = Font(name=tracker.FONT, bold=True)
    months = [month_label(m["month"], lang) for m in data["months"]]
    tracker.header_row(sheet, at + 1, (labels["headers"][0], *months, labels["quarter"]))
    for n, entry in enumerate([*rows, company], start=at + 2):
        tracker.write_cell(sheet.cell(row=n, column=1), entry["department"], False)
        for c, value in enumerate([*entry["months"], entry], start=2):
            tracker.percent_cell(sheet.cell(row=n, column=c), value["on_time_rate"])
        if entry is company:
            for c in range(1, len(months) + 3):
                sheet.cell(row=n, column=c).font = Font(name=tracker.FONT, bold=True)
    note = sheet.cell(row=at + 3 + len(rows), column=1, value=labels["rule"])
    note.font = Font(name=tracker.FONT, italic=True, color="666666")
    tracker.fit_columns(sheet, skip_rows={1, at, note.row})
    tracker.print_setup(sheet, "2:2")
    if meetings:
        held = book.create_sheet(labels["meetings_sheet"])
        tracker.header_row(held, 1, labels["meeting_headers"])
        for n, meeting in enumerate(data["per_meeting"], start=2):
            tracker.write_cell(held.cell(row=n, column=1), meeting["record"], False)
            tracker.write_cell(held.cell(row=n, column=2), meeting["name"], False)
            tracker.write_cell(held.cell(row=n, column=3), meeting["date"] or "", True)
            held.cell(row=n, column=4, value=meeting["items"])
        held.freeze_panes = "A2"
        held.auto_filter.ref = f"A1:D{max(1 + len(data['per_meeting']), 2)}"
        tracker.fit_columns(held)
        tracker.print_setup(held, "1:1")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _report_row(sheet: Any, row: int, entry: dict[str, Any], bold: bool = False) -> None:
    from openpyxl.styles import Font

    for c, key in enumerate(_REPORT_KEYS, start=1):
        cell = sheet.cell(row=row, column=c)
        value = entry[key]
        if key == "department":
            tracker.write_cell(cell, str(value), False)
        elif key == "on_time_rate":
            tracker.percent_cell(cell, value)
        elif key == "average_slip_days":
            cell.value = value if value is not None else "-"
            cell.number_format = "0.0"
        else:
            cell.value = value
        if bold:
            cell.font = Font(name=tracker.FONT, bold=True)
