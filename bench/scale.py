"""Benchmark: what a pass, a reply and the tables cost as history grows (issue 11).

Builds (or reuses, with --data) data directories of about 100, 10,000 and 250,000 action
items with bench/history.py, then times each command as a whole process, three runs each,
with its peak RSS, against a floor taken in the same loop (`minutesd --version`: start-up
and imports). Writing commands start from the same store each run (db.json and journal put
back). The marginal cost of a reply is (ingest of 1,001 replies − ingest of 1) / 1,000; the
replies answer the newest meeting: owners' progress lines and attendees' confirmations.

Run: `.venv/bin/python -m bench.scale` (about 25 minutes, most of it building 250,000 items;
--sizes 100,10000 for a quick look). Figures go to bench/README.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from bench.history import build, reply_line
from service.core.clock import parse_instant
from service.core.store import Store
from service.demo import DEMO, DOMAIN, SERVICE
from service.minutes import records

REPO = Path(__file__).resolve().parent.parent
END = date(2026, 11, 23)
NOW = "2026-11-23T09:30:00+08:00"
REPLIES = 1000


def open_rules(folder: Path) -> Path:
    """The default rules with the loop limits lifted: a thousand replies from six people would
    otherwise be rate limited after ten an hour, and the benchmark measures the work, not the limiter."""
    text = (REPO / "mailbox_rules.yaml").read_text(encoding="utf-8")
    text = text.replace("max_answers_per_hour: 10", "max_answers_per_hour: 100000")
    text = text.replace("max_answers_per_day: 40", "max_answers_per_day: 100000")
    text = text.replace("repeat_hours: 24 ", "repeat_hours: 0 ")
    path = folder / "rules-open.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def env_for(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINUTESD_")}
    env["MINUTESD_RULES"] = str(open_rules(data.parent))
    env.update(
        MINUTESD_DATA_DIR=str(data),
        MINUTESD_NOW=NOW,
        MINUTESD_ADDRESS=SERVICE,
        MINUTESD_DIRECTORY=str(DEMO / "people.yaml"),
        MINUTESD_LOG_LEVEL="WARNING",
        PYTHONPATH=str(REPO),
    )
    return env


# Linux reports a child's peak RSS as at least its parent's at the fork: exec keeps the old
# address space's high-water mark. This process may hold a store it has just built (500 MiB at
# 250,000 items), so each command is started by a small trampoline whose own child is the command,
# and the trampoline reports that child's peak.
_TRAMPOLINE = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"\\n{usage.ru_maxrss}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Seconds, peak RSS in MiB, and the last line of output of one run of `minutesd ARGS`."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", _TRAMPOLINE, "-m", "service", *args],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=err,
        )
        _, status, _usage = os.wait4(proc.pid, 0)
        took = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        text, problem = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"minutesd {' '.join(args)} failed: {problem[-2000:]}")
    peak_kib = int(problem.rstrip().rsplit("\n", 1)[-1])
    last = (text.strip().splitlines() or [""])[-1]
    if args[0] == "ingest":  # what the replies led to, not their file names
        outcomes = Counter(m["outcome"] for m in json.loads(last)["messages"])
        last = f"outcomes {dict(outcomes)}"
    last = last[:160]
    return took, peak_kib / 1024, last


class Sized:
    def __init__(self, data: Path) -> None:
        self.data = data
        self.env = env_for(data)
        self.pristine = data.parent / f"{data.name}.pristine"
        if not self.pristine.exists():
            self.pristine.mkdir()
            for name in ("db.json", "journal.jsonl"):
                if (data / name).exists():
                    shutil.copy2(data / name, self.pristine / name)
        with Store(data, read_only=True) as store:
            self.live = max(store.keys(records.RECORDS, "state", "confirmed"))
            self.threads = sorted(store.keys(records.THREADS, "record", self.live))
            self.archived = next((k for k, _, _ in store.summaries(records.RECORDS)), self.live)

    def restore(self) -> None:
        for name in ("db.json", "journal.jsonl"):
            (self.data / name).unlink(missing_ok=True)
            if (self.pristine / name).exists():
                shutil.copy2(self.pristine / name, self.data / name)

    def replies(self, count: int, folder: Path) -> list[str]:
        folder.mkdir(parents=True, exist_ok=True)
        names = []
        for i in range(count):
            msg = EmailMessage()
            user, body = reply_line(i)
            msg["From"] = f"{user}@{DOMAIN}"
            msg["To"] = SERVICE
            msg["Subject"] = f"回复: [{self.live}] 您的行动项"
            msg["Date"] = format_datetime(parse_instant(NOW))
            msg["Message-ID"] = make_msgid(domain=DOMAIN)
            msg["In-Reply-To"] = f"<{self.threads[i % len(self.threads)]}>"
            msg.set_content(f"{body}\n\n在 2026-11-20,会议纪要助手 <{SERVICE}> 写道:\n> 您的行动项\n")
            path = folder / f"r{i:04d}.eml"
            path.write_bytes(bytes(msg))
            names.append(str(path))
        return names


WARM_PASS = """
import json, statistics, time
from service.core.clock import Clock
from service.core.config import load_from_env
from service.core.store import Store
from service.daemon import Daemon
settings, rules = load_from_env()
with Store(settings.data_dir) as store:
    daemon = Daemon(settings, rules, store, Clock(settings.now))
    daemon.run_once()  # the first pass after start-up reads what it needs
    times = []
    for _ in range(5):
        started = time.perf_counter()
        daemon.run_once()
        times.append(time.perf_counter() - started)
    daemon.mailbox.close()
print(json.dumps([min(times), statistics.median(times), max(times)]))
"""


def warm_pass(sized: Sized) -> dict[str, object]:
    """A running daemon's pass with an empty inbox: what every wake-up costs once it is up."""
    sized.restore()
    done = subprocess.run(
        [sys.executable, "-c", WARM_PASS], env=sized.env, cwd=REPO, capture_output=True, text=True, check=True
    )
    sized.restore()
    low, mid, high = json.loads(done.stdout.strip().splitlines()[-1])
    label = "daemon pass, empty inbox (warm)"
    print(
        f"  {label:<34} {low:7.3f} {mid:7.3f} {high:7.3f} s  (5 passes after the first, in one process)",
        flush=True,
    )
    return {"what": label, "min": low, "median": mid, "max": high}


def measure(label: str, args: list[str], sized: Sized, runs: int, writes: bool) -> dict[str, object]:
    times, rss, floors, last = [], [], [], ""
    for _ in range(runs):
        if writes:
            sized.restore()
        took, peak, last = timed(args, sized.env)
        times.append(took)
        rss.append(peak)
        floors.append(timed(["--version"], sized.env)[0])
    if writes:
        sized.restore()
    row = {
        "what": label,
        "min": min(times),
        "median": statistics.median(times),
        "max": max(times),
        "floor": statistics.median(floors),
        "rss": max(rss),
        "out": last,
    }
    print(
        f"  {label:<34} {row['min']:7.2f} {row['median']:7.2f} {row['max']:7.2f} s"
        f"  floor {row['floor']:.2f} s  peak {row['rss']:6.0f} MiB   {last[:70]}",
        flush=True,
    )
    return row


def size_of(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def bench_size(items: int, root: Path, runs: int, build_only: bool = False) -> list[dict[str, object]]:
    data = root / f"items-{items}"
    if not (data / "db.json").exists():
        started = time.perf_counter()
        made = build(data, items, end=END)
        subprocess.run(
            [sys.executable, "-m", "service", "run", "--once"], env=env_for(data), cwd=REPO, check=True
        )  # the scheduler catches up once, as a running daemon would have
        print(f"built {made} in {time.perf_counter() - started:.0f} s", flush=True)
    if build_only:
        return []
    sized = Sized(data)
    hot = (data / "db.json").stat().st_size / 2**20
    print(
        f"\n{items} items: db.json {hot:.1f} MiB, archive {size_of(data / 'archive'):.0f} MiB;"
        f" live record {sized.live}, archived {sized.archived}",
        flush=True,
    )
    one, many = (
        sized.replies(1, data.parent / f"replies-{items}-1"),
        sized.replies(REPLIES + 1, data.parent / f"replies-{items}"),
    )
    rows = [
        warm_pass(sized),
        measure("pass, empty inbox (run --once)", ["run", "--once", "--json"], sized, runs, True),
        measure("ingest 1 reply", ["ingest", *one, "--json"], sized, runs, True),
        measure(f"ingest {REPLIES + 1} replies", ["ingest", *many, "--json"], sized, runs, True),
        measure("status --json", ["status", "--json"], sized, runs, False),
        measure("status RECORD (live)", ["status", sized.live, "--json"], sized, runs, False),
        measure("status RECORD (archived)", ["status", sized.archived, "--json"], sized, runs, False),
        measure(
            "tracker --department 技术部", ["tracker", "--department", "技术部", "--json"], sized, runs, False
        ),
        measure("tracker --xlsx", ["tracker", "--xlsx", str(data.parent / "t.xlsx")], sized, runs, False),
        measure("report --quarter 2026Q3", ["report", "--quarter", "2026Q3", "--json"], sized, runs, False),
    ]
    marginal = (float(rows[3]["median"]) - float(rows[2]["median"])) / REPLIES * 1000  # type: ignore[arg-type]
    print(
        f"  marginal cost of one reply: {marginal:.2f} ms (median {REPLIES + 1} − median 1, / {REPLIES})",
        flush=True,
    )
    rows.append({"what": "marginal ms per reply", "median": marginal})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,10000,250000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--build-only", action="store_true", help="make the data directories, measure nothing"
    )
    parser.add_argument("--data", type=Path, default=Path("/var/tmp/minutesd-scale"))
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    print("columns: min median max of the runs; floor = `minutesd --version`, same loop; peak RSS")
    for items in (int(s) for s in args.sizes.split(",")):
        bench_size(items, args.data, args.runs, args.build_only)


if __name__ == "__main__":
    main()
