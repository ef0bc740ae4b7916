"""HubSpot's official Python SDK (``hubspot-api-client``) against the emulator.

The SDK is generated from HubSpot's v3 spec and parses answers into typed models with
client-side enum checks, so it is a second reader nobody here wrote. It talks to an
emulator on a real socket (``Configuration.host`` pointed at it): the v3 definitions
and status calls through its generated APIs, the 2026-03 batch calls through its
generic ``api_request``. The tests check the values it reads back, and (through the
``bench`` fixture) every answer is also judged against HubSpot's specs when they are
present. These tests do not need the spec files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import hubspot
import pytest
import requests
from hubspot.communication_preferences import (
    ApiException,
    PublicSubscriptionStatus,
    PublicUpdateSubscriptionStatusRequest,
    SubscriptionDefinitionsResponse,
)

from reconciler.emulator import DEFAULT_TOKEN

from .harness import Bench

V4 = "/communication-preferences/2026-03"
BASIS = {"legal_basis": "CONSENT_WITH_NOTICE", "legal_basis_explanation": "Asked at the fair"}


@dataclass
class Hub:
    """The SDK's client of one running emulator."""

    client: hubspot.Client
    url: str

    @property
    def definitions(self) -> Any:
        return self.client.communication_preferences.definition_api

    @property
    def status(self) -> Any:
        return self.client.communication_preferences.status_api

    def request(self, method: str, path: str, **options: Any) -> requests.Response:
        """The SDK's generic call (``Client.api_request``)."""
        return self.client.api_request({"method": method, "path": path, **options})


def _client(url: str, token: str) -> hubspot.Client:
    # ``host`` configures the generated APIs; ``base_url`` the generic api_request.
    return hubspot.Client.create(access_token=token, host=url, base_url=url)


@pytest.fixture
def hub(bench: Bench) -> Hub:
    """The SDK, pointed at a fresh emulator on a real socket with the full token."""
    url = bench.serve()
    return Hub(_client(url, DEFAULT_TOKEN), url)


def _statuses(hub: Hub, email: str) -> list[tuple[str, str, str]]:
    answer = hub.status.get_email_status(email)
    assert answer.recipient == email
    return [(s.id, s.status, s.source_of_status) for s in answer.subscription_statuses]


# --- v3 through the generated APIs --------------------------------------------------------


def test_sdk_reads_every_definition(hub: Hub) -> None:
    """definition_api.get_page parses every definition with its flags and brand."""
    page = hub.definitions.get_page()
    assert isinstance(page, SubscriptionDefinitionsResponse)
    seen = [
        (d.id, d.name, d.business_unit_id, d.is_active, d.is_default, d.is_internal)
        for d in page.subscription_definitions
    ]
    assert seen == [
        ("101", "Newsletter", 0, True, False, False),
        ("102", "Product Updates", 0, True, False, False),
        ("104", "Print Catalogue", 0, False, False, False),
        ("201", "Outdoor News", 5, True, False, False),
        ("202", "Outdoor Offers", 5, True, False, False),
    ]
    assert page.subscription_definitions[0].purpose == "Marketing"


def test_sdk_reads_a_subscribers_statuses(hub: Hub) -> None:
    """get_email_status lists set statuses, with the legal basis HubSpot recorded."""
    answer = hub.status.get_email_status("alice@example.com")
    (newsletter,) = answer.subscription_statuses
    assert (newsletter.id, newsletter.status, newsletter.source_of_status) == (
        "101",
        "SUBSCRIBED",
        "SUBSCRIPTION_STATUS",
    )
    assert (newsletter.legal_basis, newsletter.legal_basis_explanation, newsletter.brand_id) == (
        "CONSENT_WITH_NOTICE",
        "Signed up on the website",
        0,
    )
    assert _statuses(hub, "bob@example.com") == [("102", "NOT_SUBSCRIBED", "SUBSCRIPTION_STATUS")]


def test_sdk_sees_an_opt_out_of_a_brand_as_brand_wide(hub: Hub) -> None:
    """Someone opted out of brand 5 reads NOT_SUBSCRIBED there, from the brand-wide status."""
    assert _statuses(hub, "dora@example.com") == [
        ("201", "NOT_SUBSCRIBED", "BRAND_WIDE_STATUS"),
        ("202", "NOT_SUBSCRIBED", "BRAND_WIDE_STATUS"),
    ]


def test_sdk_subscribes_and_reads_it_back(hub: Hub) -> None:
    """status_api.subscribe answers the new status, and a fresh read agrees."""
    request = PublicUpdateSubscriptionStatusRequest(
        email_address="erin@example.com", subscription_id="102", **BASIS
    )
    answer = hub.status.subscribe(request)
    assert isinstance(answer, PublicSubscriptionStatus)
    assert (answer.id, answer.status, answer.legal_basis) == (
        "102",
        "SUBSCRIBED",
        "CONSENT_WITH_NOTICE",
    )
    assert _statuses(hub, "erin@example.com") == [("102", "SUBSCRIBED", "SUBSCRIPTION_STATUS")]


def test_sdk_unsubscribes_and_2026_03_reads_it(hub: Hub) -> None:
    """An SDK unsubscribe shows as UNSUBSCRIBED in a 2026-03 batch read."""
    request = PublicUpdateSubscriptionStatusRequest(
        email_address="alice@example.com", subscription_id="101"
    )
    assert hub.status.unsubscribe(request).status == "NOT_SUBSCRIBED"
    answer = hub.request(
        "POST",
        f"{V4}/statuses/batch/read",
        qs={"channel": "EMAIL", "businessUnitId": "0"},
        body={"inputs": ["alice@example.com"]},
    )
    assert answer.status_code == 200
    statuses = {s["subscriptionId"]: s["status"] for s in answer.json()["results"][0]["statuses"]}
    assert statuses == {101: "UNSUBSCRIBED", 102: "NOT_SPECIFIED"}


def test_sdk_raises_hubspots_error_for_a_refused_write(hub: Hub) -> None:
    """Unsubscribing twice is a 400 the SDK raises as ApiException with HubSpot's body."""
    request = PublicUpdateSubscriptionStatusRequest(
        email_address="bob@example.com", subscription_id="102"
    )
    with pytest.raises(ApiException) as caught:
        hub.status.unsubscribe(request)
    assert caught.value.status == 400
    assert '"category": "VALIDATION_ERROR"' in caught.value.body


def test_sdk_with_an_unknown_token_gets_401(bench: Bench) -> None:
    """A token the portal does not know is a 401 the SDK raises, without echoing it."""
    hub = Hub(_client(bench.serve(), "not-a-real-token"), "")
    with pytest.raises(ApiException) as caught:
        hub.definitions.get_page()
    assert caught.value.status == 401
    assert "INVALID_AUTHENTICATION" in caught.value.body
    assert "not-a-real-token" not in caught.value.body


# --- 2026-03 batch calls through api_request ------------------------------------------------


def test_api_request_batch_read(hub: Hub) -> None:
    """The generic call reads several subscribers in one brand."""
    answer = hub.request(
        "POST",
        f"{V4}/statuses/batch/read",
        qs={"channel": "EMAIL", "businessUnitId": 5},
        body={"inputs": ["dora@example.com", "alice@example.com"]},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "COMPLETE"
    read = {
        r["subscriberIdString"]: {s["subscriptionId"]: s["status"] for s in r["statuses"]}
        for r in body["results"]
    }
    assert read == {
        "dora@example.com": {201: "UNSUBSCRIBED", 202: "UNSUBSCRIBED"},
        "alice@example.com": {201: "NOT_SPECIFIED", 202: "NOT_SPECIFIED"},
    }


def test_api_request_batch_read_partial_failure(hub: Hub) -> None:
    """A bad input fails alone: 207, the good one answered, numErrors counted."""
    answer = hub.request(
        "POST",
        f"{V4}/statuses/batch/read",
        qs={"channel": "EMAIL"},
        body={"inputs": ["alice@example.com", "not an email"]},
    )
    assert answer.status_code == 207
    body = answer.json()
    assert [r["subscriberIdString"] for r in body["results"]] == ["alice@example.com"]
    assert body["numErrors"] == 1


def test_api_request_batch_write_then_sdk_reads_it(hub: Hub) -> None:
    """A 2026-03 batch write is applied and the v3 SDK read sees both changes."""
    inputs = [
        {
            "subscriberIdString": "erin@example.com",
            "subscriptionId": 101,
            "statusState": "SUBSCRIBED",
            "channel": "EMAIL",
            "legalBasis": "CONSENT_WITH_NOTICE",
            "legalBasisExplanation": "Asked at the fair",
        },
        {
            "subscriberIdString": "erin@example.com",
            "subscriptionId": 102,
            "statusState": "UNSUBSCRIBED",
            "channel": "EMAIL",
        },
    ]
    answer = hub.request("POST", f"{V4}/statuses/batch/write", body={"inputs": inputs})
    assert answer.status_code == 200
    reasons = [(r["subscriptionId"], r["setStatusSuccessReason"]) for r in answer.json()["results"]]
    assert reasons == [(101, "REQUESTED_CHANGE_OCCURRED"), (102, "REQUESTED_CHANGE_OCCURRED")]
    assert _statuses(hub, "erin@example.com") == [
        ("101", "SUBSCRIBED", "SUBSCRIPTION_STATUS"),
        ("102", "NOT_SUBSCRIBED", "SUBSCRIPTION_STATUS"),
    ]


def test_api_request_unsubscribe_all_then_reads_agree(hub: Hub) -> None:
    """A batch unsubscribe-all shows in the wide read and as brand-wide in the SDK's v3 read."""
    done = hub.request(
        "POST",
        f"{V4}/statuses/batch/unsubscribe-all",
        qs={"channel": "EMAIL", "businessUnitId": 0},
        body={"inputs": ["alice@example.com"]},
    )
    assert done.status_code == 200
    assert done.json()["results"] == [{"subscriberIdString": "alice@example.com"}]
    wide = hub.request(
        "POST",
        f"{V4}/statuses/batch/unsubscribe-all/read",
        qs={"channel": "EMAIL", "businessUnitId": 0},
        body={"inputs": ["alice@example.com"]},
    )
    (entry,) = wide.json()["results"][0]["wideStatuses"]
    assert (entry["status"], entry["wideStatusType"], entry["businessUnitId"]) == (
        "UNSUBSCRIBED",
        "BUSINESS_UNIT_WIDE",
        0,
    )
    assert _statuses(hub, "alice@example.com") == [
        ("101", "NOT_SUBSCRIBED", "BRAND_WIDE_STATUS"),
        ("102", "NOT_SUBSCRIBED", "BRAND_WIDE_STATUS"),
    ]
