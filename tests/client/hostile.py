"""A small hostile HTTP server for the client's tests: raw bytes over a real socket.

Each behaviour is a coroutine that gets the request (its first line and headers) and
the stream to write to, and misbehaves as a broken proxy, a wrong ``--api-url`` or an
attacker would: dripping bytes, endless or huge bodies, redirects, HTML, bad JSON,
resets, garbage instead of HTTP. The server records every request it saw (with its
headers), so a test can tell that a request, or its token, never reached it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

Behaviour = Callable[["Request", asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Request:
    """One request the server read: its first line and its headers (lower-cased names)."""

    line: str
    headers: dict[str, str]


@dataclass
class Hostile:
    """A running server: its port, what it saw."""

    port: int
    seen: list[Request] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    first, *rest = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in rest:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    if length:
        with contextlib.suppress(asyncio.IncompleteReadError):
            await reader.readexactly(length)
    return Request(first, headers)


@contextlib.asynccontextmanager
async def hostile(behaviour: Behaviour) -> AsyncIterator[Hostile]:
    """Serve ``behaviour`` on a free loopback port while the block runs."""
    server_state = Hostile(0)
    tasks: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            while (request := await _read_request(reader)) is not None:
                server_state.seen.append(request)
                await behaviour(request, writer)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    server_state.port = server.sockets[0].getsockname()[1]
    try:
        yield server_state
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


def answer(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode("ascii") + body


ACCOUNT = json.dumps({"portalId": 12345678}).encode()


async def drip(_request: Request, writer: asyncio.StreamWriter) -> None:
    """A status line, headers and body, one byte every 50 ms, for ever (repeating)."""
    data = answer("200 OK", ACCOUNT * 1000)
    while True:
        for byte in data:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.05)


async def endless_chunks(_request: Request, writer: asyncio.StreamWriter) -> None:
    """A 200 with a chunked JSON body that never ends."""
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    writer.write(b"Transfer-Encoding: chunked\r\n\r\n")
    piece = b" " * 65536
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    writer.write(b"1\r\n{\r\n")
    while True:
        writer.write(chunk)
        await writer.drain()


async def huge_length(_request: Request, writer: asyncio.StreamWriter) -> None:
    """A 200 that declares a 400 MB body (and sends a little of it)."""
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400000000\r\n\r\n{"
    )
    await writer.drain()
    await asyncio.sleep(30)


def redirect(code: int, location: str) -> Behaviour:
    async def send(_request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(
            f"HTTP/1.1 {code} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode()
        )

    return send


def fixed(data: bytes) -> Behaviour:
    async def send(_request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(data)

    return send


async def reset_mid_body(_request: Request, writer: asyncio.StreamWriter) -> None:
    """Headers for 1,000 bytes, ten of them, then the connection is dropped."""
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    writer.write(b"Content-Length: 1000\r\n\r\n")
    writer.write(b'{"portalId')
    await writer.drain()
    transport = writer.transport
    transport.abort()
    raise ConnectionResetError


async def garbage(_request: Request, writer: asyncio.StreamWriter) -> None:
    """Not HTTP at all."""
    writer.write(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
    await writer.drain()
    writer.transport.abort()
    raise ConnectionResetError
