"""The journal's own rules: what a send line and a verify line hold, when a verify line
is written, and that an input never sent is never journalled."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import jsonschema
import pytest

from reconciler.errors import UsageError
from reconciler.journal import Journal, JournalContext, Verification, _encode, check_journal
from reconciler.model import Outcome, Status, WriteResult
from reconciler.plan import Change, ChangeKind
from reconciler.resources import load_schema

CHANGE = Change(
    ChangeKind.SUBSCRIBE, 0, "a@example.com", "101", Status.SUBSCRIBED, Status.NOT_SPECIFIED,
    alias="newsletter", legal_basis="CONSENT_WITH_NOTICE", legal_basis_explanation="form",
)  # fmt: skip
CONTEXT = JournalContext("sha256:abc", 12345678, "0123abcd")


def answer(
    outcome: Outcome, *, reason: str | None = None, correlation_id: str | None = None
) -> WriteResult:
    return WriteResult(CHANGE.to_write(), outcome, reason=reason, correlation_id=correlation_id)


def lines(path: Path) -> list[dict[str, object]]:
    validator = jsonschema.Draft202012Validator(load_schema("journal.schema.json"))
    found = [json.loads(line) for line in path.read_text().splitlines()]
    for line in found:
        validator.validate(line)
    return found


@pytest.mark.parametrize(
    ("outcome", "verified", "written"),
    [
        (Outcome.CONFIRMED, "applied", False),
        (Outcome.CONFIRMED, "not_applied", True),
        (Outcome.CONFIRMED, "unknown", True),
        (Outcome.FAILED, "not_applied", False),
        (Outcome.FAILED, "applied", True),
        (Outcome.FAILED, "unknown", True),
        (Outcome.UNCONFIRMED, "applied", True),
        (Outcome.UNCONFIRMED, "not_applied", True),
        (Outcome.UNCONFIRMED, "unknown", True),
    ],
)
def test_verify_line_only_when_the_read_back_adds_something(
    tmp_path: Path, outcome: Outcome, verified: str, written: bool
) -> None:
    """A verify line is written unless the read-back agrees with what HubSpot answered."""
    with Journal(tmp_path / "j.jsonl", CONTEXT) as journal:
        journal.verified([Verification(CHANGE, answer(outcome), verified)])
    assert len(lines(tmp_path / "j.jsonl")) == (1 if written else 0)
    assert journal.lines == (1 if written else 0)


def test_verify_line_fields(tmp_path: Path) -> None:
    """A verify line restates the send's answer and adds the read-back's verdict."""
    sent = answer(Outcome.CONFIRMED, reason="REQUESTED_CHANGE_OCCURRED", correlation_id="c-1")
    with Journal(tmp_path / "j.jsonl", CONTEXT) as journal:
        journal.record([(CHANGE, sent)], "write")
        journal.verified([Verification(CHANGE, sent, "not_applied", observed="NOT_SPECIFIED")])
    send, verify = lines(tmp_path / "j.jsonl")
    assert {k: v for k, v in verify.items() if k != "time"} == {
        "operation": "verify",
        "subscriber": "a@example.com",
        "brand": 0,
        "subscription_id": "101",
        "subscription": "newsletter",
        "before": "NOT_SPECIFIED",
        "after": "SUBSCRIBED",
        "legal_basis": "CONSENT_WITH_NOTICE",
        "legal_basis_explanation": "form",
        "outcome": "confirmed",
        "result": "REQUESTED_CHANGE_OCCURRED",
        "error": None,
        "correlation_id": "c-1",
        "plan_checksum": "sha256:abc",
        "portal_id": 12345678,
        "config_commit": "0123abcd",
        "verified": "not_applied",
        "observed": "NOT_SPECIFIED",
        "verification_error": None,
        "call_id": None,
    }
    assert (send["operation"], send["verified"], send["observed"]) == ("write", None, None)
    assert list(send) == list(verify)


def test_an_input_never_sent_is_refused(tmp_path: Path) -> None:
    """The journal records only what went to HubSpot: a NOT_SENT result is a bug,
    unless it closes the ``sending`` line of its call (a call_id)."""
    with (
        Journal(tmp_path / "j.jsonl", CONTEXT) as journal,
        pytest.raises(ValueError, match="only after its sending line"),
    ):
        journal.record([(CHANGE, answer(Outcome.NOT_SENT))], "write")
    assert (tmp_path / "j.jsonl").read_text() == ""


def _full_disk_after(monkeypatch: pytest.MonkeyPatch, lines: int) -> None:
    """The disk takes ``lines`` whole lines of the journal, then it is full."""
    real = Journal._append
    count = 0

    def append(self: Journal, data: bytes) -> None:
        nonlocal count
        ends = [at + 1 for at, byte in enumerate(data) if byte == ord("\n")]
        room = lines - count
        if room >= len(ends):
            count += len(ends)
            real(self, data)
            return
        real(self, data[: ends[room - 1]] if room else b"")
        count = lines
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Journal, "_append", append)


def test_a_failed_write_keeps_the_lines_it_could_not_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that fails does not raise: the journal records the OS error and keeps
    every line it could not write, and writes nothing after it (verify lines included)."""
    _full_disk_after(monkeypatch, 1)
    sent = answer(Outcome.CONFIRMED, reason="REQUESTED_CHANGE_OCCURRED")
    other = Change(
        ChangeKind.UNSUBSCRIBE, 0, "b@example.com", "102", Status.UNSUBSCRIBED,
        Status.SUBSCRIBED, alias="product",
    )  # fmt: skip
    with Journal(tmp_path / "j.jsonl", CONTEXT) as journal:
        journal.record([(CHANGE, sent), (other, sent)], "write")
        journal.verified([Verification(CHANGE, sent, "not_applied", observed="NOT_SPECIFIED")])
    assert journal.failure == os.strerror(errno.ENOSPC)
    assert journal.lines == 1
    assert [line["subscriber"] for line in lines(tmp_path / "j.jsonl")] == ["a@example.com"]
    kept = [json.loads(line) for line in journal.unwritten]
    assert [(k["operation"], k["subscriber"]) for k in kept] == [
        ("write", "b@example.com"),
        ("verify", "a@example.com"),
    ]
    assert all(line.isascii() for line in journal.unwritten)


def test_lines_not_known_to_be_on_disk_are_kept_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When fsync fails, the lines just written are not known to be on disk: they are
    kept as unwritten (shown twice rather than lost) and not counted."""

    def no_sync(_fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    with Journal(tmp_path / "j.jsonl", CONTEXT) as journal:
        monkeypatch.setattr("reconciler.journal.os.fsync", no_sync)
        journal.record([(CHANGE, answer(Outcome.CONFIRMED))], "write")
    assert (journal.failure, journal.lines, len(journal.unwritten)) == (
        os.strerror(errno.EIO),
        0,
        1,
    )


def test_the_journal_must_be_a_regular_file(tmp_path: Path) -> None:
    """Opening a journal that is not a regular file (a FIFO here) is refused."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so opening to write does not wait
    try:
        with pytest.raises(UsageError, match="is not a regular file"), Journal(fifo, CONTEXT):
            pass
    finally:
        os.close(reader)


def test_check_journal_accepts_a_missing_or_empty_file(tmp_path: Path) -> None:
    """A journal that does not exist yet, or is empty, is fine."""
    check_journal(tmp_path / "new.jsonl")
    (tmp_path / "empty.jsonl").write_bytes(b"")
    check_journal(tmp_path / "empty.jsonl")


def test_unwritten_lines_are_plain_ascii_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A line kept after a failed write is ASCII with every control character escaped
    (DEL included), and still the same JSON object."""
    _full_disk_after(monkeypatch, 0)
    odd = Change(
        ChangeKind.SUBSCRIBE, 0, "a@example.com", "101", Status.SUBSCRIBED,
        Status.NOT_SPECIFIED, alias="newsletter", legal_basis="CONSENT_WITH_NOTICE",
        legal_basis_explanation="form\x7f\x1b[2J\u2028é",
    )  # fmt: skip
    with Journal(tmp_path / "j.jsonl", CONTEXT) as journal:
        journal.record([(odd, answer(Outcome.CONFIRMED))], "write")
    (kept,) = journal.unwritten
    assert kept.isascii()
    assert all(ord(c) >= 0x20 and c != "\x7f" for c in kept)
    assert json.loads(kept)["legal_basis_explanation"] == "form\x7f\x1b[2J\u2028é"


def test_lines_are_written_as_json_dumps_writes_them(tmp_path: Path) -> None:
    """Each line is the text ``json.dumps(line, ensure_ascii=False)`` gives, byte for byte,
    whatever the texts hold (quotes, backslashes, control characters, DEL, non-ASCII)."""
    odd = Change(
        ChangeKind.SUBSCRIBE, 5, "zoë@example.com", "101", Status.SUBSCRIBED,
        Status.NOT_SPECIFIED, alias='news "letter"\\', legal_basis="CONSENT_WITH_NOTICE",
        legal_basis_explanation="form\n\t\x00\x7f\u2028 ✓ 𝄞",
    )  # fmt: skip
    with Journal(tmp_path / "j.jsonl", CONTEXT) as journal:
        journal.sending([odd, CHANGE], "write", "c1")
        journal.record(
            [
                (odd, answer(Outcome.FAILED, correlation_id='x"y')),
                (CHANGE, answer(Outcome.CONFIRMED)),
            ],
            "write",
            "c1",
        )
    written = (tmp_path / "j.jsonl").read_text(encoding="utf-8").split("\n")[:-1]
    assert [json.dumps(json.loads(line), ensure_ascii=False) for line in written] == written
    assert len(written) == 4


def test_the_lines_of_a_call_take_one_write_and_one_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sending lines of a call reach the disk in one write and one fsync, before
    ``sending`` returns."""
    calls: list[str] = []
    real_write, real_fsync = os.write, os.fsync
    monkeypatch.setattr(
        "reconciler.journal.os.write",
        lambda fd, data: calls.append("write") or real_write(fd, data),
    )
    monkeypatch.setattr(
        "reconciler.journal.os.fsync", lambda fd: calls.append("fsync") or real_fsync(fd)
    )
    other = Change(
        ChangeKind.UNSUBSCRIBE, 0, "b@example.com", "102", Status.UNSUBSCRIBED,
        Status.SUBSCRIBED, alias="product",
    )  # fmt: skip
    with Journal(tmp_path / "j.jsonl", CONTEXT) as journal:
        assert journal.sending([CHANGE, other], "write", "c1")
        assert calls == ["write", "fsync"]
    assert [line["outcome"] for line in lines(tmp_path / "j.jsonl")] == ["sending", "sending"]


def test_the_line_encoder_agrees_with_json_dumps_on_every_character() -> None:
    """Every character but a lone surrogate, and the values json.dumps handles alone (an
    integer beyond 64 bits, a float), come out as json.dumps writes them."""
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    for line in (
        {"text": text, "n": -(2**63), "t": True, "f": False, "none": None},
        {"big": 2**70, "x": "a"},
        {"float": 1.5},
    ):
        assert _encode(line) == json.dumps(line, ensure_ascii=False).encode("utf-8")
