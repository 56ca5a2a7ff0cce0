"""Where a message goes: one table of (what it is, who sent it, the record's state) → handler.

The first row that fits wins, as in Mailman's chains. Every handler ends the message by
raising an Outcome. To change what a kind of reply leads to, change a row here; the
handlers themselves live with their subject (minutes/, items/).

| what                       | who                 | record state | handler                    |
|----------------------------|---------------------|--------------|----------------------------|
| a draft                    | a directory person  | no record    | intake.take_draft          |
| 退订 / 恢复                    | a directory person  | no record    | receipts.mute              |
| a reply (not to our table) | anyone              | no record    | tell: matches no record    |
| anything                   | a directory person  | no record    | receipts.help_for          |
| anything                   | anyone              | no record    | ignore (no backscatter)    |
| anything                   | another's reply key | any          | refuse, revealing nothing  |
| a draft                    | the recorder        | any          | revision.revise            |
| 维持原纪要 / no change          | the recorder        | revising     | revision.keep              |
| 维持原纪要 / no change          | the recorder        | needs_fix    | revision.keep              |
| anything                   | not on the record   | any          | refuse, revealing nothing  |
| commands                   | an item role        | any          | receipts.take_commands     |
| commands                   | an attendee         | confirmed    | receipts.take_commands     |
| anything                   | an item role only   | any          | their items, how to answer |
| anything                   | an attendee         | any          | answers.answer             |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from parsers.classify import Kind
from parsers.command_types import CommandReading
from parsers.intent import Intent, before_our_mail, read_intent
from parsers.model import Finding, Minutes
from service.context import Context, visible_text, within
from service.core.outcomes import Ignored, Rejected, Reply
from service.core.store import Doc
from service.items import commands, receipts
from service.minutes import answers, intake, objections, records, revision
from service.minutes.drafts import looks_like_minutes, own_part, parse_message_draft, tries_to_be_minutes
from service.minutes.matching import Match, match_record
from service.minutes.records import State

REFUSAL = Reply("refusal", {})  # names nothing of the record: the sender is not on it


class What(StrEnum):
    ANY = "anything"
    DRAFT = "a draft"
    KEEP = "维持原纪要 / no change"
    REPLY = "a reply (not to our table)"
    MUTE = "退订 / 恢复"
    COMMANDS = "commands"


class Who(StrEnum):
    ANY = "anyone"
    WRONG_KEY = "another's reply key"
    DIRECTORY = "a directory person"
    RECORDER = "the recorder"
    STRANGER = "not on the record"
    ITEM_ROLE = "an item role"
    ATTENDEE = "an attendee"
    ITEM_ROLE_ONLY = "an item role only"


NO_RECORD = "no record"
ANY_STATE = "any"


@dataclass
class Letter:
    """A reply and what we know of it, each fact computed once and only when a row asks."""

    ctx: Context
    match: Match
    facts: dict[str, object] = field(default_factory=dict)

    @property
    def record(self) -> Doc:
        assert self.match.record is not None
        return self.match.record

    @property
    def sender(self) -> str:
        return self.ctx.msg.from_addr.lower()

    @property
    def doubted(self) -> bool:
        """Two addresses in From, or a Sender that is not From: nobody of any record."""
        return bool(self.ctx.facts.get("sender_doubt"))

    @cached_property
    def person(self) -> Doc | None:
        return None if self.doubted else records.attendee(self.record, self.sender)

    @cached_property
    def item_role(self) -> bool:
        return not self.doubted and commands.has_item_role(self.ctx, self.record)

    @cached_property
    def text(self) -> str:
        return before_our_mail(visible_text(self.ctx), answers.intent_words(self.ctx.rules.intent))

    @cached_property
    def commands(self) -> CommandReading:
        """Command lines; while the minutes await confirmation, a line whose command word sits inside
        a correction ("item 2 的 owner 不对, pls update 一下") is a correction, not a command."""
        reading = commands.read(self.ctx, self.text)
        if self.match.record is None or self.record["state"] == State.CONFIRMED:
            return reading
        words = answers.intent_words(self.ctx.rules.intent)
        corrections = [
            c
            for c in reading.commands
            if c.word_inside and read_intent(c.line, words).intent == Intent.OBJECT
        ]
        if not corrections:
            return reading
        kept = tuple(c for c in reading.commands if c not in corrections)
        rest = "\n".join([reading.rest, *(c.line for c in corrections)]).strip()
        return CommandReading(kept, rest)

    @cached_property
    def draft(self) -> Minutes:
        """Minutes in what the sender wrote (or attached), never in what they quoted.

        On a record, only the visible text counts: an Outlook reply's HTML part carries the
        quoted minutes table, and a 確認 above it is an answer, not a revised draft.
        """
        visible = self.text if self.match.record is not None else None
        own = own_part(self.ctx.msg, visible, read=lambda: visible_text(self.ctx))
        return parse_message_draft(own, self.ctx.rules, self.ctx.directory)

    @property
    def is_reply(self) -> bool:
        return self.ctx.classification is not None and self.ctx.classification.kind == Kind.REPLY

    def is_what(self, what: What) -> bool:
        if what == What.DRAFT:
            if self.match.record is None and not self.is_reply:
                return tries_to_be_minutes(self.draft)
            return looks_like_minutes(self.draft)
        if what == What.MUTE:
            rules = self.ctx.rules.mute
            return receipts.mute_word(self.text, [*rules.stop, *rules.resume])
        if what == What.REPLY:
            return self.is_reply and self.match.how != "our-mail"  # a weekly table's reply gets help
        if what == What.KEEP:
            return bool(objections.keep_phrase(self.text, self.ctx.rules))
        if what == What.COMMANDS:
            return bool(self.commands.commands)
        return True

    def is_who(self, who: Who) -> bool:
        if who == Who.DIRECTORY:
            return not self.doubted and within(self.ctx, self.sender)
        if who == Who.WRONG_KEY:
            return bool(self.match.key_owner) and self.match.key_owner != self.sender
        if who == Who.RECORDER:
            return not self.doubted and self.sender == self.record["recorder"]["email"].lower()
        if who == Who.STRANGER:
            return self.person is None and not self.item_role
        if who == Who.ITEM_ROLE:
            return self.item_role
        if who == Who.ATTENDEE:
            return self.person is not None
        if who == Who.ITEM_ROLE_ONLY:
            return self.person is None and self.item_role
        return True

    def fits(self, row: Route) -> bool:
        # Cheapest question first. A draft is parsed only for the recorder, and item roles
        # (which make the record's items) are looked up only when commands or a stranger ask.
        if not self.is_in(row.state):
            return False
        if row.what in (What.DRAFT, What.KEEP):
            return self.is_who(row.who) and self.is_what(row.what)
        return self.is_what(row.what) and self.is_who(row.who)

    def is_in(self, state: str) -> bool:
        if state == NO_RECORD:
            return self.match.record is None
        if self.match.record is None:
            return False
        return state == ANY_STATE or self.record["state"] == state


# -- handlers: each takes the letter and raises the message's outcome ---------------


def take_draft(letter: Letter) -> None:
    minutes = letter.draft
    for person in minutes.attendees:
        if person.email and not within(letter.ctx, person.email):
            # No relay: minutes go only to the directory's people and the allowed domains.
            minutes.findings.append(
                Finding(
                    "error",
                    "attendee_outside",
                    f"{person.name} <{person.email}> 不在通讯录中,也不属于允许的域名:纪要不会发给通讯录以外的地址。"
                    f" / {person.name} <{person.email}> is outside the directory and the allowed domains: "
                    "minutes go only to the directory's people.",
                    "",
                )
            )
    intake.take_draft(letter.ctx, minutes)


def help_answer(letter: Letter) -> None:
    receipts.help_for(letter.ctx, letter.match.how)


def mute(letter: Letter) -> None:
    receipts.mute(letter.ctx, receipts.mute_word(letter.text, letter.ctx.rules.mute.stop))


def unmatched(letter: Letter) -> None:
    if letter.match.how == "unknown-token":
        # The same answer as for a record the sender is not on: record numbers cannot be probed.
        raise Rejected("a reply that matches no record (unknown record number)", reply=REFUSAL)
    raise Rejected("a reply that matches no record", reply=Reply("unmatched", {"token": False}))


def ignore(letter: Letter) -> None:
    raise Ignored("no record, no minutes, and a sender outside the directory: not answered")


def refuse(letter: Letter) -> None:
    if letter.match.key_owner and letter.match.key_owner != letter.sender:
        reason = f"{letter.match.how}: reply key of {letter.match.key_owner} used by {letter.sender}"
    else:
        reason = f"{letter.sender} is not on {letter.record['record']} (matched by {letter.match.how})"
    raise Rejected(reason, reply=REFUSAL)


def revise(letter: Letter) -> None:
    _needs_pass(letter, "revise")
    revision.revise(letter.ctx, letter.record, letter.draft)


def _needs_pass(letter: Letter, change: str) -> None:
    """With a trusted receiving server, the rules may ask its pass for this change, not only no fail."""
    security = letter.ctx.rules.security
    required = security.trusted_authserv_id and change in security.require_pass_for
    if required and letter.ctx.facts.get("auth") != "pass":
        raise Rejected(f"{change} needs a passing authentication of {letter.sender}", reply=REFUSAL)


def keep(letter: Letter) -> None:
    _needs_pass(letter, "revise")
    revision.keep(letter.ctx, letter.record, letter.text)


def take_commands(letter: Letter) -> None:
    receipts.take_commands(
        letter.ctx, letter.record, letter.person, letter.match, letter.commands, letter.text
    )


def their_items(letter: Letter) -> None:
    receipts.finish(letter.ctx, letter.record, [])  # an owner who wrote no command


def answer(letter: Letter) -> None:
    assert letter.person is not None
    open_items = receipts.open_items_of(letter.ctx, letter.record, letter.person["email"])
    answers.answer(letter.ctx, letter.record, letter.person, letter.match, letter.text, open_items)


@dataclass(frozen=True)
class Route:
    what: What
    who: Who
    state: str
    handler: Callable[[Letter], None]


ROUTES: tuple[Route, ...] = (
    Route(What.DRAFT, Who.DIRECTORY, NO_RECORD, take_draft),
    Route(What.MUTE, Who.DIRECTORY, NO_RECORD, mute),
    Route(What.REPLY, Who.ANY, NO_RECORD, unmatched),
    Route(What.ANY, Who.DIRECTORY, NO_RECORD, help_answer),
    Route(What.ANY, Who.ANY, NO_RECORD, ignore),
    Route(What.ANY, Who.WRONG_KEY, ANY_STATE, refuse),
    Route(What.DRAFT, Who.RECORDER, ANY_STATE, revise),
    Route(What.KEEP, Who.RECORDER, State.REVISING, keep),
    Route(What.KEEP, Who.RECORDER, State.NEEDS_FIX, keep),
    Route(What.ANY, Who.STRANGER, ANY_STATE, refuse),
    Route(What.COMMANDS, Who.ITEM_ROLE, ANY_STATE, take_commands),
    Route(What.COMMANDS, Who.ATTENDEE, State.CONFIRMED, take_commands),
    Route(What.ANY, Who.ITEM_ROLE_ONLY, ANY_STATE, their_items),
    Route(What.ANY, Who.ATTENDEE, ANY_STATE, answer),
)


def route(ctx: Context) -> None:
    """Match the message to its record and hand it to the first row that fits."""
    letter = Letter(ctx, match_record(ctx))
    for row in ROUTES:
        if letter.fits(row):
            row.handler(letter)
            return
    raise AssertionError("the route table has no row for this message")  # the last row always fits
