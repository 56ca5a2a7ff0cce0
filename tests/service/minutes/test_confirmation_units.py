"""The pure parts of confirmation: working days, intent, what changed, the state table."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from parsers.intent import Intent, IntentWords, read_intent
from parsers.revision import diff_minutes
from parsers.workdays import WorkCalendar
from service.core.calendar import work_calendar
from service.core.config import CalendarRules, load_rules
from service.minutes.answers import intent_words
from service.minutes.records import TRANSITIONS, Event, State, TransitionRefused, transition

SHANGHAI = ZoneInfo("Asia/Shanghai")


def words() -> IntentWords:
    return intent_words(load_rules().intent)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("不同意", Intent.OBJECT),
        ("不确认", Intent.OBJECT),
        ("不確認", Intent.OBJECT),
        ("没问题", Intent.CONFIRM),
        ("同意", Intent.CONFIRM),
        ("确认无误", Intent.CONFIRM),
        ("收到无异议", Intent.CONFIRM),
        ("LGTM", Intent.CONFIRM),
        ("Looks good to me, confirmed.", Intent.CONFIRM),
        ("第2项截止时间应为6月1日,其余确认", Intent.OBJECT),
        ("第3项负责人写错了,其余同意", Intent.OBJECT),
        ("确认?", Intent.UNCLEAR),  # asks, does not answer
        ("I don't agree with item 2", Intent.OBJECT),
        ("收到", Intent.UNCLEAR),  # an acknowledgement is never consent
        ("好", Intent.CONFIRM),  # the answer to 同意请回复确认
        ("您好", Intent.UNCLEAR),
        ("", Intent.UNCLEAR),
        ("ok", Intent.CONFIRM),
        ("book a room", Intent.UNCLEAR),  # "ok" only as a word
        ("无法同意", Intent.OBJECT),
        ("确认不了", Intent.OBJECT),
        ("不太同意第2项", Intent.OBJECT),
        ("还不能确认", Intent.UNCLEAR),  # holds back, refuses nothing yet
        ("收到,我晚点看一下再回复", Intent.UNCLEAR),
        ("没意见", Intent.CONFIRM),
        ("无意见", Intent.CONFIRM),
        ("同意,无修改", Intent.CONFIRM),
        ("Agreed.", Intent.CONFIRM),
        ("👍", Intent.CONFIRM),
        ("👎", Intent.OBJECT),
        ("Thanks", Intent.UNCLEAR),
        ("不是不同意", Intent.UNCLEAR),  # a double negation states no dissent, and no consent either
        ("如果第2项有问题我再说", Intent.UNCLEAR),
    ],
)
def test_intent(text: str, intent: Intent) -> None:
    assert read_intent(text, words()).intent == intent


def test_working_days_skip_weekends_and_count_make_up_days() -> None:
    calendar = work_calendar(CalendarRules())
    friday = datetime(2024, 9, 27, 10, 0, tzinfo=SHANGHAI)
    assert calendar.add_working_days(friday, 2) == datetime(2024, 9, 30, 10, 0, tzinfo=SHANGHAI)
    assert calendar.is_working_day(date(2024, 9, 29))  # Sunday, worked (调休)
    assert not calendar.is_working_day(date(2024, 10, 1))
    assert calendar.add_working_days(datetime(2024, 5, 20, 16, 2, tzinfo=SHANGHAI), 2).day == 22


def test_rule_overrides_win_over_the_package() -> None:
    base = work_calendar(CalendarRules())
    custom = work_calendar(CalendarRules(holidays=(date(2024, 5, 21),), workdays=(date(2024, 5, 25),)))
    assert base.is_working_day(date(2024, 5, 21)) and not custom.is_working_day(date(2024, 5, 21))
    assert custom.is_working_day(date(2024, 5, 25))
    monday = datetime(2024, 5, 20, 9, 0, tzinfo=SHANGHAI)
    assert custom.add_working_days(monday, 2).date() == date(2024, 5, 23)


def test_without_the_package_only_weekends_count() -> None:
    calendar = WorkCalendar().with_overrides([], [])
    assert calendar.add_working_days(datetime(2024, 9, 27, 10, 0), 2).date() == date(2024, 10, 1)


def test_diff_names_changed_fields_and_items() -> None:
    old = {"meeting": {"name": "A", "date": "2024-05-20"}, "attendees": [{"name": "王磊"}],
           "decisions": ["x"], "items": [{"no": 1, "title": "t", "owner": {"name": "赵敏"}, "due": "2024-05-27"}]}  # fmt: skip
    new = {"meeting": {"name": "A", "date": "2024-05-20"}, "attendees": [{"name": "王磊"}, {"name": "陈静"}],
           "decisions": ["x"], "items": [{"no": 1, "title": "t", "owner": {"name": "赵敏"}, "due": "2024-05-29"},
                                         {"no": 2, "title": "u", "owner": {"name": "陈静"}, "due": "2024-06-01"}]}  # fmt: skip
    changes = {(c.en, c.before, c.after) for c in diff_minutes(old, new)}
    assert ("Action item 1 due", "2024-05-27", "2024-05-29") in changes
    assert ("Attendees", "王磊", "王磊、陈静") in changes
    assert any(en == "Action item 2" and "u" in after for en, _, after in changes)
    assert diff_minutes(old, old) == []


def test_the_state_table_refuses_what_it_does_not_hold_and_audits_what_it_does() -> None:
    now = datetime(2024, 5, 20, tzinfo=SHANGHAI)
    record: dict = {"record": "2024-OPS-001", "state": None, "version": 1}
    transition(record, Event.DISTRIBUTED, now, "qian.fang@example.test")
    assert record["state"] == State.AWAITING
    transition(record, Event.OBJECTED, now, "zhao.min@example.test")
    assert record["state"] == State.REVISING
    with pytest.raises(TransitionRefused):
        transition(record, Event.ALL_CONFIRMED, now, "x")
    assert [h["to"] for h in record["history"]] == ["awaiting_confirmation", "revising"]
    assert all(state is None or state in {s.value for s in State} for state, _ in TRANSITIONS)


def _pipeline_with(tmp_path, **confirmation):  # type: ignore[no-untyped-def]
    return pipeline_with_rules(tmp_path, confirmation=confirmation)


def pipeline_with_rules(tmp_path, **sections):  # type: ignore[no-untyped-def]
    """A pipeline on the sample directory at 2024-05-20 16:02 Shanghai, the rules' sections overridden."""
    from service.core.clock import Clock
    from service.core.config import settings_from_env
    from service.core.store import Store
    from service.pipeline import Pipeline
    from tests.conftest import SAMPLES, write_rules

    rules_path = write_rules(tmp_path / "rules.yaml", **sections)
    settings = settings_from_env(
        {"MINUTESD_DATA_DIR": str(tmp_path / "data"), "MINUTESD_ADDRESS": "minutes@example.test",
         "MINUTESD_RULES": str(rules_path), "MINUTESD_DIRECTORY": str(SAMPLES / "people.yaml"),
         "MINUTESD_NOW": "2024-05-20T16:02:00+08:00"}
    )  # fmt: skip
    return Pipeline(settings, load_rules(rules_path), Store(settings.data_dir), Clock(settings.now))


def _draft_from(recorder: str, sample: str) -> bytes:
    from email.message import EmailMessage

    from tests.conftest import SAMPLES

    msg = EmailMessage()
    msg["From"] = f"{recorder}@example.test"
    msg["To"] = "minutes@example.test"
    msg["Subject"] = "纪要"
    msg["Message-ID"] = f"<{sample}@example.test>"
    msg.set_content((SAMPLES / sample).read_text(encoding="utf-8"))
    return bytes(msg)


@pytest.mark.parametrize(
    ("confirmation", "state", "mail"),
    [
        ({}, "confirmed", "2024-OPS-001:v1:confirmed"),
        ({"head_signoff": True}, "awaiting_confirmation", "2024-OPS-001:v1:host-told"),
        ({"on_close": "remind_and_tell_host"}, "awaiting_confirmation", "2024-OPS-001:v1:host-told"),
    ],
)
def test_closing_the_window_follows_the_rules(tmp_path, confirmation, state, mail) -> None:  # type: ignore[no-untyped-def]
    from service import scheduler
    from service.minutes.records import RECORDS

    pipeline = _pipeline_with(tmp_path, **confirmation)
    assert pipeline.process(_draft_from("qian.fang", "draft-zh-plain.txt"), "t:1").outcome == "applied"
    record = pipeline.store.get(RECORDS, "2024-OPS-001")
    assert "wang.lei@example.test" in record["department_heads"]
    after = datetime(2024, 5, 22, 16, 2, tzinfo=SHANGHAI)
    scheduler.tick(pipeline.store, pipeline.outbox, pipeline.rules, after)
    assert pipeline.store.get(RECORDS, "2024-OPS-001")["state"] == state
    assert pipeline.store.get("outbox", mail) is not None
    queued = scheduler.tick(pipeline.store, pipeline.outbox, pipeline.rules, after)
    assert queued == 0, "a second tick queues nothing twice"
