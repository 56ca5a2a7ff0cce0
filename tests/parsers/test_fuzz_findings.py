"""What bench/fuzz found in the parsers (issue 15), one test each.

No test here is timed (bench/README.md: speed targets live in the benchmarks); the inputs are
the shapes that used to take minutes or raise, so a regression shows as a failure or a stall.
"""

from __future__ import annotations

import logging
import re
import sys
import tracemalloc
import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.charsets import (
    MAX_HTML_DEPTH,
    decode_bytes,
    decode_header_value,
    html_to_text,
    iter_lines,
    split_lines,
)
from parsers.document import Line, Table, from_html, normal
from parsers.draft import DEFAULT_LIMITS, UnsupportedDraft, document_from_file
from parsers.html_cost import MAX_PARSE_WORK, parse_work
from parsers.message import MAX_MIME_DEPTH, parse_message
from parsers.quote_lines import classify_lines
from parsers.reply_text import read_reply, visible_text
from tests.conftest import CORPORA, SAMPLES


def test_a_charset_label_naming_a_codec_that_is_no_mail_charset_is_ignored() -> None:
    # idna, punycode and undefined raised UnicodeError even with errors="replace"; a NUL in the
    # label raised ValueError: the whole message fell back to a bare one, without its sender.
    for label in ("idna", "punycode", "undefined", "utf-8\x00", "unicode_escape"):
        assert decode_bytes("确认 a..b".encode(), label) == "确认 a..b"
        assert decode_bytes(b"\xff\xfe\x00", label)  # replaced, never raised
    assert decode_header_value("=?idna?q?a..b?=") == "a..b"


def test_a_message_whose_part_declares_idna_keeps_its_sender() -> None:
    raw = (
        b"From: Chen Jing <chen.jing@example.test>\r\nSubject: ok\r\nMessage-ID: <idna@x.test>\r\n"
        b"Content-Type: text/plain; charset=idna\r\n\r\n\xff\xfe\x00 a..b\r\n"
    )
    msg = parse_message(raw)
    assert msg.from_addr == "chen.jing@example.test"
    assert msg.message_id == "idna@x.test"
    assert not any(d.startswith("unparseable") for d in msg.defects)


def test_a_date_that_overflows_in_another_zone_is_no_date() -> None:
    # Fri, 31 Dec 9999 23:59:59 -1200 is year 10000 in UTC: astimezone() raised OverflowError
    # in the draft reader (the service quarantined the message).
    for value in ("Fri, 31 Dec 9999 23:59:59 -1200", "Sun, 31 Dec 9999 23:59:59 +0000"):
        msg = parse_message(f"From: a@example.test\r\nDate: {value}\r\n\r\nx\r\n".encode())
        assert msg.date is None
    kept = parse_message(b"From: a@example.test\r\nDate: Tue, 21 May 2024 09:30:00 +0800\r\n\r\nx\r\n")
    assert kept.date is not None and kept.date.year == 2024


def _nested_multipart(depth: int) -> bytes:
    inner = b"Content-Type: text/plain; charset=utf-8\r\n\r\n\xe7\xa1\xae\xe8\xae\xa4\r\n"
    for level in range(depth):
        boundary = f"nest{level}".encode()
        inner = (
            b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n--" + boundary + b"\r\n"
            + inner + b"\r\n--" + boundary + b"--\r\n"
        )  # fmt: skip
    return (
        b"From: Chen Jing <chen.jing@example.test>\r\nSubject: deep\r\nMessage-ID: <deep@x.test>\r\n" + inner
    )


def test_multiparts_nested_past_the_limit_are_read_from_their_headers() -> None:
    # 1,000 levels: the email package recursed too deep (twice, mail-parser and the fallback),
    # seconds of work for a 76 KB message, and the message came back bare, without a sender.
    msg = parse_message(_nested_multipart(1000))
    assert msg.from_addr == "chen.jing@example.test" and msg.subject == "deep"
    assert msg.message_id == "deep@x.test"
    assert any("only the headers were read" in d for d in msg.defects)
    assert msg.text == ""


def test_multiparts_nested_within_the_limit_are_read_whole() -> None:
    msg = parse_message(_nested_multipart(MAX_MIME_DEPTH))
    assert msg.text.strip() == "确认"
    assert not any("only the headers" in d for d in msg.defects)


def test_html_nested_20000_deep_is_read_as_its_text() -> None:
    # Inserting line breaks into the tree cost each nested block its subtree: minutes for this.
    for tag, closer in (("div", "</div>"), ("table><tr><td", "</td></tr></table>"), ("blockquote", "")):
        html = "<html><body>" + f"<{tag}>" * 20_000 + "确认,没问题" + closer * 20_000 + "</body></html>"
        assert "确认,没问题" in html_to_text(html)
        assert read_reply("", html).text in ("", "确认,没问题")  # a blockquote is a quote
        assert from_html(html) is not None  # the draft reader's walk recursed past the limit


def test_html_to_text_keeps_its_layout_below_the_depth_limit() -> None:
    html = (
        "<html><head><title>t</title></head><body><p>a<br>b</p><table><tr><td>1</td><td>2</td></tr></table>"
        "<!-- c --><script>x</script><div><div>d</div></div>e</body></html>"
    )
    assert html_to_text(html) == "a\nb\n1\t2\n\nd\n\ne"
    deep = "<div>" * (MAX_HTML_DEPTH + 10) + "<p>x</p><p>y</p>" + "</div>" * (MAX_HTML_DEPTH + 10)
    assert html_to_text(deep).replace("\n", "") == "xy"


def test_a_long_line_of_ids_is_text_not_a_wrote_header() -> None:
    # 25 KB of "<n.m@example.test>" in a body: the one-line "wrote" pattern backtracked for 2 s.
    line = " ".join(f"<{i}.{i * 7}@example.test>" for i in range(1200))
    assert classify_lines([line]) == ["t"]
    assert classify_lines(["2011/4/7 Ann <ann@example.test>"]) == ["b"]


def test_a_reply_of_thousands_of_lines_is_trimmed_as_before() -> None:
    # Each line asked the whole list above it whether any was text (quadratic in the lines).
    assert visible_text("\n".join(["确认", *["> more"] * 6000])) == "确认"
    # A bare quote the person answers below it stays, however long.
    answered = visible_text("\n".join([*["> quoted"] * 3000, "确认", *["> more"] * 3000]))
    assert answered.startswith("> quoted\n") and "\n确认\n" in answered
    wrote = "确认\n\nOn Tue, 21 May 2024 at 09:30, Ann <ann@example.test>\nwrote:\n> old"
    assert visible_text(wrote) == "确认"


def test_a_damaged_docx_is_refused_never_raised() -> None:
    # A bad CRC, a corrupt deflate stream or an unknown zip version raised from the size and
    # paragraph checks, outside the reader's guard: the service quarantined the message.
    import io
    import zipfile

    import pytest

    from parsers.draft import UnsupportedDraft, document_from_file

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", "<w:document>" + "<w:p>x</w:p>" * 2000 + "</w:document>")
    good = buffer.getvalue()
    start = good.index(b"word/document.xml") + len(b"word/document.xml")
    for damage in (b"\x00" * 8, b"\xff" * 8):
        data = good[: start + 40] + damage + good[start + 48 :]
        with pytest.raises(UnsupportedDraft):
            document_from_file("draft.docx", data)


def test_a_nul_in_a_boundarys_rfc2231_charset_keeps_the_sender_and_the_parts() -> None:
    # The email package raised ValueError (embedded null character) in get_boundary: the
    # message came back bare, without its sender, so nobody could be answered.
    raw = (
        b"From: Anne Person <aperson@example.com>\r\nSubject: Re: limits\r\n"
        b"Message-ID: <nul-boundary@example.com>\r\nMime-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed;\r\n\tboundary*=\"ansi\x00-x3.4''QfGwPc\"\r\n\r\n"
        b"--QfGwPc\r\nContent-Type: text/plain\r\n\r\n\xe7\xa1\xae\xe8\xae\xa4\r\n--QfGwPc--\r\n"
    )
    msg = parse_message(raw)
    assert msg.from_addr == "aperson@example.com"
    assert msg.message_id == "nul-boundary@example.com"
    assert msg.subject == "Re: limits"
    assert "确认" in msg.text


def test_a_body_the_email_package_cannot_take_apart_still_gives_the_headers() -> None:
    # Whatever else fails, the sender, the subject and the body as text survive.
    from unittest import mock

    raw = b"From: Li Na <li.na@example.test>\r\nSubject: ok\r\nMessage-ID: <x@y.test>\r\n\r\nconfirm\r\n"
    with mock.patch("parsers.message._parse", side_effect=ValueError("boom")):
        msg = parse_message(raw)
    assert (msg.from_addr, msg.subject, msg.message_id) == ("li.na@example.test", "ok", "x@y.test")
    assert msg.text == "confirm"
    assert msg.defects == ("unparseable: ValueError('boom')",)


def test_consent_at_the_top_of_a_pasted_log_too_long_to_read_whole_is_not_counted() -> None:
    from parsers.intent import READ_CHARACTERS, Intent, read_intent
    from service.core.config import load_rules
    from service.minutes.answers import intent_words

    words = intent_words(load_rules().intent)
    log_lines = "\n".join(
        f"2024-05-21 10:{n % 60:02d} job {n} finished" for n in range(READ_CHARACTERS // 20)
    )
    assert read_intent("确认\n" + log_lines, words).intent == Intent.UNCLEAR
    assert read_intent("Confirmed.\n" + log_lines, words).intent == Intent.UNCLEAR
    assert read_intent("不同意第二项\n" + log_lines, words).intent == Intent.OBJECT
    assert read_intent("確認\n" + log_lines[:2000], words).intent == Intent.CONFIRM  # short: read whole


def test_a_wrote_header_without_a_colon_wrapped_over_two_lines_is_still_one_header() -> None:
    lines = ["确认", "", "2024年5月21日 10:02,王磊 <wang.lei@example.test>", "写道", "> 会议纪要"]
    kinds = classify_lines(lines)
    assert kinds[2:4] == ["b", "b"], kinds
    assert kinds[0] == "t"


def test_a_megabyte_header_is_cut_and_the_sender_and_thread_survive() -> None:
    # mail-parser and the email package decode a header in quadratic time: a 1 MB From or
    # Subject took 4-5 s and 90 MB. Each field is read up to 16 KB; a References keeps its
    # last ids, the ones nearest this message.
    refs = " ".join(f"<old{n}@example.test>" for n in range(60_000))
    raw = (
        f"From: Li Na <li.na@example.test>\r\nSubject: {'确认' * 300_000}\r\n"
        f"Message-ID: <big-head@example.test>\r\nReferences: {refs} <parent@example.test>\r\n"
        f"X-Junk: {'a' * 1_000_000}\r\n\r\n确认\r\n"
    ).encode()
    msg = parse_message(raw)
    assert msg.from_addr == "li.na@example.test"
    assert msg.message_id == "big-head@example.test"
    assert msg.references[-1] == "parent@example.test" and "old0@example.test" not in msg.references
    assert msg.subject.startswith("确认确认") and len(msg.subject) < 20_000
    assert msg.text.strip() == "确认"
    assert sum("header" in d and "cut" in d for d in msg.defects) == 3, msg.defects


def test_a_message_without_a_message_id_keeps_the_same_synthetic_one_when_its_header_is_cut() -> None:
    from parsers.message import parse_headers

    raw = f"From: a@example.test\r\nSubject: {'x' * 100_000}\r\n\r\nbody\r\n".encode()
    assert parse_message(raw).message_id == parse_headers(raw).message_id
    assert parse_message(raw).message_id.startswith("sha256-")


def test_an_html_draft_with_too_many_elements_is_refused_before_it_is_parsed() -> None:
    import pytest

    from parsers.draft import DocumentLimits, UnsupportedDraft, document_from_file

    html = "<html><body><table>" + "<tr><td>1</td></tr>" * 20_000 + "</table></body></html>"
    with pytest.raises(UnsupportedDraft, match="too many HTML elements: more than 40,000"):
        document_from_file("draft.html", html.encode(), DocumentLimits(html_elements=40_000))
    # Counting them held every tag found (8.9 MB for a 750 KB page); it stops past the limit.
    page = "<table><tr><td>" * 50_000
    limits = DocumentLimits(html_elements=40_000)
    with pytest.raises(UnsupportedDraft):
        document_from_file("draft.html", page.encode(), limits)
    tracemalloc.start()
    try:
        with pytest.raises(UnsupportedDraft):
            document_from_file("draft.html", page.encode(), limits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(page), f"{peak:,} bytes to refuse {len(page):,}"
    small = "<html><body><p>会议名称:周会</p></body></html>"
    assert document_from_file("draft.html", small.encode()).blocks


def test_has_table_finds_a_table_in_any_case_without_lowering_the_page() -> None:
    from parsers.document import has_table

    assert has_table("<div><TABLE border=1><tr><td>x</td></tr></TABLE></div>")
    assert has_table("<Table>")
    assert not has_table("<p>no tables here: &lt;table&gt;</p>")


def test_the_quick_check_for_a_header_ending_never_refuses_a_line_the_full_pattern_takes() -> None:
    from parsers import quote_lines

    lines = [
        f"{lead}{verb}{tail}"
        for verb in (*quote_lines._HEADER_ENDINGS, "Napisał(a)", "НАПИСАЛА", "WROTE")
        for lead in ("On Tue, 21 May 2024 at 10:02, Wang Lei <wang.lei@example.test> ", "2024年5月21日 王磊 ")
        for tail in ("", ":", " :", "：  ")
    ]
    for line in lines:
        if quote_lines._WROTE.search(line):
            assert quote_lines._may_end_header(line), line


def test_lines_of_white_space_are_read_in_linear_time() -> None:
    # _SEPARATOR's "\s*[-_=*>\s]{3,}\s*" backtracked cubically: 528 spaces took 2.5 s, 3,000
    # minutes; _MOBILE_SIGNATURE and the item reference had the same shape, quadratically.
    from parsers.commands import _ITEM_REF

    blank = " " * 20_000
    assert classify_lines([blank, "确认"]) == ["e", "t"]
    assert quote_lines_kind(" " * 5000 + "x") == "t"
    assert _ITEM_REF.match(" " * 20_000) is None
    assert classify_lines(["-----原始邮件-----", "----- Original Message -----"]) == ["b", "b"]
    assert _ITEM_REF.match("[2024-OPS-001] #2 完成").group("record", "hash") == ("2024-OPS-001", "2")
    assert _ITEM_REF.match("关于 【第三项】").group("zh") == "三"


def quote_lines_kind(line: str) -> str:
    from parsers.quote_lines import _kind

    return _kind(line)


def test_an_address_longer_than_any_server_takes_is_no_sender() -> None:
    # An answer to a 10,000-character address put a 10,000-character To line in our mail.
    raw = f"From: x <{'a' * 10_000}@example.test>\r\nSubject: s\r\n\r\n确认\r\n".encode()
    msg = parse_message(raw)
    assert msg.from_addr == "" and msg.from_addresses == ()
    ok = parse_message(f"From: {'a' * 60}@example.test\r\nSubject: s\r\n\r\nx\r\n".encode())
    assert ok.from_addr == f"{'a' * 60}@example.test"


def test_an_rfc2231_charset_parameter_is_read_not_raised_on() -> None:
    # The email package gives a charset parameter written charset*=x-bogus''utf-8 as a tuple;
    # decode_bytes raised AttributeError on it and the whole message came back bare.
    assert decode_bytes("确认".encode(), ("x-bogus", "", "utf-8")) == "确认"  # type: ignore[arg-type]
    assert decode_bytes("确认".encode(), ("", "", "")) == "确认"  # type: ignore[arg-type]


def test_text_with_nothing_traditional_skips_the_converter_and_keeps_its_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The pure-Python OpenCC took 0.3 ms a line: a 300 KB attachment read as text spent 3 s in
    # it. Lines without a character (or phrase) it would change are now returned at once.
    import random

    from opencc import OpenCC

    from parsers import vocabulary

    reference = OpenCC("t2s")
    rng = random.Random(5)
    lines = [
        "確認，會議紀要沒有問題", "乾隆年間的後來", "这是一个普通的简体中文句子", "皇后的头发",
        "頭髮與發展", "ＡＢＣ　全角", "完成 #2 附件見後", "已經改成：週五前交付",
    ] + [rng.randbytes(120).decode(codec, errors="replace") for codec in ("gb18030", "big5") for _ in range(300)]  # fmt: skip
    for line in lines:
        vocabulary._simplified_short.cache_clear()
        assert vocabulary.simplified(line) == reference.convert(unicodedata.normalize("NFKC", line)), line

    converter = vocabulary._t2s().opencc
    vocabulary._simplified_short.cache_clear()

    def refuse(text: str) -> str:
        raise AssertionError(f"converter called on {text!r}")

    monkeypatch.setattr(converter, "convert", refuse)
    assert vocabulary.simplified("会议纪要没有问题，我确认。" * 50) == "会议纪要没有问题,我确认。" * 50
    assert vocabulary.simplified("Confirmed, no changes — 王磊") == "Confirmed, no changes — 王磊"
    vocabulary._simplified_short.cache_clear()


def test_an_html_draft_is_read_whole_from_lxml_events_with_words_own_names_and_text_after_the_page() -> None:
    # BeautifulSoup's tree of a 3.4 MB Word table took 43 MB and 12.7 s; the reader now builds
    # lxml's tree from the parser's events. Word's o:p elements are no valid lxml names, text
    # after </html> is shown by every browser, and nesting past MAX_HTML_DEPTH is read as text.
    html = (
        '<?xml version="1.0" encoding="gb2312"?><html xmlns:o="urn:schemas-microsoft-com:office:office">'
        "<head><title>纪要</title><style>p {color: red}</style></head><body>"
        '<p class="MsoNormal">会议主题：Q3 复盘<o:p></o:p></p>'
        "<table><tr><td>序号</td><td>事项</td></tr>"
        '<tr><td rowspan="2">1</td><td>整理数据<br>并发出</td></tr><tr><td>复核</td></tr></table>'
        '<div class="gmail_quote">引用的旧邮件</div>'
        "</body></html>\r\n下次会议：6月3日" + "<div>" * 5000 + "深处的文字"
    )
    doc = from_html(html)
    lines = [block.text for block in doc.blocks if isinstance(block, Line)]
    tables = [block.rows for block in doc.blocks if isinstance(block, Table)]
    assert lines == ["会议主题:Q3 复盘", "下次会议:6月3日", "深处的文字"]
    assert tables == [[["序号", "事项"], ["1", "整理数据\n并发出"], ["1", "复核"]]]


def test_a_megabyte_html_body_of_short_lines_is_read_within_ten_times_its_size() -> None:
    # The email package given the whole message at once splits all of it into line objects
    # before parsing: 13x the size for a body of short lines; fed in pieces, about 8x.
    body = b"<div>\n<p>\n" + "<b>确认</b>\n".encode() * 100_000 + b"</p>\n</div>\n"
    raw = (
        b"From: Chen Jing <chen.jing@example.test>\r\nSubject: s\r\nMessage-ID: <big@x.test>\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n" + body
    )
    parse_message(raw[:4000])  # imports and caches are no part of the message's cost
    tracemalloc.start()
    try:
        msg = parse_message(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert msg.html.count("确认") == 100_000
    assert peak < 10 * len(raw), f"{peak / len(raw):.1f}x"


def test_an_attachment_name_that_cannot_be_decoded_logs_no_error(caplog: pytest.LogCaptureFixture) -> None:
    # mail-parser logged an ERROR for each such name: spam filled the operator's log with them.
    raw = (
        b'From: a@example.test\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="=?UTF-8?B?0JLQsNGI0LUg0YH;0LUg?="\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b--\r\n"
    )
    with caplog.at_level(logging.DEBUG):
        msg = parse_message(raw)
    assert [a.data for a in msg.attachments] == [b"\x00\x00\x00"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_a_body_opened_inside_an_unclosed_head_element_is_read() -> None:
    # "<ti  <style>" (bytes deleted from <title>) left an element open in <head>; the body
    # started inside it, and closing that element raised "end tag mismatch" from the draft reader.
    html = (
        "<html>\r\n  <head>\r\n    <ti  <style>\r\n      strong { font-size: 110%; }\r\n    </style>\r\n"
        "  </ad>\r\n  <body>\r\n    <p>\r\n      <span>会议名称</span>\r\n      <em>Q3规划会</em>\r\n"
        "    </p>\r\n  </body>\r\n</html>\r\n"
    )
    assert [b.text for b in from_html(html).blocks if isinstance(b, Line)] == ["会议名称", "Q3规划会"]


# libxml2 looks for what an end tag closes down its whole stack: elements left open, then end
# tags that close none of them, cost depth x end tags (this page: 8 s in html_to_text).
LEFT_OPEN = "<html><body>" + "<div><p>" * 50_000 + "确认 x" + "</p>" * 50_000 + "</body></html>"


def test_a_page_of_elements_left_open_is_read_by_its_tags_instead_of_the_parser() -> None:
    assert parse_work(LEFT_OPEN) > MAX_PARSE_WORK
    assert html_to_text(LEFT_OPEN) == "确认 x"
    reading = read_reply("", LEFT_OPEN)  # an HTML-only reply: no quote search through the tree
    assert reading.text == "确认 x"


def test_an_html_draft_of_elements_left_open_is_refused_before_it_is_parsed() -> None:
    page = "<html><body>" + "<div><p>" * 15_000 + "确认 x" + "</p>" * 15_000 + "</body></html>"
    assert len(re.findall("<[a-z]", page)) < DEFAULT_LIMITS.html_elements  # under the count limit
    with pytest.raises(UnsupportedDraft, match="too deep"):
        document_from_file("纪要.html", page.encode())


def test_the_guard_on_html_cost_leaves_real_pages_to_the_parser() -> None:
    pages = [(SAMPLES / "draft-zh-tables.html").read_text(encoding="utf-8")]
    for path in sorted(CORPORA.rglob("*")):
        if path.is_file() and path.stat().st_size < 2_000_000:
            html = parse_message(path.read_bytes()).html
            if html:
                pages.append(html)
    # Word's export of a long meeting: 600 rows of a 5-column table, each cell a styled paragraph.
    row = "<tr>" + '<td><p class="MsoNormal"><span lang="ZH-CN">内容</span><o:p></o:p></p></td>' * 5 + "</tr>"
    pages.append("<html><body><div class=WordSection1><table>" + row * 600 + "</table></div></body></html>")
    assert len(pages) > 100
    worst = max(parse_work(page) for page in pages)
    assert worst < MAX_PARSE_WORK / 10, worst
    assert html_to_text(pages[-1]).count("内容") == 3000


def test_hundreds_of_to_fields_are_read_as_the_first_four() -> None:
    # 838 To fields of 10 KB of quotes took 40 s of address parsing in the email package and
    # mail-parser; RFC 5322 allows one.
    to = b'To: "' + b'"' * 10_000 + b" <wang.lei@example.test>\r\n"
    raw = (
        b"From: Chen Jing <chen.jing@example.test>\r\nFrom: mallory@attacker.test\r\n"
        + to * 800
        + b"Subject: x\r\nMessage-ID: <to@x.test>\r\n\r\nhi\r\n"
    )
    msg = parse_message(raw)
    assert len(msg.to) <= 4
    assert "796 more to fields dropped" in msg.defects
    assert msg.from_addresses == ("chen.jing@example.test", "mallory@attacker.test")  # still two: no one's
    assert msg.message_id == "to@x.test" and msg.text.strip() == "hi"


def test_a_reply_is_read_in_its_first_lines() -> None:
    # 75,000 lines of a mangled body took 4 s to read as a reply, three times over.
    from parsers.reply_text import MAX_REPLY_LINES

    text = "确认,没有问题。\n" + "".join(f"第{n}行 乱码\n" for n in range(2, 80_000))
    reading = read_reply(text)
    assert reading.text.startswith("确认,没有问题。")
    assert len(reading.text.splitlines()) == MAX_REPLY_LINES
    assert f"第{MAX_REPLY_LINES}行" in reading.text and f"第{MAX_REPLY_LINES + 1}行" not in reading.text
    assert len(visible_text(text).splitlines()) == MAX_REPLY_LINES


def test_a_reply_of_few_enormous_lines_is_read_in_its_first_characters() -> None:
    # 33 lines of 50,000 characters (a fuzzed HTML body read as text) held 14x their size.
    from parsers.reply_text import MAX_REPLY_CHARACTERS

    text = "确认。\n" + "".join(f"{n}" + "很长的一行" * 10_000 + "\n" for n in range(33))
    tracemalloc.start()
    try:
        reading = read_reply(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert reading.text.startswith("确认。")
    assert len(reading.text) <= MAX_REPLY_CHARACTERS
    assert peak < 4 * len(text.encode("utf-8")), f"{peak:,} bytes to read {len(text):,} characters"


def test_a_text_draft_of_binary_data_is_refused_not_read() -> None:
    import random

    garbage = random.Random(3).randbytes(300_000)
    with pytest.raises(UnsupportedDraft, match="binary"):
        document_from_file("minutes.txt", garbage)


def _peak(call: Callable[[], object]) -> int:
    call()  # imports and caches are no part of the cost
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# One character outside the Basic Multilingual Plane makes Python hold the whole text at four
# bytes a character: each copy of such a body costs four times its UTF-8 size.
_WIDE_BODY = "".join(f"第{n}行：讨论内容 Ｆｕｌｌ－ｗｉｄｔｈ ok\n" for n in range(6000)) + "😀\n"


def test_a_long_text_draft_is_read_without_a_whole_normalized_copy_beside_its_lines() -> None:
    from parsers.document import from_text

    doc = from_text(_WIDE_BODY)
    assert sum(isinstance(block, Line) for block in doc.blocks) == 6001
    assert "Full-width" in doc.blocks[0].text  # still NFKC, line by line
    # 2.2x the text's own size (its lines and their Lines); with a normalized copy of the
    # whole text beside them and a dict in each Line it was 3.6x.
    assert _peak(lambda: from_text(_WIDE_BODY)) < 2.8 * sys.getsizeof(_WIDE_BODY)


def test_a_text_draft_of_tab_separated_rows_lets_each_row_go_once_it_is_cells() -> None:
    from parsers.document import from_text

    text = "".join(
        f"{n}\tвыполнено задание {n}\tответственный Иванов\t2024-05-{n % 28 + 1:02d}\n" for n in range(3000)
    )
    text += "😀\n"
    (table, _) = from_text(text).blocks
    assert isinstance(table, Table) and len(table.rows) == 3000 and table.rows[7][1] == "выполнено задание 7"
    # 1.76x the text's size: each row's cells, and the row's line let go; holding the lines
    # beside their cells was 2.53x.
    assert _peak(lambda: from_text(text)) < 2.1 * sys.getsizeof(text)


def test_a_reply_longer_than_is_read_holds_no_copy_of_its_first_characters() -> None:
    from parsers.reply_text import MAX_REPLY_CHARACTERS

    text = _WIDE_BODY * 5
    assert len(text) > MAX_REPLY_CHARACTERS
    reading = visible_text(text)
    assert reading.startswith("第0行") and len(reading) <= MAX_REPLY_CHARACTERS
    assert reading == visible_text(text[: text.rfind("\n", 0, MAX_REPLY_CHARACTERS)])
    # The lines and the visible text are each about one copy of what is read (1.6x in all);
    # a copy of the first 200,000 characters beside them made it 2.3x.
    read = sys.getsizeof(text[:MAX_REPLY_CHARACTERS])
    assert _peak(lambda: visible_text(text)) < 2.0 * read


_LINES_OF = st.lists(
    st.sampled_from(["\r", "\n", "\r\n", "a", "確", "Ａ", "\u0301", "ｶ", "\u3099", "😀", " "])
).map("".join)


@given(_LINES_OF, st.integers(min_value=0, max_value=40))
def test_lines_cut_out_of_the_text_are_the_lines_of_its_first_characters(text: str, end: int) -> None:
    assert list(iter_lines(text, end)) == split_lines(text[:end])
    assert list(iter_lines(text)) == split_lines(text)


@given(_LINES_OF)
def test_normalizing_line_by_line_gives_the_lines_of_the_normalized_text(text: str) -> None:
    # Combining marks and half-width kana at a line's start cannot join the line above.
    assert [normal(line) for line in iter_lines(text)] == split_lines(normal(text))


def test_the_language_is_chinese_from_the_fourth_cjk_character_in_lines_or_cells() -> None:
    from parsers.assembly import language_of
    from parsers.document import Document

    three = Document([Line("Minutes 会", 1), Table([["owner", "纪要"]], 1)])
    assert language_of(three) == "en"
    four = Document([*three.blocks, Line("Notes: 王", 2)])
    assert language_of(four) == "zh"


def test_free_text_is_simplified_as_labels_are_but_only_short_texts_are_cached() -> None:
    from parsers import vocabulary

    vocabulary._simplified_short.cache_clear()
    line = "會議紀要已經確認，沒有問題。" * 20
    assert (
        vocabulary.simplified_text(line) == vocabulary.simplified(line) == "会议纪要已经确认,没有问题。" * 20
    )
    assert vocabulary._simplified_short.cache_info().currsize == 0  # a long text is never kept
    assert vocabulary.simplified("負責人") == vocabulary.simplified_text("負責人") == "负责人"
    assert vocabulary._simplified_short.cache_info().currsize == 1


def test_a_reply_with_nothing_to_take_away_is_its_own_text_not_a_copy() -> None:
    text = "".join(f"第{n}行：进度正常,本周五前完成。\n" for n in range(3000)).strip()
    assert read_reply(text).text is text
    assert read_reply(text.replace("\n", "\r\n")).text == text  # line ends are still made \n
    quoted = text + "\n\n在 2024-05-21,会议纪要助手 <minutes@example.test> 写道:\n> 您的行动项\n"
    assert read_reply(quoted).text == text


def test_a_draft_reads_the_same_with_the_reply_reading_given_as_without_it() -> None:
    from service.minutes.drafts import own_part

    messages = [parse_message(path.read_bytes()) for path in sorted((SAMPLES / "replies").glob("*.eml"))]
    messages += [parse_message(path.read_bytes()) for path in sorted(CORPORA.rglob("*.eml"))[:400]]
    with_text = 0
    for msg in messages:
        given = own_part(msg, read=lambda msg=msg: read_reply(msg.text, msg.html).text)
        assert given == own_part(msg)
        with_text += given.text != msg.text
    assert with_text >= 20  # the reading given was used, and changed the text, that often


_MIXED = st.lists(
    st.sampled_from(
        ["乾隆", "頭髮", "後來", "會議紀要", "確認", "发", "干", "於", "著", "a", "Zm9v", "9", "+", "/", "=",
         " ", "，", "-", "Ｆ", "😀", "\u0301", "ü", "д", "著作", "理髮", "皇后", "後", "台", "臺灣"]
    ),
    max_size=40,
).map("".join)  # fmt: skip


@settings(max_examples=400)
@given(_MIXED)
def test_converting_only_the_pieces_a_dictionary_can_change_is_converting_the_whole(text: str) -> None:
    from opencc import OpenCC

    from parsers import vocabulary

    whole = OpenCC("t2s").convert(unicodedata.normalize("NFKC", text))
    assert vocabulary.simplified_text(text) == whole


def test_a_long_line_of_base64_with_one_cjk_character_gives_the_converter_that_character_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A 50,000-character line (a fuzzed base64 body with one 著 in it) took 130 ms to convert,
    # six times over in one message's readers: 1.1 s.
    from parsers import vocabulary

    given: list[str] = []
    converter = vocabulary._t2s().opencc
    original = converter.convert
    monkeypatch.setattr(converter, "convert", lambda piece: given.append(piece) or original(piece))
    line = "Zm9vYmFy" * 3000 + "後來" + "YmF6" * 3000
    assert vocabulary.simplified_text(line) == "Zm9vYmFy" * 3000 + "后来" + "YmF6" * 3000
    assert given == ["後來"]


_PADDED_LINES = st.lists(
    st.sampled_from(
        ["a", " ", "\u3000", "\t", "\xa0", "写道", ":", "wrote", "ß", "ＷＲＯＴＥ", "İ", "x" * 300, " " * 300]
    )
).map("".join)


@given(_PADDED_LINES)
def test_the_end_and_length_of_a_line_are_read_without_copying_it_as_strip_would_give_them(line: str) -> None:
    from parsers import quote_lines

    assert quote_lines._end_of_text(line) == len(line.rstrip())
    assert quote_lines._stripped_length(line) == len(line.strip())
    assert quote_lines._may_end_header(line) == line.rstrip().casefold().endswith(quote_lines._HEADER_ENDINGS)


def test_a_reply_with_a_line_of_200_000_characters_is_read_without_copies_of_that_line() -> None:
    # A 193 KB fuzzed bounce held 3.4 MB reading it as a reply: its HTML on one text line was
    # stripped and case-folded whole to see whether it ends a "wrote:" header (8x the line in
    # all; now 3x: the line, the visible text, and its lines).
    long_line = "<div>" * 38_000 + "确认,没问题\r"
    text = "Subject: x\n\n" + long_line + "\n#1 完成\n"
    assert visible_text(text).endswith("确认,没问题\n#1 完成")
    assert _peak(lambda: visible_text(text)) < 4 * sys.getsizeof(long_line)


def test_a_long_chinese_clause_is_read_for_intent_in_a_few_times_its_size() -> None:
    # 19,000 characters of Chinese without a break made a string and a tuple for every
    # character, and every tuple again when a "settled" word was in the clause: 64x the text's
    # own size (2.4 MB for a 57 KB message, allowed 1.6 MB). Units and tokens are now shared by
    # their repeats: about 22x.
    import random

    from bench.fuzz import Chain
    from parsers.intent import Intent, read_intent

    words = Chain().intent_words
    rng = random.Random(1)
    text = "".join(
        rng.choice("的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生")
        for _ in range(19_000)
    )
    assert read_intent(text, words).intent == Intent.OBJECT
    assert read_intent("确认,没有问题。", words).intent == Intent.CONFIRM
    assert _peak(lambda: read_intent(text, words)) < 30 * sys.getsizeof(text)


def test_a_part_header_of_a_megabyte_is_cut_as_the_messages_own_are() -> None:
    # The email package copied a part's 1 MB header five times over: 21 MB for a 1 MB message.
    huge = "确认无误" * 90_000
    raw = (
        'From: Li Na <li.na@example.test>\r\nSubject: x\r\nMIME-Version: 1.0\r\n'
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n#1 完成\r\n"
        f"--b\r\nContent-Type: application/pdf; x-note={huge}\r\n\r\n%PDF\r\n"
        '--b\r\nContent-Type: application/pdf; name="e.pdf"\r\n\r\n%PDF-1.4\r\n--b--\r\n'
    ).encode()  # fmt: skip
    msg = parse_message(raw)
    assert msg.text.strip() == "#1 完成" and msg.from_addr == "li.na@example.test"
    assert ("e.pdf", b"%PDF-1.4") in [(a.filename, a.data) for a in msg.attachments]
    assert any("a part's header Content-Type of" in d and "cut" in d for d in msg.defects)
    assert _peak(lambda: parse_message(raw)) < 5 * len(raw)
