"""Reading what a person wrote in a reply, in the clients our users have."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.reply_sets import CORPORA, all_cases, score
from parsers.message import parse_message
from parsers.reply_text import read_reply, strip_quotes, visible_html, visible_text
from tests.conftest import SAMPLES


@pytest.mark.skipif(not CORPORA.exists(), reason="../shared/corpora is not beside the repository")
def test_each_labelled_corpus_set_is_read_right_at_least_95_percent() -> None:
    results = score(all_cases())
    assert set(results) == {"github_email_reply_parser", "discourse_email_reply_trimmer", "mailgun_talon"}
    for set_name, (hits, total, misses) in results.items():
        assert total >= 20, set_name
        assert hits / total >= 0.95, f"{set_name}: {hits}/{total}, missed {misses}"


SAMPLE_VISIBLE = {
    "confirm-foxmail-gbk.eml": "同意",
    "confirm-outlook-zh.eml": "确认,无异议。\n\n陈静\n技术部 总监\n手机:138-0000-0000",
    "done-with-evidence.eml": "已完成,流程文档见附件。",
    "english-confirm-gmail.eml": "Looks good to me, confirmed.\n\nThanks,\nTing",
    "multi-command.eml": "#3 完成\n#5 延期至6月30日 原因:等供应商报价",
    "not-a-participant.eml": "确认",
    "object-163.eml": "不同意第1项的截止时间,客服部需要到5月29日才能完成流程图,请改为2024-05-29。\n"
    "另外决策结论第2条应为“2小时内首次联系客户”。",
    "out-of-office.eml": "您好,我正在休假,5月27日返回,期间邮件不能及时回复。",
}


@pytest.mark.parametrize("name", sorted(SAMPLE_VISIBLE))
def test_every_sample_reply_is_read_exactly(name: str) -> None:
    msg = parse_message((SAMPLES / "replies" / name).read_bytes())
    assert read_reply(msg.text, msg.html).text == SAMPLE_VISIBLE[name]


def test_all_sample_replies_are_covered() -> None:
    assert {p.name for p in (SAMPLES / "replies").glob("*.eml")} == set(SAMPLE_VISIBLE)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # Outlook, Traditional Chinese
        (
            "確認\n\n寄件者: minutes <minutes@example.test>\n寄件日期: 2024年5月20日 下午 04:02\n"
            "收件者: 陳靜\n主旨: [2024-OPS-001] 會議紀要\n\n不同意",
            "確認",
        ),
        # Outlook, English, with its underscore line
        (
            "Confirmed.\n________________________________\nFrom: minutes\nSent: Monday\nTo: Ann\n"
            "Subject: minutes\n\nI object",
            "Confirmed.",
        ),
        # Outlook zh-CN, the older separator
        ("同意\n\n-----原始邮件-----\n发件人: minutes\n发送时间: 2024年5月20日\n\n不同意", "同意"),
        # QQ Mail in English mode
        (
            '没问题\n\n------------------ Original ------------------\nFrom: "minutes"<m@x>;\n'
            "Date: Mon, May 20, 2024 04:02 PM\n\n不同意",
            "没问题",
        ),
        # Coremail / 163 / 126
        ('确认无误\n\n在 2024-05-20 16:02:11,"minutes" <minutes@example.test> 写道:\n>不同意', "确认无误"),
        # Apple Mail in Chinese, wrapped
        ("收到无异议\n\n> 在 2024年5月20日，16:02，minutes <m@x> 写道：\n>\n> 不同意", "收到无异议"),
        # mobile signatures
        ("同意\n\n发自我的iPhone", "同意"),
        ("同意\n\n发自网易邮箱大师", "同意"),
        ("確認\n\n從我的 iPhone 傳送", "確認"),
        # a lone header-like line is the person's text
        ("From: 6月1日起由我负责\n其余确认", "From: 6月1日起由我负责\n其余确认"),
        # a line that merely starts with 在 is text
        ("在会上我说过要延期,这里再确认一次。", "在会上我说过要延期,这里再确认一次。"),
    ],
)
def test_quotes_and_signatures_of_chinese_and_common_clients(body: str, expected: str) -> None:
    assert visible_text(body) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<div>确认</div><div id="divRplyFwdMsg"><b>发件人:</b> minutes</div><div>不同意</div>', "确认"),
        (
            '<div dir="ltr">LGTM</div><div class="gmail_quote">On Mon wrote:<blockquote>I object</blockquote></div>',
            "LGTM",
        ),
        ("<p>同意</p><blockquote>不同意</blockquote>", "同意"),
        ('<div>同意</div><hr id="stopSpelling"><div>From: minutes</div><div>不同意</div>', "同意"),
    ],
)
def test_html_only_replies_lose_their_quoting_containers(html: str, expected: str) -> None:
    assert visible_html(html) == expected
    assert read_reply("", html).text == expected


def test_talon_reading_keeps_signatures_and_forwards_the_product_reading_does_not() -> None:
    body = "FYI\n\n---------- Forwarded message ----------\nFrom: a@b\nDate: Tue\nSubject: x\nTo: c@d\n\nText"
    assert strip_quotes(body) == body
    assert visible_text(body) == "FYI"
    assert strip_quotes("Hello\n\n-- \nxxx") == "Hello\n\n-- \nxxx"
    assert visible_text("Hello\n\n-- \nxxx") == "Hello"


def test_a_reply_made_only_of_quotes_is_kept_rather_than_emptied() -> None:
    assert visible_text("> 同意") == "> 同意"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab >-_:\n在写道On wrote@1<发件人")), max_size=300))
def test_reading_never_raises_and_only_removes_lines(body: str) -> None:
    reading = read_reply(body)
    source_lines = {line.strip() for line in body.replace("\r", "\n").split("\n")}
    assert all(line.strip() in source_lines for line in reading.text.split("\n"))


def test_html_with_nothing_quoted_keeps_its_lines_however_deep() -> None:
    # HTML with no sign of a quote container is not made into a tree (about 250 bytes a tag:
    # a 25 KB body of nested tags took 3.3 MB). It is read as it is, so lines nested deeper
    # than the tree's limit of 100 levels are no longer run together.
    depth = 200
    html = (
        "<html><body>" + "<span>" * depth + "#1 完成<br>#2 进度 50%<table><tr><td>a</td><td>b</td></tr></table>"
        + "</span>" * depth + "<p>王磊</p></body></html>"
    )  # fmt: skip
    assert read_reply("", html).text.splitlines()[:2] == ["#1 完成", "#2 进度 50%a\tb"]


@pytest.mark.parametrize(
    "container",
    [
        '<BLOCKQUOTE TYPE="cite">{}</BLOCKQUOTE>',
        '<DIV CLASS="gmail_quote">{}</DIV>',
        '<div id="divRplyFwdMsg"><b>From:</b> 会议纪要助手</div><div>{}</div>',
        '<div style="BORDER-TOP: solid #E1E1E1 1.0pt"><b>发件人:</b> 会议纪要助手 {}</div>',
    ],
)
def test_quote_containers_in_any_letter_case_are_still_taken_out(container: str) -> None:
    html = "<html><body><p>不同意，第三条要改</p>" + container.format("<p>请回复确认</p>") + "</body></html>"
    reading = read_reply("", html)
    assert "不同意" in reading.text
    assert "确认" not in reading.text
