"""`minutesd demo`: one meeting from draft to weekly table, through the real pipeline.

Everything runs on the embedded Maildir transport in a data directory of its own, with the
clock moved from step to step; the people reply the way a mail client does (Reply-To,
In-Reply-To, the quote below). What the service sent is printed as it goes.
"""

from __future__ import annotations

import mailbox
import tempfile
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from parsers.message import InboundMessage, parse_message
from service.core.clock import Clock, parse_instant
from service.core.config import Rules, settings_from_env
from service.core.directory import read_directory
from service.core.resources import shipped
from service.core.store import Store
from service.daemon import Daemon
from service.items import state, tracker

DEMO = shipped("demo")
DOMAIN = "demo.example"
SERVICE = f"minutes@{DOMAIN}"
PEOPLE = ["lin.tao", "xu.jing", "he.lei", "huang.min", "wu.hao", "zheng.fang"]


class Demo:
    def __init__(self, data_dir: Path, rules: Rules, out: list[str]) -> None:
        self.data_dir = data_dir
        self.rules = rules
        self.out = out
        self.seen = 0

    def _settings_env(self, now: str) -> dict[str, str]:
        return {
            "MINUTESD_DATA_DIR": str(self.data_dir),
            "MINUTESD_ADDRESS": SERVICE,
            "MINUTESD_DIRECTORY": str(DEMO / "people.yaml"),
            "MINUTESD_NOW": now,
        }

    def step(self, now: str, title: str, *messages: EmailMessage) -> None:
        self.out.append(f"\n== {now[:16].replace('T', ' ')}  {title}")
        (self.data_dir / "maildir").mkdir(parents=True, exist_ok=True)
        inbox = mailbox.Maildir(self.data_dir / "maildir" / "inbox", create=True)
        for msg in messages:
            inbox.add(bytes(msg))
            self.out.append(f"   in:  {msg['From']}: {msg['Subject']}")
        settings = settings_from_env(self._settings_env(now))
        with Store(self.data_dir) as store:
            daemon = Daemon(settings, self.rules, store, Clock(now))
            daemon.run_once()
            daemon.mailbox.close()
        for sent in self.sent()[self.seen :]:
            lines = [line.strip() for line in sent.text.splitlines() if line.strip()]
            greeting = lines and lines[0].endswith(("您好:", "各位好:", ",")) and len(lines) > 1
            first = lines[1] if greeting else (lines[0] if lines else "")
            self.out.append(f"   out: {', '.join(sent.to)}: {sent.subject}")
            self.out.append(f"        {first[:90]}")
            self.out += [f"        {line[:90]}" for line in lines if line.startswith("→")][:3]
        self.seen = len(self.sent())

    def sent(self) -> list[InboundMessage]:
        folder = self.data_dir / "maildir" / "sent" / "new"
        return [
            parse_message(p.read_bytes())
            for p in sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime_ns)
        ]

    def mail_to(self, user: str, words: str) -> InboundMessage:
        address = f"{user}@{DOMAIN}"
        return [m for m in self.sent() if address in m.to and words in m.subject][-1]


def draft(recorder: str, text: str, when: str, subject: str = "客服系统升级评审会 会议纪要") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"{recorder}@{DOMAIN}"
    msg["To"] = SERVICE
    msg["Subject"] = subject
    msg["Date"] = format_datetime(parse_instant(when))
    msg["Message-ID"] = make_msgid(domain=DOMAIN)
    msg.set_content(text)
    return msg


def reply(
    user: str, to: InboundMessage, body: str, when: str, attachment: tuple[str, bytes] | None = None
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"{user}@{DOMAIN}"
    msg["To"] = to.reply_to[0] if to.reply_to else SERVICE
    msg["Subject"] = f"回复: {to.subject}"
    msg["Date"] = format_datetime(parse_instant(when))
    msg["Message-ID"] = make_msgid(domain=DOMAIN)
    msg["In-Reply-To"] = f"<{to.message_id}>"
    msg["References"] = f"<{to.message_id}>"
    quoted = "\n".join(f"> {line}" for line in to.text.splitlines()[:20])
    msg.set_content(f"{body}\n\n在 {to.date or ''},会议纪要助手 <{SERVICE}> 写道:\n{quoted}\n")
    if attachment:
        name, data = attachment
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg


def play(rules: Rules, data_dir: Path | None = None) -> str:
    out: list[str] = []
    with tempfile.TemporaryDirectory(prefix="minutesd-demo-") as scratch:
        demo = Demo(Path(data_dir or scratch), rules, out)
        text = (DEMO / "draft.txt").read_text(encoding="utf-8")
        demo.step(
            "2024-05-20T16:00:00+08:00",
            "the recorder mails the draft",
            draft("zheng.fang", text, "2024-05-20T15:58:00+08:00"),
        )
        minutes = {u: demo.mail_to(u, "待确认") for u in PEOPLE}
        demo.step(
            "2024-05-20T16:40:00+08:00",
            "four confirm, one objects",
            *[
                reply(u, minutes[u], "确认,没问题", "2024-05-20T16:30:00+08:00")
                for u in ("lin.tao", "xu.jing", "wu.hao", "zheng.fang")
            ],
            reply(
                "huang.min",
                minutes["huang.min"],
                "第2项截止时间应为5月29日,数据要等月底导出。",
                "2024-05-20T16:35:00+08:00",
            ),
        )
        revised = text.replace("| 2024-05-27 | 提交分类数据表 |", "| 2024-05-29 | 提交分类数据表 |")
        objection = demo.mail_to("zheng.fang", "修改意见")
        demo.step(
            "2024-05-20T17:10:00+08:00",
            "the recorder answers with a revised draft",
            reply("zheng.fang", objection, revised, "2024-05-20T17:05:00+08:00"),
        )
        v2 = {u: demo.mail_to(u, "第2版") for u in PEOPLE}
        demo.step(
            "2024-05-20T17:40:00+08:00",
            "everyone confirms version 2: the owners get their items",
            *[reply(u, v2[u], "确认", "2024-05-20T17:30:00+08:00") for u in PEOPLE],
        )
        demo.step("2024-05-21T09:05:00+08:00", "the scheduler: deadline reminders")
        assignment = demo.mail_to("wu.hao", "您的行动项")
        demo.step(
            "2024-05-21T11:00:00+08:00",
            "done without evidence, then with it",
            reply("wu.hao", assignment, "完成", "2024-05-21T10:00:00+08:00"),
            reply(
                "wu.hao",
                assignment,
                "#3 完成 排班表见附件",
                "2024-05-21T10:50:00+08:00",
                ("后备排班表.xlsx", b"PK demo"),
            ),
        )
        demo.step(
            "2024-05-21T15:00:00+08:00",
            "the tracker verifies; an owner delays with a relative date",
            reply("lin.tao", demo.mail_to("lin.tao", "待核实"), "核实通过", "2024-05-21T14:50:00+08:00"),
            reply(
                "he.lei",
                demo.mail_to("he.lei", "您的行动项"),
                "#1 延期到下周五 原因:等接口文档",
                "2024-05-21T14:55:00+08:00",
            ),
        )
        demo.step("2024-05-27T09:05:00+08:00", "Monday: the weekly tracker (.xlsx and .csv attached)")
        with Store(demo.data_dir, read_only=True) as store:
            chosen = state.all_items(store)
        directory = read_directory(DEMO / "people.yaml")
        rows = [tracker.row(i, "zh", directory) for i in chosen]
        today = parse_instant("2024-05-27T09:05:00+08:00").astimezone(rules.tz).date()
        out += [
            "",
            tracker.as_table(rows, "zh"),
            f"on-time rate {tracker.on_time_rate(chosen, today).spelled()}",
        ]
        out.append(f"\ndata directory: {demo.data_dir if data_dir else '(temporary, removed)'}")
    return "\n".join(out)
