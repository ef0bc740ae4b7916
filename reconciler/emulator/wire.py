"""HubSpot's wire format: the JSON shapes the emulator answers with, and its errors.

Shapes follow the response schemas of the specs in ``../shared/hubspot-openapi``:
``PublicStatus``, ``PublicWideStatus``, ``SubscriptionDefinition``, the batch and action
envelopes, ``Error`` for whole-request failures and ``StandardError`` for per-input
failures inside a batch. Optional fields are left out rather than sent as null.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.emulator.seed import DefinitionSeed
from reconciler.emulator.store import StatusRow, WideRow

__all__ = [
    "HubSpotError",
    "Reply",
    "definition_json",
    "envelope",
    "error_body",
    "item_error",
    "public_status",
    "wide_status",
]

JSON_TYPE = "application/json;charset=utf-8"


@dataclass
class Reply:
    """What a handler answers: an HTTP status, a JSON body and extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON_TYPE


class HubSpotError(Exception):
    """A whole-request failure, rendered as HubSpot's ``Error`` body."""

    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        *,
        context: Mapping[str, Sequence[str]] | None = None,
        errors: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.context = {k: list(v) for k, v in (context or {}).items()}
        self.errors = [dict(e) for e in errors]
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def reply(self) -> Reply:
        """This error as a :class:`Reply` with a fresh correlation id."""
        body = error_body(
            self.category, self.message, context=self.context, errors=self.errors, extra=self.extra
        )
        headers = {"x-hubspot-correlation-id": body["correlationId"], **self.headers}
        return Reply(self.status, body, headers)


def error_body(
    category: str,
    message: str,
    *,
    context: Mapping[str, Sequence[str]] | None = None,
    errors: Sequence[Mapping[str, Any]] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """HubSpot's error body.

    ``{status, message, correlationId, category, context, errors, links}`` plus ``extra``.
    """
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        "context": {k: list(v) for k, v in (context or {}).items()},
        "errors": [dict(e) for e in errors],
        "links": {},
    }
    body.update(extra or {})
    return body


def item_error(
    message: str,
    *,
    category: str = "VALIDATION_ERROR",
    context: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """One per-input failure inside a batch answer (the spec's ``StandardError``)."""
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": {k: list(v) for k, v in (context or {}).items()},
        "errors": [],
        "links": {},
    }


def envelope(
    results: list[Any],
    *,
    started: str,
    completed: str,
    errors: list[dict[str, Any]] | None = None,
    status: str = "COMPLETE",
) -> dict[str, Any]:
    """The batch/action envelope; ``errors`` and ``numErrors`` only when there are some."""
    body: dict[str, Any] = {
        "status": status,
        "results": results,
        "requestedAt": started,
        "startedAt": started,
        "completedAt": completed,
    }
    if errors:
        body["errors"] = errors
        body["numErrors"] = len(errors)
    return body


def public_status(
    row: StatusRow, definition: DefinitionSeed, reason: str | None = None
) -> dict[str, Any]:
    """A ``PublicStatus``; ``reason`` is the ``setStatusSuccessReason`` of a write."""
    out: dict[str, Any] = {
        "subscriberIdString": row.email,
        "subscriptionId": int(row.subscription_id),
        "subscriptionName": definition.name,
        "businessUnitId": definition.brand,
        "channel": "EMAIL",
        "status": row.status,
        "source": row.source,
        "timestamp": row.timestamp,
    }
    if row.legal_basis is not None:
        out["legalBasis"] = row.legal_basis
    if row.legal_basis_explanation is not None:
        out["legalBasisExplanation"] = row.legal_basis_explanation
    if reason is not None:
        out["setStatusSuccessReason"] = reason
    return out


def wide_status(row: WideRow, wide_type: str) -> dict[str, Any]:
    """A ``PublicWideStatus``."""
    return {
        "subscriberIdString": row.email,
        "wideStatusType": wide_type,
        "businessUnitId": row.brand,
        "channel": "EMAIL",
        "status": row.status,
        "timestamp": row.timestamp,
    }


def definition_json(d: DefinitionSeed, *, translations: bool) -> dict[str, Any]:
    """A ``SubscriptionDefinition``; translations only when asked for."""
    out: dict[str, Any] = {
        "id": d.id,
        "name": d.name,
        "description": d.description,
        "businessUnitId": d.brand,
        "isActive": d.active,
        "isDefault": d.default,
        "isInternal": d.internal,
        "createdAt": d.created_at,
        "updatedAt": d.updated_at,
    }
    if d.purpose is not None:
        out["purpose"] = d.purpose
    if d.communication_method is not None:
        out["communicationMethod"] = d.communication_method
    if translations:
        out["subscriptionTranslations"] = [
            {
                "subscriptionId": int(d.id),
                "languageCode": t.language,
                "name": t.name,
                "description": t.description,
                "createdAt": t.created_at,
                "updatedAt": t.updated_at,
            }
            for t in d.translations
        ]
    return out
