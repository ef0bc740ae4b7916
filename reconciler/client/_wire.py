"""HTTP/1.1 on asyncio streams: the transport under ``httpx`` for direct connections.

httpx's own transport (httpcore over anyio) spends several milliseconds of CPU per
request on this machine's loopback: a lock and a cancel scope per step, a readability
probe of every pooled connection before each request, and two socket writes per request.
The client sends thousands of small batch calls for a big portal, so that overhead was
most of ``plan``'s own CPU (bench/RESULTS.md). :class:`WireTransport` does the same job
with one write per request and a plain pool of idle connections:

* keep-alive connections per scheme, host and port; a connection is reused only when the
  server has not closed it and the last answer allowed it (``Connection: close``, an
  answer read to the end of the stream or an error retires it);
* TLS with the context httpx would use (:func:`httpx.create_ssl_context`);
* bodies by ``Content-Length``, ``Transfer-Encoding: chunked`` or up to the end of the
  stream; 1xx answers skipped; ``Content-Encoding`` decoded by httpx as usual;
* failures raised as httpx's own exceptions, with the same meaning the client relies on
  (docs/client.md): :class:`httpx.ConnectError` / :class:`httpx.ConnectTimeout` when no
  connection was made (nothing can have reached HubSpot), :class:`httpx.WriteError`,
  :class:`httpx.ReadTimeout`, :class:`httpx.ReadError` and
  :class:`httpx.RemoteProtocolError` once the request may have left;
* the timeouts of the request (``connect``, ``read``, ``write``).

Proxies are not its business: with ``trust_env`` httpx mounts its own proxy transports
for the URLs a proxy variable names, and only the rest come here. Tests that hand in a
transport (the in-process emulator) bypass it, as before.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque

import httpx

__all__ = ["WireTransport"]

_MAX_HEAD = 64 * 1024
_NO_BODY = frozenset({204, 304})


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def usable(self) -> bool:
        return not (self.reader.at_eof() or self.writer.is_closing())

    def close(self) -> None:
        self.writer.close()


class WireTransport(httpx.AsyncBaseTransport):
    """An ``httpx`` transport speaking HTTP/1.1 over asyncio streams (see the module)."""

    def __init__(self, *, max_idle: int = 32, ssl_context: ssl.SSLContext | None = None) -> None:
        self._idle: dict[tuple[str, str, int], deque[_Connection]] = {}
        self._max_idle = max_idle
        self._ssl = ssl_context

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        return self._ssl

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}")
        port = url.port or (443 if scheme == "https" else 80)
        origin = (scheme, url.host, port)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        body = request.content if isinstance(request.stream, httpx.ByteStream) else None
        if body is None:
            body = await request.aread()
        head = _request_head(request, body)
        pool = self._idle.setdefault(origin, deque())
        connection = None
        while pool and connection is None:
            kept = pool.pop()
            if kept.usable():
                connection = kept
            else:
                kept.close()  # the server closed it while it was idle
        if connection is None:
            connection = await self._connect(origin, timeouts.get("connect"))
        return await self._exchange(connection, origin, request, head + body, timeouts)

    async def _connect(self, origin: tuple[str, str, int], limit: float | None) -> _Connection:
        scheme, host, port = origin
        tls = self._tls() if scheme == "https" else None
        try:
            async with asyncio.timeout(limit):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=tls, server_hostname=host if tls else None, limit=_MAX_HEAD
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from None
        return _Connection(reader, writer)

    async def _exchange(
        self,
        connection: _Connection,
        origin: tuple[str, str, int],
        request: httpx.Request,
        message: bytes,
        timeouts: dict[str, float | None],
    ) -> httpx.Response:
        keep = False
        try:
            try:
                async with asyncio.timeout(timeouts.get("write")):
                    connection.writer.write(message)
                    await connection.writer.drain()
            except TimeoutError:
                raise httpx.WriteTimeout("sending the request timed out") from None
            except OSError as exc:
                raise httpx.WriteError(str(exc) or type(exc).__name__) from None
            try:
                async with asyncio.timeout(timeouts.get("read")):
                    status, headers, content, keep = await _read_answer(
                        connection.reader, request.method
                    )
            except TimeoutError:
                raise httpx.ReadTimeout("waiting for the answer timed out") from None
            except asyncio.IncompleteReadError as exc:
                # The request may have been processed all the same (httpcore's words).
                said = "the answer ended early" if exc.partial else "without sending a response"
                raise httpx.RemoteProtocolError(f"Server disconnected: {said}.") from None
            except (asyncio.LimitOverrunError, ValueError) as exc:
                raise httpx.RemoteProtocolError(f"a malformed answer: {exc}") from None
            except OSError as exc:
                raise httpx.ReadError(str(exc) or type(exc).__name__) from None
        finally:
            pool = self._idle.setdefault(origin, deque())
            if keep and connection.usable() and len(pool) < self._max_idle:
                pool.append(connection)
            else:
                connection.close()
        return httpx.Response(
            status,
            headers=headers,
            stream=httpx.ByteStream(content),
            extensions={"http_version": b"HTTP/1.1"},
            request=request,
        )

    async def aclose(self) -> None:
        for pool in self._idle.values():
            while pool:
                pool.pop().close()
        self._idle.clear()


def _request_head(request: httpx.Request, body: bytes) -> bytes:
    url = request.url
    lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), url.raw_path)]
    has_host = False
    for name, value in request.headers.raw:
        lower = name.lower()
        if lower == b"host":
            has_host = True
        elif lower in (b"content-length", b"transfer-encoding"):
            continue
        lines.append(name + b": " + value)
    if not has_host:
        lines.insert(1, b"Host: " + url.netloc)
    if body or request.method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def _read_answer(
    reader: asyncio.StreamReader, method: str
) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
    """Status, headers, body and whether the connection may carry another request."""
    while True:
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw[:-4].split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise httpx.RemoteProtocolError(f"not an HTTP/1.x answer: {lines[0][:80]!r}")
        status = int(parts[1])
        if status >= 200 or status == 101:
            break
    headers: list[tuple[bytes, bytes]] = []
    length: int | None = None
    chunked = False
    close = parts[0] == b"HTTP/1.0"
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise httpx.RemoteProtocolError("a malformed header line in the answer")
        value = value.strip()
        headers.append((name, value))
        lower = name.lower()
        if lower == b"content-length":
            length = int(value)
        elif lower == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif lower == b"connection":
            words = value.lower()
            close = b"close" in words or (close and b"keep-alive" not in words)
    if method == "HEAD" or status in _NO_BODY or 100 <= status < 200:
        return status, headers, b"", not close
    if chunked:
        return status, headers, await _chunks(reader), not close
    if length is not None:
        if length < 0:
            raise httpx.RemoteProtocolError("a negative Content-Length")
        return status, headers, await reader.readexactly(length), not close
    return status, headers, await reader.read(), False


async def _chunks(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            # Trailers (if any) end with an empty line.
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise httpx.RemoteProtocolError("a chunk without its line end")
