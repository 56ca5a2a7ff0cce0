"""Fault injection: SIGKILL the daemon at random moments of a backlog, then count the damage.

    .venv/bin/python -m bench.kills --messages 1000 --kills 200 [--seed 7]

On the test suite's private Dovecot + Postfix: N messages from many senders land in the service
mailbox; the daemon is started and killed with SIGKILL after a random 0.05–1.5 s, again and
again; then it runs until everything is settled. It prints, and exits non-zero unless all are 0:
- lost: messages of the backlog with no recorded outcome, or still in the inbox;
- duplicated: answers delivered twice (the same Message-ID twice in one mailbox);
- corrupt: the store does not open, or fsck finds a problem.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import yaml

from tests.mailstack import MailStack

REPO = Path(__file__).resolve().parent.parent
SENDERS = [f"k{i:03d}" for i in range(1, 201)]  # many senders: no one reaches the answer limit


def _env(stack: MailStack, data: Path, rules: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("MINUTESD_")}
    env.update(stack.env())
    env.update({"MINUTESD_DATA_DIR": str(data), "MINUTESD_RULES": str(rules), "PYTHONPATH": str(REPO)})
    return env


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _ids(stack: MailStack, user: str, folder: str = "INBOX") -> list[str]:
    with stack.imap(user) as client:
        if not client.folder_exists(folder):
            return []
        client.select_folder(folder, readonly=True)
        uids = client.search("ALL")
        if not uids:
            return []
        data = client.fetch(uids, [b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        return [bytes(v[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"]).decode().strip() for v in data.values()]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--grace", type=float, default=30, help="outbox.confirm_grace_seconds (the rules' default is 120)"
    )
    args = parser.parse_args()
    chance = random.Random(args.seed)
    stack = MailStack(users=["minutes", *SENDERS])
    stack.start()
    scratch = Path(tempfile.mkdtemp(prefix="minutesd-kills-"))
    try:
        rules = scratch / "rules.yaml"
        base = yaml.safe_load((REPO / "mailbox_rules.yaml").read_text(encoding="utf-8"))
        base.setdefault("mailbox", {}).update(fetch_batch=20)
        base.setdefault("outbox", {}).update(batch=10, confirm_grace_seconds=args.grace)
        rules.write_text(yaml.safe_dump(base, allow_unicode=True), encoding="utf-8")
        env = _env(stack, scratch / "data", rules)
        sent: Counter[str] = Counter()
        with stack.imap("minutes") as client:
            for i in range(args.messages):
                sender = SENDERS[i % len(SENDERS)]
                msg = EmailMessage()
                msg["From"] = stack.address(sender)
                msg["To"] = stack.address("minutes")
                msg["Subject"] = f"我的待办 {i}"
                msg["Message-ID"] = make_msgid(domain=stack.domain)
                msg.set_content(f"第{i}封:我的待办")
                client.append("INBOX", msg.as_bytes())
                sent[sender] += 1
        started = time.monotonic()
        kills = 0
        while kills < args.kills:
            daemon = subprocess.Popen(
                [sys.executable, "-m", "service", "run"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(chance.uniform(0.05, 1.5))
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(10)
            kills += 1
        killing = time.monotonic() - started
        for _ in range(
            int(args.grace) * 3 + 120
        ):  # run until settled: nothing in the inbox, nothing waiting to go out
            _cli(["run", "--once"], env)
            status = json.loads(_cli(["status", "--json"], env).stdout)
            if not _ids(stack, "minutes") and set(status["outbox"]) <= {"sent"}:
                break
            time.sleep(1.0)
        status = json.loads(_cli(["status", "--json"], env).stdout)
        fsck = _cli(["fsck", "--json"], env)
        problems = json.loads(fsck.stdout)["problems"] if fsck.stdout.strip() else ["fsck printed nothing"]
        outcomes = status["messages"]
        processed = sum(outcomes.values()) - outcomes.get("ignored", 0)
        lost = args.messages - processed + len(_ids(stack, "minutes"))
        duplicated = 0
        answered = 0
        time.sleep(2.0)
        twice: list[str] = []
        for sender in SENDERS:
            ids = _ids(stack, sender)
            answered += len(ids)
            duplicated += len(ids) - len(set(ids))
            twice += [i for i, n in Counter(ids).items() if n > 1]
        result = {
            "messages": args.messages,
            "kills": kills,
            "seconds_killing": round(killing, 1),
            "outcomes": outcomes,
            "answers_delivered": answered,
            "lost": lost,
            "duplicated": duplicated,
            "corrupt": len(problems),
            "fsck": problems[:5],
            "delivered_twice": twice[:5],
            "grace_seconds": args.grace,
        }
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0 if lost == duplicated == len(problems) == 0 and answered == args.messages else 1
    finally:
        stack.stop()
        stack.cleanup()


if __name__ == "__main__":
    sys.exit(main())
