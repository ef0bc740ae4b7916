"""The journal stays a true evidence trail whatever happens to its file, through the CLI
against the emulator: a write that fails part-way (a full disk), a file that is not a
journal, a last line cut short by a crash, and two applies at once."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest

from reconciler import lock as lock_module
from reconciler.errors import HsprefsError
from reconciler.journal import Journal
from reconciler.lock import journal_lock
from reconciler.resources import load_schema
from tests.flow.apply_support import JOURNAL, NEXT_STEP, journal, journal_all, write_calls
from tests.flow.conftest import Hub

ENOSPC = os.strerror(errno.ENOSPC)
STOPPED = "the apply stopped before it was sent"
NOTHING = {"statuses.batch.write": 0, "statuses.batch.unsubscribe_all": 0}


def _disk_full_after(monkeypatch: pytest.MonkeyPatch, lines: int) -> None:
    """Let the journal write ``lines`` lines, then fill the disk half-way through the
    next one (as a real ENOSPC leaves it) and refuse every write after."""
    real = Journal._append
    written = 0

    def append(self: Journal, data: bytes) -> None:
        nonlocal written
        ends = [at + 1 for at, byte in enumerate(data) if byte == ord("\n")]
        room = lines - written
        if room >= len(ends):
            written += len(ends)
            real(self, data)
            return
        start = ends[room - 1] if room else 0
        real(self, data[: start + (ends[room] - start) // 2])
        written = lines
        raise OSError(errno.ENOSPC, ENOSPC)

    monkeypatch.setattr(Journal, "_append", append)


def _saved_plan(hub: Hub, project: Path) -> str:
    """Save the example plan in batches of 2 (5 calls); return its checksum."""
    assert hub.hsprefs("plan", "-o", "plan.json", "--batch-size", "2").code == 0
    hub.reset_counts()
    return str(json.loads((project / "plan.json").read_text())["checksum"])


def _applying(checksum: str) -> str:
    return (
        f"Applying plan {checksum} to portal 12345678: 4 to subscribe, 2 to unsubscribe, "
        "1 to not-specified, 1 unsubscribe-all, 1 blocked, 6 unchanged; 5 calls for "
        "8 changes.\n"
    )


def _rescued(err: str) -> tuple[list[dict[str, Any]], str]:
    """The journal lines printed on stderr (each checked against the schema), and the
    rest of stderr."""
    validator = jsonschema.Draft202012Validator(load_schema("journal.schema.json"))
    found = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    for line in found:
        validator.validate(line)
    rest = "".join(line for line in err.splitlines(keepends=True) if not line.startswith("{"))
    return found, rest


# A line an earlier run wrote.
EARLIER_LINE = {
    "time": "2026-11-01T10:00:00.000Z", "operation": "write", "subscriber": "zed@example.com",
    "brand": 0, "subscription_id": "101", "subscription": "newsletter",
    "before": "SUBSCRIBED", "after": "UNSUBSCRIBED", "legal_basis": None,
    "legal_basis_explanation": None, "outcome": "confirmed",
    "result": "REQUESTED_CHANGE_OCCURRED", "error": None, "correlation_id": None,
    "plan_checksum": "sha256:earlier", "portal_id": 12345678, "config_commit": None,
    "verified": None, "observed": None, "verification_error": None,
}  # fmt: skip


# -- a journal write fails mid-run ----------------------------------------------------


def test_full_disk_mid_run_stops_sending_and_keeps_the_evidence(
    hub: Hub, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills while the second call's answer is journalled: no further call
    leaves, the report says what was sent, the line that could not be written is
    printed on stderr, and the error line names the journal and the OS error."""
    checksum = _saved_plan(hub, project)
    # sending bob, bob's answer, sending alice and ivan, alice's answer; not ivan's
    _disk_full_after(monkeypatch, 5)
    result = hub.hsprefs("apply", "--plan", "plan.json")
    assert result.code == 1
    assert result.out == _applying(checksum) + (
        "Applied and verified: 3 of 8 changes (2 of 5 calls sent).\n"
        "  Not sent: 5\n"
        f"    alice@example.com newsletter (101) -> SUBSCRIBED: {STOPPED}\n"
        f"    carol@example.com events (103) -> NOT_SPECIFIED: {STOPPED}\n"
        f"    dave@example.com events (103) -> SUBSCRIBED: {STOPPED}\n"
        f"    erin@example.com newsletter (101) -> SUBSCRIBED: {STOPPED}\n"
        f"    alice@example.com outdoor-news (201) -> SUBSCRIBED: {STOPPED}\n"
        f"Journal: {JOURNAL} (2 lines written), then a write failed: {ENOSPC}. No further "
        "call was sent; the 1 line it could not write is printed on stderr.\n" + NEXT_STEP
    )
    rescued, rest = _rescued(result.err)
    assert [(r["operation"], r["subscriber"], r["outcome"]) for r in rescued] == [
        ("write", "ivan@example.com", "confirmed")
    ]
    assert rescued[0]["plan_checksum"] == checksum
    assert rest == (
        f"hsprefs: error: cannot write journal {JOURNAL}: {ENOSPC}; the apply stopped "
        "sending, and the 1 journal line it could not write is printed above (free some "
        "space or fix the file, append those lines to the journal, then make a new plan "
        "with 'hsprefs plan -o FILE' for what is left)\n"
    )
    # the unsubscribe-all and the unsubscribe wave; the waves after were never sent
    assert write_calls(hub) == {"statuses.batch.write": 1, "statuses.batch.unsubscribe_all": 1}
    # the half-written line was cut off: the journal holds whole lines only
    assert [(line["operation"], line["subscriber"]) for line in journal(project)] == [
        ("unsubscribe-all", "bob@example.com"),
        ("write", "alice@example.com"),
    ]
    assert (project / JOURNAL).read_bytes().endswith(b"\n")


def test_full_disk_at_the_first_line(
    hub: Hub, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When not even the first line can be written, the first call's answer is printed
    on stderr and nothing else is sent."""
    _saved_plan(hub, project)
    _disk_full_after(monkeypatch, 1)  # the first call's sending line only
    result = hub.hsprefs("apply", "--plan", "plan.json")
    assert result.code == 1
    assert (
        f"Journal: {JOURNAL} (0 lines written), then a write failed: {ENOSPC}. No further "
        "call was sent; the 1 line it could not write is printed on stderr.\n"
    ) in result.out
    assert "Applied and verified: 1 of 8 changes (1 of 5 calls sent).\n" in result.out
    rescued, _rest = _rescued(result.err)
    assert [(r["operation"], r["subscriber"]) for r in rescued] == [
        ("unsubscribe-all", "bob@example.com")
    ]
    assert write_calls(hub) == {"statuses.batch.write": 0, "statuses.batch.unsubscribe_all": 1}
    # only the sending line, written before the call left; its answer was cut off
    assert [(line["operation"], line["outcome"]) for line in journal_all(project)] == [
        ("unsubscribe-all", "sending")
    ]


def test_full_disk_before_the_first_call_leaves(
    hub: Hub, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When not even the first sending line can be written, no call leaves at all (a
    call is journalled before it leaves), and nothing needs printing."""
    _saved_plan(hub, project)
    _disk_full_after(monkeypatch, 0)
    result = hub.hsprefs("apply", "--plan", "plan.json")
    assert result.code == 1
    assert "Applied and verified: 0 of 8 changes (0 of 5 calls sent).\n" in result.out
    assert f"Journal: {JOURNAL} (0 lines written), then a write failed: {ENOSPC}." in result.out
    assert result.err == (
        f"hsprefs: error: cannot write journal {JOURNAL}: {ENOSPC}; the apply stopped "
        "sending before the next call left (every call is journalled before it leaves) "
        "(free some space or fix the file, then make a new plan with 'hsprefs plan -o "
        "FILE' for what is left)\n"
    )
    assert write_calls(hub) == NOTHING
    assert (project / JOURNAL).read_bytes() == b""


def test_journal_on_a_device_is_refused_before_anything_is_sent(hub: Hub, project: Path) -> None:
    """--journal /dev/full (or any file that is not a regular file) is refused up front."""
    _saved_plan(hub, project)
    result = hub.hsprefs("apply", "--plan", "plan.json", "--journal", "/dev/full")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "hsprefs: error: journal /dev/full is not a regular file (pass --journal FILE naming "
        "a file: the journal is kept as consent evidence)\n"
    )
    assert write_calls(hub) == NOTHING
    assert hub.counts().get("account_info", 0) == 0


def test_too_little_free_space_is_refused_before_anything_is_sent(
    hub: Hub, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the disk has less room than the plan's journal lines need, nothing is sent."""
    _saved_plan(hub, project)
    monkeypatch.setattr(
        "reconciler.journal.shutil.disk_usage",
        lambda _path: SimpleNamespace(total=1 << 30, used=1 << 30, free=0),
    )
    result = hub.hsprefs("apply", "--plan", "plan.json")
    assert result.code == 1
    assert result.err.startswith(
        f"hsprefs: error: not enough free space for journal {JOURNAL}: about "
    )
    assert result.err.endswith(
        " needed for 8 changes, 0 KiB free (free some space or pass --journal FILE on another "
        "disk; nothing was sent)\n"
    )
    assert write_calls(hub) == NOTHING


# -- a file that is not a journal -----------------------------------------------------


def test_journal_that_is_the_plan_file_is_refused(hub: Hub, project: Path) -> None:
    """--journal naming the --plan file is refused and the plan is left as it was."""
    _saved_plan(hub, project)
    before = (project / "plan.json").read_bytes()
    result = hub.hsprefs("apply", "--plan", "plan.json", "--journal", "./plan.json")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "hsprefs: error: --journal plan.json is the plan file (give the journal a file of its "
        "own, such as .hsprefs/journal.jsonl; nothing was written)\n"
    )
    assert (project / "plan.json").read_bytes() == before
    assert write_calls(hub) == NOTHING


def test_journal_that_is_a_config_file_is_refused(hub: Hub, project: Path) -> None:
    """--journal naming a file of the project being applied is refused."""
    before = (project / "hsprefs.yaml").read_bytes()
    result = hub.hsprefs("apply", "--auto-approve", "--journal", "hsprefs.yaml")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "hsprefs: error: --journal hsprefs.yaml is a config file (give the journal a file of "
        "its own, such as .hsprefs/journal.jsonl; nothing was written)\n"
    )
    assert (project / "hsprefs.yaml").read_bytes() == before
    assert write_calls(hub) == NOTHING


@pytest.mark.parametrize(
    "content",
    [
        '{\n  "version": 1,\n  "changes": []\n}\n',
        "version: 1\nportal: {id: 1}\n",
        '{"time": "2026-01-01T00:00:00Z", "hello": "world"}\n',
        "\x00\xff binary\n",
    ],
    ids=["json-document", "yaml", "other-json-lines", "binary"],
)
def test_a_file_that_is_not_a_journal_is_refused(hub: Hub, project: Path, content: str) -> None:
    """A non-empty file whose first line is not a journal line is refused, untouched."""
    _saved_plan(hub, project)
    other = project / "notes.txt"
    other.write_text(content, encoding="latin-1")
    result = hub.hsprefs("apply", "--plan", "plan.json", "--journal", "notes.txt")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "hsprefs: error: notes.txt is not an hsprefs journal (its first line is not a journal "
        "line) (pass --journal FILE naming a journal or a new file; nothing was written)\n"
    )
    assert other.read_text(encoding="latin-1") == content
    assert not (project / "notes.txt.lock").exists()
    assert write_calls(hub) == NOTHING


def test_an_empty_file_is_a_journal(hub: Hub, project: Path) -> None:
    """An empty file is accepted as a new journal."""
    _saved_plan(hub, project)
    (project / "empty.jsonl").write_bytes(b"")
    assert hub.hsprefs("apply", "--plan", "plan.json", "--journal", "empty.jsonl").code == 0
    assert len(journal(project, "empty.jsonl")) == 8


# -- a last line cut short ------------------------------------------------------------


def test_a_cut_short_last_line_is_ended_before_appending(hub: Hub, project: Path) -> None:
    """A journal left ending mid-line by a killed run gets a newline first (and a warning
    says so), so the next run's lines are each one JSON object."""
    _saved_plan(hub, project)
    whole = (json.dumps(EARLIER_LINE) + "\n").encode("utf-8")
    cut = whole[:40]
    (project / JOURNAL).parent.mkdir(exist_ok=True)  # the plan's blame cache may be there
    (project / JOURNAL).write_bytes(whole + cut)
    result = hub.hsprefs("apply", "--plan", "plan.json")
    assert result.code == 0, result.err
    assert result.err == (
        f"hsprefs: warning: the last line of journal {JOURNAL} was incomplete (a run was "
        "killed while writing it); a newline was added so every line stays one JSON object\n"
    )
    text = (project / JOURNAL).read_bytes()
    assert text.startswith(whole + cut + b"\n")
    # every line but the cut one is a journal line
    lines = text.decode("utf-8").splitlines()
    assert lines[1] == cut.decode("utf-8")
    assert len(lines) == 2 + 2 * 8  # a sending line and an answer line per change
    assert all(json.loads(line)["plan_checksum"] for line in [lines[0], *lines[2:]])


def test_a_journal_whose_only_line_was_cut_short_is_still_a_journal(
    hub: Hub, project: Path
) -> None:
    """A crash during the very first line leaves a cut line only; it is still accepted."""
    _saved_plan(hub, project)
    (project / "j.jsonl").write_bytes(b'{"time": "2026-11-01T10:00:00.0')
    result = hub.hsprefs("apply", "--plan", "plan.json", "--journal", "j.jsonl")
    assert result.code == 0, result.err
    assert "the last line of journal j.jsonl was incomplete" in result.err
    lines = (project / "j.jsonl").read_text().splitlines()
    assert lines[0] == '{"time": "2026-11-01T10:00:00.0'
    assert len(lines) == 1 + 2 * 8
    assert all(json.loads(line)["plan_checksum"] for line in lines[1:])


# -- one apply at a time --------------------------------------------------------------


def test_a_second_apply_is_refused_while_the_lock_is_held(hub: Hub, project: Path) -> None:
    """While another apply holds the journal's lock, apply is refused before it reads or
    writes anything, naming the lock and the process."""
    _saved_plan(hub, project)
    with journal_lock(project / JOURNAL):
        result = hub.hsprefs("apply", "--plan", "plan.json")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"hsprefs: error: another hsprefs apply (pid {os.getpid()}) holds the lock "
        f"{JOURNAL}.lock (wait for it to finish: two applies at once could both pass the "
        "stale check)\n"
    )
    assert write_calls(hub) == NOTHING
    assert hub.counts().get("account_info", 0) == 0
    # once released, the same apply goes through
    assert hub.hsprefs("apply", "--plan", "plan.json").code == 0


@pytest.fixture
def other_process(project: Path) -> Iterator[int]:
    """Another process holding the default journal's lock; yields its pid."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from reconciler.lock import journal_lock\n"
        f"with journal_lock(Path({str(project / JOURNAL)!r})):\n"
        "    print('locked', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    root = Path(__file__).resolve().parents[2]
    with subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
    ) as child:
        assert child.stdin is not None and child.stdout is not None
        try:
            assert child.stdout.readline() == "locked\n"
            yield child.pid
        finally:
            child.stdin.close()  # the holder reads end-of-file and lets go
            child.wait(timeout=30)


def test_an_apply_in_another_process_blocks_this_one(
    hub: Hub, project: Path, other_process: int
) -> None:
    """Two processes: the second apply is refused and names the first one's pid."""
    _saved_plan(hub, project)
    result = hub.hsprefs("apply", "--plan", "plan.json")
    assert result.code == 1
    assert result.err.startswith(
        f"hsprefs: error: another hsprefs apply (pid {other_process}) holds the lock "
        f"{JOURNAL}.lock "
    )
    assert write_calls(hub) == NOTHING


def test_lock_without_flock_is_an_exclusive_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where there is no fcntl, the lock is a file created exclusively with the pid in
    it, removed at the end; a second holder is refused and told how to clear a stale one."""
    monkeypatch.setattr(lock_module, "fcntl", None)
    path = tmp_path / "j.jsonl"
    lock = tmp_path / "j.jsonl.lock"
    with journal_lock(path):
        assert lock.read_text() == f"{os.getpid()}\n"
        with pytest.raises(HsprefsError, match="holds the lock") as refused, journal_lock(path):
            pass
    assert str(refused.value) == f"another hsprefs apply (pid {os.getpid()}) holds the lock {lock}"
    assert refused.value.hint == (
        "wait for it to finish: two applies at once could both pass the stale check; "
        f"if no apply is running, delete {lock}"
    )
    assert not lock.exists()


def test_the_lock_is_released_after_a_refused_apply(hub: Hub, project: Path) -> None:
    """A refusal (here: a stale plan) releases the lock: the next apply is not blocked."""
    _saved_plan(hub, project)
    hub.api(
        "POST",
        "/communication-preferences/2026-03/statuses/batch/write",
        {
            "inputs": [
                {
                    "subscriberIdString": "carol@example.com",
                    "subscriptionId": 103,
                    "statusState": "UNSUBSCRIBED",
                    "channel": "EMAIL",
                }
            ]
        },
    )
    assert hub.hsprefs("apply", "--plan", "plan.json").code == 1
    with journal_lock(project / JOURNAL):
        pass
