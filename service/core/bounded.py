"""Reading a stranger's bytes in a forked child with a CPU, memory and wall-clock budget.

A crafted .docx or MIME tree can cost minutes and gigabytes to read. In a child process the
kernel enforces the budget (RLIMIT_CPU, RLIMIT_AS) and the parent stops waiting at the wall
deadline, so one message can never stall or exhaust the daemon: it gets `TooCostly` and an
answer, and the mail behind it is read next. Only the result crosses back, pickled.
"""

from __future__ import annotations

import os
import pickle
import resource
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from types import FrameType
from typing import TypeVar

T = TypeVar("T")

_MB = 1024 * 1024


@dataclass(frozen=True)
class Budget:
    seconds: float = 10.0  # wall clock, from fork to result
    cpu_seconds: int = 8
    memory_megabytes: int = 512  # address space the child may add to what it inherits


class TooCostly(Exception):
    """The work went past its budget; `what` is "time" or "memory", for the answer."""

    def __init__(self, what: str, detail: str) -> None:
        super().__init__(detail)
        self.what = what


class _Failed:
    """An exception of the child that cannot be pickled, carried as its words."""

    def __init__(self, text: str) -> None:
        self.text = text


def run_bounded(work: Callable[[], T], budget: Budget) -> T:
    """`work()` in a child within `budget`; its result, or its exception raised here."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its effects are asserted through the parent
        os.close(read_end)
        _child(work, write_end, budget)
    os.close(write_end)
    try:
        payload = _collect(read_end, time.monotonic() + budget.seconds)
    finally:
        os.close(read_end)
    if payload is None:
        _end(pid, kill=True)
        raise TooCostly("time", f"reading took longer than {budget.seconds:g} s")
    status = _end(pid, kill=False)
    if not payload:
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL):
            raise TooCostly("time", f"reading used more than {budget.cpu_seconds} s of CPU")
        raise TooCostly("memory", f"the reader stopped (status {status}) past its memory budget")
    kind, value = pickle.loads(payload)
    if kind == "ok":
        return value
    if isinstance(value, MemoryError):
        raise TooCostly("memory", f"reading needed more than {budget.memory_megabytes} MB")
    if isinstance(value, _Failed):
        raise RuntimeError(value.text)
    raise value


def _child(work: Callable[[], object], write_end: int, budget: Budget) -> None:  # pragma: no cover
    code = 0
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (budget.cpu_seconds, budget.cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_AS, (_address_space() + budget.memory_megabytes * _MB,) * 2)
        try:
            result: tuple[str, object] = ("ok", work())
        except BaseException as exc:
            result = ("error", exc)
        try:
            data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            data = pickle.dumps(("error", _Failed(repr(result[1]))))
        view = memoryview(data)
        while view:
            view = view[os.write(write_end, view) :]
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _address_space() -> int:
    """The child's current virtual size: the limit is counted on top of what fork handed it."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def _collect(fd: int, deadline: float) -> bytes | None:
    """Everything the child writes, or None at the deadline. Read as it comes, so a large
    result never blocks the child on a full pipe."""
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _end(pid: int, kill: bool) -> int:
    if kill:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


class TooSlow(BaseException):
    """All the work on one message went past its time. A BaseException, so no handler on the way
    mistakes it for the failure of one step and goes on."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise TooSlow in this block after `seconds`. Only the main thread can take signals, so
    elsewhere (a test's thread) the block runs unbounded."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TooSlow(f"the message took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
