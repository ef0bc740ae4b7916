"""A batch larger than HubSpot accepts: the line says to lower --batch-size, and by how much."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.client._errors import Scrubber, batch_limit, error_from_response
from reconciler.emulator import EmulatorSettings, create_app
from reconciler.errors import ApiError
from tests.cli_hub import API_URL, Hub

WHAT = "POST /communication-preferences/2026-03/statuses/batch/read"
TOKEN = "pat-na1-batch-limit-secret"


@pytest.mark.parametrize(
    ("body", "limit"),
    [
        ({"context": {"maxInputs": ["100"]}}, 100),
        ({"context": {"maxInputs": 7}}, 7),
        ({"message": "Too many inputs: 150 were sent and at most 100 are allowed"}, 100),
        ({"message": "Batch input size must be less than or equal to 100"}, 100),
        ({"message": "Invalid", "errors": [{"message": "at most 50 inputs"}]}, 50),
        ({"message": "inputs must contain between 1 and 250 elements"}, 250),
        ({"message": "Maximum of 10 items per batch"}, 10),
        (
            {
                "message": "The maximum number of inputs supported in a batch request for "
                "this endpoint is 100"
            },
            100,
        ),
        ({"message": "The maximum number of inputs supported in a batch request is 25."}, 25),
        ({"message": "Invalid input: subscriptionId must be up to 19 digits"}, None),
        ({"message": "Business unit 9 does not exist in portal 4242"}, None),
        ({"context": {"maxInputs": ["many"]}}, None),
        (None, None),
    ],
)
def test_batch_limit_reads_the_limit_a_400_states(body: Any, limit: int | None) -> None:
    """The limit comes from context.maxInputs or a phrase about inputs or a batch."""
    assert batch_limit(body) == limit


def _refusal(body: dict[str, Any], status: int = 400) -> ApiError:
    response = httpx.Response(status, content=json.dumps(body).encode())
    return error_from_response(response, what=WHAT, scrub=Scrubber(TOKEN))


def test_a_batch_too_large_hints_to_lower_batch_size() -> None:
    """HubSpot's 400 about too many inputs becomes a hint naming --batch-size and the limit."""
    error = _refusal({"category": "VALIDATION_ERROR", "message": "at most 100 inputs"})
    assert error.one_line() == (
        f"{WHAT} was refused: HubSpot answered 400 Bad Request: VALIDATION_ERROR: at most 100 "
        "inputs (lower --batch-size (HubSpot accepts at most 100 inputs per call))"
    )


def test_another_400_keeps_no_hint() -> None:
    """A 400 that says nothing of the batch size gets no --batch-size hint."""
    error = _refusal({"category": "VALIDATION_ERROR", "message": "Business unit 9 is unknown"})
    assert error.hint is None


@pytest.fixture
def hub(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Hub]:
    """An emulator accepting 2 inputs per call, and a project of 3 subscribers."""
    seed = {
        "version": 1,
        "portal": {"id": 4444, "created_at": "2024-01-01T00:00:00Z"},
        "definitions": [{"id": "11", "business_unit": 0, "name": "Newsletter"}],
        "tokens": [{"token": TOKEN, "name": "tests", "scopes": "all"}],
    }
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("HSPREFS_API_URL", API_URL)
    monkeypatch.delenv("HSPREFS_API_VERSION", raising=False)
    (tmp_path / "hsprefs.yaml").write_text(
        'version: 1\nsubscriptions:\n  newsletter: {id: "11"}\ninclude: [people.yaml]\n',
        encoding="utf-8",
    )
    people = "".join(f"  p{i}@example.com: {{newsletter: unsubscribed}}\n" for i in range(3))
    (tmp_path / "people.yaml").write_text(f"version: 1\nsubscribers:\n{people}", "utf-8")
    monkeypatch.chdir(tmp_path)
    app = create_app(EmulatorSettings(seed=seed, rate_limit=0, batch_limit=2))
    try:
        yield Hub(app, capsys, token=TOKEN)
    finally:
        app.state.emulator.close()


def test_plan_with_a_batch_over_the_limit_says_to_lower_batch_size(hub: Hub) -> None:
    """`plan --batch-size 3` against a limit of 2 ends with the --batch-size hint."""
    result = hub.hsprefs("plan", "--batch-size", "3")
    assert (result.code, result.out) == (1, "")
    assert re.fullmatch(
        r"hsprefs: error: could not read 3 of 3 subscribers; first error: "
        + re.escape(
            f"{WHAT} was refused: HubSpot answered 400 Bad Request: VALIDATION_ERROR: Too "
            "many inputs: 3 were sent and at most 2 are allowed (at most 2 inputs) (no plan "
            "is made from a partial read; lower --batch-size (HubSpot accepts at most 2 "
            "inputs per call))"
        )
        + r" \[correlationId [0-9a-f-]+\]\n",
        result.err,
    ), result.err
