"""The `minutesd` command line."""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib
import json
import logging
import os
import select
import sys
from collections.abc import Callable
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

from service.core.clock import Clock
from service.core.config import ConfigError, load_from_env, load_rules
from service.core.directory import read_directory
from service.core.store import Store, StoreError

log = logging.getLogger("minutesd")

Command = Callable[[argparse.Namespace], int]


def _later(module: str, name: str) -> Command:
    """A command whose module is imported only when it runs: `minutesd status` never loads
    the daemon, the scheduler or the pipeline's handlers (start-up is most of a short command)."""

    def run(args: argparse.Namespace) -> int:
        command: Command = getattr(importlib.import_module(module), name)
        return command(args)

    return run


cmd_status, cmd_tracker, cmd_report = (
    _later("service.views", n) for n in ("cmd_status", "cmd_tracker", "cmd_report")
)
cmd_archive, cmd_backup, cmd_fsck, cmd_init, cmd_outbox, cmd_quarantine, cmd_restore = (
    _later("service.operations", n)
    for n in (
        "cmd_archive",
        "cmd_backup",
        "cmd_fsck",
        "cmd_init",
        "cmd_outbox",
        "cmd_quarantine",
        "cmd_restore",
    )
)


LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class _JsonLines(logging.Formatter):
    """One JSON object a line, for log collectors: time, level, event, message and its fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "event": record.name,
            "message": record.getMessage(),
        }
        for key in ("message_id", "record", "outcome"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(entry, ensure_ascii=False)


def _setup_logging() -> None:
    level = os.environ.get("MINUTESD_LOG_LEVEL", "INFO").upper()
    if level not in LEVELS:
        raise ConfigError(f"MINUTESD_LOG_LEVEL must be one of {', '.join(LEVELS)}, not {level!r}")
    handler = logging.StreamHandler(sys.stderr)
    form = os.environ.get("MINUTESD_LOG_FORMAT", "text").lower()
    if form not in ("text", "json"):
        raise ConfigError(f"MINUTESD_LOG_FORMAT must be text or json, not {form!r}")
    handler.setFormatter(
        _JsonLines()
        if form == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=level, handlers=[handler])


def cmd_run(args: argparse.Namespace) -> int:
    from service.daemon import Daemon

    settings, rules = load_from_env()
    with Store(settings.data_dir) as store:
        daemon = Daemon(settings, rules, store, Clock(settings.now))
        if args.once:
            report = daemon.run_once()
            daemon.mailbox.close()
            if args.json:
                print(json.dumps(asdict(report), ensure_ascii=False))
            else:
                print(
                    f"processed {report.processed} message(s) {report.outcomes}; "
                    f"sent {report.outbox.sent}, retrying {report.outbox.retrying}, failed {report.outbox.failed}"
                )
            return 1 if report.outcomes.get("quarantined") else 0
        if settings.imap is None:
            inbox = settings.data_dir / "maildir" / "inbox" / "new"
            sent = settings.data_dir / "maildir" / "sent" / "new"
            print(
                f"minutesd on the embedded mailbox.\n  drop .eml files into: {inbox}\n  replies appear in:   {sent}"
            )
            sys.stdout.flush()
        daemon.run_forever()
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from service.daemon import build_transport
    from service.mail.sender import drain
    from service.pipeline import Pipeline

    settings, rules = load_from_env()
    worst = 0
    results: list[dict[str, object]] = []
    with Store(settings.data_dir) as store:
        pipeline = Pipeline(settings, rules, store, Clock(settings.now))
        for name in args.files:
            path = Path(name)
            try:
                raw = path.read_bytes()
            except OSError as exc:
                print(f"{name}: cannot read: {exc.strerror}", file=sys.stderr)
                results.append({"file": name, "outcome": None, "reason": f"cannot read: {exc.strerror}"})
                worst = 1
                continue
            ref = f"file:{hashlib.sha256(raw).hexdigest()}"
            result = pipeline.process(raw, ref)
            results.append(
                {"file": name, "message_id": result.message_id, "outcome": result.outcome.value,
                 "reason": result.reason, "seen_before": result.already_done}
            )  # fmt: skip
            if result.outcome == "quarantined" and not result.already_done:
                worst = 1
            if not args.json:
                again = " (seen before)" if result.already_done else ""
                print(f"{name}: {result.outcome.value}{again}: {result.reason}")
        pipeline.sync()
        # Nobody looks for copies here: mail in doubt waits for the daemon, which does.
        settled_at = 0.0 if rules.outbox.copy_to_self else None
        report = drain(store, build_transport(settings, rules), rules.outbox, doubt_settled_at=settled_at)
        if args.json:
            print(json.dumps({"messages": results, "outbox": asdict(report)}, ensure_ascii=False))
        else:
            print(f"outbox: sent {report.sent}, retrying {report.retrying}, failed {report.failed}")
    return worst


def cmd_demo(args: argparse.Namespace) -> int:
    from service.demo import play

    rules = load_rules(Path(os.environ["MINUTESD_RULES"]) if os.environ.get("MINUTESD_RULES") else None)
    target = Path(args.data_dir) if args.data_dir else None
    if target is not None and target.exists() and any(target.iterdir()):
        print(f"minutesd demo: {target} is not empty; give an empty or new directory", file=sys.stderr)
        return 1
    print(play(rules, target))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from service import health

    return health.report(health.run_checks(), args.json)


def cmd_parse(args: argparse.Namespace) -> int:
    from service.minutes.drafts import parse_file

    settings, rules = load_from_env()
    minutes = parse_file(Path(args.file), rules, read_directory(settings.directory_path))
    print(json.dumps(minutes.as_json(), ensure_ascii=False, indent=2))
    return 0 if minutes.valid else 1


def _version() -> str:
    try:
        return metadata.version("minutesd")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minutesd", description="Meeting minutes and action items, run by email."
    )
    parser.add_argument("--version", action="version", version=f"minutesd {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the daemon (IMAP IDLE or polling, plus the outbox)")
    run.add_argument("--once", action="store_true", help="one pass over inbox and outbox, then exit")
    run.add_argument("--json", action="store_true", help="with --once: the pass as JSON")
    run.set_defaults(func=cmd_run)
    ingest = sub.add_parser("ingest", help="process message files as if they had arrived")
    ingest.add_argument("files", nargs="+")
    ingest.add_argument("--json", action="store_true", help="each file's outcome as JSON")
    ingest.set_defaults(func=cmd_ingest)
    status = sub.add_parser("status", help="what the service holds")
    status.add_argument("record", nargs="?")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    parse = sub.add_parser("parse", help="parse a draft (.eml .txt .html .md .docx) and print it as JSON")
    parse.add_argument("file")
    parse.set_defaults(func=cmd_parse)
    track = sub.add_parser("tracker", help="the action-item tracker table (行动项跟踪表)")
    shape = track.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true")
    shape.add_argument("--csv", action="store_true", help="CSV (UTF-8 with BOM) on standard output")
    shape.add_argument("--xlsx", metavar="FILE", help="write an Excel workbook")
    track.add_argument("--department", help="only this department's items")
    track.add_argument("--owner", help="only this owner's items (name or address)")
    track.add_argument("--lang", choices=["zh", "en"], help="column headers and statuses in this language")
    track.add_argument(
        "--archived",
        action="store_true",
        help="also meetings archived after they finished (reads the archive)",
    )
    track.set_defaults(func=cmd_tracker)
    review = sub.add_parser(
        "report", help="quarterly review: on-time rate by department, slip, items per meeting"
    )
    review.add_argument("--quarter", required=True, help="e.g. 2024Q3")
    review.add_argument("--json", action="store_true")
    review.add_argument("--xlsx", metavar="FILE", help="write the review as an Excel workbook")
    review.add_argument(
        "--chart", metavar="FILE", help="write the on-time rate per department and month as a PNG"
    )
    review.add_argument("--lang", choices=["zh", "en"], help="the workbook's and chart's language")
    review.set_defaults(func=cmd_report)
    demo = sub.add_parser("demo", help="play a whole meeting through the pipeline on the embedded transport")
    demo.add_argument("--data-dir", help="keep the demo's data here (default: a temporary directory)")
    demo.set_defaults(func=cmd_demo)
    check = sub.add_parser("check", help="configuration, connections, held and failed mail, the calendar")
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=cmd_check)
    mail = sub.add_parser("outbox", help="list failed and waiting mail; `outbox retry` sends it again")
    mail.add_argument("action", nargs="?", choices=["list", "retry"], default="list")
    mail.add_argument("keys", nargs="*", help="outbox keys to retry")
    mail.add_argument("--all", action="store_true", help="retry every failed mail")
    mail.add_argument("--json", action="store_true")
    mail.set_defaults(func=cmd_outbox)
    init = sub.add_parser("init", help="make an empty store (only where there is none, unless --force)")
    init.add_argument("--force", action="store_true", help="start over, keeping the old files beside")
    init.set_defaults(func=cmd_init)
    held = sub.add_parser("quarantine", help="messages held after an error: list, retry after a fix, or drop")
    held.add_argument("action", nargs="?", choices=["list", "retry", "drop"], default="list")
    held.add_argument("ids", nargs="*", help="message ids (from the list)")
    held.add_argument("--all", action="store_true", help="every held message")
    held.add_argument("--reason", help="why a dropped message is dropped")
    held.add_argument("--json", action="store_true")
    held.set_defaults(func=cmd_quarantine)
    save = sub.add_parser(
        "backup", help="a consistent copy of store, archive and evidence (the daemon may run)"
    )
    save.add_argument("file", help="the .tar.gz to write")
    save.set_defaults(func=cmd_backup)
    back = sub.add_parser("restore", help="a backup into an empty data directory")
    back.add_argument("file")
    back.set_defaults(func=cmd_restore)
    archive = sub.add_parser(
        "archive", help="move finished meetings, sent mail and handled messages to the archive now"
    )
    archive.add_argument(
        "--before", type=int, metavar="YEAR", help="also every meeting finished before 1 January of YEAR"
    )
    archive.add_argument(
        "--purge-before",
        type=int,
        metavar="YEAR",
        help="delete archive periods before YEAR with their evidence, raw mail and bodies "
        "(refused inside archive.keep_years)",
    )
    archive.add_argument("--dry-run", action="store_true", help="with --purge-before: say what would go")
    archive.add_argument("--json", action="store_true")
    archive.set_defaults(func=cmd_archive)
    fsck = sub.add_parser("fsck", help="check store, journal, archive and evidence against each other")
    fsck.add_argument("--json", action="store_true")
    fsck.set_defaults(func=cmd_fsck)
    return parser


# Python collects its youngest objects every 700 allocations and, now and then, walks every
# object it holds. A command reading years of meetings holds a dict for each one it reads,
# for the whole command: at the default, collecting was a sixth of `status --json` at 250,000
# items (bench/README). The store holds documents as bytes, which are never walked.
YOUNG_COLLECTION_EVERY = 20_000


def main(argv: list[str] | None = None) -> int:
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        _setup_logging()
        return func(args)
    except ConfigError as exc:
        print(f"minutesd: configuration error: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"minutesd: {exc}", file=sys.stderr)
        return 3
    except FileNotFoundError as exc:
        print(f"minutesd: no such file: {exc.filename}", file=sys.stderr)
        return 2
    except PermissionError as exc:
        print(f"minutesd: not allowed to read or write {exc.filename}", file=sys.stderr)
        return 3
    except BrokenPipeError:
        if not _stdout_closed():
            raise  # a socket, not the reader of our output: a real error
        return 141  # what a shell tool killed by SIGPIPE returns: `minutesd demo | head` is no error


def _stdout_closed() -> bool:
    """Whether our output's reader went away (the write end of a pipe whose read end is closed
    polls as an error); if so, stdout is pointed at /dev/null so that the interpreter's final
    flush does not print a second traceback."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):
        return False
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    if not any(events & select.POLLERR for _, events in poller.poll(0)):
        return False
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    return True


if __name__ == "__main__":
    sys.exit(main())
