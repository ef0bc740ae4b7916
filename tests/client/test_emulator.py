"""The client against the emulator in-process: chunking, overlap, limits, faults, errors."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

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

from .conftest import run
from .emulated import CountingTransport, admin, calls, client_for, counts, emulator

READ = "statuses.batch.read"
WIDE = "statuses.batch.unsubscribe_all_read"
WRITE = "statuses.batch.write"
OPT_OUT = "statuses.batch.unsubscribe_all"


def _emails(n: int) -> list[str]:
    return [f"person{i:04d}@example.com" for i in range(n)]


@pytest.mark.parametrize("n", [0, 1, 100, 101, 250])
def test_read_makes_the_minimum_calls(n: int) -> None:
    """N subscribers of one brand take ceil(N/100) status reads and as many wide reads."""

    async def go() -> dict[str, int]:
        with emulator() as app:
            async with client_for(app) as client:
                live = await client.read({0: _emails(n)})
                assert len(live.opt_outs) == n
            return await counts(app)

    expected = {READ: calls(n), WIDE: calls(n)} if n else {}
    assert run(go()) == expected


@pytest.mark.parametrize("n", [0, 1, 100, 101, 250])
def test_write_makes_the_minimum_calls(n: int) -> None:
    """N writes take ceil(N/100) batch writes, every one confirmed, in input order."""
    writes = [StatusWrite(0, e, "101", Status.UNSUBSCRIBED) for e in _emails(n)]

    async def go() -> tuple[list[WriteResult], dict[str, int]]:
        with emulator() as app:
            async with client_for(app) as client:
                results = await client.write(writes)
            return results, await counts(app)

    results, seen = run(go())
    assert seen == ({WRITE: calls(n)} if n else {})
    assert [r.target for r in results] == writes
    assert all(r.outcome is Outcome.CONFIRMED for r in results)


@pytest.mark.parametrize("n", [0, 1, 100, 101, 250])
def test_unsubscribe_all_makes_the_minimum_calls(n: int) -> None:
    """N opt-outs split over two brands take ceil(N_b/100) calls per brand."""
    keys = [SubscriberKey(0 if i % 2 else 5, e) for i, e in enumerate(_emails(n))]
    per_brand = {b: sum(1 for k in keys if k.brand == b) for b in (0, 5)}

    async def go() -> tuple[list[WriteResult], dict[str, int]]:
        with emulator() as app:
            async with client_for(app) as client:
                results = await client.unsubscribe_all(keys)
            return results, await counts(app)

    results, seen = run(go())
    expected = calls(per_brand[0]) + calls(per_brand[5])
    assert seen == ({OPT_OUT: expected} if n else {})
    assert [r.target for r in results] == keys
    assert all(r.outcome is Outcome.CONFIRMED for r in results)


def test_requests_overlap_up_to_the_concurrency() -> None:
    """With latency, concurrent chunks really are in flight together."""

    async def go() -> tuple[int, int]:
        with emulator(latency_ms=20) as app:
            counting = CountingTransport(httpx.ASGITransport(app=app))
            async with client_for(app, transport=counting, batch_size=10, concurrency=4) as client:
                await client.read({0: _emails(100)})
                return counting.peak, client.stats.max_in_flight

    assert run(go()) == (4, 4)


def test_rate_limit_respected_with_a_short_window() -> None:
    """Configured to the emulator's 8 per 200 ms, 30 calls get no 429."""

    async def go() -> tuple[int, dict[str, Any]]:
        with emulator(rate_limit=8, rate_window_ms=200) as app:
            async with client_for(
                app, fake_time=False, rate_limit=8, batch_size=1, concurrency=8
            ) as client:
                await client.read({0: _emails(15)})
                rate_limited = client.stats.rate_limited
            return rate_limited, (await admin(app, "GET", "requests"))["by_status"]

    assert run(go()) == (0, {"200": 30})


def test_rate_limit_learned_from_headers() -> None:
    """Unconfigured, the client takes max and window from the headers: still no 429."""

    async def go() -> tuple[int, int, float, dict[str, Any]]:
        with emulator(rate_limit=6, rate_window_ms=150) as app:
            async with client_for(
                app, fake_time=False, rate_limit=None, batch_size=1, concurrency=2
            ) as client:
                await client.read({0: _emails(12)})
                info = client.limiter.info()
                rate_limited = client.stats.rate_limited
            by_status = (await admin(app, "GET", "requests"))["by_status"]
            return rate_limited, info.max_requests, info.window, by_status

    assert run(go()) == (0, 6, 0.15, {"200": 24})


@pytest.mark.parametrize("kind", ["500", "502", "503", "504", "429", "drop", "slow", "pending"])
@pytest.mark.parametrize("operation", [READ, WIDE])
def test_every_fault_on_a_read_is_survived(kind: str, operation: str) -> None:
    """Each fault kind hitting a read is retried and the read completes."""

    async def go() -> tuple[bool, int, dict[str, int]]:
        with emulator(slow_ms=5) as app:
            await admin(app, "POST", "faults", {"kind": kind, "operation": operation, "count": 2})
            async with client_for(app) as client:
                live = await client.read({0: _emails(3)})
                retries = client.stats.retries
            return live.opted_out(SubscriberKey(0, _emails(3)[0])), retries, await counts(app)

    opted_out, retries, seen = run(go())
    slow = kind == "slow"  # answers late but fine: nothing to retry
    assert opted_out is False
    assert retries == (0 if slow else 2)
    assert seen[operation] == (1 if slow else 3)


@pytest.mark.parametrize("kind", ["500", "502", "503", "504", "429", "drop"])
def test_every_transport_fault_on_a_write_is_survived(kind: str) -> None:
    """A write batch hit by a fault is sent again (safe: it sets) and is confirmed."""
    write = StatusWrite(0, "a@example.com", "101", Status.UNSUBSCRIBED)

    async def go() -> tuple[list[WriteResult], Any]:
        with emulator() as app:
            await admin(app, "POST", "faults", {"kind": kind, "operation": WRITE, "count": 1})
            async with client_for(app) as client:
                results = await client.write([write])
                live = await client.read({0: ["a@example.com"]})
            return results, live.status_of(PairKey(0, "a@example.com", "101"))

    results, status = run(go())
    assert [r.outcome for r in results] == [Outcome.CONFIRMED]
    assert status is Status.UNSUBSCRIBED


UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_pending_write_is_unconfirmed() -> None:
    """A write answered PENDING is not final: UNCONFIRMED, for verification to decide."""
    write = StatusWrite(0, "a@example.com", "101", Status.UNSUBSCRIBED)

    async def go() -> list[WriteResult]:
        with emulator() as app:
            await admin(app, "POST", "faults", {"kind": "pending", "operation": WRITE})
            async with client_for(app) as client:
                return await client.write([write])

    [result] = run(go())
    assert result == WriteResult(
        write,
        Outcome.UNCONFIRMED,
        error="HubSpot answered PENDING: the results are not final",
        correlation_id=result.correlation_id,
    )
    assert re.fullmatch(UUID, str(result.correlation_id))


def test_a_confirmed_write_carries_the_answer_s_correlation_id() -> None:
    """HubSpot names every answer; a confirmed result keeps the id, for the journal."""
    write = StatusWrite(0, "a@example.com", "101", Status.UNSUBSCRIBED)

    async def go() -> list[WriteResult]:
        with emulator() as app:
            async with client_for(app) as client:
                return await client.write([write, write])

    first, second = run(go())
    assert first.outcome is Outcome.CONFIRMED
    assert re.fullmatch(UUID, str(first.correlation_id))
    assert second.correlation_id == first.correlation_id  # one call, one answer


def test_a_lying_write_is_caught_only_by_reading_back() -> None:
    """A write answered as applied but not applied: confirmed, and a read shows the truth."""
    write = StatusWrite(0, "a@example.com", "101", Status.UNSUBSCRIBED)

    async def go() -> tuple[Outcome, Status]:
        with emulator() as app:
            await admin(app, "POST", "faults", {"kind": "lie", "operation": WRITE})
            async with client_for(app) as client:
                [result] = await client.write([write])
                live = await client.read({0: ["a@example.com"]})
            return result.outcome, live.status_of(write.key)

    assert run(go()) == (Outcome.CONFIRMED, Status.NOT_SPECIFIED)


def test_partial_failure_maps_each_input() -> None:
    """In one batch: confirmed, failed by name (unknown id, no legal basis), in order."""
    good = StatusWrite(0, "a@example.com", "101", Status.UNSUBSCRIBED)
    unknown = StatusWrite(0, "b@example.com", "999", Status.UNSUBSCRIBED)
    no_basis = StatusWrite(0, "c@example.com", "102", Status.SUBSCRIBED)
    with_basis = StatusWrite(
        0, "d@example.com", "102", Status.SUBSCRIBED, "CONSENT_WITH_NOTICE", "Signed up at the fair"
    )

    async def go() -> list[WriteResult]:
        with emulator() as app:
            async with client_for(app) as client:
                return await client.write([good, unknown, no_basis, with_basis])

    results = run(go())
    assert [r.outcome for r in results] == [
        Outcome.CONFIRMED,
        Outcome.FAILED,
        Outcome.FAILED,
        Outcome.CONFIRMED,
    ]
    assert results[1].error is not None and "999" in results[1].error
    assert results[2].error is not None and "legal basis" in results[2].error
    assert results[3].reason == "REQUESTED_CHANGE_OCCURRED"


def test_errors_that_name_no_input_leave_inputs_unconfirmed() -> None:
    """With error context off HubSpot's messages name no email: both stay UNCONFIRMED."""
    unknown = StatusWrite(0, "b@example.com", "999", Status.UNSUBSCRIBED)
    no_basis = StatusWrite(0, "c@example.com", "102", Status.SUBSCRIBED)

    async def go() -> list[WriteResult]:
        with emulator(error_context=False) as app:
            async with client_for(app) as client:
                return await client.write([unknown, no_basis])

    results = run(go())
    assert [r.outcome for r in results] == [Outcome.UNCONFIRMED, Outcome.UNCONFIRMED]
    assert {r.error for r in results} == {
        "VALIDATION_ERROR: Subscription 999 does not exist in portal 12345678 "
        "(and 1 more errors that name no input)"
    }


def test_unsubscribe_all_of_an_invalid_address_fails_it_alone() -> None:
    """An invalid address is FAILED; the valid one in the same batch is CONFIRMED."""
    keys = [SubscriberKey(0, "a@example.com"), SubscriberKey(0, "not-an-email")]

    async def go() -> list[WriteResult]:
        with emulator() as app:
            async with client_for(app) as client:
                return await client.unsubscribe_all(keys)

    ok, bad = run(go())
    assert ok.outcome is Outcome.CONFIRMED
    assert bad.outcome is Outcome.FAILED
    assert bad.error == "VALIDATION_ERROR: Invalid email address: 'not-an-email'"


# -- every error class ------------------------------------------------------------------


def _portal_error(app_settings: dict[str, Any], **client: Any) -> ApiError:
    async def go() -> None:
        with emulator(**app_settings) as app:
            async with client_for(app, **client) as c:
                await c.read({0: ["a@example.com"]})

    with pytest.raises(ApiError) as caught:
        run(go())
    return caught.value


def test_wrong_token_is_an_auth_error() -> None:
    """The emulator's 401 becomes AuthError naming correlationId."""
    error = _portal_error({}, token="not-the-token")
    assert isinstance(error, AuthError)
    assert error.correlation_id


def test_token_without_scopes_is_a_scope_error() -> None:
    """In batch mode a token lacking the batch-read scope gets ScopeError naming it."""
    seed = {
        "version": 1,
        "portal": {"id": 1},
        "definitions": [{"id": "101", "name": "N"}],
        "tokens": [{"token": "tok-readonly", "scopes": ["communication_preferences.read"]}],
    }
    error = _portal_error({"seed": seed}, token="tok-readonly", api_mode="batch")
    assert isinstance(error, ScopeError)
    assert error.missing_scopes == ("communication_preferences.statuses.batch.read",)


def test_wrong_path_is_not_found() -> None:
    """A base URL with a wrong prefix gets NotFoundError."""
    error = _portal_error({}, api_url="http://127.0.0.1/nothing-here")
    assert isinstance(error, NotFoundError)


def test_batch_over_the_limit_is_a_validation_error() -> None:
    """A batch larger than HubSpot accepts is refused with HubSpot's message."""

    async def go() -> None:
        with emulator(batch_limit=1) as app:
            async with client_for(app, batch_size=2) as c:
                await c.read({0: ["a@example.com", "b@example.com"]})

    with pytest.raises(ApiError) as caught:
        run(go())
    assert type(caught.value) is ApiError
    assert caught.value.status_code == 400
    assert caught.value.message == (
        "could not read 2 of 2 subscribers; first error: "
        "POST /communication-preferences/2026-03/statuses/batch/read was refused: "
        "HubSpot answered 400 Bad Request: VALIDATION_ERROR: Too many inputs: "
        "2 were sent and at most 1 are allowed (at most 1 inputs)"
    )


def test_daily_limit_is_a_rate_limit_error() -> None:
    """The daily cap raises RateLimitError(DAILY) without retrying."""

    async def go() -> tuple[RateLimitError, dict[str, int]]:
        with emulator(daily_limit=1) as app:
            async with client_for(app) as client:
                await client.portal_id()
                with pytest.raises(RateLimitError) as caught:
                    await client.definitions()
            return caught.value, (await admin(app, "GET", "requests"))["by_status"]

    error, by_status = run(go())
    assert error.policy_name == "DAILY"
    assert by_status == {"200": 1, "429": 1}


def test_server_errors_that_never_end_are_a_transport_error() -> None:
    """When every attempt fails, the read raises TransportError after the retries."""

    async def go() -> None:
        with emulator() as app:
            await admin(app, "POST", "faults", {"kind": "503", "operation": READ, "count": 99})
            async with client_for(app, max_attempts=3) as client:
                await client.read({0: ["a@example.com"]})

    with pytest.raises(TransportError, match="after 3 attempts"):
        run(go())


def test_concurrent_reads_of_two_brands_and_writes_stay_consistent() -> None:
    """A write then a read of two brands sees exactly what was written."""
    writes = [
        StatusWrite(5, "a@example.com", "201", Status.UNSUBSCRIBED),
        StatusWrite(0, "a@example.com", "101", Status.UNSUBSCRIBED),
    ]

    async def go() -> dict[PairKey, Status]:
        with emulator() as app:
            async with client_for(app) as client:
                await client.write(writes)
                live = await client.read({0: ["a@example.com"], 5: ["a@example.com"]})
            return {
                k: v.status for k, v in live.statuses.items() if v.status is Status.UNSUBSCRIBED
            }

    assert run(go()) == {w.key: Status.UNSUBSCRIBED for w in writes}


def test_fault_tests_do_not_leak_tasks() -> None:
    """After a fatal error mid-read, no request is left running."""

    async def go() -> int:
        with emulator(latency_ms=5) as app:
            async with client_for(app, token="wrong", batch_size=1) as client:
                with pytest.raises(AuthError):
                    await client.read({0: _emails(20)})
            await asyncio.sleep(0.05)
            return len([t for t in asyncio.all_tasks() if t is not asyncio.current_task()])

    assert run(go()) == 0


@pytest.mark.parametrize("style", ["empty", "explicit"])
def test_wide_status_styles_read_the_same(style: str) -> None:
    """Whether HubSpot lists nothing or SUBSCRIBED for the not-opted-out, the reading agrees."""

    async def go() -> tuple[bool, bool]:
        with emulator(wide_status_style=style) as app:
            async with client_for(app) as client:
                await client.unsubscribe_all([SubscriberKey(0, "out@example.com")])
                live = await client.read({0: ["in@example.com", "out@example.com"]})
            return (
                live.opted_out(SubscriberKey(0, "in@example.com")),
                live.opted_out(SubscriberKey(0, "out@example.com")),
            )

    assert run(go()) == (False, True)
