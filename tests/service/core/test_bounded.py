"""The worker that reads strangers' bytes: its budget is the kernel's, not a promise."""

from __future__ import annotations

import time

import pytest

from service.core.bounded import Budget, TooCostly, TooSlow, deadline, run_bounded


def _spin() -> None:
    while True:
        pass


def test_the_result_and_the_exception_of_the_work_come_back() -> None:
    assert run_bounded(lambda: {"text": "确认" * 100_000}, Budget())["text"][:2] == "确认"
    with pytest.raises(ValueError, match="bad input"):
        run_bounded(lambda: (_ for _ in ()).throw(ValueError("bad input")), Budget())


def test_work_past_the_wall_clock_is_stopped_at_the_deadline() -> None:
    started = time.monotonic()
    with pytest.raises(TooCostly) as raised:
        run_bounded(lambda: time.sleep(30), Budget(seconds=0.5))
    assert raised.value.what == "time"
    assert time.monotonic() - started < 5


def test_work_past_its_cpu_seconds_is_ended_by_the_kernel() -> None:
    with pytest.raises(TooCostly) as raised:
        run_bounded(_spin, Budget(seconds=30, cpu_seconds=1))
    assert raised.value.what == "time" and "CPU" in str(raised.value)


def test_work_past_its_memory_is_refused_and_the_parent_is_untouched() -> None:
    def hog() -> int:
        return len(bytearray(400 * 1024 * 1024))

    with pytest.raises(TooCostly) as raised:
        run_bounded(hog, Budget(memory_megabytes=64))
    assert raised.value.what == "memory"
    assert run_bounded(lambda: len(bytearray(16 * 1024 * 1024)), Budget(memory_megabytes=64)) > 0


def test_a_deadline_interrupts_the_block_and_is_cleared_after_it() -> None:
    with pytest.raises(TooSlow), deadline(0.2):
        time.sleep(5)
    with deadline(0.2):
        pass
    time.sleep(0.4)  # a timer left armed would raise here
