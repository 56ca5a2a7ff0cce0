"""A backlog is read through before it is answered, so our copies land in an emptied inbox;
a long one is still answered every ANSWER_EVERY batches. On the embedded Maildir transport."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service import daemon as daemon_module
from service.core.clock import Clock
from service.core.config import load_from_env
from service.core.store import Store
from service.daemon import Daemon, PassReport
from tests.conftest import SAMPLES

REPLIES = sorted(p for p in (SAMPLES / "replies").glob("*.eml") if p.name != "out-of-office.eml")


def _daemon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int) -> tuple[Daemon, Store, list[int]]:
    data = tmp_path / "data"
    inbox = data / "maildir" / "inbox" / "new"
    inbox.mkdir(parents=True)
    for reply in REPLIES:
        shutil.copy(reply, inbox / reply.name)
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"mailbox:\n  fetch_batch: {batch}\n")
    for name, value in {
        "MINUTESD_DATA_DIR": str(data),
        "MINUTESD_RULES": str(rules),
        "MINUTESD_NOW": "2024-05-21T09:30:00+08:00",
        "MINUTESD_DIRECTORY": str(SAMPLES / "people.yaml"),
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("MINUTESD_IMAP_HOST", "MINUTESD_SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    settings, loaded = load_from_env()
    store = Store(settings.data_dir)
    daemon = Daemon(settings, loaded, store, Clock(settings.now))
    sent = data / "maildir" / "sent" / "new"
    seen: list[int] = []  # mails sent so far, at each look at the inbox
    fetch = daemon.mailbox.fetch_new

    def counting(limit: int):  # type: ignore[no-untyped-def]
        seen.append(len(list(sent.iterdir())) if sent.is_dir() else 0)
        return fetch(limit)

    monkeypatch.setattr(daemon.mailbox, "fetch_new", counting)
    return daemon, store, seen


def test_a_backlog_is_read_through_before_it_is_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon, store, seen = _daemon(tmp_path, monkeypatch, batch=2)
    report = PassReport()
    daemon.take_in(report)
    store.close()
    assert report.processed == len(REPLIES) == 7
    answered = report.outbox.sent
    assert answered >= 3, "most of these samples are answered"
    # Batches of 2, 2, 2 and 1: nothing goes out until the short batch says the inbox is empty.
    assert seen == [0, 0, 0, 0, answered]


def test_a_long_backlog_is_answered_every_few_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(daemon_module, "ANSWER_EVERY", 2)
    daemon, store, seen = _daemon(tmp_path, monkeypatch, batch=2)
    report = PassReport()
    daemon.take_in(report)
    store.close()
    assert seen[:2] == [0, 0]
    assert 0 < seen[2] < report.outbox.sent, "two full batches read: what they caused went out"
    assert seen[-1] == report.outbox.sent


def test_a_single_reply_is_answered_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    daemon, store, seen = _daemon(tmp_path, monkeypatch, batch=200)
    report = PassReport()
    daemon.take_in(report)
    store.close()
    assert seen == [0, report.outbox.sent], "one short batch, answered before the inbox is looked at again"
