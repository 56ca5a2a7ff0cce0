"""The directory's `language` per person: the spellings people write, normalised; a bad value
reported with its line (YAML and CSV) and read as no language."""

from __future__ import annotations

import pytest

from parsers.people import directory_problems, load_directory, normalise_language


@pytest.mark.parametrize(
    ("written", "language"),
    [
        ("zh-CN", "zh-CN"),
        ("zh", "zh-CN"),
        ("zh_cn", "zh-CN"),
        ("zh-Hans", "zh-CN"),
        ("简体中文", "zh-CN"),
        ("zh-TW", "zh-TW"),
        ("zh_TW", "zh-TW"),
        ("zh-Hant", "zh-TW"),
        ("zh-HK", "zh-TW"),
        ("繁體", "zh-TW"),
        ("Traditional Chinese", "zh-TW"),
        ("en", "en"),
        ("EN", "en"),
        ("en-US", "en"),
        ("en_GB", "en"),
        ("English", "en"),
        ("", ""),
        (None, ""),
        ("  ", ""),
        ("fr", None),
        ("klingon", None),
        ("zh-XX", None),
        (False, None),  # YAML reads `language: no` as false
    ],
)
def test_language_spellings_normalise(written: object, language: str | None) -> None:
    assert normalise_language(written) == language


def test_the_directory_reads_each_persons_language() -> None:
    directory = load_directory(
        "people:\n"
        "  - {name: 王磊, email: wang.lei@example.test, language: zh-Hant}\n"
        "  - {name: 刘洋, email: Liu.Yang@example.test, language: en-US}\n"
        "  - {name: 陈静, email: chen.jing@example.test}\n"
        "  - {name: 李娜, email: li.na@example.test, language: fr}\n"
    )
    assert directory.by_email("wang.lei@example.test").language == "zh-TW"  # type: ignore[union-attr]
    assert directory.language_of("liu.yang@example.test") == "en"
    assert directory.language_of("chen.jing@example.test") == ""
    assert directory.language_of("li.na@example.test") == "", "a bad value is no language"
    assert directory.language_of("nobody@example.test") == ""
    assert directory.names == ("王磊", "刘洋", "陈静", "李娜")


def test_a_csv_directory_has_a_language_column_checked_by_line() -> None:
    text = (
        "name,email,department,language\n"
        "王磊,wang.lei@example.test,产品部,zh_TW\n"
        "陈静,chen.jing@example.test,技术部,german\n"
        "刘洋,liu.yang@example.test,市场部,\n"
    )
    directory = load_directory(text, "csv")
    assert directory.language_of("wang.lei@example.test") == "zh-TW"
    assert directory.language_of("liu.yang@example.test") == ""
    assert directory_problems(text, "csv") == [
        "line 3: 陈静's language german is not one of zh-CN, zh-TW, en"
    ]


def test_a_good_directory_with_languages_has_no_problems() -> None:
    text = (
        "people:\n"
        "  - name: 王磊\n"
        "    email: wang.lei@example.test\n"
        "    language: zh-TW\n"
        "  - {name: 刘洋, email: liu.yang@example.test, language: en}\n"
    )
    assert directory_problems(text) == []
