"""The client against the emulator over a real socket: limits, faults, token hygiene."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from reconciler.client import HubSpotClient, RetryPolicy
from reconciler.emulator import EmulatorSettings, serve_in_thread
from reconciler.errors import AuthError
from reconciler.model import Outcome, Status, StatusWrite, SubscriberKey

from .conftest import make_settings, run

SECRET = "pat-eu1-secret-0000-1111-2222-333333333333"


def _client(url: str, **kw: Any) -> HubSpotClient:
    timeout = kw.pop("timeout", None)
    return HubSpotClient.from_settings(
        make_settings(api_url=url, token=SECRET, **kw),
        retry=RetryPolicy.instant(),
        timeout=timeout,
    )


async def _admin(url: str, method: str, path: str, body: Any = None) -> Any:
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.request(method, f"/_emulator/{path}", json=body)
        response.raise_for_status()
        return response.json()


def test_read_over_a_socket_with_latency_and_a_short_window() -> None:
    """Real connections, latency and a 10-per-300 ms window: overlap, minimum calls, no 429."""
    emails = [f"s{i}@example.com" for i in range(40)]
    settings = EmulatorSettings(token=SECRET, rate_limit=10, rate_window_ms=300, latency_ms=40)

    async def go(url: str) -> tuple[int, int, dict[str, Any]]:
        async with _client(url, rate_limit=10, batch_size=4, concurrency=8) as client:
            live = await client.read({0: emails})
            assert len(live.opt_outs) == 40
            stats = client.stats
        return stats.rate_limited, stats.max_in_flight, await _admin(url, "GET", "requests")

    with serve_in_thread(settings) as url:
        limited, peak, seen = run(go(url))
    assert limited == 0
    assert peak == 8
    assert seen["by_status"] == {"200": 20}
    assert seen["by_operation"] == {
        "statuses.batch.read": 10,
        "statuses.batch.unsubscribe_all_read": 10,
    }


def test_dropped_connection_over_a_socket_is_retried() -> None:
    """A connection closed mid-answer is retried; the write is confirmed."""
    write = StatusWrite(0, "a@example.com", "101", Status.UNSUBSCRIBED)

    async def go(url: str) -> tuple[Outcome, int]:
        fault = {"kind": "drop", "operation": "statuses.batch.write", "count": 1}
        await _admin(url, "POST", "faults", fault)
        async with _client(url) as client:
            [result] = await client.write([write])
            return result.outcome, client.stats.retries

    with serve_in_thread(EmulatorSettings(token=SECRET)) as url:
        assert run(go(url)) == (Outcome.CONFIRMED, 1)


def test_timeout_over_a_socket_is_retried() -> None:
    """An answer slower than the client's timeout is retried; the next one wins."""

    async def go(url: str) -> tuple[bool, int]:
        fault = {"kind": "slow", "operation": "statuses.batch.read", "count": 1}
        await _admin(url, "POST", "faults", fault)
        async with _client(url, timeout=httpx.Timeout(0.3)) as client:
            live = await client.read({0: ["a@example.com"]})
            return live.opted_out(SubscriberKey(0, "a@example.com")), client.stats.retries

    with serve_in_thread(EmulatorSettings(token=SECRET, slow_ms=700)) as url:
        assert run(go(url)) == (False, 1)


def test_token_absent_from_all_output_and_logs(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reads, writes, retries and errors at DEBUG leave the token in no log or output."""
    caplog.set_level(logging.DEBUG)
    settings = EmulatorSettings(token=SECRET, latency_ms=2)

    async def go(url: str) -> list[str]:
        texts: list[str] = []
        await _admin(url, "POST", "faults", {"kind": "502", "count": 1})
        await _admin(url, "POST", "faults", {"kind": "drop", "count": 1})
        async with _client(url, batch_size=2) as client:
            texts.append(repr(client))
            texts.append(repr(client.settings))
            live = await client.read({0: ["a@example.com", "b@example.com", "c@example.com"]})
            texts.append(repr(live))
            results = await client.write(
                [
                    StatusWrite(0, "a@example.com", "101", Status.UNSUBSCRIBED),
                    StatusWrite(0, "a@example.com", "999", Status.UNSUBSCRIBED),
                ]
            )
            texts.extend(repr(r) for r in results)
            texts.append(repr(client.stats.as_dict()))
        bad = HubSpotClient.from_settings(make_settings(api_url=url, token=SECRET + "x"))
        async with bad:
            with pytest.raises(AuthError) as caught:
                await bad.portal_id()
        texts.append(caught.value.one_line())
        texts.append(repr(caught.value))
        return texts

    with serve_in_thread(settings) as url:
        texts = run(go(url))
    captured = capsys.readouterr()
    assert caplog.records, "expected DEBUG records from httpx, httpcore and the client"
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "retrying POST" in logged
    for text in [*texts, logged, captured.out, captured.err]:
        assert SECRET not in text
        assert SECRET[:20] not in text
