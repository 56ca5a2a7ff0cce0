"""The quarterly review as people receive it: the figures (report.report) read from the store, a
chart of the on-time rate per department and month, and the mail to each department head.

The mail for a quarter goes out once, on the first working day after the quarter ends at the
weekly table's time (`actions.weekly.time`), to the head of every department that had items
planned in it: their department's figures and the whole company's, the chart inline, the
workbook attached. Its outbox key is `report:<quarter>:<address>`, and a `quarterly_reports`
entry marks the quarter done, so later wake-ups read nothing. A daemon that was down sends the
last quarter's mail when it comes back, never an older one.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from parsers.people import Directory
from service.core.calendar import work_calendar
from service.core.config import Rules
from service.core.store import Doc, Store
from service.items import report, roles, state, tracker
from service.items.moments import at
from service.mail.outbox import TABLE as OUTBOX
from service.mail.outbox import Outbox, OutgoingMail
from service.mail.render import VERBATIM, base_language, localise, mail_language
from service.minutes import records

log = logging.getLogger(__name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
QUARTERS = "quarterly_reports"  # a quarter whose mails are queued

# The fonts that draw Chinese, in order of preference: Debian's fonts-noto-cjk first.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
)


# -- the figures -----------------------------------------------------------------


def _meeting(record: Doc) -> Doc:
    return {
        "record": record["record"],
        "name": record["name"],
        "date": record["minutes"].get("meeting", {}).get("date"),
        "items": len(record["minutes"].get("items", [])),
        "language": record.get("language"),
    }


def gather(store: Store, quarter: str) -> tuple[list[Doc], list[Doc]]:
    """Live records and items, and the archived records whose meeting or planned dates touch the
    quarter (chosen from their summaries, so the archive is opened only where it matters)."""
    first, last = report.quarter_bounds(quarter)
    start, end = first.isoformat(), last.isoformat()
    meetings = [_meeting(r) for r in store.each(records.RECORDS)]
    items = state.all_items(store)
    wanted: dict[str, str] = {}  # archived record → its period
    for number, period, summary in store.summaries(records.RECORDS):
        planned = summary.get("planned") or []
        met = start <= (summary.get("date") or "") <= end
        if met or (planned and planned[0] <= end and planned[-1] >= start):
            wanted[number] = period
            meetings.append({k: summary.get(k) for k in ("record", "name", "date", "items")})
    periods = sorted(set(wanted.values()))  # those months' items read whole, not an item at a time
    items += [i for i in store.archived(state.ITEMS, periods) if i["record"] in wanted]
    return meetings, items


# -- the chart -------------------------------------------------------------------


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """A font family that draws Chinese, or None (then the chart is labelled in English)."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _has_cjk(text: str) -> bool:
    return any(ord(ch) > 0x2E7F for ch in text)


def chart_png(
    data: dict[str, Any],
    lang: str,
    highlight: Iterable[str] = (),
    codes: dict[str, str] | None = None,
    font: str | None = "",
) -> bytes:
    """Bars of the on-time rate per department for each month of the quarter, the whole company
    as a line; the departments in `highlight` drawn strong, the others pale. Without a CJK font
    (`font` None, or none installed) the words are English and a Chinese department name gives
    way to its code from `codes`. PNG bytes, 1200 × 600 pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    family = cjk_font() if font == "" else font
    zh = lang == "zh" and family is not None
    words = _CHART_WORDS["zh" if zh else "en"]

    def label(name: str) -> str:
        if family is None and _has_cjk(name):
            return (codes or {}).get(name) or name
        return name

    months = [m["month"] for m in data["months"]]
    departments = data["by_department"]
    strong = set(highlight)
    figure = Figure(figsize=(8, 4), dpi=150)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if family:
        figure.set_layout_engine("constrained")
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    width = 0.8 / max(1, len(departments))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a glyph the fallback font lacks is not worth a log line
        if family:
            from matplotlib import rc_context

            context = rc_context({"font.family": "sans-serif", "font.sans-serif": [family, "DejaVu Sans"]})
        else:
            from contextlib import nullcontext

            context = nullcontext()  # type: ignore[assignment]
        with context:
            for k, entry in enumerate(departments):
                colour = palette[k % len(palette)]
                xs = [m + (k - (len(departments) - 1) / 2) * width for m in range(len(months))]
                values = [month["on_time_rate"] for month in entry["months"]]
                pale = bool(strong) and entry["department"] not in strong
                bars = axes.bar(
                    [x for x, v in zip(xs, values, strict=True) if v is not None],
                    [v for v in values if v is not None],
                    width=width * 0.92,
                    color=colour,
                    alpha=0.3 if pale else 1.0,
                    label=label(entry["department"]),
                    edgecolor="#333333" if entry["department"] in strong else "none",
                    linewidth=1.2,
                )
                axes.bar_label(  # in the bar's colour, so a 0% (no bar at all) still says whose it is
                    bars, fmt="%.0f%%", fontsize=8, padding=1, color=colour, alpha=0.45 if pale else 1.0
                )
            company = [month["on_time_rate"] for month in data["months"]]
            shown = [(m, v) for m, v in enumerate(company) if v is not None]
            if shown:
                axes.plot(
                    [m for m, _ in shown],
                    [v for _, v in shown],
                    color="#222222",
                    linestyle="--",
                    marker="o",
                    linewidth=1.5,
                    label=words["company"],
                )
            for m, month in enumerate(data["months"]):
                if month["counted"] == 0:
                    axes.text(m, 50, words["nothing"], ha="center", va="center", color="#888888", fontsize=9)
            axes.set_xticks(
                range(len(months)),
                [
                    f"{_month_tick(m['month'], zh)}\n{words['due'].format(n=m['counted'])}"
                    for m in data["months"]
                ],
            )
            axes.set_xlim(-0.6, len(months) - 0.4)
            axes.set_ylim(0, 112)
            axes.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
            axes.set_ylabel(words["rate"])
            axes.set_title(f"{data['quarter']} {words['title']}", fontsize=11)
            axes.grid(axis="y", color="#dddddd", linewidth=0.6)
            axes.set_axisbelow(True)
            for side in ("top", "right"):
                axes.spines[side].set_visible(False)
            axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=10, frameon=False)
            if not family:
                figure.tight_layout()
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", facecolor="white")
    return buffer.getvalue()


_CHART_WORDS = {
    "zh": {
        "company": "全公司",
        "rate": "按时完成率",
        "title": "各部门各月按时完成率",
        "nothing": "无到期项",
        "due": "计入 {n} 项",
    },
    "en": {
        "company": "Whole company",
        "rate": "On-time rate",
        "title": "on-time rate by department and month",
        "nothing": "nothing due",
        "due": "{n} counted",
    },
}


def _month_tick(month: str, zh: bool) -> str:
    return report.month_label(month, "zh" if zh else "en")


# -- the mail to each head -------------------------------------------------------


def due_quarter(rules: Rules, now: datetime) -> tuple[str, datetime]:
    """The quarter that ended last before `now` and the moment its mail is due: the first working
    day after its last day, at the weekly table's time."""
    today = now.astimezone(rules.tz).date()
    this_start, _ = report.quarter_bounds(report.quarter_of(today))
    last_quarter = report.quarter_of(this_start - timedelta(days=1))
    _, last_day = report.quarter_bounds(last_quarter)
    day = work_calendar(rules.calendar).working_day_after(last_day, 1)
    return last_quarter, at(day, rules.actions.weekly.time, rules)


def heads(
    data: dict[str, Any], directory: Directory, muted: frozenset[str] = frozenset()
) -> Iterator[tuple[Doc, list[str]]]:
    """Each department head with items in the quarter, and their departments (one may head two)."""
    people: dict[str, Doc] = {}
    theirs: dict[str, list[str]] = {}
    for entry in data["by_department"]:
        head = roles.head_of(directory, entry["department"]) if entry["department"] != "-" else None
        if head is None or str(head["email"]).lower() in muted:
            continue  # no head in the directory, or a head who wrote 退订
        address = str(head["email"]).lower()
        people.setdefault(address, head)
        theirs.setdefault(address, []).append(entry["department"])
    for address in sorted(people):
        yield people[address], theirs[address]


def figures(entry: dict[str, Any], lang: str) -> dict[str, Any]:
    """One row of the mail's table: a department or the whole company, spelled for reading."""
    return {
        "department": entry["department"],
        "items": entry["items"],
        "done": entry["done"],
        "rate": tracker.Rate(entry["on_time"], entry["counted"]).spelled(),
        "slip": "-" if entry["average_slip_days"] is None else f"{entry['average_slip_days']}",
        "months": ["-" if m["on_time_rate"] is None else f"{m['on_time_rate']}%" for m in entry["months"]],
    }


def report_mail(
    person: Doc,
    departments: list[str],
    data: dict[str, Any],
    lang: str,
    workbook: bytes,
    chart: bytes,
) -> OutgoingMail:
    quarter = data["quarter"]
    spelled, lang = base_language(lang), lang  # zh-TW: the zh mail, converted when it is rendered
    company = report.REPORT_LABELS[spelled]["company"]
    mine = [figures(d, spelled) for d in data["by_department"] if d["department"] in departments]
    cid = f"chart-{quarter.lower()}@minutesd"
    return OutgoingMail(
        key=f"report:{quarter}:{str(person['email']).lower()}",
        to=[person["email"]],
        subject=localise(
            f"行动项季度报告 {quarter}" if spelled == "zh" else f"Action items: quarterly review {quarter}",
            lang,
        ),
        template="report",
        lang=lang,
        context={
            "greeting_name": person["name"],
            VERBATIM: [str(person["name"])],  # a name stays as the directory writes it, in any script
            "quarter": quarter,
            "from": data["from"],
            "to": data["to"],
            "departments": departments,
            "mine": mine,
            "company": figures({**data, "department": company}, spelled),
            "months": [report.month_label(m["month"], spelled) for m in data["months"]],
            "meetings": data["meetings"],
            "items_per_meeting": data["items_per_meeting"] if data["items_per_meeting"] is not None else "-",
            "from_earlier_meetings": data["from_earlier_meetings"],
            "chart_cid": cid,
            "xlsx_name": f"quarterly-review-{quarter}.xlsx",
        },
        attachments=[(f"quarterly-review-{quarter}.xlsx", XLSX, workbook)],
        inline=[(cid, "image/png", chart)],
    )


def _language(
    person: Doc,
    departments: list[str],
    items: list[Doc],
    meetings: list[Doc],
    directory: Directory,
    rules: Rules,
) -> str:
    """The head's own from the directory; else that of the meetings behind the head's items when
    they share one; else the rules'."""
    of_record = {m["record"]: m.get("language") for m in meetings}
    found = {
        of_record.get(i["record"]) for i in items if roles.department_of(i, directory) in departments
    } - {None}
    meetings_language = str(found.pop()) if len(found) == 1 else rules.service.default_language
    return mail_language(directory.language_of(str(person["email"])), meetings_language)


def next_due(store: Store, rules: Rules, now: datetime) -> datetime | None:
    """When the next review mail falls due, so a sleeping daemon wakes for it."""
    quarter, moment = due_quarter(rules, now)
    if now < moment and store.get(QUARTERS, quarter) is None:
        return moment
    _, end = report.quarter_bounds(report.quarter_of(now.astimezone(rules.tz).date()))
    day = work_calendar(rules.calendar).working_day_after(end, 1)
    return at(day, rules.actions.weekly.time, rules)


def tick(store: Store, outbox: Outbox, rules: Rules, now: datetime, directory: Directory) -> int:
    """Queue the last quarter's mails if they are due and not yet queued; the number queued."""
    quarter, moment = due_quarter(rules, now)
    if now < moment or store.get(QUARTERS, quarter) is not None:
        return 0
    meetings, every = gather(store, quarter)
    today = now.astimezone(rules.tz).date()
    data = report.report(every, meetings, directory, quarter, today)
    in_quarter = [
        i for i in every if (p := state.planned_date(i)) is not None and report.quarter_of(p) == quarter
    ]
    muted = frozenset(d["key"] for d in store.all("muted"))
    codes = {name: entry.code for name in directory.departments if (entry := directory.department(name))}
    mails = []
    workbooks: dict[str, bytes] = {}
    for person, departments in heads(data, directory, muted):
        if store.get(OUTBOX, f"report:{quarter}:{str(person['email']).lower()}") is not None:
            continue
        lang = _language(person, departments, in_quarter, meetings, directory, rules)
        spelled = base_language(lang)
        if spelled not in workbooks:
            title = f"行动项季度报告 {quarter}" if spelled == "zh" else f"Quarterly review {quarter}"
            workbooks[spelled] = report.report_xlsx(data, spelled, title, meetings=False)
        chart = chart_png(data, spelled, highlight=departments, codes=codes)
        mails.append(report_mail(person, departments, data, lang, workbooks[spelled], chart))
    queued = 0
    with store.transaction() as txn:
        queued += sum(outbox.enqueue(txn, mail, now) for mail in mails)
        txn.put(QUARTERS, quarter, {"queued": queued, "at": now.isoformat()})
    if mails:
        log.info("quarterly review of %s: %d mail(s)", quarter, queued)
    return queued
