"""One request, sent politely: concurrency slot, rate-limit slot, retries, error mapping.

:class:`Sender` is the single path every call of :class:`~reconciler.client.HubSpotClient`
takes to the network. For each attempt it takes a concurrency slot, then a slot of the
rate limiter (in that order, so the time the limiter records is the time the request
leaves), sends, and lets the limiter learn from the answer's headers. It retries 429
(``Retry-After`` when given, else until the limiter's window frees: see
:meth:`~reconciler.client._ratelimit.RateLimiter.time_until_window_frees`), 5xx
answers, timeouts and dropped connections; it turns every other error answer into an
exception of :mod:`reconciler.errors` at once. Retrying is safe for every call the
client makes: see :mod:`reconciler.client._retry`.

A caller's ``stop`` event (Ctrl-C in apply) keeps any further attempt from leaving, and
cuts short the waits for the rate limiter and between retries. What a stopped call did
depends on its attempts so far: when none of them can have reached HubSpot (only 429s,
which HubSpot does not process, or connections that were never established) the call is
:class:`NotSent`; when one may have (a 5xx, a timeout, a connection dropped after the
request left) its effect is unknown and it raises :class:`NotRetried`. For the same
reason an error raised after such an attempt has ``may_have_applied`` set.

:class:`ClientStats` counts requests per operation, retries and 429s received.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import httpx
import orjson

from reconciler.client._errors import (
    Scrubber,
    correlation_id,
    error_from_response,
    json_body,
    policy_name,
)
from reconciler.client._ratelimit import RateLimiter
from reconciler.client._request import Requests
from reconciler.client._retry import Effort, Retrying, RetryPolicy
from reconciler.client._wire import AnswerTooLarge
from reconciler.errors import ApiError, TransportError

__all__ = ["ClientStats", "NotRetried", "NotSent", "Sender", "may_have_reached"]

log = logging.getLogger("reconciler.client")

T = TypeVar("T")

# Failures of a request that cannot have reached HubSpot: no connection carried it.
_NEVER_CONNECTED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# getaddrinfo's answers that say the name does not resolve and will not on a retry; a
# temporary failure (EAI_AGAIN: the resolver did not answer) is retried like any network
# failure.
_TRANSIENT_DNS = {getattr(socket, "EAI_AGAIN", -3)}

# The path of a call as people read it: without the API prefix, and with a subscriber's
# address (single mode) as {subscriber}, as the plan names the calls.
_PREFIX = re.compile(r"^/communication-preferences/[^/]+/")
_SUBSCRIBER = re.compile(r"^statuses/(?!batch/)[^/]+")


def _request_name(method: str, path: str) -> str:
    """``POST statuses/batch/read``, ``GET statuses/{subscriber}/unsubscribe-all``."""
    rest = _PREFIX.sub("", path)
    if rest == path:
        return f"{method} {path.lstrip('/')}"
    return f"{method} {_SUBSCRIBER.sub('statuses/{subscriber}', rest)}"


def _reason(response: httpx.Response | None, failure: Exception | None) -> str:
    """What a failed attempt got, in a few words."""
    if response is not None:
        return f"HTTP {response.status_code}"
    if isinstance(failure, httpx.TimeoutException):
        return "a timeout"
    if isinstance(failure, httpx.ConnectError):
        return "a failed connection"
    return "a dropped connection"


def unresolved_name(failure: BaseException) -> socket.gaierror | None:
    """The DNS answer that says the host does not exist, if ``failure`` came of one
    (httpx wraps getaddrinfo's error a layer or two down)."""
    seen: BaseException | None = failure
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, socket.gaierror):
            return None if seen.errno in _TRANSIENT_DNS else seen
        seen = seen.__cause__ or seen.__context__
    return None


#: The longest one attempt may take, from the moment it leaves until its whole answer
#: is in (the per-read timeout alone lets a server that drips a byte at a time keep a
#: request open for ever).
DEADLINE = 60.0
#: The largest answer read (its body, decoded): HubSpot's biggest answers, a batch read
#: of many subscribers with many subscriptions, are a few MiB.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
# Headers that no longer describe a body that was read and decoded here.
_BODY_HEADERS = (b"content-encoding", b"content-length", b"transfer-encoding")


class DeadlinePassed(httpx.TimeoutException):
    """An attempt's whole answer did not arrive within the deadline."""


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"


def _redirect(response: httpx.Response, what: str, scrub: Scrubber) -> ApiError:
    """The error of a 3xx: never followed (the token goes to --api-url only)."""
    location = response.headers.get("Location")
    target = ""
    if location:
        try:
            url = httpx.URL(location)
            where = f"{url.scheme}://{url.host}{f':{url.port}' if url.port else ''}{url.path}"
        except (httpx.InvalidURL, ValueError):
            where = "an address that is not a URL"
        target = f" to {scrub(' '.join(where.split()))}" if where else ""
    return ApiError(
        f"{what}: HubSpot answered {response.status_code}, a redirect{target}; hsprefs does "
        "not follow redirects, so the token goes nowhere but --api-url",
        status_code=response.status_code,
        correlation_id=correlation_id(None, response.headers),
        hint="check --api-url: HubSpot's API answers at https://api.hubapi.com",
    )


@dataclass(slots=True)
class ClientStats:
    """What a client did: requests per operation, retries, 429s, peak requests in flight."""

    requests: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    rate_limited: int = 0
    max_in_flight: int = 0
    in_flight: int = 0

    @property
    def total_requests(self) -> int:
        """All requests sent, retries included."""
        return sum(self.requests.values())

    def as_dict(self) -> dict[str, Any]:
        """A plain summary for reports and benchmarks."""
        return {
            "requests": dict(sorted(self.requests.items())),
            "total_requests": self.total_requests,
            "retries": self.retries,
            "rate_limited": self.rate_limited,
            "max_in_flight": self.max_in_flight,
        }


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (a number or an HTTP date), None if absent."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


class NotSent(Exception):
    """The caller's stop event was set before the request left, or before a retry of a
    request that no attempt can have reached HubSpot with: nothing was applied.

    ``reason`` says why when attempts had been made (None when none had).
    """

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "not sent")
        self.reason = reason


class NotRetried(Exception):
    """The caller's stop event was set before a retry, and an earlier attempt may have
    reached HubSpot and been applied: the call's effect is unknown.

    ``error`` describes the last attempt's failure (its ``may_have_applied`` is set).
    """

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


def may_have_reached(response: httpx.Response | None, failure: Exception | None) -> bool:
    """Whether a failed attempt (an error answer, or no answer) may have been applied.

    A 429 is counted but not processed by HubSpot, another 4xx is a refusal, and a
    connection that was never established carried nothing. A 5xx may come after the work
    was done (a gateway's 504), and a timeout or a connection dropped after the request
    left says nothing about what HubSpot did with it.
    """
    if response is not None:
        return response.status_code >= 500
    return not isinstance(failure, _NEVER_CONNECTED)


async def _until_stopped(
    job: Awaitable[T],
    stop: asyncio.Event,
    undo: Callable[[T], None] | None = None,
) -> asyncio.Future[T] | None:
    """Run ``job`` until it finishes or ``stop`` is set, whichever comes first.

    Returns the job's finished future, or None when ``stop`` was set first or by the time
    the job finished; the job is then cancelled, and a result it had already produced
    goes to ``undo`` (so a rate-limit slot taken at that moment is given back). A
    cancelled caller cancels the job the same way.
    """
    task = asyncio.ensure_future(job)
    stopping = asyncio.ensure_future(stop.wait())
    kept = False
    try:
        await asyncio.wait((task, stopping), return_when=asyncio.FIRST_COMPLETED)
        kept = task.done() and not stop.is_set()
    finally:
        stopping.cancel()
        task.cancel()
        await asyncio.gather(task, stopping, return_exceptions=True)
        if not kept and undo is not None and not task.cancelled() and task.exception() is None:
            undo(task.result())
    return task if kept else None


def _either(events: list[asyncio.Event]) -> asyncio.Event:
    """One event for several: the first one, or a new one set when any of them is set."""
    if len(events) == 1:
        return events[0]
    both = _AnyEvent(events)
    return both


class _AnyEvent(asyncio.Event):
    """Set when any of its events is; waiting on it waits for the first of them."""

    def __init__(self, events: list[asyncio.Event]) -> None:
        super().__init__()
        self._events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self._events)

    async def wait(self) -> Literal[True]:
        waiters = [asyncio.ensure_future(e.wait()) for e in self._events]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
        return True


class Sender:
    """Sends requests with bounded concurrency, the rate limiter and the retry policy."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        limiter: RateLimiter,
        retry: RetryPolicy,
        concurrency: int,
        stats: ClientStats,
        scrub: Scrubber,
        deadline: float = DEADLINE,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        on_retry: Callable[[Retrying], None] | None = None,
    ) -> None:
        self._on_retry = on_retry
        self._deadline = deadline
        self._max_answer = max_answer_bytes
        self._http = http
        self._requests = Requests(http)
        self._limiter = limiter
        self._retry = retry
        self._slots = asyncio.Semaphore(concurrency)
        self._stats = stats
        self._scrub = scrub

    async def send(
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
    ) -> httpx.Response:
        """Send one request until it succeeds (any status below 400) or must give up.

        Raises :class:`~reconciler.errors.ApiError` subclasses: at once for 4xx answers
        other than a rolling-window 429 and for the daily limit; after the retry policy
        is spent for 429, 5xx and network failures. Such an error has
        ``may_have_applied`` set when an earlier attempt may have reached HubSpot (see
        :func:`may_have_reached`). The policy's time bound counts the attempts and the
        waits between them, never the time spent waiting for a turn; ``effort`` shares
        that count with the caller.

        Once ``stop`` is set no attempt leaves (an attempt on the wire is seen through)
        and the waits for the rate limiter and between retries end at once: the call
        raises :class:`NotSent` when no attempt so far can have reached HubSpot, and
        :class:`NotRetried` when one may have.

        ``hurry`` is gentler: attempts may still leave once it is set, but no wait does
        (for the rate limiter, a ``Retry-After`` hold, or between retries). A call that
        would have to wait raises :class:`NotSent` before its first attempt and gives up
        with its last failure after one (the read-back of an apply whose user asked it to
        stop uses it).

        ``on_leave`` is called once, when the first attempt has its turn and is about to
        leave (apply journals the call's inputs as being sent then); when it returns
        False nothing leaves and the call raises :class:`NotSent`.
        """
        what = f"{method} {path}"
        effort = effort if effort is not None else Effort()
        attempt = 0
        reached = False  # whether an attempt so far may have been applied by HubSpot
        response: httpx.Response | None = None
        failure: Exception | None = None
        while True:
            attempt += 1
            try:
                response, failure = await self._attempt(
                    operation,
                    method,
                    path,
                    params,
                    body,
                    stop=stop,
                    hurry=hurry,
                    effort=effort,
                    retry=attempt > 1,
                    on_leave=on_leave if attempt == 1 else None,
                )
            except NotSent:
                if attempt > 1 and hurry is not None and hurry.is_set():
                    # In a hurry and no turn free: give up with the last attempt's failure.
                    error = self._give_up(what, attempt - 1, response, failure)
                    error.may_have_applied = reached
                    raise error from failure
                # Stopped while this attempt waited for its turn: the earlier ones decide.
                raise self._stopped(what, attempt - 1, response, failure, reached) from None
            except ApiError as exc:
                exc.may_have_applied = reached or exc.may_have_applied
                if reached and isinstance(exc, TransportError):
                    exc.never_connected = False
                raise
            if response is not None and 300 <= response.status_code < 400:
                error = _redirect(response, what, self._scrub)
                error.may_have_applied = reached
                raise error
            if response is not None and response.status_code < 400:
                return response
            try:
                if response is not None:
                    delay = self._judge(response, what, attempt)
                else:
                    delay = self._retry.backoff(attempt)
            except ApiError as exc:
                exc.may_have_applied = reached
                raise
            if not self._retry.should_retry(attempt, effort, delay) or (
                hurry is not None and hurry.is_set()
            ):
                error = self._give_up(what, attempt, response, failure, waited=delay)
                error.may_have_applied = reached
                if isinstance(error, TransportError) and not (
                    reached or may_have_reached(response, failure)
                ):
                    error.never_connected = True
                raise error from failure
            if response is not None and response.status_code == 429:
                # Everyone waits, not only this request: the budget is shared. Only a wait
                # the policy accepts is held (a Retry-After beyond it gave up just above),
                # so no hold outlives the retry budget.
                self._limiter.hold(delay)
            reached = reached or may_have_reached(response, failure)
            if stop is not None and stop.is_set():
                raise self._stopped(what, attempt, response, failure, reached)
            if self._on_retry is not None:
                self._on_retry(
                    Retrying(
                        request=_request_name(method, path),
                        reason=_reason(response, failure),
                        attempt=attempt + 1,
                        attempts=self._retry.max_attempts,
                        delay=delay,
                    )
                )
            log.info(
                "retrying %s in %.2f s (attempt %d failed: %s)",
                what,
                delay,
                attempt,
                response.status_code if response is not None else type(failure).__name__,
            )
            effort.spent += delay
            await self._pause(delay, stop, hurry)

    def _stopped(
        self,
        what: str,
        attempts: int,
        response: httpx.Response | None,
        failure: Exception | None,
        reached: bool,
    ) -> Exception:
        """What a call stopped before its next attempt raises (see :meth:`send`)."""
        if attempts == 0:
            return NotSent()
        if not reached:
            last = (
                f"was answered {response.status_code}"
                if response is not None
                else f"got no connection: {type(failure).__name__}"
            )
            return NotSent(f"HubSpot did not act on the attempts made (the last {last})")
        error = self._give_up(what, attempts, response, failure)
        error.may_have_applied = True
        log.info("not retrying %s: stopped, and an earlier attempt may have been applied", what)
        return NotRetried(error)

    async def _pause(
        self, delay: float, stop: asyncio.Event | None, hurry: asyncio.Event | None = None
    ) -> None:
        """The wait before a retry; it ends early when ``stop`` or ``hurry`` is set (Ctrl-C
        must not wait out a whole rate-limit window)."""
        events = [e for e in (stop, hurry) if e is not None]
        if not events:
            await self._retry.sleep(delay)
            return
        if any(e.is_set() for e in events):
            return
        await _until_stopped(self._retry.sleep(delay), _either(events))

    async def _attempt(
        self,
        operation: str,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        body: Any,
        *,
        stop: asyncio.Event | None,
        effort: Effort,
        retry: bool,
        hurry: asyncio.Event | None = None,
        on_leave: Callable[[], bool] | None = None,
    ) -> tuple[httpx.Response | None, Exception | None]:
        async with self._slots:
            if hurry is not None and hurry.is_set() and self._limiter.time_until_free() > 0:
                raise NotSent
            events = [e for e in (stop, hurry) if e is not None]
            if not events:
                sent_at = await self._limiter.acquire()
            else:
                if stop is not None and stop.is_set():
                    raise NotSent
                # The wait for the budget may be a whole window after a 429: a stop set
                # meanwhile ends it, and a slot taken at that very moment is given back.
                taken = await _until_stopped(
                    self._limiter.acquire(),
                    _either(events),
                    undo=lambda _at: self._limiter.forgo(),
                )
                if taken is None:
                    raise NotSent
                sent_at = taken.result()
            # After the wait for a turn, before the request: a stop that came meanwhile
            # must keep it (and its journal lines) from leaving.
            if stop is not None and stop.is_set():
                self._limiter.forgo()
                raise NotSent
            if on_leave is not None and not on_leave():
                # What leaves must be journalled first; the journal refused, so nothing does.
                self._limiter.forgo()
                raise NotSent("the journal could not be written")
            stats = self._stats
            if retry:
                stats.retries += 1
            stats.requests[operation] = stats.requests.get(operation, 0) + 1
            stats.in_flight += 1
            stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
            began = time.monotonic()
            left = self._retry.clock()  # the retry bound counts from here, not the queue
            try:
                response = await self._exchange(method, path, params, body)
            except AnswerTooLarge as big:
                how = (
                    f"it declared {big.size:,} bytes"
                    if big.size is not None
                    else "hsprefs stopped reading it"
                )
                raise self._too_large(f"{method} {path}", None, how) from None
            except httpx.UnsupportedProtocol as exc:
                # A wrong URL scheme will not fix itself: no retries.
                raise TransportError(f"{method} {path}: {exc}", hint="check --api-url") from exc
            except httpx.TransportError as exc:
                if (dns := unresolved_name(exc)) is not None:
                    # A name that does not resolve will not on a retry: fail at once.
                    raise self._unresolved(method, path, dns) from None
                log.debug("%s %s failed: %s", method, path, type(exc).__name__)
                return None, exc
            finally:
                # HubSpot may have counted the request whatever became of it.
                self._limiter.release()
                stats.in_flight -= 1
                effort.spent += max(0.0, self._retry.clock() - left)
            self._limiter.observe(response.headers, sent_at)
        log.debug(
            "%s %s -> %d in %.0f ms%s",
            method,
            path,
            response.status_code,
            (time.monotonic() - began) * 1000,
            f" [correlationId {cid}]" if (cid := correlation_id(None, response.headers)) else "",
        )
        return response, None

    async def _exchange(
        self, method: str, path: str, params: Mapping[str, str | int] | None, body: Any
    ) -> httpx.Response:
        """One request and its whole answer, within the deadline and the size cap.

        Raises :class:`DeadlinePassed` (a timeout: retried, and it may have been applied)
        when the answer is not all in within the deadline, and a
        :class:`~reconciler.errors.TransportError` naming the cap (not retried: the same
        server would send the same) when the body is larger.
        """
        # orjson writes the body (httpx's own json= runs json.dumps: a third of the
        # client's CPU per call for a batch of 100 addresses).
        content = None if body is None else orjson.dumps(body)
        request = self._requests.build(method, path, params, content)
        try:
            async with asyncio.timeout(self._deadline):
                response = await self._requests.send(request)
                try:
                    content = await self._read_capped(response, f"{method} {path}")
                finally:
                    await response.aclose()
        except TimeoutError:
            raise DeadlinePassed(
                f"no whole answer within the deadline of {self._deadline:g} s", request=request
            ) from None
        headers = [(k, v) for k, v in response.headers.raw if k.lower() not in _BODY_HEADERS]
        return httpx.Response(
            response.status_code, headers=headers, content=content, request=request
        )

    async def _read_capped(self, response: httpx.Response, what: str) -> bytes:
        cap = self._max_answer
        declared = response.headers.get("Content-Length", "").strip()
        if declared.isdigit() and int(declared) > cap:
            raise self._too_large(what, response, f"it declared {int(declared):,} bytes")
        parts: list[bytes] = []
        size = 0
        async for part in response.aiter_bytes():
            size += len(part)
            if size > cap:
                raise self._too_large(what, response, "hsprefs stopped reading it")
            parts.append(part)
        return b"".join(parts)

    def _too_large(self, what: str, response: httpx.Response | None, how: str) -> TransportError:
        status = f" ({response.status_code})" if response is not None else ""
        return TransportError(
            f"{what}: HubSpot's answer{status} is larger than the cap of "
            f"{_mib(self._max_answer)} ({how})",
            status_code=0,
            correlation_id=correlation_id(None, response.headers) if response else None,
            hint="check --api-url: HubSpot's answers are far smaller",
            # An answer came: the request reached the server, which may have acted on it.
            may_have_applied=True,
        )

    def _unresolved(self, method: str, path: str, dns: socket.gaierror) -> TransportError:
        """The error of a host name that does not resolve: nothing left, no retry."""
        host = self._http.base_url.host
        why = " ".join(str(dns.strerror or dns).split())
        error = TransportError(
            self._scrub(
                f"{method} {path}: cannot resolve the host {host} (DNS: {why}); not retried: "
                "a name that does not resolve is not a passing failure"
            ),
            hint="check --api-url or HSPREFS_API_URL and the network's DNS; HubSpot's API "
            "is at https://api.hubapi.com",
        )
        error.never_connected = True
        return error

    def _judge(self, response: httpx.Response, what: str, attempt: int) -> float:
        """The wait before retrying an error answer; raises when it is not worth retrying."""
        code = response.status_code
        if code == 429:
            self._stats.rate_limited += 1
            body = json_body(response)
            if policy_name(body) == "DAILY":
                raise error_from_response(response, what=what, scrub=self._scrub)
            asked = retry_after(response.headers)
            if asked is None:
                # No Retry-After: a rolling window frees when its oldest request ages out,
                # which the limiter may know; else a whole window. Never a short backoff,
                # which would only fetch another 429.
                delay = max(self._limiter.time_until_window_frees(), self._retry.backoff(attempt))
            else:
                delay = asked
            return delay
        if code >= 500:
            return self._retry.backoff(attempt)
        raise error_from_response(response, what=what, scrub=self._scrub)

    def _give_up(
        self,
        what: str,
        attempts: int,
        response: httpx.Response | None,
        failure: Exception | None,
        *,
        waited: float | None = None,
    ) -> ApiError:
        if response is not None:
            # HubSpot may ask for a wait longer than a request may spend: no one waits it
            # out (the limiter is not held for it either), and the error says so.
            budget = self._retry.max_total
            too_long = (
                (waited, budget)
                if response.status_code == 429 and waited is not None and waited > budget
                else None
            )
            return error_from_response(
                response, what=what, scrub=self._scrub, attempts=attempts, too_long=too_long
            )
        kind = type(failure).__name__
        detail = self._scrub(" ".join(str(failure).split())) if failure is not None else ""
        tried = f" after {attempts} attempts" if attempts > 1 else ""
        cause = f"{kind}: {detail}" if detail else kind
        return TransportError(
            f"{what} failed{tried}: no answer from HubSpot ({cause})",
            hint="check the network and --api-url; HubSpot may be unreachable",
        )
