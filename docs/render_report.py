"""Remake the README's pictures of the quarterly review mail and of the two workbooks.

    .venv/bin/python docs/render_report.py [--out docs]

Plays the demo's two meetings as docs/render_weekly.py does (to the weekly table of Monday
3 June 2024), then the owners finish some items in June, on time or late; on Monday 1 July,
the first working day after Q2, the scheduler mails the quarterly review to each department
head. Writes, from what was really sent:

    report-mail.png   the mail of 许静 (head of 技术部) with its inline chart, drawn by Chromium
    report-xlsx.png   its attached workbook, drawn by LibreOffice (soffice, then pdftoppm)
    weekly-xlsx.png   the weekly table's workbook of 3 June (林涛's), drawn the same way

Needs `chromium`, `libreoffice-calc-nogui`, `poppler-utils` and a CJK font (`fonts-noto-cjk`):
apt-get install chromium libreoffice-calc-nogui poppler-utils fonts-noto-cjk
"""

from __future__ import annotations

import argparse
import email
import shutil
import subprocess
import sys
import tempfile
from email.message import Message
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from PIL import Image, ImageChops  # matplotlib's own dependency
from render_weekly import weekly_html  # the demo and the second meeting, to 3 June

from service.core.config import load_rules
from service.demo import Demo, reply

HERE = Path(__file__).resolve().parent
EVIDENCE = ("交付物.pdf", b"%PDF-1.4\n" + b"% demo deliverable\n" * 400)


def play_to_the_quarterly_review(data_dir: Path) -> None:
    weekly_html(data_dir)
    demo = Demo(data_dir, load_rules(), [])
    demo.seen = len(demo.sent())
    meeting_one, meeting_two = "客服系统升级评审会", "客服知识库启动会"

    def done(user: str, meeting: str, line: str, when: str) -> None:
        mail = demo.mail_to(user, meeting)
        demo.step(when, f"{user}: {line}", reply(user, mail, line, when, EVIDENCE))

    done("huang.min", meeting_one, "#2 完成 分类数据表见附件", "2024-06-04T16:00:00+08:00")  # planned 29 May
    done("wu.hao", meeting_two, "#3 完成 规范见附件", "2024-06-13T17:00:00+08:00")  # planned 5 June
    done("he.lei", meeting_two, "#4 完成 联调报告见附件", "2024-06-27T17:00:00+08:00")  # planned 28 June
    demo.step("2024-07-01T09:05:00+08:00", "Monday 1 July: the quarterly review to each head")


def sent_to(data_dir: Path, address: str, subject: str) -> Message:
    found = []
    for path in sorted((data_dir / "maildir" / "sent" / "new").iterdir(), key=lambda p: p.stat().st_mtime_ns):
        msg = email.message_from_bytes(path.read_bytes())
        decoded = str(email.header.make_header(email.header.decode_header(msg["Subject"] or "")))
        if address in (msg["To"] or "") and subject in decoded:
            found.append(msg)
    if not found:
        raise SystemExit(f"no mail to {address} about {subject!r}")
    return found[-1]


def part(msg: Message, content_type: str) -> Message:
    return next(p for p in msg.walk() if p.get_content_type() == content_type)


def trim(png: Path, margin: int = 16) -> None:
    """Cut the white page around what was drawn, keeping a small margin."""
    image = Image.open(png).convert("RGB")
    box = ImageChops.difference(image, Image.new("RGB", image.size, "white")).getbbox()
    if box:
        left, top, right, bottom = box
        image = image.crop(
            (max(0, left - margin), max(0, top - margin), min(image.width, right + margin),
             min(image.height, bottom + margin))
        )  # fmt: skip
    image.save(png)


def sheet_png(xlsx: Path, png: Path, scratch: Path) -> None:
    soffice, pdftoppm = shutil.which("soffice"), shutil.which("pdftoppm")
    if not (soffice and pdftoppm):
        raise SystemExit("needs soffice and pdftoppm: apt-get install libreoffice-calc-nogui poppler-utils")
    subprocess.run(
        [soffice, "--headless", f"-env:UserInstallation=file://{scratch}/lo", "--convert-to", "pdf",
         "--outdir", str(scratch), str(xlsx)],
        check=True, capture_output=True,
    )  # fmt: skip
    pdf = scratch / f"{xlsx.stem}.pdf"
    subprocess.run([pdftoppm, "-png", "-r", "130", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(png.with_suffix(""))], check=True)  # fmt: skip
    trim(png)


def mail_png(msg: Message, png: Path, scratch: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise SystemExit("needs chromium: apt-get install chromium fonts-noto-cjk")
    html = part(msg, "text/html").get_payload(decode=True).decode("utf-8")  # type: ignore[union-attr]
    image = part(msg, "image/png")
    content_id = str(image["Content-ID"]).strip("<>")
    (scratch / "chart.png").write_bytes(image.get_payload(decode=True))  # type: ignore[arg-type]
    page = scratch / "mail.html"
    page.write_text(html.replace(f"cid:{content_id}", "chart.png"), encoding="utf-8")
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         f"--screenshot={png.resolve()}", "--window-size=900,1000", page.as_uri()],
        check=True, capture_output=True,
    )  # fmt: skip
    trim(png)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=HERE, help="where the three PNG files go (docs/)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="minutesd-report-") as name:
        scratch = Path(name)
        data_dir = scratch / "data"
        play_to_the_quarterly_review(data_dir)
        report = sent_to(data_dir, "xu.jing@demo.example", "行动项季度报告 2024Q2")
        weekly = sent_to(data_dir, "lin.tao@demo.example", "行动项周报 2024-06-03")
        mail_png(report, args.out / "report-mail.png", scratch)
        for msg, stem in ((report, "report"), (weekly, "weekly")):
            attached = next(p for p in msg.walk() if (p.get_filename() or "").endswith(".xlsx"))
            xlsx = scratch / f"{stem}.xlsx"
            xlsx.write_bytes(attached.get_payload(decode=True))  # type: ignore[arg-type]
            sheet_png(xlsx, args.out / f"{stem}-xlsx.png", scratch)
    for stem in ("report-mail", "report-xlsx", "weekly-xlsx"):
        print(f"wrote {args.out / stem}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
