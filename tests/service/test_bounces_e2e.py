"""Bounces change what happens, with Postfix's own delivery reports (issue 13.6).

The addresses that bounce are real ones this stack has no mailbox for (a person who left, a
mailbox closed): Dovecot refuses them over LMTP, Postfix returns its report to the service's
address, and the service reads it on its next pass. The recorder hears of a bounced attendee at
once, that attendee's silence never confirms the minutes, and an owner who cannot be reached is
their department head's business.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import SAMPLES, run_cli, wait_until
from tests.mailstack import MailStack
from tests.service.items.test_actions_e2e import arrives, subjects
from tests.service.items.test_people_e2e import (
    CLOSED,
    LI_NA_OWNS_2,
    RECORD,
    START,
    confirmed_by_silence,
    delivered,
    listed,
    plain_draft,
)
from tests.service.minutes.test_confirmation_e2e import at, deliver, env_for, record_status, run_once

pytestmark = pytest.mark.mailstack


def _env(stack: MailStack, tmp_path: Path, addresses: dict[str, str] | None = None) -> dict[str, str]:
    """The sample directory, with some people at addresses that have no mailbox."""
    data = yaml.safe_load((SAMPLES / "people.yaml").read_text(encoding="utf-8"))
    for person in data["people"]:
        person["email"] = (addresses or {}).get(person["name"], person["email"])
    path = tmp_path / "people.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return {**env_for(stack, tmp_path, START), "MINUTESD_DIRECTORY": str(path)}


def _bounces(stack: MailStack, count: int = 1) -> None:
    """Wait for Postfix's delivery reports to reach the service's inbox."""

    def arrived() -> bool:
        with stack.imap("minutes") as client:
            client.select_folder("INBOX", readonly=True)
            return len(client.search(["FROM", "MAILER-DAEMON"])) >= count

    assert wait_until(arrived, 20), stack.logs()


def _failing(env: dict[str, str]) -> list[str]:
    return list(json.loads(run_cli(["status", "--json"], env).stdout)["failing_addresses"])


@contextlib.contextmanager
def _mailbox_closed(stack: MailStack, user: str) -> Iterator[None]:
    """Dovecot forgets the user (it reads its passwd file again when it changes): mail to them
    is refused over LMTP until the block ends."""
    passwd = stack.root / "dovecot" / "passwd"
    before = passwd.read_text()
    _rewrite(
        passwd,
        "".join(line for line in before.splitlines(True) if not line.startswith(f"{stack.address(user)}:")),
    )
    try:
        yield
    finally:
        _rewrite(passwd, before)


def _rewrite(passwd: Path, text: str) -> None:
    """Dovecot looks at its passwd file at most once per second of its clock: a lookup made in
    the second of the change (a login that polled a mailbox just before) keeps the old users for
    the rest of that second. In CI the mail that was meant to bounce went in that way."""
    passwd.write_text(text)
    time.sleep(math.ceil(time.time()) - time.time() + 0.1)


def test_a_bounced_attendee_is_told_to_the_recorder_at_once_and_their_silence_is_no_consent(
    stack: MailStack, tmp_path: Path
) -> None:
    env = _env(stack, tmp_path, {"刘洋": "liu.yang.old@example.test"})
    deliver(stack, plain_draft(stack))
    run_once(env)
    _bounces(stack)
    run_once(at(env, "2024-05-20T16:10:00+08:00"))

    assert _failing(env) == ["liu.yang.old@example.test"]
    told = arrives(stack, "qian.fang", "邮件无法送达")
    assert told.subject == f"[{RECORD}] 邮件无法送达:liu.yang.old@example.test"
    assert "发往 liu.yang.old@example.test 的邮件被退回" in told.text
    assert "他/她的沉默不会被视为同意" in told.text
    delivered(stack)
    assert not any("无法送达" in s for s in subjects(stack, "wang.lei")), "the recorder's to fix"

    # Wed 22 May, the window closes with everyone silent: without the bounce that would confirm.
    run_once(at(env, CLOSED))
    assert record_status(env, RECORD)["state"] == "awaiting_confirmation"
    host = arrives(stack, "wang.lei", "确认期限已到")
    assert "刘洋" in host.text
    delivered(stack)
    for user in ("wang.lei", "chen.jing", "zhao.min", "sun.hao", "qian.fang"):
        assert not any("已确认" in s or "您的行动项" in s for s in subjects(stack, user)), user
    assert len([s for s in subjects(stack, "qian.fang") if "无法送达" in s]) == 1, "told once"


def test_an_owner_whose_mailbox_closed_is_escalated_to_their_head(stack: MailStack, tmp_path: Path) -> None:
    # 李娜 (技术部, head 陈静) attends and owns #2; her mailbox closes before the minutes confirm.
    draft = plain_draft(stack, {**LI_NA_OWNS_2, "、钱芳(运营部)\n": "、钱芳(运营部)、李娜(技术部)\n"})
    env = _env(stack, tmp_path)
    deliver(stack, draft)
    run_once(env)
    arrives(stack, "li.na", "待确认")
    with _mailbox_closed(stack, "li.na"):
        run_once(at(env, CLOSED))  # confirmed by silence: the notice and her assignment bounce
        assert record_status(env, RECORD)["state"] == "confirmed"
        _bounces(stack, 2)
    run_once(at(env, "2024-05-22T16:10:00+08:00"))

    assert _failing(env) == ["li.na@example.test"]
    head = arrives(stack, "chen.jing", "负责人邮件无法送达")
    assert head.text.startswith("陈静好")
    assert "发往 li.na@example.test 的邮件被退回" in head.text
    line = listed(head.text, f"{RECORD}#2")
    assert "评估A类功能开发周期" in line and "2024-05-24" in line
    assert f"{RECORD}#1" not in head.text and f"{RECORD}#3" not in head.text
    delivered(stack)
    assert len([s for s in subjects(stack, "chen.jing") if "无法送达" in s]) == 1, "once, for two bounces"
    for user in ("qian.fang", "wang.lei", "zhao.min", "sun.hao"):
        assert not any("无法送达" in s for s in subjects(stack, user)), user


def test_an_owner_who_did_not_attend_and_bounces_is_escalated_to_their_head(
    stack: MailStack, tmp_path: Path
) -> None:
    # 李娜 owns #2 without attending; the directory has her at an address with no mailbox.
    env = _env(stack, tmp_path, {"李娜": "li.na.old@example.test"})
    confirmed_by_silence(stack, tmp_path, plain_draft(stack, LI_NA_OWNS_2), env=env)
    _bounces(stack)
    run_once(at(env, "2024-05-22T16:10:00+08:00"))
    assert _failing(env) == ["li.na.old@example.test"]
    delivered(stack)
    assert any("负责人邮件无法送达" in s for s in subjects(stack, "chen.jing"))
