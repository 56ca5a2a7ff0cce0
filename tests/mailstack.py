"""A real mail stack for the tests: Dovecot (IMAP + LMTP) and Postfix (SMTP) on loopback.

Both run as private instances from files in a temporary directory; the system's
configuration is neither read nor touched. Postfix delivers every domain to
Dovecot over LMTP and sends nothing off the machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from imapclient import IMAPClient

PACKAGES = ("postfix", "dovecot-imapd", "dovecot-lmtpd")
DOMAIN = "example.test"
PASSWORD = "secret"


def ensure_packages() -> None:
    """Install Debian's postfix and dovecot when missing (the suite runs as root in CI)."""
    if shutil.which("dovecot") and shutil.which("postfix") and Path("/usr/lib/dovecot/lmtp").exists():
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(
        ["debconf-set-selections"],
        input=b"postfix postfix/main_mailer_type select No configuration\n",
        check=True,
        env=env,
    )
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", *PACKAGES],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def port_closed(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                time.sleep(0.05)
        except OSError:
            return
    raise TimeoutError(f"127.0.0.1:{port} still open after {timeout} s")


DOVECOT_CONF = """\
base_dir = {root}/dovecot/run
state_dir = {root}/dovecot/state
log_path = {root}/dovecot/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%d/%n
mail_uid = {uid}
mail_gid = {gid}
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/dovecot/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/dovecot/passwd
  default_fields = uid={uid} gid={gid} home={root}/mail/%d/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  unix_listener {root}/lmtp {{
    mode = 0666
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
recipient_delimiter = +
protocol lmtp {{
  postmaster_address = postmaster@{domain}
  lmtp_save_to_detail_mailbox = yes
}}
"""

POSTFIX_MAIN = """\
compatibility_level = 3.6
queue_directory = {root}/postfix/queue
data_directory = {root}/postfix/data
mail_owner = postfix
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mail.{domain}
mydomain = {domain}
myorigin = {domain}
mydestination =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_reject_unlisted_recipient = no
virtual_mailbox_domains = {domain}
virtual_transport = lmtp:unix:{root}/lmtp
local_transport = error:local delivery is disabled in the test stack
default_transport = error:nothing leaves the test stack
relay_transport = error:nothing leaves the test stack
alias_maps =
alias_database =
biff = no
smtputf8_enable = yes
recipient_delimiter = +
maillog_file = {root}/postfix/maillog
maillog_file_prefixes = {root}
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
delay_warning_time = 0
"""

POSTFIX_MASTER = """\
127.0.0.1:{smtp_port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


@dataclass
class MailStack:
    users: list[str]
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="minutesd-mail-")))
    imap_port: int = field(default_factory=free_port)
    smtp_port: int = field(default_factory=free_port)
    domain: str = DOMAIN
    password: str = PASSWORD
    idle: bool = True  # False: a server that does not offer IDLE, to test polling
    tls: bool = False  # True: a self-signed certificate, STARTTLS and implicit TLS on both servers
    imaps_port: int = field(default_factory=free_port)
    smtps_port: int = field(default_factory=free_port)
    refused: tuple[str, ...] = ()  # addresses Postfix refuses at RCPT, as a server would an unknown one
    pipelining: bool = True  # False: a server that does not offer PIPELINING (RFC 2920)

    @property
    def certificate(self) -> Path:
        return self.root / "tls" / "cert.pem"

    def _make_certificate(self) -> None:
        (self.root / "tls").mkdir(exist_ok=True)
        self._quiet(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout",
                str(self.root / "tls" / "key.pem"),
                "-out",
                str(self.certificate),
            ]
        )

    def address(self, user: str) -> str:
        return user if "@" in user else f"{user}@{self.domain}"

    def write_config(self) -> None:
        uid, gid = os.getuid(), os.getgid()
        if uid == 0:  # Dovecot refuses to store mail as root
            import pwd

            nobody = pwd.getpwnam("nobody")
            uid, gid = nobody.pw_uid, nobody.pw_gid
        for sub in (
            "dovecot/run",
            "dovecot/state",
            "mail",
            "postfix/conf",
            "postfix/queue",
            "postfix/data",
        ):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        os.chown(self.root / "mail", uid, gid)
        values = dict(
            root=self.root,
            uid=uid,
            gid=gid,
            imap_port=self.imap_port,
            smtp_port=self.smtp_port,
            domain=self.domain,
        )
        dovecot_conf = DOVECOT_CONF.format(**values)
        postfix_main = POSTFIX_MAIN.format(**values)
        postfix_master = POSTFIX_MASTER.format(**values)
        if self.tls:
            self._make_certificate()
            key = self.root / "tls" / "key.pem"
            dovecot_conf = dovecot_conf.replace(
                "ssl = no\n", f"ssl = yes\nssl_cert = <{self.certificate}\nssl_key = <{key}\n"
            )
            dovecot_conf = dovecot_conf.replace(
                "  inet_listener imaps {\n    port = 0\n  }",
                f"  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {self.imaps_port}\n    ssl = yes\n  }}",
            )
            postfix_main += f"smtpd_tls_cert_file = {self.certificate}\nsmtpd_tls_key_file = {key}\nsmtpd_tls_security_level = may\n"
            postfix_master += (
                f"127.0.0.1:{self.smtps_port} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes"
                " -o smtpd_tls_security_level=encrypt\n"
            )
        if not self.pipelining:
            postfix_main += "smtpd_discard_ehlo_keywords = pipelining\n"
        if self.refused:
            refusals = ", ".join(f"{address}=REJECT" for address in self.refused)
            postfix_main = postfix_main.replace(
                "smtpd_recipient_restrictions = ",
                f"smtpd_recipient_restrictions = check_recipient_access inline:{{ {refusals} }}, ",
            )
        if not self.idle:
            dovecot_conf += (
                "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ UIDPLUS MOVE\n"
            )
        (self.root / "dovecot/dovecot.conf").write_text(dovecot_conf)
        passwd = "".join(f"{self.address(u)}:{{PLAIN}}{self.password}::::::\n" for u in self.users)
        (self.root / "dovecot/passwd").write_text(passwd)
        conf = self.root / "postfix/conf"
        (conf / "main.cf").write_text(postfix_main)
        (conf / "master.cf").write_text(postfix_master)
        shutil.chown(self.root / "postfix/data", "postfix")
        # Postfix wants its queue owned by root and the rest created by postfix-set-permissions.

    def start(self) -> MailStack:
        ensure_packages()
        self.write_config()
        self.start_dovecot()
        self.start_postfix()
        return self

    def start_dovecot(self) -> None:
        self._quiet(["dovecot", "-c", str(self.root / "dovecot/dovecot.conf")])
        wait_for_port(self.imap_port)
        if self.tls:
            wait_for_port(self.imaps_port)

    def stop_dovecot(self) -> None:
        """Stop Dovecot the way a server restart does: its client connections end too."""
        children = self._dovecot_processes()
        self._quiet(["dovecot", "-c", str(self.root / "dovecot/dovecot.conf"), "stop"], check=False)
        port_closed(self.imap_port)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _dovecot_processes(self) -> list[int]:
        pid_file = self.root / "dovecot/run/master.pid"
        if not pid_file.exists():
            return []
        master = pid_file.read_text().strip()
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == master:  # ppid
                found.append(int(stat.parent.name))
        return found

    def start_postfix(self) -> None:
        conf = str(self.root / "postfix/conf")
        self._quiet(["postfix", "-c", conf, "start"])
        wait_for_port(self.smtp_port)
        if self.tls:
            wait_for_port(self.smtps_port)

    def stop_postfix(self) -> None:
        self._quiet(["postfix", "-c", str(self.root / "postfix/conf"), "stop"], check=False)
        port_closed(self.smtp_port)

    def flush_postfix(self) -> None:
        self._quiet(["postqueue", "-c", str(self.root / "postfix/conf"), "-f"], check=False)

    def wait_until_delivered(self, timeout: float = 600.0) -> float:
        """Seconds until Postfix's queue is empty: what it still delivers costs the next one timed."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            listing = subprocess.run(
                ["postqueue", "-c", str(self.root / "postfix/conf"), "-j"],
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            if listing.returncode == 0 and not listing.stdout.strip():
                return time.monotonic() - started
            time.sleep(0.5)
        raise TimeoutError(f"Postfix still delivering after {timeout:.0f} s")

    def stop(self) -> None:
        self.stop_postfix()
        self.stop_dovecot()

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def _quiet(self, argv: list[str], check: bool = True) -> None:
        # Daemons must not inherit the test runner's pipes, or those never close.
        log = self.root / "commands.log"
        with open(log, "ab") as out:
            out.write(f"$ {' '.join(argv)}\n".encode())
            out.flush()
            result = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=60,
                check=False,
            )
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed (exit {result.returncode})\n{self.logs()}")

    def logs(self) -> str:
        parts = []
        for path in (
            self.root / "commands.log",
            self.root / "dovecot/dovecot.log",
            self.root / "postfix/maillog",
        ):
            if path.exists():
                parts.append(f"--- {path}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)

    def imap(self, user: str) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.imap_port, ssl=False, timeout=120)
        client.login(self.address(user), self.password)
        return client

    def empty(self, user: str, folders: tuple[str, ...] = ("INBOX", "Processed", "Needs-Attention")) -> None:
        with self.imap(user) as client:
            for folder in folders:
                if client.folder_exists(folder):
                    client.select_folder(folder)
                    uids = client.search("ALL")
                    if uids:
                        client.delete_messages(uids)
                        client.expunge()

    def set_aside(self, user: str) -> None:
        """An empty mailbox for user, its old one moved aside rather than deleted (with
        `cleanup`). On ext4 without a journal, as on the development machine, the kernel does
        not reuse an inode freed in the last one to five minutes and walks past each of them
        at every file it creates: after emptying thousands of mails, every delivery that
        follows costs about 16 times as much (0.4 ms against 25 µs per file, measured here).
        A benchmark that empties mailboxes between timed runs would be timing that."""
        home = self.root / "mail" / self.domain / user
        if home.exists():
            aside = self.root / "aside"
            aside.mkdir(exist_ok=True)
            home.rename(aside / f"{user}-{time.monotonic_ns()}")

    def env(self, service_user: str = "minutes") -> dict[str, str]:
        """The MINUTESD_* variables that point the service at this stack."""
        address = self.address(service_user)
        return {
            "MINUTESD_IMAP_HOST": "127.0.0.1",
            "MINUTESD_IMAP_PORT": str(self.imap_port),
            "MINUTESD_IMAP_USER": address,
            "MINUTESD_IMAP_PASSWORD": self.password,
            "MINUTESD_IMAP_TLS": "none",
            "MINUTESD_SMTP_HOST": "127.0.0.1",
            "MINUTESD_SMTP_PORT": str(self.smtp_port),
            "MINUTESD_SMTP_TLS": "none",
            "MINUTESD_ADDRESS": address,
        }


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--install"]:
        ensure_packages()
        print("postfix and dovecot are installed")
    else:
        print("usage: python -m tests.mailstack --install", file=sys.stderr)
        sys.exit(2)
