"""The suite-wide judge (``judging.py``): it sees every emulator's answers and fails tests.

These tests take what the plugin recorded out of its sink themselves (``settle``), so
the off-spec answers they provoke on purpose are judged here and not again after them.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import reconciler.emulator
from reconciler.emulator import DEFAULT_TOKEN, EmulatorSettings, serve_in_thread
from reconciler.emulator.wire import Reply

from .conftest import missing_specs_reason
from .judging import (
    SINK,
    fail_off_spec,
    missing_specs_line,
    off_spec,
    record_response,
    settle,
)
from .openapi import Exchange, specs_dir

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
DEFINITIONS = "/communication-preferences/2026-03/definitions"


@pytest.fixture
def off_spec_app() -> Iterator[httpx.Client]:
    """An emulator (made the way any test makes one) whose /definitions answers off-spec."""
    app = reconciler.emulator.create_app(EmulatorSettings(rate_limit=0))
    for route in app.routes:
        if getattr(route, "name", "") == "2026-03:definitions":
            route.endpoint.handler = lambda call: Reply(200, {"status": "COMPLETE", "results": 7})
    with serve_in_thread(app=app) as url, httpx.Client(base_url=url, headers=AUTH) as client:
        yield client


def _definitions(exchanges: list[Exchange]) -> list[tuple[str, int]]:
    return [(e.path, e.status) for e in exchanges if e.path == DEFINITIONS]


def test_apps_from_create_app_are_recorded() -> None:
    """An emulator from reconciler.emulator.create_app records what it answers."""
    SINK.take()
    app = reconciler.emulator.create_app(EmulatorSettings(rate_limit=0))
    try:
        with serve_in_thread(app=app) as url:
            httpx.get(f"{url}{DEFINITIONS}", headers=AUTH)
    finally:
        app.state.emulator.close()
    assert _definitions(SINK.take()) == [(DEFINITIONS, 200)]


def test_serve_in_thread_apps_are_recorded() -> None:
    """serve_in_thread(settings) builds its own app; its answers are recorded too."""
    SINK.take()
    with serve_in_thread(EmulatorSettings(rate_limit=0)) as url:
        httpx.get(f"{url}{DEFINITIONS}", headers=AUTH)
    assert _definitions(SINK.take()) == [(DEFINITIONS, 200)]


def test_a_subprocess_answer_is_handed_in_whole() -> None:
    """record_response turns an httpx answer into the exchange the judge reads."""
    SINK.take()
    request = httpx.Request("GET", f"http://127.0.0.1:1{DEFINITIONS}?businessUnitId=5")
    body = b'{"results":[]}'  # given as bytes: httpx's own JSON spacing differs by version
    answer = httpx.Response(
        200, content=body, headers={"content-type": "application/json"}, request=request
    )
    record_response(answer)
    assert SINK.take() == [
        Exchange(
            method="GET",
            path=DEFINITIONS,
            query="businessUnitId=5",
            status=200,
            content_type="application/json",
            body=b'{"results":[]}',
        )
    ]


@pytest.mark.spec
def test_an_off_spec_answer_is_caught(
    off_spec_app: httpx.Client, request: pytest.FixtureRequest, specs: object
) -> None:
    """An answer off its operation's schema is reported with the path and the problem."""
    SINK.take()
    assert off_spec_app.get(DEFINITIONS).status_code == 200
    [problem] = settle(request.node)
    assert problem.startswith(
        f"GET {DEFINITIONS} -> 200 [GET /communication-preferences/2026-03/definitions 200]:"
    )
    assert "  - results: 7 is not of type 'array'" in problem


@pytest.mark.spec
@pytest.mark.emulator_off_spec("this test provokes an off-spec answer on purpose")
def test_the_marker_leaves_a_test_unjudged(
    off_spec_app: httpx.Client, request: pytest.FixtureRequest, specs: object
) -> None:
    """A test marked emulator_off_spec is not judged (and so does not fail)."""
    SINK.take()
    assert off_spec_app.get(DEFINITIONS).status_code == 200
    assert settle(request.node) == []
    assert SINK.take() == []


def test_off_spec_answers_fail_the_test_naming_each() -> None:
    """The failure lists how many answers are off-spec and each description."""
    with pytest.raises(pytest.fail.Exception) as caught:
        fail_off_spec(["GET /x -> 200:\n  - a", "GET /y -> 200:\n  - b"])
    assert str(caught.value) == (
        "2 emulator answer(s) off HubSpot's spec:\nGET /x -> 200:\n  - a\nGET /y -> 200:\n  - b"
    )


@pytest.mark.spec
def test_on_spec_answers_pass(specs: object) -> None:
    """A well-formed error answer on an unknown path is no problem."""
    body = (
        b'{"status":"error","message":"m","correlationId":'
        b'"0b0c6d5e-4a1f-4f2e-9a0e-7d9c7f1f2a3b","category":"OBJECT_NOT_FOUND"}'
    )
    exchange = Exchange(
        "GET", "/communication-preferences/2026-03/nope", "", 404, "application/json", body
    )
    assert off_spec([exchange]) == []


def test_missing_specs_are_named_with_the_place_looked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without specs the run says, in one line, that answers are not judged and why."""
    monkeypatch.setenv("HSPREFS_SPECS", "/nowhere/specs")
    assert specs_dir().as_posix() == "/nowhere/specs"
    assert missing_specs_line() == (
        "emulator answers: NOT judged against HubSpot's specs, which are not at "
        "/nowhere/specs (they sit beside the checkout in .ci/run, or set HSPREFS_SPECS)"
    )
    assert "/nowhere/specs" in missing_specs_reason()
