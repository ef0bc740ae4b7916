"""Reads: definitions, single and batch statuses, wide statuses, in-process."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .helpers import SyncClient, V

EMAIL = {"channel": "EMAIL"}


def test_definitions_without_brand_list_every_brand(client: SyncClient) -> None:
    """Without businessUnitId, /definitions lists every brand's definitions, ids as strings."""
    answer = client.get(f"{V}/definitions")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "COMPLETE"
    assert [(d["id"], d["businessUnitId"]) for d in body["results"]] == [
        ("101", 0),
        ("102", 0),
        ("103", 0),
        ("104", 0),
        ("201", 5),
        ("202", 5),
    ]


def test_definitions_of_one_brand(client: SyncClient) -> None:
    """businessUnitId limits /definitions to one brand."""
    answer = client.get(f"{V}/definitions", params={"businessUnitId": 5})
    assert [d["name"] for d in answer.json()["results"]] == ["Outdoor News", "Outdoor Offers"]


def test_definition_shape(client: SyncClient) -> None:
    """A definition carries HubSpot's fields, the inactive one with isActive false."""
    results = client.get(f"{V}/definitions").json()["results"]
    assert results[0] == {
        "id": "101",
        "name": "Newsletter",
        "description": "Our monthly newsletter.",
        "purpose": "Marketing",
        "communicationMethod": "Email",
        "businessUnitId": 0,
        "isActive": True,
        "isDefault": False,
        "isInternal": False,
        "createdAt": "2024-01-10T09:00:00.000Z",
        "updatedAt": "2025-06-01T12:00:00.000Z",
    }
    assert [d["isActive"] for d in results if d["id"] == "104"] == [False]


def test_definitions_include_translations_on_request(emulator: Callable[..., SyncClient]) -> None:
    """includeTranslations=true adds subscriptionTranslations (empty when none exist)."""
    seed = {
        "portal": {"id": 1},
        "definitions": [
            {
                "id": "7",
                "name": "News",
                "translations": [
                    {"language": "de", "name": "Neuigkeiten", "created_at": 1700000000000}
                ],
            },
            {"id": "8", "name": "Other"},
        ],
    }
    client = emulator(seed=seed)
    plain = client.get(f"{V}/definitions").json()["results"]
    assert "subscriptionTranslations" not in plain[0]
    results = client.get(f"{V}/definitions", params={"includeTranslations": "true"}).json()[
        "results"
    ]
    assert results[0]["subscriptionTranslations"] == [
        {
            "subscriptionId": 7,
            "languageCode": "de",
            "name": "Neuigkeiten",
            "description": "",
            "createdAt": 1700000000000,
            "updatedAt": 1700000000000,
        }
    ]
    assert results[1]["subscriptionTranslations"] == []


def test_definitions_unknown_brand_is_400(client: SyncClient) -> None:
    """A businessUnitId that is not a brand of the portal is a 400 VALIDATION_ERROR."""
    answer = client.get(f"{V}/definitions", params={"businessUnitId": 9})
    assert answer.status_code == 400
    assert answer.json()["category"] == "VALIDATION_ERROR"
    assert answer.json()["context"] == {"businessUnitId": ["9"]}


def test_unknown_subscriber_reads_not_specified(client: SyncClient) -> None:
    """Someone never seen reads NOT_SPECIFIED for each active subscription of the brand."""
    answer = client.get(f"{V}/statuses/nobody@example.com", params={**EMAIL, "businessUnitId": 0})
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [(s["subscriptionId"], s["status"]) for s in results] == [
        (101, "NOT_SPECIFIED"),
        (102, "NOT_SPECIFIED"),
        (103, "NOT_SPECIFIED"),
    ]
    assert results[0] == {
        "subscriberIdString": "nobody@example.com",
        "subscriptionId": 101,
        "subscriptionName": "Newsletter",
        "businessUnitId": 0,
        "channel": "EMAIL",
        "status": "NOT_SPECIFIED",
        "source": "Not specified",
        "timestamp": "2024-01-10T09:00:00.000Z",
    }


def test_status_read_is_scoped_to_the_brand(seeded: SyncClient) -> None:
    """businessUnitId=5 reads the outdoor brand's subscriptions only."""
    answer = seeded.get(f"{V}/statuses/ivan@example.com", params={**EMAIL, "businessUnitId": 5})
    assert [(s["subscriptionId"], s["status"]) for s in answer.json()["results"]] == [
        (201, "SUBSCRIBED"),
        (202, "UNSUBSCRIBED"),
    ]


def test_seeded_status_keeps_timestamp_source_and_legal_basis(seeded: SyncClient) -> None:
    """A seeded status reads back with its timestamp, source and legal basis."""
    results = seeded.get(f"{V}/statuses/alice@example.com", params=EMAIL).json()["results"]
    product = next(s for s in results if s["subscriptionId"] == 102)
    assert product["status"] == "SUBSCRIBED"
    assert product["timestamp"] == "2026-01-15T09:00:00.000Z"
    assert product["source"] == "Website signup form"
    assert product["legalBasis"] == "CONSENT_WITH_NOTICE"
    assert product["legalBasisExplanation"] == "Signed up on the website"


@pytest.mark.parametrize(
    "spelling", ["alice%40example.com", "Alice@Example.COM", "ALICE%40EXAMPLE.COM"]
)
def test_path_email_is_decoded_and_matched_case_insensitively(
    seeded: SyncClient, spelling: str
) -> None:
    """Percent-encoded and mixed-case path emails find the same subscriber."""
    answer = seeded.get(f"{V}/statuses/{spelling}", params=EMAIL)
    assert answer.status_code == 200
    statuses = {s["subscriptionId"]: s["status"] for s in answer.json()["results"]}
    assert statuses[102] == "SUBSCRIBED"
    assert answer.json()["results"][0]["subscriberIdString"] == "alice@example.com"


def test_status_read_of_invalid_email_is_400(client: SyncClient) -> None:
    """A path value that is no email address is a 400 naming it."""
    answer = client.get(f"{V}/statuses/not-an-email", params=EMAIL)
    assert answer.status_code == 400
    assert answer.json()["context"] == {"subscriberIdString": ["not-an-email"]}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "The query parameter 'channel' is required (EMAIL)"),
        ({"channel": "SMS"}, "Unsupported channel 'SMS': the only channel is EMAIL"),
        (
            {"channel": "EMAIL", "businessUnitId": "x"},
            "businessUnitId must be a whole number, got 'x'",
        ),
    ],
)
def test_bad_query_parameters_are_400(
    client: SyncClient, params: dict[str, str], message: str
) -> None:
    """Missing or bad query parameters are HubSpot-shaped 400s."""
    answer = client.get(f"{V}/statuses/a@example.com", params=params)
    assert answer.status_code == 400
    assert answer.json()["message"] == message
    assert answer.json()["status"] == "error"


def test_inactive_definition_is_listed_when_it_holds_a_status(
    emulator: Callable[..., SyncClient],
) -> None:
    """An inactive subscription is read only for subscribers who have a status for it."""
    seed = {
        "portal": {"id": 1},
        "definitions": [{"id": "1", "name": "A"}, {"id": "2", "name": "Old", "active": False}],
        "statuses": [{"email": "x@example.com", "subscription": "2", "status": "SUBSCRIBED"}],
    }
    client = emulator(seed=seed)
    held = client.get(f"{V}/statuses/x@example.com", params=EMAIL).json()["results"]
    other = client.get(f"{V}/statuses/y@example.com", params=EMAIL).json()["results"]
    assert [s["subscriptionId"] for s in held] == [1, 2]
    assert [s["subscriptionId"] for s in other] == [1]


def test_batch_read_lists_each_subscriber_once(seeded: SyncClient) -> None:
    """Batch read answers one entry per distinct (normalised) input, in input order."""
    answer = seeded.post(
        f"{V}/statuses/batch/read",
        params={**EMAIL, "businessUnitId": 0},
        json={"inputs": ["carol@example.com", "Alice@example.com", "carol@example.com"]},
    )
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["subscriberIdString"] for r in results] == ["carol@example.com", "alice@example.com"]
    carol = {s["subscriptionId"]: s["status"] for s in results[0]["statuses"]}
    assert carol == {101: "SUBSCRIBED", 102: "NOT_SPECIFIED", 103: "SUBSCRIBED"}
    assert "errors" not in answer.json()


def test_batch_read_with_invalid_input_is_207(seeded: SyncClient) -> None:
    """An invalid email fails alone: 207, the others answered, errors[] and numErrors."""
    answer = seeded.post(
        f"{V}/statuses/batch/read",
        params=EMAIL,
        json={"inputs": ["bob@example.com", "not an email"]},
    )
    assert answer.status_code == 207
    body = answer.json()
    assert [r["subscriberIdString"] for r in body["results"]] == ["bob@example.com"]
    assert body["numErrors"] == 1
    assert body["errors"] == [
        {
            "status": "error",
            "category": "VALIDATION_ERROR",
            "message": "Invalid email address: 'not an email'",
            "context": {"subscriberIdString": ["not an email"]},
            "errors": [],
            "links": {},
        }
    ]


def test_error_context_can_be_left_out(emulator: Callable[..., SyncClient]) -> None:
    """With error_context off, per-input errors do not name the input (as HubSpot may)."""
    client = emulator(error_context=False)
    answer = client.post(f"{V}/statuses/batch/read", params=EMAIL, json={"inputs": ["nope"]})
    assert answer.json()["errors"][0]["context"] == {}


def test_batch_read_over_the_limit_is_400(emulator: Callable[..., SyncClient]) -> None:
    """More inputs than the batch limit is a 400 VALIDATION_ERROR; none are read."""
    client = emulator(batch_limit=2)
    inputs = ["a@example.com", "b@example.com", "c@example.com"]
    answer = client.post(f"{V}/statuses/batch/read", params=EMAIL, json={"inputs": inputs})
    assert answer.status_code == 400
    body = answer.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"] == "Too many inputs: 3 were sent and at most 2 are allowed"
    assert body["context"] == {"inputs": ["3"], "maxInputs": ["2"]}


def test_batch_read_at_the_limit_is_fine(emulator: Callable[..., SyncClient]) -> None:
    """Exactly the batch limit is accepted."""
    client = emulator(batch_limit=2)
    answer = client.post(
        f"{V}/statuses/batch/read",
        params=EMAIL,
        json={"inputs": ["a@example.com", "b@example.com"]},
    )
    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b"{not json",
            "Invalid input JSON on line 1, column 2: "
            "Expecting property name enclosed in double quotes",
        ),
        (b"", "Invalid input JSON: the request body is empty"),
        (b"[]", "Invalid input JSON: expected an object"),
        (b"{}", "The field 'inputs' is required"),
        (b'{"inputs": "a@example.com"}', "The field 'inputs' must be an array"),
        (b'{"inputs": [1]}', "inputs[0] must be a string"),
        (b"\xff\xfe", "Invalid input JSON: the body is not UTF-8"),
    ],
)
def test_malformed_batch_bodies_are_400(client: SyncClient, body: bytes, message: str) -> None:
    """Malformed JSON, wrong types and missing fields are HubSpot-shaped 400s, never 500s."""
    answer = client.post(
        f"{V}/statuses/batch/read",
        params=EMAIL,
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json()["message"] == message
    assert answer.json()["category"] == "VALIDATION_ERROR"


def test_wide_status_of_someone_opted_out(seeded: SyncClient) -> None:
    """An opt-out reads as an UNSUBSCRIBED wide status of its brand."""
    answer = seeded.get(
        f"{V}/statuses/judy@example.com/unsubscribe-all", params={**EMAIL, "businessUnitId": 5}
    )
    assert answer.json()["results"] == [
        {
            "subscriberIdString": "judy@example.com",
            "wideStatusType": "BUSINESS_UNIT_WIDE",
            "businessUnitId": 5,
            "channel": "EMAIL",
            "status": "UNSUBSCRIBED",
            "timestamp": "2026-05-09T12:00:00.000Z",
        }
    ]


def test_opt_out_leaves_every_subscription_of_the_brand_unsubscribed(seeded: SyncClient) -> None:
    """A seeded opt-out implies UNSUBSCRIBED for each subscription of that brand."""
    answer = seeded.get(f"{V}/statuses/judy@example.com", params={**EMAIL, "businessUnitId": 5})
    assert {s["subscriptionId"]: s["status"] for s in answer.json()["results"]} == {
        201: "UNSUBSCRIBED",
        202: "UNSUBSCRIBED",
    }


def test_wide_status_of_someone_not_opted_out_is_empty_by_default(seeded: SyncClient) -> None:
    """Not opted out (of brand 0) reads as an empty list in the default style."""
    answer = seeded.get(
        f"{V}/statuses/judy@example.com/unsubscribe-all", params={**EMAIL, "businessUnitId": 0}
    )
    assert answer.json()["results"] == []


def test_reads_without_a_business_unit_cover_every_brand(seeded: SyncClient) -> None:
    """Without businessUnitId a read covers all brands, as HubSpot's guide says: judy's
    opt-out of brand 5 and the statuses of brand 5's subscriptions are listed."""
    wide = seeded.get(f"{V}/statuses/judy@example.com/unsubscribe-all", params=EMAIL)
    assert [(w["businessUnitId"], w["status"]) for w in wide.json()["results"]] == [
        (5, "UNSUBSCRIBED")
    ]
    statuses = seeded.get(f"{V}/statuses/judy@example.com", params=EMAIL).json()["results"]
    assert {s["businessUnitId"] for s in statuses} == {0, 5}


def test_wide_status_explicit_style(emulator: Callable[..., SyncClient]) -> None:
    """In the explicit style, not opted out reads as a SUBSCRIBED wide status."""
    client = emulator(wide_status_style="explicit")
    answer = client.get(
        f"{V}/statuses/x@example.com/unsubscribe-all", params={**EMAIL, "businessUnitId": 0}
    )
    assert answer.json()["results"] == [
        {
            "subscriberIdString": "x@example.com",
            "wideStatusType": "BUSINESS_UNIT_WIDE",
            "businessUnitId": 0,
            "channel": "EMAIL",
            "status": "SUBSCRIBED",
            "timestamp": "2024-01-01T00:00:00.000Z",
        }
    ]


def test_portal_without_brands_reports_portal_wide(emulator: Callable[..., SyncClient]) -> None:
    """Brand 0 of a portal without brands opts out PORTAL_WIDE."""
    seed = {
        "portal": {"id": 1},
        "definitions": [{"id": "1", "name": "A"}],
        "opt_outs": [{"email": "x@example.com"}],
    }
    client = emulator(seed=seed)
    answer = client.get(f"{V}/statuses/x@example.com/unsubscribe-all", params=EMAIL)
    assert [w["wideStatusType"] for w in answer.json()["results"]] == ["PORTAL_WIDE"]


def test_batch_wide_read_with_invalid_input_is_207(seeded: SyncClient) -> None:
    """Batch wide read: per-input failure is a 207 with errors[]; the rest are answered."""
    answer = seeded.post(
        f"{V}/statuses/batch/unsubscribe-all/read",
        params={**EMAIL, "businessUnitId": 5},
        json={"inputs": ["judy@example.com", "ivan@example.com", "@@"]},
    )
    assert answer.status_code == 207
    body = answer.json()
    assert [(r["subscriberIdString"], len(r["wideStatuses"])) for r in body["results"]] == [
        ("judy@example.com", 1),
        ("ivan@example.com", 0),
    ]
    assert body["numErrors"] == 1


@pytest.mark.parametrize("version", ["v4", "2026-09"])
def test_other_versions_serve_the_same_operations(seeded: SyncClient, version: str) -> None:
    """v4 and 2026-09 paths answer like 2026-03."""
    answer = seeded.post(
        f"/communication-preferences/{version}/statuses/batch/read",
        params=EMAIL,
        json={"inputs": ["alice@example.com"]},
    )
    assert answer.status_code == 200
    statuses = {s["subscriptionId"]: s["status"] for s in answer.json()["results"][0]["statuses"]}
    assert statuses[102] == "SUBSCRIBED"


def test_unknown_path_is_a_hubspot_404(client: SyncClient) -> None:
    """A path that is no operation is a JSON 404, not Starlette's plain text."""
    answer = client.get(f"{V}/no/such/thing")
    assert answer.status_code == 404
    assert answer.json()["category"] == "OBJECT_NOT_FOUND"


def test_wrong_method_is_a_hubspot_405(client: SyncClient) -> None:
    """A known path with the wrong method is a JSON 405."""
    answer = client.get(f"{V}/statuses/batch/read")
    assert answer.status_code == 405
    assert answer.json()["status"] == "error"


def test_405_names_the_allowed_methods(client: SyncClient) -> None:
    """A 405 carries an Allow header, as RFC 9110 asks."""
    answer = client.request("DELETE", f"{V}/statuses/batch/write")
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "POST"


def test_lone_surrogates_are_a_400_not_a_500(client: SyncClient) -> None:
    """Text that cannot be stored as UTF-8 is refused as bad input."""
    body = (
        b'{"inputs": [{"subscriberIdString": "a@example.com", "subscriptionId": 101,'
        b' "statusState": "UNSUBSCRIBED", "channel": "EMAIL", "legalBasisExplanation": "\\ud800"}]}'
    )
    answer = client.post(f"{V}/statuses/batch/write", content=body)
    assert answer.status_code == 400
    assert answer.json()["message"] == (
        "The field 'inputs[0].legalBasisExplanation' is not valid UTF-8 text"
    )


def test_json_nested_too_deeply_is_a_400(client: SyncClient) -> None:
    """Absurdly deep JSON is a 400, not a crash."""
    answer = client.post(f"{V}/statuses/batch/read", params=EMAIL, content=b"[" * 100_000)
    assert answer.status_code == 400
    assert answer.json()["message"] == "Invalid input JSON: nested too deeply"
