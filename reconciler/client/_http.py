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

:class:`ClientStats` counts requests per operation, retries and 429s received.

Imports: the standard library, httpx, :mod:`reconciler.errors` and the client's private
modules.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from reconciler.client._errors import (
    Scrubber,
    correlation_id,
    error_from_response,
    json_body,
    policy_name,
)
from reconciler.client._ratelimit import RateLimiter
from reconciler.client._retry import Effort, RetryPolicy
from reconciler.errors import ApiError, TransportError

__all__ = ["ClientStats", "Sender"]

log = logging.getLogger("reconciler.client")


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
    """The caller's stop event was set before the request's turn came: it was not sent."""


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
    ) -> None:
        self._http = http
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
    ) -> httpx.Response:
        """Send one request until it succeeds (any status below 400) or must give up.

        Raises :class:`~reconciler.errors.ApiError` subclasses: at once for 4xx answers
        other than a rolling-window 429 and for the daily limit; after the retry policy
        is spent for 429, 5xx and network failures. Raises :class:`NotSent` when ``stop``
        is set before the first attempt leaves (a request once sent is seen through).
        The policy's time bound counts the attempts and the waits between them, never the
        time spent waiting for a turn; ``effort`` shares that count with the caller.
        """
        what = f"{method} {path}"
        effort = effort if effort is not None else Effort()
        attempt = 0
        while True:
            attempt += 1
            response, failure = await self._attempt(
                operation,
                method,
                path,
                params,
                body,
                stop=stop if attempt == 1 else None,
                effort=effort,
            )
            if response is not None and response.status_code < 400:
                return response
            if response is not None:
                delay = self._judge(response, what, attempt)
            else:
                delay = self._retry.backoff(attempt)
            if not self._retry.should_retry(attempt, effort, delay):
                raise self._give_up(what, attempt, response, failure) from failure
            self._stats.retries += 1
            log.info(
                "retrying %s in %.2f s (attempt %d failed: %s)",
                what,
                delay,
                attempt,
                response.status_code if response is not None else type(failure).__name__,
            )
            effort.spent += delay
            await self._retry.sleep(delay)

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
    ) -> tuple[httpx.Response | None, Exception | None]:
        async with self._slots:
            if stop is not None and stop.is_set():
                raise NotSent
            sent_at = await self._limiter.acquire()
            if stop is not None and stop.is_set():  # set while waiting for the budget
                self._limiter.forgo()
                raise NotSent
            stats = self._stats
            stats.requests[operation] = stats.requests.get(operation, 0) + 1
            stats.in_flight += 1
            stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
            began = time.monotonic()
            left = self._retry.clock()  # the retry bound counts from here, not the queue
            try:
                response = await self._http.request(method, path, params=params, json=body)
            except httpx.UnsupportedProtocol as exc:
                # A wrong URL scheme will not fix itself: no retries.
                raise TransportError(f"{method} {path}: {exc}", hint="check --api-url") from exc
            except httpx.TransportError as exc:
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
            # Everyone waits, not only this request: the budget is shared.
            self._limiter.hold(delay)
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
    ) -> ApiError:
        if response is not None:
            return error_from_response(response, what=what, scrub=self._scrub, attempts=attempts)
        kind = type(failure).__name__
        detail = self._scrub(" ".join(str(failure).split())) if failure is not None else ""
        tried = f" after {attempts} attempts" if attempts > 1 else ""
        cause = f"{kind}: {detail}" if detail else kind
        return TransportError(
            f"{what} failed{tried}: no answer from HubSpot ({cause})",
            hint="check the network and --api-url; HubSpot may be unreachable",
        )
