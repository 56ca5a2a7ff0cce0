"""Every sample draft parses to what ../shared/samples/expected.yaml says, field by field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from parsers.model import Minutes
from parsers.people import Directory, load_directory
from service.core.config import load_rules
from service.minutes.drafts import parse_file
from tests.conftest import SAMPLES

EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load((SAMPLES / "expected.yaml").read_text(encoding="utf-8"))
VALID = sorted(name for name in EXPECTED if name != "draft-zh-invalid.txt")
RULES = load_rules()


@pytest.fixture(scope="module")
def directory() -> Directory:
    return load_directory((SAMPLES / "people.yaml").read_text(encoding="utf-8"))


def parse(name: str, directory: Directory) -> Minutes:
    return parse_file(SAMPLES / name, RULES, directory)


def _iso(value: object) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@pytest.mark.parametrize("name", VALID)
def test_meeting_fields(name: str, directory: Directory) -> None:
    expected = EXPECTED[name]["meeting"]
    got = parse(name, directory).as_json()["meeting"]
    minutes = parse(name, directory)
    for key, value in expected.items():
        if key in ("host", "recorder"):
            assert got[key]["name"] == value, key
            assert got[key]["email"], f"{key} resolves to an address"
        elif key == "absent":
            assert minutes.absent == value
        elif key == "date":
            assert got["date"] == _iso(value)
        else:
            assert got[key] == value, key


@pytest.mark.parametrize("name", VALID)
def test_attendees_include_host_and_recorder_and_resolve(name: str, directory: Directory) -> None:
    minutes = parse(name, directory)
    names = [p.name for p in minutes.attendees]
    assert sorted(names) == sorted(EXPECTED[name]["attendees"])
    assert len(names) == len(set(names)), "each person once"
    assert all(p.email.endswith("@example.test") for p in minutes.attendees)


@pytest.mark.parametrize("name", VALID)
def test_items(name: str, directory: Directory) -> None:
    expected_items = EXPECTED[name]["items"]
    items = parse(name, directory).as_json()["items"]
    assert len(items) == len(expected_items)
    for got, expected in zip(items, expected_items, strict=True):
        for key, value in expected.items():
            if key == "owner":
                assert got["owner"]["name"] == value
                assert got["owner"]["email"]
            elif key == "due":
                assert got["due"] == _iso(value)
            else:
                assert got[key] == value, (got["no"], key)


@pytest.mark.parametrize("name", VALID)
def test_valid_samples_have_no_errors(name: str, directory: Directory) -> None:
    minutes = parse(name, directory)
    assert minutes.valid, [f.message for f in minutes.errors]


@pytest.mark.parametrize("name", VALID)
def test_counts_and_extras(name: str, directory: Directory) -> None:
    expected = EXPECTED[name]
    got = parse(name, directory).as_json()
    for key in ("decisions", "agenda", "disagreements", "consensus"):
        if key in expected:
            assert len(got[key]) == expected[key], key
    if "background" in expected:
        assert got["meeting"]["background"] == expected["background"]
    if "next_meeting" in expected:
        assert got["next_meeting"]["date"] == _iso(expected["next_meeting"]["date"])
        assert got["next_meeting"]["start"] == expected["next_meeting"]["start"]
    if "record_prefix" in expected:
        assert got["record_prefix"] == expected["record_prefix"]


def test_attachment_warns_about_the_department_the_directory_disagrees_with(directory: Directory) -> None:
    minutes = parse("draft-zh-attachment.docx", directory)
    warnings = [f for f in minutes.findings if f.severity == "warning" and f.rule == "department_matches"]
    assert any("钱芳" in f.message and "行政部" in f.message and "运营部" in f.message for f in warnings)
    assert all(f.where for f in warnings)


def test_traditional_names_and_departments_resolve_to_simplified_entries(directory: Directory) -> None:
    minutes = parse("draft-zh-tw.txt", directory)
    assert [i.owner.name for i in minutes.items if i.owner] == ["陈静", "刘洋"]
    assert [i.department for i in minutes.items] == ["技术部", "市场部"]
    assert minutes.meeting.host is not None and minutes.meeting.host.department == "财务部"


def test_english_names_resolve_through_their_addresses(directory: Directory) -> None:
    minutes = parse("draft-en.md", directory)
    assert minutes.language == "en"
    assert {p.email for p in minutes.attendees} == {
        "liu.yang@example.test",
        "zhang.wei@example.test",
        "zhou.ting@example.test",
        "chen.jing@example.test",
        "sun.hao@example.test",
    }


def test_the_invalid_draft_is_refused_with_exactly_the_listed_findings(directory: Directory) -> None:
    minutes = parse("draft-zh-invalid.txt", directory)
    assert not minutes.valid
    errors = [(f.rule, f.message, f.where) for f in minutes.findings if f.severity == "error"]
    summary = sorted((rule, where) for rule, _, where in errors)
    assert summary == sorted(
        [
            ("concrete_deadline", "第16行“截止时间”列"),  # item 1: 尽快
            ("single_owner", "第17行“负责人”列"),  # item 2: 吴刚、孙浩
            ("owner_present", "第18行“负责人”列"),  # item 3
            ("criterion_present", "第18行“交付标准”列"),  # item 3
            ("concrete_deadline", "第19行“截止时间”列"),  # item 4: 近期
            ("people_resolve", "第8行"),  # 马超
        ]
    )
    messages = "\n".join(message for _, message, _ in errors)
    for needle in (
        "第1项",
        "尽快",
        "吴刚、孙浩",
        "第3项行动项没有负责人",
        "第3项行动项没有交付标准",
        "近期",
        "马超",
    ):
        assert needle in messages
    assert not [f for f in minutes.findings if f.severity == "warning"]


def test_every_sample_file_goes_through_the_cli(tmp_path: Path) -> None:
    import json

    from tests.conftest import run_cli, service_env

    env = service_env(tmp_path, {"MINUTESD_DIRECTORY": str(SAMPLES / "people.yaml")})
    for name in EXPECTED:
        result = run_cli(["parse", str(SAMPLES / name)], env)
        payload = json.loads(result.stdout)
        assert result.returncode == (1 if name == "draft-zh-invalid.txt" else 0), result.stderr
        assert set(payload) >= {"meeting", "attendees", "absent", "items", "findings"}
        for item in payload["items"]:
            assert set(item) >= {
                "no",
                "title",
                "owner",
                "department",
                "supporting",
                "due",
                "criterion",
                "support",
                "priority",
                "status",
                "notes",
            }
