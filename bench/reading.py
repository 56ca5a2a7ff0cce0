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

from parsers.command_types import Problem
from parsers.commands import read_line
from parsers.intent import read_intent
from parsers.people import load_directory
from parsers.reply_text import read_reply
from service.core.config import load_rules
from service.items.commands import command_words
from service.items.roles import departments_named
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


def minutes_replies(table: str = "minutes_replies.yaml") -> list[dict[str, Any]]:
    return list(yaml.safe_load((CASES / table).read_text(encoding="utf-8")))


HELD_OUT = "heldout/minutes_replies.yaml"  # written by someone who saw neither the code nor the first table


def score_replies(table: str = "minutes_replies.yaml") -> Score:
    words = intent_words(load_rules().intent)
    score = Score()
    for case in minutes_replies(table):
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


PROBLEMS = {
    "missing_date": Problem.NO_DATE,
    "vague_date": Problem.VAGUE_DATE,
    "past_date": Problem.DATE_PASSED,
    "missing_reason": Problem.NO_REASON,
}
PEOPLE = Path(__file__).resolve().parents[2] / "shared" / "samples" / "people.yaml"


def owner_commands(table: str = "owner_commands.yaml") -> list[dict[str, Any]]:
    return list(yaml.safe_load((CASES / table).read_text(encoding="utf-8")))


HELD_OUT_COMMANDS = "heldout/owner_commands.yaml"


def command_reading(case: dict[str, Any]) -> dict[str, Any]:
    """What the parser read of one line, in the table's own terms."""
    rules = load_rules()
    words = command_words(rules.actions.commands, tuple(rules.parsing.get("vague_deadlines", [])))
    written = case["written_on"]
    command = read_line(case["line"], words, written)
    if command is None:
        return {"verb": "none"}
    got: dict[str, Any] = {"verb": command.verb.value, "item": command.item}
    got["problem"] = next((k for k, v in PROBLEMS.items() if v == command.problem), None)
    if command.verb.value == "delay":
        got["due"] = command.new_date
    if command.verb.value in ("delay", "blocked", "reject"):
        got["reason"] = bool(command.reason.strip())
    if command.verb.value == "blocked":
        got["support"] = _department(f"{command.support} {command.reason}")
    if command.verb.value == "progress":
        got["percent"] = command.percent
    return got


def _department(text: str) -> str | None:
    directory = load_directory(PEOPLE.read_text(encoding="utf-8"))
    named = departments_named(directory, text, load_rules().actions.department_aliases)
    return named[0] if named else None


def score_commands(table: str = "owner_commands.yaml") -> Score:
    score = Score()
    for case in owner_commands(table):
        want = {k: v for k, v in case["expected"].items()}
        got = command_reading(case)
        wrong = {k: (v, got.get(k)) for k, v in want.items() if got.get(k) != v}
        score.add(
            f"{case['lang']} {want['verb']}",
            not wrong,
            {
                "id": case["id"],
                "want": want["verb"],
                "got": got.get("verb"),
                "why": wrong,
                "text": case["line"],
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
    held_out = score_replies(HELD_OUT)
    print("\n".join(held_out.lines("held-out replies to the minutes")))
    print(f"  read as consent that is not: {len(false_consents(held_out))}")
    for wrong in held_out.wrong:
        print(
            f"  ✗ {wrong['id']}: want {wrong['want']}, got {wrong['got']} ({wrong['why']}) {wrong['text'][:70]!r}"
        )
    for title, table in (
        ("owner command lines", "owner_commands.yaml"),
        ("held-out owner lines", HELD_OUT_COMMANDS),
    ):
        commands = score_commands(table)
        print("\n".join(commands.lines(title)))
        for wrong in commands.wrong:
            print(f"  ✗ {wrong['id']}: {wrong['why']} {wrong['text'][:80]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
