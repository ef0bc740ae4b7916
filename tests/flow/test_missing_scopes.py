"""A 403 MISSING_SCOPES is said once: on the error line of plan and apply (naming the
scope and what to do), on doctor's failing check lines; never again in a report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from reconciler.emulator import EmulatorSettings, create_app
from tests.cli_hub import Hub, point_at_emulator
from tests.flow.apply_support import masked
from tests.flow.conftest import SEED

READ_SCOPES = "communication_preferences.read, communication_preferences.read_write"
MISSING_READ = (
    "hsprefs: error: the token lacks scopes for GET /communication-preferences/2026-03/"
    f"definitions: {READ_SCOPES} (HubSpot answered 403 Forbidden: MISSING_SCOPES: This app "
    "hasn't been granted all required scopes to make this call. Read more about required "
    "scopes here: https://developers.hubspot.com/scopes. (One or more of the following "
    "scopes are required.)) (add the scopes to the Service Key or private app and use its "
    "token) [correlationId <cid>]\n"
)


@pytest.fixture
def scoped(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    """The example portal with a token of no communication-preferences scope ("crm")
    and one that reads but cannot write ("reader")."""
    seed = yaml.safe_load(SEED.read_text(encoding="utf-8"))
    seed["tokens"] += [
        {"token": "crm-token", "name": "crm", "scopes": ["crm.objects.contacts.read"]},
        {"token": "reader-token", "name": "reader", "scopes": ["communication_preferences.read"]},
    ]
    point_at_emulator(monkeypatch, "crm-token")
    app = create_app(EmulatorSettings(seed=seed, rate_limit=0))
    try:
        yield Hub(app, capsys, token="crm-token")
    finally:
        app.state.emulator.close()


def test_plan_names_the_missing_scope_once(scoped: Hub, project: Path) -> None:
    """plan: nothing on stdout, one error line naming the scopes and what to do."""
    result = scoped.hsprefs("plan")
    assert (result.code, result.out) == (1, "")
    assert masked(result.err) == MISSING_READ


def test_apply_names_the_missing_read_scope_once(scoped: Hub, project: Path) -> None:
    """apply, refused at its first read: the error line alone."""
    result = scoped.hsprefs("apply", "--auto-approve", "--journal", "j.jsonl")
    assert (result.code, result.out) == (1, "")
    assert masked(result.err) == MISSING_READ


def test_apply_names_the_missing_write_scope_once(
    scoped: Hub, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """apply with a token that reads but cannot write: the report points to the error
    line, which alone names the write scopes and what to do."""
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "reader-token")
    result = scoped.hsprefs("apply", "--auto-approve", "--journal", "j.jsonl")
    assert result.code == 1
    out = result.out[result.out.index("Applied and verified") :]
    stopped = "the apply stopped before it was sent"
    assert out == (
        "Applied and verified: 0 of 8 changes (1 of 8 calls sent).\n"
        "  Failed: 1\n"
        "    bob@example.com unsubscribe-all (brand 0): refused: see the error line below\n"
        "  Not sent: 7\n"
        f"    alice@example.com product (102) -> UNSUBSCRIBED: {stopped}\n"
        f"    alice@example.com newsletter (101) -> SUBSCRIBED: {stopped}\n"
        f"    carol@example.com events (103) -> NOT_SPECIFIED: {stopped}\n"
        f"    dave@example.com events (103) -> SUBSCRIBED: {stopped}\n"
        f"    erin@example.com newsletter (101) -> SUBSCRIBED: {stopped}\n"
        f"    alice@example.com outdoor-news (201) -> SUBSCRIBED: {stopped}\n"
        f"    ivan@example.com outdoor-news (201) -> UNSUBSCRIBED: {stopped}\n"
        "Stopped: HubSpot refused a call in a way that stops the apply, so no further call "
        "was sent (see the error line below: it says why and what to do).\n"
        "Journal: j.jsonl (1 line written)\n"
        "What is left: make a new plan with 'hsprefs plan -o FILE', review it and apply it "
        "with 'hsprefs apply --plan FILE' (or run 'hsprefs apply', which plans afresh and "
        "asks).\n"
    )
    assert masked(result.err) == (
        "hsprefs: error: the token lacks scopes for POST /communication-preferences/2026-03/"
        "statuses/bob@example.com/unsubscribe-all: communication_preferences.read_write, "
        "communication_preferences.write (HubSpot answered 403 Forbidden: MISSING_SCOPES: "
        "This app hasn't been granted all required scopes to make this call. Read more about "
        "required scopes here: https://developers.hubspot.com/scopes. (One or more of the "
        "following scopes are required.)) (add the scopes to the Service Key or private app "
        "and use its token) [correlationId <cid>]\n"
    )
    assert (result.out + result.err).count("communication_preferences.write") == 1


def test_doctor_names_the_missing_scope_on_its_checks_only(scoped: Hub, project: Path) -> None:
    """doctor: each failing check names the scope it lacks; the error line only counts
    the checks that failed, without repeating them."""
    result = scoped.hsprefs("doctor")
    assert result.code == 1
    lacks = (
        f"answered 403: the token lacks {READ_SCOPES}; add the scope to a Service Key "
        "(Settings > Integrations > Service Keys) or a private app's token, then use its new "
        "token"
    )
    lines = result.out.splitlines()
    assert lines[3:7] == [
        f"fail  read scope: GET /definitions {lacks}",
        f"fail  status read scope: GET /statuses/{{email}} and /statuses/{{email}}/unsubscribe-all "
        f"{lacks}",
        "skip  API mode: not checked: the reads failed",
        "fail  write scope: HubSpot named communication_preferences.read_write as missing; add "
        "it to a Service Key (Settings > Integrations > Service Keys) or a private app's token; "
        "apply cannot write without it",
    ]
    assert result.err == (
        "hsprefs: error: doctor: 3 of 10 checks failed (read scope, status read scope, write "
        "scope) (see the checks above)\n"
    )
