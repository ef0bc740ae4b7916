"""A private app token's info (``POST /oauth/v2/private-apps/get/access-token-info``):
its portal and scopes, as doctor reads them; an unknown key is a 404 that never repeats it."""

from __future__ import annotations

from collections.abc import Callable

from reconciler.emulator import DEFAULT_TOKEN
from reconciler.emulator.operations import SINGLE_SCOPES

from .helpers import SyncClient

INFO = "/oauth/v2/private-apps/get/access-token-info"


def test_token_info_lists_the_token_s_scopes(emulator: Callable[..., SyncClient]) -> None:
    """The printed token with --token-scopes single: its portal, and those scopes."""
    client = emulator(token_scopes=SINGLE_SCOPES)
    answer = client.post(INFO, json={"tokenKey": DEFAULT_TOKEN})
    assert answer.status_code == 200
    body = answer.json()
    assert body["scopes"] == sorted(SINGLE_SCOPES)
    assert isinstance(body["hubId"], int)
    assert DEFAULT_TOKEN not in answer.text.replace(str(body["hubId"]), "")


def test_a_portal_below_enterprise_has_no_batch_scopes(
    emulator: Callable[..., SyncClient],
) -> None:
    """--tier professional: the token's info holds no batch scope."""
    client = emulator(tier="professional")
    scopes = client.post(INFO, json={"tokenKey": DEFAULT_TOKEN}).json()["scopes"]
    assert scopes == sorted(SINGLE_SCOPES)


def test_an_unknown_key_is_a_404_that_does_not_repeat_it(
    emulator: Callable[..., SyncClient],
) -> None:
    """A key the emulator does not know: 404 OBJECT_NOT_FOUND; no key at all: 400."""
    client = emulator()
    unknown = client.post(INFO, json={"tokenKey": "pat-na1-someone-elses-0000"})
    assert (unknown.status_code, unknown.json()["category"]) == (404, "OBJECT_NOT_FOUND")
    assert "someone-elses" not in unknown.text
    missing = client.post(INFO, json={})
    assert (missing.status_code, missing.json()["category"]) == (400, "VALIDATION_ERROR")
