"""Bounded work per message, through the real pipeline: past a limit of the rules, one clear
answer to a person of the directory, nothing to a stranger, and every message one outcome."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from typing import Any

from service.core.ledger import MESSAGES
from service.mail.bodies import read_body
from service.pipeline import Pipeline
from tests.conftest import SAMPLES
from tests.service.items.test_actions_units import _mail
from tests.service.minutes.test_confirmation_units import pipeline_with_rules


def _answers(pipeline: Pipeline) -> list[dict[str, Any]]:
    return [d for d in pipeline.store.all("outbox")]


def _text(pipeline: Pipeline, doc: dict[str, Any]) -> str:
    from parsers.message import parse_message

    return parse_message(read_body(pipeline.store.data_dir, doc)).text


def _with_attachments(sender: str, n: int, size: int, message_id: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{sender}@example.test"
    msg["To"] = "minutes@example.test"
    msg["Subject"] = "纪要附件"
    msg["Message-ID"] = f"<{message_id}@example.test>"
    msg.set_content("请查收。")
    for i in range(n):
        msg.add_attachment(bytes(size), maintype="application", subtype="pdf", filename=f"f{i}.pdf")
    return bytes(msg)


def test_a_message_over_the_size_limit_is_answered_once_with_the_limit_and_read_from_its_headers(
    tmp_path: Path,
) -> None:
    pipeline = pipeline_with_rules(tmp_path, limits={"message_megabytes": 1})
    raw = _with_attachments("qian.fang", 1, 2 * 1024 * 1024, "big1")
    result = pipeline.process(raw, "t:big1")
    assert result.outcome == "rejected" and "over the 1 MB limit" in result.reason
    assert result.message_id == "big1@example.test"
    [answer] = _answers(pipeline)
    assert answer["recipients"] == ["qian.fang@example.test"]
    text = _text(pipeline, answer)
    assert "超过了 1 MB 的上限" in text and f"邮件大小 {len(raw) / 1024 / 1024:.1f} MB" in text, text
    again = pipeline.process(raw, "t:big1-again")
    assert again.already_done and len(_answers(pipeline)) == 1


def test_a_strangers_oversized_mail_gets_no_answer_but_its_outcome(tmp_path: Path) -> None:
    pipeline = pipeline_with_rules(tmp_path, limits={"message_megabytes": 1})
    raw = _with_attachments("spam", 1, 2 * 1024 * 1024, "big2").replace(
        b"spam@example.test", b"spam@elsewhere.test"
    )
    result = pipeline.process(raw, "t:big2")
    assert result.outcome == "ignored" and "outside the directory" in result.reason
    assert _answers(pipeline) == []
    assert pipeline.store.get(MESSAGES, "big2@example.test")["outcome"] == "ignored"


def test_too_many_attachments_are_answered_with_their_count(tmp_path: Path) -> None:
    pipeline = pipeline_with_rules(tmp_path, limits={"attachments": 3})
    result = pipeline.process(_with_attachments("chen.jing", 5, 100, "many"), "t:many")
    assert result.outcome == "rejected" and "5 attachments" in result.reason
    [answer] = _answers(pipeline)
    assert "附件有 5 个,超过了 3 个的上限" in _text(pipeline, answer)


def test_a_message_read_past_its_worker_budget_is_answered_and_the_next_one_is_read(
    tmp_path: Path,
) -> None:
    # A millisecond is less than any real read of 3 MB takes: the worker is stopped at it.
    pipeline = pipeline_with_rules(tmp_path, limits={"inline_kilobytes": 1, "read_seconds": 0.001})
    raw = _with_attachments("qian.fang", 1, 3 * 1024 * 1024, "costly")
    result = pipeline.process(raw, "t:costly")
    assert result.outcome == "rejected" and "time budget" in result.reason, result.reason
    assert "时间限制" in _text(pipeline, _answers(pipeline)[0])
    small = _mail("qian.fang", "我的待办", "我的待办", "small")
    assert len(small) < 1024 * 2
    assert pipeline.process(small, "t:small").outcome != "quarantined"


def _docx_draft(message_id: str) -> bytes:
    """The recorder's mail with the sample .docx draft attached."""
    msg = EmailMessage()
    msg["From"] = "qian.fang@example.test"
    msg["To"] = "minutes@example.test"
    msg["Subject"] = "会议纪要"
    msg["Message-ID"] = f"<{message_id}@example.test>"
    msg.set_content("纪要见附件。")
    docx = (SAMPLES / "draft-zh-attachment.docx").read_bytes()
    msg.add_attachment(docx, maintype="application", subtype="octet-stream", filename="纪要.docx")
    return bytes(msg)


def test_a_draft_read_in_its_worker_is_the_same_as_read_inline(tmp_path: Path) -> None:
    def distribute(limits: dict[str, Any], where: Path) -> dict[str, Any]:
        where.mkdir()
        pipeline = pipeline_with_rules(where, limits=limits)
        assert pipeline.process(_docx_draft("docx"), "t:docx").outcome == "applied"
        [record] = pipeline.store.all("records")
        return {k: record[k] for k in ("attendees", "host", "recorder", "minutes")}

    in_worker = distribute({"inline_kilobytes": 0}, tmp_path / "a")
    inline = distribute({"inline_kilobytes": 100_000}, tmp_path / "b")
    assert in_worker == inline and len(in_worker["minutes"]["items"]) >= 3


def test_a_draft_past_its_worker_budget_is_a_finding_for_the_recorder(tmp_path: Path) -> None:
    pipeline = pipeline_with_rules(tmp_path, limits={"read_seconds": 0.001})
    result = pipeline.process(_docx_draft("docx2"), "t:docx2")
    assert result.outcome == "rejected", result.reason
    [answer] = _answers(pipeline)
    assert "读取超出了时间限制" in _text(pipeline, answer)


def test_a_message_past_its_time_waits_in_quarantine_with_one_holding_answer(tmp_path: Path) -> None:
    pipeline = pipeline_with_rules(tmp_path, limits={"message_seconds": 0.000001})
    result = pipeline.process(_mail("chen.jing", "我的待办", "我的待办", "slow"), "t:slow")
    assert result.outcome == "quarantined" and "took longer than" in result.reason
    assert [d["template"] for d in _answers(pipeline)] == ["holding"]


def test_the_draft_limits_are_the_rules_not_constants(tmp_path: Path) -> None:
    """A company that wants smaller drafts says so in the rules: 10 blocks here refuses the
    sample draft that the defaults read, and the recorder hears why."""
    draft = (SAMPLES / "draft-zh-plain.txt").read_text(encoding="utf-8")
    (tmp_path / "strict").mkdir()
    strict = pipeline_with_rules(tmp_path / "strict", limits={"draft_blocks": 10})
    refused = strict.process(_mail("qian.fang", "会议纪要", draft, "s1"), "t:s1")
    assert refused.outcome == "rejected"
    assert "too long" in _text(strict, _answers(strict)[0])
    (tmp_path / "default").mkdir()
    default = pipeline_with_rules(tmp_path / "default")
    assert default.process(_mail("qian.fang", "会议纪要", draft, "s2"), "t:s2").outcome == "applied"
