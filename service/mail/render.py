"""Jinja2 rendering of outgoing mail: a text part and an HTML part per template."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import jinja2
from opencc import OpenCC

from service.core.resources import shipped

TEMPLATES = shipped("templates")
# zh is Simplified; zh-TW is the zh templates' output in Traditional (OpenCC s2twp, Taiwan
# words), so a zh template changed is a zh-TW one changed; en is English.
LANGUAGES = ("zh", "zh-TW", "en")
# A directory person's language → the language their mail is rendered in.
MAIL_LANGUAGES = {"zh-CN": "zh", "zh-TW": "zh-TW", "en": "en"}
VERBATIM = "verbatim"  # context key: strings (people's names) the Traditional conversion keeps as written


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render(template: str, lang: str, context: dict[str, Any]) -> tuple[str, str]:
    """Return (text, html) for `templates/<lang>/<template>.{txt,html}.j2`; zh-TW renders the zh
    templates and converts the output to Traditional, keeping `context["verbatim"]` as written."""
    lang = lang if lang in LANGUAGES else "zh"
    folder = "en" if lang == "en" else "zh"
    env = _environment()
    full = {"lang": lang, **context}
    text = env.get_template(f"{folder}/{template}.txt.j2").render(full)
    try:
        html = env.get_template(f"{folder}/{template}.html.j2").render(full)
    except jinja2.TemplateNotFound:
        # Short notices have no layout of their own: their text, escaped, in the common frame.
        html = env.get_template("text_as_html.html.j2").render({**full, "text": text})
    if lang == "zh-TW":
        keep = context.get(VERBATIM) or ()
        return localise(text, lang, keep), localise(html, lang, keep)
    return text, html


def mail_language(person_language: str, fallback: str) -> str:
    """The language of a mail to one person: the directory's (zh-CN, zh-TW, en) when it gives
    one, else `fallback` (the record's, or the message being answered)."""
    return MAIL_LANGUAGES.get(person_language, fallback)


def base_language(lang: str) -> str:
    """zh or en: what dates, labels and subjects are spelled in before any conversion."""
    return "en" if lang == "en" else "zh"


@lru_cache(maxsize=1)
def _s2twp() -> OpenCC:
    return OpenCC("s2twp")


@lru_cache(maxsize=16)
def _kept(names: tuple[str, ...]) -> tuple[re.Pattern[str], dict[str, str], dict[str, str]] | None:
    # Only names with Chinese in them can change; the longest first, so 王小明 wins over 王小.
    chosen = sorted({n for n in names if n and not n.isascii()}, key=len, reverse=True)[:60000]
    if not chosen:
        return None
    marks = {name: chr(0xF0000 + i) for i, name in enumerate(chosen)}  # private use: never in mail
    back = {mark: name for name, mark in marks.items()}
    return re.compile("|".join(re.escape(n) for n in chosen)), marks, back


_PRIVATE = re.compile("[\U000f0000-\U000ffffd]")


def localise(text: str, lang: str, keep: Iterable[str] = ()) -> str:
    """`text` as a reader of `lang` reads it: Simplified → Traditional (Taiwan) for zh-TW, where
    the strings in `keep` (people's names as the directory writes them) stay exactly as written.
    Record numbers, addresses, links and dates are ASCII or digits, which OpenCC leaves alone."""
    if lang != "zh-TW" or text.isascii():
        return text
    found = _kept(tuple(keep))
    if found is None or _PRIVATE.search(text):  # a mark would be ambiguous: convert it all
        return str(_s2twp().convert(text))
    pattern, marks, back = found
    masked = pattern.sub(lambda m: marks[m.group(0)], text)
    converted = str(_s2twp().convert(masked))
    return _PRIVATE.sub(lambda m: back.get(m.group(0), m.group(0)), converted)


@lru_cache(maxsize=1)
def _s2t() -> OpenCC:
    return OpenCC("s2t")


@lru_cache(maxsize=1)
def _t2s() -> OpenCC:
    return OpenCC("t2s")


def written_in(text: str, lang: str) -> str:
    """zh-TW when `lang` is Chinese and `text` has more Traditional-only characters than
    Simplified-only ones (the reader wrote Traditional), else `lang`."""
    if base_language(lang) != "zh":
        return lang
    chinese = [ch for ch in text if "\u4e00" <= ch <= "\u9fff"]
    if not chinese:
        return lang
    scripts = [_script(ch) for ch in chinese]
    return "zh-TW" if scripts.count("t") > scripts.count("s") else lang


@lru_cache(maxsize=8192)
def _script(ch: str) -> str:
    """t for a Traditional-only character, s for a Simplified-only one, "" for one both share."""
    if _t2s().convert(ch) != ch:
        return "t"
    return "s" if _s2t().convert(ch) != ch else ""


def language_of(text: str, default: str = "zh") -> str:
    """zh if the text has Chinese characters, en if it has Latin letters only."""
    if any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return "zh"
    if any(ch.isascii() and ch.isalpha() for ch in text):
        return "en"
    return default
