"""The stages of one message after it is parsed, in order (`STAGES`); each may end it by
raising its Outcome. The last, `route`, hands it to the route table (routes.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

from parsers.authresults import Verdict, verdict
from parsers.classify import LOOP_HEADER, AutomaticPolicy, Kind, classify
from service import routes
from service.context import Context, visible_text, within
from service.core.config import Rules, Settings
from service.core.outcomes import Ignored, Rejected, Reply
from service.core.store import Doc
from service.items import notices, roles, state
from service.mail import loops
from service.mail.bounces import record_bounce
from service.mail.outbox import OutgoingMail, confirm_copy
from service.minutes import records
from service.minutes.matching import match_record
from service.minutes.records import State


def automatic_policy(rules: Rules, settings: Settings) -> AutomaticPolicy:
    auto = rules.automatic
    return AutomaticPolicy(
        auto_submitted_ignore=tuple(a.lower() for a in auto.auto_submitted_ignore),
        precedence=tuple(p.lower() for p in auto.precedence),
        headers_present=tuple(auto.headers_present),
        subject_prefixes=tuple(auto.subject_prefixes),
        bounce_senders=tuple(b.lower() for b in auto.bounce_senders),
        system_senders=tuple(b.lower() for b in auto.system_senders),
        system_sender_suffixes=tuple(b.lower() for b in auto.system_sender_suffixes),
        bounce_subjects=tuple(auto.bounce_subjects),
        reply_subject_prefixes=tuple(rules.reply_subject_prefixes),
        own_addresses=(settings.address.lower(),),
    )


def classify_message(ctx: Context) -> None:
    ctx.classification = classify(ctx.msg, automatic_policy(ctx.rules, ctx.settings))


def skip_our_own_copy(ctx: Context) -> None:
    if not ctx.outbox.is_ours(ctx.msg.message_id, ctx.msg.header(LOOP_HEADER)):
        return  # someone else's mail carrying one of our Message-IDs settles nothing
    if confirm_copy(ctx.txn, ctx.msg.message_id, time.time()):
        raise Ignored("our own copy of an outgoing mail: it was delivered")


def note_bounce(ctx: Context) -> None:
    assert ctx.classification is not None
    if ctx.classification.kind == Kind.BOUNCE:
        record_bounce(ctx.txn, ctx.msg, ctx.now)
        for address in ctx.msg.failed_recipients:
            _tell_of_bounce(ctx, address)
        raise Ignored(f"bounce: {ctx.classification.reason}")


def _tell_of_bounce(ctx: Context, address: str) -> None:
    """A hard bounce changes what happens: the recorder hears of an attendee at once, and an
    owner's open items go to their department head, since the owner cannot be reached."""
    address = address.lower()
    attended = ctx.store.query(records.RECORDS, "attendee", address)
    owned_elsewhere = {i["record"] for i in state.open_items_of(ctx.store, address)} - {
        r["record"] for r in attended
    }  # an owner named in minutes of a meeting they did not attend
    elsewhere = [
        r for key in sorted(owned_elsewhere) if (r := ctx.store.get(records.RECORDS, key)) is not None
    ]
    for record in [*attended, *elsewhere]:
        context = {"record": record["record"], "name": record["name"], "address": address, "items": []}
        if record["state"] != State.CONFIRMED and record in attended:
            recorder = record["recorder"]["email"]
            lang = records.reader_language(ctx.directory, record, recorder)
            ctx.replies.append(
                OutgoingMail(
                    key=f"{record['record']}:bounced:{address}",
                    to=[recorder],
                    subject=records.subject(record, "邮件无法送达", "Mail bounced", address, lang),
                    template="bounced",
                    lang=lang,
                    context={**context, "to_head": False},
                )
            )
        owned = [i for i in state.of_record(ctx.store, record) if roles.owns(i, address) and state.is_open(i)]
        head = roles.head_of(ctx.directory, roles.department_of(owned[0], ctx.directory)) if owned else None
        if head is not None and head["email"].lower() != address:
            lang = records.reader_language(ctx.directory, record, head["email"])
            ctx.replies.append(
                OutgoingMail(
                    key=f"{record['record']}:bounced-owner:{address}",
                    to=[head["email"]],
                    subject=records.subject(record, "负责人邮件无法送达", "Owner unreachable", address, lang),
                    template="bounced",
                    lang=lang,
                    context={**context, "to_head": True, "head": head["name"],
                             "items": [{"id": i["id"], "title": i["title"], "due": i["due"]} for i in owned]},
                )
            )  # fmt: skip


def skip_automatic(ctx: Context) -> None:
    assert ctx.classification is not None
    if ctx.classification.kind == Kind.AUTOMATIC:
        raise Ignored(f"automatic: {ctx.classification.reason}")


def need_a_sender(ctx: Context) -> None:
    if not ctx.msg.from_addr:
        raise Ignored("no sender address to answer")


def authenticate(ctx: Context) -> None:
    """The sender is the one address of a correctly parsed From, and our server's verdict on it."""
    msg = ctx.msg
    if len(msg.from_addresses) > 1:
        ctx.facts["sender_doubt"] = f"From holds {len(msg.from_addresses)} addresses"
    elif msg.sender_addr and msg.sender_addr != msg.from_addr:
        ctx.facts["sender_doubt"] = f"Sender {msg.sender_addr} is not the From address"
    result = verdict(msg.auth_results, ctx.rules.security.trusted_authserv_id)
    ctx.facts["auth"] = result.value
    if result == Verdict.FAIL:
        # The From address is someone else's: tell its real owner (once a day), act on nothing.
        ctx.replies.append(
            OutgoingMail(
                key=f"spoofed:{msg.from_addr}:{ctx.now.date().isoformat()}",
                to=[msg.from_addr],
                subject="有人冒用您的地址 / Your address was forged",
                template="spoofed",
                lang=ctx.lang,
                context={
                    "subject": msg.subject,
                    "at": ctx.now.astimezone(ctx.rules.tz).strftime("%Y-%m-%d %H:%M"),
                },
            )
        )
        raise Ignored(f"authentication failed for {msg.from_addr}: not acted on")


def stop_loops(ctx: Context) -> None:
    """An auto-responder without headers: a repeat, an echo of our mail, or past the answer limit."""
    sender, rules = ctx.msg.from_addr, ctx.rules.loops
    echoed = loops.echo(ctx.txn, sender, ctx.msg.subject, visible_text(ctx), ctx.now, rules)
    if echoed:
        raise Ignored(echoed)
    limited = loops.over_limit(ctx.txn, sender, ctx.now, rules)
    if limited:
        if loops.first_limited_today(ctx.txn, sender, ctx.now):
            _tell_recorder_of_loop(ctx, limited)
        raise Ignored(limited)


def _tell_recorder_of_loop(ctx: Context, why: str) -> None:
    record = match_record(ctx).record
    if record is None:
        return  # no record: nobody to tell, and nothing is answered
    lang = records.reader_language(ctx.directory, record, record["recorder"]["email"])
    ctx.replies.append(
        OutgoingMail(
            key=f"loop:{ctx.msg.from_addr.lower()}:{ctx.now.date().isoformat()}",
            to=[record["recorder"]["email"]],
            subject=records.subject(
                record, "自动回复循环已拦截", "A mail loop was stopped", ctx.msg.from_addr, lang
            ),
            template="loop_notice",
            lang=lang,
            context={"record": record["record"], "address": ctx.msg.from_addr, "why": why},
        )
    )


def refuse_over_limit(ctx: Context) -> None:
    """Mail past the rules' limits was read from its headers alone: one answer says which limit,
    to a person of the directory only (a stranger's oversized mail is not worth backscatter)."""
    why = ctx.facts.get("over_limit")
    if not why:
        return
    if not within(ctx, ctx.msg.from_addr):
        raise Ignored(f"over a limit, from outside the directory: {why}")
    limits = ctx.rules.limits
    reply = Reply(
        "over_limit",
        {
            **ctx.facts["limit"],
            "megabytes": f"{limits.message_megabytes:g}",
            "attachments": limits.attachments,
        },
    )
    raise Rejected(why, reply=reply)


def route(ctx: Context) -> None:
    routes.route(ctx)


STAGES: tuple[Callable[[Context], None], ...] = (
    classify_message,
    skip_our_own_copy,
    note_bounce,
    skip_automatic,
    need_a_sender,
    authenticate,
    stop_loops,
    refuse_over_limit,
    route,
)


def assign_items(ctx: Context, record: Doc) -> None:
    """Once the minutes are confirmed, each owner is told their items."""
    notices.assign(notices.mailer_of(ctx), record)
