"""The client against the emulator over a real socket: chunks, faults, partial failures,
error classes.

One emulator serves the whole module on a free loopback port; each test resets it
(state, settings, counters, queued faults) through the admin surface and changes what it
needs at run time. Retries never wait (``RetryPolicy.instant()``); the rate limiter is
the real one, so rate windows are kept short.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reconciler.client import HubSpotClient, RetryPolicy
from reconciler.emulator import DEMO_SEED, EmulatorSettings, serve_in_thread
from reconciler.errors import (
    ApiError,
    AuthError,
    NotFoundError,
    RateLimitError,
    ScopeError,
    TransportError,
)
from reconciler.model import (
    Outcome,
    PairKey,
    Status,
    StatusWrite,
    SubscriberKey,
    WriteResult,
)

from .conftest import make_settings, run

SECRET = "pat-eu1-socket-cases-0000-1111-222222222222"
READ_ONLY = "pat-eu1-read-only-0000-1111-222222222222"
SEED = {
    **DEMO_SEED,
    "tokens": [
        {"token": SECRET, "name": "tests", "scopes": "all"},
        {"token": READ_ONLY, "name": "ro", "scopes": ["communication_preferences.read"]},
    ],
}

READ = "statuses.batch.read"
WIDE = "statuses.batch.unsubscribe_all_read"
WRITE = "statuses.batch.write"
OPT_OUT = "statuses.batch.unsubscribe_all"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


class Served:
    """The emulator on its socket and one connection to its admin surface."""

    def __init__(self, url: str, http: httpx.Client) -> None:
        self.url = url
        self._http = http

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = self._http.request(method, f"/_emulator/{path}", json=body)
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serve_in_thread(EmulatorSettings(seed=SEED)) as base, httpx.Client(base_url=base) as http:
        yield Served(base, http)


@pytest.fixture
def emu(served: Served) -> Served:
    """The module's emulator, back to its start: seed, settings, counters, no faults."""
    served.admin("POST", "reset")
    return served


def _client(
    url: str, *, token: str = SECRET, max_attempts: int = 4, prefix: str = "", **kw: Any
) -> HubSpotClient:
    return HubSpotClient.from_settings(
        make_settings(api_url=url + prefix, token=token, **kw),
        retry=RetryPolicy.instant(max_attempts=max_attempts),
    )


def _emails(n: int) -> list[str]:
    return [f"sock{i:04d}@example.com" for i in range(n)]


def _calls(n: int) -> int:
    return math.ceil(n / 100)


# -- chunking at the boundaries ---------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 100, 101, 250])
def test_read_chunks_at_the_boundaries(emu: Served, n: int) -> None:
    """N subscribers take ceil(N/100) status reads and as many wide reads, all answered."""

    async def go() -> int:
        async with _client(emu.url) as client:
            return len((await client.read({0: _emails(n)})).opt_outs)

    assert run(go()) == n
    assert emu.admin("GET", "requests")["by_operation"] == (
        {READ: _calls(n), WIDE: _calls(n)} if n else {}
    )


@pytest.mark.parametrize("n", [0, 1, 100, 101, 250])
def test_write_chunks_at_the_boundaries(emu: Served, n: int) -> None:
    """N writes take ceil(N/100) batch writes; each input is confirmed, in input order."""
    writes = [StatusWrite(0, e, "101", Status.UNSUBSCRIBED) for e in _emails(n)]

    async def go() -> list[WriteResult]:
        async with _client(emu.url) as client:
            return await client.write(writes)

    results = run(go())
    assert [(r.target, r.outcome) for r in results] == [(w, Outcome.CONFIRMED) for w in writes]
    assert emu.admin("GET", "requests")["by_operation"] == ({WRITE: _calls(n)} if n else {})


@pytest.mark.parametrize("n", [0, 1, 100, 101, 250])
def test_unsubscribe_all_chunks_at_the_boundaries(emu: Served, n: int) -> None:
    """N opt-outs of one brand take ceil(N/100) calls; each is confirmed, in input order."""
    keys = [SubscriberKey(5, e) for e in _emails(n)]

    async def go() -> list[WriteResult]:
        async with _client(emu.url) as client:
            return await client.unsubscribe_all(keys)

    results = run(go())
    assert [(r.target, r.outcome) for r in results] == [(k, Outcome.CONFIRMED) for k in keys]
    assert emu.admin("GET", "requests")["by_operation"] == ({OPT_OUT: _calls(n)} if n else {})


# -- every fault kind -------------------------------------------------------------------

# Run-time settings that keep each fault quick over a socket: a "slow" answer takes 5 ms,
# a 429 without Retry-After waits one 100 ms window (learned from the headers).
FAULT_SETTINGS: dict[str, dict[str, Any]] = {
    "slow": {"slow_ms": 5},
    "429": {"retry_after": 0.01},
    "429-no-retry-after": {"retry_after": None, "rate_window_ms": 100},
}
READ_FAULTS = ["500", "502", "503", "504", "429", "429-no-retry-after", "drop", "slow", "pending"]


def _queue(emu: Served, fault: str, operation: str) -> None:
    emu.admin("PATCH", "settings", FAULT_SETTINGS.get(fault, {}))
    kind = fault.split("-", maxsplit=1)[0]
    emu.admin("POST", "faults", {"kind": kind, "operation": operation, "count": 1})


@pytest.mark.parametrize("fault", READ_FAULTS)
@pytest.mark.parametrize("operation", [READ, WIDE])
def test_every_fault_on_a_read_is_survived(emu: Served, fault: str, operation: str) -> None:
    """A read hit by any fault kind is retried (a slow answer just arrives) and completes."""
    _queue(emu, fault, operation)

    async def go() -> tuple[bool, int, int]:
        async with _client(emu.url) as client:
            live = await client.read({0: ["a@example.com"]})
            stats = client.stats
            return (
                live.opted_out(SubscriberKey(0, "a@example.com")),
                stats.retries,
                stats.rate_limited,
            )

    slow = fault == "slow"
    assert run(go()) == (False, 0 if slow else 1, 1 if fault.startswith("429") else 0)
    assert emu.admin("GET", "requests")["by_operation"] == {
        READ: 1,
        WIDE: 1,
        operation: 1 if slow else 2,
    }


@pytest.mark.parametrize("fault", ["500", "502", "503", "504", "429", "429-no-retry-after", "drop"])
def test_every_fault_on_a_write_is_survived(emu: Served, fault: str) -> None:
    """A write batch hit by a fault is sent again (safe: it sets) and is confirmed."""
    write = StatusWrite(0, "a@example.com", "101", Status.UNSUBSCRIBED)
    _queue(emu, fault, WRITE)

    async def go() -> tuple[list[Outcome], int, Status | None]:
        async with _client(emu.url) as client:
            results = await client.write([write])
            retries = client.stats.retries
            live = await client.read({0: ["a@example.com"]})
        return [r.outcome for r in results], retries, live.status_of(write.key)

    assert run(go()) == ([Outcome.CONFIRMED], 1, Status.UNSUBSCRIBED)
    assert emu.admin("GET", "requests")["by_operation"][WRITE] == 2


@pytest.mark.parametrize("fault", ["500", "503", "429", "drop"])
def test_every_fault_on_an_unsubscribe_all_is_survived(emu: Served, fault: str) -> None:
    """An opt-out batch hit by a fault is sent again (safe: opting out twice is once)."""
    key = SubscriberKey(5, "a@example.com")
    _queue(emu, fault, OPT_OUT)

    async def go() -> tuple[list[Outcome], bool]:
        async with _client(emu.url) as client:
            results = await client.unsubscribe_all([key])
            live = await client.read({5: ["a@example.com"]})
        return [r.outcome for r in results], live.opted_out(key)

    assert run(go()) == ([Outcome.CONFIRMED], True)
    assert emu.admin("GET", "requests")["by_operation"][OPT_OUT] == 2


def test_pending_write_is_unconfirmed(emu: Served) -> None:
    """A write answered PENDING over a socket is UNCONFIRMED, naming the answer's id."""
    write = StatusWrite(0, "a@example.com", "101", Status.UNSUBSCRIBED)
    _queue(emu, "pending", WRITE)

    async def go() -> list[WriteResult]:
        async with _client(emu.url) as client:
            return await client.write([write])

    [result] = run(go())
    assert (result.outcome, result.error) == (
        Outcome.UNCONFIRMED,
        "HubSpot answered PENDING: the results are not final",
    )
    assert re.fullmatch(UUID, str(result.correlation_id))


def test_a_lying_write_is_confirmed_and_caught_by_reading_back(emu: Served) -> None:
    """A write answered as applied but not applied: CONFIRMED; the read shows the truth."""
    write = StatusWrite(0, "a@example.com", "101", Status.UNSUBSCRIBED)
    _queue(emu, "lie", WRITE)

    async def go() -> tuple[Outcome, Status | None]:
        async with _client(emu.url) as client:
            [result] = await client.write([write])
            live = await client.read({0: ["a@example.com"]})
        return result.outcome, live.status_of(write.key)

    assert run(go()) == (Outcome.CONFIRMED, Status.NOT_SPECIFIED)


# -- partial failures ---------------------------------------------------------------------

GOOD = StatusWrite(0, "a@example.com", "101", Status.UNSUBSCRIBED)
UNKNOWN = StatusWrite(0, "b@example.com", "999", Status.UNSUBSCRIBED)
NO_BASIS = StatusWrite(0, "c@example.com", "102", Status.SUBSCRIBED)
WITH_BASIS = StatusWrite(
    0, "d@example.com", "102", Status.SUBSCRIBED, "CONSENT_WITH_NOTICE", "Signed up at the fair"
)


def _write(emu: Served, writes: list[StatusWrite]) -> list[WriteResult]:
    async def go() -> list[WriteResult]:
        async with _client(emu.url) as client:
            return await client.write(writes)

    return run(go())


def test_partial_failure_maps_each_input(emu: Served) -> None:
    """One batch: confirmed, failed by name (unknown id, no legal basis), in input order."""
    results = _write(emu, [GOOD, UNKNOWN, NO_BASIS, WITH_BASIS])
    assert [(r.outcome, r.reason) for r in results] == [
        (Outcome.CONFIRMED, "REQUESTED_CHANGE_OCCURRED"),
        (Outcome.FAILED, None),
        (Outcome.FAILED, None),
        (Outcome.CONFIRMED, "REQUESTED_CHANGE_OCCURRED"),
    ]
    assert results[1].error is not None and "999" in results[1].error
    assert results[2].error is not None and "legal basis" in results[2].error
    assert len({r.correlation_id for r in results}) == 1


def test_errors_that_name_no_input_leave_inputs_unconfirmed(emu: Served) -> None:
    """With error context off, HubSpot's errors name no email: both inputs UNCONFIRMED."""
    emu.admin("PATCH", "settings", {"error_context": False})
    results = _write(emu, [UNKNOWN, NO_BASIS])
    assert [r.outcome for r in results] == [Outcome.UNCONFIRMED, Outcome.UNCONFIRMED]
    assert {r.error for r in results} == {
        "VALIDATION_ERROR: Subscription 999 does not exist in portal 12345678 "
        "(and 1 more errors that name no input)"
    }


def test_unsubscribe_all_of_an_invalid_address_fails_it_alone(emu: Served) -> None:
    """An invalid address in an opt-out batch is FAILED; the valid one is CONFIRMED."""
    keys = [SubscriberKey(0, "a@example.com"), SubscriberKey(0, "not-an-email")]

    async def go() -> list[WriteResult]:
        async with _client(emu.url) as client:
            return await client.unsubscribe_all(keys)

    ok, bad = run(go())
    assert (ok.outcome, bad.outcome) == (Outcome.CONFIRMED, Outcome.FAILED)
    assert bad.error == "VALIDATION_ERROR: Invalid email address: 'not-an-email'"


def test_a_read_with_a_failed_chunk_names_exactly_the_unread(emu: Served) -> None:
    """When one chunk's status read fails for good, read raises naming only its subscribers."""
    emu.admin("POST", "faults", {"kind": "503", "operation": READ, "count": 1})
    emails = _emails(3)

    async def go() -> None:
        # One attempt, one request at a time: the first chunk's status read meets the 503.
        async with _client(emu.url, batch_size=2, concurrency=1, max_attempts=1) as client:
            await client.read({0: emails})

    with pytest.raises(TransportError) as caught:
        run(go())
    assert caught.value.unread == ((0, emails[0]), (0, emails[1]))
    assert caught.value.message.startswith("could not read 2 of 3 subscribers; first error: ")


# -- every error class ----------------------------------------------------------------------


def _read_error(
    emu: Served, emails: tuple[str, ...] = ("a@example.com",), **client: Any
) -> ApiError:
    async def go() -> None:
        async with _client(emu.url, **client) as c:
            await c.read({0: list(emails)})

    with pytest.raises(ApiError) as caught:
        run(go())
    return caught.value


def test_wrong_token_is_an_auth_error_naming_the_correlation_id(emu: Served) -> None:
    """A 401 over a socket is AuthError with HubSpot's correlationId, without the token."""
    error = _read_error(emu, token="pat-eu1-not-the-token")
    assert isinstance(error, AuthError)
    assert re.fullmatch(UUID, str(error.correlation_id))
    assert f"[correlationId {error.correlation_id}]" in error.one_line()
    assert "pat-eu1-not-the-token" not in error.one_line()


def test_token_without_scopes_is_a_scope_error_naming_them(emu: Served) -> None:
    """A 403 over a socket is ScopeError naming the missing batch-read scope (batch mode)."""
    error = _read_error(emu, token=READ_ONLY, api_mode="batch")
    assert isinstance(error, ScopeError)
    assert error.missing_scopes == ("communication_preferences.statuses.batch.read",)


def test_wrong_path_is_not_found(emu: Served) -> None:
    """A base URL with a wrong prefix gets a 404: NotFoundError."""
    error = _read_error(emu, prefix="/nothing-here")
    assert isinstance(error, NotFoundError)
    assert error.status_code == 404


def test_batch_over_the_limit_is_a_validation_error_with_hubspots_message(emu: Served) -> None:
    """A 400 over a socket is ApiError showing HubSpot's message, not retried."""
    emu.admin("PATCH", "settings", {"batch_limit": 1})
    error = _read_error(emu, ("a@example.com", "b@example.com"), batch_size=2)
    assert (type(error), error.status_code) == (ApiError, 400)
    assert error.message == (
        "could not read 2 of 2 subscribers; first error: "
        "POST /communication-preferences/2026-03/statuses/batch/read was refused: "
        "HubSpot answered 400 Bad Request: VALIDATION_ERROR: Too many inputs: "
        "2 were sent and at most 1 are allowed (at most 1 inputs)"
    )
    assert emu.admin("GET", "requests")["by_status"] == {"400": 2}


def test_daily_limit_is_a_rate_limit_error_without_retrying(emu: Served) -> None:
    """Over the daily cap: RateLimitError(DAILY) at once, one 429 served."""
    emu.admin("PATCH", "settings", {"daily_limit": 1})

    async def go() -> None:
        async with _client(emu.url) as client:
            await client.portal_id()
            await client.definitions()

    with pytest.raises(RateLimitError) as caught:
        run(go())
    assert caught.value.policy_name == "DAILY"
    assert caught.value.message.startswith("HubSpot's daily API limit is used up")
    assert emu.admin("GET", "requests")["by_status"] == {"200": 1, "429": 1}


def test_server_errors_that_never_end_are_a_transport_error(emu: Served) -> None:
    """When every attempt answers 503, the call raises TransportError after the attempts."""
    emu.admin("POST", "faults", {"kind": "503", "operation": "account_info", "count": 9})

    async def go() -> None:
        async with _client(emu.url, max_attempts=3) as client:
            await client.portal_id()

    with pytest.raises(TransportError, match="after 3 attempts"):
        run(go())
    assert emu.admin("GET", "requests")["by_status"] == {"503": 3}


def test_live_state_of_two_brands_reads_back_what_was_written(emu: Served) -> None:
    """Writes in two brands, then one read of both, agree over a real socket."""
    writes = [
        StatusWrite(5, "a@example.com", "201", Status.UNSUBSCRIBED),
        StatusWrite(0, "a@example.com", "101", Status.UNSUBSCRIBED),
    ]

    async def go() -> dict[PairKey, Status]:
        async with _client(emu.url) as client:
            await client.write(writes)
            live = await client.read({0: ["a@example.com"], 5: ["a@example.com"]})
        return {k: v.status for k, v in live.statuses.items() if v.status is Status.UNSUBSCRIBED}

    assert run(go()) == {w.key: Status.UNSUBSCRIBED for w in writes}
