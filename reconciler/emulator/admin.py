"""The admin surface under ``/_emulator/``: not HubSpot's, for tests and benchmarks.

No authentication (the emulator binds to loopback by default), not counted in request
counts, never rate limited, never faulted. Answers are plain JSON; errors are
``{"error": "..."}`` with status 400 (and ``findings`` for a bad seed). See
docs/emulator.md for every endpoint.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from reconciler.emulator._seedcheck import parse_seed
from reconciler.emulator.faults import ScriptedFault
from reconciler.emulator.knobs import FAULT_KINDS
from reconciler.emulator.operations import OPERATIONS
from reconciler.errors import ConfigError, HsprefsError

if TYPE_CHECKING:
    from reconciler.emulator.instance import Emulator

__all__ = ["admin_routes", "state_json"]


def _emu(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


def _error(message: str, status: int = 400, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status)


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    return json.loads(raw)


def state_json(emu: Emulator) -> dict[str, Any]:
    """The state as a seed document (tokens left out) plus every stored wide status."""
    seed = emu.portal.view.seed
    statuses, wide = emu.store.dump()
    definitions = emu.portal.view.definitions
    doc = seed.to_dict(include_tokens=False)
    doc["statuses"] = [
        {
            "email": s.email,
            "subscription": s.subscription_id,
            "business_unit": definitions[s.subscription_id].brand,
            "status": s.status,
            "timestamp": s.timestamp,
            "source": s.source,
            "legal_basis": s.legal_basis,
            "legal_basis_explanation": s.legal_basis_explanation,
        }
        for s in statuses
    ]
    doc["opt_outs"] = [
        {"email": w.email, "business_unit": w.brand, "timestamp": w.timestamp, "source": w.source}
        for w in wide
        if w.status == "UNSUBSCRIBED"
    ]
    doc["wide_statuses"] = [
        {
            "email": w.email,
            "business_unit": w.brand,
            "status": w.status,
            "timestamp": w.timestamp,
            "source": w.source,
        }
        for w in wide
    ]
    return doc


async def info(request: Request) -> JSONResponse:
    """``GET /_emulator/info``: what this emulator serves."""
    emu = _emu(request)
    seed = emu.portal.view.seed
    return JSONResponse(
        {
            "portal_id": seed.portal_id,
            "gdpr": seed.gdpr,
            "db": emu.store.path,
            "seed_applied": emu.seed_applied,
            "versions": ["2026-03", "v4", "2026-09", "v3"],
            "operations": sorted(OPERATIONS),
            "fault_kinds": list(FAULT_KINDS),
        }
    )


async def reset(request: Request) -> JSONResponse:
    """``POST /_emulator/reset``: base seed, startup settings, zero counters."""
    _emu(request).reset()
    return JSONResponse({"reset": True})


async def load(request: Request) -> JSONResponse:
    """``POST /_emulator/load``: replace all state with the seed in the body."""
    emu = _emu(request)
    try:
        body = await _json(request)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _error(f"the body is not JSON: {exc}")
    if not isinstance(body, dict):
        return _error("the body must be a seed document (a JSON object)")
    body = {k: v for k, v in body.items() if k != "wide_statuses"}
    if "tokens" not in body:
        # A state dump has no tokens: keep the ones in use.
        current = emu.portal.view.seed.to_dict()["tokens"]
        body["tokens"] = current
    try:
        seed = parse_seed(body, source="<load>")
    except ConfigError as exc:
        return _error("invalid seed", findings=[f.message for f in exc.findings])
    emu.load(seed)
    return JSONResponse(
        {
            "loaded": True,
            "portal_id": seed.portal_id,
            "definitions": len(seed.definitions),
            "statuses": len(seed.statuses),
            "opt_outs": len(seed.opt_outs),
        }
    )


async def state(request: Request) -> JSONResponse:
    """``GET /_emulator/state``: the whole state (see :func:`state_json`)."""
    return JSONResponse(state_json(_emu(request)))


async def requests(request: Request) -> JSONResponse:
    """``GET /_emulator/requests`` counts; ``DELETE`` zeroes them."""
    recorder = _emu(request).recorder
    if request.method == "DELETE":
        recorder.clear_requests()
    return JSONResponse(recorder.requests_json())


async def writes(request: Request) -> JSONResponse:
    """``GET /_emulator/writes`` the write log; ``DELETE`` empties it."""
    recorder = _emu(request).recorder
    if request.method == "DELETE":
        recorder.clear_writes()
    return JSONResponse(recorder.writes_json())


async def settings(request: Request) -> JSONResponse:
    """``GET /_emulator/settings``; ``PATCH`` with any run-time fields changes them."""
    emu = _emu(request)
    if request.method == "PATCH":
        try:
            changes = await _json(request)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return _error(f"the body is not JSON: {exc}")
        if not isinstance(changes, dict):
            return _error("the body must be an object of settings to change")
        if isinstance(changes.get("faults"), list):
            changes["faults"] = tuple(changes["faults"])
        try:
            emu.update_settings(changes)
        except HsprefsError as exc:
            return _error(exc.one_line())
    return JSONResponse(emu.settings.runtime_dict())


async def faults(request: Request) -> JSONResponse:
    """``GET /_emulator/faults`` the queue; ``POST`` queues one; ``DELETE`` empties it."""
    injector = _emu(request).faults
    if request.method == "POST":
        try:
            body = await _json(request)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return _error(f"the body is not JSON: {exc}")
        if not isinstance(body, dict):
            return _error('the body must be {"kind": ..., "operation": ..., "count": ...}')
        kind = str(body.get("kind", ""))
        operation = body.get("operation")
        count = body.get("count", 1)
        if kind not in FAULT_KINDS:
            return _error(f"unknown fault kind {kind!r}; choose among {', '.join(FAULT_KINDS)}")
        if operation is not None and operation not in OPERATIONS:
            return _error(f"unknown operation {operation!r}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            return _error("count must be a whole number of at least 1")
        injector.queue(ScriptedFault(kind, operation, count))
    elif request.method == "DELETE":
        injector.clear_script()
    return JSONResponse({"queued": [f.to_json() for f in injector.scripted()]})


def admin_routes() -> list[BaseRoute]:
    """The ``/_emulator/`` routes."""
    return [
        Route("/_emulator/info", info, methods=["GET"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/load", load, methods=["POST"]),
        Route("/_emulator/state", state, methods=["GET"]),
        Route("/_emulator/requests", requests, methods=["GET", "DELETE"]),
        Route("/_emulator/writes", writes, methods=["GET", "DELETE"]),
        Route("/_emulator/settings", settings, methods=["GET", "PATCH"]),
        Route("/_emulator/faults", faults, methods=["GET", "POST", "DELETE"]),
    ]
