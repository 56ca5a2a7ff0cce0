"""Benchmark: reply → receipt on the real stack, against a bare responder on the same stack.

A private Dovecot + Postfix (the test suite's) serves the demo's domain. The floor is a bare
responder: an IMAP IDLE on the service mailbox, FETCH, mail-parser, and one SMTP answer to
the sender: what any mail robot must do. Then `minutesd run` (IDLE) takes its place on a data
directory of bench/scale.py and answers owners' progress lines with receipts. Each reply is
sent through Postfix one at a time, and the time until its answer lands in the sender's
INBOX is taken (the sender's mailbox is polled every 10 ms).

Run: `.venv/bin/python -m bench.latency --data /var/tmp/minutesd-scale/items-250000`
(build it first with `python -m bench.scale --build-only`).
"""

from __future__ import annotations

import argparse
import re
import shutil
import smtplib
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import mailparser

from bench.history import OWNERS
from bench.scale import NOW, REPO, Sized, env_for
from service.demo import DOMAIN, PEOPLE
from tests.mailstack import MailStack


def reply(stack: MailStack, sized: Sized, i: int) -> EmailMessage:
    number = 1 + i % 2
    msg = EmailMessage()
    msg["From"] = stack.address(OWNERS[number])
    msg["To"] = stack.address("minutes")
    msg["Subject"] = f"回复: [{sized.live}] 您的行动项 ({i})"
    msg["Message-ID"] = make_msgid(domain=DOMAIN)
    msg["In-Reply-To"] = f"<{sized.threads[i % len(sized.threads)]}>"
    msg.set_content(f"#{number} 进度 {10 + i}% 第{i}次更新\n")
    return msg


def count(stack: MailStack, user: str) -> int:
    with stack.imap(user) as client:
        client.select_folder("INBOX", readonly=True)
        return len(client.search(["ALL"]))


ANSWERS: Counter[str] = Counter()  # what came back, by subject without the record's number


def round_trip(stack: MailStack, msg: EmailMessage, user: str, timeout: float = 30) -> float:
    before = count(stack, user)
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", stack.smtp_port) as smtp:
        smtp.send_message(msg)
    while time.perf_counter() - start < timeout:
        if count(stack, user) > before:
            took = time.perf_counter() - start
            with stack.imap(user) as client:
                client.select_folder("INBOX", readonly=True)
                newest = max(client.search(["ALL"]))
                data = client.fetch([newest], [b"BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])[newest]
            head = next(v for k, v in data.items() if k.startswith(b"BODY"))
            subject = str(make_header(decode_header(head.decode().partition(":")[2].strip())))
            ANSWERS[re.sub(r"\(\d+\)", "(n)", subject)] += 1
            return took
        time.sleep(0.01)
    raise TimeoutError(f"no answer to {msg['Subject']} within {timeout} s")


def bare_responder(stack: MailStack, stop: threading.Event) -> None:
    """IDLE, FETCH, parse, answer: the least a mail robot does per message."""
    with stack.imap("minutes") as client, smtplib.SMTP("127.0.0.1", stack.smtp_port) as smtp:
        client.select_folder("INBOX")
        while not stop.is_set():
            uids = client.search(["UNDELETED"])
            for uid, data in client.fetch(uids, [b"BODY.PEEK[]"]).items():
                parsed = mailparser.parse_from_bytes(data[b"BODY[]"])
                answer = EmailMessage()
                answer["From"] = stack.address("minutes")
                answer["To"] = parsed.from_[0][1]
                answer["Subject"] = f"Re: {parsed.subject}"
                answer.set_content("received")
                smtp.send_message(answer)
                client.delete_messages([uid])
            client.expunge()
            client.idle()
            client.idle_check(timeout=1)
            client.idle_done()


def series(stack: MailStack, sized: Sized, n: int, offset: int) -> list[float]:
    return [
        round_trip(stack, reply(stack, sized, offset + i), OWNERS[1 + (offset + i) % 2]) for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--count", type=int, default=30)
    args = parser.parse_args()
    sized = Sized(args.data)
    sized.restore()
    stack = MailStack(users=["minutes", *PEOPLE], domain=DOMAIN).start()
    try:
        stop = threading.Event()
        robot = threading.Thread(target=bare_responder, args=(stack, stop), daemon=True)
        robot.start()
        time.sleep(1)
        floor = series(stack, sized, args.count, 0)
        ANSWERS.clear()
        stop.set()
        robot.join(5)
        stack.empty("minutes")
        env = {**env_for(args.data), **stack.env(), "MINUTESD_NOW": NOW}
        log = args.data.parent / "latency-daemon.log"
        with open(log, "wb") as out:
            daemon = subprocess.Popen(
                [sys.executable, "-m", "service", "run"], env=env, cwd=REPO, stdout=out, stderr=out
            )
        try:
            time.sleep(3)
            took = series(stack, sized, args.count, 1000)
        finally:
            daemon.terminate()
            daemon.wait(30)
        for label, xs in (("bare responder (floor)", floor), ("minutesd run", took)):
            xs = sorted(xs)
            print(
                f"{label:<24} p50 {statistics.median(xs):.3f} s  p90 {xs[int(len(xs) * 0.9) - 1]:.3f} s"
                f"  min {xs[0]:.3f}  max {xs[-1]:.3f}  ({len(xs)} replies)"
            )
        print(f"ratio of medians: {statistics.median(took) / statistics.median(floor):.2f}x")
        print(f"what minutesd answered: {dict(ANSWERS)}")
    finally:
        stack.stop()
        stack.cleanup()
        sized.restore()
        shutil.rmtree(args.data / "maildir", ignore_errors=True)


if __name__ == "__main__":
    main()
