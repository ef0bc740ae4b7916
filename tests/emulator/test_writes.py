"""Writes: batch and single status writes, unsubscribe-all, links, in-process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .helpers import SyncClient, V, opted_out, statuses_of, write_input

EMAIL = {"channel": "EMAIL"}


def _write(client: SyncClient, *inputs: dict[str, Any], **params: Any) -> dict[str, Any]:
    answer = client.post(f"{V}/statuses/batch/write", json={"inputs": list(inputs)}, params=params)
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def test_subscribe_records_status_source_and_legal_basis(client: SyncClient) -> None:
    """A write answers the stored status with REQUESTED_CHANGE_OCCURRED."""
    body = _write(client, write_input("dave@example.com", 103, "SUBSCRIBED"))
    assert body["status"] == "COMPLETE"
    assert "errors" not in body
    [result] = body["results"]
    assert {k: v for k, v in result.items() if k != "timestamp"} == {
        "subscriberIdString": "dave@example.com",
        "subscriptionId": 103,
        "subscriptionName": "Events",
        "businessUnitId": 0,
        "channel": "EMAIL",
        "status": "SUBSCRIBED",
        "source": "Public status API",
        "legalBasis": "CONSENT_WITH_NOTICE",
        "legalBasisExplanation": "Signed up on the website",
        "setStatusSuccessReason": "REQUESTED_CHANGE_OCCURRED",
    }
    assert statuses_of(client, "dave@example.com")[103] == "SUBSCRIBED"


def test_same_status_again_is_no_status_change(seeded: SyncClient) -> None:
    """Writing the status a subscriber already has answers NO_STATUS_CHANGE and keeps it."""
    body = _write(seeded, write_input("grace@example.com", 102, "SUBSCRIBED"))
    [result] = body["results"]
    assert result["setStatusSuccessReason"] == "NO_STATUS_CHANGE"
    assert result["timestamp"] == "2026-02-03T11:10:00.000Z"


def test_unsubscribed_to_subscribed_is_a_resubscribe(seeded: SyncClient) -> None:
    """UNSUBSCRIBED -> SUBSCRIBED answers RESUBSCRIBE_OCCURRED."""
    body = _write(seeded, write_input("erin@example.com", 101, "SUBSCRIBED"))
    assert body["results"][0]["setStatusSuccessReason"] == "RESUBSCRIBE_OCCURRED"
    assert statuses_of(seeded, "erin@example.com")[101] == "SUBSCRIBED"


def test_unsubscribe_and_not_specified_drop_the_legal_basis(seeded: SyncClient) -> None:
    """UNSUBSCRIBED and NOT_SPECIFIED writes store no legal basis."""
    body = _write(
        seeded,
        write_input("carol@example.com", 101, "UNSUBSCRIBED"),
        write_input("carol@example.com", 103, "NOT_SPECIFIED"),
    )
    assert [(r["status"], r["setStatusSuccessReason"]) for r in body["results"]] == [
        ("UNSUBSCRIBED", "REQUESTED_CHANGE_OCCURRED"),
        ("NOT_SPECIFIED", "REQUESTED_CHANGE_OCCURRED"),
    ]
    assert all("legalBasis" not in r for r in body["results"])


def test_each_write_gets_a_later_timestamp(client: SyncClient) -> None:
    """Two changes of one status read back with strictly increasing timestamps."""
    first = _write(client, write_input("t@example.com", 101, "SUBSCRIBED"))["results"][0]
    second = _write(client, write_input("t@example.com", 101, "UNSUBSCRIBED"))["results"][0]
    assert second["timestamp"] > first["timestamp"]


def test_gdpr_on_needs_a_legal_basis_per_item(client: SyncClient) -> None:
    """With GDPR on, a SUBSCRIBED input without legal basis fails alone (VALIDATION_ERROR)."""
    body = _write(
        client,
        write_input("a@example.com", 101, "SUBSCRIBED", basis=None),
        write_input("b@example.com", 101, "SUBSCRIBED", explanation=None),
        write_input("c@example.com", 101, "SUBSCRIBED"),
        write_input("d@example.com", 101, "UNSUBSCRIBED", basis=None, explanation=None),
    )
    assert [r["subscriberIdString"] for r in body["results"]] == ["c@example.com", "d@example.com"]
    assert body["numErrors"] == 2
    assert [e["category"] for e in body["errors"]] == ["VALIDATION_ERROR", "VALIDATION_ERROR"]
    assert [e["context"]["subscriberIdString"] for e in body["errors"]] == [
        ["a@example.com"],
        ["b@example.com"],
    ]
    assert statuses_of(client, "a@example.com")[101] == "NOT_SPECIFIED"


def test_gdpr_off_subscribes_without_legal_basis(emulator: Callable[..., SyncClient]) -> None:
    """With GDPR off, a SUBSCRIBED write needs no legal basis."""
    client = emulator(
        seed={"portal": {"id": 1, "gdpr": False}, "definitions": [{"id": "1", "name": "A"}]}
    )
    body = _write(
        client, write_input("a@example.com", 1, "SUBSCRIBED", basis=None, explanation=None)
    )
    assert body["results"][0]["setStatusSuccessReason"] == "REQUESTED_CHANGE_OCCURRED"
    assert "errors" not in body


_BASES = (
    "CONSENT_WITH_NOTICE, LEGITIMATE_INTEREST_CLIENT, LEGITIMATE_INTEREST_OTHER, "
    "LEGITIMATE_INTEREST_PQL, NON_GDPR, PERFORMANCE_OF_CONTRACT, PROCESS_AND_STORE"
)
_BAD_INPUTS = [
    (
        write_input("a@example.com", 999, "SUBSCRIBED"),
        "Subscription 999 does not exist in portal 12345678",
    ),
    (
        write_input("not-an-email", 101, "SUBSCRIBED"),
        "Invalid email address: 'not-an-email'",
    ),
    (
        write_input("a@example.com", 101, "MAYBE"),
        "statusState must be one of SUBSCRIBED, UNSUBSCRIBED, NOT_SPECIFIED; got 'MAYBE'",
    ),
    (
        {**write_input("a@example.com", 101, "SUBSCRIBED"), "channel": "SMS"},
        "Unsupported channel 'SMS': the only channel is EMAIL",
    ),
    (
        write_input("a@example.com", 101, "SUBSCRIBED", basis="BECAUSE"),
        f"legalBasis must be one of {_BASES}; got 'BECAUSE'",
    ),
    (write_input("a@example.com", 104, "SUBSCRIBED"), "Subscription 104 is not active"),
]


@pytest.mark.parametrize(
    ("item", "message"),
    _BAD_INPUTS,
    ids=["unknown-id", "bad-email", "bad-status", "bad-channel", "bad-basis", "inactive"],
)
def test_bad_inputs_fail_alone(client: SyncClient, item: dict[str, Any], message: str) -> None:
    """A bad input fails with its own error; the good input beside it is applied."""
    good = write_input("ok@example.com", 102, "SUBSCRIBED")
    body = _write(client, item, good)
    assert [r["subscriberIdString"] for r in body["results"]] == ["ok@example.com"]
    assert body["numErrors"] == 1
    assert body["errors"][0]["message"] == message
    assert statuses_of(client, "ok@example.com")[102] == "SUBSCRIBED"


def test_subscription_of_another_brand_fails_when_brand_is_given(client: SyncClient) -> None:
    """With businessUnitId on a batch write, an id of another brand fails alone."""
    body = _write(
        client,
        write_input("a@example.com", 201, "SUBSCRIBED"),
        write_input("a@example.com", 101, "SUBSCRIBED"),
        businessUnitId=0,
    )
    assert [r["subscriptionId"] for r in body["results"]] == [101]
    assert body["errors"][0]["message"] == "Subscription 201 belongs to business unit 5, not 0"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("subscriptionId", "101", "The field 'inputs[0].subscriptionId' must be an integer"),
        ("subscriptionId", None, "The field 'inputs[0].subscriptionId' is required"),
        ("subscriberIdString", 5, "The field 'inputs[0].subscriberIdString' must be a string"),
        ("statusState", None, "The field 'inputs[0].statusState' is required"),
        (
            "legalBasisExplanation",
            3,
            "The field 'inputs[0].legalBasisExplanation' must be a string",
        ),
    ],
)
def test_wrong_types_fail_the_whole_batch(
    client: SyncClient, field: str, value: Any, message: str
) -> None:
    """Wrong types or missing fields are a 400 for the request; nothing is written."""
    bad = write_input("a@example.com", 101, "SUBSCRIBED")
    if value is None:
        del bad[field]
    else:
        bad[field] = value
    good = write_input("b@example.com", 101, "SUBSCRIBED")
    answer = client.post(f"{V}/statuses/batch/write", json={"inputs": [bad, good]})
    assert answer.status_code == 400
    assert answer.json()["message"] == message
    assert statuses_of(client, "b@example.com")[101] == "NOT_SPECIFIED"


def test_batch_write_over_the_limit_is_400(emulator: Callable[..., SyncClient]) -> None:
    """A batch write with more inputs than the limit is refused whole."""
    client = emulator(batch_limit=1)
    inputs = [
        write_input("a@example.com", 101, "SUBSCRIBED"),
        write_input("b@example.com", 101, "SUBSCRIBED"),
    ]
    answer = client.post(f"{V}/statuses/batch/write", json={"inputs": inputs})
    assert answer.status_code == 400
    assert statuses_of(client, "a@example.com")[101] == "NOT_SPECIFIED"


def test_null_optional_fields_count_as_absent(emulator: Callable[..., SyncClient]) -> None:
    """legalBasis: null is the same as no legalBasis."""
    client = emulator(seed={"portal": {"id": 1}, "definitions": [{"id": "1", "name": "A"}]})
    item = {
        **write_input("a@example.com", 1, "SUBSCRIBED"),
        "legalBasis": None,
        "legalBasisExplanation": None,
    }
    body = _write(client, item)
    assert "legalBasis" not in body["results"][0]


def test_unsubscribe_all_flips_every_subscription_of_the_brand(seeded: SyncClient) -> None:
    """Unsubscribe-all opts out and flips the brand's subscriptions (verbose lists them)."""
    answer = seeded.post(
        f"{V}/statuses/batch/unsubscribe-all",
        params={**EMAIL, "verbose": "true"},
        json={"inputs": ["carol@example.com"]},
    )
    assert answer.status_code == 200
    [entry] = answer.json()["results"]
    assert entry["subscriberIdString"] == "carol@example.com"
    assert [
        (s["subscriptionId"], s["status"], s["setStatusSuccessReason"]) for s in entry["statuses"]
    ] == [
        (101, "UNSUBSCRIBED", "UNSUBSCRIBE_FROM_ALL_OCCURRED"),
        (102, "UNSUBSCRIBED", "UNSUBSCRIBE_FROM_ALL_OCCURRED"),
        (103, "UNSUBSCRIBED", "UNSUBSCRIBE_FROM_ALL_OCCURRED"),
    ]
    assert opted_out(seeded, "carol@example.com")
    assert not opted_out(seeded, "carol@example.com", brand=5)
    assert set(statuses_of(seeded, "carol@example.com").values()) == {"UNSUBSCRIBED"}


def test_unsubscribe_all_without_verbose_lists_no_statuses(seeded: SyncClient) -> None:
    """Without verbose, each result names the subscriber only."""
    answer = seeded.post(
        f"{V}/statuses/batch/unsubscribe-all", params=EMAIL, json={"inputs": ["bob@example.com"]}
    )
    assert answer.json()["results"] == [{"subscriberIdString": "bob@example.com"}]


def test_unsubscribe_all_of_the_already_opted_out_changes_nothing(seeded: SyncClient) -> None:
    """Opting out again keeps the original opt-out time; statuses report NO_STATUS_CHANGE."""
    answer = seeded.post(
        f"{V}/statuses/batch/unsubscribe-all",
        params={**EMAIL, "businessUnitId": 5, "verbose": "true"},
        json={"inputs": ["judy@example.com"]},
    )
    reasons = {s["setStatusSuccessReason"] for s in answer.json()["results"][0]["statuses"]}
    assert reasons == {"NO_STATUS_CHANGE"}
    wide = seeded.get(
        f"{V}/statuses/judy@example.com/unsubscribe-all", params={**EMAIL, "businessUnitId": 5}
    ).json()["results"]
    assert wide[0]["timestamp"] == "2026-05-09T12:00:00.000Z"


def test_unsubscribe_all_invalid_input_fails_alone(seeded: SyncClient) -> None:
    """An invalid email in a batch unsubscribe-all fails alone: 200 with errors[]."""
    answer = seeded.post(
        f"{V}/statuses/batch/unsubscribe-all",
        params=EMAIL,
        json={"inputs": ["bogus", "heidi@example.com"]},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert [r["subscriberIdString"] for r in body["results"]] == ["heidi@example.com"]
    assert body["numErrors"] == 1
    assert opted_out(seeded, "heidi@example.com")


def test_subscribe_with_legal_basis_clears_an_opt_out(seeded: SyncClient) -> None:
    """SUBSCRIBED with legal basis clears an opt-out of all (RESUBSCRIBE_OCCURRED)."""
    body = _write(
        seeded,
        write_input("judy@example.com", 201, "SUBSCRIBED", basis="LEGITIMATE_INTEREST_CLIENT"),
    )
    assert body["results"][0]["setStatusSuccessReason"] == "RESUBSCRIBE_OCCURRED"
    assert not opted_out(seeded, "judy@example.com", brand=5)
    assert statuses_of(seeded, "judy@example.com", brand=5) == {
        201: "SUBSCRIBED",
        202: "UNSUBSCRIBED",
    }


def test_opted_out_resubscribe_without_legal_basis_fails(
    emulator: Callable[..., SyncClient],
) -> None:
    """Even with GDPR off, undoing an opt-out of all needs a legal basis."""
    seed = {
        "portal": {"id": 1, "gdpr": False},
        "definitions": [{"id": "1", "name": "A"}],
        "opt_outs": [{"email": "x@example.com"}],
    }
    client = emulator(seed=seed)
    body = _write(
        client, write_input("x@example.com", 1, "SUBSCRIBED", basis=None, explanation=None)
    )
    assert body["results"] == []
    assert body["errors"][0]["message"] == (
        "x@example.com has opted out of all email of business unit 0; a resubscribe needs "
        "legalBasis and legalBasisExplanation"
    )
    assert opted_out(client, "x@example.com")


def test_single_write_endpoint(seeded: SyncClient) -> None:
    """POST /statuses/{email} sets one status and answers it in results[]."""
    answer = seeded.post(
        f"{V}/statuses/Dave%40Example.com",
        json={"subscriptionId": 101, "statusState": "UNSUBSCRIBED", "channel": "EMAIL"},
    )
    assert answer.status_code == 200
    [result] = answer.json()["results"]
    assert (result["subscriberIdString"], result["status"]) == ("dave@example.com", "UNSUBSCRIBED")


def test_single_write_failure_is_400(seeded: SyncClient) -> None:
    """A single write that HubSpot would refuse is a 400 for the request."""
    answer = seeded.post(
        f"{V}/statuses/dave@example.com",
        json={"subscriptionId": 101, "statusState": "SUBSCRIBED", "channel": "EMAIL"},
    )
    assert answer.status_code == 400
    assert answer.json()["category"] == "VALIDATION_ERROR"
    assert statuses_of(seeded, "dave@example.com")[101] == "NOT_SPECIFIED"


def test_single_unsubscribe_all(seeded: SyncClient) -> None:
    """POST /statuses/{email}/unsubscribe-all opts one subscriber out (verbose lists statuses)."""
    answer = seeded.post(
        f"{V}/statuses/ivan@example.com/unsubscribe-all",
        params={**EMAIL, "businessUnitId": 5, "verbose": "true"},
    )
    assert answer.status_code == 200
    assert [
        (s["subscriptionId"], s["setStatusSuccessReason"]) for s in answer.json()["results"]
    ] == [
        (201, "UNSUBSCRIBE_FROM_ALL_OCCURRED"),
        (202, "NO_STATUS_CHANGE"),
    ]
    assert opted_out(seeded, "ivan@example.com", brand=5)


def test_links_generate(seeded: SyncClient) -> None:
    """links/generate answers the three preference links for a subscriber."""
    answer = seeded.post(
        f"{V}/links/generate",
        params=EMAIL,
        json={"subscriberIdString": "Alice@example.com", "subscriptionId": 101},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["subscriberIdString"] == "alice@example.com"
    assert set(body) == {
        "subscriberIdString",
        "managePreferencesUrl",
        "unsubscribeAllUrl",
        "unsubscribeSingleUrl",
    }
    assert body["unsubscribeSingleUrl"].endswith("&subscriptionId=101")


def test_links_generate_for_a_subscription_of_another_brand_is_400(seeded: SyncClient) -> None:
    """links/generate refuses a subscription id of another brand than businessUnitId."""
    answer = seeded.post(
        f"{V}/links/generate",
        params={**EMAIL, "businessUnitId": 5},
        json={"subscriberIdString": "alice@example.com", "subscriptionId": 101},
    )
    assert answer.status_code == 400
    assert answer.json()["message"] == "Subscription 101 belongs to business unit 0, not 5"
