"""Item commands in a reply, one a line: `#1 完成`, `#2 延期至6月30日 原因: 等供应商报价`.

A line is a command when it starts with an item reference (#2, 第二项, 行动项2,
[2024-OPS-001#2]) and holds a command word anywhere (`#2 已经做完了`, `#2 因供应商未报价,
延到7月26日`), or when it starts with a command word itself (`卡住了,等法务审核`); prose
that merely contains 完成 is not one, nor is a question (`#2 完成了吗?`). Where a line holds
several words, the strongest wins (cancel, reject, verify, delay, blocked, progress, done),
and done with a share (`完成80%`, `完成了一半`) is progress. The line keeps what the command
needs and names what is missing (`problem`), so the service can ask for exactly that
instead of guessing. Relative dates are read against the reply's own date.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from parsers.command_args import TRIM, after_label, blocked, delay, with_
from parsers.command_types import Command, CommandReading, CommandWords, Problem, Verb
from parsers.vocabulary import simplified, simplified_text

_BULLET = re.compile(r"^\s*(?:[-*•·●▪]\s*)?")  # never ">": a quoted line is not a command
_ITEM_REF = re.compile(
    r"^(?:关于|about|re\s*[:：])?\s*(?:[\[【(]\s*)?(?:(?P<record>\d{4}-[A-Z]{2,6}-\d{3,})\s*(?:\]\s*)?)?"
    r"(?:#\s*(?P<hash>\d{1,3})|第\s*(?P<zh>\d{1,3}|[一二三四五六七八九十]{1,3})\s*(?:项|条|個|个)"
    r"|(?:item|action item|行动项|事项)\s*#?\s*(?P<en>\d{1,3}))\s*[\]】)]?",
    re.I,
)
_PLANNED = re.compile(r"应|该|要|需|将|会|计划|预计|争取|打算|能|\bwill\b|\bshould\b|\bgoing to\b|\bplan")
_PRIORITY = (
    "add", "reassign", "reschedule", "cancel", "reject", "verify", "delay", "blocked", "progress", "done",
)  # fmt: skip
_OWNER_TAIL = re.compile(r"\s*(?:来|去)?(?:负责|牵头|跟进|处理)\s*$")
_QUESTION = re.compile(r"[?？]\s*$|[吗嘛么]\s*[?？]?\s*$")
_SHARE = re.compile(
    r"(?:约|大约|大概|已完成|完成了?)?\s*([一二两三四五六七八九1-9])\s*成|一半|半数|halfway|half|(a )?quarter|three quarters"
)
# "还没完成", "not done", "almost done", "快完成": a done word that reports no done
_NOT_YET = re.compile(r"(?:没|未|尚未|还没|没有|不|not|n't|almost|nearly|快|差不多)\s*$", re.I)
_PARTICLES = "了啦呢吧啊呀嘛哦"
_SEPARATOR = re.compile(r"^[\s:,.;、。,;:\-–—]*")
_PERCENT = re.compile(r"(\d{1,4})\s*%")
_ZH_NUMBERS = dict(zip("一二三四五六七八九十", range(1, 11), strict=True))


def read_commands(text: str, words: CommandWords, reply_day: date) -> CommandReading:
    commands: list[Command] = []
    rest: list[str] = []
    for line in text.splitlines():
        command = read_line(line, words, reply_day)
        if command is None:
            rest.append(line)
        else:
            commands.append(command)
    return CommandReading(tuple(commands), "\n".join(rest).strip())


def read_line(line: str, words: CommandWords, reply_day: date) -> Command | None:
    # NFKC before anything: ＃ and full-width digits become # and digits.
    folded = simplified_text(_BULLET.sub("", line, count=1)).strip()
    if not folded:
        return None
    record, item, after_ref = _item_reference(folded)
    if item is not None:
        folded = _SEPARATOR.sub("", after_ref, count=1)
        found = _strongest_verb(folded, words)
        if found is None and _percent(folded) is not None:
            found = (Verb.PROGRESS, "")  # "第三条 七成左右": a share alone reports progress
    else:
        found = _verb_at_start(folded, words)
    if found is None:
        return None
    verb, word = found
    if _QUESTION.search(folded) and verb in (Verb.DONE, Verb.PROGRESS, Verb.VERIFY, Verb.CANCEL):
        return None  # "#2 完成了吗?" asks, it does not report
    if item is not None:
        command = _arguments(verb, item, record, line.strip(), folded, words, reply_day, word)
        inside = bool(word) and not folded.casefold().startswith(word.casefold())
        return with_(command, word_inside=inside)
    tail = folded[len(word) :]
    if item is None:
        # "完成 #3", "完成第三项": the reference may follow the word.
        record, item, after_ref = _item_reference(_SEPARATOR.sub("", tail, count=1))
        if item is not None:
            tail = after_ref
    tail = _SEPARATOR.sub("", tail, count=1).strip().lstrip(_PARTICLES)
    tail = _SEPARATOR.sub("", tail, count=1).strip()
    return _arguments(verb, item, record, line.strip(), tail, words, reply_day, "")


def _item_reference(text: str) -> tuple[str, int | None, str]:
    match = _ITEM_REF.match(text)
    if match is None:
        return "", None, text
    raw = match.group("hash") or match.group("en") or match.group("zh")
    number = int(raw) if raw.isdigit() else _zh_number(raw)
    return match.group("record") or "", number, text[match.end() :]


def _zh_number(text: str) -> int | None:
    if text in _ZH_NUMBERS:
        return _ZH_NUMBERS[text]
    if text.startswith("十") and len(text) == 2:
        return 10 + _ZH_NUMBERS.get(text[1], 0)
    if len(text) == 2 and text.endswith("十"):
        return _ZH_NUMBERS.get(text[0], 0) * 10
    if len(text) == 3 and text[1] == "十":
        return _ZH_NUMBERS.get(text[0], 0) * 10 + _ZH_NUMBERS.get(text[2], 0)
    return None


@lru_cache(maxsize=32)
def _prepared(words: CommandWords) -> tuple[tuple[Verb, str], ...]:
    """(verb, folded word), longest first: folded once per set of words, not once per line
    (a 14,000-line message spent seconds folding the same words again)."""
    folded = [(verb, simplified(word).casefold()) for verb, word in words.verbs]
    return tuple(sorted(((v, w) for v, w in folded if w), key=lambda vw: -len(vw[1])))


@lru_cache(maxsize=32)
def _by_first_letter(words: CommandWords) -> dict[str, tuple[tuple[Verb, str], ...]]:
    """The prepared words by their first character: a line is tried only against the words
    that can start it."""
    found: dict[str, list[tuple[Verb, str]]] = {}
    for verb, folded in _prepared(words):
        found.setdefault(folded[0], []).append((verb, folded))
    return {first: tuple(pairs) for first, pairs in found.items()}


@lru_cache(maxsize=32)
def _folded(phrases: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f for f in (simplified(p).casefold() for p in phrases) if f)


def _strongest_verb(text: str, words: CommandWords) -> tuple[Verb, str] | None:
    """Every command word in the line (longest first, none inside another). The first of the
    strong ones (cancel, reject, verify, delay, blocked) wins, since a reason may mention another
    ("postpone to June 3, the client cancelled"); else progress beats done."""
    lowered = text.casefold()
    if any(lowered.startswith(n) for n in _folded(words.not_commands)):
        return None
    taken = [False] * len(lowered)
    found: list[tuple[int, Verb, str]] = []
    for verb, folded in _prepared(words):
        if folded not in lowered:
            continue
        for match in re.finditer(re.escape(folded), lowered):
            start, end = match.span()
            if any(taken[start:end]) or not _whole_word(lowered, start, end):
                continue
            if not folded.isascii() and lowered[end : end + 1] == "的":
                continue  # 完成的, 延期的事: a word used as a noun
            taken[start:end] = [True] * (end - start)
            found.append((start, verb, text[start:end]))
    strong = sorted(f for f in found if f[1] not in (Verb.DONE, Verb.PROGRESS))
    if strong:
        return strong[0][1], strong[0][2]
    # "第2项应为5月29日完成", "#2 预计下周完成": a plan or a correction, not a report of done;
    # "还没完成", "almost done": a report of progress.
    found = [f for f in found if f[1] != Verb.DONE or not _PLANNED.search(lowered[: f[0]])]
    found = [(at, Verb.PROGRESS, w) if v == Verb.DONE and _NOT_YET.search(lowered[:at]) else (at, v, w)
             for at, v, w in found]  # fmt: skip
    if not found:
        return None
    weakest_last = min(found, key=lambda f: _PRIORITY.index(f[1].value))
    return weakest_last[1], weakest_last[2]


def _whole_word(text: str, start: int, end: int) -> bool:
    before, after = text[start - 1 : start], text[end : end + 1]
    if text[start].isascii() and before.isascii() and before.isalnum():
        return False
    return not (text[end - 1].isascii() and after.isascii() and after.isalnum())


def _verb_at_start(text: str, words: CommandWords) -> tuple[Verb, str] | None:
    lowered = text.casefold()
    if any(lowered.startswith(n) for n in _folded(words.not_commands)):
        return None
    needs_item = set(_folded(words.needs_item))
    for verb, folded in _by_first_letter(words).get(lowered[:1], ()):
        if not lowered.startswith(folded) or folded in needs_item:
            continue
        following = lowered[len(folded) : len(folded) + 1]
        if folded[-1].isascii() and folded[-1].isalnum() and following.isascii() and following.isalnum():
            continue  # "done" in "doner", "ok" in "okay"
        return verb, text[: len(folded)]
    return None


def _arguments(
    verb: Verb,
    item: int | None,
    record: str,
    line: str,
    tail: str,
    words: CommandWords,
    reply_day: date,
    word: str,
) -> Command:
    """`tail` is the line after its item reference; `word` the command word in it, if it is inside."""
    percent = _percent(tail)
    if verb == Verb.DONE and percent is not None and percent < 100:
        verb = Verb.PROGRESS  # "完成80%", "完成了一半", "70% done"
    base = Command(verb, item, line, record)
    if word:
        tail = _without_word(tail, word)
    if verb == Verb.PROGRESS:
        note = _PERCENT.sub("", tail, count=1).strip(TRIM) if _PERCENT.search(tail) else tail
        if percent is not None and percent > 100:
            return with_(base, note=note, problem=Problem.BAD_PERCENT)
        return with_(base, note=note, percent=percent)
        if percent and int(percent.group(1)) > 100:
            return with_(base, note=note, problem=Problem.BAD_PERCENT)
        return with_(base, note=note, percent=int(percent.group(1)) if percent else None)
    if verb == Verb.DELAY:
        return delay(base, tail, words, reply_day)
    if verb == Verb.BLOCKED:
        return blocked(base, tail, words)
    if verb == Verb.REJECT:
        reason = after_label(tail, words.reason_labels)[1] or tail
        return with_(base, reason=reason, problem=None if reason else Problem.NO_REASON)
    if verb == Verb.CANCEL:
        return with_(base, reason=after_label(tail, words.reason_labels)[1] or tail)
    if verb == Verb.REASSIGN:
        before, reason = after_label(tail, words.reason_labels)
        who = _OWNER_TAIL.sub("", before.strip(TRIM)).strip(TRIM)
        return with_(base, assignee=who, reason=reason, problem=None if who else Problem.NO_ASSIGNEE)
    if verb == Verb.RESCHEDULE:
        moved = delay(base, tail, words, reply_day)
        return with_(moved, problem=None) if moved.problem == Problem.NO_REASON else moved
    if verb == Verb.ADD:
        text = tail.strip(TRIM)
        return with_(base, note=text, problem=None if text else Problem.NO_ITEM_TEXT)
    return with_(base, note=tail)


def _percent(text: str) -> int | None:
    written = _PERCENT.search(text)
    if written:
        return int(written.group(1))
    share = _SHARE.search(text)
    if share is None:
        return None
    digit = share.group(1)
    if digit:
        return (int(digit) if digit.isdigit() else _ZH_NUMBERS.get(digit, 2)) * 10
    found = share.group(0).lower()
    return 75 if "three" in found else 25 if "quarter" in found else 50


def _without_word(text: str, word: str) -> str:
    """The line without its command word: what is left are the arguments, in any order."""
    at = text.casefold().find(word.casefold())
    if at < 0:
        return text
    rest = f"{text[:at].rstrip()} {text[at + len(word) :].lstrip(_PARTICLES)}"
    return _SEPARATOR.sub("", rest.strip(), count=1).strip()
