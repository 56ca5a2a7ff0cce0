"""Only the real sender may act: each attack of issue 15 through the real pipeline.

The receiving server's Authentication-Results are set by the test with the authserv-id the
rules trust, as Postfix with an authentication milter would write them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from parsers.message import parse_message
from service.mail import outbox
from service.mail.bodies import read_body
from service.minutes.records import RECORDS
from service.pipeline import MESSAGES, Pipeline
from tests.conftest import SAMPLES
from tests.service.items.test_actions_units import _mail
from tests.service.minutes.test_confirmation_units import pipeline_with_rules

TRUSTED = "mx.example.test"


def _pipeline(tmp_path: Path, **security: Any) -> Pipeline:
    pipeline: Pipeline = pipeline_with_rules(tmp_path, security={"trusted_authserv_id": TRUSTED, **security})
    return pipeline


def _signed(raw: bytes, result: str = "dmarc=pass spf=pass dkim=pass") -> bytes:
    return f"Authentication-Results: {TRUSTED}; {result}\n".encode() + raw


def _distributed(tmp_path: Path) -> Pipeline:
    pipeline = _pipeline(tmp_path)
    draft = (SAMPLES / "draft-zh-plain.txt").read_text(encoding="utf-8")
    assert pipeline.process(_signed(_mail("qian.fang", "纪要", draft, "d0")), "t:d0").outcome == "applied"
    return pipeline


def _responses(pipeline: Pipeline) -> dict[str, Any]:
    return dict(pipeline.store.get(RECORDS, "2024-OPS-001")["responses"])


def test_a_forged_from_that_fails_dmarc_changes_nothing_and_the_real_owner_is_told_once(
    tmp_path: Path,
) -> None:
    pipeline = _distributed(tmp_path)
    for n in range(2):
        forged = _signed(
            _mail("chen.jing", "Re: [2024-OPS-001] 纪要", "确认", f"f{n}"), "dmarc=fail spf=fail"
        )
        result = pipeline.process(forged, f"t:f{n}")
        assert result.outcome == "ignored" and "authentication failed" in result.reason
    assert _responses(pipeline) == {}
    told = [d for d in pipeline.store.all("outbox") if d["key"].startswith("spoofed:chen.jing@")]
    assert len(told) == 1 and told[0]["recipients"] == ["chen.jing@example.test"]


def test_a_display_name_holding_an_address_is_a_name_not_the_sender(tmp_path: Path) -> None:
    pipeline = _distributed(tmp_path)
    # "王磊 <wang.lei@example.test>, " encoded as the display name of mallory's address.
    raw = _mail("chen.jing", "Re: [2024-OPS-001] 纪要", "确认", "m1").replace(
        b"From: chen.jing@example.test",
        b"From: =?utf-8?b?546L56OKIDx3YW5nLmxlaUBleGFtcGxlLnRlc3Q+LCA=?= <mallory@attacker.test>",
    )
    result = pipeline.process(raw, "t:m1")
    assert result.outcome == "rejected" and "mallory@attacker.test is not on" in result.reason
    assert _responses(pipeline) == {}


def test_two_addresses_in_from_or_a_different_sender_are_nobody_of_the_record(tmp_path: Path) -> None:
    pipeline = _distributed(tmp_path)
    two = _mail("chen.jing", "Re: [2024-OPS-001] 纪要", "确认", "t1").replace(
        b"From: chen.jing@example.test", b"From: chen.jing@example.test, mallory@attacker.test"
    )
    assert pipeline.process(_signed(two), "t:t1").outcome == "rejected"
    sender = _mail("chen.jing", "Re: [2024-OPS-001] 纪要", "确认", "t2").replace(
        b"From: chen.jing@example.test", b"From: chen.jing@example.test\nSender: mallory@attacker.test"
    )
    assert pipeline.process(_signed(sender), "t:t2").outcome == "rejected"
    assert _responses(pipeline) == {}


def test_a_revision_needs_a_pass_when_the_rules_trust_a_server(tmp_path: Path) -> None:
    pipeline = _distributed(tmp_path)
    revised = (
        (SAMPLES / "draft-zh-plain.txt").read_text(encoding="utf-8").replace("2024-05-27", "2024-05-29", 1)
    )
    unsigned = pipeline.process(_mail("qian.fang", "Re: [2024-OPS-001] 纪要", revised, "r1"), "t:r1")
    assert unsigned.outcome == "rejected" and "revise needs a passing authentication" in unsigned.reason
    assert pipeline.store.get(RECORDS, "2024-OPS-001")["version"] == 1
    signed = pipeline.process(_signed(_mail("qian.fang", "Re: [2024-OPS-001] 纪要", revised, "r2")), "t:r2")
    assert signed.outcome == "applied" and pipeline.store.get(RECORDS, "2024-OPS-001")["version"] == 2


def test_no_relay_outsiders_drafts_are_ignored_and_outside_attendees_are_a_finding(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path)
    draft = (SAMPLES / "draft-zh-plain.txt").read_text(encoding="utf-8")
    outsider = _mail("spam", "纪要", draft, "o1").replace(b"spam@example.test", b"spam@attacker.test")
    assert pipeline.process(outsider, "t:o1").outcome == "ignored"
    assert pipeline.store.count(RECORDS) == 0 and pipeline.store.count("outbox") == 0
    with_outside = draft.replace("参会人:", "参会人:Eve <eve@attacker.test>、", 1)
    assert with_outside != draft
    result = pipeline.process(_signed(_mail("qian.fang", "纪要", with_outside, "o2")), "t:o2")
    assert result.outcome == "rejected" and pipeline.store.count(RECORDS) == 0
    (answer,) = pipeline.store.all("outbox")
    assert (
        answer["recipients"] == ["qian.fang@example.test"] and "eve@attacker.test" not in answer["recipients"]
    )


def test_a_guessed_message_id_of_a_mail_in_doubt_does_not_mark_it_sent(tmp_path: Path) -> None:
    pipeline = _distributed(tmp_path)
    queued = next(d for d in pipeline.store.all("outbox") if d["state"] == "pending")
    assert queued["message_id"] != outbox.message_id_for(queued["key"], "example.test"), "not predictable"
    copy = read_body(pipeline.store.data_dir, queued)
    pipeline.process(copy, "t:early-copy")
    assert pipeline.store.get("outbox", queued["key"])["state"] == "pending", (
        "a copy settles only a send in doubt: this one was never begun"
    )
    with pipeline.store.transaction() as txn:  # what a kill between the server's 250 and our commit leaves
        txn.put("outbox", queued["key"], {**queued, "state": "sending", "sending_since": 0.0})
    guessed = outbox.message_id_for(queued["key"], "example.test")  # what the old scheme would give
    fake = _mail("mallory", "x", "x", "ignored").replace(
        b"Message-ID: <ignored@example.test>",
        f"Message-ID: <{guessed}>\nX-Minutesd-Loop: minutes@example.test".encode(),
    )
    pipeline.process(fake, "t:fake")
    assert pipeline.store.get("outbox", queued["key"])["state"] == "sending"
    pipeline.process(copy.replace(b"\r\n\r\n", b"\r\nX-Again: 1\r\n\r\n", 1), "t:copy")
    assert pipeline.store.get("outbox", queued["key"])["state"] == "sent", "our own signed copy settles it"


def test_encoded_line_breaks_and_huge_references_get_one_outcome_and_intact_headers(tmp_path: Path) -> None:
    pipeline = _distributed(tmp_path)
    refs = " ".join(f"<r{n}@example.test>" for n in range(40_000))
    raw = _mail("chen.jing", "Re: [2024-OPS-001] 纪要", "确认", "x1").replace(
        b"From: chen.jing@example.test",
        b"From: =?utf-8?q?Chen=0D=0ABcc:_mallory@attacker.test?= <chen.jing@example.test>\nReferences: "
        + refs.encode(),
    )
    assert len(parse_message(raw).thread_ids) == 100, "thread matching reads a bounded number of ids"
    result = pipeline.process(_signed(raw), "t:x1")
    assert (
        result.outcome == "applied"
        and _responses(pipeline)["chen.jing@example.test"]["response"] == "confirmed"
    )
    doc = pipeline.store.get(MESSAGES, "x1@example.test")
    for key in doc["replies"]:
        head = (
            read_body(pipeline.store.data_dir, pipeline.store.get("outbox", key))
            .decode()
            .split("\r\n\r\n", 1)[0]
        )
        assert "mallory" not in head and all(line[:1] in " \t" or ":" in line for line in head.split("\r\n"))
