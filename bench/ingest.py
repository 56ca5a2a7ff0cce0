"""Benchmark: the service's pass over a backlog against a bare IMAP fetch + parse loop.

Puts N replies into the service mailbox on a private Dovecot + Postfix (the test
stack), times a bare loop of imapclient FETCH + mail-parser over them, then
restores the same mailbox and times `minutesd run --once` over it. Prints both
and the ratio. Run: `make bench` (or `python -m bench.ingest --count 2000`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import mailparser

from tests.mailstack import MailStack

REPO = Path(__file__).resolve().parent.parent
SENDERS = [f"s{i:02d}" for i in range(1, 21)]
BODIES = [
    "确认,无异议。\n\n陈静\n技术部 总监\n\n发件人: minutes@example.test\n主题: [2024-OPS-001] 会议纪要\n\n> 各位好,请确认",
    '不同意第1项的截止时间,请改为2024-05-29。\n\n在 2024-05-20 16:02:11,"minutes" 写道:\n>各位好',
    "Looks good to me, confirmed.\n\nOn Tue, Jun 18, 2024 at 10:01 AM minutes wrote:\n> Please reply",
]


def make_reply(stack: MailStack, i: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = stack.address(SENDERS[i % len(SENDERS)])
    msg["To"] = stack.address("minutes")
    msg["Subject"] = f"回复: [2024-OPS-{i % 50:03d}] 会议纪要(待确认):Q3产品规划会"
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="bench.example.test")
    msg["In-Reply-To"] = "<minutes.2024-OPS-001.v1@minutes.example.test>"
    msg.set_content(BODIES[i % len(BODIES)] + f"\n\n#{i}")
    return msg.as_bytes()


def fill(stack: MailStack, raws: list[bytes]) -> None:
    stack.empty("minutes")
    with stack.imap("minutes") as c:
        for raw in raws:
            c.append("INBOX", raw)


def bare_loop(stack: MailStack, batch: int) -> tuple[float, int]:
    start = time.perf_counter()
    parsed = 0
    with stack.imap("minutes") as c:
        c.select_folder("INBOX")
        uids = sorted(c.search(["UNDELETED"]))
        for i in range(0, len(uids), batch):
            data = c.fetch(uids[i : i + batch], [b"BODY.PEEK[]"])
            for uid in uids[i : i + batch]:
                mailparser.parse_from_bytes(data[uid][b"BODY[]"])
                parsed += 1
    return time.perf_counter() - start, parsed


def service_once(
    stack: MailStack, data_dir: Path, copy_to_self: bool, smtp_reachable: bool = True
) -> tuple[float, str]:
    rules = data_dir.parent / "rules.yaml"
    text = (REPO / "mailbox_rules.yaml").read_text(encoding="utf-8")
    # 2,000 replies from 20 senders would trip the loop limits (loops: in the rules): lift them, the
    # benchmark measures throughput, not the limiter.
    text = text.replace("max_answers_per_hour: 10", "max_answers_per_hour: 100000")
    text = text.replace("max_answers_per_day: 40", "max_answers_per_day: 100000")
    text = text.replace("repeat_hours: 24 ", "repeat_hours: 0 ")
    rules.write_text(
        text.replace("copy_to_self: true", f"copy_to_self: {str(copy_to_self).lower()}"), encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINUTESD_")}
    env.update(
        stack.env(), MINUTESD_DATA_DIR=str(data_dir), MINUTESD_RULES=str(rules), MINUTESD_LOG_LEVEL="WARNING"
    )
    env["PYTHONPATH"] = str(REPO)
    if not smtp_reachable:
        env["MINUTESD_SMTP_PORT"] = "9"  # nothing listens: receipts stay queued, intake alone is timed
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "service", "run", "--once"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - start, result.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    stack = MailStack(users=["minutes", *SENDERS]).start()
    try:
        raws = [make_reply(stack, i) for i in range(args.count)]
        fill(stack, raws)
        bare, parsed = bare_loop(stack, 200)
        print(f"bare loop (imapclient FETCH + mail-parser), {parsed} messages: {bare:.2f} s")
        runs = [
            ("intake only: SMTP unreachable, receipts stay queued", False, False),
            ("receipts sent through Postfix, copy-to-self off", False, True),
            ("receipts sent through Postfix, copy-to-self on (the default)", True, True),
        ]
        for label, copy_to_self, reachable in runs:
            fill(stack, raws)
            with tempfile.TemporaryDirectory(prefix="minutesd-bench-") as tmp:
                took, summary = service_once(stack, Path(tmp) / "data", copy_to_self, reachable)
            print(f"minutesd run --once, {label}: {took:.2f} s  ratio {took / bare:.2f}x")
            print(f"  {summary}")
    finally:
        stack.stop()
        stack.cleanup()


if __name__ == "__main__":
    main()
