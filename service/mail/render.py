"""Jinja2 rendering of outgoing mail: a text part and an HTML part per template."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2

from service.core.resources import shipped

TEMPLATES = shipped("templates")
LANGUAGES = ("zh", "en")


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render(template: str, lang: str, context: dict[str, Any]) -> tuple[str, str]:
    """Return (text, html) for `templates/<lang>/<template>.{txt,html}.j2`."""
    lang = lang if lang in LANGUAGES else "zh"
    env = _environment()
    full = {"lang": lang, **context}
    text = env.get_template(f"{lang}/{template}.txt.j2").render(full)
    try:
        html = env.get_template(f"{lang}/{template}.html.j2").render(full)
    except jinja2.TemplateNotFound:
        # Short notices have no layout of their own: their text, escaped, in the common frame.
        html = env.get_template("text_as_html.html.j2").render({**full, "text": text})
    return text, html


def language_of(text: str, default: str = "zh") -> str:
    """zh if the text has Chinese characters, en if it has Latin letters only."""
    if any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return "zh"
    if any(ch.isascii() and ch.isalpha() for ch in text):
        return "en"
    return default
