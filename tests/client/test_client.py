"""The client's surface: construction, headers, identity, definitions, security."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

import reconciler
import reconciler.client
from reconciler.client import HubSpotClient
from reconciler.errors import ApiError, AuthError, UsageError
from reconciler.model import Definition, Status, StatusWrite

from .conftest import (
    PREFIX,
    TOKEN,
    FakeHubSpot,
    envelope,
    error_body,
    make_client,
    make_settings,
    read_handler,
    reply,
    run,
)


def test_public_names_are_sorted_and_exist() -> None:
    """reconciler.client.__all__ is sorted and complete."""
    names = reconciler.client.__all__
    assert list(names) == sorted(names)
    assert {"ClientStats", "HubSpotClient", "RateLimiter", "RetryPolicy"} <= set(names)
    for name in names:
        assert hasattr(reconciler.client, name)


def test_requests_carry_bearer_token_user_agent_and_json() -> None:
    """Authorization is Bearer, the User-Agent names hsprefs and its version."""
    server = FakeHubSpot(lambda r: reply(200, {"portalId": 1}))

    async def go() -> None:
        async with make_client(server) as client:
            await client.portal_id()

    run(go())
    headers = server.seen[0].headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["User-Agent"] == f"hsprefs/{reconciler.__version__}"
    assert headers["Accept"] == "application/json"


def test_portal_id_is_read_once_per_client() -> None:
    """Two calls to portal_id make one request."""
    server = FakeHubSpot(lambda r: reply(200, {"portalId": "12345678"}))

    async def go() -> tuple[int, int]:
        async with make_client(server) as client:
            return await client.portal_id(), await client.portal_id()

    assert run(go()) == (12345678, 12345678)
    assert server.paths() == ["GET /account-info/v3/details"]


def test_definitions_are_typed_with_string_ids() -> None:
    """GET /definitions gives Definitions with string ids and their brand."""
    body = envelope(
        [
            {
                "id": 101,
                "name": "Newsletter",
                "description": "Monthly",
                "purpose": "Marketing",
                "communicationMethod": "Email",
                "isActive": True,
                "isDefault": False,
                "isInternal": False,
                "businessUnitId": 5,
                "createdAt": "2020-01-01T00:00:00Z",
                "updatedAt": "2020-01-01T00:00:00Z",
                "subscriptionTranslations": [],
            },
            {"id": "202", "name": None, "isActive": None, "description": None},
        ]
    )
    server = FakeHubSpot(lambda r: reply(200, body))

    async def go() -> list[Definition]:
        async with make_client(server) as client:
            return await client.definitions(5)

    assert run(go()) == [
        Definition(
            id="101",
            name="Newsletter",
            brand=5,
            is_active=True,
            purpose="Marketing",
            description="Monthly",
            communication_method="Email",
        ),
        Definition(id="202", name="202", brand=5),
    ]
    assert server.seen[0].path == f"{PREFIX}/definitions"
    assert server.seen[0].params == {"businessUnitId": "5"}


def test_definitions_accept_the_v3_shape() -> None:
    """v3's subscriptionDefinitions list is read too."""
    body = {"subscriptionDefinitions": [{"id": "7", "name": "Old", "isActive": False}]}

    async def go() -> list[Definition]:
        async with make_client(FakeHubSpot(lambda r: reply(200, body))) as client:
            return await client.definitions()

    assert run(go()) == [Definition(id="7", name="Old", is_active=False)]


def test_v4_paths_are_used_when_asked() -> None:
    """--api-version v4 changes the path prefix."""
    server = FakeHubSpot(lambda r: reply(200, envelope([])))

    async def go() -> None:
        async with make_client(server, api_version="v4") as client:
            await client.definitions()

    run(go())
    assert server.seen[0].path == "/communication-preferences/v4/definitions"
    assert server.seen[0].params == {}


@pytest.mark.parametrize(
    "url",
    [
        "http://api.hubapi.com",
        "http://10.0.0.5:8080",
        "ftp://x",
        "http://127.attacker.example",
        "http://127.0.0.1.nip.io:8080",
        "http://localhost.attacker.example",
        "http://0.0.0.0:8080",
    ],
)
def test_plain_http_is_refused_except_to_loopback(url: str) -> None:
    """from_settings refuses http:// to anything but loopback, names that look so included."""
    with pytest.raises(UsageError):
        HubSpotClient.from_settings(make_settings(api_url=url))


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://127.1.2.3", "http://localhost:8", "http://[::1]:8"]
)
def test_plain_http_to_loopback_is_allowed(url: str) -> None:
    """http:// to a loopback address (the emulator) is fine."""
    client = HubSpotClient.from_settings(
        make_settings(api_url=url), transport=httpx.MockTransport(FakeHubSpot())
    )
    assert client.settings.api_url == url
    run(client.aclose())


@pytest.mark.parametrize(
    "token", [f"{TOKEN}\nsecond-line", f"{TOKEN} with-space", f"{TOKEN}\u00e9", f"{TOKEN}\x00"]
)
def test_a_token_that_cannot_be_a_header_is_refused_unquoted(token: str) -> None:
    """A token with whitespace, control or non-ASCII characters is refused; nothing is sent."""
    server = FakeHubSpot()
    with pytest.raises(UsageError) as caught:
        HubSpotClient.from_settings(
            make_settings(token=token), transport=httpx.MockTransport(server)
        )
    assert caught.value.one_line() == (
        "the token in the client's settings is not a valid access token: it holds spaces, "
        "line breaks, control or non-ASCII characters (copy the private app's access token "
        "again; it is a single word)"
    )
    assert server.seen == []


def test_scrubber_removes_escaped_spellings_of_the_token() -> None:
    """The token is removed as written and as repr() of its text or bytes would show it."""
    from reconciler.client._errors import Scrubber

    secret = "pat\nna1\u00e9x"
    scrub = Scrubber(secret)
    shown = f"a {secret} b {secret!r} c {secret.encode()!r}"
    assert scrub(shown) == "a <redacted> b '<redacted>' c b'<redacted>'"


def test_unknown_api_version_is_refused() -> None:
    """Only the supported API versions build a client."""
    with pytest.raises(UsageError, match="unsupported API version 'v3'"):
        HubSpotClient.from_settings(make_settings(api_version="v3"))


def test_repr_hides_the_token() -> None:
    """Neither the client's nor the settings' repr shows the token."""
    settings = make_settings()
    client = HubSpotClient.from_settings(settings, transport=httpx.MockTransport(FakeHubSpot()))
    assert TOKEN not in repr(client)
    assert TOKEN not in repr(settings)
    assert TOKEN not in repr(client.stats)
    assert TOKEN not in repr(client.limiter)
    run(client.aclose())


def test_token_echoed_by_hubspot_is_scrubbed_from_errors() -> None:
    """An error body that quotes the token does not carry it into the message."""
    body = error_body("INVALID_AUTHENTICATION", f"token {TOKEN} is expired")
    with pytest.raises(AuthError) as caught:
        run(_portal(FakeHubSpot(lambda r: reply(401, body))))
    assert TOKEN not in caught.value.one_line()
    assert "token <redacted> is expired" in caught.value.message


def test_token_echoed_in_batch_errors_is_scrubbed_from_results() -> None:
    """Per-input error texts are scrubbed too."""

    def handle(request: httpx.Request) -> httpx.Response:
        error = {"category": "X", "message": f"a@example.com 101 rejected for {TOKEN}"}
        return reply(200, envelope([], errors=[error]))

    async def go() -> list[Any]:
        async with make_client(FakeHubSpot(handle)) as client:
            return await client.write([StatusWrite(0, "a@example.com", "101", Status.SUBSCRIBED)])

    [result] = run(go())
    assert result.error == "X: a@example.com 101 rejected for <redacted>"


async def _portal(server: FakeHubSpot) -> int:
    async with make_client(server) as client:
        return await client.portal_id()


def test_token_never_appears_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    """With every logger at DEBUG, a read, a retry and a failure log no token."""
    caplog.set_level(logging.DEBUG)
    flaky = [httpx.ReadError("reset"), reply(502, None)]
    server = FakeHubSpot(read_handler(), replies=flaky)

    async def go() -> None:
        async with make_client(server) as client:
            await client.read({0: ["a@example.com"]})

    run(go())
    with pytest.raises(ApiError):
        run(_portal(FakeHubSpot(lambda r: reply(401, error_body("X", f"bad {TOKEN}")))))
    assert caplog.records, "expected debug logging to be captured"
    text = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)
    assert TOKEN not in text
    assert "retrying POST" in text


def test_stats_summary_is_plain_data() -> None:
    """ClientStats.as_dict is what benchmarks and reports print."""
    server = FakeHubSpot(read_handler())

    async def go() -> dict[str, Any]:
        async with make_client(server) as client:
            await client.read({0: ["a@example.com"]})
            return client.stats.as_dict()

    summary = run(go())
    assert summary["requests"] == {"read_statuses": 1, "read_wide": 1}
    assert summary["total_requests"] == 2
    assert (summary["retries"], summary["rate_limited"]) == (0, 0)


def test_settings_are_exposed_for_plan_targets() -> None:
    """client.settings is the ApiSettings it was built from."""
    settings = make_settings(batch_size=7)
    client = HubSpotClient.from_settings(settings, transport=httpx.MockTransport(FakeHubSpot()))
    assert client.settings is settings
    run(client.aclose())
