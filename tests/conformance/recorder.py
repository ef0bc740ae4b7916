"""An ASGI wrapper that records every answer an app gives, byte for byte.

:class:`Recording` sits between a client (Starlette's ``TestClient``, httpx's
``ASGITransport``, or uvicorn) and the emulator app, so what it captures is exactly
what went on the wire: status, content type and the full body, or a note that the
answer was cut short. Lifespan and other non-HTTP scopes pass straight through.
Imports the standard library, Starlette's ASGI types, and the suite's ``openapi``.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .openapi import Exchange

__all__ = ["Recording"]


class Recording:
    """Wrap ``app``; every HTTP exchange it serves is appended to ``exchanges``."""

    def __init__(self, app: ASGIApp, exchanges: list[Exchange] | None = None) -> None:
        self.app = app
        self.exchanges: list[Exchange] = exchanges if exchanges is not None else []

    @property
    def state(self) -> Any:
        """The wrapped app's state (``state.emulator`` for the emulator)."""
        return getattr(self.app, "state", None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0
        content_type = ""
        chunks: list[bytes] = []
        recorded = False

        def record(*, complete: bool) -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            self.exchanges.append(
                Exchange(
                    method=str(scope.get("method", "")).upper(),
                    path=scope.get("path", ""),
                    query=bytes(scope.get("query_string", b"")).decode("latin-1"),
                    status=status,
                    content_type=content_type,
                    body=b"".join(chunks),
                    complete=complete and status != 0,
                )
            )

        async def capture(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))
                if not message.get("more_body", False):
                    # Recorded before the last bytes leave, so a client over a socket
                    # never holds an answer the recording does not have yet.
                    record(complete=True)
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            record(complete=False)
