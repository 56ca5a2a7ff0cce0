"""Where inbound mail comes from: an IMAP folder, or the embedded Maildir.

A message is identified by a source reference, `imap:<UIDVALIDITY>:<UID>` or
`maildir:<filename>`, and it leaves the inbox (to Processed or Needs-Attention)
only after its outcome is stored. The Seen flag is never read or set: people
open the shared mailbox too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from service.core.config import MailboxRules, ServerSettings

log = logging.getLogger(__name__)

ShouldStop = Callable[[], bool]


@dataclass(frozen=True)
class Fetched:
    ref: str
    raw: bytes


class MailboxUnavailable(Exception):
    """The mailbox cannot be reached now; the daemon reconnects with backoff."""


class Mailbox(Protocol):
    def fetch_new(self, limit: int) -> list[Fetched]: ...

    def finish(self, refs: list[str], folder: str) -> None: ...

    def wait(self, seconds: float, should_stop: ShouldStop) -> None: ...

    def check(self) -> str: ...

    def close(self) -> None: ...

    def holds(self, message_ids: list[str]) -> set[str]:
        """Which of these Message-IDs are anywhere in the mailbox: inbox, processed, attention."""
        ...


class MaildirMailbox:
    """DATA_DIR/maildir/inbox; finished messages move to its .Processed or .Needs-Attention."""

    def __init__(self, root: Path, rules: MailboxRules, poll_seconds: float = 1.0) -> None:
        self.root = root
        self.rules = rules
        self.poll_seconds = poll_seconds
        for sub in ("tmp", "new", "cur"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def _folder(self, name: str) -> Path:
        folder = self.root / f".{name}"
        for sub in ("tmp", "new", "cur"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return folder

    def _pending(self) -> list[Path]:
        found = [p for sub in ("new", "cur") for p in (self.root / sub).iterdir() if p.is_file()]
        return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))

    def fetch_new(self, limit: int) -> list[Fetched]:
        fetched: list[Fetched] = []
        for path in self._pending()[:limit]:
            try:
                fetched.append(Fetched(f"maildir:{path.name}", path.read_bytes()))
            except FileNotFoundError:
                continue  # moved away by someone else meanwhile
        return fetched

    def finish(self, refs: list[str], folder: str) -> None:
        target = self._folder(folder) / "cur"
        for ref in refs:
            name = ref.removeprefix("maildir:")
            for sub in ("new", "cur"):
                source = self.root / sub / name
                if source.exists():
                    os.replace(source, target / name)
                    break

    def wait(self, seconds: float, should_stop: ShouldStop) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not should_stop():
            if self._pending():
                return
            time.sleep(min(self.poll_seconds, max(0.0, deadline - time.monotonic())))

    def check(self) -> str:
        return f"embedded mailbox: drop messages into {self.root}/new"

    def holds(self, message_ids: list[str]) -> set[str]:
        wanted = {f"<{m}>".lower(): m for m in message_ids}
        found: set[str] = set()
        folders = [
            self.root,
            self._folder(self.rules.processed_folder),
            self._folder(self.rules.attention_folder),
        ]
        for folder in folders:
            for path in [p for sub in ("new", "cur") for p in (folder / sub).iterdir() if p.is_file()]:
                head = path.read_bytes()[:16384].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
                for line in head.decode("ascii", errors="replace").splitlines():
                    if (
                        line.lower().startswith("message-id:")
                        and line.split(":", 1)[1].strip().lower() in wanted
                    ):
                        found.add(wanted[line.split(":", 1)[1].strip().lower()])
        return found

    def close(self) -> None:
        return None


def _announces_new_mail(responses: list[Any]) -> bool:
    return any(isinstance(r, tuple) and len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)


def _hang_up(client: IMAPClient) -> None:
    """LOGOUT, or just close the socket when the session is already gone."""
    try:
        client.logout()
    except (IMAPClientError, OSError):
        with contextlib.suppress(IMAPClientError, OSError):
            client.shutdown()


def _closed_by_peer(client: IMAPClient) -> bool:
    # Peek on a duplicate of the TCP descriptor: TLS sockets refuse MSG_PEEK themselves.
    try:
        raw = socket.socket(fileno=os.dup(client.socket().fileno()))
    except OSError:
        return True
    try:
        return raw.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True
    finally:
        raw.close()


class ImapMailbox:
    def __init__(self, server: ServerSettings, rules: MailboxRules, timeout: float = 60.0) -> None:
        self.server = server
        self.rules = rules
        self.timeout = timeout
        self._client: IMAPClient | None = None
        self._watcher: IMAPClient | None = None  # a second session, for the look once IDLE runs
        self.uidvalidity = 0
        self.has_idle = False
        self.has_move = False

    # -- connection ----------------------------------------------------------

    def _logged_in(self) -> IMAPClient:
        server = self.server
        context = ssl.create_default_context() if server.tls != "none" else None
        client = IMAPClient(
            server.host,
            port=server.port,
            ssl=server.tls == "ssl",
            ssl_context=context,
            timeout=self.timeout,
        )
        try:
            if server.tls == "starttls":
                client.starttls(context)
            client.login(server.user or "", server.password or "")
        except BaseException:
            with contextlib.suppress(IMAPClientError, OSError):
                client.shutdown()
            raise
        return client

    def connect(self) -> IMAPClient:
        if self._client is not None:
            return self._client
        server = self.server
        try:
            client = self._logged_in()
            capabilities = client.capabilities()
            self.has_idle = b"IDLE" in capabilities
            self.has_move = b"MOVE" in capabilities
            for folder in self._own_folders():
                if not client.folder_exists(folder):
                    client.create_folder(folder)
            selected = client.select_folder(self.rules.inbox)
        except (IMAPClientError, OSError) as exc:
            self.close()
            raise MailboxUnavailable(f"IMAP {server.host}:{server.port}: {exc}") from exc
        uidvalidity = int(selected.get(b"UIDVALIDITY", 0))
        if self.uidvalidity and uidvalidity != self.uidvalidity:
            log.warning(
                "UIDVALIDITY changed (%s -> %s): re-scanning by Message-ID",
                self.uidvalidity,
                uidvalidity,
            )
        self.uidvalidity = uidvalidity
        self._client = client
        return client

    def _own_folders(self) -> list[str]:
        """The folders the service files into, and the one the server files our copies into."""
        rules = self.rules
        return [
            rules.processed_folder,
            rules.attention_folder,
            *([rules.copies_folder] if rules.copies_folder else []),
        ]

    def close(self) -> None:
        client, self._client = self._client, None
        watcher, self._watcher = self._watcher, None
        for connection in (client, watcher):
            if connection is not None:
                _hang_up(connection)

    def _guard(self, action: Callable[[IMAPClient], object]) -> object:
        client = self.connect()
        try:
            return action(client)
        except (IMAPClientError, OSError) as exc:
            self.close()
            raise MailboxUnavailable(f"IMAP: {exc}") from exc

    # -- work ----------------------------------------------------------------

    def fetch_new(self, limit: int) -> list[Fetched]:
        def fetch(client: IMAPClient) -> list[Fetched]:
            uids = sorted(client.search(["UNDELETED"]))[:limit]
            if not uids:
                return []
            data = client.fetch(uids, [b"BODY.PEEK[]"])
            return [
                Fetched(f"imap:{self.uidvalidity}:{uid}", data[uid][b"BODY[]"])
                for uid in uids
                if uid in data and b"BODY[]" in data[uid]
            ]

        return self._guard(fetch)  # type: ignore[return-value]

    def finish(self, refs: list[str], folder: str) -> None:
        uids = [int(r.rsplit(":", 1)[1]) for r in refs if r.startswith(f"imap:{self.uidvalidity}:")]
        if not uids:
            return

        def move(client: IMAPClient) -> None:
            if self.has_move:
                client.move(uids, folder)
            else:
                client.copy(uids, folder)
                client.delete_messages(uids)
                client.uid_expunge(uids) if b"UIDPLUS" in client.capabilities() else client.expunge()

        self._guard(move)

    def wait(self, seconds: float, should_stop: ShouldStop) -> None:
        """IDLE until something arrives (renewed before the 29-minute limit), or poll."""
        client = self.connect()
        if not self.has_idle:
            deadline = time.monotonic() + min(seconds, self.rules.poll_seconds)
            while time.monotonic() < deadline and not should_stop():
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            return
        limit = min(seconds, self.rules.idle_renew_minutes * 60)
        deadline = time.monotonic() + limit
        try:
            client.idle()
            try:
                # IDLE announces only what arrives once it runs: Dovecot leaves mail delivered
                # after our last look and before IDLE unannounced until its periodic check (30 s).
                # The inbox seen from a second session, now that IDLE runs, closes that gap.
                if self._inbox_holds_mail():
                    return
                while time.monotonic() < deadline and not should_stop():
                    responses = client.idle_check(timeout=min(1.0, max(0.05, deadline - time.monotonic())))
                    if _announces_new_mail(responses):
                        return
                    if not responses and _closed_by_peer(client):
                        # idle_check swallows EOF and answers []: without this check a server
                        # restart would leave the daemon deaf until the next IDLE renewal.
                        raise MailboxUnavailable("IMAP server closed the connection during IDLE")
            finally:
                client.idle_done()
        except (IMAPClientError, OSError, MailboxUnavailable) as exc:
            self.close()
            raise MailboxUnavailable(f"IMAP IDLE: {exc}") from exc

    def _inbox_holds_mail(self) -> bool:
        """A fresh read-only look at the inbox. A watcher the server dropped while unused (Dovecot
        logs out a quiet session after 30 minutes) is replaced once before it counts as a failure."""
        for attempt in (1, 2):
            try:
                if self._watcher is None:
                    self._watcher = self._logged_in()
                self._watcher.select_folder(self.rules.inbox, readonly=True)
                return bool(self._watcher.search(["UNDELETED"]))
            except (IMAPClientError, OSError):
                watcher, self._watcher = self._watcher, None
                if watcher is not None:  # no LOGOUT: on a silently dead link it waits the timeout again
                    with contextlib.suppress(IMAPClientError, OSError):
                        watcher.shutdown()
                if attempt == 2:
                    raise
        return False

    def holds(self, message_ids: list[str]) -> set[str]:
        """A search by Message-ID in every folder the service uses, then back to the inbox."""

        def search(client: IMAPClient) -> set[str]:
            found: set[str] = set()
            folders = [self.rules.inbox, *self._own_folders()]
            try:
                for folder in folders:
                    if not client.folder_exists(folder):
                        continue
                    client.select_folder(folder, readonly=True)
                    for message_id in message_ids:
                        if message_id not in found and client.search(["HEADER", "Message-ID", message_id]):
                            found.add(message_id)
            finally:
                client.select_folder(self.rules.inbox)
            return found

        return self._guard(search)  # type: ignore[return-value]

    def check(self) -> str:
        self.connect()
        idle = "IDLE" if self.has_idle else "polling"
        return (
            f"IMAP {self.server.host}:{self.server.port} ({self.server.tls}) login as "
            f"{self.server.user} works; {self.rules.inbox} selected, UIDVALIDITY {self.uidvalidity}, {idle}"
        )
