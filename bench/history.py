"""Build a data directory with years of meetings, for bench/scale.py.

One meeting is played through the real pipeline first (`minutesd demo`: draft, objection,
revision, confirmations, reminders, done with evidence, verification, a delay, the weekly
table). Its documents (record, items, threads, reply keys, outbox, inbound messages and
their ledger) are the template: every later meeting is that meeting again, a week or more
later, under its own record number, Message-IDs, reply keys and dates, written through the
store's own transactions. Meetings older than the hot window have all items done (2 % keep
one delayed item open for good, as real trackers do); the service's own archiving pass runs
at the end of every simulated month, exactly as the daemon runs it daily.

What is not cloned: body files of outgoing mail and raw inbound messages (clones name the
template's files; the sizes printed count them once), and the evidence file (content
addressed, so shared anyway).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from service import archiving, demo
from service.core.config import load_rules
from service.core.store import Store
from service.items import state

RECORD = "2024-OPS-001"
TEMPLATE_DAY = date(2024, 5, 20)
CLONED = ("records", "items", "threads", "reply_keys", "outbox", "outbox_ids", "messages", "ledger")
_STAMP = r'"(?:sent_at|sending_since|next_attempt_at)":\d+(?:\.\d+)?'


OWNERS = {1: "he.lei", 2: "huang.min"}  # the demo meeting's owners of items 1 and 2
ATTENDEES = ["lin.tao", "xu.jing", "wu.hao", "zheng.fang"]


def reply_line(i: int) -> tuple[str, str]:
    """Who writes reply number i to a live meeting, and what: two progress lines to a confirmation."""
    if i % 3 == 2:
        return ATTENDEES[i % len(ATTENDEES)], "确认,没问题"
    number = 1 + i % 2
    return OWNERS[number], f"#{number} 进度 {10 + i % 80}% 第{i}次更新"


@dataclass
class Template:
    segments: list[str]  # text, token, text, token, ... of [[table, key, doc], ...] as JSON
    real_base: float  # the earliest epoch stamp the demo wrote (it sends on the real clock)

    @classmethod
    def play(cls, work: Path) -> Template:
        rules = load_rules()
        demo.play(rules, work / "demo")
        with Store(work / "demo", read_only=True) as store:
            rows = [[t, d["key"], d] for t in CLONED for d in store.all(t)]
        # Mail about no record (the weekly tables) is per week and person, not per meeting.
        weekly = {d["message_id"] for t, k, d in rows if t == "outbox" and not k.startswith(RECORD)}
        rows = [
            r for r in rows if not (r[0] == "outbox" and r[2]["message_id"] in weekly) and r[1] not in weekly
        ]
        text = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
        ids = {r[1] for r in rows if r[0] in ("messages", "threads", "outbox_ids")}
        ids |= {ref for r in rows if r[0] == "messages" for ref in r[2].get("refs", [])}
        ids |= {r[1] for r in rows if r[0] == "reply_keys"}
        names = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
        pattern = re.compile(f"({re.escape(RECORD)}|{names}|{_STAMP}|\\d{{4}}-\\d{{2}}-\\d{{2}})")
        stamps = [float(m.split(":")[1]) for m in re.findall(_STAMP, text)]
        real = [s for s in stamps if s > 1e9]  # next_attempt_at is 0.0 once sent
        return cls(pattern.split(text), min(real) if real else 0.0)

    def meeting(self, n: int, day: date) -> list[list]:
        """The template's documents as meeting number n, held on `day`."""
        shift = (day - TEMPLATE_DAY).days
        base = datetime(day.year, day.month, day.day, 8, tzinfo=UTC).timestamp()
        number = f"{day.year}-OPS-{n:06d}"
        out: list[str] = []
        cache: dict[str, str] = {}
        for i, piece in enumerate(self.segments):
            if i % 2 == 0:
                out.append(piece)
                continue
            value = cache.get(piece)
            if value is None:
                value = cache[piece] = self._replace(piece, n, number, shift, base)
            out.append(value)
        return json.loads("".join(out))

    def _replace(self, token: str, n: int, number: str, shift: int, base: float) -> str:
        if token == RECORD:
            return number
        if token.startswith('"'):
            name, _, stamp = token.partition(":")
            return f"{name}:{float(stamp) - self.real_base + base:.3f}" if float(stamp) > 1e9 else token
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", token):
            return (date.fromisoformat(token) + timedelta(days=shift)).isoformat()
        local, at, domain = token.partition("@")
        return f"{local}.c{n}{at}{domain}" if at else f"{token}c{n:x}"


def _close(docs: list[list], n: int, stale_every: int) -> None:
    """An old meeting: every item done a day after its due date, but for the stale few."""
    for table, _, doc in docs:
        if table != "items" or doc["status"] in state.CLOSED:
            continue
        if n % stale_every == 0 and doc["no"] == 1:
            continue  # delayed for good: the record stays in the hot store
        finished = (date.fromisoformat(doc["due"]) + timedelta(days=1)).isoformat() + "T10:00:00+08:00"
        doc["status"] = state.Status.DONE
        doc.setdefault("history", []).append(
            {
                "at": finished,
                "event": "done",
                "from": doc["status"],
                "to": "done",
                "by": doc["owner"]["email"],
            }
        )


def weeks(end: date, count: int) -> Iterator[date]:
    start = end - timedelta(weeks=count)
    for w in range(count):
        yield start + timedelta(weeks=w)


def build(
    data_dir: Path, items: int, *, per_week: int = 300, hot_weeks: int = 5, stale_every: int = 50, end: date
) -> dict[str, int]:
    """A data directory holding about `items` items, its last meeting in the week before `end`."""
    rules = load_rules()
    with tempfile.TemporaryDirectory(prefix="minutesd-template-") as work:
        template = Template.play(Path(work))
        per_meeting = sum(1 for t, _, _ in template.meeting(0, TEMPLATE_DAY) if t == "items")
        meetings = max(1, items // per_meeting)
        n_weeks = max(1, -(-meetings // per_week))
        made = 0
        with Store(data_dir) as store:
            store.checkpoint_every = 200_000
            month = None
            for week in weeks(end, n_weeks):
                old = week < end - timedelta(weeks=hot_weeks)
                with store.transaction(durable=False) as txn:
                    for _ in range(min(per_week, meetings - made)):
                        made += 1
                        docs = template.meeting(made, week + timedelta(days=made % 5))
                        if old:
                            _close(docs, made, stale_every)
                        for table, key, doc in docs:
                            txn.put(table, key, doc)
                store.sync()
                if month is not None and week.month != month:
                    archiving.archive_finished(
                        store, rules, datetime(week.year, week.month, 1, 1, tzinfo=UTC)
                    )
                month = week.month
            archiving.daily(store, rules, datetime(end.year, end.month, end.day, 1, tzinfo=UTC))
            store.checkpoint()
            return {"meetings": made, "items": made * per_meeting, "hot_items": store.count(state.ITEMS)}
