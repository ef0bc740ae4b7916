"""Single-subscriber mode: the per-subscriber endpoints, and how their answers map.

Portals below Marketing Hub Enterprise have no batch scopes; they do have
``GET|POST /statuses/{subscriberIdString}`` and
``GET|POST /statuses/{subscriberIdString}/unsubscribe-all`` (docs/client.md#api-modes).
Their answers list one subscriber's statuses, or the statuses an opt-out flipped,
without the per-subscriber wrapping of a batch answer; :func:`as_batch` wraps them, so
the batch answers' readers and matchers (:mod:`reconciler.client._reads`,
:mod:`reconciler.client._match`) read both modes alike.

:func:`names_batch_scope` tells whether a 403 is about the batch scopes, which is what
switches an ``auto`` run to single mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from reconciler.client._parse import Envelope
from reconciler.errors import ApiError, ScopeError
from reconciler.model import normalise_email

__all__ = ["as_batch", "is_batch_scope", "names_batch_scope", "subscriber_path", "with_address"]


def subscriber_path(prefix: str, email: str, *, opt_out: bool = False) -> str:
    """``{prefix}/statuses/{email}`` (``/unsubscribe-all`` for the opt-out), the address
    escaped so that no character of it can change the path."""
    path = f"{prefix}/statuses/{quote(normalise_email(email), safe='@')}"
    return f"{path}/unsubscribe-all" if opt_out else path


def as_batch(envelope: Envelope, email: str, key: str) -> Envelope:
    """One subscriber's answer as a batch answer with one result: ``{subscriberIdString,
    key: results}`` (``key`` is ``statuses`` or ``wideStatuses``).

    A COMPLETE answer confirms its subscriber even with an empty list (nobody set
    anything, or nothing was flipped); an answer that is not final confirms nothing.
    """
    if not envelope.complete:
        return envelope
    items: list[Mapping[str, Any]] = []
    for raw in envelope.results:
        item = dict(raw)
        item.setdefault("subscriberIdString", email)
        items.append(item)
    wrapped = {"subscriberIdString": normalise_email(email), key: items}
    return Envelope(envelope.status, [wrapped], envelope.errors, envelope.num_errors)


def with_address(envelope: Envelope, email: str) -> Envelope:
    """A single write's answer with each status naming its subscriber (the path did)."""
    items: list[Mapping[str, Any]] = [
        {"subscriberIdString": normalise_email(email), **dict(raw)} for raw in envelope.results
    ]
    return Envelope(envelope.status, items, envelope.errors, envelope.num_errors)


def is_batch_scope(scope: str) -> bool:
    """Whether a scope name is one of the batch scopes, in either of HubSpot's spellings
    (``communication_preferences.statuses.batch.read``, ``subscriptions-status-batch-read``)."""
    return "batch" in scope.lower()


def names_batch_scope(error: ApiError) -> bool:
    """A 403 MISSING_SCOPES that names a batch scope: the token has no batch access."""
    return isinstance(error, ScopeError) and any(
        is_batch_scope(scope) for scope in error.missing_scopes
    )
