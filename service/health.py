"""`minutesd check`: what is wrong, in words, and nothing reported healthy that is not.

It fails (exit 1) when mail is held in quarantine, when outgoing mail has failed, when the
rules or the directory cannot be read, or when IMAP or SMTP do not answer within a few
seconds; it warns when the holiday calendar ends before a confirmation window or an open
deadline (chinese-calendar knows holidays only up to its last year; dates in `calendar:`
of the rules for that year silence the warning).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime

from service.core.calendar import covered_until
from service.core.config import ConfigError, Rules, Settings, load_from_env
from service.core.directory import check_directory, read_directory
from service.core.store import Store, StoreError
from service.daemon import build_mailbox, build_transport
from service.mail.mailbox import MailboxUnavailable
from service.mail.outbox import TABLE as OUTBOX
from service.mail.sender import TemporaryFailure

CONNECT_SECONDS = 10.0


@dataclass
class Finding:
    check: str
    status: str  # ok, warn, fail
    message: str


def run_checks() -> list[Finding]:
    try:
        settings, rules = load_from_env()
    except ConfigError as exc:
        return [Finding("configuration", "fail", str(exc))]
    found = [Finding("rules", "ok", str(settings.rules_path))]
    try:
        directory = read_directory(settings.directory_path)
        where = settings.directory_path or "none (MINUTESD_DIRECTORY is unset: only Name <addr> resolves)"
        found.append(
            Finding(
                "directory",
                "ok",
                f"{where}: {len(directory.people)} people, {len(directory.departments)} departments",
            )
        )
    except ConfigError as exc:
        found.append(Finding("directory", "fail", str(exc)))
    else:
        problems = check_directory(settings.directory_path)
        if problems:
            found.append(Finding("directory entries", "warn", "; ".join(problems[:20])))
    found.append(
        Finding("address", "ok", f"service address {settings.address}, data directory {settings.data_dir}")
    )
    found += _data(settings, rules)
    found += _connections(settings, rules)
    return found


def _data(settings: Settings, rules: Rules) -> list[Finding]:
    if not (settings.data_dir / "db.json").exists():
        return [Finding("store", "ok", f"no store yet in {settings.data_dir}: the first run makes one")]
    try:
        store = Store(settings.data_dir, read_only=True)
    except StoreError as exc:
        return [Finding("store", "fail", str(exc))]
    held = store.find("messages", lambda d: d["outcome"] == "quarantined")
    failed = store.find(OUTBOX, lambda d: d["state"] == "failed")
    out = [
        Finding(
            "quarantine",
            "fail" if held else "ok",
            f"{len(held)} message(s) held: see `minutesd quarantine`" if held else "nothing held",
        ),
        Finding(
            "outbox",
            "fail" if failed else "ok",
            f"{len(failed)} mail(s) failed: see `minutesd outbox`, then `minutesd outbox retry`"
            if failed
            else "no failed mail",
        ),
    ]
    return [*out, _calendar(store, rules)]


def _calendar(store: Store, rules: Rules) -> Finding:
    """The latest day the service must count working days for, against the calendar's data."""
    days: list[date] = [date.today()]
    for record in store.all("records"):
        deadline = (record.get("window") or {}).get("deadline")
        if deadline and record.get("state") != "confirmed":
            days.append(datetime.fromisoformat(deadline).date())
    for item in store.all("items"):
        if item.get("due") and item.get("status") not in ("done", "cancelled"):
            days.append(date.fromisoformat(item["due"]))
    last = max(days)
    known = covered_until() if rules.calendar.source == "chinese_calendar" else 0
    overridden = {d.year for d in (*rules.calendar.holidays, *rules.calendar.workdays)}
    uncovered = sorted({d.year for d in days if d.year > known} - overridden)
    if rules.calendar.source == "chinese_calendar" and uncovered:
        return Finding(
            "calendar",
            "warn",
            f"chinese-calendar knows public holidays only up to {known}, but {last} must be counted: for "
            f"{', '.join(map(str, uncovered))} only weekends count. Upgrade chinese-calendar or list the "
            "holidays and make-up days under calendar: in the rules.",
        )
    return Finding(
        "calendar", "ok", f"working days known up to {max(known, *overridden) if overridden else known}"
    )


def _connections(settings: Settings, rules: Rules) -> list[Finding]:
    found = []
    try:
        found.append(Finding("inbound", "ok", build_mailbox(settings, rules, CONNECT_SECONDS).check()))
    except MailboxUnavailable as exc:
        found.append(Finding("inbound", "fail", _in_words(exc)))
    try:
        transport = build_transport(settings, rules, CONNECT_SECONDS)
        found.append(Finding("outbound", "ok", transport.check()))
    except TemporaryFailure as exc:
        found.append(Finding("outbound", "fail", _in_words(exc)))
    return found


def _in_words(exc: Exception) -> str:
    text = str(exc)
    lowered = text.lower()
    for needle, words in (
        ("authentication", "the user name or password is wrong"),
        ("auth", "the user name or password is wrong"),
        ("name or service not known", "the host name is unknown"),
        ("nodename nor servname", "the host name is unknown"),
        ("failure in name resolution", "the host name does not resolve (DNS unreachable or no such host)"),
        ("refused", "the server refused the connection (is it running, is the port right?)"),
        ("connect call failed", "the server refused the connection (is it running, is the port right?)"),
        ("timed out", f"no answer within {CONNECT_SECONDS:.0f} s (host, port or firewall?)"),
        ("timeout", f"no answer within {CONNECT_SECONDS:.0f} s (host, port or firewall?)"),
        ("certificate", "the server's certificate is not trusted: set SSL_CERT_FILE to its CA"),
    ):
        if needle in lowered:
            return f"{words}: {text}"
    return text


def report(findings: list[Finding], as_json: bool) -> int:
    if as_json:
        print(json.dumps({"checks": [asdict(f) for f in findings]}, ensure_ascii=False, indent=2))
    else:
        for f in findings:
            print(f"{ {'ok': 'ok  ', 'warn': 'WARN', 'fail': 'FAIL'}[f.status] } {f.check}: {f.message}")
    return 1 if any(f.status == "fail" for f in findings) else 0
