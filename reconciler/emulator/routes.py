"""Handlers of the date-versioned and v4 operations (``2026-03``, ``v4``, ``2026-09``).

Each handler is a plain function ``(Invocation) -> Reply`` run inside a store transaction by
the pipeline in :mod:`reconciler.emulator.app`; whole-request problems raise
:class:`~reconciler.emulator.wire.HubSpotError`, per-input problems become entries of
``errors[]`` and never stop the other inputs. Batch reads answer 207 when some inputs
failed, where the version's spec declares a 207 (not ``2026-09``, whose spec lists only
200), otherwise 200 with ``errors[]``/``numErrors``, as batch writes always do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from reconciler.emulator.emails import is_email
from reconciler.emulator.invocation import Invocation, bad_request
from reconciler.emulator.portal import ItemError
from reconciler.emulator.wire import (
    Reply,
    definition_json,
    envelope,
    public_status,
    wide_status,
)

__all__ = ["API_SOURCE", "HANDLERS"]

# The source HubSpot records for changes made through this API (its own wording).
API_SOURCE = "Public status API"


# Versions whose spec declares no 207 for the batch reads: a partial failure is a 200.
_NO_207_VERSIONS = frozenset({"2026-09"})


def _partial(call: Invocation, errors: list[dict[str, Any]]) -> int:
    """The status of a batch read: 207 when some inputs failed and the spec has a 207."""
    return 207 if errors and call.version not in _NO_207_VERSIONS else 200


def _done(
    call: Invocation, results: list[Any], errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    completed = call.emu.clock_now()
    return envelope(results, started=call.started, completed=completed, errors=errors)


def _batch_emails(call: Invocation, values: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """Valid inputs (normalised, first spelling wins) and an error for each invalid one."""
    emails: dict[str, None] = {}
    errors: list[dict[str, Any]] = []
    for value in values:
        if is_email(value):
            emails.setdefault(value.strip().lower(), None)
        else:
            errors.append(
                call.item_error(
                    ItemError(
                        f"Invalid email address: {value!r}",
                        context={"subscriberIdString": [value]},
                    )
                )
            )
    return list(emails), errors


def _never_set_at(call: Invocation) -> str | None:
    """When a status nobody set is dated: at the request with ``never_set_dates:
    request``, else (None) at its definition's creation."""
    return call.emu.clock_now() if call.emu.settings.never_set_dates == "request" else None


def _wide_results(call: Invocation, emails: list[str], brand: int | None) -> dict[str, list[Any]]:
    """Each subscriber's wide statuses in one brand, or in every brand when None (a read
    without businessUnitId covers all brands, as HubSpot's guide says)."""
    portal = call.emu.portal
    brands = [brand] if brand is not None else sorted(portal.view.brands)
    style = call.emu.settings.wide_status_style
    out: dict[str, list[Any]] = {email: [] for email in emails}
    for b in brands:
        wide_type = portal.view.wide_type(b)
        for email, rows in portal.read_wide(emails, b, style).items():
            out[email].extend(wide_status(r, wide_type) for r in rows)
    return out


def _basis_for_every(call: Invocation) -> bool:
    return call.emu.settings.legal_basis_rule == "every"


def definitions(call: Invocation) -> Reply:
    """``GET /definitions``: every brand's definitions, or one brand's with businessUnitId."""
    brand = call.brand(default=None)
    translations = call.flag("includeTranslations")
    view = call.emu.portal.view
    results = [
        definition_json(d, translations=translations)
        for d in view.seed.definitions
        if brand is None or d.brand == brand
    ]
    return Reply(200, _done(call, results))


def statuses_read(call: Invocation) -> Reply:
    """``GET /statuses/{subscriberIdString}``: one subscriber's statuses in one brand, or
    in every brand without businessUnitId."""
    call.channel()
    brand = call.brand(default=None)
    email = call.email_param("subscriberIdString")
    view = call.emu.portal.view
    rows = call.emu.portal.read([email], brand, never_set_at=_never_set_at(call))[email]
    return Reply(
        200, _done(call, [public_status(r, view.definitions[r.subscription_id]) for r in rows])
    )


def statuses_write(call: Invocation) -> Reply:
    """``POST /statuses/{subscriberIdString}``: set one status of one subscriber."""
    email = call.email_param("subscriberIdString")
    body = call.object_body()
    sub_id = call.typed(body, "subscriptionId", int, required=True)
    state = call.typed(body, "statusState", str, required=True)
    channel = call.typed(body, "channel", str, required=True)
    basis = call.typed(body, "legalBasis", str, required=False)
    explanation = call.typed(body, "legalBasisExplanation", str, required=False)
    if channel != "EMAIL":
        raise bad_request(f"Unsupported channel {channel!r}", field="channel")
    logged = {"subscriberIdString": email, **dict(body)}
    try:
        row, d, reason = call.emu.portal.write(
            email,
            sub_id,
            state,
            basis,
            explanation,
            source=API_SOURCE,
            basis_for_every=_basis_for_every(call),
        )
    except ItemError as exc:
        call.log_write(brand=None, input=logged, error=exc.message)
        raise call.rejected(exc) from None
    call.log_write(brand=d.brand, input=logged, reason=reason)
    return Reply(200, _done(call, [public_status(row, d, reason)]))


def unsubscribe_all_read(call: Invocation) -> Reply:
    """``GET /statuses/{subscriberIdString}/unsubscribe-all``: one wide status (one per
    brand without businessUnitId)."""
    call.channel()
    brand = call.brand(default=None)
    call.flag("verbose")
    email = call.email_param("subscriberIdString")
    return Reply(200, _done(call, _wide_results(call, [email], brand)[email]))


def unsubscribe_all(call: Invocation) -> Reply:
    """``POST /statuses/{subscriberIdString}/unsubscribe-all``: opt one subscriber out."""
    call.channel()
    brand = call.brand() or 0
    verbose = call.flag("verbose")
    email = call.email_param("subscriberIdString")
    flipped = call.emu.portal.unsubscribe_all(email, brand, source=API_SOURCE)
    call.log_write(brand=brand, input=email, reason="UNSUBSCRIBE_FROM_ALL_OCCURRED")
    results = [public_status(r, d, reason) for r, d, reason in flipped] if verbose else []
    return Reply(200, _done(call, results))


def batch_read(call: Invocation) -> Reply:
    """``POST /statuses/batch/read``: statuses of many subscribers in one brand."""
    call.channel()
    brand = call.brand(default=None)
    emails, errors = _batch_emails(call, call.inputs(of=str))
    view = call.emu.portal.view
    found = call.emu.portal.read(emails, brand, never_set_at=_never_set_at(call))
    results = [
        {
            "subscriberIdString": email,
            "statuses": [
                public_status(r, view.definitions[r.subscription_id]) for r in found[email]
            ],
        }
        for email in emails
    ]
    return Reply(_partial(call, errors), _done(call, results, errors))


def batch_unsubscribe_all_read(call: Invocation) -> Reply:
    """``POST /statuses/batch/unsubscribe-all/read``: wide statuses of many subscribers."""
    call.channel()
    brand = call.brand(default=None)
    emails, errors = _batch_emails(call, call.inputs(of=str))
    found = _wide_results(call, emails, brand)
    results = [{"subscriberIdString": e, "wideStatuses": found[e]} for e in emails]
    return Reply(_partial(call, errors), _done(call, results, errors))


def batch_unsubscribe_all(call: Invocation) -> Reply:
    """``POST /statuses/batch/unsubscribe-all``: opt many subscribers out of one brand."""
    call.channel()
    brand = call.brand() or 0
    verbose = call.flag("verbose")
    values = call.inputs(of=str)
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    done: set[str] = set()
    for value in values:
        if not is_email(value):
            message = f"Invalid email address: {value!r}"
            call.log_write(brand=brand, input=value, error=message)
            errors.append(
                call.item_error(ItemError(message, context={"subscriberIdString": [value]}))
            )
            continue
        email = value.strip().lower()
        if email in done:
            continue
        done.add(email)
        flipped = call.emu.portal.unsubscribe_all(email, brand, source=API_SOURCE)
        call.log_write(brand=brand, input=value, reason="UNSUBSCRIBE_FROM_ALL_OCCURRED")
        entry: dict[str, Any] = {"subscriberIdString": email}
        if verbose:
            entry["statuses"] = [public_status(r, d, reason) for r, d, reason in flipped]
        results.append(entry)
    return Reply(200, _done(call, results, errors))


_WRITE_FIELDS = (
    ("subscriberIdString", str, True),
    ("subscriptionId", int, True),
    ("statusState", str, True),
    ("channel", str, True),
    ("legalBasis", str, False),
    ("legalBasisExplanation", str, False),
)


def batch_write(call: Invocation) -> Reply:
    """``POST /statuses/batch/write``: many statuses; each input succeeds or fails alone."""
    inputs = call.inputs(of=dict)
    brand = call.brand(default=None)
    # Wrong types and missing fields fail the whole request before anything is written.
    parsed = [
        {
            name: call.typed(item, name, kind, required=req, where=f"inputs[{i}].")
            for name, kind, req in _WRITE_FIELDS
        }
        for i, item in enumerate(inputs)
    ]
    portal = call.emu.portal
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for raw, item in zip(inputs, parsed, strict=True):
        email_in = item["subscriberIdString"]
        known = portal.view.definitions.get(str(item["subscriptionId"]))
        logged_brand = known.brand if known is not None else None
        try:
            if not is_email(email_in):
                raise ItemError(
                    f"Invalid email address: {email_in!r}",
                    context={"subscriberIdString": [email_in]},
                )
            if item["channel"] != "EMAIL":
                raise ItemError(
                    f"Unsupported channel {item['channel']!r}: the only channel is EMAIL",
                    context={"subscriberIdString": [email_in], "channel": [item["channel"]]},
                )
            row, d, reason = portal.write(
                email_in.strip().lower(),
                item["subscriptionId"],
                item["statusState"],
                item["legalBasis"],
                item["legalBasisExplanation"],
                source=API_SOURCE,
                brand=brand,
                basis_for_every=_basis_for_every(call),
            )
        except ItemError as exc:
            if "subscriberIdString" not in exc.context:
                exc.context = {"subscriberIdString": [email_in], **exc.context}
            call.log_write(brand=logged_brand, input=dict(raw), error=exc.message)
            errors.append(call.item_error(exc))
            continue
        call.log_write(brand=d.brand, input=dict(raw), reason=reason)
        results.append(public_status(row, d, reason))
    return Reply(200, _done(call, results, errors))


def links_generate(call: Invocation) -> Reply:
    """``POST /links/generate``: preference-centre links for one subscriber."""
    call.channel()
    brand = call.brand() or 0
    body = call.object_body()
    email_in = call.typed(body, "subscriberIdString", str, required=True)
    sub_id = call.typed(body, "subscriptionId", int, required=False)
    language = call.typed(body, "language", str, required=False) or "en"
    if not is_email(email_in):
        raise bad_request(f"Invalid email address: {email_in!r}", field="subscriberIdString")
    email = email_in.strip().lower()
    portal = call.emu.portal
    if sub_id is not None:
        try:
            portal.definition(sub_id, brand=brand)
        except ItemError as exc:
            raise call.rejected(exc) from None
    portal_id = portal.view.seed.portal_id
    digest = hashlib.sha256(f"{portal_id}:{brand}:{email}".encode()).hexdigest()[:32]
    base = f"https://hs-{portal_id}.emulator.invalid/hs/manage-preferences"
    query = f"?languagePreference={language}&businessUnitId={brand}&d={digest}"
    result: dict[str, Any] = {
        "subscriberIdString": email,
        "managePreferencesUrl": f"{base}/manage{query}",
        "unsubscribeAllUrl": f"{base}/unsubscribe-all{query}",
    }
    if sub_id is not None:
        result["unsubscribeSingleUrl"] = f"{base}/unsubscribe{query}&subscriptionId={sub_id}"
    return Reply(200, result)


HANDLERS: dict[str, Callable[[Invocation], Reply]] = {
    "definitions": definitions,
    "statuses.read": statuses_read,
    "statuses.write": statuses_write,
    "statuses.unsubscribe_all_read": unsubscribe_all_read,
    "statuses.unsubscribe_all": unsubscribe_all,
    "statuses.batch.read": batch_read,
    "statuses.batch.write": batch_write,
    "statuses.batch.unsubscribe_all": batch_unsubscribe_all,
    "statuses.batch.unsubscribe_all_read": batch_unsubscribe_all_read,
    "links.generate": links_generate,
}
