"""Other recorders write other variants of the same layouts; the parser reads those too."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.document import Table, _is_list, from_html, from_text, normal
from parsers.message import parse_message
from parsers.minutes import parse_draft
from parsers.people import Directory, load_directory
from parsers.vocabulary import load_vocabulary
from service.core.config import load_rules
from service.minutes.drafts import parse_message_draft
from tests.conftest import CORPORA, SAMPLES
from tests.parsers.test_message import corpus_files

RULES = load_rules()
VOCAB = load_vocabulary(RULES.parsing)
DIRECTORY: Directory = load_directory((SAMPLES / "people.yaml").read_text(encoding="utf-8"))


def read(text: str, html: bool = False):
    return parse_draft(from_html(text) if html else from_text(text), VOCAB, DIRECTORY)


OUTLOOK_PASTE = """<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><style>p.MsoNormal{margin:0}</style></head>
<body lang=ZH-CN><div class=WordSection1>
<p class=MsoNormal><span lang=EN-US>会议名称</span><span>：周例会<o:p></o:p></span></p>
<p class=MsoNormal><span>会议时间：</span><span lang=EN-US>2024</span><span>年</span><span lang=EN-US>5</span><span>月</span><span lang=EN-US>20</span><span>日 </span><span lang=EN-US>14:00-15:00<o:p></o:p></span></p>
<p class=MsoNormal>主持人：王磊&nbsp;&nbsp;记录人：钱芳</p>
<p class=MsoNormal>参会人员：陈静、赵敏</p>
<table class=MsoTableGrid border=1 cellspacing=0>
<tr><td><p class=MsoNormal>序号</p></td><td><p class=MsoNormal>任务描述</p></td><td><p class=MsoNormal>责任人</p></td>
<td><p class=MsoNormal>完成时限</p></td><td><p class=MsoNormal>验收标准</p></td></tr>
<tr><td><p class=MsoNormal>1</p></td><td><p class=MsoNormal>整理客户反馈<br>并分类</p></td><td><p class=MsoNormal>赵敏<o:p></o:p></p></td>
<td><p class=MsoNormal><span lang=EN-US>2024</span><span>-05-</span><span lang=EN-US>27</span></p></td><td><p class=MsoNormal>反馈汇总表</p></td></tr>
</table></div></body></html>"""


def test_outlook_paste_with_split_spans_and_br_in_cells() -> None:
    minutes = read(OUTLOOK_PASTE, html=True)
    assert minutes.meeting.name == "周例会"
    assert minutes.meeting.date is not None and minutes.meeting.date.isoformat() == "2024-05-20"
    (item,) = minutes.items
    assert item.title == "整理客户反馈\n并分类"
    assert item.owner is not None and item.owner.name == "赵敏"
    assert item.due is not None and item.due.isoformat() == "2024-05-27"
    assert item.criterion == "反馈汇总表"


def test_full_width_colons_everyday_column_words_and_tabs() -> None:
    text = (
        "会议名称：项目周会\n会议时间：2024/6/3 10:00~11:00\n主持人：王磊\n记录人：钱芳\n参会人：陈静，李娜\n\n"
        "行动项\n"
        "事项\t责任人\tDue date\t完成标准\n"
        "接口联调\t李娜\t6.7\t联调报告\n"
        "压测\t陈静\t本周五\t压测报告\n"
    )
    minutes = read(text)
    assert [
        (i.owner.name if i.owner else None, i.due.isoformat() if i.due else None) for i in minutes.items
    ] == [("李娜", "2024-06-07"), ("陈静", "2024-06-07")]
    assert minutes.meeting.start == "10:00" and minutes.meeting.end == "11:00"
    assert minutes.valid, [f.message for f in minutes.errors]


def test_attendees_separated_by_spaces_only() -> None:
    minutes = read(
        "会议名称:周会\n会议时间:2024-05-20\n主持人:王磊\n记录人:钱芳\n参会人:王磊 陈静 刘洋 陳靜 总监\n"
    )
    assert [p.name for p in minutes.attendees] == ["王磊", "陈静", "刘洋", "钱芳"]
    assert not minutes.errors


def test_lines_under_the_items_that_are_not_understood_are_reported_not_dropped() -> None:
    text = (
        "会议名称:周会\n会议时间:2024-05-20\n主持人:王磊\n记录人:钱芳\n参会人:陈静、张伟\n\n三、行动项\n"
        "1. 张伟负责海报初稿,8月15日前完成,交付成果:海报\n2. 陈静:接口文档,5月31日\n"
    )
    minutes = read(text)
    assert [(i.owner.name if i.owner else None, i.title) for i in minutes.items] == [("张伟", "海报初稿")]
    (unread,) = [f for f in minutes.findings if f.rule == "items_understood"]
    assert "陈静:接口文档" in unread.message and unread.where == "第9行"


def test_inline_addresses_for_people_outside_the_directory() -> None:
    text = (
        "Meeting: Vendor sync\nDate: 2024-06-03\nHost: Wang Lei <wang.lei@example.test>\n"
        "Recorder: Qian Fang <qian.fang@example.test>\nAttendees: Ann Lee <ann.lee@vendor.test>, Bob Ray\n\n"
        "## Action items\n| # | Action | Owner | Due | Deliverable |\n|---|---|---|---|---|\n"
        "| 1 | Send the quote | Ann Lee | June 10 | Signed quote |\n"
    )
    minutes = read(text)
    assert minutes.items[0].owner is not None and minutes.items[0].owner.email == "ann.lee@vendor.test"
    unresolved = [f for f in minutes.errors if f.rule == "people_resolve"]
    assert len(unresolved) == 1 and "Bob Ray" in unresolved[0].message
    assert unresolved[0].message.startswith("Bob Ray is not in the directory"), (
        "findings in the draft's language"
    )


def test_a_vague_deadline_in_a_sentence_item_is_a_finding() -> None:
    text = "会议名称:周会\n会议时间:2024年5月20日\n主持人:王磊\n记录人:钱芳\n参会人:陈静\n\n【行动项1】由陈静负责,尽快前完成接口文档,交付成果:接口文档。\n"
    minutes = read(text)
    assert [f.rule for f in minutes.errors] == ["concrete_deadline"]


def test_sentence_items_with_relative_dates_read_against_the_meeting() -> None:
    text = (
        "会议名称:周会\n会议时间:2024年5月22日\n主持人:王磊\n记录人:钱芳\n参会人:陈静、赵敏\n\n"
        "【行动项1】由赵敏(客服部)负责,于下周五前完成投诉分类,交付成果:分类表。\n"
    )
    (item,) = read(text).items
    assert item.due is not None and item.due.isoformat() == "2024-05-31"
    assert item.owner is not None and item.owner.name == "赵敏" and item.department == "客服部"
    assert item.title == "完成投诉分类"


def test_a_rule_can_be_switched_to_warning_or_off() -> None:
    parsing = {
        **RULES.parsing,
        "validation": {
            **RULES.parsing["validation"],
            "concrete_deadline": "warning",
            "people_resolve": "off",
        },
    }
    relaxed = load_vocabulary(parsing)
    minutes = parse_draft(
        from_text((SAMPLES / "draft-zh-invalid.txt").read_text(encoding="utf-8")), relaxed, DIRECTORY
    )
    rules = {(f.rule, f.severity) for f in minutes.findings}
    assert ("concrete_deadline", "warning") in rules
    assert not any(rule == "people_resolve" for rule, _ in rules)


def test_a_company_adds_its_own_column_word() -> None:
    parsing = {
        **RULES.parsing,
        "columns": {**RULES.parsing["columns"], "owner": [*RULES.parsing["columns"]["owner"], "牵头人"]},
    }
    vocab = load_vocabulary(parsing)
    text = "会议名称:周会\n会议时间:2024-05-20\n主持人:王磊\n记录人:钱芳\n\n| 任务 | 牵头人 | 截止 | 成果 |\n|--|--|--|--|\n| 调研 | 陈静 | 5.24 | 报告 |\n"
    (item,) = parse_draft(from_text(text), vocab, DIRECTORY).items
    assert item.owner is not None and item.owner.name == "陈静"


def test_an_html_only_mail_and_a_docx_attachment() -> None:
    html_only = EmailMessage()
    html_only["From"] = "钱芳 <qian.fang@example.test>"
    html_only["Subject"] = "会议纪要"
    html_only["Date"] = "Mon, 08 Jul 2024 12:00:00 +0800"
    html_only.set_content((SAMPLES / "draft-zh-tables.html").read_text(encoding="utf-8"), subtype="html")
    minutes = parse_message_draft(parse_message(html_only.as_bytes()), RULES, DIRECTORY)
    assert len(minutes.items) == 3 and minutes.valid

    with_docx = EmailMessage()
    with_docx["From"] = "张伟 <zhang.wei@example.test>"
    with_docx["Subject"] = "新产品上市推进会 纪要"
    with_docx.set_content("纪要见附件。")
    with_docx.add_attachment(
        (SAMPLES / "draft-zh-attachment.docx").read_bytes(),
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="纪要.docx",
    )
    minutes = parse_message_draft(parse_message(with_docx.as_bytes()), RULES, DIRECTORY)
    assert minutes.meeting.name == "新产品上市推进会" and len(minutes.items) == 3


cell = st.text(
    alphabet=st.characters(
        blacklist_characters="|\t\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029", blacklist_categories=("Cs", "Cc")
    ),
    min_size=1,
    max_size=12,
).filter(
    lambda c: bool(normal(c).strip()) and not set("|\t\r\n") & set(normal(c)) and normal(c).isprintable()
)
grid = st.integers(min_value=2, max_value=5).flatmap(
    lambda width: st.lists(st.lists(cell, min_size=width, max_size=width), min_size=2, max_size=6)
)


@given(rows=grid)
def test_markdown_tables_read_back_cell_for_cell(rows: list[list[str]]) -> None:
    text = "\n".join("| " + " | ".join(row) + " |" for row in [rows[0], ["---"] * len(rows[0]), *rows[1:]])
    (table,) = [b for b in from_text(text).blocks if isinstance(b, Table)]
    assert table.rows == [[normal(c).strip() for c in row] for row in rows]


@given(rows=grid.filter(lambda rows: not _is_list(rows)))
def test_tab_separated_tables_read_back_cell_for_cell(rows: list[list[str]]) -> None:
    # Rows of "·<TAB>text" or "1.<TAB>text" are Outlook's lists, not tables (the reader's rule).
    (table,) = [
        b for b in from_text("\n".join("\t".join(row) for row in rows)).blocks if isinstance(b, Table)
    ]
    assert table.rows == [[normal(c).strip() for c in row] for row in rows]


@given(rows=grid)
def test_html_tables_read_back_cell_for_cell(rows: list[list[str]]) -> None:
    import html

    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    (table,) = [b for b in from_html(f"<table>{body}</table>").blocks if isinstance(b, Table)]
    assert table.rows == [[" ".join(normal(c).split()) for c in row] for row in rows]


@settings(max_examples=200)
@given(text=st.text(max_size=400))
def test_any_text_gives_minutes_and_never_raises(text: str) -> None:
    minutes = read(text)
    assert isinstance(minutes.findings, list)


fragments = st.lists(
    st.sampled_from(
        [
            "<table>",
            "</table>",
            "<tr>",
            "</tr>",
            "<td>",
            "</td>",
            "<br>",
            "<p class=MsoNormal>",
            "</p>",
            "<span>",
            "</span>",
            "负责人",
            "截止时间",
            "行动项",
            "会议名称:",
            "2024-05-20",
            "陈静",
            "尽快",
            "|",
            "\t",
            "\n",
            "<b>",
            "<o:p></o:p>",
        ]
    ),
    max_size=60,
).map("".join)


@settings(max_examples=200)
@given(html=fragments)
def test_any_html_gives_minutes_and_never_raises(html: str) -> None:
    assert isinstance(read(html, html=True).findings, list)


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: str(p.relative_to(CORPORA)))
def test_every_corpus_message_body_parses_as_a_draft_without_raising(path: Path) -> None:
    msg = parse_message(path.read_bytes())
    minutes = parse_message_draft(msg, RULES, DIRECTORY)
    assert isinstance(minutes.findings, list)
