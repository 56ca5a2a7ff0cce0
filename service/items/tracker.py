"""The action-item tracker table (行动项跟踪表), in every shape we give it (report.py: the quarter).

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
FONT = "Calibri"  # the workbook default; a font with no name is drawn in a serif by LibreOffice


def as_xlsx(rows: list[dict[str, str]], lang: str, rate: Rate, title: str) -> bytes:
    """A sheet people work in: a title, a frozen header with a filter, date cells, the rate as a
    percentage, landscape and one page wide; no cell text ever becomes a formula."""
    from openpyxl import Workbook  # only where a sheet is made: it costs 0.15 s to import
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "行动项跟踪表" if lang == "zh" else "Action items"
    sheet.cell(row=1, column=1, value=title).font = Font(name=FONT, bold=True, size=13)
    header_row(sheet, 2, HEADERS[lang])
    for n, r in enumerate(rows, start=3):
        for c, column in enumerate(COLUMNS, start=1):
            cell = sheet.cell(row=n, column=c)
            write_cell(cell, r[column], column in _DATE_COLUMNS)
            # long text wraps inside its column instead of being cut at the next one (every cell
            # wraps, so LibreOffice sets them all at the same height in a row)
            centred = "center" if column in _DATE_COLUMNS else None
            cell.alignment = Alignment(horizontal=centred, wrap_text=True, vertical="top")
    last = 2 + len(rows)
    sheet.freeze_panes = "A3"
    sheet.auto_filter.ref = f"A2:I{last}"
    label = sheet.cell(row=last + 2, column=1, value="按时完成率" if lang == "zh" else "On-time rate")
    label.font = Font(name=FONT, bold=True)
    value = sheet.cell(
        row=last + 2, column=2, value=(rate.percent / 100) if rate.percent is not None else "-"
    )
    value.number_format = "0.0%"
    value.alignment = Alignment(horizontal="left")  # beside its label, not at the far side of column B
    sheet.cell(row=last + 2, column=3, value=f"{rate.on_time}/{rate.counted}")
    for column, width in zip("ABCDEFGHI", _WIDTHS, strict=True):
        sheet.column_dimensions[column].width = width
    print_setup(sheet, "2:2")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_cell(cell: Any, text: str, is_date: bool) -> None:
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


def header_row(sheet: Any, row: int, names: Iterable[str]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    for c, name in enumerate(names, start=1):
        cell = sheet.cell(row=row, column=c, value=name)
        cell.font = Font(name=FONT, bold=True)
        cell.fill = PatternFill("solid", fgColor="EEEEEE")
        cell.alignment = Alignment(horizontal="left" if c == 1 else "center", vertical="center")


def percent_cell(cell: Any, percent: float | None) -> None:
    """A rate as a number Excel shows as a percentage; '-' where nothing was due."""
    from openpyxl.styles import Alignment

    if percent is None:
        cell.value = "-"
        cell.alignment = Alignment(horizontal="right")
    else:
        cell.value = percent / 100
        cell.number_format = "0.0%"


def fit_columns(sheet: Any, skip_rows: Iterable[int] = (), least: int = 8, most: int = 50) -> None:
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
            widths[cell.column_letter] = max(widths.get(cell.column_letter, 0), text_width(text))
    for letter, width in widths.items():
        sheet.column_dimensions[letter].width = min(most, max(least, width + 3))


def print_setup(sheet: Any, title_rows: str) -> None:
    """Landscape, one page wide, the header row on every printed page."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = title_rows


def spelled_percent(value: float | None) -> str:
    return f"{value}%" if value is not None else "-"


def spelled_days(value: float | None) -> str:
    return f"{value} d" if value is not None else "-"


def text_width(text: str) -> int:
    width = wcswidth(text)
    return width if width >= 0 else len(text)  # a control character: wcwidth gives up
