"""Drafts written fresh in the layouts of the source documents and of Word/Outlook/WPS pastes
(tests/cases/drafts/), each read item by item against its expected.yaml entry.

They cover Traditional Word pastes (主席 / 紀錄 / 工作事項 / 協辦單位 / 預計完成日), Outlook's
"Action Items:" with 1.<TAB> numbering and English sentence items, two-level headers with merged
cells in HTML and .docx, lead/support written in a cell, inline-field item lines, a section of
items that yields none (an error), an item with no title (an error), a draft with no host (a
finding), and confidentiality from the meeting's own fields, never from a signature.
"""

from __future__ import annotations

import pytest

from bench.drafts import differences, expected, parse, subject_of
from parsers.model import Minutes
from service.core.config import load_rules
from service.minutes.intake import marked_confidential

CASES = expected()


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_draft_reads_as_expected(name: str) -> None:
    assert differences(name, CASES[name]) == []


def test_there_are_enough_new_drafts_in_every_language() -> None:
    assert len(CASES) >= 10
    assert {c["lang"] for c in CASES.values()} >= {"zh-CN", "zh-TW", "en", "mixed"}


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.get("outcome") == "rejected"])
def test_a_draft_that_loses_items_is_refused_with_a_finding_that_points_at_them(name: str) -> None:
    minutes: Minutes = parse(name)
    assert not minutes.valid
    assert any(f.rule in ("items_found", "title_present") and f.where for f in minutes.errors)


def test_the_host_not_read_is_a_finding_not_a_guess() -> None:
    minutes = parse("draft-zh-no-host.txt")
    assert minutes.meeting.host is None
    assert [f.rule for f in minutes.findings if f.rule == "host_named"] == ["host_named"]


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if "confidential" in c])
def test_confidential_only_from_the_meetings_own_marking(name: str) -> None:
    markers = load_rules().confirmation.confidential_markers
    assert marked_confidential(subject_of(name), parse(name), markers) == CASES[name]["confidential"]
