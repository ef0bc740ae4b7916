"""`make demo` runs the whole story; this runs the same script and checks its milestones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_runs_the_whole_story() -> None:
    """validate, plan, apply, plan again, journal and audit all succeed in order."""
    done = subprocess.run(
        [sys.executable, "examples/demo.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    milestones = [
        "ok: 4 files, 10 subscribers, 12 managed statuses, 3 opt-out flags",
        "Plan: 4 to subscribe, 2 to unsubscribe, 1 to not-specified, 1 unsubscribe-all, "
        "1 blocked, 6 unchanged",
        "Applied and verified: 8 of 8 changes (2 calls).",
        "Plan: 0 to subscribe, 0 to unsubscribe, 0 to not-specified, 0 unsubscribe-all, "
        "1 blocked, 14 unchanged",
        "unsubscribe-all bob@example.com",
        "Audit: 15 managed: 14 in sync, 0 drifted, 1 blocked",
        "Done.",
    ]
    position = 0
    for milestone in milestones:
        found = out.find(milestone, position)
        assert found >= 0, f"missing or out of order: {milestone!r}"
        position = found
    assert "hsprefs-emulator-token" not in out.split("Emulator running at", 1)[1]
