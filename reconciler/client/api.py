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
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Self

import httpx

from reconciler import __version__
from reconciler.client import _reads, _writes
from reconciler.client._calls import Calls, OnLeave
from reconciler.client._errors import Scrubber
from reconciler.client._http import DEADLINE, MAX_ANSWER_BYTES, ClientStats, Sender
from reconciler.client._parse import ShapeError, parse_definitions, parse_envelope
from reconciler.client._ratelimit import RateLimiter
from reconciler.client._retry import Retrying, RetryPolicy
from reconciler.client._wire import WireTransport
from reconciler.errors import ApiError, ScopeError, UsageError
from reconciler.model import (
    Definition,
    LiveState,
    ReadScope,
    StatusWrite,
    SubscriberKey,
    WriteResult,
)
from reconciler.settings import API_VERSIONS, ApiSettings, check_api_url, check_token

__all__ = ["HubSpotClient"]

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
ACCOUNT_INFO = "/account-info/v3/details"
TOKEN_INFO = "/oauth/v2/private-apps/get/access-token-info"  # noqa: S105 - a path


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
        on_retry: Callable[[Retrying], None] | None = None,
    ) -> None:
        self._http = http
        self._settings = settings
        self._prefix = f"/communication-preferences/{settings.api_version}"
        self._scrub = Scrubber(settings.token)
        self._portal_id: int | None = None
        self.limiter = limiter
        self.stats = ClientStats()
        sender = Sender(
            http,
            limiter=limiter,
            retry=retry,
            concurrency=settings.concurrency,
            stats=self.stats,
            scrub=self._scrub,
            deadline=deadline,
            max_answer_bytes=max_answer_bytes,
            on_retry=on_retry,
        )
        self._calls = Calls(
            sender,
            prefix=self._prefix,
            batch=settings.batch_size,
            mode=settings.api_mode,
            scrub=self._scrub,
            retry=retry,
            stats=self.stats,
            on_progress=on_progress,
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
        on_retry: Callable[[Retrying], None] | None = None,
    ) -> HubSpotClient:
        """A client for ``settings``; ``transport`` replaces the network (tests, emulator).

        ``retry`` and ``limiter`` replace the default policy and limiter (the limiter
        then ignores ``settings.rate_limit``); ``timeout`` the default timeouts (10 s to
        connect, 30 s otherwise); ``deadline`` the most one attempt may take until its
        whole answer is in (60 s), and ``max_answer_bytes`` the largest answer read
        (64 MiB); ``on_retry`` is told of every retry before its wait (a
        :class:`~reconciler.client.Retrying`, which names no address and no token).
        Refuses plain ``http://`` to anything but loopback, and
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
            on_retry=on_retry,
        )

    @property
    def api_mode(self) -> str:
        """``batch`` or ``single``; ``auto`` until the first read has settled it."""
        return self._calls.mode

    @property
    def probe_refusal(self) -> ScopeError | None:
        """The 403 that switched an ``auto`` client to single mode, if one did."""
        return self._calls.probe_refusal

    def use_mode(self, mode: str) -> None:
        """Use ``batch`` or ``single`` from now on, without probing (apply of a saved plan
        uses the mode the plan was read in)."""
        if mode not in ("batch", "single"):
            raise UsageError(f"API mode must be batch or single, got {mode!r}")
        self._calls.mode = mode

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

    # -- identity and definitions --------------------------------------------------

    @property
    def known_portal_id(self) -> int | None:
        """The token's portal id if a call has read it, else None (no call is made)."""
        return self._portal_id

    async def portal_id(self) -> int:
        """The portal (account) id of the token, read once per client."""
        if self._portal_id is None:
            data, cid = await self._calls.call("account_info", "GET", ACCOUNT_INFO)
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

    async def token_scopes(self) -> frozenset[str]:
        """The scopes of this client's token, as HubSpot's private-app token info gives
        them (``POST /oauth/v2/private-apps/get/access-token-info``, the token in the
        body's ``tokenKey``; it goes nowhere but the API address, like the header).

        Raises :class:`~reconciler.errors.ApiError` when HubSpot does not tell: a token
        that is not a private app's (an OAuth token, a Service Key HubSpot does not
        introspect) gets a 404 or a 401, and an answer without a list of scopes is
        refused. No message repeats the token.
        """
        data, cid = await self._calls.call(
            "oauth.access_token_info",
            "POST",
            TOKEN_INFO,
            body={"tokenKey": self._settings.token},
        )
        scopes = data.get("scopes")
        if isinstance(scopes, str):
            # Some of HubSpot's token answers give scopes as one space-separated string.
            scopes = scopes.split()
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise ApiError(
                f"POST {TOKEN_INFO}: HubSpot's answer has no list of scopes",
                correlation_id=cid,
            )
        return frozenset(s.strip() for s in scopes if s.strip())

    async def definitions(self, business_unit: int | None = None) -> list[Definition]:
        """The subscription types of a brand (all brands' defaults when None)."""
        path = f"{self._prefix}/definitions"
        params: dict[str, str | int] = {}
        if business_unit is not None:
            params["businessUnitId"] = business_unit
        data, cid = await self._calls.call("definitions", "GET", path, params=params or None)
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
        keep: ReadScope | None = None,
    ) -> LiveState:
        """Statuses and opt-outs of every subscriber, per brand, with the fewest calls.

        Per brand: ``ceil(N / batch)`` status reads and as many wide-status reads, all
        chunks of all brands at once; in single mode one status read and one opt-out read
        per subscriber. In ``auto`` mode the first status read goes alone and settles the
        mode (:attr:`api_mode`). Raises :class:`~reconciler.errors.ApiError` when any
        subscriber could not be read or was not confirmed; its ``unread`` names them.
        Once ``hurry`` is set no read waits (for the rate limit or a retry): one that
        would have to is not made, and its subscribers count as not read.

        With ``keep`` (a :class:`~reconciler.model.ReadScope`) the state holds only the
        statuses of its pairs, under its own key objects, and the wide statuses that are
        opt-outs or of its flags: what a plan's diff or apply's checks look at (a plan of
        a million subscribers would otherwise hold every other subscription's status too).
        """
        return await _reads.read(self._calls, subscribers, hurry, keep)

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
        return await _writes.write(self._calls, writes, stop, on_leave)

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
        return await _writes.unsubscribe_all(self._calls, subscribers, stop, on_leave)
