"""The client's requests, sent past httpx's client layer (client/_request.py): the same
request line and headers as httpx builds, cookies kept and sent back, and a transport
failure that names its request."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from reconciler import __version__
from reconciler.client import HubSpotClient, RetryPolicy
from reconciler.client._request import Requests
from reconciler.errors import TransportError

from . import hostile as h
from .conftest import PREFIX, TOKEN, make_settings

_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def _client(url: str) -> HubSpotClient:
    return HubSpotClient.from_settings(
        make_settings(api_url=url),
        retry=RetryPolicy(max_attempts=1, base_delay=0.01, max_total=1.0, jitter=0.0),
        timeout=httpx.Timeout(5.0, connect=2.0),
    )


_READ = json.dumps(
    {"status": "COMPLETE", "results": [{"subscriberIdString": "a@example.com", "statuses": []}]}
).encode()


def _replies(*bodies: tuple[bytes, bytes]) -> h.Behaviour:
    """Answers in turn: each a body and extra header lines."""
    queue = list(bodies)

    async def send(_request: h.Request, writer: asyncio.StreamWriter) -> None:
        body, extra = queue.pop(0)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + extra
            + b"Content-Length: %d\r\n\r\n" % len(body)
            + body
        )

    return send


def test_a_batch_read_leaves_as_httpx_would_build_it() -> None:
    """Request line, query and headers as AsyncClient.build_request makes them, for a
    call with a JSON body and one without, twice each (the second from the kept URL)."""

    async def go() -> list[h.Request]:
        replies = [(_READ, b""), (_READ, b""), (h.ACCOUNT, b"")] * 2
        async with h.hostile(_replies(*replies)) as server, _client(server.url) as client:
            for _ in range(2):
                await client.read({0: ["a@example.com"]})
                client._portal_id = None
                await client.portal_id()
            return server.seen

    seen = asyncio.run(go())
    common = {
        "accept": "application/json",
        "accept-encoding": "gzip, deflate",
        "authorization": f"Bearer {TOKEN}",
        "connection": "keep-alive",
        "user-agent": f"hsprefs/{__version__}",
    }
    read, wide, account = seen[0], seen[1], seen[2]
    assert wide.line == (
        f"POST {PREFIX}/statuses/batch/unsubscribe-all/read?channel=EMAIL&businessUnitId=0 HTTP/1.1"
    )
    assert wide.headers == read.headers
    assert read.line == (
        f"POST {PREFIX}/statuses/batch/read?channel=EMAIL&businessUnitId=0 HTTP/1.1"
    )
    port = seen[0].headers["host"].rpartition(":")[2]
    assert read.headers == {
        **common,
        "host": f"127.0.0.1:{port}",
        "content-type": "application/json",
        "content-length": str(len(b'{"inputs":["a@example.com"]}')),
    }
    assert account.line == "GET /account-info/v3/details HTTP/1.1"
    assert account.headers == {**common, "host": f"127.0.0.1:{port}"}
    assert seen[3:] == seen[:3]


def test_the_requests_match_build_request_exactly() -> None:
    """Same method, URL and header list (order included) as httpx's own builder."""

    async def go() -> None:
        client = _client("http://127.0.0.1:9/gateway")
        http: httpx.AsyncClient = client._http
        requests = Requests(http)
        params: dict[str, str | int] = {"channel": "EMAIL", "businessUnitId": 5, "verbose": "true"}
        for method, path, query, content in [
            ("POST", f"{PREFIX}/statuses/batch/write", None, b'{"inputs":[]}'),
            ("POST", f"{PREFIX}/statuses/batch/unsubscribe-all", params, b'{"inputs":[]}'),
            ("GET", "/account-info/v3/details", None, None),
            ("GET", f"{PREFIX}/statuses/a%40example.com", params, None),
        ]:
            for _ in range(2):
                ours = requests.build(method, path, query, content)
                theirs = http.build_request(
                    method,
                    path,
                    params=query,
                    content=content,
                    headers={"Content-Type": "application/json"} if content else None,
                )
                assert (ours.method, ours.url, ours.headers.raw, ours.content) == (
                    theirs.method,
                    theirs.url,
                    theirs.headers.raw,
                    theirs.content,
                )
                assert ours.extensions == theirs.extensions
        assert str(ours.url) == (
            f"http://127.0.0.1:9/gateway{PREFIX}/statuses/a%40example.com"
            "?channel=EMAIL&businessUnitId=5&verbose=true"
        )
        await client.aclose()

    asyncio.run(go())


def test_a_cookie_the_server_sets_is_sent_back() -> None:
    """As under httpx's client: the jar keeps it, and later requests carry it."""

    async def go() -> list[h.Request]:
        replies = [(h.ACCOUNT, b"Set-Cookie: visit=abc; Path=/\r\n")] + [(_READ, b"")] * 4
        async with h.hostile(_replies(*replies)) as server, _client(server.url) as client:
            await client.portal_id()
            await client.read({0: ["a@example.com"]})
            await client.read({0: ["a@example.com"]})
            return server.seen

    seen = asyncio.run(go())
    assert [r.headers.get("cookie") for r in seen] == [None] + ["visit=abc"] * 4
    assert all(r.headers["content-type"] == "application/json" for r in seen[1:])


def test_a_failed_connection_names_its_request() -> None:
    """The transport's exception carries the request, as httpx's client attaches it."""
    caught: list[Any] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    async def go() -> None:
        client = HubSpotClient.from_settings(
            make_settings(),
            transport=httpx.MockTransport(refuse),
            retry=RetryPolicy(max_attempts=1, base_delay=0.01, max_total=1.0, jitter=0.0),
        )
        async with client:
            requests = Requests(client._http)
            request = requests.build("GET", "/account-info/v3/details", None, None)
            try:
                await requests.send(request)
            except httpx.ConnectError as exc:
                caught.append(exc.request)
            with pytest.raises(TransportError, match="no answer from HubSpot"):
                await client.portal_id()

    asyncio.run(go())
    assert [str(r.url) for r in caught] == ["https://api.hubapi.com/account-info/v3/details"]
