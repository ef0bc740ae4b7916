"""The HubSpot client: the only part of hsprefs that talks HTTP.

Public names: :class:`HubSpotClient` (the client), :class:`RetryPolicy` and
:class:`RateLimiter` (the knobs), :class:`Retrying` (what ``on_retry`` is told of a
retry), :class:`ClientStats` (what a client did) and :class:`RateLimitInfo` (what the
limiter believes about the budget). Everything in the
underscore modules is private:

- ``_ratelimit``: rolling-window limiter adapted from HubSpot's rate-limit headers
- ``_retry``: declared retry policy (backoff, jitter, bounds; instant in tests)
- ``_http``: one request through concurrency slot, limiter and retries; ClientStats
- ``_errors``: HubSpot error bodies → :mod:`reconciler.errors` exceptions
- ``_parse``: wire shapes → the model's frozen dataclasses
- ``_match``: batch answers → one WriteResult per input
"""

from reconciler.client._http import ClientStats
from reconciler.client._ratelimit import RateLimiter, RateLimitInfo
from reconciler.client._retry import Retrying, RetryPolicy
from reconciler.client.api import HubSpotClient

__all__ = [
    "ClientStats",
    "HubSpotClient",
    "RateLimitInfo",
    "RateLimiter",
    "RetryPolicy",
    "Retrying",
]
