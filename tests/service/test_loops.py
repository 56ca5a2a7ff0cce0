"""Loops end by themselves, through the real pipeline: a naive auto-responder gets at most the
rules' limit of answers, the recorder is told once, and a repeat is never answered twice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from service.mail import loops
from service.minutes.records import RECORDS
from tests.service.items.test_actions_units import _mail, _two_items_for_zhao_min


def _answers_to(pipeline: object, address: str) -> list[dict]:
    return [d for d in pipeline.store.all("outbox") if address in d["recipients"]]  # type: ignore[attr-defined]


def test_a_naive_auto_responder_gets_at_most_the_limit_and_the_recorder_is_told_once(tmp_path: Path) -> None:
    pipeline = _two_items_for_zhao_min(tmp_path)
    before = len(_answers_to(pipeline, "zhao.min@example.test"))
    limit = pipeline.rules.loops.max_answers_per_hour
    outcomes = []
    for n in range(3 * limit):
        # No Auto-Submitted, the subject copied, a body that changes a little each time.
        body = f"您好,我正在休假,第{n}次自动回复,返回后处理。"
        result = pipeline.process(
            _mail("zhao.min", "Re: 回复: [2024-OPS-001] 纪要", body, f"ar{n}"), f"t:ar{n}"
        )
        outcomes.append(result.outcome.value)
    answered = len(_answers_to(pipeline, "zhao.min@example.test")) - before
    assert answered == limit, outcomes
    assert outcomes[limit:] == ["ignored"] * (2 * limit)
    told = [d for d in pipeline.store.all("outbox") if d["key"].startswith("loop:zhao.min@example.test")]
    assert len(told) == 1 and told[0]["recipients"] == ["qian.fang@example.test"]
    record = pipeline.store.get(RECORDS, "2024-OPS-001")
    assert record["state"] == "awaiting_confirmation", "nothing a loop said was counted"


def test_the_same_message_again_is_a_repeat_and_an_objection_is_forwarded_once(tmp_path: Path) -> None:
    pipeline = _two_items_for_zhao_min(tmp_path)
    text = "第1项截止时间应为5月29日"
    first = pipeline.process(_mail("chen.jing", "Re: [2024-OPS-001] 纪要", text, "o1"), "t:o1")
    again = pipeline.process(_mail("chen.jing", "回复: [2024-OPS-001] 纪要", text, "o2"), "t:o2")
    assert first.outcome == "applied" and again.outcome == "ignored" and "repeats" in again.reason
    forwarded = [d for d in pipeline.store.all("outbox") if ":objection:" in d["key"]]
    assert len(forwarded) == 1
    other = pipeline.process(_mail("chen.jing", "Re: [2024-OPS-002] 另一个会", "确认", "o3"), "t:o3")
    assert other.outcome != "ignored", "the same words on another subject are no repeat"


def test_limits_count_only_the_last_hour_and_day(tmp_path: Path) -> None:
    from service.core.config import LoopRules
    from service.core.store import Store

    rules = LoopRules(max_answers_per_hour=2, max_answers_per_day=3)
    with Store(tmp_path) as store, store.transaction() as txn:
        from datetime import UTC, datetime

        start = datetime(2024, 5, 20, 9, 0, tzinfo=UTC)
        loops.note_answered(txn, "a@x", start, "x")
        loops.note_answered(txn, "a@x", start + timedelta(minutes=1), "x")
        assert "hour" in loops.over_limit(txn, "a@x", start + timedelta(minutes=2), rules)
        assert loops.over_limit(txn, "a@x", start + timedelta(minutes=61), rules) == ""
        loops.note_answered(txn, "a@x", start + timedelta(minutes=62), "x")
        assert "day" in loops.over_limit(txn, "a@x", start + timedelta(hours=5), rules)
        assert loops.over_limit(txn, "a@x", start + timedelta(hours=25), rules) == ""
