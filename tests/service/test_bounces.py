"""A hard bounce changes what happens: the recorder hears at once, the unreached attendee's
silence is no consent, and an owner who cannot be reached is their head's business."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from service import scheduler
from service.minutes.records import RECORDS
from tests.service.items.test_actions_units import _two_items_for_zhao_min

DSN = b"""From: MAILER-DAEMON@example.test
To: minutes@example.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce1@example.test>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

The mail could not be delivered.
--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.test

Final-Recipient: rfc822; chen.jing@example.test
Action: failed
Status: 5.1.1

--B--
"""


def test_a_bounced_attendee_is_reported_and_their_silence_never_confirms(tmp_path: Path) -> None:
    pipeline = _two_items_for_zhao_min(tmp_path)
    result = pipeline.process(DSN, "t:dsn")
    assert result.outcome == "ignored" and "bounce" in result.reason
    told = [
        d for d in pipeline.store.all("outbox") if d["key"] == "2024-OPS-001:bounced:chen.jing@example.test"
    ]
    assert len(told) == 1 and told[0]["recipients"] == ["qian.fang@example.test"]
    assert pipeline.process(DSN.replace(b"bounce1", b"bounce2"), "t:dsn2").outcome == "ignored"
    assert len([d for d in pipeline.store.all("outbox") if ":bounced:" in d["key"]]) == 1, "told once"

    after_window = datetime(2024, 5, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    scheduler.tick(pipeline.store, pipeline.outbox, pipeline.rules, after_window, pipeline.directory)
    record = pipeline.store.get(RECORDS, "2024-OPS-001")
    assert record["state"] == "awaiting_confirmation", "silence of an unreached attendee is no consent"
    assert any(d["key"].endswith(":host-told") for d in pipeline.store.all("outbox"))
