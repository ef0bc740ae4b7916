"""Where ``-o`` writes, for plan, audit and export, through the CLI against the emulator:
a regular file is replaced whole, a device, FIFO or /dev/stdout is written into and
never replaced, ``-`` is standard output, and a target that cannot be written is one
line with nothing written."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.planfile import load_plan, plan_from_document
from tests.flow.conftest import Hub

DEV_NULL = Path("/dev/null")
DEV_FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not DEV_FULL.exists(), reason="no /dev/full here")
not_as_root = pytest.mark.skipif(
    os.geteuid() == 0, reason="root writes into read-only folders, so there is no refusal"
)


def _is_char_device(path: Path) -> bool:
    return stat.S_ISCHR(path.stat().st_mode)


def _calls(hub: Hub) -> int:
    return sum(hub.counts().values())


# -- devices and FIFOs are written into, never replaced --------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "-o", "/dev/null"),
        ("audit", "-o", "/dev/null"),
        ("export", "--subscribers", "-", "-o", "/dev/null"),
    ],
    ids=["plan", "audit", "export"],
)
def test_dev_null_is_written_into(hub: Hub, project: Path, args: tuple[str, ...]) -> None:
    """-o /dev/null succeeds and leaves the device a device."""
    result = hub.hsprefs(*args, stdin="alice@example.com\n")
    assert result.code in (0, 2), result.err
    assert _is_char_device(DEV_NULL)
    assert "/dev/null" in result.err


def test_plan_to_dev_null_says_where_it_went(hub: Hub, project: Path) -> None:
    """The saved-plan line names the device, as it names a file."""
    result = hub.hsprefs("plan", "-o", "/dev/null")
    assert result.err == "Saved the plan to /dev/null (it holds real email addresses).\n"


@needs_dev_full
@pytest.mark.parametrize(
    ("args", "what"),
    [
        (("plan", "-o", "/dev/full"), "plan file"),
        (("audit", "-o", "/dev/full"), "report"),
        (("export", "--subscribers", "-", "-o", "/dev/full"), "file"),
    ],
    ids=["plan", "audit", "export"],
)
def test_a_full_device_is_one_line(
    hub: Hub, project: Path, args: tuple[str, ...], what: str
) -> None:
    """A write that fails (ENOSPC from /dev/full) is one line naming the target; the
    device stays a device."""
    result = hub.hsprefs(*args, stdin="alice@example.com\n")
    assert result.code == 1
    assert result.err.endswith(
        f"hsprefs: error: cannot write {what} /dev/full: No space left on device "
        "(give -o a path you can write)\n"
    )
    assert _is_char_device(DEV_FULL)


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[tuple[Path, list[bytes]]]:
    """A FIFO with a reader thread collecting what is written into it."""
    path = tmp_path / "pipe"
    os.mkfifo(path)
    got: list[bytes] = []

    def read() -> None:
        with path.open("rb") as reader:
            got.append(reader.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    try:
        yield path, got
    finally:
        if thread.is_alive():
            # Nothing opened the FIFO to write: open it ourselves so the reader ends.
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(timeout=10)


def test_audit_into_a_fifo(hub: Hub, project: Path, fifo: tuple[Path, list[bytes]]) -> None:
    """-o FIFO writes the whole report into the pipe; the FIFO stays a FIFO."""
    path, got = fifo
    result = hub.hsprefs("audit", "--format", "json", "-o", str(path))
    assert result.code == 2, result.err
    assert stat.S_ISFIFO(path.stat().st_mode)
    for _ in range(100):
        if got:
            break
        threading.Event().wait(0.05)
    assert json.loads(got[0])["format"] == "hsprefs-audit"


def test_plan_into_a_fifo(hub: Hub, project: Path, fifo: tuple[Path, list[bytes]]) -> None:
    """-o FIFO writes the saved plan into the pipe, readable as a plan."""
    path, got = fifo
    assert hub.hsprefs("plan", "-o", str(path)).code == 0
    for _ in range(100):
        if got:
            break
        threading.Event().wait(0.05)
    assert stat.S_ISFIFO(path.stat().st_mode)
    assert plan_from_document(json.loads(got[0])).has_changes


# -- "-" is standard output ------------------------------------------------------------


def test_plan_dash_writes_the_saved_plan_to_stdout(hub: Hub, project: Path) -> None:
    """plan -o - prints the saved plan document alone on stdout (apply --plan can use it)
    and the plan display on stderr; no file named '-' appears."""
    result = hub.hsprefs("plan", "-o", "-")
    assert result.code == 0, result.err
    plan = plan_from_document(json.loads(result.out))
    assert result.err.startswith("Plan: 4 to subscribe, 2 to unsubscribe, ")
    assert f"Checksum: {plan.checksum}\n" in result.err
    assert result.err.endswith(
        "Saved the plan to standard output (it holds real email addresses).\n"
    )
    assert not (project / "-").exists()
    (project / "saved.json").write_text(result.out)
    assert load_plan(project / "saved.json").checksum == plan.checksum


def test_audit_dash_is_stdout(hub: Hub, project: Path) -> None:
    """audit -o - prints the report as audit without -o does; no file named '-'."""
    plain = hub.hsprefs("audit", "--format", "json")
    dashed = hub.hsprefs("audit", "--format", "json", "-o", "-")
    assert dashed.code == plain.code == 2
    strip = [json.loads(r.out) for r in (plain, dashed)]
    for document in strip:
        document.pop("created_at", None)
    assert strip[0] == strip[1]
    assert dashed.err == ""
    assert not (project / "-").exists()


def test_export_dash_is_stdout(hub: Hub, project: Path) -> None:
    """export -o - prints the subscriber file on stdout; no file named '-'."""
    result = hub.hsprefs("export", "--subscribers", "-", "-o", "-", stdin="alice@example.com\n")
    assert result.code == 0, result.err
    assert "  alice@example.com:\n" in result.out
    assert result.err.startswith("Exported 1 subscriber of business unit 0: ")
    assert not (project / "-").exists()


@pytest.mark.parametrize("command", ["plan", "audit", "export"])
def test_help_says_dash_is_stdout(hub: Hub, command: str) -> None:
    """Each command's --help says what -o - does."""
    text = " ".join(hub.hsprefs(command, "--help").out.split())
    assert ("- writes it to standard output" if command == "plan" else "(- is stdout)") in text


# -- a target that cannot be written ---------------------------------------------------


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (("plan", "-o", "missing/plan.json"), "plan file"),
        (("audit", "-o", "missing/report.txt"), "report"),
        (("export", "--subscribers", "-", "-o", "missing/out.yaml"), "file"),
    ],
    ids=["plan", "audit", "export"],
)
def test_a_missing_folder_is_one_line_and_nothing_written(
    hub: Hub, project: Path, args: tuple[str, ...], what: str
) -> None:
    """-o into a folder that does not exist: one line, no folder created."""
    before = sorted(p.name for p in project.iterdir())
    result = hub.hsprefs(*args, stdin="alice@example.com\n")
    assert (result.code, result.out) == (1, "")
    name = args[-1]
    assert result.err == (
        f"hsprefs: error: cannot write {what} {name}: the folder missing does not exist "
        "(create it first or give -o another path; nothing was written)\n"
    )
    assert sorted(p.name for p in project.iterdir()) == before


def test_plan_and_audit_refuse_before_reading_hubspot(hub: Hub, project: Path) -> None:
    """The output check comes first: a bad -o costs no HubSpot call."""
    hub.reset_counts()
    assert hub.hsprefs("plan", "-o", "missing/plan.json").code == 1
    assert hub.hsprefs("audit", "-o", "missing/report.txt").code == 1
    assert _calls(hub) == 0


@not_as_root
@pytest.mark.parametrize("command", ["plan", "audit"])
def test_a_read_only_folder_is_one_line_and_nothing_written(
    hub: Hub, project: Path, command: str
) -> None:
    """-o into a folder without write permission: one line, nothing left in it."""
    locked = project / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = hub.hsprefs(command, "-o", "locked/out.json")
        assert (result.code, result.out) == (1, "")
        assert result.err.startswith(
            "hsprefs: error: cannot write "
            f"{'plan file' if command == 'plan' else 'report'} locked/out.json: "
            "the folder locked is not writable"
        )
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


# -- regular files ---------------------------------------------------------------------


def test_a_regular_file_is_replaced_whole_and_private(hub: Hub, project: Path) -> None:
    """An existing plan file is replaced by the new plan, mode 0600, no temporary left."""
    (project / "plan.json").write_text("old\n")
    assert hub.hsprefs("plan", "-o", "plan.json").code == 0
    assert load_plan(project / "plan.json").has_changes
    assert stat.S_IMODE((project / "plan.json").stat().st_mode) == 0o600
    assert not [p for p in project.iterdir() if p.name.endswith(".tmp")]


def test_a_symlink_keeps_pointing_at_the_replaced_file(hub: Hub, project: Path) -> None:
    """-o through a symbolic link replaces the file it points to; the link stays."""
    (project / "plans").mkdir()
    (project / "plans" / "real.json").write_text("old\n")
    (project / "link.json").symlink_to(project / "plans" / "real.json")
    assert hub.hsprefs("plan", "-o", "link.json").code == 0
    assert (project / "link.json").is_symlink()
    assert load_plan(project / "plans" / "real.json").has_changes


def test_an_unwritable_folder_as_the_system_reports_it(
    hub: Hub, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the system says the folder is not writable (root is never told so, hence the
    stand-in), -o is refused before HubSpot is read and nothing is written."""
    (project / "locked").mkdir()
    real = os.access

    def access(path: str, mode: int) -> bool:
        return Path(path).name != "locked" and real(path, mode)

    monkeypatch.setattr("reconciler.outfile.os.access", access)
    hub.reset_counts()
    result = hub.hsprefs("audit", "-o", "locked/report.txt")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "hsprefs: error: cannot write report locked/report.txt: the folder locked is not "
        "writable (give -o a path you can write; nothing was written)\n"
    )
    assert list((project / "locked").iterdir()) == []
    assert _calls(hub) == 0
