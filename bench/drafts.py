"""Score the draft reader on tests/cases/drafts/ (new drafts in the layouts of the source
documents and of Word/Outlook/WPS pastes), item by item against expected.yaml.

    python -m bench.drafts
"""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from parsers.message import parse_message
from parsers.model import Minutes
from parsers.people import load_directory
from parsers.vocabulary import simplified
from service.core.config import load_rules
from service.minutes.drafts import parse_file

DRAFTS = Path(__file__).resolve().parent.parent / "tests" / "cases" / "drafts"
PEOPLE = Path(__file__).resolve().parents[2] / "shared" / "samples" / "people.yaml"


def expected() -> dict[str, dict[str, Any]]:
    return dict(yaml.safe_load((DRAFTS / "expected.yaml").read_text(encoding="utf-8")))


def parse(name: str) -> Minutes:
    directory = load_directory(PEOPLE.read_text(encoding="utf-8"))
    return parse_file(DRAFTS / name, load_rules(), directory)


def subject_of(name: str) -> str:
    return parse_message((DRAFTS / name).read_bytes()).subject if name.endswith(".eml") else ""


def _iso(value: object) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _fold(text: str) -> str:
    # The reader folds Traditional to Simplified and full-width to half-width before reading.
    return "".join(simplified(unicodedata.normalize("NFKC", text)).split()).strip("。.;；")


def _loose(got: str, want: str) -> bool:
    g, w = _fold(got), _fold(want)
    return bool(g) and (w in g or g in w)


def differences(name: str, want: dict[str, Any]) -> list[str]:
    """What the parse of `name` gets wrong, one line each; [] when it reads as expected."""
    minutes = parse(name)
    got = minutes.as_json()
    out: list[str] = []
    if want.get("outcome") == "rejected":
        if minutes.valid:
            out.append("accepted, but must be rejected")
        for error in want.get("errors", []):
            del error
        return out + _count("errors", minutes, want)
    if not minutes.valid:
        out.append(f"rejected: {[f.message[:60] for f in minutes.errors]}")
    meeting = got["meeting"]
    for key, value in (want.get("meeting") or {}).items():
        if key in ("host", "recorder"):
            have = (meeting.get(key) or {}).get("name") if meeting.get(key) else None
            if have != value:
                out.append(f"meeting.{key}: {have!r} != {value!r}")
        elif key == "absent":
            if [a["name"] for a in minutes.absent] != [a["name"] for a in value]:
                out.append(f"absent: {minutes.absent} != {value}")
        elif key == "date":
            if meeting.get("date") != _iso(value):
                out.append(f"meeting.date: {meeting.get('date')} != {value}")
        elif key in ("name", "location"):
            if not _loose(str(meeting.get(key) or ""), str(value)):
                out.append(f"meeting.{key}: {meeting.get(key)!r} != {value!r}")
        elif key in ("start", "end") and meeting.get(key) != value:
            out.append(f"meeting.{key}: {meeting.get(key)!r} != {value!r}")
    if "attendees" in want and sorted(p["name"] for p in got["attendees"]) != sorted(want["attendees"]):
        out.append(f"attendees: {sorted(p['name'] for p in got['attendees'])} != {sorted(want['attendees'])}")
    items, wanted = got["items"], want.get("items", [])
    if len(items) != len(wanted):
        out.append(f"items: {len(items)} read, {len(wanted)} expected")
    for n, (have, item) in enumerate(zip(items, wanted, strict=False), 1):
        for key, value in item.items():
            if key == "owner":
                if (have.get("owner") or {}).get("name") != value:
                    out.append(f"item {n} owner: {(have.get('owner') or {}).get('name')!r} != {value!r}")
            elif key == "due":
                if have.get("due") != _iso(value):
                    out.append(f"item {n} due: {have.get('due')} != {value}")
            elif key == "supporting":
                people = {p for p in value}
                if not set(have.get("supporting", [])) >= people and have.get("supporting") != value:
                    out.append(f"item {n} supporting: {have.get('supporting')} != {value}")
            elif key in ("title", "criterion", "support"):
                if not _loose(str(have.get(key) or ""), str(value)):
                    out.append(f"item {n} {key}: {have.get(key)!r} != {value!r}")
            elif key == "department" and have.get(key) != value:
                out.append(f"item {n} department: {have.get(key)!r} != {value!r}")
    if "errors" in want:
        out += _count("errors", minutes, want)
    if "warnings" in want and len([f for f in minutes.findings if f.severity == "warning"]) < len(
        want["warnings"]
    ):
        out.append(f"warnings: {[f.message[:50] for f in minutes.findings if f.severity == 'warning']}")
    return out


def _count(kind: str, minutes: Minutes, want: dict[str, Any]) -> list[str]:
    have = [f for f in minutes.findings if f.severity == "error"]
    if kind == "errors" and len(have) < len(want.get("errors", [])):
        return [f"errors: {len(have)} < {len(want['errors'])}: {[f.message[:50] for f in have]}"]
    if kind == "errors" and not want.get("errors") and have:
        return [f"errors where none: {[f.message[:50] for f in have]}"]
    return []


def main() -> int:
    cases = expected()
    right_items = total_items = right_drafts = 0
    for name, want in cases.items():
        diff = differences(name, want)
        wanted = len(want.get("items", []))
        bad = {line.split()[1] for line in diff if line.startswith("item ")}
        total_items += wanted
        right_items += max(0, wanted - len(bad)) if not any(d.startswith("items:") for d in diff) else 0
        right_drafts += not diff
        print(f"{'✓' if not diff else '✗'} {name}")
        for line in diff:
            print(f"    {line}")
    print(f"drafts read as expected: {right_drafts}/{len(cases)}; items: {right_items}/{total_items}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
