"""Configuration: `mailbox_rules.yaml` (validated) and the MINUTESD_* environment."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from service.core.resources import shipped

DEFAULT_RULES = shipped("mailbox_rules.yaml")


class ConfigError(Exception):
    """A configuration problem, worded for the administrator."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceRules(_Strict):
    timezone: str = "Asia/Shanghai"
    default_language: Literal["zh", "en"] = "zh"
    display_name: str = "minutesd"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class MailboxRules(_Strict):
    inbox: str = "INBOX"
    processed_folder: str = "Processed"
    attention_folder: str = "Needs-Attention"
    poll_seconds: float = Field(30, gt=0)
    idle_renew_minutes: float = Field(5, gt=0, lt=29)
    reconnect_backoff_seconds: list[float] = Field(default_factory=lambda: [1.0, 5.0, 30.0])
    fetch_batch: int = Field(200, ge=1)
    # Where the server files our copies (copy-to-self) when they are sent to `minutes+FOLDER@`:
    # copies then never pass through the intake. "" sends them to the plain address (the inbox).
    copies_folder: str = Field("", pattern=r"^[A-Za-z0-9._-]*$")


class OutboxRules(_Strict):
    max_attempts: int = Field(8, ge=1)
    backoff_seconds: list[float] = Field(default_factory=lambda: [5.0, 60.0, 300.0])
    batch: int = Field(100, ge=1)
    copy_to_self: bool = True
    confirm_grace_seconds: float = Field(120, ge=0)
    keep_trying_hours: float = Field(72, ge=0)  # a mail is given up only after this long and max_attempts


class MuteRules(_Strict):
    stop: list[str] = Field(default_factory=lambda: ["退订", "unsubscribe"])
    resume: list[str] = Field(default_factory=lambda: ["恢复", "resume"])


class SecurityRules(_Strict):
    """Who may act: the receiving server's verdict on the From address, and where mail may go."""

    trusted_authserv_id: str = ""  # the authserv-id of our own receiving server's Authentication-Results
    # With a trusted server: these changes need its pass, not just no fail.
    require_pass_for: list[str] = Field(default_factory=lambda: ["revise", "verify", "cancel", "edit"])
    # Besides the directory's people: domains whose addresses may send drafts and receive minutes.
    allowed_domains: list[str] = Field(default_factory=list)


class LimitRules(_Strict):
    """What reading one message may cost; past it the sender gets one answer and nothing waits."""

    message_megabytes: float = Field(default=25, gt=0)  # the whole message as received
    attachments: int = Field(default=30, gt=0)
    inline_kilobytes: int = Field(default=256, ge=0)  # smaller mail is read in the daemon itself
    read_seconds: float = Field(default=10, gt=0)  # wall clock of reading one message in its worker
    read_cpu_seconds: int = Field(default=8, gt=0)
    read_memory_megabytes: int = Field(default=512, gt=0)  # what the worker may add to what it inherits
    message_seconds: float = Field(default=60, gt=0)  # all the work on one message, reading included
    # A draft (attached or in the body), refused before it is parsed when past these:
    draft_text_megabytes: float = Field(default=2, gt=0)  # a text or HTML draft
    docx_unpacked_megabytes: float = Field(default=30, gt=0)  # from the zip's own directory
    draft_blocks: int = Field(default=4000, gt=0)  # paragraphs and tables
    draft_cells: int = Field(default=40000, gt=0)  # table cells
    draft_html_elements: int = Field(default=40000, gt=0)  # start tags of an HTML draft, counted first


class LoopRules(_Strict):
    """How much the service answers one address, so an auto-responder's loop ends by itself."""

    max_answers_per_hour: int = Field(10, ge=1)
    max_answers_per_day: int = Field(40, ge=1)
    # A message whose visible text repeats the sender's previous one within this many hours is automatic.
    repeat_hours: float = Field(24, ge=0)
    # ... and so is one whose lines are mostly those of the last mail we sent that address.
    echo_share: float = Field(1.0, gt=0, le=1)


class AutomaticRules(_Strict):
    auto_submitted_ignore: list[str] = Field(default_factory=lambda: ["no"])
    precedence: list[str] = Field(default_factory=list)
    headers_present: list[str] = Field(default_factory=list)
    subject_prefixes: list[str] = Field(default_factory=list)
    bounce_senders: list[str] = Field(default_factory=list)
    system_senders: list[str] = Field(default_factory=list)
    system_sender_suffixes: list[str] = Field(default_factory=list)
    bounce_subjects: list[str] = Field(default_factory=list)


class CalendarRules(_Strict):
    source: Literal["chinese_calendar", "none"] = "chinese_calendar"
    holidays: tuple[date, ...] = ()  # days off the package does not know (a company holiday)
    workdays: tuple[date, ...] = ()  # weekend days worked (调休) the package does not know
    send_on_holidays: bool = (
        False  # scheduled mail (the weekly table) on a public holiday, or the next working morning
    )


class ConfirmationRules(_Strict):
    window_working_days: int = Field(2, ge=1, le=20)
    record_department: Literal["recorder", "host"] = "recorder"
    cc: list[str] = Field(default_factory=list)  # copied on every distribution, except confidential ones
    confidential_markers: list[str] = Field(default_factory=list)
    reminder_hours_before: float = Field(4, ge=0)
    on_close: Literal["silence_is_consent", "remind_and_tell_host"] = "silence_is_consent"
    head_signoff: bool = False  # heads of the attendees' departments must confirm themselves
    revision_working_days: int = Field(
        1, ge=1, le=20
    )  # after an objection: then the recorder and host are told
    keep_phrases: list[str] = Field(
        default_factory=list
    )  # the recorder's 维持原纪要: objections answered, no new version


class IntentRules(_Strict):
    """The lexicon of answers to the minutes; parsers/intent.py reads it as a grammar."""

    consent: list[str] = Field(default_factory=list)
    consent_idioms: list[str] = Field(default_factory=list)
    dissent: list[str] = Field(default_factory=list)
    negators: list[str] = Field(default_factory=list)
    negators_after: list[str] = Field(default_factory=list)
    holding: list[str] = Field(default_factory=list)
    absence: list[str] = Field(default_factory=list)
    presence: list[str] = Field(default_factory=list)
    objection_nouns: list[str] = Field(default_factory=list)
    corrections: list[str] = Field(default_factory=list)
    acknowledgements: list[str] = Field(default_factory=list)
    deferrals: list[str] = Field(default_factory=list)
    questions: list[str] = Field(default_factory=list)
    pointers: list[str] = Field(default_factory=list)
    clause_breaks: list[str] = Field(default_factory=list)
    partial: list[str] = Field(default_factory=list)
    settled_markers: list[str] = Field(default_factory=list)
    own_mail_markers: list[str] = Field(default_factory=list)
    disclaimer_markers: list[str] = Field(default_factory=list)


def _clock_time(value: str) -> str:
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise ValueError(f"{value!r} is not a time of day HH:MM")
    return f"{int(hours):02d}:{int(minutes):02d}"


class CommandRules(_Strict):
    done: list[str] = Field(default_factory=lambda: ["完成", "done"])
    progress: list[str] = Field(default_factory=lambda: ["进度", "progress"])
    delay: list[str] = Field(default_factory=lambda: ["延期", "delay"])
    blocked: list[str] = Field(default_factory=lambda: ["受阻", "blocked"])
    cancel: list[str] = Field(default_factory=lambda: ["取消", "cancel"])
    verify: list[str] = Field(default_factory=lambda: ["核实通过", "verified"])
    reject: list[str] = Field(default_factory=lambda: ["退回", "rejected"])
    reassign: list[str] = Field(default_factory=lambda: ["负责人改为", "reassign to"])
    reschedule: list[str] = Field(default_factory=lambda: ["截止改为", "new deadline"])
    add: list[str] = Field(default_factory=lambda: ["新增", "add item"])
    reason_labels: list[str] = Field(default_factory=lambda: ["原因", "reason"])
    support_labels: list[str] = Field(default_factory=lambda: ["需要", "need"])
    not_commands: list[str] = Field(default_factory=list)
    needs_item: list[str] = Field(default_factory=list)  # a command only after an item reference


class WeeklyRules(_Strict):
    weekday: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "monday"
    time: str = "09:00"
    keep_closed_days: int = Field(7, ge=0)  # done or cancelled items stay in the table this long

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        return _clock_time(value)


class EvidenceRules(_Strict):
    required: bool = True
    max_megabytes: float = Field(20, gt=0)
    allowed_extensions: list[str] = Field(
        default_factory=lambda: [".pdf", ".docx", ".xlsx", ".csv", ".png", ".jpg"]
    )
    # Signature logos and images the HTML body shows inline (cid:) are not deliverables.
    min_image_bytes: int = Field(4096, ge=0)


class ActionRules(_Strict):
    tracker: Literal["host", "recorder"] = "host"  # who verifies done items and gets the tracker table
    verification: bool = True
    calendar_attachment: bool = True  # an .ics with each deadline on the assignment mail
    reminder_working_days_before: list[int] = Field(default_factory=lambda: [3, 1, 0])
    reminder_time: str = "09:00"
    overdue_notice: bool = True
    escalate_after_working_days: int = Field(3, ge=0)
    important_markers: list[str] = Field(default_factory=list)
    daily_digest_time: str = "09:00"
    weekly: WeeklyRules = WeeklyRules()
    evidence: EvidenceRules = EvidenceRules()
    commands: CommandRules = CommandRules()
    department_aliases: dict[str, str] = Field(default_factory=dict)  # 法务 → 法务部, Legal → 法务部

    @field_validator("reminder_time", "daily_digest_time")
    @classmethod
    def _times(cls, value: str) -> str:
        return _clock_time(value)


class ArchiveRules(_Strict):
    # Finished work leaves the hot store this many days after its last change: a confirmed record
    # whose items are all done or cancelled, sent mail, handled messages. Never under 8, so the
    # weekly table and copies of our own mail still find what they need.
    after_days: int = Field(30, ge=8)
    # Sent mail and handled messages are bookkeeping: they leave sooner (their keys still answer
    # "already sent" and "seen before" from the archive).
    mail_after_days: int = Field(2, ge=1)
    # Records are kept at least this many years (the source documents ask for 2). Nothing is
    # ever deleted by itself: `minutesd archive --purge-before YEAR` deletes older periods, and
    # refuses a YEAR that would cut into this.
    keep_years: int = Field(2, ge=2)


class Rules(_Strict):
    service: ServiceRules = ServiceRules()
    archive: ArchiveRules = ArchiveRules()
    calendar: CalendarRules = CalendarRules()
    confirmation: ConfirmationRules = ConfirmationRules()
    intent: IntentRules = IntentRules()
    actions: ActionRules = ActionRules()
    mailbox: MailboxRules = MailboxRules()
    outbox: OutboxRules = OutboxRules()
    automatic: AutomaticRules = AutomaticRules()
    loops: LoopRules = LoopRules()
    security: SecurityRules = SecurityRules()
    limits: LimitRules = LimitRules()
    mute: MuteRules = MuteRules()
    reply_subject_prefixes: list[str] = Field(default_factory=list)
    # The draft parser's vocabulary and validation rules; parsers/ validates its own part.
    parsing: dict[str, Any] = Field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.service.timezone)


Derived = TypeVar("Derived")


class PerRules(Generic[Derived]):
    """A value derived from the rules, built once for each Rules object (they are frozen, and a
    daemon holds one for its life): the vocabulary took 3 ms to build for every draft read."""

    def __init__(self, build: Callable[[Rules], Derived]) -> None:
        self._build = build
        self._last: tuple[Rules, Derived] | None = None

    def __call__(self, rules: Rules) -> Derived:
        last = self._last
        if last is not None and last[0] is rules:
            return last[1]
        value = self._build(rules)
        self._last = (rules, value)
        return value


def load_rules(path: Path | None = None) -> Rules:
    path = path or DEFAULT_RULES
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read rules file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    try:
        rules = Rules.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(path, exc)) from exc
    from parsers.vocabulary import VocabularyError, load_vocabulary

    try:
        load_vocabulary(rules.parsing)
    except (VocabularyError, ValueError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return rules


def _describe(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: {exc.error_count()} problem(s)"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = "unknown key (a typo?)" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"  - {key}: {msg}")
    return "\n".join(lines)


TlsMode = Literal["ssl", "starttls", "none"]


@dataclass(frozen=True)
class ServerSettings:
    host: str
    port: int
    user: str | None
    password: str | None
    tls: TlsMode


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    address: str
    rules_path: Path
    directory_path: Path | None
    imap: ServerSettings | None  # None: the embedded Maildir transport
    smtp: ServerSettings | None
    now: str | None

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2] or "localhost"


def _server(prefix: str, env: dict[str, str], default_port: dict[str, int]) -> ServerSettings | None:
    host = env.get(f"{prefix}_HOST")
    if not host:
        return None
    tls = env.get(f"{prefix}_TLS", "ssl").lower()
    if tls not in ("ssl", "starttls", "none"):
        raise ConfigError(f"{prefix}_TLS must be ssl, starttls or none, not {tls!r}")
    port_text = env.get(f"{prefix}_PORT") or str(default_port[tls])
    try:
        port = int(port_text)
    except ValueError as exc:
        raise ConfigError(f"{prefix}_PORT must be a number, not {port_text!r}") from exc
    return ServerSettings(
        host=host,
        port=port,
        user=env.get(f"{prefix}_USER") or None,
        password=env.get(f"{prefix}_PASSWORD") or None,
        tls=tls,  # type: ignore[arg-type]
    )


def settings_from_env(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    imap = _server("MINUTESD_IMAP", env, {"ssl": 993, "starttls": 143, "none": 143})
    smtp = _server("MINUTESD_SMTP", env, {"ssl": 465, "starttls": 587, "none": 25})
    if imap and not smtp:
        raise ConfigError("MINUTESD_IMAP_HOST is set but MINUTESD_SMTP_HOST is not")
    directory = env.get("MINUTESD_DIRECTORY")
    return Settings(
        data_dir=Path(env.get("MINUTESD_DATA_DIR") or "data").resolve(),
        address=env.get("MINUTESD_ADDRESS") or "minutes@localhost",
        rules_path=Path(env.get("MINUTESD_RULES") or DEFAULT_RULES),
        directory_path=Path(directory) if directory else None,
        imap=imap,
        smtp=smtp,
        now=_instant(env.get("MINUTESD_NOW") or None),
    )


def _instant(text: str | None) -> str | None:
    """MINUTESD_NOW, checked here so a typo is a configuration error, not a traceback."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"MINUTESD_NOW must be an ISO 8601 instant such as 2024-05-20T16:02:00+08:00, not {text!r}"
        ) from None
    if moment.tzinfo is None:
        raise ConfigError(f"MINUTESD_NOW needs a time zone offset (…+08:00 or …Z): {text!r}")
    return text


def load_from_env() -> tuple[Settings, Rules]:
    """The settings of the environment and the rules file they name."""
    settings = settings_from_env()
    return settings, load_rules(settings.rules_path)
