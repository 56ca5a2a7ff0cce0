"""Who is who: the people directory, and the people a draft names.

A draft names people as the directory writes them, in Traditional script, by
alias, as `Name <addr>`, by an English name, with a title stuck to the name
(王磊(产品部经理), 陈静 总监) or grouped under a department (研发部:陈静、李娜).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from parsers.vocabulary import simplified

DEPARTMENT_SUFFIXES = ("部", "中心", "处", "科", "室", "组", "办", "Department", "Dept", "Team")


@dataclass(frozen=True)
class Person:
    name: str
    email: str = ""
    department: str = ""
    title: str = ""
    known: bool = False  # found in the directory
    language: str = ""  # zh-CN, zh-TW or en as the directory says; "" when it says nothing

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "email": self.email, "department": self.department}


LANGUAGES = ("zh-CN", "zh-TW", "en")
_LANGUAGE_SPELLINGS = {
    "zh-CN": ("zh", "zh-cn", "zh-hans", "zh-hans-cn", "zh-sg", "zh-hans-sg", "cn", "chs", "chinese",
              "simplified", "simplified chinese", "中文", "简体", "简体中文", "简中", "簡體", "簡體中文"),
    "zh-TW": ("zh-tw", "zh-hant", "zh-hant-tw", "zh-hk", "zh-hant-hk", "zh-mo", "zh-hant-mo", "tw", "cht",
              "traditional", "traditional chinese", "繁体", "繁体中文", "繁體", "繁體中文", "正體中文", "正体中文"),
    "en": ("en", "english", "英文", "英语", "英語"),
}  # fmt: skip
_LANGUAGE_NAMES = {
    spelling: code for code, spellings in _LANGUAGE_SPELLINGS.items() for spelling in spellings
}


def normalise_language(value: object) -> str | None:
    """zh-CN, zh-TW or en for the ways people write them (zh, zh_TW, zh-Hant, en-US, 繁體 …);
    "" for nothing written, None for a value that names none of them."""
    if value is None:
        return ""
    text = re.sub(r"[\s_]+", "-", str(value).strip()).strip("-").lower()
    if not text:
        return ""
    found = _LANGUAGE_NAMES.get(text) or _LANGUAGE_NAMES.get(text.replace("-", " "))
    if found is None and re.fullmatch(r"en-[a-z]{2,4}", text):
        found = "en"  # en-US, en-GB, en-SG …
    return found


@dataclass(frozen=True)
class Department:
    name: str
    code: str
    head: str = ""


@dataclass
class Directory:
    people: list[Person] = field(default_factory=list)
    departments: dict[str, Department] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # simplified alias → canonical name

    def __post_init__(self) -> None:
        self.names = tuple(p.name for p in self.people)  # as the directory writes them
        self._by_name = {simplified(p.name): p for p in self.people}
        self._by_email = {p.email.lower(): p for p in self.people if p.email}
        self._by_local = {}
        for p in self.people:
            local = p.email.partition("@")[0].lower()
            if local:
                self._by_local[re.sub(r"[^a-z]", "", local)] = p
        self._departments = {simplified(name): dept for name, dept in self.departments.items()}

    def by_name(self, name: str) -> Person | None:
        key = simplified(name.strip())
        return self._by_name.get(key) or self._by_name.get(self.aliases.get(key, ""))

    def by_email(self, email: str) -> Person | None:
        return self._by_email.get(email.strip().lower())

    def language_of(self, email: str) -> str:
        """The directory's language for an address (zh-CN, zh-TW, en), or "" when it gives none."""
        found = self.by_email(email)
        return found.language if found is not None else ""

    def by_english_name(self, name: str) -> Person | None:
        """'Liu Yang' or 'Yang Liu' → the person whose address is liu.yang@…"""
        words = [w.lower() for w in re.findall(r"[A-Za-z]+", name)]
        if len(words) < 2:
            return None
        return self._by_local.get("".join(words)) or self._by_local.get("".join(reversed(words)))

    def department(self, name: str) -> Department | None:
        return self._departments.get(simplified(name.strip()))

    def canonical_department(self, name: str) -> str:
        found = self.department(name)
        return found.name if found else simplified(name.strip())


def load_directory(text: str, kind: str = "yaml") -> Directory:
    """A directory from YAML (the shape of samples/people.yaml) or CSV (name,email,department,…)."""
    if kind == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        data: dict[str, Any] = {"people": rows, "departments": {}}
    else:
        data = yaml.safe_load(text) or {}
    departments = {
        str(name): Department(str(name), str((info or {}).get("code", "")), str((info or {}).get("head", "")))
        for name, info in (data.get("departments") or {}).items()
    }
    people: list[Person] = []
    aliases: dict[str, str] = {}
    for row in data.get("people") or []:
        name = str(row.get("name", "")).strip()
        if not name:
            continue
        people.append(
            Person(
                name,
                str(row.get("email", "")).strip().lower(),
                str(row.get("department", "")).strip(),
                str(row.get("title", "") or "").strip(),
                known=True,
                language=normalise_language(row.get("language")) or "",
            )
        )
        raw_aliases = row.get("aliases") or []
        if isinstance(raw_aliases, str):
            raw_aliases = [a for a in re.split(r"[;,、|]", raw_aliases) if a.strip()]
        for alias in raw_aliases:
            aliases[simplified(str(alias).strip())] = simplified(name)
    return Directory(people, departments, aliases)


@dataclass(frozen=True)
class Mention:
    """A person as the draft writes them, before resolution."""

    name: str
    email: str = ""
    department: str = ""  # the department the draft puts them in
    title: str = ""
    text: str = ""


_ADDRESS = re.compile(r"^(?P<name>.*?)\s*[<(（]\s*(?P<email>[\w.+'-]+@[\w-]+(?:\.[\w-]+)+)\s*[>)）]\s*$")
_BARE_ADDRESS = re.compile(r"^[\w.+'-]+@[\w-]+(?:\.[\w-]+)+$")
_PAREN = re.compile(r"^(?P<name>[^(（]+?)\s*[(（](?P<inner>[^)）]*)[)）]\s*(?P<rest>.*)$")


def split_department_and_title(text: str, titles: tuple[str, ...]) -> tuple[str, str]:
    """'产品部经理' → ('产品部', '经理'); '市场部' → ('市场部', ''); '总监' → ('', '总监')."""
    s = simplified(text.strip())
    title = ""
    for candidate in titles:
        if s.endswith(candidate) and len(s) >= len(candidate):
            title, s = candidate, s[: -len(candidate)].strip()
            break
    if s and not s.endswith(DEPARTMENT_SUFFIXES):
        # Not a department: a title the vocabulary lacks, or a note.
        return "", (f"{s}{title}" if title else s)
    return s, title


def parse_mention(text: str, titles: tuple[str, ...]) -> Mention:
    raw = text.strip().strip("-—–·•*").strip()
    m = _ADDRESS.match(raw)
    if m:
        name = m.group("name").strip().strip('"').strip()
        email = m.group("email").lower()
        return Mention(name or email, email, text=raw)
    if _BARE_ADDRESS.match(raw):
        return Mention(raw.lower(), raw.lower(), text=raw)
    department = title = ""
    name = raw
    m = _PAREN.match(raw)
    if m:
        name = m.group("name").strip()
        department, title = split_department_and_title(m.group("inner"), titles)
    # "王磊 产品部经理", "陈静 总监": the first word is the name when the rest is a title/department.
    parts = name.split()
    if len(parts) >= 2 and not name.isascii():
        rest_department, rest_title = split_department_and_title("".join(parts[1:]), titles)
        if rest_department or rest_title in titles:
            name = parts[0]
            department = department or rest_department
            title = title or rest_title
    elif not name.isascii():
        for candidate in titles:  # a title written straight after the name: 陈静总监
            if simplified(name).endswith(candidate) and len(name) > len(candidate) + 1:
                name, title = name[: -len(candidate)], candidate
                break
    return Mention(name.strip(), "", department, title, raw)


_LIST_SEPARATORS = re.compile(r"[、,，;；/\n]+")
_GROUP = re.compile(r"^\s*(?P<dept>[^:：,，、;；]{1,20}?(?:部|中心|处|科|室|组|办))\s*[:：]\s*(?P<names>.+)$")


def parse_people_list(text: str, titles: tuple[str, ...]) -> list[Mention]:
    """'研发部:陈静 总监、李娜 工程师\\n市场部:张伟' and 'Liu Yang, Zhou Ting <z@x>' alike."""
    mentions: list[Mention] = []
    chunks = re.split(r"[;；\n]+", text)
    for chunk in chunks:
        group = _GROUP.match(chunk)
        dept = ""
        if group:
            dept = simplified(group.group("dept").strip())
            chunk = group.group("names")
        for piece in _split_spaced_names(_split_names(chunk), titles):
            mention = parse_mention(piece, titles)
            if not mention.name:
                continue
            if dept and not mention.department:
                mention = Mention(mention.name, mention.email, dept, mention.title, mention.text)
            mentions.append(mention)
    return mentions


_CJK_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,4}$")


def _split_spaced_names(pieces: list[str], titles: tuple[str, ...]) -> list[str]:
    """'王磊 陈静 刘洋' is three people; '陈静 总监' and '王磊 产品部经理' are one."""
    result: list[str] = []
    for piece in pieces:
        tokens = piece.split()
        if len(tokens) < 2 or not all(_CJK_NAME.match(t) or _is_qualifier(t, titles) for t in tokens):
            result.append(piece)
            continue
        groups: list[list[str]] = []
        for token in tokens:
            if groups and _is_qualifier(token, titles):
                groups[-1].append(token)  # a title or department belongs to the name before it
            else:
                groups.append([token])
        result.extend(" ".join(group) for group in groups)
    return result


def _is_qualifier(token: str, titles: tuple[str, ...]) -> bool:
    department, title = split_department_and_title(token, titles)
    return bool(department) or title in titles


def _split_names(text: str) -> list[str]:
    # Keep "Name <a@b>" together: split on separators outside angle brackets only.
    pieces, depth, current = [], 0, ""
    for ch in text:
        if ch in "<(（":
            depth += 1
        elif ch in ">)）":
            depth = max(0, depth - 1)
        if depth == 0 and _LIST_SEPARATORS.match(ch):
            pieces.append(current)
            current = ""
        else:
            current += ch
    pieces.append(current)
    return [p.strip() for p in pieces if p.strip()]


def resolve(mention: Mention, directory: Directory, seen: dict[str, Person] | None = None) -> Person:
    """The directory's person for a mention; unknown people keep what the draft gave."""
    candidates = [
        directory.by_email(mention.email) if mention.email else None,
        directory.by_name(mention.name),
        directory.by_english_name(mention.name) if mention.name.isascii() else None,
    ]
    for found in candidates:
        if found is not None:
            return found
    if seen is not None:
        # Named once with an address elsewhere in the draft ("Zhou Ting <z@x>"), once without.
        earlier = seen.get(simplified(mention.name).casefold())
        if earlier is not None:
            return earlier
    department = directory.canonical_department(mention.department) if mention.department else ""
    return Person(simplified(mention.name), mention.email, department, mention.title, known=False)


_EMAIL = re.compile(r"^[\w.+'-]+@[\w-]+(?:\.[\w-]+)+$")


def directory_problems(text: str, kind: str = "yaml") -> list[str]:
    """What is wrong in a directory file, each with its line: bad or missing addresses, the same
    address or name twice, a department nobody declared, a head who is not in the directory, a
    language that is not zh-CN, zh-TW or en (or a usual spelling of one)."""
    lines = text.splitlines()

    def line_of(needle: str, after: int = 0) -> int:
        for number, line in enumerate(lines[after:], after + 1):
            if needle and needle in line:
                return number
        return 0

    if kind == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        places = [n + 2 for n in range(len(rows))]  # the header is line 1
        declared: dict[str, Any] = {}
    else:
        data = yaml.safe_load(text) or {}
        rows = list(data.get("people") or [])
        declared = dict(data.get("departments") or {})
        places, cursor = [], 0
        for row in rows:
            cursor = line_of(f"name: {str(row.get('name', '')).strip()}", cursor) or cursor
            places.append(cursor)
    problems: list[str] = []
    emails: dict[str, int] = {}
    names: dict[str, int] = {}
    known = {simplified(str(r.get("name", "")).strip()) for r in rows}
    ends = [*places[1:], len(lines) + 1]
    for row, line, end in zip(rows, places, ends, strict=True):
        name = str(row.get("name", "")).strip()
        email = str(row.get("email", "") or "").strip().lower()
        if not name:
            problems.append(f"line {line}: a person without a name")
            continue
        if not _EMAIL.match(email):
            problems.append(f"line {line}: {name} has no valid address ({email or 'none'})")
        elif email in emails:
            problems.append(f"line {line}: {email} is also the address on line {emails[email]}")
        else:
            emails[email] = line
        key = simplified(name)
        if key in names:
            problems.append(
                f"line {line}: {name} is listed twice (also line {names[key]}): mentions become ambiguous"
            )
        names[key] = line
        department = str(row.get("department", "") or "").strip()
        if declared and department and department not in declared:
            problems.append(f"line {line}: {name}'s department {department} is not among the departments")
        language = row.get("language")
        if normalise_language(language) is None:
            # In a YAML block the value has a line of its own, before the next person's.
            at = line_of("language", line - 1) if kind != "csv" and line else line
            at = at if line <= at < max(end, line + 1) else line
            problems.append(f"line {at}: {name}'s language {language} is not one of zh-CN, zh-TW, en")
    for department, info in declared.items():
        head = str((info or {}).get("head", "") or "").strip()
        if head and simplified(head) not in known:
            problems.append(
                f"line {line_of(f'{department}:')}: the head of {department}, {head}, is not in the directory"
            )
    return problems
