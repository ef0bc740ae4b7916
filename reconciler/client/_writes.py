"""The writes: status writes and opt-outs in the fewest calls, one result per input.

:func:`write` sends status writes in batches (one per change in single mode) and
:func:`unsubscribe_all` the opt-outs per brand; every call runs at once within the
client's concurrency, and each is journalled as it leaves through ``on_leave``. Only
errors that stop every write raise; any other failure of a call becomes its inputs'
results (:mod:`reconciler.client._match`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from reconciler.client._calls import (
    Calls,
    OnLeave,
    chunks,
    indexed_chunks,
    leaving,
    run_all,
    stops_writes,
)
from reconciler.client._http import NotRetried, NotSent
from reconciler.client._match import (
    match_opt_outs,
    match_writes,
    norm_key,
    not_retried,
    retarget,
    whole_call_failed,
    write_input,
)
from reconciler.client._parse import Envelope, parse_envelope
from reconciler.client._single import as_batch, subscriber_path, with_address
from reconciler.errors import ApiError
from reconciler.model import Outcome, StatusWrite, SubscriberKey, WriteResult, normalise_email

__all__ = ["unsubscribe_all", "write"]


async def write(
    calls: Calls,
    writes: Sequence[StatusWrite],
    stop: asyncio.Event | None,
    on_leave: OnLeave | None,
) -> list[WriteResult]:
    """The calls of :meth:`HubSpotClient.write <reconciler.client.HubSpotClient.write>`."""
    bodies = [write_input(w) for w in writes]
    single = calls.single
    jobs = [
        _write_chunk(
            calls,
            chunk,
            bodies[start : start + len(chunk)],
            stop,
            leaving(on_leave, range(start, start + len(chunk))),
            single=single,
        )
        for start, chunk in indexed_chunks(writes, 1 if single else calls.batch)
    ]
    return [result for part in await run_all(jobs) for result in part]


async def _write_chunk(
    calls: Calls,
    chunk: Sequence[StatusWrite],
    inputs: list[dict[str, Any]],
    stop: asyncio.Event | None,
    leave: Callable[[], bool] | None,
    *,
    single: bool,
) -> list[WriteResult]:
    # Retrying a write is safe: it sets statuses, so sending it twice is a no-op.
    if single:
        # The path names the subscriber; the body is the rest of the one input.
        path = subscriber_path(calls.prefix, chunk[0].email)
        body: Any = {k: v for k, v in inputs[0].items() if k != "subscriberIdString"}
    else:
        path, body = f"{calls.prefix}/statuses/batch/write", {"inputs": inputs}
    operation = "write_single" if single else "write"

    def answer(envelope: Envelope, cid: str | None) -> list[WriteResult]:
        if single:
            envelope = with_address(envelope, chunk[0].email)
        return match_writes(chunk, envelope, correlation_id=cid, scrub=calls.scrub)

    return await _send(
        calls,
        chunk,
        operation=operation,
        path=path,
        params=None,
        body=body,
        stop=stop,
        leave=leave,
        answer=answer,
    )


async def unsubscribe_all(
    calls: Calls,
    subscribers: Sequence[SubscriberKey],
    stop: asyncio.Event | None,
    on_leave: OnLeave | None,
) -> list[WriteResult]:
    """The calls of :meth:`HubSpotClient.unsubscribe_all
    <reconciler.client.HubSpotClient.unsubscribe_all>`."""
    size = 1 if calls.single else calls.batch
    by_brand: dict[int, dict[str, SubscriberKey]] = {}
    positions: dict[SubscriberKey, list[int]] = {}
    for index, key in enumerate(subscribers):
        by_brand.setdefault(key.brand, {}).setdefault(normalise_email(key.email), key)
        positions.setdefault(norm_key(key), []).append(index)
    jobs = [
        _opt_out_chunk(
            calls,
            brand,
            chunk,
            stop,
            leaving(on_leave, [i for key in chunk for i in positions[norm_key(key)]]),
        )
        for brand, keys in by_brand.items()
        for chunk in chunks(list(keys.values()), size)
    ]
    found: dict[SubscriberKey, WriteResult] = {}
    for part in await run_all(jobs):
        for result in part:
            assert isinstance(result.target, SubscriberKey)
            found[norm_key(result.target)] = result
    return [retarget(found[norm_key(key)], key) for key in subscribers]


async def _opt_out_chunk(
    calls: Calls,
    brand: int,
    chunk: Sequence[SubscriberKey],
    stop: asyncio.Event | None,
    leave: Callable[[], bool] | None,
) -> list[WriteResult]:
    # Retrying is safe: opting someone out twice leaves them opted out.
    single = calls.single
    body: Any = None
    if single:
        path = subscriber_path(calls.prefix, chunk[0].email, opt_out=True)
    else:
        path = f"{calls.prefix}/statuses/batch/unsubscribe-all"
        body = {"inputs": [normalise_email(k.email) for k in chunk]}
    # verbose=true makes HubSpot list the statuses it flipped, with their reasons,
    # so the journal records what the opt-out did.
    params = {**calls.params(brand), "verbose": "true"}
    operation = "unsubscribe_all_single" if single else "unsubscribe_all"

    def answer(envelope: Envelope, cid: str | None) -> list[WriteResult]:
        if single:
            envelope = as_batch(envelope, chunk[0].email, "statuses")
        return match_opt_outs(chunk, envelope, correlation_id=cid, scrub=calls.scrub)

    return await _send(
        calls,
        chunk,
        operation=operation,
        path=path,
        params=params,
        body=body,
        stop=stop,
        leave=leave,
        answer=answer,
    )


async def _send(
    calls: Calls,
    chunk: Sequence[StatusWrite] | Sequence[SubscriberKey],
    *,
    operation: str,
    path: str,
    params: dict[str, str | int] | None,
    body: Any,
    stop: asyncio.Event | None,
    leave: Callable[[], bool] | None,
    answer: Callable[[Envelope, str | None], list[WriteResult]],
) -> list[WriteResult]:
    """Send one write call and give each of its inputs a result: from HubSpot's answer
    (mapped by ``answer``), or from how the call failed. Only errors that stop every
    write raise."""
    try:
        data, cid = await calls.call(
            operation, "POST", path, params=params, body=body, stop=stop, on_leave=leave
        )
    except NotSent as unsent:
        return [WriteResult(target, Outcome.NOT_SENT, error=unsent.reason) for target in chunk]
    except NotRetried as stopped:
        results = not_retried(chunk, stopped.error)
    except ApiError as exc:
        if stops_writes(exc):
            raise
        results = whole_call_failed(chunk, exc)
    else:
        results = answer(parse_envelope(data), cid)
    calls.progress(len(chunk))
    return results
