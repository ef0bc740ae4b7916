"""A bounded sample of the crash harness (tests/flow/crash.py), in both API modes: apply
SIGKILLed while a call is in flight, early and late, twice in a row, and the emulator
killed mid-apply.
``make soak`` runs many rounds at random points (``python tests/flow/crash.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.flow import crash

MODES = ["batch", "single"]


@pytest.mark.parametrize("mode", MODES)
def test_sigkill_while_a_call_is_in_flight(tmp_path: Path, mode: str) -> None:
    """Killed right after the first call's sending lines reached the disk, with 300 ms
    of latency: the call HubSpot may be applying is in the journal, and the next apply
    settles it and converges. (A batch call carries 4 inputs, a single call 1; with 2
    calls in flight at least as many intents are unfinished.)"""
    counts = crash.kill_round(tmp_path, 60.0, latency_ms=300, at_sending=4, mode=mode)
    assert counts["intents"] >= 4 if mode == "batch" else counts["intents"] >= 1


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_sigkill_in_the_middle_of_the_writes(tmp_path: Path, mode: str) -> None:
    counts = crash.kill_round(tmp_path, 60.0, latency_ms=300, at_sending=12, mode=mode)
    assert counts["intents"] >= 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("delay", [0.3, 1.5])
def test_sigkill_at_a_point_in_time(tmp_path: Path, delay: float, mode: str) -> None:
    """Before, during or after the run, whatever it was doing then."""
    crash.kill_round(tmp_path, delay, mode=mode)


@pytest.mark.parametrize("mode", MODES)
def test_the_settling_apply_killed_too(tmp_path: Path, mode: str) -> None:
    crash.twice_killed_round(tmp_path, 1.2, 0.9, mode=mode)


@pytest.mark.parametrize("mode", MODES)
def test_the_emulator_killed_mid_apply_keeps_its_state(tmp_path: Path, mode: str) -> None:
    crash.emulator_killed_round(tmp_path, 1.4, mode=mode)


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("round_number", range(20))
def test_many_kill_points(tmp_path: Path, round_number: int, mode: str) -> None:
    """make soak: kill points spread over the whole run."""
    crash.kill_round(tmp_path, 0.15 * (round_number + 1), latency_ms=120, mode=mode)
