"""The client against a hostile server over a real socket: it fails cleanly, within a
bounded time, with one line each, and the token goes nowhere but --api-url.

Every test bounds its own time (a short deadline and retry budget stand in for the
defaults, which the first size test keeps), so a regression fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from reconciler.client import HubSpotClient, RetryPolicy
from reconciler.client._http import MAX_ANSWER_BYTES
from reconciler.errors import ApiError, TransportError
from reconciler.model import Outcome, Status, StatusWrite

from . import hostile as h
from .conftest import TOKEN, make_settings

T = TypeVar("T")
A = StatusWrite(0, "a@example.com", "101", Status.UNSUBSCRIBED)
ACCOUNT = "GET /account-info/v3/details"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's own transport, straight to the hostile server."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


def _client(url: str, **kw: Any) -> HubSpotClient:
    values: dict[str, Any] = {
        "retry": RetryPolicy(max_attempts=3, base_delay=0.01, max_total=3.0, jitter=0.0),
        "deadline": 1.0,
        "max_answer_bytes": 1024 * 1024,
        "timeout": httpx.Timeout(5.0, connect=2.0),
    }
    values.update(kw)
    return HubSpotClient.from_settings(make_settings(api_url=url), **values)


def _against(
    behaviour: h.Behaviour,
    work: Callable[[HubSpotClient], Awaitable[T]],
    **kw: Any,
) -> tuple[T | BaseException, float, h.Hostile]:
    async def go() -> tuple[T | BaseException, float, h.Hostile]:
        async with h.hostile(behaviour) as server:
            began = time.monotonic()
            async with _client(server.url, **kw) as client:
                try:
                    outcome: T | BaseException = await work(client)
                except ApiError as exc:
                    outcome = exc
            return outcome, time.monotonic() - began, server

    return asyncio.run(go())


def _portal(client: HubSpotClient) -> Awaitable[int]:
    return client.portal_id()


def _one_line(error: object) -> str:
    assert isinstance(error, ApiError), error
    line = error.one_line()
    assert "\n" not in line
    assert TOKEN not in line
    return line


def test_a_server_that_drips_bytes_meets_the_deadline() -> None:
    """One byte every 50 ms never trips the per-read timeout; the deadline per attempt
    ends each, and the retry budget ends the call."""
    error, took, server = _against(h.drip, _portal)
    line = _one_line(error)
    assert isinstance(error, TransportError)
    assert f"{ACCOUNT} failed after 3 attempts: no answer from HubSpot (DeadlinePassed: " in line
    assert "no whole answer within the deadline of 1 s" in line
    assert len(server.seen) == 3
    assert took < 6.0


def test_an_endless_chunked_answer_is_cut_at_the_default_cap() -> None:
    """An answer that never ends is read up to the cap (64 MiB by default), not into
    memory without end; the error names the cap, and it is not asked again."""
    error, took, server = _against(
        h.endless_chunks, _portal, max_answer_bytes=MAX_ANSWER_BYTES, deadline=30.0
    )
    line = _one_line(error)
    assert line.startswith(
        f"{ACCOUNT}: HubSpot's answer is larger than the cap of 64 MiB (hsprefs stopped reading it)"
    )
    assert len(server.seen) == 1
    assert took < 20.0


def test_a_huge_declared_length_is_refused_before_reading() -> None:
    error, took, _server = _against(h.huge_length, _portal)
    assert _one_line(error).startswith(
        f"{ACCOUNT}: HubSpot's answer is larger than the cap of 1 MiB "
        "(it declared 400,000,000 bytes)"
    )
    assert took < 3.0


def test_a_huge_answer_to_a_write_leaves_its_inputs_unconfirmed() -> None:
    """The server answered, so it may have acted: the read-back decides."""
    results, _took, _server = _against(h.endless_chunks, lambda c: c.write([A]))
    assert isinstance(results, list)
    assert [r.outcome for r in results] == [Outcome.UNCONFIRMED]
    assert "larger than the cap of 1 MiB" in (results[0].error or "")


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_a_redirect_is_never_followed_and_the_token_goes_nowhere_else(code: int) -> None:
    """A redirect to another port: reported as a redirect, one line, and the other
    server never sees a request (so never the Authorization header)."""

    async def go() -> tuple[object, list[h.Request], list[h.Request]]:
        async with h.hostile(h.fixed(h.answer("200 OK", h.ACCOUNT))) as elsewhere:
            target = f"{elsewhere.url}/account-info/v3/details?x=1"
            async with h.hostile(h.redirect(code, target)) as server:
                async with _client(server.url) as client:
                    try:
                        outcome: object = await client.portal_id()
                    except ApiError as exc:
                        outcome = exc
                return outcome, server.seen, elsewhere.seen

    error, seen, elsewhere = asyncio.run(go())
    line = _one_line(error)
    port = int(target_port(line))
    assert line.startswith(
        f"{ACCOUNT}: HubSpot answered {code}, a redirect to http://127.0.0.1:{port}"
        "/account-info/v3/details; hsprefs does not follow redirects, so the token goes "
        "nowhere but --api-url"
    )
    assert len(seen) == 1
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert elsewhere == []


def target_port(line: str) -> str:
    return line.split("http://127.0.0.1:", 1)[1].split("/", 1)[0]


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (h.answer("200 OK", b"{not json"), "with a body that is not a JSON object"),
        (
            h.answer("200 OK", b"<html><body>Sign in</body></html>", "text/html"),
            "with a body that is not a JSON object",
        ),
        (h.answer("200 OK", b"[1, 2, 3]"), "with a body that is not a JSON object"),
        (h.answer("200 OK", b'{"portalId": "abc"}'), "portalId 'abc' is not a number"),
        (h.answer("200 OK", b'{"portalId": [1]}'), "HubSpot's answer has no portalId"),
        (h.answer("200 OK", b'{"portalId": true}'), "HubSpot's answer has no portalId"),
        (h.answer("200 OK", b'{"portalId": null}'), "HubSpot's answer has no portalId"),
    ],
)
def test_malformed_answers_fail_with_one_line(data: bytes, said: str) -> None:
    error, took, _server = _against(h.fixed(data), _portal)
    assert said in _one_line(error)
    assert took < 3.0


@pytest.mark.parametrize("behaviour", [h.reset_mid_body, h.garbage])
def test_resets_and_protocol_errors_are_retried_then_fail_cleanly(
    behaviour: h.Behaviour,
) -> None:
    error, took, server = _against(behaviour, _portal)
    line = _one_line(error)
    assert isinstance(error, TransportError)
    assert line.startswith(f"{ACCOUNT} failed after 3 attempts: no answer from HubSpot (")
    assert len(server.seen) == 3
    assert took < 5.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_server_that_is_gone_leaves_writes_not_sent() -> None:
    """Nothing listens: no attempt connected, so the call raises (stopping the run) with
    ``never_connected`` set, and nothing counts as possibly applied."""

    async def go() -> BaseException:
        async with _client(f"http://127.0.0.1:{_free_port()}") as client:
            with pytest.raises(TransportError) as caught:
                await client.write([A])
            return caught.value

    began = time.monotonic()
    error = asyncio.run(go())
    assert isinstance(error, TransportError)
    assert error.never_connected
    assert not error.may_have_applied
    assert "no answer from HubSpot (ConnectError" in _one_line(error)
    assert time.monotonic() - began < 5.0


def test_the_cap_holds_over_any_transport_and_for_a_compressed_body() -> None:
    """Over httpx's own transport too (the one tests and proxies use), the decoded body
    counts: a small gzip bomb of 4 MiB of spaces is cut at a 1 MiB cap."""
    import gzip

    bomb = gzip.compress(b" " * (4 * 1024 * 1024))
    data = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        + f"Content-Length: {len(bomb)}\r\n\r\n".encode()
        + bomb
    )
    error, _took, _server = _against(h.fixed(data), _portal, transport=httpx.AsyncHTTPTransport())
    assert _one_line(error).startswith(
        f"{ACCOUNT}: HubSpot's answer (200) is larger than the cap of 1 MiB "
        "(hsprefs stopped reading it)"
    )
