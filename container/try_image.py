"""The image against a real mail server: run from the repository top by container/try-image.sh.

    IMAGE=localhost/minutesd:dev PODMAN_OPTS="" .venv/bin/python -m container.try_image

Starts the test suite's Dovecot + Postfix on loopback (tests/mailstack.py), mails a draft to the
service address and runs the image's `minutesd run --once` with --network host and a fresh named
volume on /data; every attendee must get the minutes and the recorder the receipt. Then the image's
own HEALTHCHECK on a running daemon: healthy, unhealthy with Dovecot stopped, healthy again, and
SIGTERM (`podman stop`) ends the daemon with exit 0.
"""

from __future__ import annotations

import json
import os
import shlex
import smtplib
import subprocess
import sys
import time
from collections.abc import Callable
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from tests.mailstack import MailStack

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO.parent / "shared" / "samples"
IMAGE = os.environ.get("IMAGE", "localhost/minutesd:dev")
OPTS = shlex.split(os.environ.get("PODMAN_OPTS", ""))
RECORDER = "qian.fang"
ATTENDEES = ["wang.lei", "chen.jing", "liu.yang", "zhao.min", "sun.hao", "qian.fang"]
RECORD = "2024-OPS-001"
NOW = "2024-05-20T16:02:00+08:00"


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=300, check=False)
    if check and result.returncode != 0:
        sys.exit(f"podman {' '.join(args[:3])}… exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def service_args(stack: MailStack, volume: str) -> list[str]:
    env = {**stack.env(), "MINUTESD_DIRECTORY": "/config/people.yaml", "MINUTESD_NOW": NOW}
    return [
        *OPTS,
        "--network",
        "host",
        "-v",
        f"{volume}:/data",
        "-v",
        f"{SAMPLES / 'people.yaml'}:/config/people.yaml:ro",
        *[f"-e{key}={value}" for key, value in env.items()],
    ]


def minutesd(
    stack: MailStack, volume: str, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return podman("run", "--rm", "--no-healthcheck", *service_args(stack, volume), IMAGE, *args, check=check)


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def subjects(stack: MailStack, user: str) -> list[str]:
    with stack.imap(user) as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search("ALL")
        data = client.fetch(uids, [b"BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]) if uids else {}
    found = []
    for uid in uids:
        raw = data[uid][b"BODY[HEADER.FIELDS (SUBJECT)]"]
        found.append(str(make_header(decode_header(message_from_bytes(raw)["Subject"] or ""))))
    return found


def send_draft(stack: MailStack) -> None:
    msg = EmailMessage()
    msg["From"] = stack.address(RECORDER)
    msg["To"] = stack.address("minutes")
    msg["Subject"] = "会议纪要 Q3产品规划会"
    msg["Message-ID"] = make_msgid(domain=stack.domain)
    msg.set_content((SAMPLES / "draft-zh-plain.txt").read_text(encoding="utf-8"))
    with smtplib.SMTP("127.0.0.1", stack.smtp_port) as smtp:
        smtp.send_message(msg)
    if not wait_until(lambda: len(subjects(stack, "minutes")) == 1, 15):
        sys.exit(f"the draft did not reach the service mailbox\n{stack.logs()}")


def health(container: str) -> tuple[int, str]:
    result = podman("healthcheck", "run", container, check=False)
    return result.returncode, (result.stdout.strip() or "healthy")


def step(text: str) -> None:
    print(f"-- {text}", flush=True)


def main() -> None:
    stack = MailStack(users=["minutes", *ATTENDEES]).start()
    volume = f"minutesd-try-{os.getpid()}"
    container = f"minutesd-try-{os.getpid()}"
    podman("volume", "create", volume)
    try:
        print(
            f"Dovecot IMAP 127.0.0.1:{stack.imap_port}, Postfix SMTP 127.0.0.1:{stack.smtp_port}; volume {volume}"
        )
        step("minutesd check against the running servers")
        result = minutesd(stack, volume, "check")
        print("\n".join(line for line in result.stdout.splitlines() if "bound" in line))

        step(f"a draft from {RECORDER} to {stack.address('minutes')}, then minutesd run --once")
        send_draft(stack)
        result = minutesd(stack, volume, "run", "--once")
        status = json.loads(minutesd(stack, volume, "status", RECORD, "--json").stdout)
        attendees = sorted(p["email"].partition("@")[0] for p in status["attendees"])
        print(f"{RECORD}: state {status['state']}, version {status['version']}, attendees {attendees}")
        assert status["state"] == "awaiting_confirmation" and status["version"] == 1, status
        assert attendees == sorted(ATTENDEES), attendees
        for user in ATTENDEES:
            if not wait_until(lambda u=user: any(f"[{RECORD}]" in s for s in subjects(stack, u)), 15):
                sys.exit(f"{user} got no minutes: {subjects(stack, user)}\n{stack.logs()}")
            print(f"   {user}: {next(s for s in subjects(stack, user) if RECORD in s)}")
        receipt = [s for s in subjects(stack, RECORDER) if s.startswith("回复") and RECORD not in s]
        print(f"   {RECORDER} (the recorder) also got the receipt: {receipt}")
        assert receipt, subjects(stack, RECORDER)
        summary = json.loads(minutesd(stack, volume, "status", "--json").stdout)
        print(f"   messages by outcome: {summary.get('messages')}")

        step("the image's HEALTHCHECK on a running daemon (podman healthcheck run)")
        podman("run", "-d", "--name", container, *service_args(stack, volume), IMAGE)
        time.sleep(2)
        code, said = health(container)
        print(f"   servers up: exit {code}, {said}")
        assert code == 0, said
        stack.stop_dovecot()
        code, said = health(container)
        reason = podman("exec", container, "minutesd", "check", check=False)
        print(f"   Dovecot stopped: exit {code}, {said}; minutesd check exit {reason.returncode}:")
        print("\n".join(f"     {line}" for line in reason.stdout.splitlines() if line.startswith("FAIL")))
        assert code != 0 and reason.returncode == 1, (said, reason.stdout)
        stack.start_dovecot()
        assert wait_until(lambda: health(container)[0] == 0, 30), "not healthy again after Dovecot came back"
        print("   Dovecot back: healthy")
        podman("stop", "-t", "20", container)
        exit_code = podman("inspect", container, "--format", "{{.State.ExitCode}}").stdout.strip()
        print(f"   podman stop (SIGTERM): the daemon exited {exit_code}")
        assert exit_code == "0", podman("logs", container).stderr[-3000:]
        print("the image ran against a real IMAP + SMTP server: ok")
    finally:
        podman("rm", "-f", container, check=False)
        podman("volume", "rm", "-f", volume, check=False)
        stack.stop()
        stack.cleanup()


if __name__ == "__main__":
    main()
