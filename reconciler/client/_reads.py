"""The reads: the calls a plan's read makes, what each answer confirmed, and the error
when a read is partial.

:func:`read` sends the fewest reads for the subscribers of every brand (in ``auto`` mode
the first alone, to settle the mode), all at once within the client's concurrency.

A plan must not be computed from a partial read: a subscriber counts as read only when
both its status read and its wide-status read listed it in a COMPLETE answer.
:func:`read_answer` maps one answer, :class:`ChunkRead` pairs the two reads of a chunk,
and :func:`read_error` builds the one error that names how many subscribers were not
read and the first reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.client._calls import Calls, chunks, is_fatal, run_all
from reconciler.client._errors import Scrubber, summarise_error
from reconciler.client._http import NotSent
from reconciler.client._parse import (
    Envelope,
    ShapeError,
    parse_envelope,
    parse_managed,
    parse_status,
    parse_wide_statuses,
)
from reconciler.client._retry import Effort
from reconciler.client._single import as_batch, names_batch_scope, subscriber_path
from reconciler.errors import (
    ApiError,
    NotFoundError,
    RateLimitError,
    ScopeError,
    TransportError,
)
from reconciler.model import (
    LiveOptOut,
    LiveState,
    LiveStatus,
    PairKey,
    ReadScope,
    SubscriberKey,
    normalise_email,
)

__all__ = ["ChunkRead", "ReadPart", "read", "read_answer", "read_error"]

log = logging.getLogger("reconciler.client")


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
    keep: ReadScope | None = None,
) -> ReadPart:
    """Map a COMPLETE read answer for ``emails`` of ``brand``.

    With ``keep`` only what that scope names is kept (:class:`~reconciler.model.ReadScope`).

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
            if type(address) is str and address in wanted:
                email = address  # as asked: already normalised
            else:
                email = normalise_email(str(address))
                if email not in wanted:
                    continue
            # The objects of the list (a decoded JSON object is a dict).
            if wide:
                items = [w for w in raw.get("wideStatuses") or () if isinstance(w, dict)]
                found = parse_wide_statuses(items, email=email, brand=brand)
                if keep is not None:
                    flags = keep.flags
                    found = [o for o in found if o.opted_out or o.key in flags]
                opt_outs.extend(found)
            else:
                items = [s for s in raw.get("statuses") or () if isinstance(s, dict)]
                if keep is not None:
                    statuses.extend(
                        parse_managed(items, email=email, brand=brand, pairs=keep.pairs)
                    )
                else:
                    statuses.extend([parse_status(s, email=email, brand=brand) for s in items])
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


# -- the read workflow -------------------------------------------------------------------


async def read(
    calls: Calls,
    subscribers: Mapping[int, Sequence[str]],
    hurry: asyncio.Event | None = None,
    keep: ReadScope | None = None,
) -> LiveState:
    """The reads of :meth:`HubSpotClient.read <reconciler.client.HubSpotClient.read>`."""
    wanted = {
        brand: unique
        for brand, emails in subscribers.items()
        if (unique := list(dict.fromkeys(normalise_email(e) for e in emails)))
    }
    total = sum(len(emails) for emails in wanted.values())
    probed = await _probe(calls, wanted, hurry, keep) if calls.mode == "auto" and wanted else None
    jobs: list[Coroutine[Any, Any, ChunkRead]] = []
    brands: list[int] = []
    for brand, unique in wanted.items():
        for chunk_emails in chunks(unique, 1 if calls.single else calls.batch):
            jobs.append(_read_chunk(calls, brand, chunk_emails, probed, hurry, keep=keep))
            brands.append(brand)
            probed = None  # the probe answered the first chunk's status read
    done = await run_all(jobs)
    statuses: dict[PairKey, LiveStatus] = {}
    opt_outs: dict[SubscriberKey, LiveOptOut] = {}
    unread: list[tuple[int, str]] = []
    first: ApiError | None = None
    for brand, chunk in zip(brands, done, strict=True):
        unread.extend((brand, email) for email in chunk.unread())
        for part in (chunk.statuses, chunk.wide):
            statuses.update((s.key, s) for s in part.statuses)
            opt_outs.update((o.key, o) for o in part.opt_outs)
            if first is None and part.failure is not None:
                first = part.failure
    if unread:
        raise read_error(unread, total, first)
    return LiveState(statuses=statuses, opt_outs=opt_outs)


async def _probe(
    calls: Calls,
    wanted: Mapping[int, Sequence[str]],
    hurry: asyncio.Event | None,
    keep: ReadScope | None,
) -> ReadPart | None:
    """Send the first status read alone and settle the mode: single after a 403 that
    names a batch scope, else batch. The answer is kept (None after the 403)."""
    brand, emails = next(iter(wanted.items()))
    try:
        part = await _read_part(
            calls, brand, emails[: calls.batch], wide=False, hurry=hurry, keep=keep
        )
    except ScopeError as exc:
        if not names_batch_scope(exc):
            raise
        log.info("the token has no batch scopes (%s); using single mode", exc.missing_scopes)
        calls.mode, calls.probe_refusal = "single", exc
        return None
    calls.mode = "batch"
    return part


async def _read_chunk(
    calls: Calls,
    brand: int,
    emails: Sequence[str],
    statuses: ReadPart | None,
    hurry: asyncio.Event | None,
    *,
    keep: ReadScope | None,
) -> ChunkRead:
    # The status read first, then the wide read (unless the probe read the statuses).
    jobs = [_read_part(calls, brand, emails, wide=True, hurry=hurry, keep=keep)]
    if statuses is None:
        jobs.insert(0, _read_part(calls, brand, emails, wide=False, hurry=hurry, keep=keep))
    parts = await run_all(jobs)
    calls.progress(len(emails))
    return ChunkRead(tuple(emails), statuses or parts[0], parts[-1])


async def _read_part(
    calls: Calls,
    brand: int,
    emails: Sequence[str],
    *,
    wide: bool,
    hurry: asyncio.Event | None,
    keep: ReadScope | None = None,
) -> ReadPart:
    single = calls.single
    operation = ("read_wide" if wide else "read_statuses") + ("_single" if single else "")
    method = "GET" if single else "POST"
    if single:
        path = subscriber_path(calls.prefix, emails[0], opt_out=wide)
        body = None
    else:
        endpoint = "statuses/batch/unsubscribe-all/read" if wide else "statuses/batch/read"
        path = f"{calls.prefix}/{endpoint}"
        body = {"inputs": list(emails)}
    what = f"{method} {path}"
    # One bound for all the askings: their attempts and waits, not their queueing.
    effort = Effort()
    attempt = 0
    while True:
        attempt += 1
        try:
            data, cid = await calls.call(
                operation,
                method,
                path,
                params=calls.params(brand),
                body=body,
                effort=effort,
                hurry=hurry,
            )
        except NotSent:
            return ReadPart(
                frozenset(),
                failure=ApiError(
                    f"{what}: not read: the run was asked to stop while it waited "
                    "for HubSpot's rate limit"
                ),
            )
        except ApiError as exc:
            if is_fatal(exc):
                raise
            return ReadPart(frozenset(), failure=exc)
        envelope = parse_envelope(data)
        if envelope.complete:
            break
        # Not final yet. Asking again is only a read, so it is safe; bounded as retries.
        delay = calls.retry.backoff(attempt)
        if not calls.retry.should_retry(attempt, effort, delay) or (
            hurry is not None and hurry.is_set()
        ):
            return ReadPart(
                frozenset(),
                failure=ApiError(
                    f"{what}: HubSpot answered {envelope.status} {attempt} times; "
                    "the results are not final",
                    correlation_id=cid,
                    hint="try again in a moment",
                ),
            )
        calls.stats.retries += 1
        log.info("%s answered %s; asking again in %.2f s", what, envelope.status, delay)
        effort.spent += delay
        await calls.retry.sleep(delay)
    if single:
        envelope = as_batch(envelope, emails[0], "wideStatuses" if wide else "statuses")
    return read_answer(
        envelope,
        wide=wide,
        brand=brand,
        emails=emails,
        what=what,
        correlation_id=cid,
        scrub=calls.scrub,
        keep=keep,
    )
