"""parsers.message: tolerant MIME and charset decoding, never raising."""

from __future__ import annotations

import base64
import re
from email.message import Message
from pathlib import Path

import pytest

from parsers.charsets import decode_header_value
from parsers.message import parse_message
from tests.conftest import CORPORA, SAMPLES


def corpus_files() -> list[Path]:
    if not CORPORA.exists():
        return []
    skip = {"README.txt", "expected.tsv", "LICENSE"}
    return sorted(
        p for p in CORPORA.rglob("*") if p.is_file() and p.name not in skip and "expected" not in p.name
    )


def test_8bit_utf8_body_is_not_misread_as_latin1() -> None:
    # SpamScope/mail-parser#152: 8-bit UTF-8 bodies came back as mojibake.
    raw = "From: a@x.test\nSubject: probe\nContent-Type: text/plain; charset=utf-8\nMIME-Version: 1.0\n\nHello — 确认\n"
    assert parse_message(raw.encode()).text.strip() == "Hello — 确认"


def test_gb2312_label_on_gbk_text_decodes_as_gb18030() -> None:
    body = "同意。朱镕基 堃".encode("gbk")  # 镕 and 堃 are GBK, not GB2312
    raw = (
        b"From: a@x.test\nSubject: x\nContent-Type: text/plain; charset=gb2312\nContent-Transfer-Encoding: 8bit\n\n"
        + body
    )
    assert parse_message(raw).text == "同意。朱镕基 堃"


def test_encoded_word_with_gb2312_label_on_gbk_bytes() -> None:
    word = base64.b64encode("回复:镕".encode("gbk")).decode()
    assert decode_header_value(f"=?gb2312?B?{word}?=") == "回复:镕"


@pytest.mark.parametrize(
    "header",
    [
        "=?utf-8?B?!!!notbase64?=",
        "=?x-no-such-charset?B?5Zue5aSN?=",
        "=?utf-8?Q?=E5=9B=9E=E5?=",
        "=?utf-8?B?5Zue",
    ],
)
def test_broken_encoded_words_never_raise(header: str) -> None:
    raw = f"From: a@x.test\nSubject: {header}\n\nbody\n".encode()
    assert isinstance(parse_message(raw).subject, str)


def test_reply_samples_decode_gbk_and_gb18030_bodies() -> None:
    foxmail = parse_message((SAMPLES / "replies/confirm-foxmail-gbk.eml").read_bytes())
    assert foxmail.text.startswith("同意")
    assert "原始邮件" in foxmail.text
    netease = parse_message((SAMPLES / "replies/object-163.eml").read_bytes())
    assert netease.text.startswith("不同意第1项的截止时间")


def test_rfc2231_continued_filename_and_payload() -> None:
    msg = parse_message((SAMPLES / "replies/done-with-evidence.eml").read_bytes())
    (att,) = msg.attachments
    assert att.filename == "客户投诉处理流程V2.0.pdf"
    assert att.content_type == "application/pdf"
    assert att.data.startswith(b"%PDF-1.4")
    assert msg.in_reply_to == ("minutes.2024-OPS-001.v1@minutes.example.test",)


def test_discourse_charset_lies_and_blank_first_line() -> None:
    fixtures = CORPORA / "discourse_fixtures"
    if not fixtures.exists():
        pytest.skip("shared corpora not present")
    assert "您好！ 你今天好吗？" in parse_message((fixtures / "chinese_reply.eml").read_bytes()).text
    big5 = parse_message((fixtures / "big5.eml").read_bytes())
    assert "媽！我上電視了！" in big5.text
    assert big5.from_addr == "walter.white@googlemail.com"
    weird = parse_message((fixtures / "reply_with_weird_encoding.eml").read_bytes())
    assert "This is a reply with a weird encoding." in weird.text


def test_message_without_message_id_gets_a_stable_identity() -> None:
    raw = b"From: a@x.test\nSubject: none\n\nhello\n"
    assert parse_message(raw).message_id == parse_message(raw).message_id
    assert parse_message(raw).message_id != parse_message(raw + b"!").message_id


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: str(p.relative_to(CORPORA)))
def test_every_corpus_message_parses_without_raising(path: Path) -> None:
    msg = parse_message(path.read_bytes())
    assert msg.message_id
    assert isinstance(msg.text, str)


def test_raw_8bit_headers_are_read_as_the_sender_wrote_them() -> None:
    # SMTPUTF8 clients write UTF-8 in the header itself; older Chinese ones GB18030. The email
    # package wraps such a header in a Header whose str() gives U+FFFD for every byte.
    raw = (
        "From: 李娜 <li.na@example.test>\r\nTo: 会议纪要助手 <minutes@example.test>\r\n"
        "Subject: 回复: [2024-OPS-001] 会议纪要 =?utf-8?b?56Gu6K6k?=\r\nMessage-ID: <u8@example.test>\r\n\r\n确认\r\n"
    ).encode()
    msg = parse_message(raw)
    assert msg.subject == "回复: [2024-OPS-001] 会议纪要 确认"
    assert (msg.from_name, msg.from_addr) == ("李娜", "li.na@example.test")
    assert msg.to == ("minutes@example.test",)
    gb = "From: 王磊 <wang.lei@example.test>\r\nSubject: 关于第三季度产品规划会的纪要\r\n\r\nx\r\n".encode(
        "gb18030"
    )
    msg = parse_message(gb)
    assert (msg.subject, msg.from_name) == ("关于第三季度产品规划会的纪要", "王磊")


def test_a_raw_8bit_display_name_holding_an_address_is_still_one_sender() -> None:
    raw = 'From: "王磊 <wang.lei@example.test>, " <mallory@attacker.test>\r\nSubject: x\r\n\r\ny\r\n'.encode()
    msg = parse_message(raw)
    assert msg.from_addr == "mallory@attacker.test"
    assert msg.from_addresses == ("mallory@attacker.test",)


def _garbage(size: int, seed: int = 7) -> bytes:
    import random

    return random.Random(seed).randbytes(size).replace(b"\n", b"\x00")


def test_a_reply_whose_body_runs_into_binary_data_is_read_up_to_it() -> None:
    # An attachment a broken boundary spilled into the text part: the words before it are the reply.
    body = "确认,没问题\n#1 完成\n\n".encode() + b"\n".join(_garbage(200) for _ in range(600))
    raw = b"From: li.na@example.test\r\nSubject: re\r\nContent-Type: text/plain\r\n\r\n" + body
    msg = parse_message(raw)
    assert msg.text == "确认,没问题\n#1 完成"
    assert any(d.startswith("binary data in a text/plain body") for d in msg.defects)


@pytest.mark.parametrize(
    "line",
    [
        "会议决定:第三季度的产品规划由王磊负责,8月15日前提交初稿。",
        "會議決定:第三季度的產品規劃由王磊負責,8月15日前提交初稿。",
        "The meeting decided that Wang Lei owns the Q3 plan, first draft due 15 August.\t(see table)",
    ],
)
def test_a_long_body_of_words_is_read_whole(line: str) -> None:
    body = "\n".join(f"{n}. {line}" for n in range(3000))
    raw = f"From: li.na@example.test\nSubject: long\nContent-Type: text/plain; charset=utf-8\n\n{body}\n"
    msg = parse_message(raw.encode())
    assert msg.text.strip() == body
    assert not [d for d in msg.defects if "binary" in d]


def test_an_attached_message_keeps_its_text_and_a_body_its_8bit_bytes() -> None:
    # mail-parser no longer sees the text bodies we read ourselves; what it returns as attachments
    # (an attached message, with its own text inside, and an attached .txt) must not change.
    inner = "From: w@example.test\r\nSubject: inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n内层正文 ᐧ\r\n"
    raw = (
        "From: li.na@example.test\r\nSubject: outer\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\n确认 ᐧ\r\n"
        '--b1\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename="fwd.eml"\r\n\r\n'
        f"{inner}"
        '--b1\r\nContent-Type: text/plain; charset=utf-8; name="notes.txt"\r\n'
        'Content-Disposition: attachment; filename="notes.txt"\r\n\r\n附件文字\r\n'
        "--b1--\r\n"
    ).encode()
    msg = parse_message(raw)
    assert msg.text.startswith("确认 ᐧ")
    found = {a.filename: a.data for a in msg.attachments}
    assert set(found) == {"fwd.eml", "notes.txt"}
    assert parse_message(found["fwd.eml"]).text.strip() == "内层正文 ᐧ"
    assert found["notes.txt"].decode().strip() == "附件文字"


def _reading(raw: bytes) -> tuple[str, str, list[tuple[str, str, bytes, str]]]:
    msg = parse_message(raw)
    # mail-parser names an unnamed part at random (ten letters); we call it attachment.txt / .rtf
    named = [
        (
            re.sub(r"^[a-z]{10}\.(txt|rtf)$", r"attachment.\1", a.filename),
            a.content_type,
            a.data,
            a.content_id,
        )
        for a in msg.attachments
    ]
    return msg.text, msg.html, named


def test_attachments_by_mail_parser_rules_are_what_mail_parser_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    # We pick attachments by mail-parser's rules without its whole parse (a millisecond a reply,
    # 4 MB for an attached 300 KB container). On every corpus and sample message, what is read
    # must be what its whole parse gives: text, HTML, and each attachment's name, type and bytes.
    import parsers.attachments as attachments

    files = corpus_files() + sorted(SAMPLES.rglob("*.eml"))
    ours = {path: _reading(path.read_bytes()) for path in files}
    asked: list[object] = []
    whole_parse = attachments._mail_parser_for_attachments

    def counted(msg: Message) -> object:
        asked.append(msg)
        return whole_parse(msg)

    monkeypatch.setattr(attachments, "_only_bodies", lambda part: False)
    monkeypatch.setattr(attachments, "_lost_boundary", lambda msg: True)
    monkeypatch.setattr(attachments, "_mail_parser_for_attachments", counted)
    theirs = {path: _reading(path.read_bytes()) for path in files}
    assert len(asked) >= len(files) - 10  # the whole parse did run (a few messages are headers only)
    with_files = [p for p in files if ours[p][2]]
    assert len(with_files) > 100
    assert [p for p in files if ours[p] != theirs[p]] == []


def test_mail_parser_parses_a_message_only_after_a_lost_boundary(monkeypatch: pytest.MonkeyPatch) -> None:
    import parsers.attachments as attachments

    def refuse(msg: object) -> None:
        raise AssertionError("mail-parser was asked")

    monkeypatch.setattr(attachments.mailparser, "MailParser", refuse)
    plain = (
        "From: li.na@example.test\nSubject: 回复: [M-1]\nContent-Type: text/plain; charset=utf-8\n\n确认\n"
    )
    assert parse_message(plain.encode()).text.strip() == "确认"
    alternative = (
        'From: li.na@example.test\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="b"\n\n'
        "--b\nContent-Type: text/plain; charset=utf-8\n\n同意\n--b\nContent-Type: text/html; charset=utf-8\n\n"
        "<p>同意</p>\n--b--\n"
    )
    assert parse_message(alternative.encode()).text.strip() == "同意"
    with_file = alternative.replace(
        "--b--", '--b\nContent-Type: application/pdf; name="e.pdf"\n\n%PDF\n--b--'
    )
    found = parse_message(with_file.encode())
    assert [(a.filename, a.content_type, a.data) for a in found.attachments] == [
        ("e.pdf", "application/pdf", b"%PDF")
    ]
    assert not [d for d in found.defects if d.startswith("mail-parser")]
    lost = with_file.replace('boundary="b"', 'boundary="zz"')  # no part starts: mail-parser digs in
    # (a failing mail-parser is answered by the email package's own walk, and says so)
    assert "mail-parser: AssertionError('mail-parser was asked')" in parse_message(lost.encode()).defects


def test_mail_parser_after_a_lost_boundary_sees_only_the_content_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # It read every Date, Received and address field as well: 2,000 duplicated Date fields
    # cost 0.9 MB in it, and none of them decides what is attached.
    import parsers.attachments as attachments

    seen: list[list[str]] = []
    real = attachments.mailparser.MailParser

    def spy(msg: Message) -> object:
        seen.append(list(msg.keys()))
        return real(msg)

    monkeypatch.setattr(attachments.mailparser, "MailParser", spy)
    raw = (
        "From: li.na@example.test\nSubject: x\n" + "Date: Tue, 21 May 2024 10:00:00 +0800\n" * 2000
        + 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="zz"\n\n'
        "--b\nContent-Type: text/plain; charset=utf-8\n\n完成\n"
        '--b\nContent-Type: application/pdf; name="e.pdf"\n\n%PDF\n--b--\n'
    ).encode()  # fmt: skip
    found = parse_message(raw)
    assert seen == [["MIME-Version", "Content-Type"]]
    assert found.from_addr == "li.na@example.test" and found.subject == "x" and found.date is not None


def test_an_unnamed_attachment_has_the_same_name_every_time() -> None:
    # mail-parser named it at random: a message read again after a restart gave other file names.
    raw = (
        'From: li.na@example.test\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n'
        "--b\nContent-Type: text/plain; charset=utf-8\n\n完成\n"
        "--b\nContent-Type: text/plain\nContent-Disposition: attachment\n\n日志\n"
        "--b\nContent-Type: text/rtf\n\n{\\rtf1}\n--b--\n"
    ).encode()
    names = [[a.filename for a in parse_message(raw).attachments] for _ in range(3)]
    assert names == [["attachment.txt", "attachment.rtf"]] * 3


def test_a_named_part_with_a_nul_in_its_charset_is_still_an_attachment() -> None:
    # Found by the fuzz run: mail-parser raised "embedded null character" decoding the part as a
    # body, and the email package's fallback walk, which wants an attachment disposition, found none.
    raw = (
        b'From: li.na@example.test\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b'--b\r\nContent-Type: text/plain; charset=\x00iso-8859-1;\r\n name="notes.txt"\r\n\r\nHasen\r\n--b--\r\n'
    )
    msg = parse_message(raw)
    assert [a.filename for a in msg.attachments] == ["notes.txt"]
    assert not [d for d in msg.defects if d.startswith("mail-parser")]
