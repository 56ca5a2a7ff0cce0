"""Remake the README's picture of the weekly table mail from the demo's data.

    .venv/bin/python docs/render_weekly.py /tmp/weekly.html [--png docs/weekly-mail.png]

Plays `minutesd demo` (one meeting through the real pipeline, to the weekly table of Mon 27 May
2024), then carries on on the same embedded transport: a second meeting (a kick-off, so its
tracker also gets a daily digest) is mailed and confirmed, one owner is blocked, another reports
progress, another delays; on Monday 3 June the weekly tables go out. The tracker's (林涛's) HTML
part is written to the given file, and with --png drawn by a headless Chromium (needs
`chromium` and a CJK font such as `fonts-noto-cjk`).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.core.config import load_rules
from service.demo import DEMO, PEOPLE, Demo, draft, play, reply

SECOND = (
    (DEMO / "draft.txt")
    .read_text(encoding="utf-8")
    .replace("客服系统升级评审会", "客服知识库启动会")
    .replace("2024年5月20日 14:00-15:00", "2024年5月27日 10:00-11:00")
    .replace("| 1 | 输出工单自动分派方案 | 何磊 | 技术部 | 2024-05-24 | 提交《分派方案》文档 |",
             "| 1 | 搭建知识库检索原型 | 许静 | 技术部 | 2024-05-30 | 可演示的原型 |")
    .replace("| 2 | 整理近三个月投诉分类数据 | 黄敏 | 客服部 | 2024-05-27 | 提交分类数据表 |",
             "| 2 | 梳理高频问题答案200条 | 黄敏 | 客服部 | 2024-06-21 | 答案清单 |")
    .replace("| 3 | 制定升级期间人工后备排班 | 吴浩 | 运营部 | 2024-05-23 | 提交排班表 |",
             "| 3 | 制定知识库运营规范 | 吴浩 | 运营部 | 2024-06-05 | 规范文档 |\n"
             "| 4 | 接入工单系统单点登录 | 何磊 | 技术部 | 2024-06-28 | 联调通过 |")
)  # fmt: skip


def weekly_html(data_dir: Path) -> str:
    rules = load_rules()
    play(rules, data_dir)  # the demo's meeting, up to the weekly table of 27 May
    demo = Demo(data_dir, rules, [])
    demo.seen = len(demo.sent())
    demo.step(
        "2024-05-27T11:00:00+08:00",
        "a second meeting's draft",
        draft("zheng.fang", SECOND, "2024-05-27T10:58:00+08:00", "客服知识库启动会 会议纪要"),
    )
    minutes = {u: demo.mail_to(u, "客服知识库启动会") for u in PEOPLE}
    demo.step(
        "2024-05-27T11:40:00+08:00",
        "everyone confirms",
        *[reply(u, minutes[u], "确认", "2024-05-27T11:30:00+08:00") for u in PEOPLE],
    )
    demo.step(
        "2024-05-28T15:00:00+08:00",
        "blocked, progress, a delay",
        reply(
            "huang.min",
            demo.mail_to("huang.min", "客服系统升级评审会"),
            "#2 受阻 原因:工单系统导出失败 需要:技术部协助导出工单数据",
            "2024-05-28T14:50:00+08:00",
        ),
        reply(
            "huang.min",
            demo.mail_to("huang.min", "客服知识库启动会"),
            "#2 受阻 原因:产品答案口径未定 需要:产品部确认答案口径",
            "2024-05-28T14:52:00+08:00",
        ),
        reply(
            "he.lei",
            demo.mail_to("he.lei", "客服知识库启动会"),
            "#4 进度 40% 接口已通",
            "2024-05-28T14:53:00+08:00",
        ),
        reply(
            "wu.hao",
            demo.mail_to("wu.hao", "客服知识库启动会"),
            "#3 延期至6月14日 原因:等法务意见",
            "2024-05-28T14:55:00+08:00",
        ),
    )
    demo.step("2024-06-03T09:05:00+08:00", "Monday: the weekly tables")
    weekly = demo.mail_to("lin.tao", "行动项周报 2024-06-03")
    return weekly.html


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("html", type=Path, help="where to write the weekly mail's HTML part")
    parser.add_argument("--png", type=Path, help="also draw it here with a headless Chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="minutesd-weekly-") as scratch:
        html = weekly_html(Path(scratch))
    args.html.write_text(html, encoding="utf-8")
    print(f"wrote {args.html}")
    if args.png:
        browser = (
            shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
        )
        if browser is None:
            print(
                "no chromium on PATH: install it (apt-get install chromium fonts-noto-cjk)", file=sys.stderr
            )
            return 1
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
             f"--screenshot={args.png.resolve()}", "--window-size=1100,780", args.html.resolve().as_uri()],
            check=True, capture_output=True,
        )  # fmt: skip
        print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
