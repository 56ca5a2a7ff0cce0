"""One receipt for a reply's command lines, and a reply that mixes commands with an answer."""

from __future__ import annotations

import re
from typing import Any

from parsers.command_types import CommandReading
from parsers.intent import read_intent
from service.context import Context, queue_reply, reply_language
from service.core.outcomes import Applied, Rejected, Reply
from service.core.store import Doc
from service.items import commands, roles, state
from service.items.commands import LineResult
from service.items.notices import spell_day
from service.mail.render import base_language
from service.minutes import records
from service.minutes.answers import intent_words, record_answer
from service.minutes.matching import Match
from service.minutes.records import State


def take_commands(
    ctx: Context, record: Doc, person: Doc | None, match: Match, reading: CommandReading, text: str
) -> None:
    results = commands.take(ctx, record, reading)
    extra: dict[str, object] = {}
    if person is not None and record["state"] != State.CONFIRMED and not match.stale:
        applied = any(r.outcome == "applied" for r in results)
        # "确认。\n#1 完成": the line that is not a command still answers the minutes. When no
        # line applied ("已完成第一步,其余确认"), the whole reply is read: a partial confirmation
        # goes to the recorder like any correction. Words with no confirm or objection in
        # them ("流程文档见附件") answer nothing.
        said = reading.rest if applied else text
        intent = read_intent(said, intent_words(ctx.rules.intent))
        if said and intent.said_anything:
            record_answer(ctx, record, person, intent, said)
            ctx.txn.put(records.RECORDS, record["record"], record)
            extra["answer"] = intent.intent.value
    finish(ctx, record, results, extra)


def listed(item: Doc, lang: str) -> dict[str, Any]:
    """An open item as an answer lists it: its deadline spelled with the weekday, as everywhere."""
    due = state.due_date(item)
    return {
        "id": item["id"],
        "title": item["title"],
        "due": spell_day(due, base_language(lang)) if due else "",
        "due_iso": item["due"] or "",
        "status": item["status"],
        "owner": item["owner"]["name"],
    }


def open_items_of(ctx: Context, record: Doc, address: str) -> list[dict[str, Any]]:
    lang = reply_language(ctx)
    return [
        listed(i, lang)
        for i in state.of_record(ctx.txn, record)
        if roles.owns(i, address) and state.is_open(i)
    ]


def finish(ctx: Context, record: Doc, results: list[LineResult], extra: dict[str, Any] | None = None) -> None:
    """One receipt for all lines; Applied if anything changed, else Rejected with that receipt."""
    ctx.lang = record["language"]
    open_items = open_items_of(ctx, record, ctx.msg.from_addr)
    reply = Reply(
        "item_receipt",
        {
            "record": record["record"],
            "name": record["name"],
            "results": [r.__dict__ for r in results],
            "open_items": open_items,
            "refused_files": [f.__dict__ for f in ctx.facts.get("refused_files", [])],
            "evidence_rules": ctx.rules.actions.evidence.model_dump(),
            "evidence_required": ctx.rules.actions.evidence.required,
            "first": open_items[0]["id"].rpartition("#")[2] if open_items else 1,
            "answer": None,
            **(extra or {}),
        },
    )
    summary = "; ".join(f"{r.item or '?'} {r.verb}: {r.outcome}" for r in results)
    if any(r.outcome == "applied" for r in results) or (extra or {}).get("answer"):
        queue_reply(ctx, reply, "items")
        raise Applied(f"{record['record']}: {summary}")
    raise Rejected(f"{record['record']}: nothing applied ({summary})", reply=reply)


def help_for(ctx: Context, how: str) -> None:
    """A directory person wrote something that is neither minutes nor about a known record:
    how to use the service, and their own open items with the ids to answer with."""
    sender = ctx.msg.from_addr.lower()
    every = state.open_items(ctx.store)
    lang = reply_language(ctx)

    def row(item: Doc) -> dict[str, Any]:
        return listed(item, lang)

    mine = [row(i) for i in every if roles.owns(i, sender)]
    # A department head asking gets their department's open items too.
    me = ctx.directory.by_email(sender)
    headed = {name for name, d in ctx.directory.departments.items() if me and d.head and d.head == me.name}
    department = [
        row(i) for i in every if roles.department_of(i, ctx.directory) in headed and not roles.owns(i, sender)
    ]
    reply = Reply(
        "help",
        {
            "unknown_record": how == "unknown-token",
            "our_mail": how == "our-mail",
            "open_items": sorted(mine, key=lambda i: (i["due_iso"], i["id"])),
            "department_items": sorted(department, key=lambda i: (i["due_iso"], i["id"])),
            "departments": sorted(headed),
            "address": ctx.settings.address,
            "original_subject": ctx.msg.subject,
        },
    )
    raise Rejected(
        f"neither minutes nor a known record ({how}): help with {len(mine)} open item(s)", reply=reply
    )


MUTED = "muted"


def mute_word(text: str, words: list[str]) -> bool:
    """The whole visible text is one of the words, give or take punctuation."""
    bare = re.sub(r"[\s。.!！,，~]+", "", text).casefold()
    return bool(bare) and any(bare == re.sub(r"\s+", "", w).casefold() for w in words)


def mute(ctx: Context, stop: bool) -> None:
    """退订 stops the weekly tables a head gets; owners and trackers of open items stay on them."""
    sender = ctx.msg.from_addr.lower()
    open_items = state.open_items(ctx.store)
    involved = [i["id"] for i in open_items if roles.owns(i, sender)]
    records_by_id = {
        number: record
        for number in {i["record"] for i in open_items}
        if (record := ctx.store.get(records.RECORDS, number)) is not None
    }
    involved += [
        i["id"]
        for i in open_items
        if i["record"] in records_by_id
        and roles.same(roles.tracker_of(records_by_id[i["record"]], ctx.rules), sender)
    ]
    if stop and not involved:
        ctx.txn.put(MUTED, sender, {"since": ctx.now.isoformat(), "message_id": ctx.msg.message_id})
    elif not stop:
        ctx.txn.delete(MUTED, sender)
    queue_reply(ctx, Reply("muted", {"stop": stop, "kept": sorted(set(involved))}), "mute")
    outcome = "muted" if stop and not involved else "resumed" if not stop else "kept on their items' mail"
    raise Applied(f"{sender}: {outcome}")
