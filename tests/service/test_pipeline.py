"""service.pipeline on the embedded transport: one outcome per message, whatever comes in."""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers.message import parse_message
from service import routes
from service.context import Context
from service.core.clock import Clock
from service.core.config import load_rules, settings_from_env
from service.core.outcomes import Rejected, Reply
from service.core.store import Store
from service.mail import bounces
from service.mail.bodies import read_body
from service.mail.outbox import TABLE as OUTBOX
from service.mail.outbox import OutboxState
from service.mail.rawmail import read_raw
from service.pipeline import LEDGER, MESSAGES, Pipeline, outcome_counts
from tests.conftest import CORPORA, SAMPLES
from tests.parsers.test_message import corpus_files


@pytest.fixture
def pipeline(tmp_path: Path) -> Pipeline:
    settings = settings_from_env(
        {
            "MINUTESD_DATA_DIR": str(tmp_path),
            "MINUTESD_ADDRESS": "minutes@example.test",
            "MINUTESD_NOW": "2024-05-21T09:30:00+08:00",
        }
    )
    return Pipeline(settings, load_rules(), Store(tmp_path), Clock(settings.now))


def test_a_reply_is_archived_answered_and_recorded_once(pipeline: Pipeline) -> None:
    raw = (SAMPLES / "replies/confirm-outlook-zh.eml").read_bytes()
    first = pipeline.process(raw, "maildir:1")
    assert first.outcome == "rejected" and not first.already_done
    again = pipeline.process(raw, "maildir:1")
    assert again.already_done
    copy = pipeline.process(raw, "imap:7:1")  # same message under another UIDVALIDITY
    assert copy.already_done
    store = pipeline.store
    assert store.count(MESSAGES) == 1
    assert sorted(store.get(MESSAGES, first.message_id)["refs"]) == ["imap:7:1", "maildir:1"]
    assert store.count(OUTBOX) == 1
    receipt = store.all(OUTBOX)[0]
    assert receipt["recipients"] == ["chen.jing@example.test"]
    archived = store.get(MESSAGES, first.message_id)["archive"]
    assert read_raw(pipeline.settings.data_dir, archived) == raw


def test_automatic_mail_is_recorded_and_never_answered(pipeline: Pipeline) -> None:
    result = pipeline.process((SAMPLES / "replies/out-of-office.eml").read_bytes(), "maildir:ooo")
    assert result.outcome == "ignored"
    assert pipeline.store.count(OUTBOX) == 0


def test_an_unexpected_exception_quarantines_that_message_only(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx: object) -> None:
        raise KeyError("a bug of ours")

    monkeypatch.setattr(routes, "route", broken)
    bad = pipeline.process((SAMPLES / "replies/confirm-outlook-zh.eml").read_bytes(), "maildir:bad")
    assert bad.outcome == "quarantined" and "a bug of ours" in bad.reason
    assert [d["template"] for d in pipeline.store.all(OUTBOX)] == ["holding"], "only the holding answer"
    monkeypatch.undo()
    good = pipeline.process((SAMPLES / "replies/object-163.eml").read_bytes(), "maildir:good")
    assert good.outcome == "rejected"


def test_a_rejection_keeps_its_reply_and_drops_what_the_stages_wrote(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(ctx: Context) -> None:
        ctx.txn.put("records", "2024-OPS-001", {"state": "changed"})
        raise Rejected(
            "not on the record",
            reply=Reply(
                "receipt",
                {
                    "kind": "reply",
                    "original_subject": "x",
                    "received_at": "now",
                    "reference": "r",
                    "greeting_name": "n",
                },
            ),
        )

    monkeypatch.setattr(routes, "route", refuse)
    result = pipeline.process((SAMPLES / "replies/not-a-participant.eml").read_bytes(), "maildir:x")
    assert result.outcome == "rejected"
    assert pipeline.store.get("records", "2024-OPS-001") is None
    assert [m["recipients"] for m in pipeline.store.all(OUTBOX)] == [["ma.chao@example.test"]]


def test_our_own_copy_settles_a_send_left_in_doubt(pipeline: Pipeline) -> None:
    pipeline.process((SAMPLES / "replies/confirm-outlook-zh.eml").read_bytes(), "maildir:1")
    (entry,) = pipeline.store.all(OUTBOX)
    with pipeline.store.transaction() as txn:
        txn.put(OUTBOX, entry["key"], {**entry, "state": OutboxState.SENDING})
    copy = pipeline.process(read_body(pipeline.store.data_dir, entry), "maildir:copy")
    assert copy.outcome == "ignored" and "own copy" in copy.reason
    assert pipeline.store.get(OUTBOX, entry["key"])["state"] == OutboxState.SENT


def test_a_bounce_marks_the_address_failing(pipeline: Pipeline) -> None:
    path = CORPORA / "flufl_bounce" / "dsn_01.txt"
    if not path.exists():
        pytest.skip("shared corpora not present")
    result = pipeline.process(path.read_bytes(), "maildir:bounce")
    assert result.outcome == "ignored"
    assert pipeline.store.get(bounces.ADDRESSES, "jimmymcegypt@go.com")["state"] == "failing"
    assert pipeline.store.count(OUTBOX) == 0


def test_every_corpus_message_gets_exactly_one_outcome(pipeline: Pipeline) -> None:
    files = corpus_files()
    if not files:
        pytest.skip("shared corpora not present")
    ids: dict[str, str] = {}
    for path in files:
        raw = path.read_bytes()
        result = pipeline.process(raw, f"file:{path.relative_to(CORPORA)}")
        assert result.outcome != "quarantined", (path, result.reason)
        ids[str(path)] = parse_message(raw).message_id
    store = pipeline.store
    assert store.count(LEDGER) == len(files)
    assert store.count(MESSAGES) == len(set(ids.values()))
    assert sum(outcome_counts(store).values()) == len(set(ids.values()))
