"""Batch-read answers → what each read confirmed, and the error when a read is partial.

A plan must not be computed from a partial read: a subscriber counts as read only when
both its status read and its wide-status read listed it in a COMPLETE answer.
:func:`read_answer` maps one answer, :class:`ChunkRead` pairs the two reads of a chunk,
and :func:`read_error` builds the one error that names how many subscribers were not
read and the first reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.client._errors import Scrubber, summarise_error
from reconciler.client._parse import Envelope, ShapeError, parse_status, parse_wide_statuses
from reconciler.errors import ApiError, NotFoundError, RateLimitError, TransportError
from reconciler.model import LiveOptOut, LiveStatus, normalise_email

__all__ = ["ChunkRead", "ReadPart", "read_answer", "read_error"]


@dataclass(frozen=True, slots=True)
class ReadPart:
    """What one read call gave: subscribers confirmed, their values, and any failure."""

    confirmed: frozenset[str]
    statuses: tuple[LiveStatus, ...] = ()
    opt_outs: tuple[LiveOptOut, ...] = ()
    failure: ApiError | None = None


@dataclass(frozen=True, slots=True)
class ChunkRead:
    """The status read and the wide-status read of one chunk of subscribers."""

    emails: tuple[str, ...]
    statuses: ReadPart
    wide: ReadPart

    def unread(self) -> set[str]:
        """Subscribers of this chunk that either read did not confirm."""
        return set(self.emails) - (self.statuses.confirmed & self.wide.confirmed)


def read_answer(
    envelope: Envelope,
    *,
    wide: bool,
    brand: int,
    emails: Sequence[str],
    what: str,
    correlation_id: str | None,
    scrub: Scrubber,
) -> ReadPart:
    """Map a COMPLETE read answer for ``emails`` of ``brand``.

    Raises :class:`~reconciler.errors.ApiError` when an entry lacks what the model needs
    (see :mod:`reconciler.client._parse`): such an answer is not guessed at.
    """
    wanted = set(emails)
    confirmed: set[str] = set()
    statuses: list[LiveStatus] = []
    opt_outs: list[LiveOptOut] = []
    try:
        for raw in envelope.results:
            address = raw.get("subscriberIdString")
            if address is None:
                continue  # cannot be attributed: its subscriber stays unconfirmed
            email = normalise_email(str(address))
            if email not in wanted:
                continue
            if wide:
                items = [w for w in raw.get("wideStatuses") or [] if isinstance(w, Mapping)]
                opt_outs.extend(parse_wide_statuses(items, email=email, brand=brand))
            else:
                items = [s for s in raw.get("statuses") or [] if isinstance(s, Mapping)]
                statuses.extend(parse_status(s, email=email, brand=brand) for s in items)
            confirmed.add(email)
    except ShapeError as exc:
        raise ApiError(
            f"{what}: unexpected answer from HubSpot: {exc}", correlation_id=correlation_id
        ) from None
    failure = None
    if len(confirmed) < len(wanted):
        if envelope.errors:
            detail = summarise_error(envelope.errors[0], scrub)
        else:
            detail = "some subscribers are missing from HubSpot's results"
        failure = ApiError(f"{what}: {detail}", correlation_id=correlation_id)
    return ReadPart(frozenset(confirmed), tuple(statuses), tuple(opt_outs), failure)


def read_error(unread: Sequence[tuple[int, str]], total: int, first: ApiError | None) -> ApiError:
    """The error of a partial read, of the same kind as its first cause.

    ``unread`` holds the ``(brand, email)`` of each subscriber not read; the error
    carries them as ``unread`` and its message counts them.
    """
    detail = first.message if first is not None else "not confirmed by HubSpot"
    message = f"could not read {len(unread)} of {total} subscribers; first error: {detail}"
    # The cause's own advice (lower --batch-size, check --api-url) beats a generic one.
    todo = first.hint if first is not None and first.hint else "fix the cause and run again"
    hint = f"no plan is made from a partial read; {todo}"
    if first is None:
        return ApiError(message, hint=hint, unread=unread)
    kwargs: dict[str, Any] = {
        "status_code": first.status_code,
        "category": first.category,
        "correlation_id": first.correlation_id,
        "context": first.context,
        "hint": hint,
        "unread": unread,
    }
    if isinstance(first, RateLimitError):
        return RateLimitError(message, policy_name=first.policy_name, **kwargs)
    if isinstance(first, NotFoundError | TransportError):
        return type(first)(message, **kwargs)
    return ApiError(message, **kwargs)
