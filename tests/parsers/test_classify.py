"""parsers.classify over the samples and the corpora's bounces and auto-replies."""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers.classify import AutomaticPolicy, Kind, classify
from parsers.message import parse_message
from service.core.config import load_rules, settings_from_env
from service.stages import automatic_policy
from tests.conftest import CORPORA, SAMPLES

POLICY: AutomaticPolicy = automatic_policy(
    load_rules(), settings_from_env({"MINUTESD_ADDRESS": "minutes@example.test"})
)


def kind_of(path: Path) -> Kind:
    return classify(parse_message(path.read_bytes()), POLICY).kind


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("confirm-outlook-zh.eml", Kind.REPLY),
        ("confirm-foxmail-gbk.eml", Kind.REPLY),
        ("object-163.eml", Kind.REPLY),
        ("done-with-evidence.eml", Kind.REPLY),
        ("multi-command.eml", Kind.REPLY),
        ("english-confirm-gmail.eml", Kind.REPLY),
        ("not-a-participant.eml", Kind.REPLY),
        ("out-of-office.eml", Kind.AUTOMATIC),
    ],
)
def test_sample_replies(name: str, kind: Kind) -> None:
    assert kind_of(SAMPLES / "replies" / name) == kind


def test_a_new_message_is_a_draft() -> None:
    raw = "From: 钱芳 <qian.fang@example.test>\nSubject: 会议纪要:Q3产品规划会\n\n会议名称:Q3产品规划会\n"
    assert classify(parse_message(raw.encode()), POLICY).kind == Kind.DRAFT


def test_our_own_mail_is_automatic() -> None:
    raw = "From: minutes@example.test\nSubject: 回复: x\nX-Minutesd-Loop: minutes@example.test\n\nx\n"
    assert classify(parse_message(raw.encode()), POLICY).kind == Kind.AUTOMATIC


DISCOURSE = {
    "auto_generated_header.eml": {Kind.AUTOMATIC},
    "auto_generated_precedence.eml": {Kind.AUTOMATIC},
    "auto_generated_subject.eml": {Kind.AUTOMATIC},
    "auto_reply.eml": {Kind.AUTOMATIC},
    "bounced_email.eml": {Kind.BOUNCE},
    "bounced_email_multiple_status_codes.eml": {Kind.BOUNCE},
    "hard_bounce_via_verp.eml": {Kind.BOUNCE},
    # Exchange puts X-Auto-Response-Suppress on ordinary mail: a person wrote this.
    "quirks_exchange_xars.eml": {Kind.DRAFT, Kind.REPLY},
    "chinese_reply.eml": {Kind.DRAFT, Kind.REPLY},
    "big5.eml": {Kind.DRAFT, Kind.REPLY},
}


@pytest.mark.parametrize(("name", "kinds"), DISCOURSE.items())
def test_discourse_fixtures(name: str, kinds: set[Kind]) -> None:
    path = CORPORA / "discourse_fixtures" / name
    if not path.exists():
        pytest.skip("shared corpora not present")
    assert kind_of(path) in kinds


# A moderation notice sent from a person's own address with an "RE:" subject and no
# automatic header: nothing in it says robot, so it is read as a reply (and then refused).
KNOWN_HUMAN_LOOKING = {"simple_20.txt"}


def bounce_files() -> list[Path]:
    found: list[Path] = []
    for corpus in ("flufl_bounce", "sisimai_set_of_emails"):
        folder = CORPORA / corpus
        if folder.exists():
            found += [
                p
                for p in sorted(folder.rglob("*"))
                if p.is_file()
                and p.suffix in (".txt", ".eml")
                and p.name != "README.txt"
                and "/not/" not in str(p)
                and p.name not in KNOWN_HUMAN_LOOKING
            ]
    return found


@pytest.mark.parametrize("path", bounce_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_bounces_and_auto_replies_are_never_answered(path: Path) -> None:
    assert kind_of(path) in (Kind.BOUNCE, Kind.AUTOMATIC)


def test_sisimai_non_bounces_are_not_bounces() -> None:
    folder = CORPORA / "sisimai_set_of_emails" / "not"
    if not folder.exists():
        pytest.skip("shared corpora not present")
    for path in folder.glob("*.eml"):
        assert kind_of(path) not in (Kind.BOUNCE,), path.name


def test_dsn_failed_recipients_are_extracted() -> None:
    expected = CORPORA / "flufl_bounce" / "expected.tsv"
    if not expected.exists():
        pytest.skip("shared corpora not present")
    checked = 0
    for line in expected.read_text().splitlines()[1:]:
        name, _, fact = line.partition("\t")
        if not name.startswith("dsn_") or "PERMANENT" not in fact or "addresses=" not in fact:
            continue
        addresses = {a.strip().lower() for a in fact.split("addresses=", 1)[1].split(",") if "@" in a}
        msg = parse_message((CORPORA / "flufl_bounce" / name).read_bytes())
        assert addresses <= set(msg.failed_recipients), name
        checked += 1
    assert checked >= 3
