"""The labelled reply sets of ../shared/corpora, and how well parsers.reply_text reads them.

    python -m bench.reply_sets            # the figures per set, and each miss
    python -m bench.reply_sets --libs     # the same for email-reply-parser / mail-parser-reply

Each set is compared as its own project defines the answer:
- discourse_email_reply_trimmer: trimmed/X.txt, both sides stripped (their test);
- mailgun_talon: quotation removal only (talon's extract_from_plain keeps signatures), exact
  after stripping; the HTML replies whitespace-insensitive, as talon's test compares them;
- github_email_reply_parser: its README marks which fragments are visible; the labels below
  are those visible fragments written out, compared line by line without blank lines (the
  Ruby library joins fragments its own way).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path

from parsers.reply_text import strip_quotes, visible_html, visible_text

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
SAMPLE_REPLIES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "replies"


@dataclass(frozen=True)
class Case:
    set_name: str
    name: str
    source: str
    expected: str
    read: Callable[[str], str]
    compare: Callable[[str, str], bool]


def _stripped(got: str, expected: str) -> bool:
    return got.replace("\r\n", "\n").strip() == expected.replace("\r\n", "\n").strip()


def _no_whitespace(got: str, expected: str) -> bool:
    return re.sub(r"\s+", "", got) == re.sub(r"\s+", "", expected)


def _lines(got: str, expected: str) -> bool:
    def norm(text: str) -> list[str]:
        return [line.rstrip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]

    return norm(got) == norm(expected)


GITHUB_LABELS = {
    "correct_sig.txt": "this is an email with a correct -- signature.",
    "email_1_1.txt": "Hi folks\n\nWhat is the best way to clear a Riak bucket of all key, values after \n"
    "running a test?\nI am currently using the Java HTTP API.",
    "email_1_2.txt": None,  # built from the file below: "Hi," plus the unquoted answer in the middle
    "email_1_3.txt": "Oh thanks.\n\nHaving the function would be great.",
    "email_1_4.txt": "Awesome! I haven't had another problem with it.",
    "email_1_5.txt": "",  # one fragment: the whole mail
    "email_1_6.txt": "I get proper rendering as well.\n\nSent from a magnificent torch of pixels",
    "email_1_7.txt": ":+1:",
    "email_1_8.txt": "I will reply under this one\n\nand under this.",
    "email_2_1.txt": "Outlook with a reply",
    "email_2_2.txt": "Outlook with a reply directly above line",
    "email_2_3.txt": "Outlook with a reply directly above line",
    "email_BlackBerry.txt": "Here is another email",
    "email_iPhone.txt": "Here is another email",
    "email_multi_word_sent_from_my_mobile_device.txt": "Here is another email",
    "email_sent_from_my_not_signature.txt": "Here is another email\n\n"
    "Sent from my desk, is much easier then my mobile phone.",
    "email_bullets.txt": "test 2 this should list second\n\nand have spaces\n\nand retain this formatting\n\n\n"
    "   - how about bullets\n   - and another",
    "email_one_is_not_on.txt": "Thank, this is really helpful.\n\nOne outstanding question I had:\n\n"
    "Locally (on development), when I run...",
    "greedy_on.txt": "On your remote host you can run:\n\n     telnet 127.0.0.1 52698\n\n"
    "This should connect to TextMate (on your Mac, via the tunnel). If that\nfails, the tunnel is not working.",
    "email_sig_delimiter_in_middle_of_line.txt": "",  # one fragment: the whole mail
    "email_long_quote.txt": None,  # built from the file below: all but the quote line, up to "-Abhishek"
    "pathological.txt": "I think you're onto something. I will try to fix the problem as soon as I\n"
    "get back to a computer.",
}


def github_cases(root: Path = CORPORA) -> Iterator[Case]:
    folder = root / "github_email_reply_parser"
    for name, label in sorted(GITHUB_LABELS.items()):
        source = (folder / name).read_text(encoding="utf-8")
        if name == "email_1_2.txt":
            lines = source.split("\n")
            start = next(i for i, line in enumerate(lines) if line.startswith("You can list"))
            end = next(i for i, line in enumerate(lines) if line.startswith("the keys in a bucket"))
            label = "Hi,\n" + "\n".join(lines[start : end + 1])
        elif name == "email_long_quote.txt":
            lines = source.split("\n")
            end = next(i for i, line in enumerate(lines) if line.startswith("-Abhishek"))
            label = "\n".join(line for line in lines[:end] if not line.startswith(">"))
        elif label == "":
            label = source
        yield Case("github_email_reply_parser", name, source, label, visible_text, _lines)


def discourse_cases(root: Path = CORPORA) -> Iterator[Case]:
    folder = root / "discourse_email_reply_trimmer"
    for path in sorted((folder / "emails").glob("*.txt")):
        expected = (folder / "trimmed" / path.name).read_text(encoding="utf-8")
        yield Case(
            "discourse_email_reply_trimmer",
            path.name,
            path.read_text(encoding="utf-8"),
            expected,
            visible_text,
            _stripped,
        )


def talon_cases(root: Path = CORPORA) -> Iterator[Case]:
    folder = root / "mailgun_talon"
    for path in sorted((folder / "inline_cases").glob("*.txt")):
        if path.name.endswith(".expected.txt"):
            continue
        expected = (path.parent / f"{path.stem}.expected.txt").read_text(encoding="utf-8")
        yield Case(
            "mailgun_talon",
            f"inline/{path.name}",
            path.read_text(encoding="utf-8"),
            expected,
            strip_quotes,
            _stripped,
        )
    for path in sorted((folder / "standard_replies").glob("*.eml")):
        label = path.parent / f"{path.stem}_reply_text"
        expected = label.read_text(encoding="utf-8") if label.exists() else "Hello"
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        part = msg.get_body(("plain",))
        body = part.get_content() if part is not None else ""
        yield Case("mailgun_talon", f"standard/{path.name}", body, expected, strip_quotes, _stripped)
    for path in sorted((folder / "html_replies").glob("*.html")):
        yield Case(
            "mailgun_talon",
            f"html/{path.name}",
            path.read_text(encoding="utf-8", errors="replace"),
            "Hi. I am fine.\n\nThanks,\nAlex",
            visible_html,
            _no_whitespace,
        )


def all_cases(root: Path = CORPORA) -> list[Case]:
    return [*github_cases(root), *discourse_cases(root), *talon_cases(root)]


def score(
    cases: list[Case], read: Callable[[Case], str] | None = None
) -> dict[str, tuple[int, int, list[str]]]:
    results: dict[str, tuple[int, int, list[str]]] = {}
    for case in cases:
        got = read(case) if read else case.read(case.source)
        hits, total, misses = results.get(case.set_name, (0, 0, []))
        if case.compare(got, case.expected):
            hits += 1
        else:
            misses = [*misses, case.name]
        results[case.set_name] = (hits, total + 1, misses)
    return results


def _library_readers() -> dict[str, Callable[[Case], str]]:
    readers: dict[str, Callable[[Case], str]] = {}
    try:
        from email_reply_parser import EmailReplyParser  # type: ignore[import-not-found]

        readers["email-reply-parser"] = lambda case: EmailReplyParser.parse_reply(case.source)
    except ImportError:
        pass
    try:
        from mailparser_reply import EmailReplyParser as MailParserReply  # type: ignore[import-not-found]

        parser = MailParserReply(languages=["en", "de", "fr", "nl", "it", "pl", "sv", "es", "zh", "ja"])
        readers["mail-parser-reply"] = lambda case: parser.parse_reply(text=case.source)
    except ImportError:
        pass
    return readers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--libs", action="store_true", help="also score the libraries, where installed")
    args = parser.parse_args(argv)
    if not CORPORA.exists():
        print(f"no corpora at {CORPORA}", file=sys.stderr)
        return 2
    cases = all_cases()
    readers: dict[str, Callable[[Case], str] | None] = {"parsers.reply_text": None}
    if args.libs:
        readers.update(_library_readers())
    for label, reader in readers.items():
        for set_name, (hits, total, misses) in score(cases, reader).items():
            print(f"{label:20} {set_name:32} {hits:3}/{total:<3} {100 * hits / total:5.1f}%")
            if reader is None:
                for miss in misses:
                    print(f"{'':20}   miss: {miss}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
