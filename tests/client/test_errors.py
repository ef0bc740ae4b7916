"""Error answers and faults: which are retried, which raise, and what the lines say."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.client import HubSpotClient, RateLimiter, RetryPolicy
from reconciler.errors import (
    ApiError,
    AuthError,
    NotFoundError,
    RateLimitError,
    ScopeError,
    TransportError,
)

from .conftest import (
    FakeHubSpot,
    FakeTime,
    error_body,
    make_client,
    make_settings,
    read_handler,
    reply,
    run,
)

ACCOUNT = "GET /account-info/v3/details"
CID = "aeb5f871-7f07-4993-9211-075dc63e7cbf"
OK = {"portalId": 12345678, "timeZone": "Europe/Berlin", "someNewField": None}


def _portal(server: FakeHubSpot, **kw: Any) -> int:
    async def go() -> int:
        async with make_client(server, **kw) as client:
            return await client.portal_id()

    return run(go())


def _fails(server: FakeHubSpot, kind: type[ApiError], **kw: Any) -> ApiError:
    with pytest.raises(kind) as caught:
        _portal(server, **kw)
    return caught.value


def test_401_is_an_auth_error_naming_correlation_id() -> None:
    """401 raises AuthError with HubSpot's message and correlationId in its line."""
    body = error_body(
        "INVALID_AUTHENTICATION",
        "Authentication credentials not found.",
        errorType="INVALID_AUTHENTICATION",
    )
    server = FakeHubSpot(lambda r: reply(401, body))
    error = _fails(server, AuthError)
    assert len(server.seen) == 1
    assert error.status_code == 401
    assert error.one_line() == (
        f"HubSpot rejected the access token for {ACCOUNT}: HubSpot answered 401 Unauthorized: "
        "INVALID_AUTHENTICATION: Authentication credentials not found. "
        "(check HUBSPOT_ACCESS_TOKEN or --token-file (the private app's token)) "
        f"[correlationId {CID}]"
    )


@pytest.mark.parametrize(
    "context",
    [
        {"requiredGranularScopes": ["communication_preferences.statuses.batch.read", "b.read"]},
        {"requiredScopes": ["communication_preferences.statuses.batch.read", "b.read"]},
        {"missingScopes": ["communication_preferences.statuses.batch.read", "b.read"]},
        "{missingScopes=[communication_preferences.statuses.batch.read, b.read]}",
        "{requiredGranularScopes=[communication_preferences.statuses.batch.read, b.read]}",
    ],
    ids=["granular-list", "required-list", "missing-list", "missing-string", "granular-string"],
)
def test_403_names_missing_scopes_in_every_context_form(context: Any) -> None:
    """Scopes are read from context lists and from the string form alike."""
    body = error_body(
        "MISSING_SCOPES",
        "This app hasn't been granted all required scopes to make this call.",
        context=context,
    )
    error = _fails(FakeHubSpot(lambda r: reply(403, body)), ScopeError)
    assert isinstance(error, ScopeError)
    assert error.missing_scopes == ("communication_preferences.statuses.batch.read", "b.read")
    assert error.message.startswith(
        f"the token lacks scopes for {ACCOUNT}: "
        "communication_preferences.statuses.batch.read, b.read ("
    )


def test_403_scopes_in_an_error_detail_string_context() -> None:
    """The seeds' shape: errors[].context as "{missingScopes=[scope1, scope2]}"."""
    body = error_body(
        "MISSING_SCOPES",
        "missing scopes",
        context={},
        errors=[{"message": "scopes", "context": "{missingScopes=[scope1, scope2]}"}],
    )
    error = _fails(FakeHubSpot(lambda r: reply(403, body)), ScopeError)
    assert isinstance(error, ScopeError)
    assert error.missing_scopes == ("scope1", "scope2")


def test_403_without_scopes_says_hubspot_did_not_say() -> None:
    """A bare 403 is still a ScopeError, honest about what is unknown."""
    error = _fails(FakeHubSpot(lambda r: reply(403, None)), ScopeError)
    assert error.message == (
        f"the token lacks scopes for {ACCOUNT}: HubSpot did not say which "
        "(HubSpot answered 403 Forbidden with an empty body)"
    )


def test_404_is_not_found() -> None:
    """404 raises NotFoundError pointing at --api-url and --api-version."""
    body = error_body("OBJECT_NOT_FOUND", "resource not found")
    error = _fails(FakeHubSpot(lambda r: reply(404, body)), NotFoundError)
    assert error.hint == "check --api-url and --api-version"
    assert error.message == (
        f"{ACCOUNT} was not found: HubSpot answered 404 Not Found: OBJECT_NOT_FOUND: "
        "resource not found"
    )


def test_400_shows_hubspots_message_and_is_not_retried() -> None:
    """400 raises at once with HubSpot's message and its detail messages."""
    body = error_body(
        "VALIDATION_ERROR",
        "Invalid input",
        errors=[{"message": "channel must be EMAIL", "in": "channel"}],
    )
    server = FakeHubSpot(lambda r: reply(400, body))
    error = _fails(server, ApiError)
    assert type(error) is ApiError
    assert len(server.seen) == 1
    assert error.message == (
        f"{ACCOUNT} was refused: HubSpot answered 400 Bad Request: "
        "VALIDATION_ERROR: Invalid input (channel must be EMAIL)"
    )


def test_error_body_of_nulls_is_tolerated() -> None:
    """An error body whose every field is null still gives a clear line."""
    body = {
        "status": None,
        "message": None,
        "correlationId": None,
        "category": None,
        "context": None,
        "errors": None,
    }
    error = _fails(FakeHubSpot(lambda r: reply(409, body)), ApiError)
    assert (
        error.message == f"{ACCOUNT} was refused: HubSpot answered 409 Conflict: no details given"
    )
    assert error.correlation_id is None


def test_correlation_id_from_header_when_body_lacks_it() -> None:
    """The X-HubSpot-Correlation-Id header names the request when the body does not."""
    server = FakeHubSpot(
        lambda r: reply(400, {"message": "bad"}, headers={"X-HubSpot-Correlation-Id": "c-123"})
    )
    assert _fails(server, ApiError).correlation_id == "c-123"


def test_html_502_is_retried_then_succeeds() -> None:
    """A proxy's HTML 502 page is retried; the next answer wins."""
    html = httpx.Response(
        502, text="<html><body>Bad Gateway</body></html>", headers={"Content-Type": "text/html"}
    )
    server = FakeHubSpot(lambda r: reply(200, OK), replies=[html])

    async def go() -> tuple[int, int]:
        async with make_client(server) as client:
            return await client.portal_id(), client.stats.retries

    assert run(go()) == (12345678, 1)


def test_html_502_every_time_gives_a_transport_error() -> None:
    """When retries run out on HTML pages the error says so, without the HTML."""
    server = FakeHubSpot(
        lambda r: httpx.Response(
            502, text="<html>Bad Gateway</html>", headers={"Content-Type": "text/html"}
        )
    )
    error = _fails(server, TransportError, max_attempts=3)
    assert len(server.seen) == 3
    assert error.message == (
        f"{ACCOUNT} failed after 3 attempts: HubSpot answered 502 Bad Gateway "
        "with a body that is not JSON"
    )


@pytest.mark.parametrize(
    "fault",
    [
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset by peer"),
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
        httpx.ConnectTimeout("timed out"),
        httpx.WriteTimeout("timed out"),
        httpx.PoolTimeout("timed out"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_network_faults_are_retried(fault: Exception) -> None:
    """Dropped connections and timeouts are retried and survived."""
    server = FakeHubSpot(lambda r: reply(200, OK), replies=[fault, fault])
    assert _portal(server) == 12345678
    assert len(server.seen) == 3


def test_network_fault_every_time_gives_a_transport_error() -> None:
    """Retries are bounded; the last failure is named."""
    server = FakeHubSpot(lambda r: httpx.ConnectError("connection refused"))
    error = _fails(server, TransportError, max_attempts=4)
    assert len(server.seen) == 4
    assert error.message == (
        f"{ACCOUNT} failed after 4 attempts: no answer from HubSpot "
        "(ConnectError: connection refused)"
    )
    assert isinstance(error.__cause__, httpx.ConnectError)


@pytest.mark.parametrize("code", [500, 503, 504])
def test_5xx_json_answers_are_retried(code: int) -> None:
    """5xx answers are retried."""
    server = FakeHubSpot(
        lambda r: reply(200, OK), replies=[reply(code, error_body("INTERNAL_ERROR", "oops"))]
    )
    assert _portal(server) == 12345678


def test_429_with_retry_after_waits_that_long() -> None:
    """A rolling-window 429 with Retry-After waits exactly that, then succeeds."""
    fake = FakeTime()
    limited = reply(
        429,
        error_body(
            "RATE_LIMITS",
            "You have reached your ten_secondly_rolling limit.",
            errorType="RATE_LIMIT",
            policyName="TEN_SECONDLY_ROLLING",
        ),
        headers={"Retry-After": "7"},
    )
    server = FakeHubSpot(lambda r: reply(200, OK), replies=[limited])

    async def go() -> tuple[int, int, int]:
        async with make_client(server, time=fake) as client:
            return await client.portal_id(), client.stats.rate_limited, client.stats.retries

    assert run(go()) == (12345678, 1, 1)
    assert fake.sleeps[0] == 7.0


def test_429_without_retry_after_backs_off_and_succeeds() -> None:
    """A 429 with no Retry-After and no rate headers waits a whole window (10 s by default),
    and the next one a whole window with the margin the first 429 added."""
    fake = FakeTime()
    limited = reply(429, error_body("RATE_LIMITS", "limit", policyName="TEN_SECONDLY_ROLLING"))
    server = FakeHubSpot(lambda r: reply(200, OK), replies=[limited, limited])
    assert _portal(server, time=fake) == 12345678
    assert len(server.seen) == 3
    assert fake.sleeps == [10.0, 10.0 + 0.05]


ROLLING_429 = error_body("RATE_LIMITS", "limit", policyName="TEN_SECONDLY_ROLLING")


def _scripted(fake: FakeTime, steps: list[tuple[float, int, dict[str, str]]]) -> FakeHubSpot:
    """Answers in turn: move the clock by the step's seconds (time in flight), then answer
    200 (an empty list) or a rolling 429 with the step's headers; then 200 with a portal."""
    script = iter(steps)

    def handle(request: httpx.Request) -> httpx.Response:
        step = next(script, None)
        if step is None:
            return reply(200, OK)
        seconds, code, headers = step
        fake.now += seconds
        return reply(code, {"results": []} if code == 200 else ROLLING_429, headers=headers)

    return FakeHubSpot(handle)


def _definitions_then_portal(server: FakeHubSpot, fake: FakeTime) -> int:
    async def go() -> int:
        async with make_client(server, time=fake) as client:
            await client.definitions()
            return await client.portal_id()

    return run(go())


def test_429_without_retry_after_waits_the_window_the_headers_gave() -> None:
    """The window learned from -Interval-Milliseconds (here 2 s) is the wait, not 10 s."""
    fake = FakeTime()
    learned = {
        "X-HubSpot-RateLimit-Max": "100",
        "X-HubSpot-RateLimit-Remaining": "99",
        "X-HubSpot-RateLimit-Interval-Milliseconds": "2000",
    }
    server = _scripted(fake, [(0.0, 200, learned), (0.0, 429, {})])
    assert _definitions_then_portal(server, fake) == 12345678
    assert fake.sleeps == [2.0]


def test_429_without_retry_after_waits_for_the_oldest_request_to_age_out() -> None:
    """Headers show a full window (3 of 3 used): wait until the oldest request is 10 s old."""
    fake = FakeTime()
    window = {"X-HubSpot-RateLimit-Max": "3", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
    first = {**window, "X-HubSpot-RateLimit-Remaining": "2"}
    full = {**window, "X-HubSpot-RateLimit-Remaining": "0"}
    # /definitions is answered at t=0; the account-info call's 429 arrives at t=4.
    server = _scripted(fake, [(0.0, 200, first), (4.0, 429, full)])
    assert _definitions_then_portal(server, fake) == 12345678
    assert fake.sleeps[0] == 6.0
    assert len(server.seen) == 3


def test_429_that_never_ends_is_a_rate_limit_error() -> None:
    """Retries of 429 are bounded too, ending in RateLimitError."""
    limited = reply(429, error_body("RATE_LIMITS", "limit", policyName="TEN_SECONDLY_ROLLING"))
    server = FakeHubSpot(lambda r: limited)
    error = _fails(server, RateLimitError, max_attempts=3)
    assert isinstance(error, RateLimitError)
    assert error.policy_name == "TEN_SECONDLY_ROLLING"
    assert error.message.startswith(f"HubSpot kept answering 429 to {ACCOUNT} after 3 attempts")


def test_daily_429_is_not_retried() -> None:
    """policyName DAILY raises RateLimitError at once."""
    body = error_body(
        "RATE_LIMITS",
        "You have reached your daily limit.",
        errorType="RATE_LIMIT",
        policyName="DAILY",
    )
    server = FakeHubSpot(lambda r: reply(429, body, headers={"Retry-After": "1"}))
    error = _fails(server, RateLimitError)
    assert len(server.seen) == 1
    assert isinstance(error, RateLimitError)
    assert error.policy_name == "DAILY"
    assert error.message.startswith("HubSpot's daily API limit is used up")


def test_total_retry_time_is_bounded() -> None:
    """A Retry-After longer than the policy's total budget gives up instead of waiting."""
    limited = reply(429, error_body("RATE_LIMITS", "limit"), headers={"Retry-After": "3600"})
    server = FakeHubSpot(lambda r: limited)
    _fails(server, RateLimitError, max_attempts=10)
    assert len(server.seen) == 1


def test_non_json_success_body_is_an_error() -> None:
    """A 200 whose body is not JSON is reported, not guessed at."""
    server = FakeHubSpot(lambda r: httpx.Response(200, text="<html>login</html>"))
    error = _fails(server, ApiError)
    assert error.message == (
        f"{ACCOUNT}: HubSpot answered 200 with a body that is not a JSON object"
    )


def test_missing_portal_id_is_an_error() -> None:
    """An account-info answer without portalId is a clear error."""
    error = _fails(FakeHubSpot(lambda r: reply(200, {"portalId": None})), ApiError)
    assert error.message == f"{ACCOUNT}: HubSpot's answer has no portalId"


def test_429_holds_every_sender_not_only_the_one_refused() -> None:
    """After a 429 with Retry-After, no other request leaves before the wait is over."""
    limiter_time = FakeTime()
    start = limiter_time.now
    sent_at: list[float] = []
    answer = read_handler()
    limited = reply(429, error_body("RATE_LIMITS", "limit"), headers={"Retry-After": "5"})

    def handle(request: httpx.Request) -> httpx.Response:
        sent_at.append(limiter_time.now - start)
        return limited if len(sent_at) == 1 else answer(request)

    client = HubSpotClient.from_settings(
        make_settings(batch_size=1),
        transport=httpx.MockTransport(handle),
        retry=RetryPolicy.instant(),  # the retry itself does not move the limiter's clock
        limiter=RateLimiter(clock=limiter_time.clock, sleep=limiter_time.sleep),
    )

    async def go() -> None:
        async with client:
            await client.read({0: ["a@example.com", "b@example.com"]})

    run(go())
    assert sent_at[0] == 0.0
    assert len(sent_at) == 5
    assert min(sent_at[1:]) >= 5.0
