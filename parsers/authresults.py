"""What the receiving server's Authentication-Results (RFC 8601) say about the From address.

Only headers whose authserv-id is the one the rules trust count: anyone can write such a
header into a mail, but only the receiving server's own is added after the message left the
sender. DMARC decides when present; without it a failed SPF that no passing DKIM saves fails.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NONE = "none"  # no trusted header, or nothing in it decides


_RESULT = re.compile(r"\b(dmarc|spf|dkim)\s*=\s*([a-z]+)", re.I)


def verdict(headers: tuple[str, ...], trusted_authserv_id: str) -> Verdict:
    if not trusted_authserv_id:
        return Verdict.NONE
    results: dict[str, set[str]] = {}
    for header in headers:
        authserv, _, rest = header.partition(";")
        if authserv.strip().split()[:1] != [trusted_authserv_id.strip()]:
            continue
        for method, result in _RESULT.findall(rest):
            results.setdefault(method.lower(), set()).add(result.lower())
    dmarc, spf, dkim = results.get("dmarc", set()), results.get("spf", set()), results.get("dkim", set())
    if "fail" in dmarc:
        return Verdict.FAIL
    if "pass" in dmarc:
        return Verdict.PASS
    if ("fail" in spf or "softfail" in spf) and "pass" not in dkim:
        return Verdict.FAIL
    if "pass" in dkim or "pass" in spf:
        return Verdict.PASS
    return Verdict.NONE
