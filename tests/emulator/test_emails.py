"""Invalid email addresses: refused per input in batch calls, 400 in single calls.

The emulator's rule (``reconciler/emulator/emails.py``) is written apart from
hsprefs' own (``reconciler.model.valid_email``) and held equal to it here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from reconciler.emulator.emails import is_email
from reconciler.errors import ConfigError
from reconciler.model import normalise_email, valid_email

from .helpers import SyncClient, V, write_input

EMAIL = {"channel": "EMAIL"}
V3 = "/communication-preferences/v3"

# Each of these was once accepted and stored; hsprefs validate rejects every one.
INVALID = ["a\x00@b.com", "a\x7f@b.com", "a@b..com", "a..b@c.com", ".a@b.com", "a@-b.com"]


def _item_error(address: str) -> dict[str, Any]:
    return {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": f"Invalid email address: {address!r}",
        "context": {"subscriberIdString": [address]},
        "errors": [],
        "links": {},
    }


def _stored_emails(client: SyncClient) -> set[str]:
    state = client.get("/_emulator/state").json()
    return {s["email"] for s in state["statuses"]} | {w["email"] for w in state["wide_statuses"]}


def _envelope_without_times(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("requestedAt", "startedAt", "completedAt")}


@pytest.mark.parametrize("address", INVALID)
def test_batch_read_refuses_the_address_alone(client: SyncClient, address: str) -> None:
    """Batch read: 207, the invalid address in errors[], the valid one answered."""
    answer = client.post(
        f"{V}/statuses/batch/read", params=EMAIL, json={"inputs": [address, "ok@example.com"]}
    )
    assert answer.status_code == 207
    body = answer.json()
    assert body["errors"] == [_item_error(address)]
    assert body["numErrors"] == 1
    assert [r["subscriberIdString"] for r in body["results"]] == ["ok@example.com"]


@pytest.mark.parametrize("address", INVALID)
def test_batch_wide_read_refuses_the_address_alone(client: SyncClient, address: str) -> None:
    """Batch unsubscribe-all read: 207 with the address in errors[] and no result for it."""
    answer = client.post(
        f"{V}/statuses/batch/unsubscribe-all/read", params=EMAIL, json={"inputs": [address]}
    )
    assert answer.status_code == 207
    assert _envelope_without_times(answer.json()) == {
        "status": "COMPLETE",
        "results": [],
        "errors": [_item_error(address)],
        "numErrors": 1,
    }


@pytest.mark.parametrize("address", INVALID)
def test_batch_write_refuses_the_address_and_stores_nothing(
    client: SyncClient, address: str
) -> None:
    """Batch write: 200 with the input in errors[]; the address is never stored."""
    item = write_input(address, 101, "UNSUBSCRIBED")
    answer = client.post(f"{V}/statuses/batch/write", json={"inputs": [item]})
    assert answer.status_code == 200
    assert _envelope_without_times(answer.json()) == {
        "status": "COMPLETE",
        "results": [],
        "errors": [_item_error(address)],
        "numErrors": 1,
    }
    assert _stored_emails(client) == set()


@pytest.mark.parametrize("address", INVALID)
def test_batch_unsubscribe_all_refuses_the_address_and_stores_nothing(
    client: SyncClient, address: str
) -> None:
    """Batch unsubscribe-all: 200 with the address in errors[]; nobody is opted out."""
    answer = client.post(
        f"{V}/statuses/batch/unsubscribe-all", params=EMAIL, json={"inputs": [address]}
    )
    assert answer.status_code == 200
    assert answer.json()["errors"] == [_item_error(address)]
    assert _stored_emails(client) == set()


def _invalid_400(answer: Any, field: str, address: str) -> None:
    assert answer.status_code == 400
    body = answer.json()
    assert (body["category"], body["message"]) == (
        "VALIDATION_ERROR",
        f"Invalid email address: {address!r}",
    )
    assert body["errors"] == [
        {"message": f"Invalid email address: {address!r}", "in": field, "code": "INVALID"}
    ]


@pytest.mark.parametrize("address", INVALID)
def test_single_read_is_400(client: SyncClient, address: str) -> None:
    """GET /statuses/{address} (percent-encoded): 400 naming the address."""
    answer = client.get(f"{V}/statuses/{quote(address, safe='')}", params=EMAIL)
    _invalid_400(answer, "subscriberIdString", address)
    assert answer.json()["context"] == {"subscriberIdString": [address]}


@pytest.mark.parametrize("address", INVALID)
def test_single_write_is_400_and_stores_nothing(client: SyncClient, address: str) -> None:
    """POST /statuses/{address}: 400; nothing is stored."""
    body = write_input(address, 101, "UNSUBSCRIBED")
    del body["subscriberIdString"]
    answer = client.post(f"{V}/statuses/{quote(address, safe='')}", json=body)
    _invalid_400(answer, "subscriberIdString", address)
    assert _stored_emails(client) == set()


@pytest.mark.parametrize("address", INVALID)
def test_single_unsubscribe_all_is_400(client: SyncClient, address: str) -> None:
    """POST /statuses/{address}/unsubscribe-all: 400; nobody is opted out."""
    answer = client.post(f"{V}/statuses/{quote(address, safe='')}/unsubscribe-all", params=EMAIL)
    _invalid_400(answer, "subscriberIdString", address)
    assert _stored_emails(client) == set()


@pytest.mark.parametrize("address", INVALID)
def test_links_generate_is_400(client: SyncClient, address: str) -> None:
    """POST /links/generate for an invalid address: 400."""
    answer = client.post(f"{V}/links/generate", params=EMAIL, json={"subscriberIdString": address})
    _invalid_400(answer, "subscriberIdString", address)


@pytest.mark.parametrize("address", INVALID)
def test_v3_status_read_is_400(client: SyncClient, address: str) -> None:
    """v3 GET /status/email/{address}: 400."""
    answer = client.get(f"{V3}/status/email/{quote(address, safe='')}")
    _invalid_400(answer, "emailAddress", address)


@pytest.mark.parametrize("address", INVALID)
def test_v3_subscribe_is_400_and_stores_nothing(client: SyncClient, address: str) -> None:
    """v3 POST /subscribe for an invalid address: 400; nothing is stored."""
    answer = client.post(
        f"{V3}/subscribe",
        json={
            "emailAddress": address,
            "subscriptionId": "101",
            "legalBasis": "CONSENT_WITH_NOTICE",
            "legalBasisExplanation": "Asked",
        },
    )
    _invalid_400(answer, "emailAddress", address)
    assert _stored_emails(client) == set()


@pytest.mark.parametrize("address", INVALID)
def test_a_seed_with_the_address_is_refused(
    emulator: Callable[..., SyncClient], address: str
) -> None:
    """A seed status for an invalid address is a finding, not a stored row."""
    seed = {
        "version": 1,
        "portal": {"id": 1, "gdpr": False},
        "brands": [{"id": 0, "name": "Account"}],
        "definitions": [{"id": "1", "business_unit": 0, "name": "News"}],
        "statuses": [{"email": address, "subscription": "1", "status": "SUBSCRIBED"}],
    }
    with pytest.raises(ConfigError) as caught:
        emulator(seed=seed)
    assert f"{address!r} is not an email address" in str(caught.value)


_PIECES = st.sampled_from(
    ["a", "Z", "0", "-", ".", "@", "_", "+", " ", "\x00", "\x7f", "é", "K", "\u212a", '"', "x" * 63]
)


@given(st.lists(_PIECES, max_size=12).map("".join))
@example("x" * 64 + "@example.com")
@example("x" * 65 + "@example.com")
@example("a@" + "b" * 63 + ".com")
@example("a@" + "b" * 64 + ".com")
@example("a@" + ".".join(["b" * 60] * 5) + ".com")
@example(" Ann@Example.COM ")
@example("a@b")
@example("a@b.c-")
def test_the_rule_equals_hsprefs_own(text: str) -> None:
    """The emulator accepts exactly the addresses hsprefs' own check accepts."""
    assert is_email(text) == valid_email(normalise_email(text))


@pytest.mark.parametrize(
    "address", ["ann@example.com", "Ann.Lee+news@Mail.Example.co.uk", " bob@b-c.io "]
)
def test_ordinary_addresses_are_accepted(client: SyncClient, address: str) -> None:
    """Ordinary addresses (mixed case, plus, dots, hyphens, spaces around) read fine."""
    answer = client.post(f"{V}/statuses/batch/read", params=EMAIL, json={"inputs": [address]})
    assert answer.status_code == 200
    assert [r["subscriberIdString"] for r in answer.json()["results"]] == [address.strip().lower()]
