"""Day packs and the raw archive in them: the bytes come back as they went in."""

from __future__ import annotations

import hashlib
import mailbox
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.core.packs import DayPacks, file_of, read_stored
from service.mail.rawmail import RawArchive, messages_in, read_raw, stored_files

AWKWARD = [
    b"From someone@example.com Mon Dec  7 10:00:00 2026\r\nSubject: x\r\n\r\nbody\r\n",
    b"Subject: quoted\r\n\r\nFrom the meeting:\r\n>From before\r\n>>From older\r\n",
    b"Subject: no end of line\r\n\r\nlast line without newline",
    b"Subject: lf only\n\nFrom here\n\n",
    b"",
]


def test_every_message_reads_back_exactly_by_its_name_and_by_a_scan(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    names = [archive.append(raw) for raw in AWKWARD]
    archive.sync()
    assert [read_raw(tmp_path, name) for name in names] == AWKWARD
    assert len({file_of(name) for name in names}) == 1, "one pack a day"
    [pack] = stored_files(tmp_path)
    scanned = list(messages_in(pack))
    assert len(scanned) == len(AWKWARD)
    # A scan cannot tell a message that did not end its last line: it gains one newline.
    assert scanned == [raw if raw.endswith(b"\n") else raw + b"\n" for raw in AWKWARD]


def test_a_mail_program_reads_the_pack_as_an_mbox(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    for raw in AWKWARD[1:3]:
        archive.append(raw)
    archive.close()
    box = mailbox.mbox(stored_files(tmp_path)[0])
    assert [m["Subject"] for m in box] == ["quoted", "no end of line"]
    assert b"From the meeting:" in box[0].as_bytes(), "its >From lines unquoted by the reader"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=200) | st.text(max_size=80).map(str.encode), min_size=1, max_size=8))
def test_any_bytes_round_trip(tmp_path_factory: pytest.TempPathFactory, raws: list[bytes]) -> None:
    data = tmp_path_factory.mktemp("packs")
    archive = RawArchive(data)
    names = [archive.append(b"From x\n" + raw + b"\nFrom y") for raw in raws]
    assert [read_raw(data, n) for n in names] == [b"From x\n" + raw + b"\nFrom y" for raw in raws]


def test_a_crash_in_the_middle_of_a_write_leaves_the_others_whole(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    first = archive.append(AWKWARD[1])
    archive.close()
    pack = tmp_path / file_of(first)
    with open(pack, "ab") as fh:
        fh.write(b"From MAILER-DAEMON x\nSubject: cut off in the mid")  # what a crash leaves
    second = RawArchive(tmp_path).append(AWKWARD[0])
    assert read_raw(tmp_path, first) == AWKWARD[1]
    assert read_raw(tmp_path, second) == AWKWARD[0]
    scanned = list(messages_in(pack))
    assert scanned[0] == AWKWARD[1] and scanned[-1] == AWKWARD[0]


def test_two_writers_in_one_process_never_name_each_others_bytes(tmp_path: Path) -> None:
    one, two = DayPacks(tmp_path, "mail", "pack"), DayPacks(tmp_path, "mail", "pack")
    a = one.append(b"aaaa")
    b = two.append(b"bb")
    c = one.append(b"c")
    assert [read_stored(tmp_path, n) for n in (a, b, c)] == [b"aaaa", b"bb", b"c"]


def test_a_failed_write_is_cut_back(tmp_path: Path) -> None:
    packs = DayPacks(tmp_path, "mail", "pack")
    kept = packs.append(b"kept")

    class DiskFull:
        def __init__(self, fh: Any) -> None:
            self.fh = fh

        def write(self, data: bytes) -> int:
            self.fh.write(data[: len(data) // 2])
            self.fh.flush()
            raise OSError(28, "No space left on device")

        def __getattr__(self, name: str) -> Any:
            return getattr(self.fh, name)

    packs._pack = DiskFull(packs._pack)  # type: ignore[assignment]
    with pytest.raises(OSError, match="No space"):
        packs.append(b"lost half way")
    assert (tmp_path / file_of(kept)).read_bytes() == b"kept"
    assert read_stored(tmp_path, packs.append(b"next")) == b"next"


def test_names_of_older_versions_are_whole_files(tmp_path: Path) -> None:
    digest = hashlib.sha256(AWKWARD[0]).hexdigest()
    old = tmp_path / "raw" / digest[:2] / f"{digest}.eml"
    old.parent.mkdir(parents=True)
    old.write_bytes(AWKWARD[0])
    name = str(old.relative_to(tmp_path))
    assert read_raw(tmp_path, name) == AWKWARD[0]
    assert stored_files(tmp_path) == [old] and list(messages_in(old)) == [AWKWARD[0]]
