"""The admin surface under /_emulator/: reset, load, state, counts, write log, settings."""

from __future__ import annotations

from collections.abc import Callable

from reconciler.emulator import OPERATION_NAMES

from .helpers import SyncClient, V, statuses_of, write_input

EMAIL = {"channel": "EMAIL"}


def test_info_lists_operations(client: SyncClient) -> None:
    """GET /_emulator/info names the portal, the versions and the operation names."""
    info = client.get("/_emulator/info").json()
    assert info["portal_id"] == 12345678
    assert info["seed_applied"] is True
    assert info["versions"] == ["2026-03", "v4", "2026-09", "v3"]
    assert info["operations"] == sorted(n for n in OPERATION_NAMES if n != "unknown")


def test_request_counts_per_operation_and_status(client: SyncClient) -> None:
    """Counts are kept per operation, per status code, per version, and per both."""
    client.get(f"{V}/definitions")
    client.post(f"{V}/statuses/batch/read", params=EMAIL, json={"inputs": ["x"]})
    client.get("/communication-preferences/v4/definitions", headers={"Authorization": "Bearer no"})
    client.get(f"{V}/nothing-here")
    counts = client.get("/_emulator/requests").json()
    assert counts == {
        "total": 4,
        "by_operation": {"definitions": 2, "statuses.batch.read": 1, "unknown": 1},
        "by_status": {"200": 1, "207": 1, "401": 1, "404": 1},
        "by_version": {"2026-03": 3, "v4": 1},
        "by_operation_status": {
            "definitions": {"200": 1, "401": 1},
            "statuses.batch.read": {"207": 1},
            "unknown": {"404": 1},
        },
    }


def test_request_counts_can_be_cleared(client: SyncClient) -> None:
    """DELETE /_emulator/requests zeroes the counters (admin calls are never counted)."""
    client.get(f"{V}/definitions")
    cleared = client.delete("/_emulator/requests").json()
    assert cleared["total"] == 0
    client.get("/_emulator/state")
    assert client.get("/_emulator/requests").json()["total"] == 0


def test_write_log_records_each_input(seeded: SyncClient) -> None:
    """GET /_emulator/writes lists every write input with its brand and outcome."""
    good = write_input("dave@example.com", 201, "SUBSCRIBED", basis="LEGITIMATE_INTEREST_CLIENT")
    bad = write_input("dave@example.com", 999, "SUBSCRIBED")
    seeded.post(f"{V}/statuses/batch/write", json={"inputs": [good, bad]})
    seeded.post(
        f"{V}/statuses/batch/unsubscribe-all",
        params={**EMAIL, "businessUnitId": 5},
        json={"inputs": ["ivan@example.com"]},
    )
    writes = seeded.get("/_emulator/writes").json()["writes"]
    assert [(w["seq"], w["operation"], w["brand"], w["outcome"]) for w in writes] == [
        (1, "statuses.batch.write", 5, "applied"),
        (2, "statuses.batch.write", None, "failed"),
        (3, "statuses.batch.unsubscribe_all", 5, "applied"),
    ]
    assert writes[0]["input"] == good
    assert writes[0]["detail"] == "REQUESTED_CHANGE_OCCURRED"
    assert writes[1]["detail"] == "Subscription 999 does not exist in portal 12345678"
    assert writes[2]["input"] == "ivan@example.com"
    assert writes[2]["version"] == "2026-03"
    assert seeded.delete("/_emulator/writes").json() == {"writes": []}


def test_state_dump_is_a_seed_with_wide_statuses(seeded: SyncClient) -> None:
    """GET /_emulator/state returns the seed format (no tokens) plus every wide status."""
    state = seeded.get("/_emulator/state").json()
    assert "tokens" not in state
    assert state["portal"]["id"] == 12345678
    assert [b["id"] for b in state["brands"]] == [0, 5]
    assert {
        "email": "frank@example.com",
        "subscription": "101",
        "business_unit": 0,
        "status": "UNSUBSCRIBED",
        "timestamp": "2026-10-02T08:30:00.000Z",
        "source": "Self-service preference center",
        "legal_basis": None,
        "legal_basis_explanation": None,
    } in state["statuses"]
    assert state["opt_outs"] == [
        {
            "email": "judy@example.com",
            "business_unit": 5,
            "timestamp": "2026-05-09T12:00:00.000Z",
            "source": "Unsubscribe link in email",
        }
    ]
    assert [w["status"] for w in state["wide_statuses"]] == ["UNSUBSCRIBED"]


def test_state_dump_loads_back(seeded: SyncClient, emulator: Callable[..., SyncClient]) -> None:
    """A dump loaded into another emulator gives the same state, and tokens stay usable."""
    seeded.post(
        f"{V}/statuses/batch/write",
        json={"inputs": [write_input("zoe@example.com", 103, "SUBSCRIBED")]},
    )
    dump = seeded.get("/_emulator/state").json()
    other = emulator()
    loaded = other.post("/_emulator/load", json=dump)
    assert loaded.status_code == 200
    assert loaded.json()["loaded"] is True
    assert other.get("/_emulator/state").json() == dump
    assert statuses_of(other, "zoe@example.com")[103] == "SUBSCRIBED"


def test_load_rejects_an_invalid_seed(client: SyncClient) -> None:
    """A bad seed is a 400 listing every problem; the state is untouched."""
    answer = client.post(
        "/_emulator/load",
        json={"portal": {"id": 5}, "statuses": [{"email": "nope", "subscription": "1"}]},
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid seed",
        "findings": [
            "statuses[0].email: 'nope' is not an email address",
            "statuses[0].subscription: no definition has id '1'",
            "statuses[0].status: is required",
        ],
    }
    assert client.get("/_emulator/info").json()["portal_id"] == 12345678


def test_reset_returns_to_the_seed_settings_and_zero_counts(seeded: SyncClient) -> None:
    """POST /_emulator/reset restores the base seed, startup settings, counters and log."""
    seeded.post(
        f"{V}/statuses/batch/write",
        json={"inputs": [write_input("bob@example.com", 101, "UNSUBSCRIBED")]},
    )
    seeded.patch("/_emulator/settings", json={"batch_limit": 7})
    assert seeded.post("/_emulator/reset").json() == {"reset": True}
    assert seeded.get("/_emulator/settings").json()["batch_limit"] == 100
    assert seeded.get("/_emulator/requests").json()["total"] == 0
    assert seeded.get("/_emulator/writes").json() == {"writes": []}
    assert statuses_of(seeded, "bob@example.com")[101] == "SUBSCRIBED"


def test_reset_after_load_returns_to_the_loaded_seed(client: SyncClient) -> None:
    """After /load, reset goes back to the loaded seed."""
    client.post(
        "/_emulator/load", json={"portal": {"id": 42}, "definitions": [{"id": "1", "name": "A"}]}
    )
    client.post("/_emulator/reset")
    assert client.get("/account-info/v3/details").json()["portalId"] == 42


def test_settings_read_and_change(client: SyncClient) -> None:
    """GET shows the run-time settings; PATCH changes some and takes effect at once."""
    settings = client.get("/_emulator/settings").json()
    assert settings == {
        "rate_limit": 0,
        "rate_window_ms": 10000,
        "daily_limit": 625000,
        "batch_limit": 100,
        "latency_ms": 0,
        "latency_jitter_ms": None,
        "fault_rate": 0.0,
        "faults": [],
        "fault_seed": None,
        "slow_ms": 60000,
        "retry_after": None,
        "wide_status_style": "empty",
        "error_context": True,
        "never_set_dates": "created",
        "legal_basis_rule": "subscribe",
    }
    changed = client.patch(
        "/_emulator/settings", json={"batch_limit": 1, "faults": ["500", "drop"], "rate_limit": 3}
    ).json()
    assert (changed["batch_limit"], changed["faults"], changed["rate_limit"]) == (
        1,
        ["500", "drop"],
        3,
    )
    answer = client.post(
        f"{V}/statuses/batch/read",
        params=EMAIL,
        json={"inputs": ["a@example.com", "b@example.com"]},
    )
    assert answer.status_code == 400
    assert answer.headers["X-HubSpot-RateLimit-Max"] == "3"


def test_settings_refuse_unknown_and_bad_values(client: SyncClient) -> None:
    """PATCH with an unknown field or a bad value is a 400 and changes nothing."""
    unknown = client.patch("/_emulator/settings", json={"db": "other.db"})
    assert unknown.status_code == 400
    assert unknown.json()["error"].startswith("cannot change db at run time")
    bad = client.patch("/_emulator/settings", json={"fault_rate": 2})
    assert bad.json() == {"error": "fault_rate must be a number from 0 to 1, got 2"}
    kind = client.patch("/_emulator/settings", json={"faults": "500,teapot"})
    assert kind.status_code == 400
    assert client.get("/_emulator/settings").json()["fault_rate"] == 0.0


def test_fault_queue(client: SyncClient) -> None:
    """Faults can be queued, listed and cleared; bad kinds and operations are refused."""
    queued = client.post("/_emulator/faults", json={"kind": "503", "count": 2}).json()
    assert queued == {"queued": [{"kind": "503", "operation": None, "count": 2}]}
    assert client.post("/_emulator/faults", json={"kind": "teapot"}).status_code == 400
    assert (
        client.post("/_emulator/faults", json={"kind": "500", "operation": "nope"}).status_code
        == 400
    )
    assert client.post("/_emulator/faults", json={"kind": "500", "count": 0}).status_code == 400
    assert client.delete("/_emulator/faults").json() == {"queued": []}


def test_unknown_admin_path_is_404(client: SyncClient) -> None:
    """An unknown admin path is a plain JSON 404 and is not counted."""
    answer = client.get("/_emulator/nope")
    assert answer.status_code == 404
    assert client.get("/_emulator/requests").json()["total"] == 0
