"""The emulator as an ASGI app: the request pipeline, the routes and :func:`create_app`.

Every HubSpot operation runs the same pipeline (:class:`Operation`): count it, wait the
configured latency, authenticate, take a rate-limit slot, authorise the scopes, draw a
fault, then run the handler inside a store transaction, log the call's write inputs
(whatever became of the call) and answer with HubSpot's headers. The admin surface
(:mod:`reconciler.emulator.admin`) bypasses all of it. The state every request works on
is the :class:`~reconciler.emulator.instance.Emulator` in ``app.state.emulator``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message, Receive, Scope, Send

from reconciler.emulator import admin, routes, routes_v3
from reconciler.emulator.auth import authenticate, authorize
from reconciler.emulator.instance import Emulator
from reconciler.emulator.invocation import Invocation, bad_request
from reconciler.emulator.knobs import EmulatorSettings
from reconciler.emulator.limiter import ROLLING, rate_limit_error
from reconciler.emulator.operations import OPERATIONS, UNKNOWN_OPERATION, OperationSpec
from reconciler.emulator.recorder import PendingWrite
from reconciler.emulator.wire import HubSpotError, Reply
from reconciler.emulator.writelog import unhandled_writes

__all__ = ["DroppedConnection", "Emulator", "create_app"]

log = logging.getLogger("reconciler.emulator")

_EARLY_FAULTS = ("500", "502", "503", "429")
_GATEWAY_HTML = (
    "<html><head><title>{code} {text}</title></head><body><center><h1>{code} {text}</h1>"
    "</center><hr><center>emulated gateway</center></body></html>"
)


class DroppedConnection(httpx.RemoteProtocolError):
    """The "drop" fault: the connection closes in the middle of the answer.

    Over a socket the client sees a truncated response; in-process (``ASGITransport``)
    this exception reaches the client, which handles it like any transport failure.
    """

    def __init__(self) -> None:
        super().__init__("the emulator dropped the connection (injected fault)")


async def _read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise bad_request("Invalid input JSON: the request body is empty")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad_request("Invalid input JSON: the body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise bad_request(
            f"Invalid input JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise bad_request("Invalid input JSON: nested too deeply") from None


def _gateway(code: int, text: str) -> Reply:
    return Reply(code, _GATEWAY_HTML.format(code=code, text=text), content_type="text/html")


def _early_fault(kind: str, emu: Emulator, headers: dict[str, str]) -> Reply:
    if kind == "500":
        return HubSpotError(500, "INTERNAL_ERROR", "internal error (injected fault)").reply()
    if kind == "502":
        return _gateway(502, "Bad Gateway")
    if kind == "503":
        return HubSpotError(
            503, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable (injected fault)"
        ).reply()
    return rate_limit_error(ROLLING, 1.0, emu.settings, headers).reply()


async def _send(reply: Reply, send: Send, *, drop: bool = False) -> None:
    if reply.content_type.startswith("application/json"):
        payload = json.dumps(reply.body).encode()
    else:
        payload = str(reply.body).encode()
    headers = [
        (b"content-type", reply.content_type.encode()),
        (b"content-length", str(len(payload)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in reply.headers.items()),
    ]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    if drop:
        await send(
            {"type": "http.response.body", "body": payload[: len(payload) // 2], "more_body": True}
        )
        raise DroppedConnection
    await send({"type": "http.response.body", "body": payload})


class Operation:
    """The ASGI endpoint of one HubSpot operation under one API version."""

    def __init__(
        self,
        spec: OperationSpec,
        handler: Callable[[Invocation], Reply],
        version: str,
        *,
        body: bool,
    ) -> None:
        self.spec = spec
        self.handler = handler
        self.version = version
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        emu: Emulator = scope["app"].state.emulator
        seen = "none"
        counted = False

        def count(status: str) -> None:
            nonlocal counted
            if not counted:
                counted = True
                emu.recorder.count(self.spec.name, self.version, status)

        async def tracked(message: Message) -> None:
            nonlocal seen
            if message["type"] == "http.response.start":
                seen = str(message["status"])
            elif not message.get("more_body", False):
                # Count before the last byte leaves, so a client that has its answer
                # always finds the request counted.
                count(seen)
            await send(message)

        try:
            await self._serve(emu, Request(scope, receive), tracked)
        except DroppedConnection:
            count("dropped")
            raise
        finally:
            count(seen)

    async def _serve(self, emu: Emulator, request: Request, send: Send) -> None:
        await emu.pause()
        settings = emu.settings
        started = emu.clock_now()
        headers: dict[str, str] = {}
        fault: str | None = None
        # The handler notes each write input here; ``handled`` says it ran to the end,
        # so its notes stand (otherwise its transaction was rolled back).
        writes: list[PendingWrite] = []
        handled = False
        try:
            token, scopes = authenticate(request.headers.get("authorization"), emu.tokens)
            decision = emu.limiter.hit(token, settings, time_zone=emu.portal.view.seed.time_zone)
            headers = decision.headers
            if not decision.allowed:
                assert decision.policy is not None
                raise rate_limit_error(decision.policy, decision.wait_seconds, settings, headers)
            authorize(scopes, self.spec)
            fault = emu.faults.draw(self.spec, settings)
            if fault in _EARLY_FAULTS:
                reply = _early_fault(fault, emu, headers)
            else:
                reply = await self._handle(
                    emu, request, token, fault=fault, started=started, writes=writes
                )
                handled = True
        except HubSpotError as exc:
            reply = exc.reply()
        except Exception:
            log.exception("emulator bug while serving %s", self.spec.name)
            reply = HubSpotError(500, "INTERNAL_ERROR", "internal error").reply()
        if self.spec.writes:
            if not handled:
                writes = unhandled_writes(
                    self.spec.name,
                    reply,
                    writes,
                    raw=await request.body(),
                    path=request.path_params,
                    query=request.query_params,
                    view=emu.portal.view,
                )
            emu.recorder.log_call(
                writes,
                operation=self.spec.name,
                version=self.version,
                at=started,
                status=reply.status,
                fault=fault,
            )
        reply.headers.update(headers)
        # HubSpot names every answer, not only errors, with a correlation id; clients
        # record it (the journal does for each write).
        if not any(name.lower() == "x-hubspot-correlation-id" for name in reply.headers):
            reply.headers["X-HubSpot-Correlation-Id"] = str(uuid.uuid4())
        if fault == "slow":
            await emu.sleep(settings.slow_ms / 1000)
        await _send(reply, send, drop=fault == "drop")

    async def _handle(
        self,
        emu: Emulator,
        request: Request,
        token: str,
        *,
        fault: str | None,
        started: str,
        writes: list[PendingWrite],
    ) -> Reply:
        body = await _read_json(request) if self.body else None
        call = Invocation(
            emu=emu,
            operation=self.spec.name,
            version=self.version,
            query=request.query_params,
            path=request.path_params,
            body=body,
            started=started,
            token=token,
            lie=fault == "lie",
            writes=writes,
        )
        with emu.store.transaction(commit=fault != "lie"):
            reply = self.handler(call)
        if fault == "pending" and isinstance(reply.body, dict):
            reply.status = 200
            reply.body["status"] = "PENDING"
            reply.body["results"] = []
            reply.body.pop("errors", None)
            reply.body.pop("numErrors", None)
        elif fault == "504":
            reply = _gateway(504, "Gateway Time-out")
        return reply


# (method, path, operation, has a JSON body)
_V4_PATHS = (
    ("GET", "/definitions", "definitions", False),
    ("POST", "/statuses/batch/read", "statuses.batch.read", True),
    ("POST", "/statuses/batch/write", "statuses.batch.write", True),
    ("POST", "/statuses/batch/unsubscribe-all/read", "statuses.batch.unsubscribe_all_read", True),
    ("POST", "/statuses/batch/unsubscribe-all", "statuses.batch.unsubscribe_all", True),
    (
        "GET",
        "/statuses/{subscriberIdString}/unsubscribe-all",
        "statuses.unsubscribe_all_read",
        False,
    ),
    ("POST", "/statuses/{subscriberIdString}/unsubscribe-all", "statuses.unsubscribe_all", False),
    ("GET", "/statuses/{subscriberIdString}", "statuses.read", False),
    ("POST", "/statuses/{subscriberIdString}", "statuses.write", True),
    ("POST", "/links/generate", "links.generate", True),
)
_LEGACY_PATHS = (
    ("GET", "/status/email/{emailAddress}", "v3.status", False),
    ("POST", "/subscribe", "v3.subscribe", True),
    ("POST", "/unsubscribe", "v3.unsubscribe", True),
)
_VERSIONS: dict[str, tuple[tuple[str, str, str, bool], ...]] = {
    "2026-03": _V4_PATHS,
    "v4": _V4_PATHS,
    "2026-09": (*_V4_PATHS, *_LEGACY_PATHS, ("POST", "/resubscribe", "v3.resubscribe", True)),
    "v3": (("GET", "/definitions", "v3.definitions", False), *_LEGACY_PATHS),
}
_HANDLERS = {**routes.HANDLERS, **routes_v3.HANDLERS}
# A private app token's info: its portal and scopes (doctor's write-scope check).
TOKEN_INFO_PATH = "/oauth/v2/private-apps/get/access-token-info"  # noqa: S105 - a path


def hubspot_routes() -> list[BaseRoute]:
    """Every HubSpot route, each version's operations under its own prefix."""
    table: list[BaseRoute] = []
    for version, paths in _VERSIONS.items():
        for method, path, name, body in paths:
            op = Operation(OPERATIONS[name], _HANDLERS[name], version, body=body)
            full = f"/communication-preferences/{version}{path}"
            table.append(Route(full, op, methods=[method], name=f"{version}:{name}"))
    for path, name in (
        ("/account-info/v3/details", "account_info"),
        ("/account-info/v3/api-usage/daily/private-apps", "account_info.api_usage"),
    ):
        op = Operation(OPERATIONS[name], _HANDLERS[name], "account-info", body=False)
        table.append(Route(path, op, methods=["GET"], name=name))
    name = "oauth.access_token_info"
    op = Operation(OPERATIONS[name], _HANDLERS[name], "oauth", body=True)
    table.append(Route(TOKEN_INFO_PATH, op, methods=["POST"], name=name))
    return table


async def _unmatched(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    path = request.url.path
    if path.startswith("/_emulator"):
        return JSONResponse({"error": f"no admin endpoint {request.method} {path}"}, status)
    emu: Emulator = request.app.state.emulator
    version = path.split("/")[2] if path.startswith("/communication-preferences/") else "unknown"
    headers: dict[str, str] = {}
    try:
        token, _scopes = authenticate(request.headers.get("authorization"), emu.tokens)
    except HubSpotError:
        token = None  # an unknown path without a valid token: a plain 404/405
    if token is not None:
        # Any authenticated request counts against the budget and is headed, as on
        # HubSpot, whose gateway limits before it routes: past the limit, a 429.
        decision = emu.limiter.hit(token, emu.settings, time_zone=emu.portal.view.seed.time_zone)
        headers = decision.headers
        if not decision.allowed:
            assert decision.policy is not None
            refused = rate_limit_error(
                decision.policy, decision.wait_seconds, emu.settings, headers
            ).reply()
            emu.recorder.count(UNKNOWN_OPERATION, version, str(refused.status))
            return JSONResponse(refused.body, refused.status, headers=refused.headers)
    emu.recorder.count(UNKNOWN_OPERATION, version, str(status))
    if status == 405:
        # RFC 9110: a 405 names the methods that are allowed (Starlette gives them).
        allowed = dict(getattr(exc, "headers", None) or {})
        error = HubSpotError(
            405,
            "VALIDATION_ERROR",
            f"{request.method} is not allowed on {path}",
            headers={"Allow": allowed.get("Allow", "")} if allowed.get("Allow") else None,
        )
    else:
        error = HubSpotError(404, "OBJECT_NOT_FOUND", f"No operation at {request.method} {path}")
    reply = error.reply()
    return JSONResponse(reply.body, reply.status, headers={**reply.headers, **headers})


def create_app(settings: EmulatorSettings | None = None) -> Starlette:
    """Build the emulator app; ``app.state.emulator`` is its :class:`Emulator`.

    The database is opened and seeded here, not at start-up, so the app works
    in-process without a lifespan (``httpx.ASGITransport``); call
    ``app.state.emulator.close()`` when done, or let a server's shutdown close it.
    """
    emulator = Emulator(settings or EmulatorSettings())

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        emulator.close()

    app = Starlette(
        routes=[*admin.admin_routes(), *hubspot_routes()],
        exception_handlers={404: _unmatched, 405: _unmatched},
        lifespan=lifespan,
    )
    app.state.emulator = emulator
    return app
