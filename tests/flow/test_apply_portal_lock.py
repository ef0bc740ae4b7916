"""Two applies at once on one portal are refused on one machine, whatever journals they
use; a lock left by a killed apply is taken over with a note."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.lock import lock_folder, portal_lock
from tests.cli_hub import API_URL  # point_at_emulator's
from tests.flow.apply_support import JOURNAL, write_calls
from tests.flow.conftest import Hub

NOTHING = {"statuses.batch.write": 0, "statuses.batch.unsubscribe_all": 0}


def _saved_plan(hub: Hub) -> None:
    assert hub.hsprefs("plan", "-o", "plan.json").code == 0
    hub.reset_counts()


def test_a_second_apply_with_another_journal_is_refused(hub: Hub, project: Path) -> None:
    """Another apply holds the portal (with its own journal): refused before anything is
    sent, naming the holder's pid, journal and start time."""
    _saved_plan(hub)
    with portal_lock(12345678, API_URL, Path("other/journal.jsonl")) as lock:
        result = hub.hsprefs("apply", "--plan", "plan.json", "--journal", "mine.jsonl")
        held = json.loads(lock.read_text())
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"hsprefs: error: another hsprefs apply (pid {os.getpid()}, journal "
        f"other/journal.jsonl, since {held['since']}) is applying to portal 12345678 at "
        f"{API_URL} (lock {lock}) (wait for it to finish: two applies at once on one portal "
        "share its rate limit and may send the same changes twice; in CI, use one "
        "concurrency group per portal)\n"
    )
    assert write_calls(hub) == NOTHING
    assert not (project / "mine.jsonl").exists()
    # released: the same apply goes through
    again = hub.hsprefs("apply", "--plan", "plan.json", "--journal", "mine.jsonl")
    assert (again.code, again.err) == (0, "")


def test_a_fresh_apply_is_refused_too(hub: Hub, project: Path) -> None:
    with portal_lock(12345678, API_URL, Path("other.jsonl")):
        result = hub.hsprefs("apply", "--auto-approve", "--journal", "mine.jsonl")
    assert result.code == 1
    assert "is applying to portal 12345678" in result.err
    assert write_calls(hub) == NOTHING


def test_another_address_is_another_portal(hub: Hub, project: Path) -> None:
    """The lock names the API address too: an emulator elsewhere is not this portal."""
    _saved_plan(hub)
    with portal_lock(12345678, "http://127.0.0.1:9999", Path("other.jsonl")):
        result = hub.hsprefs("apply", "--plan", "plan.json")
    assert (result.code, result.err) == (0, "")


def test_a_lock_left_by_a_killed_apply_is_taken_over(hub: Hub, project: Path) -> None:
    """A process that held the lock and died (SIGKILL leaves its details in the file):
    the next apply takes the lock over, says so, and applies."""
    code = (
        "import os, signal\nfrom pathlib import Path\nfrom reconciler.lock import portal_lock\n"
        f"with portal_lock(12345678, {API_URL!r}, Path('dead.jsonl')):\n"
        "    print(os.getpid(), flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    root = Path(__file__).resolve().parents[2]
    dead = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=False
    )
    pid = int(dead.stdout.strip())
    _saved_plan(hub)
    result = hub.hsprefs("apply", "--plan", "plan.json")
    assert result.code == 0, result.err
    assert result.err == (
        f"hsprefs: note: the lock of portal 12345678 was left by an apply that is no longer "
        f"running (pid {pid}); taken over\n"
    )
    assert next(p.name for p in lock_folder().iterdir()).startswith("portal-12345678-")


def test_the_lock_folder_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HSPREFS_LOCK_DIR", str(tmp_path / "here"))
    assert lock_folder() == tmp_path / "here"
    monkeypatch.delenv("HSPREFS_LOCK_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert lock_folder() == tmp_path / "state" / "hsprefs" / "locks"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert lock_folder() == Path.home() / ".local" / "state" / "hsprefs" / "locks"
    assert JOURNAL  # the default journal is unrelated to where locks live
