"""The client in single mode, and auto mode's one probe, against the emulator: the
calls per subscriber and per change, and faults, failures and pending answers treated
per call exactly as in batch mode."""

from __future__ import annotations

import pytest

from reconciler.errors import ScopeError
from reconciler.model import (
    Outcome,
    PairKey,
    Status,
    StatusWrite,
    SubscriberKey,
)

from .conftest import run
from .emulated import admin, client_for, counts, emulator

SINGLE_READ = "statuses.read"
SINGLE_WIDE = "statuses.unsubscribe_all_read"
SINGLE_WRITE = "statuses.write"
SINGLE_OPT_OUT = "statuses.unsubscribe_all"


def _emails(n: int) -> list[str]:
    return [f"single{i:03d}@example.com" for i in range(n)]


def test_auto_mode_without_batch_scopes_probes_once_then_reads_each_subscriber() -> None:
    """One batch read refused with 403, then a status read and an opt-out read for each
    subscriber and brand; the client settles on single mode and keeps the 403."""

    async def go() -> tuple[str, ScopeError | None, dict[str, int]]:
        with emulator(tier="professional") as app:
            async with client_for(app, batch_size=3) as client:
                await client.read({0: _emails(7)})
                return client.api_mode, client.probe_refusal, await counts(app)

    mode, refusal, seen = run(go())
    assert mode == "single"
    assert refusal is not None
    assert refusal.missing_scopes == ("communication_preferences.statuses.batch.read",)
    assert seen == {"statuses.batch.read": 1, SINGLE_READ: 7, SINGLE_WIDE: 7}


def test_auto_mode_with_batch_scopes_keeps_the_probe_s_answer() -> None:
    """With the batch scopes the probe is the first chunk's status read: no extra call."""

    async def go() -> tuple[str, dict[str, int]]:
        with emulator() as app:
            async with client_for(app, batch_size=3) as client:
                await client.read({0: _emails(7), 5: _emails(2)})
                return client.api_mode, await counts(app)

    mode, seen = run(go())
    assert mode == "batch"
    assert seen == {"statuses.batch.read": 4, "statuses.batch.unsubscribe_all_read": 4}


def test_single_mode_reads_match_batch_mode_reads() -> None:
    """Both modes read the same live state."""

    async def go() -> tuple[object, object]:
        with emulator() as app:
            async with client_for(app) as client:
                await client.write([StatusWrite(0, _emails(1)[0], "101", Status.UNSUBSCRIBED)])
                await client.unsubscribe_all([SubscriberKey(0, _emails(2)[1])])
                client.use_mode("batch")
                batch = await client.read({0: _emails(3)})
                client.use_mode("single")
                return batch, await client.read({0: _emails(3)})

    batch, single = run(go())
    assert single == batch


def test_single_mode_sends_one_call_per_write_and_per_opt_out() -> None:
    """Each write and each unsubscribe-all is its own call, confirmed by its own answer."""
    writes = [StatusWrite(0, email, "101", Status.UNSUBSCRIBED) for email in _emails(4)]

    async def go() -> tuple[list[Outcome], list[Outcome], dict[str, int], Status]:
        with emulator() as app:
            async with client_for(app, api_mode="single") as client:
                written = await client.write(writes)
                opted = await client.unsubscribe_all([SubscriberKey(0, e) for e in _emails(2)])
                live = await client.read({0: _emails(1)})
            seen = await counts(app)
            status = live.status_of(PairKey(0, _emails(1)[0], "101"))
            return [r.outcome for r in written], [r.outcome for r in opted], seen, status

    written, opted, seen, status = run(go())
    assert written == [Outcome.CONFIRMED] * 4
    assert opted == [Outcome.CONFIRMED] * 2
    assert seen == {SINGLE_WRITE: 4, SINGLE_OPT_OUT: 2, SINGLE_READ: 1, SINGLE_WIDE: 1}
    assert status is Status.UNSUBSCRIBED


def test_a_refused_single_write_fails_alone() -> None:
    """HubSpot refusing one write (an unknown subscription) fails that input only."""
    writes = [
        StatusWrite(0, "a@example.com", "101", Status.UNSUBSCRIBED),
        StatusWrite(0, "b@example.com", "999", Status.UNSUBSCRIBED),
        StatusWrite(0, "c@example.com", "101", Status.UNSUBSCRIBED),
    ]

    async def go() -> list[Outcome]:
        with emulator() as app:
            async with client_for(app, api_mode="single") as client:
                return [r.outcome for r in await client.write(writes)]

    assert run(go()) == [Outcome.CONFIRMED, Outcome.FAILED, Outcome.CONFIRMED]


@pytest.mark.parametrize("kind", ["500", "502", "503", "504", "429", "drop"])
def test_every_transport_fault_on_a_single_write_is_survived(kind: str) -> None:
    """A single write hit by a fault is sent again and confirmed, as a batch is."""
    write = StatusWrite(0, "a@example.com", "101", Status.UNSUBSCRIBED)

    async def go() -> tuple[list[Outcome], int]:
        with emulator() as app:
            fault = {"kind": kind, "operation": SINGLE_WRITE, "count": 1}
            await admin(app, "POST", "faults", fault)
            async with client_for(app, api_mode="single") as client:
                results = await client.write([write])
            return [r.outcome for r in results], (await counts(app))[SINGLE_WRITE]

    assert run(go()) == ([Outcome.CONFIRMED], 2)


@pytest.mark.parametrize("operation", [SINGLE_READ, SINGLE_WIDE])
@pytest.mark.parametrize("kind", ["500", "503", "429", "drop", "pending"])
def test_every_fault_on_a_single_read_is_survived(kind: str, operation: str) -> None:
    """Each fault kind hitting a single read is retried and the read completes."""

    async def go() -> tuple[int, int]:
        with emulator() as app:
            await admin(app, "POST", "faults", {"kind": kind, "operation": operation, "count": 2})
            async with client_for(app, api_mode="single") as client:
                await client.read({0: _emails(1)})
                return client.stats.retries, (await counts(app))[operation]

    assert run(go()) == (2, 3)


def test_a_pending_single_write_is_unconfirmed() -> None:
    """A single write answered PENDING is not final: UNCONFIRMED, as in batch mode."""
    write = StatusWrite(0, "a@example.com", "101", Status.UNSUBSCRIBED)

    async def go() -> list[Outcome]:
        with emulator() as app:
            await admin(app, "POST", "faults", {"kind": "pending", "operation": SINGLE_WRITE})
            async with client_for(app, api_mode="single") as client:
                return [r.outcome for r in await client.write([write])]

    assert run(go()) == [Outcome.UNCONFIRMED]


def test_an_address_with_a_plus_travels_in_the_path_escaped() -> None:
    """The address is one path segment: a '+' in it travels escaped."""
    email = "a+b@example.com"

    async def go() -> Outcome:
        with emulator() as app:
            async with client_for(app, api_mode="single") as client:
                [result] = await client.write([StatusWrite(0, email, "101", Status.UNSUBSCRIBED)])
                live = await client.read({0: [email]})
            assert live.status_of(PairKey(0, email, "101")) is Status.UNSUBSCRIBED
            return result.outcome

    assert run(go()) is Outcome.CONFIRMED
