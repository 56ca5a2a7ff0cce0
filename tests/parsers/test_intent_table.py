"""Every labelled reply to the minutes (tests/cases/minutes_replies.yaml) read as a person would.

The table was written from how people write in QQ Mail, Foxmail, Outlook zh/zh-TW, Gmail,
iPhone and Coremail, not from the code. A reply may be asked back (unclear) instead of
read as labelled only where a person could not decide without the thread it points to.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.reading import LABELS, minutes_replies, score_replies
from parsers.intent import read_intent
from parsers.reply_text import read_reply
from service.core.config import load_rules
from service.minutes.answers import intent_words

CASES = minutes_replies()
WORDS = intent_words(load_rules().intent)
# "同意楼上" agrees with whatever the mail above said; only the quoted chain tells what.
ASKED_BACK = {"zhcn-confirm-outlook-tongyi-loushang", "zhcn-object-outlook-tongyi-loushang-objection"}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_each_reply_is_read_as_labelled(case: dict[str, Any]) -> None:
    reading = read_intent(read_reply(case["text"]).text, WORDS)
    want = LABELS[case["expected"]]
    if case["id"] in ASKED_BACK:
        want = "unclear"
    assert reading.intent.value == want, reading.reason


def test_the_table_is_large_and_balanced() -> None:
    langs = {c["lang"] for c in CASES}
    assert len(CASES) >= 300 and {"zh-CN", "zh-TW", "en"} <= langs
    assert {c["expected"] for c in CASES} == {"confirm", "object", "unclear"}


def test_nothing_is_read_as_consent_that_is_not() -> None:
    score = score_replies()
    assert [w["id"] for w in score.wrong if w["got"] == "confirmed"] == []


HELD_OUT = minutes_replies("heldout/minutes_replies.yaml")


def test_the_held_out_table_never_reads_consent_that_is_not() -> None:
    score = score_replies("heldout/minutes_replies.yaml")
    assert len(HELD_OUT) >= 150
    assert [w["id"] for w in score.wrong if w["got"] == "confirmed"] == []
    # What is missed is read as a correction (forwarded) or asked back, never as consent.
    assert score.right / score.total >= 0.97, [w["id"] for w in score.wrong]
