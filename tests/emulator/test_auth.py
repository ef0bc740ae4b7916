"""Authentication and scopes: 401s, 403 MISSING_SCOPES, the scope table against the specs."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from starlette.routing import Route

from reconciler.emulator import create_app
from reconciler.emulator.operations import (
    OPERATIONS,
    SCOPE_BATCH_READ,
    SCOPE_READ,
    SCOPE_READ_WRITE,
    SINGLE_SCOPES,
)

from .helpers import SPECS, SyncClient, V

EMAIL = {"channel": "EMAIL"}
BATCH_READ = f"{V}/statuses/batch/read"


def _seed(*scopes: str) -> dict[str, object]:
    return {
        "portal": {"id": 1},
        "definitions": [{"id": "1", "name": "A"}],
        "tokens": [{"token": "limited-token", "scopes": list(scopes)}],
    }


def test_missing_authorization_is_401(emulator: Callable[..., SyncClient]) -> None:
    """No Authorization header: 401 INVALID_AUTHENTICATION with X-HubSpot-Auth-Failure."""
    client = emulator(auth=False)
    answer = client.get(f"{V}/definitions")
    assert answer.status_code == 401
    assert answer.json()["category"] == "INVALID_AUTHENTICATION"
    assert answer.headers["X-HubSpot-Auth-Failure"] == "Authentication credentials not found"


@pytest.mark.parametrize(
    ("header", "failure"),
    [
        ("Bearer wrong-token", "Invalid access token"),
        ("Basic dXNlcjpwYXNz", "Invalid authorization header"),
        ("Bearer", "Invalid authorization header"),
    ],
)
def test_bad_credentials_are_401(
    emulator: Callable[..., SyncClient], header: str, failure: str
) -> None:
    """An unknown token or another scheme is a 401 whose header says why."""
    client = emulator(auth=False)
    answer = client.get(f"{V}/definitions", headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.headers["X-HubSpot-Auth-Failure"] == failure
    assert "wrong-token" not in answer.text


def test_error_body_is_hubspot_shaped(emulator: Callable[..., SyncClient]) -> None:
    """Errors carry status, message, a uuid correlationId (also a header), category, context."""
    client = emulator(auth=False)
    body = client.get(f"{V}/definitions").json()
    assert set(body) == {
        "status",
        "message",
        "correlationId",
        "category",
        "context",
        "errors",
        "links",
    }
    assert body["status"] == "error"
    assert len(body["correlationId"]) == 36
    assert body["correlationId"].count("-") == 4


def test_every_answer_names_a_correlation_id(emulator: Callable[..., SyncClient]) -> None:
    """Successes carry X-HubSpot-Correlation-Id too, a fresh one per answer; errors once."""
    client = emulator()
    first = client.get(f"{V}/definitions")
    second = client.get(f"{V}/definitions")
    ids = [a.headers.get_list("X-HubSpot-Correlation-Id") for a in (first, second)]
    assert [len(i) for i in ids] == [1, 1]
    assert ids[0] != ids[1]
    assert all(len(i[0]) == 36 and i[0].count("-") == 4 for i in ids)
    refused = emulator(auth=False).get(f"{V}/definitions")
    assert refused.headers.get_list("X-HubSpot-Correlation-Id") == [refused.json()["correlationId"]]


def test_token_without_scope_is_403_naming_the_scopes(
    emulator: Callable[..., SyncClient],
) -> None:
    """A token lacking the batch-read scope gets 403 MISSING_SCOPES naming it in context."""
    client = emulator(seed=_seed(SCOPE_READ), auth=False)
    answer = client.post(
        BATCH_READ,
        params=EMAIL,
        json={"inputs": []},
        headers={"Authorization": "Bearer limited-token"},
    )
    assert answer.status_code == 403
    body = answer.json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["context"] == {"requiredGranularScopes": [SCOPE_BATCH_READ]}
    assert body["errors"][0]["context"] == {"requiredGranularScopes": [SCOPE_BATCH_READ]}


def test_any_alternative_of_the_security_list_passes(emulator: Callable[..., SyncClient]) -> None:
    """/definitions accepts read or read_write; a 403 for it lists both."""
    for scopes, expected in (
        ([SCOPE_READ], 200),
        ([SCOPE_READ_WRITE], 200),
        ([SCOPE_BATCH_READ], 403),
    ):
        client = emulator(seed=_seed(*scopes), auth=False)
        answer = client.get(f"{V}/definitions", headers={"Authorization": "Bearer limited-token"})
        assert answer.status_code == expected, scopes
    assert answer.json()["context"]["requiredGranularScopes"] == [SCOPE_READ, SCOPE_READ_WRITE]


def test_account_info_needs_only_a_valid_token(emulator: Callable[..., SyncClient]) -> None:
    """Account details need no scope, only a known token."""
    client = emulator(seed=_seed(), auth=False)
    answer = client.get(
        "/account-info/v3/details", headers={"Authorization": "Bearer limited-token"}
    )
    assert answer.status_code == 200


def test_extra_token_has_every_scope(emulator: Callable[..., SyncClient]) -> None:
    """settings.token is accepted with every scope, beside the seed's tokens."""
    client = emulator(token="my-own-token", auth=False)
    headers = {"Authorization": "Bearer my-own-token"}
    assert (
        client.post(BATCH_READ, params=EMAIL, json={"inputs": []}, headers=headers).status_code
        == 200
    )
    assert (
        client.get(
            f"{V}/definitions", headers={"Authorization": "Bearer hsprefs-emulator-token"}
        ).status_code
        == 200
    )


def test_seed_without_tokens_accepts_the_default_token(emulator: Callable[..., SyncClient]) -> None:
    """A seed naming no token leaves the documented default token working."""
    client = emulator(seed={"portal": {"id": 1}})
    assert client.get(f"{V}/definitions").status_code == 200


@pytest.mark.spec
@pytest.mark.skipif(
    not SPECS.is_dir(), reason="HubSpot's specs (../shared/hubspot-openapi) are absent"
)
def test_scope_table_matches_the_specs() -> None:
    """Each route's scope alternatives are the security lists of its spec operation."""
    app = create_app()
    try:
        checked = 0
        for route in app.routes:
            if not isinstance(route, Route) or not route.path.startswith(
                "/communication-preferences/"
            ):
                continue
            version, operation = str(route.name).split(":")
            spec = json.loads((SPECS / version / "subscriptions.json").read_text(encoding="utf-8"))
            [method] = route.methods - {"HEAD"} if route.methods else set()
            security = spec["paths"][route.path][method.lower()].get("security", [])
            wanted = {frozenset(scopes) for entry in security for scopes in entry.values()}
            if operation == "v3.resubscribe":
                assert wanted == set()  # the spec lists none; the emulator asks for a write scope
                continue
            assert set(OPERATIONS[operation].scopes) == wanted, (version, operation)
            checked += 1
        assert checked == 10 + 10 + 13 + 4
    finally:
        app.state.emulator.close()


@pytest.mark.parametrize(
    ("scopes", "path", "method"),
    [
        (["subscriptions-status-read"], f"{V}/statuses/a@example.com", "GET"),
        (["subscriptions-definition-read"], f"{V}/definitions", "GET"),
        (["subscriptions-status-batch-read"], BATCH_READ, "POST"),
    ],
)
def test_granular_scope_names_are_accepted(
    emulator: Callable[..., SyncClient], scopes: list[str], path: str, method: str
) -> None:
    """HubSpot's 2026-03 pages name granular scopes; a token holding them passes too."""
    client = emulator(seed=_seed(*scopes), auth=False)
    headers = {"Authorization": "Bearer limited-token"}
    if method == "GET":
        answer = client.get(path, params=EMAIL, headers=headers)
    else:
        answer = client.post(path, params=EMAIL, json={"inputs": []}, headers=headers)
    assert answer.status_code == 200


@pytest.mark.parametrize("tier", ["free", "starter", "professional"])
def test_below_enterprise_no_token_has_the_batch_scopes(
    emulator: Callable[..., SyncClient], tier: str
) -> None:
    """--tier below enterprise: batch calls get 403 MISSING_SCOPES naming the batch scope;
    the single-subscriber calls still work."""
    client = emulator(tier=tier)
    denied = client.post(BATCH_READ, params=EMAIL, json={"inputs": ["a@example.com"]})
    assert denied.status_code == 403
    assert denied.json()["category"] == "MISSING_SCOPES"
    assert denied.json()["errors"][0]["context"] == {"requiredGranularScopes": [SCOPE_BATCH_READ]}
    assert client.get(f"{V}/statuses/a@example.com", params=EMAIL).status_code == 200


def test_a_seed_tier_below_enterprise_removes_the_batch_scopes(
    emulator: Callable[..., SyncClient],
) -> None:
    """portal.tier in the seed does what --tier does."""
    seed = {"portal": {"id": 1, "tier": "starter"}, "definitions": [{"id": "1", "name": "A"}]}
    client = emulator(seed=seed)
    assert client.post(BATCH_READ, params=EMAIL, json={"inputs": []}).status_code == 403


def test_token_scopes_set_the_printed_token_s_scopes(emulator: Callable[..., SyncClient]) -> None:
    """--token-scopes single: the printed token has every scope but the batch ones."""
    client = emulator(token_scopes=SINGLE_SCOPES)
    assert client.post(BATCH_READ, params=EMAIL, json={"inputs": []}).status_code == 403
    assert client.get(f"{V}/definitions").status_code == 200
