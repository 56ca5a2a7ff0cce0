"""Retention: `archive --before YEAR` moves old finished meetings into the period they ended in,
and `archive --purge-before YEAR` deletes only what the rules' retention no longer keeps."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.core.store import Store
from service.minutes import records
from service.pipeline import MESSAGES
from tests.conftest import run_cli, service_env, write_rules
from tests.service.test_archiving import RECORD, _finish_every_item, old_data  # noqa: F401

KEEP_EVERYTHING_HOT = {"after_days": 3650, "mail_after_days": 3650}


def _run(data: Path, now: datetime, *args: str, rules: Path | None = None) -> Any:
    extra = {"MINUTESD_NOW": now.isoformat(), **({"MINUTESD_RULES": str(rules)} if rules else {})}
    return run_cli([*args], service_env(data, extra))


def _ok(data: Path, now: datetime, *args: str, rules: Path | None = None) -> Any:
    done = _run(data, now, *args, rules=rules)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout) if "--json" in args else done.stdout


def _prepared(data: Path, tmp_path: Path) -> Path:
    """The demo's meeting of May 2024, every item done in June 2024, nothing archived yet."""
    rules = write_rules(tmp_path / "rules.yaml", archive=KEEP_EVERYTHING_HOT)
    _ok(data, datetime(2024, 7, 1, tzinfo=UTC), "run", "--once", "--json", rules=rules)
    _finish_every_item(data)
    return rules


def test_archive_before_a_year_moves_a_meeting_the_rules_keep_hot_into_the_month_it_ended(
    old_data: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    rules = _prepared(old_data, tmp_path)
    now = datetime(2025, 3, 1, tzinfo=UTC)
    assert _ok(old_data, now, "archive", "--json", rules=rules)["records"] == 0, "after_days keeps it"
    status = _ok(old_data, now, "status", RECORD, "--json", rules=rules)
    assert _ok(old_data, now, "archive", "--before", "2024", "--json", rules=rules)["records"] == 0
    assert _ok(old_data, now, "archive", "--before", "2025", "--json", rules=rules)["records"] == 1
    with Store(old_data, read_only=True) as store:
        assert not store.is_hot(records.RECORDS, RECORD)
        assert store.archive_files.period_of(records.RECORDS, RECORD) == "2024-06"
    assert _ok(old_data, now, "status", RECORD, "--json", rules=rules) == status


def test_a_purge_inside_the_retention_is_refused_and_deletes_nothing(
    old_data: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    rules = _prepared(old_data, tmp_path)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    _ok(old_data, now, "archive", "--before", "2025", "--json", rules=rules)
    files = sorted(p for p in old_data.rglob("*") if p.is_file() and p.name != "minutesd.lock")
    refused = _run(old_data, now, "archive", "--purge-before", "2025", rules=rules)
    assert refused.returncode == 2
    assert "kept 2 years" in refused.stderr and "allowed today is 2024" in refused.stderr
    assert sorted(p for p in old_data.rglob("*") if p.is_file() and p.name != "minutesd.lock") == files


def test_a_purge_past_the_retention_deletes_the_period_with_its_evidence_and_raw_mail(
    old_data: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    rules = _prepared(old_data, tmp_path)
    _ok(old_data, datetime(2026, 3, 1, tzinfo=UTC), "archive", "--before", "2025", "--json", rules=rules)
    with Store(old_data, read_only=True) as store:
        hot_raw = {d["archive"] for d in store.each(MESSAGES)}
    evidence = old_data / "evidence" / RECORD
    assert (evidence.is_dir() and any(evidence.rglob("*.pdf"))) or any(evidence.rglob("*"))
    now = datetime(2027, 1, 15, tzinfo=UTC)

    dry = _ok(old_data, now, "archive", "--purge-before", "2025", "--dry-run", "--json", rules=rules)
    assert dry["periods"] == ["2024-06"] and dry["meetings"] == 1 and dry["files"] >= 1
    assert evidence.is_dir(), "a dry run deletes nothing"

    done = _ok(old_data, now, "archive", "--purge-before", "2025", "--json", rules=rules)
    assert done["periods"] == ["2024-06"] and done["meetings"] == 1 and done["bytes"] > 0
    assert not (old_data / "archive" / "2024-06").exists() and not evidence.exists()
    assert all((old_data / raw).exists() for raw in hot_raw), "raw mail still named by the store stays"
    gone = _run(old_data, now, "status", RECORD, "--json", rules=rules)
    assert gone.returncode == 1 and f"no record {RECORD}" in gone.stderr, "purged means gone"
    with Store(old_data, read_only=True) as store:
        [entry] = store.all("retention")
    assert entry["before"] == 2025 and entry["periods"] == ["2024-06"]
    assert _run(old_data, now, "fsck", rules=rules).returncode == 0, "nothing left pointing at what went"
