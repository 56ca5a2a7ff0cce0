"""Confirm, object, or unclear: what an attendee's answer to the minutes means.

A small grammar over segmented text, not a list of substrings. The text is cut into
clauses (punctuation, line breaks, 但/不过/but), each clause into tokens by longest match
against the rules' lexicon (so 待确认 is one token and never 确认), and the tokens are
read in order:

- a negator in front of a consent word within a clause negates it (无法同意, 不太同意,
  can't agree), and so does a negator behind it (确认不了); a negated agreement is an
  objection, a negated confirmation with "yet/还/暂" only holds back (unclear);
- an absence in front of an objection noun is consent (没意见, 无异议, no objections),
  a presence is an objection (有意见, 有问题);
- a correction (应为, 写错, 漏了, should be, wrong) makes the reply an objection even
  beside a confirmation, since a correction always wins;
- a question that points at something (第2项, 日期, owner) is an objection; another
  question, a deferral (晚点回复, will review) or an acknowledgement alone (收到, thanks)
  is unclear, never consent.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

from parsers.vocabulary import simplified_text


class Intent(StrEnum):
    CONFIRM = "confirmed"
    OBJECT = "objected"
    UNCLEAR = "unclear"


class Tag(StrEnum):
    CONSENT = "consent"  # 确认, 同意, agree, 👍
    DISSENT = "dissent"  # 不同意, 反对, disagree, 👎
    NEGATOR = "negator"  # 不, 无法, 不能, can't, not
    NEGATOR_AFTER = "negator_after"  # 不了: 确认不了
    HOLDING = "holding"  # 还, 暂, yet, for now: a negation that waits, not refuses
    ABSENCE = "absence"  # 没, 无, no
    PRESENCE = "presence"  # 有, 还有
    OBJECTION_NOUN = "objection_noun"  # 意见, 异议, 问题, objection, problem
    CORRECTION = "correction"  # 应为, 写错, 漏了, should be, wrong
    ACK = "ack"  # 收到, 已阅, noted, thanks
    DEFERRAL = "deferral"  # 晚点回复, 稍后, will review, get back
    QUESTION = "question"  # 吗, 是不是, ?
    POINTER = "pointer"  # 第2项, 日期, 负责人, item, date, owner
    CONSENT_IDIOM = "consent_idiom"  # 没问题, no objection, sounds good: consent as a whole
    PARTIAL = "partial"  # 其余, the rest: consent to part only
    SETTLED = "settled"  # 如果, 已经改, addressed: the clause objects to nothing
    OTHER = "other"


@dataclass(frozen=True)
class IntentWords:
    """The lexicon, from `intent:` in mailbox_rules.yaml: each tag's words or phrases."""

    lexicon: tuple[tuple[Tag, tuple[str, ...]], ...]
    disclaimer_markers: tuple[str, ...] = ()
    clause_breaks: tuple[str, ...] = ()  # 但, 不过, but, however: a new clause starts there
    own_mail_markers: tuple[str, ...] = ()  # the opening of our own minutes mail, quoted bare


@dataclass(frozen=True)
class Reading:
    intent: Intent
    reason: str
    evidence: tuple[str, ...] = field(default_factory=tuple)  # the words that decided it

    @property
    def said_anything(self) -> bool:
        """False when nothing in the text answers the minutes either way."""
        return self.intent != Intent.UNCLEAR


# Emoji variation selectors and skin tones say nothing about meaning.
_EMOJI_NOISE = re.compile("[\ufe0f\u200d\U0001f3fb-\U0001f3ff]")
# Clauses end after 。!?; (the question mark stays with its clause), at line breaks, and at commas.
_CLAUSE = re.compile(r"(?<=[。!?;])|\n+|(?<![0-9])[，,、.:](?![0-9])|\s[-—–]+\s")
_QUOTE_HEAD = re.compile(
    r"^\s*(?:[_\-=—]{5,}|[^\s:]{1,16}\s*:.*|.{0,12}(?:您好|你好)\s*[:,]?|dear .{0,40}|hi .{0,30})\s*$"
)
_ITEM_REFERENCE = re.compile(
    r"第\s*[0-9一二三四五六七八九十]+\s*[项項条條点點]|[#＃]\s*\d+|\bitem\s*#?\s*\d+"
)
_WORD = re.compile(r"[a-z0-9+']+|[\u4e00-\u9fff]|[^\sa-z0-9\u4e00-\u9fff]")
_NEGATION_REACH = 4  # tokens between a negator and the word it negates (不能完全同意)


# An answer to the minutes is a few lines at the top. Past this much of the reader's own text
# (quotes already cut) a mail is a pasted log or worse: its beginning is read, and a consent
# found there does not count, since an objection may sit in what was not read.
READ_CHARACTERS = 20_000


def read_intent(text: str, words: IntentWords) -> Reading:
    body = _without(_normalise(text[: READ_CHARACTERS * 2]), words.disclaimer_markers, words.own_mail_markers)
    found: dict[str, list[str]] = {}
    for clause in _clauses(body[:READ_CHARACTERS], words.clause_breaks):
        _read_clause(_tokens(clause, words), clause, found)
    reading = _decide(found)
    if reading.intent == Intent.CONFIRM and len(body) > READ_CHARACTERS:
        return Reading(
            Intent.UNCLEAR, f"too long to read whole ({len(body):,} characters); consent not counted"
        )
    return reading


def _decide(found: dict[str, list[str]]) -> Reading:
    def words_of(*kinds: str) -> tuple[str, ...]:
        return tuple(w for kind in kinds for w in found.get(kind, []))

    objection = words_of("correction", "dissent", "refusal", "objection_present")
    if objection:
        return Reading(Intent.OBJECT, f"objection or correction: {', '.join(objection)}", objection)
    doubt = words_of("pointed_question")
    waiting = words_of("deferral", "holding_back")
    if doubt and not waiting:
        return Reading(Intent.OBJECT, f"questions a point of the minutes: {', '.join(doubt)}", doubt)
    if waiting:
        return Reading(Intent.UNCLEAR, f"not yet an answer: {', '.join(waiting)}", waiting)
    consent = words_of("consent", "no_objection")
    partial = words_of("partial")
    if consent and partial:
        return Reading(Intent.OBJECT, f"confirms only part ({', '.join(partial)})", partial)
    if consent:  # a 确认? only asks: its clause noted a question, not consent
        return Reading(Intent.CONFIRM, f"confirmation: {', '.join(consent)}", consent)
    heard = words_of("ack", "question")
    if heard:
        return Reading(Intent.UNCLEAR, f"acknowledges or asks, no answer: {', '.join(heard)}", heard)
    return Reading(Intent.UNCLEAR, "no confirmation and no correction in the text")


def _read_clause(tokens: list[tuple[Tag, str]], clause: str, found: dict[str, list[str]]) -> None:
    def note(kind: str, word: str) -> None:
        found.setdefault(kind, []).append(word)

    tags = [tag for tag, _ in tokens]
    if Tag.SETTLED in tags:
        tags = [Tag.OTHER if t in (Tag.CORRECTION, Tag.DISSENT, Tag.OBJECTION_NOUN) else t for t in tags]
        # A token whose tag stays is kept, not made again (20,000 new tuples for a long clause).
        tokens = [tok if tok[0] == t else (t, tok[1]) for t, tok in zip(tags, tokens, strict=True)]
    holding = Tag.HOLDING in tags
    asking = Tag.QUESTION in tags or clause.rstrip().endswith("?")
    for i, (tag, word) in enumerate(tokens):
        before = tags[max(0, i - _NEGATION_REACH) : i]
        after = tags[i + 1 : i + 2]
        if tag == Tag.CONSENT_IDIOM:
            note("no_objection", word)
        elif tag == Tag.CONSENT:
            negated = Tag.NEGATOR in before or Tag.ABSENCE in before or Tag.NEGATOR_AFTER in after
            if not negated:
                if _alone(word, tokens):
                    note("question" if asking else "consent", word)
            elif holding and not _is_agreement(word):
                note("holding_back", _span(tokens, i))
            else:
                note("refusal", _span(tokens, i))
        elif tag in (Tag.OBJECTION_NOUN, Tag.CORRECTION):
            nearest = _nearest(tags, i, (Tag.ABSENCE, Tag.NEGATOR, Tag.PRESENCE))
            if nearest in (Tag.ABSENCE, Tag.NEGATOR):
                note("no_objection", _span(tokens, i))
            elif tag == Tag.CORRECTION:
                note("correction", word)
            elif nearest == Tag.PRESENCE and not asking:
                note("objection_present", _span(tokens, i))
        elif tag == Tag.DISSENT:
            nearest = _nearest(tags, i, (Tag.ABSENCE, Tag.NEGATOR))
            if nearest == Tag.ABSENCE or (nearest == Tag.NEGATOR and word.isascii()):
                note("no_objection", _span(tokens, i))  # 无异议, I don't have any objections
            elif nearest is None:
                note("dissent", word)  # 不是不同意 (a double negation) states neither
        elif tag == Tag.DEFERRAL:
            note("deferral", word)
        elif tag == Tag.ACK:
            note("ack", word)
        elif tag == Tag.PARTIAL and _nearest(tags, i, (Tag.ABSENCE, Tag.NEGATOR), reach=2) is None:
            note("partial", word)  # but 无其他意见: nothing else to say
    if asking:
        if Tag.POINTER in tags or _ITEM_REFERENCE.search(clause):
            note("pointed_question", clause.strip()[:40])
        else:
            note("question", clause.strip()[:40])


# A one-character yes (好, 行, 对) is consent only as the whole clause: 您好 and 行动项 are not.
_WEAK = frozenset({"好", "行", "对", "可以", "好的", "yes", "ok", "fine"})
_PARTICLES = frozenset("的了啊呀哈吧嗯滴哦噢~!。 ")


def _alone(word: str, tokens: list[tuple[Tag, str]]) -> bool:
    if word not in _WEAK:
        return True
    return all(t != Tag.OTHER or w in _PARTICLES for t, w in tokens)


def _nearest(tags: list[Tag], i: int, wanted: tuple[Tag, ...], reach: int = 3) -> Tag | None:
    for tag in reversed(tags[max(0, i - reach) : i]):
        if tag in wanted:
            return tag
    return None


def _is_agreement(word: str) -> bool:
    # 同意 / agree state a position; 确认 / confirm only report a check, which can wait.
    return word.startswith(("同意", "赞同", "认可", "agree", "approve", "accept"))


def _span(tokens: list[tuple[Tag, str]], i: int) -> str:
    start = max(0, i - _NEGATION_REACH)
    return "".join(w if not w.isascii() else f" {w}" for _, w in tokens[start : i + 2]).strip()


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _EMOJI_NOISE.sub("", text).replace("’", "'").replace("‘", "'")
    return simplified_text(text).lower()


def _without(body: str, disclaimers: tuple[str, ...], own_mail: tuple[str, ...]) -> str:
    """Cut a legal disclaimer, and our own minutes mail quoted without quote marks, with its header."""
    lines = body.split("\n")
    for markers, with_head in ((disclaimers, False), (own_mail, True)):
        wanted = _normalised_markers(markers)
        cut = next((n for n, line in enumerate(lines) if any(m in line for m in wanted)), None)
        if cut is None:
            continue
        while with_head and cut > 0 and (not lines[cut - 1].strip() or _QUOTE_HEAD.match(lines[cut - 1])):
            cut -= 1
        lines = lines[:cut]
    return "\n".join(lines)


def before_our_mail(text: str, words: IntentWords) -> str:
    """The text above our own minutes mail when a client quoted it without quote marks, so
    its item lines ("2024-OPS-001#2  完成…") are never read as someone's words."""
    lines = text.split("\n")
    wanted = _normalised_markers(words.own_mail_markers)
    cut = _first_line_with(lines, wanted)
    if cut is None:
        return text
    while cut > 0 and (not lines[cut - 1].strip() or _QUOTE_HEAD.match(_normalise(lines[cut - 1]))):
        cut -= 1
    return "\n".join(lines[:cut])


@cache
def _normalised_markers(markers: tuple[str, ...]) -> tuple[str, ...]:
    """The rules' markers as lines are compared with them: the same for every message."""
    return tuple(_normalise(m) for m in markers if m.strip())


def _first_line_with(lines: list[str], wanted: tuple[str, ...]) -> int | None:
    """Each line normalised once, not once for each marker (Traditional text costs the
    converter 2 ms a kilobyte, and a line was converted again for every marker)."""
    if not wanted:
        return None
    for number, line in enumerate(lines):
        folded = _normalise(line)
        if any(marker in folded for marker in wanted):
            return number
    return None


def _clauses(body: str, breaks: tuple[str, ...]) -> list[str]:
    for word in breaks:
        pattern = rf"(?<![a-z]){re.escape(word)}(?![a-z])" if word.isascii() else re.escape(word)
        body = re.sub(pattern, "\n", body)
    return [c for c in _CLAUSE.split(body) if c and c.strip()]


def _matched(match: re.Match[str]) -> str:
    return match.group()


def _tokens(clause: str, words: IntentWords) -> list[tuple[Tag, str]]:
    """Longest match against the lexicon; what it does not know becomes OTHER, one unit each."""
    # Each unit once, shared by its repeats, and one token for each unit the lexicon does not
    # know: a clause of 20,000 CJK characters made 20,000 strings of 76 bytes and as many
    # tuples.
    seen: dict[str, str] = {}
    units = [seen.setdefault(unit, unit) for unit in map(_matched, _WORD.finditer(clause))]
    del seen
    lexicon, longest = _lexicon(words.lexicon)
    starts = _starts(words.lexicon)
    out: list[tuple[Tag, str]] = []
    others: dict[str, tuple[Tag, str]] = {}
    i = 0
    while i < len(units):
        if units[i] not in starts:
            out.append(others.setdefault(units[i], (Tag.OTHER, units[i])))
            i += 1
            continue
        for span in range(min(longest, len(units) - i), 0, -1):
            tag = lexicon.get(tuple(units[i : i + span]))
            if tag is not None:
                out.append((tag, _key(units[i : i + span])))
                i += span
                break
        else:
            out.append((Tag.OTHER, units[i]))
            i += 1
    return out


def _key(units: list[str]) -> str:
    return (
        " ".join(units) if all((u.isascii() and u.isalnum()) or "'" in u for u in units) else "".join(units)
    )


@cache
def _starts(entries: tuple[tuple[Tag, tuple[str, ...]], ...]) -> frozenset[str]:
    """The units a phrase of the lexicon can begin with: any other unit is OTHER at once."""
    return frozenset(units[0] for units in _lexicon(entries)[0])


@cache
def _lexicon(entries: tuple[tuple[Tag, tuple[str, ...]], ...]) -> tuple[dict[tuple[str, ...], Tag], int]:
    lexicon: dict[tuple[str, ...], Tag] = {}
    for tag, phrases in entries:
        for phrase in phrases:
            units = tuple(_WORD.findall(_normalise(phrase)))
            if units:
                lexicon.setdefault(units, tag)
    return lexicon, max((len(k) for k in lexicon), default=1)
