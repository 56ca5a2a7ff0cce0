"""One daemon per data directory: the kernel's lock on the directory itself."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from service.core.errors import StoreLocked


def lock_directory(data_dir: Path, lockfile: str) -> int:
    """The locked descriptor; StoreLocked naming the holder when another process has it.

    The lock is on the directory, not on a file in it: a deleted lock file changes nothing."""
    fd = os.open(data_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        try:
            holder = (data_dir / lockfile).read_text().strip() or "unknown"
        except OSError:
            holder = "unknown"
        raise StoreLocked(
            f"another minutesd (pid {holder}) is using {data_dir}; "
            "stop it first, or give this one its own MINUTESD_DATA_DIR"
        ) from None
    with contextlib.suppress(OSError):  # who holds it, for the message above; not the lock
        (data_dir / lockfile).write_text(str(os.getpid()))
    return fd
