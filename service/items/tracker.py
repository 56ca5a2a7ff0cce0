"""The action-item tracker table (行动项跟踪表) and the quarterly review, in every shape we give them.

Columns are the template's: item, owner, department, planned date, actual date, status,
deliverable, notes. The on-time rate counts an item once it is finished or its planned date
has passed: on time when it was finished (reported done) by the date the meeting planned.
A delay does not move the planned date, so a delayed item that finishes late is late.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from tabulate import tabulate
from wcwidth import wcswidth

from parsers.people import Directory
from service.core.store import Doc
from service.items import roles, state
from service.items.state import Status

COLUMNS = ("item", "title", "owner", "department", "planned", "actual", "status", "deliverable", "notes")
HEADERS = {
    "zh": (
        "编号",
        "行动项描述",
        "负责人",
        "所属部门",
        "计划完成时间",
        "实际完成时间",
        "状态",
        "交付成果",
        "备注",
    ),
    "en": ("Item", "Action", "Owner", "Department", "Planned", "Actual", "Status", "Deliverable", "Notes"),
}
STATUS_LABELS = {
    "zh": {
        "not_started": "未开始",
        "in_progress": "进行中",
        "pending_verification": "待核实",
        "done": "已完成",
        "delayed": "延期",
        "blocked": "受阻",
        "cancelled": "已取消",
    },
    "en": {s.value: s.value.replace("_", " ") for s in Status},
}


@dataclass(frozen=True)
class Rate:
    on_time: int
    counted: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.on_time / self.counted, 1) if self.counted else None

    def spelled(self) -> str:
        return f"{self.percent}% ({self.on_time}/{self.counted})" if self.counted else "-"


def finished_on(item: Doc) -> date | None:
    """When the owner finished: the verified date, or the day they reported done."""
    when = item.get("actual") or (item.get("submitted_on") if item["status"] == Status.PENDING else None)
    return date.fromisoformat(when) if when else None


def on_time_rate(rows: Iterable[Doc], today: date) -> Rate:
    on_time = counted = 0
    for item in rows:
        planned = state.planned_date(item)
        if item["status"] == Status.CANCELLED or planned is None:
            continue
        finished = finished_on(item)
        if finished is not None:
            counted += 1
            on_time += finished <= planned
        elif planned < today:
            counted += 1
    return Rate(on_time, counted)


def row(item: Doc, lang: str, directory: Directory | None = None) -> dict[str, str]:
    notes: list[str] = []
    zh = lang == "zh"
    for delay in item.get("delays", [])[-1:]:
        count = len(item["delays"])
        notes.append(
            f"延期{count}次,现截止{item['due']}:{delay['reason']}"
            if zh
            else f"delayed {count}x, now due {item['due']}: {delay['reason']}"
        )
    if item["status"] == Status.BLOCKED and item.get("blocked"):
        blocked = item["blocked"]
        notes.append(
            f"受阻:{blocked['reason']};需:{blocked['support']}"
            if zh
            else f"blocked: {blocked['reason']}; needs: {blocked['support']}"
        )
    if item.get("percent") is not None and item["status"] not in state.CLOSED:
        notes.append(f"{item['percent']}%")
    if item.get("notes"):
        notes.append(item["notes"])
    department = roles.department_of(item, directory) if directory else item["department"]
    finished = finished_on(item)
    return {
        "item": item["id"],
        "title": item["title"],
        "owner": item["owner"]["name"],
        "department": department,
        "planned": item.get("planned") or "",
        "actual": str(finished or ""),
        "status": STATUS_LABELS["zh" if zh else "en"].get(item["status"], item["status"]),
        "deliverable": "、".join(e["filename"] for e in item.get("evidence", [])) or "-",
        "notes": ";".join(notes) if zh else "; ".join(notes),
    }


def select(
    all_items: Iterable[Doc],
    directory: Directory,
    department: str = "",
    owner: str = "",
) -> list[Doc]:
    wanted_department = directory.canonical_department(department) if department else ""
    chosen = []
    for item in all_items:
        if wanted_department and roles.department_of(item, directory) != wanted_department:
            continue
        if owner and owner.lower() not in (item["owner"]["email"].lower(), item["owner"]["name"].lower()):
            person = directory.by_name(owner)
            if person is None or not roles.owns(item, person.email):
                continue
        chosen.append(item)
    return chosen


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _as_text(value: str) -> str:
    """A cell someone wrote as "=HYPERLINK(…)" stays text in any spreadsheet (OWASP CSV injection)."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def as_csv(rows: list[dict[str, str]], lang: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS[lang])
    for r in rows:
        writer.writerow([_as_text(r[c]) for c in COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # the BOM makes Excel read it as UTF-8


_DATE_COLUMNS = ("planned", "actual")
_WIDTHS = (18, 38, 10, 12, 15, 15, 12, 30, 40)  # CJK characters are two columns wide
_FONT = "Calibri"  # the workbook default; a font with no name is drawn in a serif by LibreOffice


def as_xlsx(rows: list[dict[str, str]], lang: str, rate: Rate, title: str) -> bytes:
    """A sheet people work in: a title, a frozen header with a filter, date cells, the rate as a
    percentage, landscape and one page wide; no cell text ever becomes a formula."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "行动项跟踪表" if lang == "zh" else "Action items"
    sheet.cell(row=1, column=1, value=title).font = Font(name=_FONT, bold=True, size=13)
    _header(sheet, 2, HEADERS[lang])
    for n, r in enumerate(rows, start=3):
        for c, column in enumerate(COLUMNS, start=1):
            cell = sheet.cell(row=n, column=c)
            _write(cell, r[column], column in _DATE_COLUMNS)
            # long text wraps inside its column instead of being cut at the next one (every cell
            # wraps, so LibreOffice sets them all at the same height in a row)
            centred = "center" if column in _DATE_COLUMNS else None
            cell.alignment = Alignment(horizontal=centred, wrap_text=True, vertical="top")
    last = 2 + len(rows)
    sheet.freeze_panes = "A3"
    sheet.auto_filter.ref = f"A2:I{last}"
    label = sheet.cell(row=last + 2, column=1, value="按时完成率" if lang == "zh" else "On-time rate")
    label.font = Font(name=_FONT, bold=True)
    value = sheet.cell(
        row=last + 2, column=2, value=(rate.percent / 100) if rate.percent is not None else "-"
    )
    value.number_format = "0.0%"
    value.alignment = Alignment(horizontal="left")  # beside its label, not at the far side of column B
    sheet.cell(row=last + 2, column=3, value=f"{rate.on_time}/{rate.counted}")
    for column, width in zip("ABCDEFGHI", _WIDTHS, strict=True):
        sheet.column_dimensions[column].width = width
    _print_setup(sheet, "2:2")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _write(cell: Any, text: str, is_date: bool) -> None:
    if is_date and text:
        try:
            cell.value = date.fromisoformat(text)
            cell.number_format = "yyyy-mm-dd"
            return
        except ValueError:
            pass
    cell.value = text
    cell.data_type = "s"  # never a formula, whatever the text starts with


def as_table(rows: list[dict[str, str]], lang: str) -> str:
    return tabulate([[r[c] for c in COLUMNS] for r in rows], headers=list(HEADERS[lang]), tablefmt="simple")


def as_json(chosen: list[Doc], rows: list[dict[str, str]], rate: Rate) -> dict[str, Any]:
    return {
        "items": [{**state.as_json(item), "row": r} for item, r in zip(chosen, rows, strict=True)],
        "on_time_rate": rate.percent,
        "on_time": rate.on_time,
        "counted": rate.counted,
    }


# -- quarterly review --------------------------------------------------------
#
# One rule places everything in a quarter: `quarter_of` a calendar date. An item is in the
# quarter of its planned date (the date its meeting set; a delay does not move it), a meeting in
# the quarter of the day it was held. So an item planned in July of a meeting held in June counts
# in Q3's on-time rate and month of July, while its meeting (and the items it decided) count
# among Q2's meetings; Q3 says how many of its items such earlier meetings decided.


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


def _rate_json(rate: Rate) -> dict[str, Any]:
    return {"on_time": rate.on_time, "counted": rate.counted, "on_time_rate": rate.percent}


def _by_month(owned: list[Doc], months: list[str], today: date) -> list[dict[str, Any]]:
    return [
        {
            "month": month,
            **_rate_json(on_time_rate([i for i in owned if str(state.planned_date(i))[:7] == month], today)),
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
        rate = on_time_rate(owned, today)
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
    overall = on_time_rate(planned_in, today)
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
        finished = finished_on(item)
        if finished is None and planned >= today:
            continue
        slips.append(max(0, ((finished or today) - planned).days))
    return round(sum(slips) / len(slips), 2) if slips else None


def report_text(data: dict[str, Any]) -> str:
    months = [m["month"] for m in data["months"]]
    lines = [
        f"Quarter {data['quarter']} ({data['from']} – {data['to']}): {data['items']} item(s) planned, "
        f"on-time rate {_percent(data['on_time_rate'])}, average slip {_days(data['average_slip_days'])}, "
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
                    _percent(d["on_time_rate"]),
                    _days(d["average_slip_days"]),
                ]
                for d in data["by_department"]
            ],
            headers=["部门 Department", "Items", "Done", "Cancelled", "On time", "Rate", "Avg slip"],
        ),
        "",
        tabulate(
            [
                [d["department"], *(_percent(m["on_time_rate"]) for m in d["months"])]
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
    labels = REPORT_LABELS["zh" if lang == "zh" else "en"]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = labels["sheet"]
    sheet.cell(row=1, column=1, value=title).font = Font(name=_FONT, bold=True, size=13)
    _header(sheet, 2, labels["headers"])
    company = {**data, "department": labels["company"]}
    rows = data["by_department"]
    for n, entry in enumerate(rows, start=3):
        _report_row(sheet, n, entry)
    last = 2 + len(rows)
    sheet.freeze_panes = "A3"
    sheet.auto_filter.ref = f"A2:H{max(last, 3)}"
    _report_row(sheet, last + 1, company, bold=True)
    at = last + 3
    sheet.cell(row=at, column=1, value=labels["by_month"]).font = Font(name=_FONT, bold=True)
    months = [month_label(m["month"], lang) for m in data["months"]]
    _header(sheet, at + 1, (labels["headers"][0], *months, labels["quarter"]))
    for n, entry in enumerate([*rows, company], start=at + 2):
        _write(sheet.cell(row=n, column=1), entry["department"], False)
        for c, value in enumerate([*entry["months"], entry], start=2):
            _percent_cell(sheet.cell(row=n, column=c), value["on_time_rate"])
        if entry is company:
            for c in range(1, len(months) + 3):
                sheet.cell(row=n, column=c).font = Font(name=_FONT, bold=True)
    note = sheet.cell(row=at + 3 + len(rows), column=1, value=labels["rule"])
    note.font = Font(name=_FONT, italic=True, color="666666")
    _fit_columns(sheet, skip_rows={1, at, note.row})
    _print_setup(sheet, "2:2")
    if meetings:
        held = book.create_sheet(labels["meetings_sheet"])
        _header(held, 1, labels["meeting_headers"])
        for n, meeting in enumerate(data["per_meeting"], start=2):
            _write(held.cell(row=n, column=1), meeting["record"], False)
            _write(held.cell(row=n, column=2), meeting["name"], False)
            _write(held.cell(row=n, column=3), meeting["date"] or "", True)
            held.cell(row=n, column=4, value=meeting["items"])
        held.freeze_panes = "A2"
        held.auto_filter.ref = f"A1:D{max(1 + len(data['per_meeting']), 2)}"
        _fit_columns(held)
        _print_setup(held, "1:1")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _header(sheet: Any, row: int, names: Iterable[str]) -> None:
    for c, name in enumerate(names, start=1):
        cell = sheet.cell(row=row, column=c, value=name)
        cell.font = Font(name=_FONT, bold=True)
        cell.fill = PatternFill("solid", fgColor="EEEEEE")
        cell.alignment = Alignment(horizontal="left" if c == 1 else "center", vertical="center")


def _report_row(sheet: Any, row: int, entry: dict[str, Any], bold: bool = False) -> None:
    for c, key in enumerate(_REPORT_KEYS, start=1):
        cell = sheet.cell(row=row, column=c)
        value = entry[key]
        if key == "department":
            _write(cell, str(value), False)
        elif key == "on_time_rate":
            _percent_cell(cell, value)
        elif key == "average_slip_days":
            cell.value = value if value is not None else "-"
            cell.number_format = "0.0"
        else:
            cell.value = value
        if bold:
            cell.font = Font(name=_FONT, bold=True)


def _percent_cell(cell: Any, percent: float | None) -> None:
    """A rate as a number Excel shows as a percentage; '-' where nothing was due."""
    if percent is None:
        cell.value = "-"
        cell.alignment = Alignment(horizontal="right")
    else:
        cell.value = percent / 100
        cell.number_format = "0.0%"


def _fit_columns(sheet: Any, skip_rows: Iterable[int] = (), least: int = 8, most: int = 50) -> None:
    """Column widths from the widest cell, CJK characters counted two columns (wcwidth)."""
    skipped = set(skip_rows)
    widths: dict[str, int] = {}
    for row in sheet.iter_rows():
        for cell in row:
            if cell.row in skipped or cell.value is None:
                continue
            text = (
                f"{cell.value:.1%}"
                if cell.number_format == "0.0%" and isinstance(cell.value, float)
                else str(cell.value)
            )
            if isinstance(cell.value, date):
                text = "2024-01-01"
            widths[cell.column_letter] = max(widths.get(cell.column_letter, 0), _width(text))
    for letter, width in widths.items():
        sheet.column_dimensions[letter].width = min(most, max(least, width + 3))


def _print_setup(sheet: Any, title_rows: str) -> None:
    """Landscape, one page wide, the header row on every printed page."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = title_rows


def _percent(value: float | None) -> str:
    return f"{value}%" if value is not None else "-"


def _days(value: float | None) -> str:
    return f"{value} d" if value is not None else "-"


def _width(text: str) -> int:
    width = wcswidth(text)
    return width if width >= 0 else len(text)  # a control character: wcwidth gives up
