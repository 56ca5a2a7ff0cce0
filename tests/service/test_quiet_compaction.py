"""A daemon pass that took nothing in folds a long journal into db.json; a busy one does not.
On the embedded Maildir transport."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.core import store as store_module
from service.core.clock import Clock
from service.core.config import load_from_env
from service.core.store import JOURNAL, Store
from service.daemon import Daemon
from tests.conftest import SAMPLES


def _daemon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Daemon, Store, Path]:
    data = tmp_path / "data"
    for name, value in {
        "MINUTESD_DATA_DIR": str(data),
        "MINUTESD_NOW": "2024-05-21T09:30:00+08:00",
        "MINUTESD_DIRECTORY": str(SAMPLES / "people.yaml"),
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("MINUTESD_IMAP_HOST", "MINUTESD_SMTP_HOST", "MINUTESD_RULES"):
        monkeypatch.delenv(name, raising=False)
    settings, rules = load_from_env()
    store = Store(settings.data_dir)
    return Daemon(settings, rules, store, Clock(settings.now)), store, data


def test_a_pass_with_nothing_to_take_in_folds_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "QUIET_BYTES", 0)
    daemon, store, data = _daemon(tmp_path, monkeypatch)
    inbox = data / "maildir" / "inbox" / "new"
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLES / "replies" / "object-163.eml", inbox / "one.eml")
    busy = daemon.run_once()
    assert busy.processed == 1
    assert (data / JOURNAL).exists(), "a pass that took mail in leaves the journal to its own limits"
    quiet = daemon.run_once()
    assert quiet.processed == 0
    assert not (data / JOURNAL).exists(), "the quiet pass folded it into db.json"
    store.close()
    with Store(data, read_only=True) as reader:
        assert reader.count("messages") == 1
