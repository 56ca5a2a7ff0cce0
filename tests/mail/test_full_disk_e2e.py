"""A disk that fills for a moment while the daemon works, on the real Dovecot + Postfix: every
message still ends with one outcome, no journal line is damaged, and nobody has to step in."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli, running_daemon, service_env, wait_until
from tests.mail.test_mailstack_e2e import SENDERS, mail_from
from tests.mailstack import MailStack

pytestmark = pytest.mark.mailstack


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    mount = tmp_path / "disk"
    mount.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, check=False
        ).returncode
    ):
        pytest.skip("needs root to mount a small tmpfs")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_loses_nothing_and_needs_no_manual_step(
    stack: MailStack, tmp_path: Path, small_disk: Path
) -> None:
    data = small_disk / "data"
    env = service_env(data, {**stack.env(), "MINUTESD_LOG_LEVEL": "INFO"})
    stack.empty("minutes")
    backlog = [
        mail_from(stack, SENDERS[i % len(SENDERS)], f"full disk {i}", "我的待办 " * 200) for i in range(40)
    ]
    log = tmp_path / "daemon.log"
    with running_daemon(env, log):
        assert wait_until(lambda: (data / "db.json").exists(), 20), log.read_text()
        filler = small_disk / "filler"
        with open(filler, "wb") as handle:  # the disk is full before the backlog arrives
            try:
                while True:
                    handle.write(b"\0" * 65536)
                    handle.flush()
            except OSError:
                pass
        with stack.imap("minutes") as client:  # the backlog arrives at a full disk
            for msg in backlog:
                client.append("INBOX", msg.as_bytes())
        assert wait_until(lambda: "waiting for room" in log.read_text(), 60), log.read_text()[-3000:]
        filler.unlink()  # room again: the daemon goes on by itself
        assert wait_until(lambda: _inbox_empty(stack), 90), log.read_text()[-3000:]
    summary = json.loads(run_cli(["status", "--json"], env).stdout)["messages"]
    assert summary["quarantined"] == 0
    assert summary["rejected"] == len(backlog), summary
    fsck = run_cli(["fsck"], env)
    assert fsck.returncode == 0, fsck.stdout


def _inbox_empty(stack: MailStack) -> bool:
    with stack.imap("minutes") as client:
        client.select_folder("INBOX", readonly=True)
        return not client.search("ALL")
