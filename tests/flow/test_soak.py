"""Soak: apply against a faulty emulator converges, and never subscribes past an opt-out.

Marked slow: `make soak` runs it (with the soak hypothesis profile); `make test` does not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.flow.conftest import Hub

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("fault_seed", range(8))
def test_apply_converges_under_random_faults(hub: Hub, project: Path, fault_seed: int) -> None:
    """With 30% of calls faulted (every kind), repeated applies reach the config."""
    hub.admin(
        "PATCH",
        "settings",
        {"fault_rate": 0.3, "fault_seed": fault_seed, "slow_ms": 50},
    )
    outcomes = []
    for _attempt in range(10):
        result = hub.hsprefs("apply", "--auto-approve", "--allow-mass-change")
        outcomes.append(result.code)
        if result.code == 0 and "No changes." in result.out:
            break
    hub.admin("PATCH", "settings", {"fault_rate": 0.0})
    final = hub.hsprefs("plan", "--detailed-exitcode")
    assert final.code == 0, (outcomes, final.out, final.err)
    written = json.dumps(hub.writes())
    assert "frank@example.com" not in written
