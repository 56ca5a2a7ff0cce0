#!/usr/bin/env python3
"""Regenerate draft-two-level-header.docx (a test fixture).

The draft is what a recorder attaches after writing the minutes in Word: labelled
paragraphs for the meeting info and an action-item table with a two-level header
(责任人 -> 姓名 | 部门, 完成时限 -> 计划 | 实际; 序号 / 行动内容 / 验收标准 span both
header rows) and one merged 部门 cell shared by two items of 市场部.

    python3 -m venv /tmp/draftgen && /tmp/draftgen/bin/pip install python-docx pyyaml
    /tmp/draftgen/bin/python tests/cases/drafts/make_docx.py
"""

import datetime
import os

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "draft-two-level-header.docx")

INFO = [
    ("会议名称", "新版官网上线协调会"),
    ("会议时间", "2024年10月15日（星期二）10:00-11:30"),
    ("会议地点", "5楼市场部会议室"),
    ("主持人", "刘洋（市场部总监）"),
    ("记录人", "张伟（市场部主管）"),
    ("参会人员", "刘洋、张伟、陈静、李娜、吴刚"),
    ("缺席人员", "王磊（出差，产品意见由陈静会后转达）"),
]

DECISIONS = [
    "新版官网定于2024年10月28日正式上线，上线前一周冻结内容改动。",
    "隐私政策与用户协议须经法务部审核后方可随新版官网发布。",
]

# (序号, 行动内容, 姓名, 部门, 计划, 实际, 验收标准); 部门 None = merged with the row above
ITEMS = [
    ("1", "完成官网首页及产品页文案定稿", "张伟", "市场部", "10月18日", "", "文案经市场部总监签字确认"),
    ("2", "制定官网上线推广排期", "刘洋", None, "2024-10-23", "", "排期表含渠道、时间及预算"),
    (
        "3",
        "完成官网性能压测并修复高危问题",
        "李娜",
        "技术部",
        "2024/10/25",
        "",
        "压测报告：首页加载不超过2秒，无高危漏洞",
    ),
    ("4", "审核隐私政策与用户协议文本", "吴刚", "法务部", "2024年10月22日", "", "出具法务审核意见，文本定稿"),
]


def set_font(run, size=10.5, bold=False):
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.name = "宋体"
    rpr = run._element.get_or_add_rPr()
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")


def put(cell, text, bold=False, center=False):
    p = cell.paragraphs[0]
    for r in list(p.runs):
        r._element.getparent().remove(r._element)
    if text:
        set_font(p.add_run(text), bold=bold)
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER


def main():
    doc = Document()
    doc.core_properties.author = "张伟"
    doc.core_properties.title = "新版官网上线协调会 会议纪要"
    fixed = datetime.datetime(2024, 10, 15, 14, 5, 0)
    doc.core_properties.created = fixed
    doc.core_properties.modified = fixed
    doc.core_properties.last_modified_by = "张伟"

    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_font(title.add_run("新版官网上线协调会 会议纪要"), size=16, bold=True)

    for label, value in INFO:
        p = doc.add_paragraph()
        set_font(p.add_run(label + "："), bold=True)
        set_font(p.add_run(value))

    p = doc.add_paragraph()
    set_font(p.add_run("一、会议决议"), bold=True)
    for i, d in enumerate(DECISIONS, 1):
        set_font(doc.add_paragraph().add_run(f"{i}. {d}"))

    p = doc.add_paragraph()
    set_font(p.add_run("二、行动项"), bold=True)

    table = doc.add_table(rows=2 + len(ITEMS), cols=7)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER

    # two-level header
    h0, h1 = table.rows[0].cells, table.rows[1].cells
    seq = h0[0].merge(h1[0])
    act = h0[1].merge(h1[1])
    who = h0[2].merge(h0[3])
    when = h0[4].merge(h0[5])
    crit = h0[6].merge(h1[6])
    for cell, text in (
        (seq, "序号"),
        (act, "行动内容"),
        (who, "责任人"),
        (when, "完成时限"),
        (crit, "验收标准"),
    ):
        put(cell, text, bold=True, center=True)
    for col, text in ((2, "姓名"), (3, "部门"), (4, "计划"), (5, "实际")):
        put(table.cell(1, col), text, bold=True, center=True)

    # items; a None department merges with the cell above
    for i, row in enumerate(ITEMS):
        r = 2 + i
        for col, text in enumerate(row):
            if col == 3 and text is None:
                continue
            put(table.cell(r, col), text, center=(col == 0))
    for i, row in enumerate(ITEMS):
        if row[3] is None:
            r = 2 + i
            top = table.cell(r - 1, 3)
            text = top.text
            merged = top.merge(table.cell(r, 3))
            put(merged, text)
            # merge() appends the (empty) paragraph of the lower cell; drop extras
            for extra in merged.paragraphs[1:]:
                extra._element.getparent().remove(extra._element)

    p = doc.add_paragraph()
    set_font(p.add_run("三、后续安排"), bold=True)
    set_font(
        doc.add_paragraph().add_run("2024年10月24日（星期四）10:00召开上线前检查会，核对行动项完成情况。")
    )

    doc.save(OUT)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
