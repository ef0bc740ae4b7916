"""What every call of one client shares, and how the client runs many of them at once.

:class:`Calls` is the client's calling context: the API prefix, the batch size, the mode
(``auto`` until the first read settles it), and :meth:`Calls.call`, which sends through
the rate-limited, retrying :class:`~reconciler.client._http.Sender` and returns the JSON
object of the answer. The read workflow (:mod:`reconciler.client._reads`) and the write
workflow (:mod:`reconciler.client._writes`) are functions over it, so that
:class:`~reconciler.client.HubSpotClient` stays the small public face.

:func:`run_all` runs the jobs of one read or write concurrently and cancels the rest on
the first exception; :func:`is_fatal` and :func:`stops_writes` say which errors end the
whole run rather than one call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from reconciler.client._errors import Scrubber, correlation_id, json_body
from reconciler.client._http import ClientStats, Sender
from reconciler.client._retry import Effort, RetryPolicy
from reconciler.errors import ApiError, AuthError, RateLimitError, ScopeError, TransportError

__all__ = [
    "Calls",
    "OnLeave",
    "chunks",
    "indexed_chunks",
    "is_fatal",
    "leaving",
    "run_all",
    "stops_writes",
]

T = TypeVar("T")
#: Told the inputs (indices) a call carries just before it first leaves; False keeps it.
OnLeave = Callable[[Sequence[int]], bool]


def is_fatal(error: BaseException) -> bool:
    """Errors that stop every call: the token, its scopes, or the day's budget."""
    if isinstance(error, AuthError | ScopeError):
        return True
    return isinstance(error, RateLimitError) and error.policy_name == "DAILY"


def stops_writes(error: BaseException) -> bool:
    """Errors that stop every write: the fatal ones, and HubSpot unreachable (no attempt
    of a call got a connection, so the next call would not get one either)."""
    return is_fatal(error) or (isinstance(error, TransportError) and error.never_connected)


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def indexed_chunks(items: Sequence[T], size: int) -> list[tuple[int, Sequence[T]]]:
    """As :func:`chunks`, each slice with the index of its first item."""
    return [(i, items[i : i + size]) for i in range(0, len(items), size)]


def leaving(on_leave: OnLeave | None, indices: Sequence[int]) -> Callable[[], bool] | None:
    """The one-call hook of ``on_leave`` for a call carrying ``indices``."""
    if on_leave is None:
        return None
    chosen = list(indices)
    return lambda: on_leave(chosen)


async def run_all(jobs: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
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


class Calls:
    """The calling context one client's reads and writes share.

    ``mode`` is ``batch``, ``single``, or ``auto`` until the first read settles it;
    ``probe_refusal`` is the 403 that switched an ``auto`` client to single mode.
    """

    __slots__ = (
        "batch",
        "mode",
        "on_progress",
        "prefix",
        "probe_refusal",
        "retry",
        "scrub",
        "sender",
        "stats",
    )

    def __init__(
        self,
        sender: Sender,
        *,
        prefix: str,
        batch: int,
        mode: str,
        scrub: Scrubber,
        retry: RetryPolicy,
        stats: ClientStats,
        on_progress: Callable[[int], None] | None,
    ) -> None:
        self.sender = sender
        self.prefix = prefix
        self.batch = batch
        self.mode = mode
        self.scrub = scrub
        self.retry = retry
        self.stats = stats
        self.on_progress = on_progress
        self.probe_refusal: ScopeError | None = None

    @property
    def single(self) -> bool:
        """Whether calls name one subscriber each (single mode)."""
        return self.mode == "single"

    def progress(self, done: int) -> None:
        """Tell the progress display that ``done`` more items are finished."""
        if self.on_progress is not None and done:
            self.on_progress(done)

    @staticmethod
    def params(brand: int | None) -> dict[str, str | int]:
        """The query of a status call for ``brand`` (HubSpot's default brand when None)."""
        params: dict[str, str | int] = {"channel": "EMAIL"}
        if brand is not None:
            params["businessUnitId"] = brand
        return params

    async def call(
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
        response = await self.sender.send(
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
