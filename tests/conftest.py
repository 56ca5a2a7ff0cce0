from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import settings

# The suite's property tests draw the same examples on every run, so a clean checkout is green
# or red for a reason; `HYPOTHESIS_PROFILE=explore` draws new ones to look for cases.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SAMPLES = SHARED / "samples"
CORPORA = SHARED / "corpora"

SENDERS = [f"s{i:02d}" for i in range(1, 21)]
PEOPLE = [
    "wang.lei",
    "chen.jing",
    "li.na",
    "liu.yang",
    "zhang.wei",
    "zhao.min",
    "sun.hao",
    "zhou.ting",
    "wu.gang",
    "qian.fang",
    "ma.chao",
]


@pytest.fixture(scope="session")
def mailstack() -> Iterator[object]:
    from tests.mailstack import MailStack

    stack = MailStack(users=["minutes", *PEOPLE, *SENDERS])
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
        stack.cleanup()


@pytest.fixture
def stack(mailstack: Any) -> Any:
    """The session's mail stack with every person's inbox emptied."""
    for user in ["minutes", *PEOPLE]:
        mailstack.empty(user)
    return mailstack


def write_rules(path: Path, **overrides: dict) -> Path:
    rules = yaml.safe_load((REPO / "mailbox_rules.yaml").read_text(encoding="utf-8"))
    for section, values in overrides.items():
        rules.setdefault(section, {}).update(values)
    path.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def fast_rules(tmp_path: Path) -> Path:
    return write_rules(
        tmp_path / "rules.yaml",
        outbox={"backoff_seconds": [1, 1, 2], "max_attempts": 30},
        mailbox={"poll_seconds": 1, "reconnect_backoff_seconds": [0.2, 0.5, 1]},
    )


# `make test-wheel` points this at the `minutesd` of a wheel installed outside the checkout:
# the end-to-end tests then run what users install, with no path back into the repository.
INSTALLED = os.environ.get("MINUTESD_TEST_CLI", "")


def service_env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINUTESD_") and k != "PYTHONPATH"}
    env["MINUTESD_DATA_DIR"] = str(data_dir)
    if not INSTALLED:
        env["PYTHONPATH"] = str(REPO)
    env.update(extra or {})
    return env


def cli_command() -> list[str]:
    return [INSTALLED] if INSTALLED else [sys.executable, "-m", "service"]


def run_cli(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli_command(), *args],
        cwd=Path(env.get("MINUTESD_DATA_DIR", str(REPO))).parent if INSTALLED else REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_daemon(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log = open(log_path, "ab")  # noqa: SIM115 - lives as long as the daemon
    return subprocess.Popen(
        [*cli_command(), "run"],
        cwd=Path(env.get("MINUTESD_DATA_DIR", str(REPO))).parent if INSTALLED else REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


@contextlib.contextmanager
def running_daemon(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`minutesd run` for the length of the block; leaving it, SIGTERM must stop it cleanly."""
    daemon = start_daemon(env, log_path)
    try:
        yield daemon
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(15)
    assert code == 0, f"exit {code} after SIGTERM:\n{log_path.read_text()}"


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
