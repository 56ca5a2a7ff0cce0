"""Every labelled owner line (tests/cases/owner_commands.yaml) read as a person would.

Verb, item, new date, whether a reason was given, the department asked for, the percent, and
what must be asked back; 207 lines in zh-CN, zh-TW and en, written from how owners write.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.reading import command_reading, owner_commands

CASES = owner_commands()


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_each_line_is_read_as_labelled(case: dict[str, Any]) -> None:
    got = command_reading(case)
    want = case["expected"]
    assert {k: got.get(k) for k in want} == want


def test_the_table_covers_every_verb_and_language() -> None:
    assert len(CASES) >= 100
    assert {c["expected"]["verb"] for c in CASES} >= {
        "done", "progress", "delay", "blocked", "cancel", "verify", "reject", "none",
    }  # fmt: skip
    assert {c["lang"] for c in CASES} == {"zh-CN", "zh-TW", "en"}


def test_the_held_out_owner_lines_are_read_and_never_as_a_wrong_verb_that_changes_state() -> None:
    from bench.reading import HELD_OUT_COMMANDS, score_commands

    score = score_commands(HELD_OUT_COMMANDS)
    assert score.total >= 100
    wrong_verb = [w["id"] for w in score.wrong if w["got"] not in (w["want"], "none")]
    assert wrong_verb == [], "a misread verb changes an item; a line not read changes nothing"
    assert score.right / score.total >= 0.97, [w["id"] for w in score.wrong]
