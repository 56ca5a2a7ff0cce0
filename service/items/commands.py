"""Item commands from a reply: each line resolved to one item, authorized, applied, answered.

Lines are independent: `#3 完成` applies even when the next line names an item that does not
exist. Each line gets its own outcome in one receipt. A line that could mean more than one
item applies to none; the receipt lists the sender's open items with their ids instead.
Someone who may not act on an item learns nothing about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from parsers.classify import RECORD_TOKEN
from parsers.command_args import with_
from parsers.command_types import Command, CommandReading, CommandWords, Problem, Verb
from parsers.commands import read_commands
from parsers.message import Attachment
from service.context import Context
from service.core.config import CommandRules, PerRules
from service.core.store import Doc
from service.items import edits, evidence, notices, roles, state
from service.items.state import ItemEvent, ItemRefused, Status
from service.minutes import records

OWNER_VERBS = (Verb.DONE, Verb.PROGRESS, Verb.DELAY, Verb.BLOCKED)
EDIT_VERBS = (Verb.REASSIGN, Verb.RESCHEDULE, Verb.ADD)


@dataclass
class LineResult:
    line: str
    verb: str
    outcome: str  # applied, problem, ambiguous, no_such_item, other_record, refused, not_now, evidence_needed
    item: str = ""
    title: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


def command_words(rules: CommandRules, vague_dates: tuple[str, ...] = ()) -> CommandWords:
    verbs = tuple(
        (verb, word)
        for verb, words in (
            (Verb.DONE, rules.done),
            (Verb.PROGRESS, rules.progress),
            (Verb.DELAY, rules.delay),
            (Verb.BLOCKED, rules.blocked),
            (Verb.CANCEL, rules.cancel),
            (Verb.VERIFY, rules.verify),
            (Verb.REJECT, rules.reject),
            (Verb.REASSIGN, rules.reassign),
            (Verb.RESCHEDULE, rules.reschedule),
            (Verb.ADD, rules.add),
        )
        for word in words
    )
    return CommandWords(
        verbs,
        tuple(rules.reason_labels),
        tuple(rules.support_labels),
        tuple(rules.not_commands),
        vague_dates,
        tuple(rules.needs_item),
    )


def reply_day(ctx: Context) -> date:
    """The day the reply was written, for 下周五; our own clock when its Date is missing or absurd."""
    sent = ctx.msg.date
    if sent is None or sent.tzinfo is None or sent > ctx.now or (ctx.now - sent).days > 30:
        return ctx.now.astimezone(ctx.rules.tz).date()
    return sent.astimezone(ctx.rules.tz).date()


_words_of = PerRules(
    lambda rules: command_words(rules.actions.commands, tuple(rules.parsing.get("vague_deadlines", [])))
)


def read(ctx: Context, text: str) -> CommandReading:
    return read_commands(text, _words_of(ctx.rules), reply_day(ctx))


def tracked(ctx: Context, record: Doc) -> list[Doc]:
    """The record's items, made or refreshed from its minutes once per message."""
    cached = ctx.facts.get("items")
    if cached is None:
        cached = ctx.facts["items"] = state.sync_from_minutes(ctx.txn, record, ctx.now)
    return list(cached)


def has_item_role(ctx: Context, record: Doc) -> bool:
    """Owner of an item, the tracker, or the host or recorder: their command lines are commands.

    Anyone else on the record who writes "#1 完成" while the minutes await confirmation is
    answering the minutes, and the reply goes to the recorder like any correction.
    """
    sender = ctx.msg.from_addr.lower()
    return (
        any(roles.owns(i, sender) for i in tracked(ctx, record))
        or roles.same(roles.tracker_of(record, ctx.rules), sender)
        or roles.may_cancel(record, sender)
    )


def take(ctx: Context, record: Doc, reading: CommandReading) -> list[LineResult]:
    """Apply every command line; the caller sends the receipt and records the outcome."""
    by_number = {i["no"]: i for i in tracked(ctx, record)}
    kept, refused_files = evidence.check(ctx.msg.attachments, ctx.rules.actions.evidence, ctx.msg.html)
    ctx.facts["refused_files"] = refused_files
    subject_item = _subject_item(ctx, record)
    results = [_one(ctx, record, by_number, command, subject_item, kept) for command in reading.commands]
    touched = {r.item for r in results if r.item}  # an item is named before anything changes it
    for item in by_number.values():
        if item["id"] in touched:
            state.save(ctx.txn, item)
    ctx.txn.put(records.RECORDS, record["record"], record)
    return results


def _subject_item(ctx: Context, record: Doc) -> int | None:
    token = RECORD_TOKEN.search(ctx.msg.subject)
    if token and token.group(1) == record["record"] and token.group(2):
        return int(token.group(2))
    return None


def _one(
    ctx: Context,
    record: Doc,
    tracked: dict[int, Doc],
    command: Command,
    subject_item: int | None,
    files: list[Attachment],
) -> LineResult:
    sender = ctx.msg.from_addr.lower()
    result = LineResult(command.line, command.verb.value, "applied")
    if command.record and command.record != record["record"]:
        result.outcome, result.detail = "other_record", {"record": command.record}
        return result
    if command.verb == Verb.ADD:
        return _add(ctx, record, tracked, command, result)
    number = command.item if command.item is not None else subject_item
    if number is None:
        candidates = _candidates(ctx, record, tracked, command.verb, sender)
        if len(candidates) != 1:
            result.outcome = "ambiguous" if candidates else "nothing_open"
            return result
        number = candidates[0]["no"]
    item = tracked.get(number)
    if item is None:
        result.outcome, result.detail = "no_such_item", {"item": f"{record['record']}#{number}"}
        return result
    if command.verb == Verb.DELAY and not roles.owns(item, sender) and roles.may_cancel(record, sender):
        # The host or recorder moving another person's deadline re-plans it: no reason needed.
        command = with_(command, verb=Verb.RESCHEDULE)
        command = with_(command, problem=None) if command.problem == Problem.NO_REASON else command
        result.verb = Verb.RESCHEDULE.value
    if not _may(ctx, record, item, command.verb, sender):
        result.outcome = "refused"  # nothing of the item: not its title, not its owner
        return result
    if command.verb in EDIT_VERBS and not edits.editable(record):
        result.item, result.title = item["id"], item["title"]
        result.outcome, result.detail = "not_now", {"status": "awaiting_confirmation"}
        return result
    result.item, result.title = item["id"], item["title"]
    if command.problem is not None and not _problem_solved(ctx, command):
        result.outcome = "problem"
        result.detail = {"problem": command.problem.value, "date": _spell(command.new_date, record)}
        return result
    try:
        _apply(ctx, record, item, command, files, result)
    except ItemRefused as refused:
        result.outcome, result.detail = "not_now", {"status": refused.status}
    return result


def _candidates(ctx: Context, record: Doc, tracked: dict[int, Doc], verb: Verb, sender: str) -> list[Doc]:
    if verb in OWNER_VERBS:
        return [i for i in tracked.values() if roles.owns(i, sender) and state.is_open(i)]
    if verb in (Verb.VERIFY, Verb.REJECT):
        if not roles.same(roles.tracker_of(record, ctx.rules), sender):
            return []
        return [i for i in tracked.values() if i["status"] == Status.PENDING]
    if roles.may_cancel(record, sender):
        return [i for i in tracked.values() if state.is_open(i)]
    return []


def _may(ctx: Context, record: Doc, item: Doc, verb: Verb, sender: str) -> bool:
    if verb in OWNER_VERBS:
        return roles.owns(item, sender)
    security = ctx.rules.security
    change = "verify" if verb in (Verb.VERIFY, Verb.REJECT) else "edit" if verb in EDIT_VERBS else "cancel"
    if (
        security.trusted_authserv_id
        and change in security.require_pass_for
        and ctx.facts.get("auth") != "pass"
    ):
        return False  # the rules ask the receiving server's pass for this change
    if verb in (Verb.VERIFY, Verb.REJECT):
        return roles.same(roles.tracker_of(record, ctx.rules), sender)
    return roles.may_cancel(record, sender)


def _problem_solved(ctx: Context, command: Command) -> bool:
    # "受阻:等法务部审核合同" names the department that must help: that is the support asked for.
    return command.problem == Problem.NO_SUPPORT and bool(
        roles.departments_named(ctx.directory, command.reason)
    )


def _apply(
    ctx: Context, record: Doc, item: Doc, command: Command, files: list[Attachment], result: LineResult
) -> None:
    by, message_id, now = ctx.msg.from_addr, ctx.msg.message_id, ctx.now
    day = reply_day(ctx)
    if command.verb == Verb.DONE:
        _done(ctx, record, item, command, files, result, day)
    elif command.verb == Verb.PROGRESS:
        state.apply(item, ItemEvent.PROGRESS, now, by, message_id, command.note, percent=command.percent)
        result.detail = {"percent": command.percent, "note": command.note}
    elif command.verb == Verb.DELAY:
        assert command.new_date is not None
        previous = item["due"]
        delay = {
            "at": now.isoformat(),
            "from": previous,
            "to": command.new_date.isoformat(),
            "reason": command.reason,
            "by": by,
            "message_id": message_id,
        }
        state.apply(
            item,
            ItemEvent.DELAYED,
            now,
            by,
            message_id,
            command.reason,
            due=command.new_date.isoformat(),
            delays=[*item.get("delays", []), delay],
        )
        slip = (command.new_date - date.fromisoformat(item["planned"])).days if item.get("planned") else None
        result.detail = {
            "date": _spell(command.new_date, record),
            "from": previous,
            "reason": command.reason,
            "slip_days": slip,
            "delays": len(item["delays"]),
        }
        notices.delayed(ctx, record, item, result.detail)
    elif command.verb == Verb.BLOCKED:
        support = command.support or command.reason
        aliases = ctx.rules.actions.department_aliases
        named = roles.departments_named(ctx.directory, support, aliases) or list(item.get("supporting", []))
        blocked = {"reason": command.reason, "support": support, "departments": named, "at": now.isoformat()}
        state.apply(item, ItemEvent.BLOCKED, now, by, message_id, command.reason, blocked=blocked)
        told = notices.blocked(ctx, record, item, blocked)
        result.detail = {"reason": command.reason, "support": support, "told": told}
    elif command.verb == Verb.CANCEL:
        state.apply(item, ItemEvent.CANCELLED, now, by, message_id, command.reason)
        notices.cancelled(ctx, record, item, command.reason)
        result.detail = {"reason": command.reason}
    elif command.verb == Verb.VERIFY:
        state.apply(
            item, ItemEvent.VERIFIED, now, by, message_id, command.note, actual=item.get("submitted_on")
        )
        notices.verified(ctx, record, item)
        result.detail = {"actual": item["actual"]}
    elif command.verb == Verb.REJECT:
        state.apply(item, ItemEvent.REJECTED, now, by, message_id, command.reason, submitted_on=None)
        notices.rejected(ctx, record, item, command.reason)
        result.detail = {"reason": command.reason}
    elif command.verb == Verb.REASSIGN:
        result.detail = edits.reassign(ctx, record, item, command)
        if "problem" in result.detail:
            result.outcome = "problem"
    elif command.verb == Verb.RESCHEDULE:
        result.detail = edits.reschedule(ctx, record, item, command)


def _add(
    ctx: Context, record: Doc, tracked: dict[int, Doc], command: Command, result: LineResult
) -> LineResult:
    if not _may(ctx, record, {}, Verb.ADD, ctx.msg.from_addr.lower()):
        result.outcome = "refused"
        return result
    if not edits.editable(record):
        result.outcome, result.detail = "not_now", {"status": "awaiting_confirmation"}
        return result
    if command.problem is not None:
        result.outcome, result.detail = "problem", {"problem": command.problem.value}
        return result
    item, detail = edits.add(ctx, record, command, reply_day(ctx))
    result.detail = detail
    if item is None:
        result.outcome = "problem"
        result.detail = {"problem": "item_findings", **detail}
        return result
    tracked[item["no"]] = item
    result.item, result.title = item["id"], item["title"]
    return result


def _done(
    ctx: Context,
    record: Doc,
    item: Doc,
    command: Command,
    files: list[Attachment],
    result: LineResult,
    day: date,
) -> None:
    rules = ctx.rules.actions
    if rules.evidence.required and not files:
        if item["status"] not in state.OPEN and item["status"] != Status.PENDING:
            raise ItemRefused(item["status"], ItemEvent.DONE)
        result.outcome = "evidence_needed"
        result.detail = {"refused_files": [f.filename for f in ctx.facts.get("refused_files", [])]}
        return
    stored = [
        evidence.store(ctx.settings.data_dir, record["record"], item["no"], f, ctx.now, ctx.msg.message_id)
        for f in files
    ]
    known = {e["sha256"] for e in item.get("evidence", [])}
    fresh = [e for e in stored if e["sha256"] not in known]
    kept = [*item.get("evidence", []), *fresh]
    if rules.verification:
        state.apply(
            item,
            ItemEvent.SUBMITTED,
            ctx.now,
            ctx.msg.from_addr,
            ctx.msg.message_id,
            command.note,
            evidence=kept,
            submitted_on=day.isoformat(),
        )
        notices.to_verify(ctx, record, item, files)
    else:
        state.apply(
            item, ItemEvent.DONE, ctx.now, ctx.msg.from_addr, ctx.msg.message_id, command.note,
            evidence=kept, actual=day.isoformat(),
        )  # fmt: skip
    result.detail = {
        "files": [e["filename"] for e in stored],
        "status": item["status"],
        "actual": day.isoformat(),
    }


def _spell(day: date | None, record: Doc) -> str:
    return notices.spell_day(day, record["language"]) if day else ""
