"""The legacy v3 operations (what the official SDK speaks) and account-info."""

from __future__ import annotations

from collections.abc import Callable

from .helpers import SyncClient, opted_out

V3 = "/communication-preferences/v3"


def test_v3_definitions(client: SyncClient) -> None:
    """v3 /definitions wraps every definition in subscriptionDefinitions."""
    answer = client.get(f"{V3}/definitions")
    assert answer.status_code == 200
    assert [d["id"] for d in answer.json()["subscriptionDefinitions"]] == [
        "101",
        "102",
        "103",
        "104",
        "201",
        "202",
    ]


def test_v3_status_lists_only_statuses_that_exist(seeded: SyncClient) -> None:
    """v3 status lists subscriptions with a status, UNSUBSCRIBED spelled NOT_SUBSCRIBED."""
    answer = seeded.get(f"{V3}/status/email/ivan%40example.com")
    assert answer.status_code == 200
    assert answer.json() == {
        "recipient": "ivan@example.com",
        "subscriptionStatuses": [
            {
                "id": "201",
                "name": "Outdoor News",
                "description": "Stories from the outdoor shop.",
                "status": "SUBSCRIBED",
                "sourceOfStatus": "SUBSCRIPTION_STATUS",
                "brandId": 5,
                "legalBasis": "LEGITIMATE_INTEREST_CLIENT",
                "legalBasisExplanation": "Existing customer of the outdoor shop",
            },
            {
                "id": "202",
                "name": "Outdoor Offers",
                "description": "Seasonal offers of the outdoor shop.",
                "status": "NOT_SUBSCRIBED",
                "sourceOfStatus": "SUBSCRIPTION_STATUS",
                "brandId": 5,
            },
        ],
    }


def test_v3_status_of_an_opted_out_brand_is_brand_wide(seeded: SyncClient) -> None:
    """An opt-out shows every subscription of the brand NOT_SUBSCRIBED by BRAND_WIDE_STATUS."""
    statuses = seeded.get(f"{V3}/status/email/judy@example.com").json()["subscriptionStatuses"]
    assert [(s["id"], s["status"], s["sourceOfStatus"]) for s in statuses] == [
        ("201", "NOT_SUBSCRIBED", "BRAND_WIDE_STATUS"),
        ("202", "NOT_SUBSCRIBED", "BRAND_WIDE_STATUS"),
    ]


def test_v3_status_in_a_portal_without_brands_is_portal_wide(
    emulator: Callable[..., SyncClient],
) -> None:
    """Without brands, an opt-out is reported as PORTAL_WIDE_STATUS."""
    seed = {
        "portal": {"id": 1},
        "definitions": [{"id": "1", "name": "A"}],
        "opt_outs": [{"email": "x@example.com"}],
    }
    client = emulator(seed=seed)
    statuses = client.get(f"{V3}/status/email/x@example.com").json()["subscriptionStatuses"]
    assert [s["sourceOfStatus"] for s in statuses] == ["PORTAL_WIDE_STATUS"]


def test_v3_subscribe(seeded: SyncClient) -> None:
    """v3 subscribe takes a string id and answers the v3 status."""
    answer = seeded.post(
        f"{V3}/subscribe",
        json={
            "emailAddress": "dave@example.com",
            "subscriptionId": "101",
            "legalBasis": "CONSENT_WITH_NOTICE",
            "legalBasisExplanation": "Asked at the booth",
        },
    )
    assert answer.status_code == 200
    assert answer.json()["status"] == "SUBSCRIBED"
    assert answer.json()["legalBasisExplanation"] == "Asked at the booth"


def test_v3_subscribe_without_legal_basis_under_gdpr_is_400(seeded: SyncClient) -> None:
    """With GDPR on, v3 subscribe without legal basis is a 400."""
    answer = seeded.post(
        f"{V3}/subscribe", json={"emailAddress": "dave@example.com", "subscriptionId": "101"}
    )
    assert answer.status_code == 400
    assert answer.json()["category"] == "VALIDATION_ERROR"


def test_v3_subscribe_never_undoes_an_opt_out(seeded: SyncClient) -> None:
    """v3 subscribe of someone opted out of all is a 400; the opt-out stays."""
    answer = seeded.post(
        f"{V3}/subscribe",
        json={
            "emailAddress": "judy@example.com",
            "subscriptionId": "201",
            "legalBasis": "CONSENT_WITH_NOTICE",
            "legalBasisExplanation": "x",
        },
    )
    assert answer.status_code == 400
    assert opted_out(seeded, "judy@example.com", brand=5)


def test_v3_unsubscribe_and_again(seeded: SyncClient) -> None:
    """v3 unsubscribe answers NOT_SUBSCRIBED; a second one is a 400 'already unsubscribed'."""
    body = {"emailAddress": "bob@example.com", "subscriptionId": "101"}
    first = seeded.post(f"{V3}/unsubscribe", json=body)
    assert first.status_code == 200
    assert first.json()["status"] == "NOT_SUBSCRIBED"
    again = seeded.post(f"{V3}/unsubscribe", json=body)
    assert again.status_code == 400
    assert (
        again.json()["message"] == "bob@example.com is already unsubscribed from subscription 101"
    )


def test_v3_unknown_subscription_is_400(seeded: SyncClient) -> None:
    """v3 writes to an unknown subscription are a 400."""
    answer = seeded.post(
        f"{V3}/unsubscribe", json={"emailAddress": "bob@example.com", "subscriptionId": "9"}
    )
    assert answer.status_code == 400
    assert answer.json()["message"] == "Subscription 9 does not exist in portal 12345678"


def test_2026_09_resubscribe_clears_an_opt_out(seeded: SyncClient) -> None:
    """The 2026-09 legacy /resubscribe undoes an opt-out when given a legal basis."""
    answer = seeded.post(
        "/communication-preferences/2026-09/resubscribe",
        json={
            "emailAddress": "judy@example.com",
            "subscriptionId": "202",
            "legalBasis": "CONSENT_WITH_NOTICE",
            "legalBasisExplanation": "Called us to opt back in",
        },
    )
    assert answer.status_code == 200
    assert answer.json()["status"] == "SUBSCRIBED"
    assert not opted_out(seeded, "judy@example.com", brand=5)


def test_2026_09_serves_the_legacy_status_read(seeded: SyncClient) -> None:
    """2026-09 carries v3's status read too."""
    answer = seeded.get("/communication-preferences/2026-09/status/email/alice@example.com")
    assert [s["id"] for s in answer.json()["subscriptionStatuses"]] == ["102"]


def test_account_details_name_the_portal(seeded: SyncClient) -> None:
    """/account-info/v3/details answers the seed's portalId and plausible fields."""
    answer = seeded.get("/account-info/v3/details")
    assert answer.status_code == 200
    assert answer.json() == {
        "portalId": 12345678,
        "accountType": "STANDARD",
        "timeZone": "UTC",
        "companyCurrency": "EUR",
        "additionalCurrencies": [],
        "utcOffset": "+00:00",
        "utcOffsetMilliseconds": 0,
        "uiDomain": "app.hubspot.com",
        "dataHostingLocation": "na1",
    }


def test_account_api_usage_counts_today(emulator: Callable[..., SyncClient]) -> None:
    """The daily usage call reports the cap and the requests made today."""
    client = emulator(daily_limit=1000)
    client.get("/account-info/v3/details")
    answer = client.get("/account-info/v3/api-usage/daily/private-apps")
    [usage] = answer.json()["results"]
    assert (usage["usageLimit"], usage["currentUsage"]) == (1000, 2)
