"""Benchmark: a backlog of replies that match a live meeting, against a bare mail robot.

On a private Dovecot + Postfix (the test suite's, serving the demo's domain), the demo's
meeting is played to the end of its confirmation (`minutesd demo`), and N replies to it are
put in the service mailbox: owners' progress lines (#1, #2) and attendees' confirmations,
two to one. Each is answered with a receipt.

The floor does what any mail robot must do with the same mailbox: FETCH in batches of 200,
parse with mail-parser, and send one answer each over one SMTP connection. Then
`minutesd run --once` over the same mailbox (restored, and the data directory copied afresh,
before every run), three ways: SMTP unreachable, so receipts stay queued (intake alone);
receipts sent through Postfix, copy-to-self off; copy-to-self on (the default), where a
copy of every receipt comes back and is taken in during the same pass; and copy-to-self on with
a copies folder (`mailbox.copies_folder`), where the server files the copies out of the inbox. Every figure is
min / median / max of --runs runs, each floor run paired with the service runs after it. Each
timed run starts with Postfix's queue empty (what it still delivered after the run before is
waited out, and printed, not timed). Copies that come back after a pass has ended are left in
the inbox; when there are any, a second `run --once` takes them in, and the way is also shown
with both passes added up (the second one's start-up included).

Each run also prints CPU seconds: the timed process's own (user + system) and the whole machine's
(/proc/stat, both cores, during the run). What the machine spent beyond the process is mostly the
mail server's (Postfix and Dovecot deliver every answer, and every copy once more); on two cores a
run cannot take less wall time than half of the machine's CPU.

Run: `make bench` (or `.venv/bin/python -m bench.ingest --count 2000`).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import astuple, dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import mailparser

from bench.history import reply_line
from service.core.clock import parse_instant
from service.core.config import load_rules
from service.core.store import Store
from service.demo import DOMAIN, PEOPLE, play
from service.minutes import records
from tests.mailstack import MailStack

REPO = Path(__file__).resolve().parent.parent
NOW = "2024-05-22T10:00:00+08:00"  # the day after the demo's assignments
RECORD = "2024-OPS-001"
SECOND_PASS = ", and a second pass"
COPIES = "Copies"  # the copies folder of the fourth way; the suite's Dovecot files by address extension


def make_reply(stack: MailStack, i: int, thread: str) -> bytes:
    msg = EmailMessage()
    user, body = reply_line(i)
    msg["From"] = stack.address(user)
    msg["To"] = stack.address("minutes")
    msg["Subject"] = f"回复: [{RECORD}] 您的行动项"
    msg["Date"] = format_datetime(parse_instant(NOW))
    msg["Message-ID"] = make_msgid(domain=DOMAIN)
    msg["In-Reply-To"] = f"<{thread}>"
    msg.set_content(f"{body}\n\n在 2024-05-21,会议纪要助手 <minutes@{DOMAIN}> 写道:\n> 您的行动项\n")
    return msg.as_bytes()


def fill(stack: MailStack, raws: list[bytes], delete: bool = False) -> None:
    """Every mailbox empty, then the replies in the service's inbox. The old mail is moved aside
    (`MailStack.set_aside`), not deleted, unless `delete`: deleting thousands of mails slows
    every file the server creates in the next minutes on this machine's journal-less ext4."""
    if delete:
        for user in PEOPLE:
            stack.empty(user)
        stack.empty("minutes", ("INBOX", "Processed", "Needs-Attention", COPIES))
    else:
        for user in ("minutes", *PEOPLE):
            stack.set_aside(user)
    with stack.imap("minutes") as c:
        for raw in raws:
            c.append("INBOX", raw)


@dataclass
class Timed:
    wall: float  # seconds
    own_cpu: float  # the timed process's user + system seconds
    machine_cpu: float  # every core's busy seconds during the run (the server's work is in it)


def machine_busy() -> float:
    """Busy CPU seconds of the whole machine since boot, every core (Linux /proc/stat)."""
    user, nice, system, _idle, _iowait, irq, softirq = (
        int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]
    )
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def inbox_count(stack: MailStack) -> int:
    with stack.imap("minutes") as c:
        c.select_folder("INBOX", readonly=True)
        return len(c.search(["UNDELETED"]))


def floor_loop(stack: MailStack, batch: int = 200) -> Timed:
    busy, cpu, start = machine_busy(), time.process_time(), time.perf_counter()
    with stack.imap("minutes") as c, smtplib.SMTP("127.0.0.1", stack.smtp_port) as smtp:
        c.select_folder("INBOX")
        uids = sorted(c.search(["UNDELETED"]))
        for i in range(0, len(uids), batch):
            data = c.fetch(uids[i : i + batch], [b"BODY.PEEK[]"])
            for uid in uids[i : i + batch]:
                parsed = mailparser.parse_from_bytes(data[uid][b"BODY[]"])
                answer = EmailMessage()
                answer["From"] = stack.address("minutes")
                answer["To"] = parsed.from_[0][1]
                answer["Subject"] = f"Re: {parsed.subject}"
                answer["Message-ID"] = make_msgid(domain=DOMAIN)
                answer.set_content("received")
                smtp.send_message(answer)
    return Timed(time.perf_counter() - start, time.process_time() - cpu, machine_busy() - busy)


def rules_file(folder: Path, copy_to_self: bool, copies_folder: str = "") -> Path:
    text = (REPO / "mailbox_rules.yaml").read_text(encoding="utf-8")
    # N replies from six people would trip the loop limits (loops: in the rules): lift them, the
    # benchmark measures throughput, not the limiter.
    text = text.replace("max_answers_per_hour: 10", "max_answers_per_hour: 100000")
    text = text.replace("max_answers_per_day: 40", "max_answers_per_day: 100000")
    text = text.replace("repeat_hours: 24 ", "repeat_hours: 0 ")
    text = text.replace("copy_to_self: true", f"copy_to_self: {str(copy_to_self).lower()}")
    text = text.replace('copies_folder: ""', f'copies_folder: "{copies_folder}"')
    path = folder / f"rules-{copy_to_self}-{copies_folder}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def service_once(stack: MailStack, data: Path, rules: Path, smtp_reachable: bool) -> tuple[Timed, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINUTESD_")}
    env.update(stack.env(), MINUTESD_DATA_DIR=str(data), MINUTESD_RULES=str(rules), MINUTESD_NOW=NOW)
    env.update(MINUTESD_LOG_LEVEL="WARNING", PYTHONPATH=str(REPO))
    if not smtp_reachable:
        env["MINUTESD_SMTP_PORT"] = "9"  # nothing listens: receipts stay queued, intake alone is timed
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy, start = machine_busy(), time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "service", "run", "--once", "--json"],
        cwd=REPO, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    wall, machine = time.perf_counter() - start, machine_busy() - busy
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Timed(wall, own, machine), done.stdout.strip()


def spread(xs: list[float]) -> str:
    return f"{min(xs):6.2f} {statistics.median(xs):6.2f} {max(xs):6.2f} s"


def cpu(runs: list[Timed]) -> str:
    own = statistics.median(t.own_cpu for t in runs)
    machine = statistics.median(t.machine_cpu for t in runs)
    return f"CPU: own {own:5.2f} s, machine {machine:5.2f} s (medians)"


def line(run: int, label: str, timed: Timed, tail: float) -> str:
    return (
        f"run {run}: {label}: {timed.wall:.2f} s (CPU own {timed.own_cpu:.2f} s, machine "
        f"{timed.machine_cpu:.2f} s), then {tail:.1f} s until delivered"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--delete-between-runs", action="store_true",
        help="empty the mailboxes by deleting their mail (as before 2026-12-08) instead of moving it aside",
    )  # fmt: skip
    args = parser.parse_args()
    stack = MailStack(users=["minutes", *PEOPLE], domain=DOMAIN).start()
    work = Path(tempfile.mkdtemp(prefix="minutesd-bench-"))
    try:
        played = work / "played"
        play(load_rules(), played)
        shutil.rmtree(played / "maildir")
        with Store(played, read_only=True) as store:
            threads = sorted(store.keys(records.THREADS, "record", RECORD))
        raws = [make_reply(stack, i, threads[i % len(threads)]) for i in range(args.count)]
        ways = [
            ("intake alone (SMTP unreachable)", False, False, ""),
            ("receipts sent, copy-to-self off", False, True, ""),
            ("receipts sent, copy-to-self on (default)", True, True, ""),
            ("copy-to-self on, copies filed by the server", True, True, COPIES),
        ]
        floors: list[Timed] = []
        times: dict[str, list[Timed]] = defaultdict(list)
        for run in range(args.runs):
            fill(stack, raws, args.delete_between_runs)
            floors.append(floor_loop(stack))
            tail = stack.wait_until_delivered()
            print(line(run + 1, "floor", floors[-1], tail), flush=True)
            for label, copy_to_self, reachable, copies in ways:
                fill(stack, raws, args.delete_between_runs)
                data = work / f"data-{run}-{copy_to_self}-{reachable}-{copies}"
                shutil.copytree(played, data)
                rules = rules_file(work, copy_to_self, copies)
                took, summary = service_once(stack, data, rules, reachable)
                # Postfix goes on delivering after a run ends; the next one timed must not pay for it.
                tail = stack.wait_until_delivered()
                times[label].append(took)
                print(f"{line(run + 1, label, took, tail)}  {summary[:150]}", flush=True)
                left = inbox_count(stack)
                if left:  # copies that came back after the pass: a second pass takes them in
                    second, summary = service_once(stack, data, rules, reachable)
                    stack.wait_until_delivered()
                    both = Timed(*(a + b for a, b in zip(astuple(took), astuple(second), strict=True)))
                    times[label + SECOND_PASS].append(both)
                    print(f"  {left} left in the inbox; a second pass: {second.wall:.2f} s  {summary[:100]}")
        floor = statistics.median(t.wall for t in floors)
        print(f"\n{args.count} matching replies; min / median / max of {args.runs} runs")
        walls = [t.wall for t in floors]
        print(f"  floor: FETCH + mail-parser + one SMTP answer each   {spread(walls)}  1.00x  {cpu(floors)}")
        for label, runs in times.items():
            walls = [t.wall for t in runs]
            ratio = statistics.median(walls) / floor
            print(f"  minutesd run --once, {label:<44} {spread(walls)}  {ratio:.2f}x  {cpu(runs)}")
            if label.endswith(SECOND_PASS):
                print(f"    (copies were left for a second pass in {len(runs)} of {len(floors)} runs)")
    finally:
        stack.stop()
        stack.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
