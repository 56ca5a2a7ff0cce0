"""Each line of a reply gets a kind, so the reader can cut quotes and signatures:

    e empty   d delimiter (-- , ____ …)   s mobile signature   b quote header or
    separator (On … wrote:, 在 … 写道:, -----原始邮件-----)   h mail header (From:, 发件人:)
    q quoted (>)   t text

A header line only counts as the start of a quoted mail when another one follows
within a few lines, so a reply that says "From: 6月1日" is not cut.
"""

from __future__ import annotations

import re

_VERBS = (
    r"wrote|sent|写道|寫道|來信|a écrit|schrieb|schreef|geschreven|escribió|escreveu|ha scritto|"
    r"napisał(?:\(a\))?|napisała|skrev|пишет|пише|написал(?:а|\(а\))?|написав|kirjoitti|yazdı|írta|viết"
)


_WROTE = re.compile(rf"(?:{_VERBS})\b.{{0,80}}[:：]\s*$|(?:{_VERBS})\s*[:：]?\s*$", re.IGNORECASE)


_WROTE_EVIDENCE = re.compile(r"\d|@")


# What a line must end with to end an "On … wrote:" header (_WROTE's two endings): asked once
# per line with str.endswith, not with _WROTE on every candidate start above it (60,000
# searches and 2.6 s for a 250 KB message of short lines). _VERBS spelled out.
_HEADER_ENDINGS = (
    ":", "：", "wrote", "sent", "写道", "寫道", "來信", "a écrit", "schrieb", "schreef", "geschreven",
    "escribió", "escreveu", "ha scritto", "napisał", "napisał(a)", "napisała", "skrev", "пишет",
    "пише", "написал", "написала", "написал(а)", "написав", "kirjoitti", "yazdı", "írta", "viết",
)  # fmt: skip


def _may_end_header(line: str) -> bool:
    # Only the line's end is folded: the whole line stripped and folded was two copies of it,
    # and a pasted line can be 200,000 characters. Case folding goes character by character,
    # so the folded end of the line is the end of the folded line.
    end = _end_of_text(line)
    return line[max(0, end - 40) : end].casefold().endswith(_HEADER_ENDINGS)


def _end_of_text(line: str) -> int:
    """len(line.rstrip()), without copying a long line."""
    tail = line[-256:]
    if tail.strip():
        return len(line) - len(tail) + len(tail.rstrip())
    return len(line.rstrip())  # white space all through its last 256 characters: rare


def _stripped_length(line: str) -> int:
    """len(line.strip()), without copying a long line."""
    if len(line) <= 1024:
        return len(line.strip())
    leading = _LEADING_SPACE.match(line)
    start = leading.end() if leading else 0
    return max(0, _end_of_text(line) - start)


_LEADING_SPACE = re.compile(r"\s*")


_BARE_WROTE = re.compile(r"^\s*>\s*(?:wrote\s*)?[:：]\s*$", re.IGNORECASE)  # Polymail closes its header so


_HEADER_START = re.compile(
    r"^\s*(?:On|在|于|Le|Am|Op|El|Em|Il|W dniu|På|Den|Dne|Pada|Vào)\s.*\d|^\s*\d{1,4}[-/.年]", re.IGNORECASE
)


_WROTE_ONE_LINE = re.compile(
    r"^\s*-{2,}\s*.+\s(?:wrote|写道|寫道)\s*-{2,}\s*$|"  # Android: ---- John Smith wrote ----
    r"^\s*\d{4}-\d{1,2}-\d{1,2}\s+\d{1,2}:\d{2}\s+GMT[+-]\d{1,2}:?\d{2}\s+\S.*$|"  # Gmail: 2016-03-03 17:21 GMT+01:00 Name
    r"^\s*\d{4}/\d{1,2}/\d{1,2}\s+.*<[^<>\s]+@[^<>\s]+>\s*$|"  # 2011/4/7 Name <a@b>
    r"^.*\d{1,4}[.:/-]\d{1,2}.*<[^<>\s]+@[^<>\s]+>\s*[:：]\s*$",  # 26.06.2014, 14:41, "Name" <a@b>:
    re.IGNORECASE,
)


_SEPARATOR = re.compile(
    r"^[-_=*>\s]{3,}(?:Original(?: Message)?|原始邮件|原始郵件|原邮件|Forwarded message|转发邮件|"
    r"Ursprüngliche Nachricht|Message d'origine|Mensaje original|Messaggio originale|Oorspronkelijk bericht|"
    r"Původní zpráva|Исходное сообщение|Oprindelig meddelelse|Originalmeddelande|Opprinnelig melding|"
    r"Wiadomość oryginalna|Mensagem original|Reply above this line)[-_=*<\s]{3,}$|"
    r"^\s*Begin forwarded message\s*:?\s*$|^\s*原始邮件\s*$",
    re.IGNORECASE,
)


_HEADER_NAMES = (
    "from|sent|date|to|cc|subject|reply-to|发件人|發件人|寄件者|发送时间|發送時間|寄件日期|日期|时间|收件人|"
    "抄送|副本|主题|主旨|主題|von|gesendet|datum|an|betreff|de|envoyé|date|à|objet|van|verzonden|aan|"
    "onderwerp|från|skickat|till|ämne|fra|sendt|til|emne|od|wysłano|do|temat|от|отправлено|кому|тема|"
    "da|inviato|oggetto|enviado|para|asunto|assunto|enviada|data"
)


_HEADER_ANYWHERE = re.compile(
    r"(?:From|Sent|Date|To|Subject|发件人|收件人|主题|发送时间)\s*[:：]", re.IGNORECASE
)


_HEADER = re.compile(rf"^\s*[*_]{{0,2}}(?:{_HEADER_NAMES})[*_]{{0,2}}\s*[:：]", re.IGNORECASE)


_DELIMITER = re.compile(r"^\s*(?:--\s?|[-_=*~#+—]{3,}|ᐧ|-{2}\s*)$")


_DEVICES = (
    r"iphone|ipad|ipod|android|mobile|phone|cell|blackberry|samsung|galaxy|htc|huawei|xiaomi|oppo|vivo|"
    r"honor|nokia|windows|mailbox|yahoo|airmail|outlook|ti-\d+|alcatel|tablet|device|smartphone|[a-z]+ ?mail"
)


_MOBILE_SIGNATURE = re.compile(
    rf"^[\s(<]*(?:sent (?:from|via|with|using) (?:my |the |an? )?(?:[\w-]+ ){{0,3}}[\[(]?(?:{_DEVICES})\b.*|"
    rf"sent (?:via|with) .+|sent from \[?mail\]?.*|from my (?:{_DEVICES})\b.*|sent by (?:{_DEVICES}).*|"
    r"get (?:\[)?outlook for .+|"
    r"发自我的.{1,30}|发自.{0,12}(?:邮箱|郵箱|客户端|手机|手機|iPhone|iPad|Android).{0,6}|来自.{1,12}(?:邮箱|客户端)|来自我的.{1,30}|从我的.{1,30}发送|從我的.{1,30}傳送|發自我的.{1,30}|"
    r"envoyé (?:de|depuis) mon .+|sendt fra min .+|skickat från min .+|enviado desde mi .+|"
    r"verstuurd vanaf mijn .+|wysłane z mojego .+|отправлено с моего .+|"
    r"von meinem .+ gesendet\.?|diese nachricht wurde von meinem .+ gesendet\.?|"
    r"verzonden (?:met|vanaf) .+|inviato da .+|enviado desde .+|enviado do meu .+|"
    r"someone from mobile)\s*[)>]*\s*$",
    re.IGNORECASE,
)


_FENCE = re.compile(r"^\s*```")


_INITIALS_QUOTE = re.compile(r"^\s*[A-Z]{1,3}>(?:\s|$)")  # Usenet's "C> quoted"


def classify_lines(lines: list[str]) -> list[str]:
    kinds: list[str] = []
    in_fence = False
    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
            kinds.append("t")
        elif in_fence:
            kinds.append("t")
        else:
            kinds.append(_kind(line))
    for index in range(1, len(kinds) - 1):
        if kinds[index] == "t" and kinds[index - 1] == "q" and kinds[index + 1] == "q":
            kinds[index] = "q"  # a long link the client wrapped out of its quote
    _join_wrote_headers(lines, kinds)
    _mark_header_blocks(lines, kinds)
    return kinds


# A one-line "wrote" header is short; its pattern backtracks on long lines full of digits and
# <a@b> (a pasted References header of 25 KB took two seconds), so longer lines are never one.
_ONE_LINE_MAX = 1000


def _kind(line: str) -> str:
    stripped = line.strip()
    if not stripped:
        return "e"
    if _SEPARATOR.match(line) or (len(line) <= _ONE_LINE_MAX and _WROTE_ONE_LINE.match(line)):
        return "b"
    if (stripped.startswith(">") and not stripped.endswith("<<<")) or _INITIALS_QUOTE.match(line):
        return "q"
    if _DELIMITER.match(line):
        return "d"
    if _MOBILE_SIGNATURE.match(line):
        return "s"
    if _HEADER.match(line):
        return "b" if len(_HEADER_ANYWHERE.findall(line)) >= 3 else "h"  # headers run together
    return "t"


def _join_wrote_headers(lines: list[str], kinds: list[str]) -> None:
    """An "On … wrote:" header, which clients wrap over up to six lines, is one header.

    Each line that could end a header is tried with the fewest lines above it that make a
    header, then grown upwards over lines that only make sense as its beginning.
    """
    for end in range(len(lines)):
        if kinds[end] not in ("t", "h", "s") and not _BARE_WROTE.match(lines[end]):
            continue
        if not _may_end_header(lines[end]):
            continue  # every header ends its last line with ":" or the verb: nothing above to join
        for start in range(end, max(-1, end - 5), -1):
            if kinds[start] in ("q", "b", "e") and start != end:
                break
            # The join is at least as long as its lines stripped: a long line is never joined.
            if sum(_stripped_length(line) for line in lines[start : end + 1]) > 320:
                break
            joined = _joined(lines[start : end + 1])
            if len(joined) > 320:
                break
            # joined has no white space at its end, so a match of _WROTE lies in its last 120 characters
            if _WROTE.search(joined[-120:]) and _WROTE_EVIDENCE.search(joined) and _looks_like_header(joined):
                start = _grow_upwards(lines, kinds, start, end)
                for index in range(start, end + 1):
                    kinds[index] = "b"
                break


def _joined(lines: list[str]) -> str:
    joined = ""
    for line in lines:
        piece = line.strip()
        joined = f"{joined}{piece}" if joined.endswith(("<", "(")) else f"{joined} {piece}"
    return joined.strip()


def _grow_upwards(lines: list[str], kinds: list[str], start: int, end: int) -> int:
    while start > 0 and end - start < 5:
        above = start - 1
        if (
            kinds[above] == "e"
            and above > 0
            and _HEADER_START.match(lines[above - 1])
            and kinds[above - 1] == "t"
        ):
            start = above - 1
            continue
        if kinds[above] != "t":
            break
        line = lines[above].rstrip()
        if not (line.endswith(("<", "(")) or _HEADER_START.match(line)):
            break
        start = above
    return start


def _looks_like_header(joined: str) -> bool:
    """A date, an address or a name before the verb, not a sentence that happens to end in "wrote:"."""
    before_verb = re.split(rf"(?:{_VERBS})", joined, maxsplit=1, flags=re.IGNORECASE)[0]
    return bool(re.search(r"\d|@|<|\"", before_verb)) or bool(re.search(r"<[^>]*@", joined))


def _mark_header_blocks(lines: list[str], kinds: list[str]) -> None:
    """Two or more header lines close together are a quoted mail; a lone one is text."""
    index = 0
    while index < len(kinds):
        if kinds[index] != "h":
            index += 1
            continue
        block = [index]
        probe = index + 1
        while probe < len(kinds) and probe - block[-1] <= 3:
            if kinds[probe] == "h":
                block.append(probe)
            elif kinds[probe] in ("b", "q"):
                break
            probe += 1
        if len(block) >= 2:
            kinds[index] = "b"
            for position in range(index + 1, block[-1] + 1):
                kinds[position] = "x"  # inside the quoted header block
            index = block[-1] + 1
        else:
            kinds[index] = "t"
            index += 1
