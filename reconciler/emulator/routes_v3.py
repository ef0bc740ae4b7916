"""Handlers of the legacy v3 operations and of the account-info calls.

v3 (also served under ``2026-09``, whose spec carries the same legacy operations) speaks
``SUBSCRIBED``/``NOT_SUBSCRIBED`` and lists, per subscriber, only the subscriptions that
hold a status, plus every subscription of a brand the subscriber opted out of (marked
``BRAND_WIDE_STATUS`` or ``PORTAL_WIDE_STATUS``). The official ``hubspot-api-client`` SDK
talks to these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reconciler.emulator.emails import is_email
from reconciler.emulator.invocation import Invocation, bad_request
from reconciler.emulator.portal import SUBSCRIBED, UNSUBSCRIBED, ItemError
from reconciler.emulator.routes import API_SOURCE
from reconciler.emulator.seed import DefinitionSeed
from reconciler.emulator.store import StatusRow
from reconciler.emulator.wire import HubSpotError, Reply, definition_json

__all__ = ["HANDLERS"]


def _v3_status(
    d: DefinitionSeed, status: str, source_of_status: str, row: StatusRow | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": d.id,
        "name": d.name,
        "description": d.description,
        "status": "SUBSCRIBED" if status == SUBSCRIBED else "NOT_SUBSCRIBED",
        "sourceOfStatus": source_of_status,
        "brandId": d.brand,
    }
    if row is not None and row.legal_basis is not None:
        out["legalBasis"] = row.legal_basis
    if row is not None and row.legal_basis_explanation is not None:
        out["legalBasisExplanation"] = row.legal_basis_explanation
    return out


def definitions(call: Invocation) -> Reply:
    """``GET /v3/definitions``: every definition of every brand."""
    view = call.emu.portal.view
    results = [definition_json(d, translations=False) for d in view.seed.definitions]
    return Reply(200, {"subscriptionDefinitions": results})


def status(call: Invocation) -> Reply:
    """``GET /status/email/{emailAddress}``: the v3 view of one subscriber."""
    email = call.email_param("emailAddress")
    portal = call.emu.portal
    rows = portal.all_statuses(email)
    opted = portal.opted_out_brands(email)
    listed: list[dict[str, Any]] = []
    for brand in portal.view.brands:
        for d in portal.listed(brand, rows):
            row = rows.get(d.id)
            if brand in opted:
                kind = portal.view.wide_type(brand)
                source = "PORTAL_WIDE_STATUS" if kind == "PORTAL_WIDE" else "BRAND_WIDE_STATUS"
                listed.append(_v3_status(d, UNSUBSCRIBED, source))
            elif row is not None and row.status in (SUBSCRIBED, UNSUBSCRIBED):
                listed.append(_v3_status(d, row.status, "SUBSCRIPTION_STATUS", row))
    return Reply(200, {"recipient": email, "subscriptionStatuses": listed})


def _update_request(call: Invocation) -> tuple[str, DefinitionSeed, str | None, str | None]:
    body = call.object_body()
    email_in = call.typed(body, "emailAddress", str, required=True)
    raw_id = body.get("subscriptionId")
    if raw_id is None:
        raise bad_request("The field 'subscriptionId' is required", field="subscriptionId")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        raise bad_request("The field 'subscriptionId' must be a string", field="subscriptionId")
    basis = call.typed(body, "legalBasis", str, required=False)
    explanation = call.typed(body, "legalBasisExplanation", str, required=False)
    if not is_email(email_in):
        raise bad_request(f"Invalid email address: {email_in!r}", field="emailAddress")
    try:
        d = call.emu.portal.definition(raw_id)
    except ItemError as exc:
        raise call.rejected(exc) from None
    return email_in.strip().lower(), d, basis, explanation


def _write(call: Invocation, state: str, *, resubscribe: bool = False) -> Reply:
    email, d, basis, explanation = _update_request(call)
    portal = call.emu.portal
    logged = dict(call.object_body())
    current = portal.all_statuses(email).get(d.id)
    try:
        if state == SUBSCRIBED and not resubscribe and d.brand in portal.opted_out_brands(email):
            raise ItemError(
                f"{email} has opted out of all email and cannot be resubscribed through "
                "this endpoint",
                context={"emailAddress": [email], "subscriptionId": [d.id]},
            )
        opted = d.brand in portal.opted_out_brands(email)
        if state == UNSUBSCRIBED and (opted or (current and current.status == UNSUBSCRIBED)):
            raise ItemError(
                f"{email} is already unsubscribed from subscription {d.id}",
                context={"emailAddress": [email], "subscriptionId": [d.id]},
            )
        row, d, reason = portal.write(email, d.id, state, basis, explanation, source=API_SOURCE)
    except ItemError as exc:
        call.log_write(brand=d.brand, input=logged, error=exc.message)
        raise call.rejected(exc) from None
    call.log_write(brand=d.brand, input=logged, reason=reason)
    return Reply(200, _v3_status(d, row.status, "SUBSCRIPTION_STATUS", row))


def subscribe(call: Invocation) -> Reply:
    """``POST /subscribe``: subscribe one address (never undoes an opt-out of all)."""
    return _write(call, SUBSCRIBED)


def unsubscribe(call: Invocation) -> Reply:
    """``POST /unsubscribe``: unsubscribe one address; already unsubscribed is a 400."""
    return _write(call, UNSUBSCRIBED)


def resubscribe(call: Invocation) -> Reply:
    """``POST /resubscribe`` (2026-09 legacy): subscribe, clearing an opt-out of all."""
    return _write(call, SUBSCRIBED, resubscribe=True)


def account_details(call: Invocation) -> Reply:
    """``GET /account-info/v3/details``: the portal's identity."""
    seed = call.emu.portal.view.seed
    offset_ms = call.emu.utc_offset_ms()
    sign = "-" if offset_ms < 0 else "+"
    minutes = abs(offset_ms) // 60000
    return Reply(
        200,
        {
            "portalId": seed.portal_id,
            "accountType": "STANDARD",
            "timeZone": seed.time_zone,
            "companyCurrency": seed.currency,
            "additionalCurrencies": [],
            "utcOffset": f"{sign}{minutes // 60:02d}:{minutes % 60:02d}",
            "utcOffsetMilliseconds": offset_ms,
            "uiDomain": "app.hubspot.com",
            "dataHostingLocation": "na1",
        },
    )


def account_api_usage(call: Invocation) -> Reply:
    """``GET /account-info/v3/api-usage/daily/private-apps``: today's request count."""
    settings = call.emu.settings
    used = call.emu.limiter.daily_used(call.token, time_zone=call.emu.portal.view.seed.time_zone)
    if not settings.daily_limit:
        raise HubSpotError(404, "OBJECT_NOT_FOUND", "No daily limit is configured")
    return Reply(
        200,
        {
            "results": [
                {
                    "name": "api-calls-daily",
                    "usageLimit": settings.daily_limit,
                    "currentUsage": used,
                    "collectedAt": call.started,
                    "fetchStatus": "SUCCESS",
                    "resetsAt": call.emu.next_midnight(),
                }
            ]
        },
    )


def access_token_info(call: Invocation) -> Reply:
    """``POST /oauth/v2/private-apps/get/access-token-info`` (``{"tokenKey": TOKEN}``):
    the private app token's portal, app and scopes. A key that is not a token the
    emulator accepts is a 404; the answer never repeats the key."""
    body = call.body if isinstance(call.body, dict) else {}
    key = body.get("tokenKey")
    if not isinstance(key, str) or not key:
        raise HubSpotError(400, "VALIDATION_ERROR", "tokenKey is required")
    scopes = call.emu.tokens.get(key)
    if scopes is None:
        raise HubSpotError(404, "OBJECT_NOT_FOUND", "No private app access token with this key")
    seed = call.emu.portal.view.seed
    return Reply(
        200,
        {
            "userId": 1,
            "hubId": seed.portal_id,
            "appId": 1,
            "scopes": sorted(scopes),
        },
    )


HANDLERS: dict[str, Callable[[Invocation], Reply]] = {
    "v3.definitions": definitions,
    "v3.status": status,
    "v3.subscribe": subscribe,
    "v3.unsubscribe": unsubscribe,
    "v3.resubscribe": resubscribe,
    "account_info": account_details,
    "account_info.api_usage": account_api_usage,
    "oauth.access_token_info": access_token_info,
}
