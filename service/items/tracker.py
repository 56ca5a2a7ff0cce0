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
from openpyxl.styles import Font
from tabulate import tabulate

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
_WIDTHS = (18, 38, 10, 12, 13, 13, 12, 30, 40)  # CJK characters are two columns wide


def as_xlsx(rows: list[dict[str, str]], lang: str, rate: Rate, title: str) -> bytes:
    """A sheet people work in: a title, a frozen header with a filter, date cells, the rate as a
    percentage, landscape and one page wide; no cell text ever becomes a formula."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "行动项跟踪表" if lang == "zh" else "Action items"
    sheet.cell(row=1, column=1, value=title).font = Font(bold=True, size=13)
    for c, header in enumerate(HEADERS[lang], start=1):
        sheet.cell(row=2, column=c, value=header).font = Font(bold=True)
    for n, r in enumerate(rows, start=3):
        for c, column in enumerate(COLUMNS, start=1):
            _write(sheet.cell(row=n, column=c), r[column], column in _DATE_COLUMNS)
    last = 2 + len(rows)
    sheet.freeze_panes = "A3"
    sheet.auto_filter.ref = f"A2:I{last}"
    label = sheet.cell(row=last + 2, column=1, value="按时完成率" if lang == "zh" else "On-time rate")
    label.font = Font(bold=True)
    value = sheet.cell(
        row=last + 2, column=2, value=(rate.percent / 100) if rate.percent is not None else "-"
    )
    value.number_format = "0.0%"
    sheet.cell(row=last + 2, column=3, value=f"{rate.on_time}/{rate.counted}")
    for column, width in zip("ABCDEFGHI", _WIDTHS, strict=True):
        sheet.column_dimensions[column].width = width
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "2:2"
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


def quarter_bounds(text: str) -> tuple[date, date]:
    """'2024Q3' → (2024-07-01, 2024-09-30)."""
    year, _, quarter = text.upper().partition("Q")
    if not (year.isdigit() and quarter in ("1", "2", "3", "4")):
        raise ValueError(f"{text!r} is not a quarter like 2024Q3")
    first_month = 3 * (int(quarter) - 1) + 1
    start = date(int(year), first_month, 1)
    end = date(int(year) + (first_month == 10), (first_month + 3 - 1) % 12 + 1, 1)
    return start, date.fromordinal(end.toordinal() - 1)


def report(
    all_items: list[Doc], meetings: list[Doc], directory: Directory, quarter: str, today: date
) -> dict[str, Any]:
    start, end = quarter_bounds(quarter)
    planned_in = [i for i in all_items if (p := state.planned_date(i)) is not None and start <= p <= end]
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
                "on_time": rate.on_time,
                "counted": rate.counted,
                "on_time_rate": rate.percent,
                "average_slip_days": _average_slip(owned, today),
            }
        )
    held = [m for m in meetings if m.get("date") and start <= date.fromisoformat(m["date"]) <= end]
    counts = [m["items"] for m in held]
    overall = on_time_rate(planned_in, today)
    return {
        "quarter": quarter.upper(),
        "from": start.isoformat(),
        "to": end.isoformat(),
        "items": len(planned_in),
        "on_time_rate": overall.percent,
        "average_slip_days": _average_slip(planned_in, today),
        "delays": sum(len(i.get("delays", [])) for i in planned_in),
        "by_department": by_department,
        "meetings": len(held),
        "items_per_meeting": round(sum(counts) / len(counts), 2) if counts else None,
        "per_meeting": [{"record": m["record"], "name": m["name"], "items": m["items"]} for m in held],
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
        f"Meetings: {data['meetings']}, items per meeting: {data['items_per_meeting'] if data['items_per_meeting'] is not None else '-'}",
    ]
    if data["per_meeting"]:
        lines += [
            "",
            tabulate(
                [[m["record"], m["name"], m["items"]] for m in data["per_meeting"]],
                headers=["Record", "Meeting", "Items"],
            ),
        ]
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return f"{value}%" if value is not None else "-"


def _days(value: float | None) -> str:
    return f"{value} d" if value is not None else "-"
