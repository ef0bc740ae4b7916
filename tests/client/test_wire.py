"""The client's own HTTP/1.1 transport, against a server that answers canned bytes."""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from reconciler.client._wire import WireTransport

from .conftest import run

Answer = Callable[[bytes], bytes | None]


@asynccontextmanager
async def _server(answer: Answer) -> AsyncIterator[tuple[str, list[bytes], list[int]]]:
    """A loopback server: ``answer`` turns each request into the bytes sent back (None
    closes the connection without a word). Yields the URL, the requests seen and the
    number of connections accepted (one list item per connection)."""
    seen: list[bytes] = []
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                request = head + await reader.readexactly(length)
                seen.append(request)
                reply = answer(request)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
                if b"Connection: close" in reply:
                    break
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", seen, connections
    finally:
        server.close()
        await server.wait_closed()


def _ok(body: bytes, *extra: bytes) -> bytes:
    head = [b"HTTP/1.1 200 OK", b"Content-Type: application/json", *extra]
    if not any(h.lower().startswith(b"transfer-encoding") for h in extra):
        head.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(head) + b"\r\n\r\n" + body


async def _post(url: str, transport: WireTransport, times: int = 1) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, transport=transport) as http:
        # The body as bytes: how httpx's json= spaces it changed between releases.
        body, kind = b'{"inputs":["a@example.com"]}', {"Content-Type": "application/json"}
        return [await http.post("/x?a=1", content=body, headers=kind) for _ in range(times)]


def test_keep_alive_reuses_one_connection_and_sends_the_request_whole() -> None:
    """Three requests travel on one connection; each is method, path with query, headers
    and the JSON body with its length."""

    async def go() -> tuple[list[httpx.Response], list[bytes], list[int]]:
        async with _server(lambda _r: _ok(b'{"ok": true}')) as (url, seen, conns):
            return await _post(url, WireTransport(), times=3), seen, conns

    answers, seen, conns = run(go())
    assert [a.json() for a in answers] == [{"ok": True}] * 3
    assert len(conns) == 1
    head, _, body = seen[0].partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"POST /x?a=1 HTTP/1.1"
    assert b"Content-Length: %d" % len(body) in head
    assert body == b'{"inputs":["a@example.com"]}'


CHUNKED = b'5\r\n{"n":\r\n3;x=y\r\n 1}\r\n0\r\nX-T: 1\r\n\r\n'


def test_chunked_and_gzip_answers_are_read_whole() -> None:
    """A chunked body (with a trailer) and a gzip-encoded one arrive decoded."""
    packed = gzip.compress(b'{"n": 2}')
    replies = iter(
        [
            _ok(CHUNKED, b"Transfer-Encoding: chunked"),
            _ok(packed, b"Content-Encoding: gzip"),
        ]
    )

    async def go() -> list[httpx.Response]:
        async with _server(lambda _r: next(replies)) as (url, _seen, _conns):
            return await _post(url, WireTransport(), times=2)

    first, second = run(go())
    assert first.json() == {"n": 1}
    assert second.json() == {"n": 2}


def test_connection_close_and_http_1_0_are_not_reused() -> None:
    """An answer saying Connection: close, or an HTTP/1.0 one, retires its connection."""
    replies = iter(
        [
            _ok(b"{}", b"Connection: close"),
            b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",
            _ok(b"{}"),
        ]
    )

    async def go() -> list[int]:
        async with _server(lambda _r: next(replies)) as (url, _seen, conns):
            await _post(url, WireTransport(), times=3)
            return conns

    assert len(run(go())) == 3


def test_informational_answers_are_skipped() -> None:
    """A 100 Continue before the answer is passed over."""

    async def go() -> httpx.Response:
        reply = b"HTTP/1.1 100 Continue\r\n\r\n" + _ok(b'{"a": 1}')
        async with _server(lambda _r: reply) as (url, _seen, _conns):
            return (await _post(url, WireTransport()))[0]

    assert run(go()).json() == {"a": 1}


def test_a_kept_connection_the_server_closed_is_not_used() -> None:
    """A connection the server closed while idle is dropped and a new one made."""
    replies = iter([_ok(b"{}"), None, _ok(b"{}")])

    async def go() -> tuple[int, list[int]]:
        transport = WireTransport()
        async with _server(lambda _r: next(replies)) as (url, _seen, conns):
            async with httpx.AsyncClient(base_url=url, transport=transport) as http:
                await http.get("/a")
                # The server drops the connection after its second request, unanswered.
                with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
                    await http.get("/b")
                answer = await http.get("/c")
            return answer.status_code, conns

    status, conns = run(go())
    assert status == 200
    assert len(conns) == 2


def test_no_server_is_a_connect_error() -> None:
    """Nobody listening: ConnectError, which the client knows reached nobody."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def go() -> None:
        await _post(f"http://127.0.0.1:{port}", WireTransport())

    with pytest.raises(httpx.ConnectError):
        run(go())


def test_an_answer_cut_short_is_a_protocol_error() -> None:
    """A body shorter than its Content-Length is an error, never a short body."""

    async def go() -> None:
        cut = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n{}"
        async with _server(lambda _r: cut) as (url, _seen, _conns):
            await _post(url, WireTransport())

    with pytest.raises(httpx.RemoteProtocolError, match="ended early"):
        run(go())


def test_garbage_is_a_protocol_error() -> None:
    """An answer that is not HTTP/1.x is refused."""

    async def go() -> None:
        async with _server(lambda _r: b"SSH-2.0-OpenSSH\r\n\r\n") as (url, _seen, _conns):
            await _post(url, WireTransport())

    with pytest.raises(httpx.RemoteProtocolError, match=r"not an HTTP/1\.x answer"):
        run(go())


def test_a_slow_answer_is_a_read_timeout() -> None:
    """The request's read timeout bounds the wait for the answer."""

    async def go() -> None:
        async with _server(lambda _r: b"") as (url, _seen, _conns):
            async with httpx.AsyncClient(
                base_url=url, transport=WireTransport(), timeout=httpx.Timeout(0.05)
            ) as http:
                await http.get("/slow")

    with pytest.raises(httpx.ReadTimeout):
        run(go())


def test_an_unknown_scheme_is_refused() -> None:
    """Only http and https are spoken."""

    async def go() -> None:
        async with httpx.AsyncClient(transport=WireTransport()) as http:
            await http.get("ftp://127.0.0.1/x")

    with pytest.raises(httpx.UnsupportedProtocol):
        run(go())
