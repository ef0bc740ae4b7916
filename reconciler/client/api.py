"""The HubSpot client: the only code in hsprefs that talks HTTP.

:class:`HubSpotClient` turns any number of subscribers or writes into the fewest batch
calls (docs/architecture.md#minimal-calls), runs every chunk of every brand concurrently
within ``concurrency`` and the rate limiter, and returns the model's frozen values,
never raw dicts.

In single mode (portals without the batch scopes, docs/client.md#api-modes) each
subscriber is read with one status read and one opt-out read, and each change is its
own call; the calls run concurrently in the same way, so the rolling window stays
full. In ``auto`` mode the first read is sent alone: a 403 naming a batch scope switches
the client to single mode, anything else settles it on batch.

Reads are all-or-nothing: a plan must not be computed from a partial read, so any
subscriber whose read failed or was not confirmed makes :meth:`HubSpotClient.read`
raise. Writes are per input: :meth:`~HubSpotClient.write` and
:meth:`~HubSpotClient.unsubscribe_all` return one :class:`~reconciler.model.WriteResult`
per input, in input order, and raise only for errors that stop everything (401, 403,
the daily limit); apply journals the rest and carries on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from reconciler import __version__
from reconciler.client._errors import Scrubber, correlation_id, json_body
from reconciler.client._http import (
    DEADLINE,
    MAX_ANSWER_BYTES,
    ClientStats,
    NotRetried,
    NotSent,
    Sender,
)
from reconciler.client._match import (
    match_opt_outs,
    match_writes,
    norm_key,
    not_retried,
    retarget,
    whole_call_failed,
    write_input,
)
from reconciler.client._parse import (
    ShapeError,
    parse_definitions,
    parse_envelope,
)
from reconciler.client._ratelimit import RateLimiter
from reconciler.client._reads import ChunkRead, ReadPart, read_answer, read_error
from reconciler.client._retry import Effort, RetryPolicy
from reconciler.client._single import as_batch, names_batch_scope, subscriber_path, with_address
from reconciler.client._wire import WireTransport
from reconciler.errors import (
    ApiError,
    AuthError,
    RateLimitError,
    ScopeError,
    TransportError,
    UsageError,
)
from reconciler.model import (
    Definition,
    LiveOptOut,
    LiveState,
    LiveStatus,
    Outcome,
    PairKey,
    StatusWrite,
    SubscriberKey,
    WriteResult,
    normalise_email,
)
from reconciler.settings import API_VERSIONS, ApiSettings, check_api_url, check_token

__all__ = ["HubSpotClient"]

log = logging.getLogger("reconciler.client")

T = TypeVar("T")
#: Told the inputs (indices) a call carries just before it first leaves; False keeps it.
OnLeave = Callable[[Sequence[int]], bool]

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
ACCOUNT_INFO = "/account-info/v3/details"


def is_fatal(error: BaseException) -> bool:
    """Errors that stop every call: the token, its scopes, or the day's budget."""
    if isinstance(error, AuthError | ScopeError):
        return True
    return isinstance(error, RateLimitError) and error.policy_name == "DAILY"


def stops_writes(error: BaseException) -> bool:
    """Errors that stop every write: the fatal ones, and HubSpot unreachable (no attempt
    of a call got a connection, so the next call would not get one either)."""
    return is_fatal(error) or (isinstance(error, TransportError) and error.never_connected)


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def _run_all(jobs: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """Run jobs concurrently; on the first exception cancel the rest and raise it."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        if tasks:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        return [task.result() for task in tasks]
    finally:
        pending = [task for task in tasks if not task.done()]
        for task in pending:
            task.cancel()
        # Wait for the cancelled ones and collect every outcome, so no task outlives the
        # call and no exception goes unretrieved.
        await asyncio.gather(*tasks, return_exceptions=True)


class HubSpotClient:
    """Async client for HubSpot's communication-preferences API.

    Build it with :meth:`from_settings` and use it as an async context manager. ``stats``
    counts what it did. The token is sent as ``Authorization: Bearer`` and appears in no
    log, message or repr.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        settings: ApiSettings,
        limiter: RateLimiter,
        retry: RetryPolicy,
        on_progress: Callable[[int], None] | None = None,
        deadline: float = DEADLINE,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        self._http = http
        self._settings = settings
        self._prefix = f"/communication-preferences/{settings.api_version}"
        self._batch = settings.batch_size
        self._scrub = Scrubber(settings.token)
        self._on_progress = on_progress
        self._retry = retry
        self._portal_id: int | None = None
        self._mode = settings.api_mode
        # The 403 that switched an "auto" client to single mode, if one did.
        self.probe_refusal: ScopeError | None = None
        self.limiter = limiter
        self.stats = ClientStats()
        self._sender = Sender(
            http,
            limiter=limiter,
            retry=retry,
            concurrency=settings.concurrency,
            stats=self.stats,
            scrub=self._scrub,
            deadline=deadline,
            max_answer_bytes=max_answer_bytes,
        )

    @classmethod
    def from_settings(
        cls,
        settings: ApiSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        on_progress: Callable[[int], None] | None = None,
        limiter: RateLimiter | None = None,
        timeout: httpx.Timeout | None = None,
        deadline: float = DEADLINE,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> HubSpotClient:
        """A client for ``settings``; ``transport`` replaces the network (tests, emulator).

        ``retry`` and ``limiter`` replace the default policy and limiter (the limiter
        then ignores ``settings.rate_limit``); ``timeout`` the default timeouts (10 s to
        connect, 30 s otherwise); ``deadline`` the most one attempt may take until its
        whole answer is in (60 s), and ``max_answer_bytes`` the largest answer read
        (64 MiB). Refuses plain ``http://`` to anything but loopback, and
        a token that cannot travel in a header (see :func:`~reconciler.settings.check_token`).
        """
        base_url = check_api_url(settings.api_url)
        check_token(settings.token, "the client's settings")
        if settings.api_version not in API_VERSIONS:
            raise UsageError(
                f"unsupported API version {settings.api_version!r}",
                hint=f"use one of {', '.join(API_VERSIONS)}",
            )
        if settings.batch_size < 1 or settings.concurrency < 1:
            raise UsageError("batch size and concurrency must be at least 1")
        http = httpx.AsyncClient(
            base_url=base_url,
            transport=transport
            or WireTransport(max_idle=settings.concurrency, max_body=max_answer_bytes),
            headers={
                "Authorization": f"Bearer {settings.token}",
                "User-Agent": f"hsprefs/{__version__}",
                "Accept": "application/json",
            },
            timeout=timeout or TIMEOUT,
            limits=httpx.Limits(
                max_connections=settings.concurrency,
                max_keepalive_connections=settings.concurrency,
            ),
            follow_redirects=False,
            trust_env=transport is None,
        )
        return cls(
            http,
            settings=settings,
            limiter=limiter or RateLimiter(max_requests=settings.rate_limit),
            retry=retry or RetryPolicy(),
            on_progress=on_progress,
            deadline=deadline,
            max_answer_bytes=max_answer_bytes,
        )

    @property
    def api_mode(self) -> str:
        """``batch`` or ``single``; ``auto`` until the first read has settled it."""
        return self._mode

    def use_mode(self, mode: str) -> None:
        """Use ``batch`` or ``single`` from now on, without probing (apply of a saved plan
        uses the mode the plan was read in)."""
        if mode not in ("batch", "single"):
            raise UsageError(f"API mode must be batch or single, got {mode!r}")
        self._mode = mode

    @property
    def settings(self) -> ApiSettings:
        """The connection settings this client was built from (repr hides the token)."""
        return self._settings

    def __repr__(self) -> str:
        return (
            f"HubSpotClient(api_url={self._settings.api_url!r}, "
            f"api_version={self._settings.api_version!r}, token=<redacted>)"
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    # -- small helpers -------------------------------------------------------------

    def _progress(self, done: int) -> None:
        if self._on_progress is not None and done:
            self._on_progress(done)

    async def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        stop: asyncio.Event | None = None,
        effort: Effort | None = None,
        hurry: asyncio.Event | None = None,
        on_leave: Callable[[], bool] | None = None,
    ) -> tuple[dict[str, Any], str | None]:
        """Send and return the JSON object body and the correlationId (if any)."""
        response = await self._sender.send(
            operation,
            method,
            path,
            params=params,
            body=body,
            stop=stop,
            effort=effort,
            hurry=hurry,
            on_leave=on_leave,
        )
        data = json_body(response)
        if data is None:
            raise ApiError(
                f"{method} {path}: HubSpot answered {response.status_code} "
                "with a body that is not a JSON object",
                status_code=response.status_code,
                correlation_id=correlation_id(None, response.headers),
            )
        return data, correlation_id(data, response.headers)

    def _params(self, brand: int | None) -> dict[str, str | int]:
        params: dict[str, str | int] = {"channel": "EMAIL"}
        if brand is not None:
            params["businessUnitId"] = brand
        return params

    # -- identity and definitions --------------------------------------------------

    async def portal_id(self) -> int:
        """The portal (account) id of the token, read once per client."""
        if self._portal_id is None:
            data, cid = await self._call("account_info", "GET", ACCOUNT_INFO)
            value = data.get("portalId")
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise ApiError(
                    f"GET {ACCOUNT_INFO}: HubSpot's answer has no portalId",
                    correlation_id=cid,
                )
            try:
                self._portal_id = int(value)
            except ValueError:
                raise ApiError(
                    f"GET {ACCOUNT_INFO}: portalId {value!r} is not a number",
                    correlation_id=cid,
                ) from None
        return self._portal_id

    async def definitions(self, business_unit: int | None = None) -> list[Definition]:
        """The subscription types of a brand (all brands' defaults when None)."""
        path = f"{self._prefix}/definitions"
        params: dict[str, str | int] = {}
        if business_unit is not None:
            params["businessUnitId"] = business_unit
        data, cid = await self._call("definitions", "GET", path, params=params or None)
        envelope = parse_envelope(data)
        if not envelope.complete:
            raise ApiError(
                f"GET {path}: HubSpot answered {envelope.status}; the list is not final",
                correlation_id=cid,
                hint="try again in a moment",
            )
        try:
            return parse_definitions(data, brand=business_unit)
        except ShapeError as exc:
            raise ApiError(f"GET {path}: unexpected answer: {exc}", correlation_id=cid) from None

    # -- reads -----------------------------------------------------------------------

    async def read(
        self,
        subscribers: Mapping[int, Sequence[str]],
        *,
        hurry: asyncio.Event | None = None,
    ) -> LiveState:
        """Statuses and opt-outs of every subscriber, per brand, with the fewest calls.

        Per brand: ``ceil(N / batch)`` status reads and as many wide-status reads, all
        chunks of all brands at once; in single mode one status read and one opt-out read
        per subscriber. In ``auto`` mode the first status read goes alone and settles the
        mode (:attr:`api_mode`). Raises :class:`~reconciler.errors.ApiError` when any
        subscriber could not be read or was not confirmed; its ``unread`` names them.
        Once ``hurry`` is set no read waits (for the rate limit or a retry): one that
        would have to is not made, and its subscribers count as not read.
        """
        wanted = {
            brand: unique
            for brand, emails in subscribers.items()
            if (unique := list(dict.fromkeys(normalise_email(e) for e in emails)))
        }
        total = sum(len(emails) for emails in wanted.values())
        probed = await self._probe(wanted, hurry) if self._mode == "auto" and wanted else None
        jobs: list[Coroutine[Any, Any, ChunkRead]] = []
        brands: list[int] = []
        for brand, unique in wanted.items():
            size = 1 if self._mode == "single" else self._batch
            for chunk_emails in _chunks(unique, size):
                jobs.append(self._read_chunk(brand, chunk_emails, probed, hurry))
                brands.append(brand)
                probed = None  # the probe answered the first chunk's status read
        chunks = await _run_all(jobs)
        statuses: dict[PairKey, LiveStatus] = {}
        opt_outs: dict[SubscriberKey, LiveOptOut] = {}
        unread: list[tuple[int, str]] = []
        first: ApiError | None = None
        for brand, chunk in zip(brands, chunks, strict=True):
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
        self, wanted: Mapping[int, Sequence[str]], hurry: asyncio.Event | None = None
    ) -> ReadPart | None:
        """Send the first status read alone and settle the mode: single after a 403 that
        names a batch scope, else batch. The answer is kept (None after the 403)."""
        brand, emails = next(iter(wanted.items()))
        try:
            part = await self._read_part(brand, emails[: self._batch], wide=False, hurry=hurry)
        except ScopeError as exc:
            if not names_batch_scope(exc):
                raise
            log.info("the token has no batch scopes (%s); using single mode", exc.missing_scopes)
            self._mode, self.probe_refusal = "single", exc
            return None
        self._mode = "batch"
        return part

    async def _read_chunk(
        self,
        brand: int,
        emails: Sequence[str],
        statuses: ReadPart | None = None,
        hurry: asyncio.Event | None = None,
    ) -> ChunkRead:
        # The status read first, then the wide read (unless the probe read the statuses).
        jobs = [self._read_part(brand, emails, wide=True, hurry=hurry)]
        if statuses is None:
            jobs.insert(0, self._read_part(brand, emails, wide=False, hurry=hurry))
        parts = await _run_all(jobs)
        self._progress(len(emails))
        return ChunkRead(tuple(emails), statuses or parts[0], parts[-1])

    async def _read_part(
        self,
        brand: int,
        emails: Sequence[str],
        *,
        wide: bool,
        hurry: asyncio.Event | None = None,
    ) -> ReadPart:
        single = self._mode == "single"
        operation = ("read_wide" if wide else "read_statuses") + ("_single" if single else "")
        method = "GET" if single else "POST"
        if single:
            path = subscriber_path(self._prefix, emails[0], opt_out=wide)
            body = None
        else:
            endpoint = "statuses/batch/unsubscribe-all/read" if wide else "statuses/batch/read"
            path = f"{self._prefix}/{endpoint}"
            body = {"inputs": list(emails)}
        what = f"{method} {path}"
        # One bound for all the askings: their attempts and waits, not their queueing.
        effort = Effort()
        attempt = 0
        while True:
            attempt += 1
            try:
                data, cid = await self._call(
                    operation,
                    method,
                    path,
                    params=self._params(brand),
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
            delay = self._retry.backoff(attempt)
            if not self._retry.should_retry(attempt, effort, delay) or (
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
            self.stats.retries += 1
            log.info("%s answered %s; asking again in %.2f s", what, envelope.status, delay)
            effort.spent += delay
            await self._retry.sleep(delay)
        if single:
            envelope = as_batch(envelope, emails[0], "wideStatuses" if wide else "statuses")
        return read_answer(
            envelope,
            wide=wide,
            brand=brand,
            emails=emails,
            what=what,
            correlation_id=cid,
            scrub=self._scrub,
        )

    # -- writes ----------------------------------------------------------------------

    async def write(
        self,
        writes: Sequence[StatusWrite],
        *,
        stop: asyncio.Event | None = None,
        on_leave: OnLeave | None = None,
    ) -> list[WriteResult]:
        """Send status writes in batches (input order kept); one result per input.

        Chunks may run concurrently. Raises only for errors that stop everything (401,
        403, the daily limit, and HubSpot unreachable: no attempt of a call connected, a
        :class:`~reconciler.errors.TransportError` with ``never_connected`` set); such an
        error has ``may_have_applied`` set when an earlier attempt of the call may have
        been applied. Any other failure of a whole call makes its inputs FAILED (HubSpot
        refused the batch, and no earlier attempt may have been applied) or UNCONFIRMED
        (it may or may not have happened).

        Once ``stop`` is set no further call or retry leaves, and the waits for the rate
        limit and between retries end; calls on the wire are seen through. The inputs of
        a call that no attempt can have reached HubSpot with (none left yet, or each was
        answered 429 or never connected) come back NOT_SENT; those of a call stopped
        before a retry after an attempt that may have been applied come back
        UNCONFIRMED, for the read-back to decide.

        ``on_leave(indices)`` is called once per call, just before its first attempt
        leaves, with the indices (into ``writes``) of the inputs it carries: the moment
        apply journals them as being sent. When it returns False (the journal could not
        be written) the call does not leave and its inputs come back NOT_SENT.
        """
        bodies = [write_input(w) for w in writes]
        single = self._mode == "single"
        jobs = [
            self._write_chunk(
                chunk,
                bodies[start : start + len(chunk)],
                stop,
                _leaving(on_leave, range(start, start + len(chunk))),
                single=single,
            )
            for start, chunk in _indexed_chunks(writes, 1 if single else self._batch)
        ]
        return [result for part in await _run_all(jobs) for result in part]

    async def _write_chunk(
        self,
        chunk: Sequence[StatusWrite],
        inputs: list[dict[str, Any]],
        stop: asyncio.Event | None,
        leave: Callable[[], bool] | None = None,
        *,
        single: bool,
    ) -> list[WriteResult]:
        # Retrying a write is safe: it sets statuses, so sending it twice is a no-op.
        if single:
            # The path names the subscriber; the body is the rest of the one input.
            path = subscriber_path(self._prefix, chunk[0].email)
            body: Any = {k: v for k, v in inputs[0].items() if k != "subscriberIdString"}
        else:
            path, body = f"{self._prefix}/statuses/batch/write", {"inputs": inputs}
        operation = "write_single" if single else "write"
        try:
            data, cid = await self._call(
                operation, "POST", path, body=body, stop=stop, on_leave=leave
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
            envelope = parse_envelope(data)
            if single:
                envelope = with_address(envelope, chunk[0].email)
            results = match_writes(chunk, envelope, correlation_id=cid, scrub=self._scrub)
        self._progress(len(chunk))
        return results

    async def unsubscribe_all(
        self,
        subscribers: Sequence[SubscriberKey],
        *,
        stop: asyncio.Event | None = None,
        on_leave: OnLeave | None = None,
    ) -> list[WriteResult]:
        """Opt subscribers out of all email of their brand; one result per input, in order.

        Grouped per brand: ``ceil(N_b / batch)`` calls each (one per subscriber in single
        mode). Errors, ``stop`` and ``on_leave`` (with indices into ``subscribers``) as for
        :meth:`write`.
        """
        size = 1 if self._mode == "single" else self._batch
        by_brand: dict[int, dict[str, SubscriberKey]] = {}
        positions: dict[SubscriberKey, list[int]] = {}
        for index, key in enumerate(subscribers):
            by_brand.setdefault(key.brand, {}).setdefault(normalise_email(key.email), key)
            positions.setdefault(norm_key(key), []).append(index)
        jobs = [
            self._opt_out_chunk(
                brand,
                chunk,
                stop,
                _leaving(on_leave, [i for key in chunk for i in positions[norm_key(key)]]),
            )
            for brand, keys in by_brand.items()
            for chunk in _chunks(list(keys.values()), size)
        ]
        found: dict[SubscriberKey, WriteResult] = {}
        for part in await _run_all(jobs):
            for result in part:
                assert isinstance(result.target, SubscriberKey)
                found[norm_key(result.target)] = result
        return [retarget(found[norm_key(key)], key) for key in subscribers]

    async def _opt_out_chunk(
        self,
        brand: int,
        chunk: Sequence[SubscriberKey],
        stop: asyncio.Event | None,
        leave: Callable[[], bool] | None = None,
    ) -> list[WriteResult]:
        # Retrying is safe: opting someone out twice leaves them opted out.
        single = self._mode == "single"
        body: Any = None
        if single:
            path = subscriber_path(self._prefix, chunk[0].email, opt_out=True)
        else:
            path = f"{self._prefix}/statuses/batch/unsubscribe-all"
            body = {"inputs": [normalise_email(k.email) for k in chunk]}
        # verbose=true makes HubSpot list the statuses it flipped, with their reasons,
        # so the journal records what the opt-out did.
        params = {**self._params(brand), "verbose": "true"}
        try:
            data, cid = await self._call(
                "unsubscribe_all_single" if single else "unsubscribe_all",
                "POST",
                path,
                params=params,
                body=body,
                stop=stop,
                on_leave=leave,
            )
        except NotSent as unsent:
            return [WriteResult(key, Outcome.NOT_SENT, error=unsent.reason) for key in chunk]
        except NotRetried as stopped:
            results = not_retried(chunk, stopped.error)
        except ApiError as exc:
            if stops_writes(exc):
                raise
            results = whole_call_failed(chunk, exc)
        else:
            envelope = parse_envelope(data)
            if single:
                envelope = as_batch(envelope, chunk[0].email, "statuses")
            results = match_opt_outs(chunk, envelope, correlation_id=cid, scrub=self._scrub)
        self._progress(len(chunk))
        return results


def _leaving(on_leave: OnLeave | None, indices: Sequence[int]) -> Callable[[], bool] | None:
    """The one-call hook of ``on_leave`` for a call carrying ``indices``."""
    if on_leave is None:
        return None
    chosen = list(indices)
    return lambda: on_leave(chosen)


def _indexed_chunks(items: Sequence[T], size: int) -> list[tuple[int, Sequence[T]]]:
    return [(i, items[i : i + size]) for i in range(0, len(items), size)]
