"""The attacks of issue 15 through the real Postfix + Dovecot: each is refused or harmless, every
message ends with one outcome, and what we send keeps its header block intact.

Postfix here runs no authentication milter, so the test writes the Authentication-Results our
receiving server would add, under the authserv-id the rules trust (as the issue allows).
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, run_cli, write_rules
from tests.mailstack import MailStack
from tests.service.minutes.test_confirmation_e2e import (
    at,
    deliver,
    draft_mail,
    env_for,
    mails,
    minutes_mail,
    record_status,
    reply,
    run_once,
)

pytestmark = pytest.mark.mailstack

TRUSTED = "mx.example.test"
NOW = "2024-05-20T16:02:00+08:00"


def _signed(msg: EmailMessage, result: str = "dmarc=pass spf=pass dkim=pass") -> EmailMessage:
    msg["Authentication-Results"] = f"{TRUSTED}; {result}"
    return msg


def _docx_bomb() -> bytes:
    real = (SAMPLES / "draft-zh-attachment.docx").read_bytes()
    body = b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(real)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "word/document.xml":
                data = body + b"<w:p/>" * 2_000_000 + b"</w:body></w:document>"
            target.writestr(info.filename, data)
    return out.getvalue()


def _status(env: dict[str, str]) -> dict:
    result = run_cli(["status", "--json"], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_each_attack_through_the_real_mail_stack_is_refused_or_harmless(
    stack: MailStack, tmp_path: Path
) -> None:
    rules = write_rules(
        tmp_path / "rules.yaml",
        security={"trusted_authserv_id": TRUSTED},
        limits={"message_megabytes": 2},
    )
    env = {**env_for(stack, tmp_path, NOW), "MINUTESD_RULES": str(rules)}
    for user in ["minutes", "chen.jing", "qian.fang", "zhou.ting", "wu.gang", "li.na"]:
        stack.empty(user)
    deliver(stack, _signed(draft_mail(stack, "draft-zh-plain.txt", "qian.fang")))
    run_once(env)
    minutes = minutes_mail(stack, "chen.jing", "2024-OPS-001")
    stack.empty("chen.jing")
    stack.empty("qian.fang")

    forged = _signed(reply(stack, "chen.jing", minutes, "确认"), "dmarc=fail spf=fail")
    display_name = _signed(reply(stack, "chen.jing", minutes, "确认"))
    del display_name["From"]
    display_name["From"] = '"=?utf-8?b?5p2o6Z2ZIDxjaGVuLmppbmdAZXhhbXBsZS50ZXN0Piwg?=" <wu.gang@example.test>'
    two_froms = _signed(reply(stack, "chen.jing", minutes, "确认"))
    two_froms.replace_header("From", f"{stack.address('chen.jing')}, {stack.address('wu.gang')}")
    outsider_draft = draft_mail(stack, "draft-zh-plain.txt", "qian.fang", "会议纪要 外部")
    outsider_draft.replace_header("From", "spam@attacker.test")
    outsider_draft = _signed(outsider_draft)
    bomb = _signed(draft_mail(stack, "draft-zh-plain.txt", "qian.fang", "会议纪要 附件"))
    bomb.set_content("纪要见附件。")
    bomb.add_attachment(_docx_bomb(), maintype="application", subtype="octet-stream", filename="纪要.docx")
    oversized = _signed(reply(stack, "zhou.ting", minutes, "见附件"))
    oversized.add_attachment(bytes(3 * 1024 * 1024), maintype="application", subtype="pdf", filename="a.pdf")
    injected = _signed(reply(stack, "chen.jing", minutes, "确认"))
    injected.replace_header("References", " ".join(f"<r{n}@example.test>" for n in range(40_000)))
    raw_injected = bytes(injected).replace(
        f"From: {stack.address('chen.jing')}".encode(),
        b"From: =?utf-8?q?Chen=0D=0ABcc:_mallory@attacker.test?= <chen.jing@example.test>",
    )
    probe_known = _signed(EmailMessage())
    probe_unknown = _signed(EmailMessage())
    for probe, number in ((probe_known, "2024-OPS-001"), (probe_unknown, "2024-OPS-077")):
        probe["From"] = stack.address("li.na") if number.endswith("077") else stack.address("zhou.ting")
        probe["To"] = stack.address("minutes")
        probe["Subject"] = f"回复: [{number}] 纪要"
        probe["Message-ID"] = make_msgid(domain=stack.domain)
        probe.set_content("确认")

    started = time.monotonic()
    deliver(
        stack, forged, display_name, two_froms, outsider_draft, bomb, oversized, probe_known, probe_unknown
    )
    deliver(stack, raw_injected, sender=stack.address("chen.jing"))
    run_once(at(env, "2024-05-20T17:00:00+08:00"))
    took = time.monotonic() - started

    record = record_status(env, "2024-OPS-001")
    responses = {r["email"]: r["response"] for r in record["attendees"] if r["response"] != "none"}
    # Only the last, real (if ill-formed) confirmation of chen.jing counts; no forgery does.
    assert responses == {stack.address("chen.jing"): "confirmed"}, responses
    counts = _status(env)["messages"]
    assert counts.get("quarantined", 0) == 0, counts
    ours = 10  # the draft, the eight attacks and the probes, the ill-formed confirmation
    assert sum(counts.values()) >= ours, counts  # plus our own copies, each recorded once
    # The real owner of the forged address is told once; nothing went to the outsider's attendees.
    chen = [m.subject for m in mails(stack, "chen.jing")]
    assert sum("冒用" in s or "forged" in s for s in chen) == 1, chen
    # The oversized mail got its one answer, with the limit.
    [too_big] = [m for m in mails(stack, "zhou.ting") if "MB" in m.text]
    assert "超过了 2 MB 的上限" in too_big.text
    # The bomb's sender heard why; the same answer for a record one is not on and one that does not exist.
    assert any(
        "太长" in m.text or "too long" in m.text or "超出" in m.text for m in mails(stack, "qian.fang")
    )
    refusals = [m.text for m in mails(stack, "li.na")] + [
        m.text for m in mails(stack, "zhou.ting") if "MB" not in m.text
    ]
    assert len(refusals) == 2 and refusals[0] == refusals[1], refusals
    # What we sent keeps its header block: no injected line, every line a header or a fold.
    for user in ["chen.jing", "qian.fang", "zhou.ting", "li.na", "wu.gang"]:
        with stack.imap(user) as client:
            client.select_folder("INBOX", readonly=True)
            uids = client.search("ALL")
            for data in client.fetch(uids, [b"BODY.PEEK[HEADER]"]).values():
                head = data[b"BODY[HEADER]"].decode("ascii", "replace").rstrip("\r\n")
                assert "mallory" not in head.lower()
                assert all(line[:1] in " \t" or ":" in line for line in head.split("\r\n")), head
    assert took < 60, f"the bomb and the 40,000 references held the pass for {took:.0f} s"
