"""Score the readers on the labelled tables in tests/cases/.

    python -m bench.reading            # replies to the minutes and owner command lines

Each table is written from how people write, not from the code; the score is the share read
as a person would, with every misreading listed.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from parsers.intent import read_intent
from parsers.reply_text import read_reply
from service.core.config import load_rules
from service.minutes.answers import intent_words

CASES = Path(__file__).resolve().parent.parent / "tests" / "cases"
LABELS = {"confirm": "confirmed", "object": "objected", "unclear": "unclear"}


@dataclass
class Score:
    total: int = 0
    right: int = 0
    by_group: Counter[str] = field(default_factory=Counter)
    right_by_group: Counter[str] = field(default_factory=Counter)
    wrong: list[dict[str, Any]] = field(default_factory=list)

    def add(self, group: str, ok: bool, detail: dict[str, Any]) -> None:
        self.total += 1
        self.by_group[group] += 1
        if ok:
            self.right += 1
            self.right_by_group[group] += 1
        else:
            self.wrong.append(detail)

    def lines(self, title: str) -> list[str]:
        out = [f"{title}: {self.right}/{self.total} ({100 * self.right / max(self.total, 1):.1f} %)"]
        for group in sorted(self.by_group):
            out.append(f"  {group:28} {self.right_by_group[group]}/{self.by_group[group]}")
        return out


def minutes_replies() -> list[dict[str, Any]]:
    return list(yaml.safe_load((CASES / "minutes_replies.yaml").read_text(encoding="utf-8")))


def score_replies() -> Score:
    words = intent_words(load_rules().intent)
    score = Score()
    for case in minutes_replies():
        visible = read_reply(case["text"]).text
        reading = read_intent(visible, words)
        want = LABELS[case["expected"]]
        score.add(
            f"{case['lang']} {case['expected']}",
            reading.intent.value == want,
            {
                "id": case["id"],
                "want": want,
                "got": reading.intent.value,
                "why": reading.reason,
                "text": visible,
            },
        )
    return score


def false_consents(score: Score) -> list[dict[str, Any]]:
    return [w for w in score.wrong if w["got"] == "confirmed"]


def main() -> int:
    replies = score_replies()
    print("\n".join(replies.lines("replies to the minutes")))
    print(f"  read as consent that is not: {len(false_consents(replies))}")
    for wrong in replies.wrong:
        print(
            f"  ✗ {wrong['id']}: want {wrong['want']}, got {wrong['got']} ({wrong['why']}) {wrong['text'][:80]!r}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
