"""Review of issues 7 and 8: consent-safety findings in plan and apply.

Each ``xfail(strict=True)`` test shows a bug that is still open: it fails today and
will XPASS (turning the suite red) once the bug is fixed, so the marker has to come off
along with the fix. The unmarked tests cover paths the existing tests left unchecked.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.apply import apply_plan, check_stale
from reconciler.diff import diff
from reconciler.emulator import EmulatorSettings, create_app
from reconciler.errors import StalePlanError
from reconciler.journal import Journal, JournalContext
from reconciler.model import LiveState, LiveStatus, Outcome, PairKey, StatusWrite, WriteResult
from reconciler.plan import Change, ChangeKind, Plan
from reconciler.planfile import load_plan, render_json, save_plan
from reconciler.redact import Redactor
from tests.flow.conftest import SEED, Hub
from tests.plan.builders import EMAIL, N, S, U, at, desired, live, live_status, want

WIDE_READ = "/communication-preferences/2026-03/statuses/batch/unsubscribe-all/read"
WRITE_OPS = ("statuses.batch.write", "statuses.batch.unsubscribe_all")
BASIS = {"basis": "CONSENT_WITH_NOTICE", "explanation": "form #88"}

# judy is opted out of all email of brand 5 since 2026-05-09 (examples/emulator-seed.yaml).
JUDY_RESUBSCRIBES = """version: 1
business_unit: 5
defaults:
  legal_basis: LEGITIMATE_INTEREST_CLIENT
  legal_basis_explanation: "Existing customer of the outdoor shop"
subscribers:
  judy@example.com:
    outdoor-news:
      status: subscribed
      resubscribe: true
      consented_at: 2026-06-01
      legal_basis: LEGITIMATE_INTEREST_CLIENT
      legal_basis_explanation: "Renewed consent at the shop counter, 2026-06-01"
"""


def _opted_out_of_all(hub: Hub, email: str, brand: int) -> bool:
    answer = hub.api("POST", WIDE_READ, {"inputs": [email]}, channel="EMAIL", businessUnitId=brand)
    wide = answer.json()["results"][0]["wideStatuses"]
    return any(w["status"] == "UNSUBSCRIBED" for w in wide)


def _write_calls(hub: Hub) -> dict[str, int]:
    counts = hub.counts()
    return {op: counts.get(op, 0) for op in WRITE_OPS}


# -- bugs ---------------------------------------------------------------------------------


def test_id_alias_of_another_brand_never_clears_an_opt_out_of_all(hub: Hub, project: Path) -> None:
    """A SUBSCRIBED write must never reach someone opted out of all in the subscription's brand."""
    config = project / "hsprefs.yaml"
    text = config.read_text().replace('product: {name: "Product Updates"}', 'product: {id: "102"}')
    # 201 is Outdoor News of brand 5; the alias forgets business_unit: 5.
    config.write_text(
        text.replace('  events: {id: "103"}', '  events: {id: "103"}\n  shop: {id: "201"}')
    )
    (project / "subscribers" / "shop.yaml").write_text(
        "version: 1\nbusiness_unit: 0\n"
        "defaults: {legal_basis: CONSENT_WITH_NOTICE, legal_basis_explanation: Website}\n"
        "subscribers:\n  judy@example.com:\n    shop: subscribed\n"
    )
    assert _opted_out_of_all(hub, "judy@example.com", 5)
    result = hub.hsprefs("apply", "--auto-approve", "--allow-mass-change")
    assert "judy@example.com" not in json.dumps(hub.writes())
    assert _opted_out_of_all(hub, "judy@example.com", 5)
    assert result.code == 1


def test_saved_resubscribe_after_opt_out_of_all_applies(hub: Hub, project: Path) -> None:
    """An evidenced resubscribe of someone opted out of all applies from a saved plan."""
    (project / "subscribers" / "outdoor.yaml").write_text(JUDY_RESUBSCRIBES)
    assert hub.hsprefs("plan", "-o", "plan.json").code == 0
    result = hub.hsprefs("apply", "--plan", "plan.json", "--allow-mass-change")
    assert (result.code, result.err) == (0, "")
    assert not _opted_out_of_all(hub, "judy@example.com", 5)


def test_new_opt_out_makes_a_plan_without_timestamp_stale() -> None:
    """UNSUBSCRIBED without a time at plan time, UNSUBSCRIBED again since: the plan is stale."""
    pair = PairKey(0, EMAIL, "101")
    change = Change(
        kind=ChangeKind.SUBSCRIBE,
        brand=0,
        email=EMAIL,
        subscription_id="101",
        after=S,
        before=U,
        live_timestamp=None,  # HubSpot gave no time for the opt-out the plan saw
        legal_basis="CONSENT_WITH_NOTICE",
        legal_basis_explanation="form #88",
        resubscribe=True,
    )
    now = LiveState(statuses={pair: LiveStatus(pair, U, timestamp=at("2026-10-01"))})
    with pytest.raises(StalePlanError):
        check_stale(Plan(changes=(change,)), now)


def test_edited_plan_with_recomputed_checksum_cannot_undo_an_opt_out(
    hub: Hub, project: Path
) -> None:
    """A saved plan turned by hand (checksum recomputed) into frank's resubscribe is refused."""
    assert hub.hsprefs("plan", "-o", "plan.json").code == 0
    plan = load_plan(project / "plan.json")
    (frank,) = plan.blocked
    forged = Change(
        kind=ChangeKind.SUBSCRIBE,
        brand=frank.brand,
        email=frank.email,
        subscription_id=frank.subscription_id,
        after=S,
        before=U,
        alias=frank.alias,
        live_timestamp=frank.live_timestamp,
        legal_basis="CONSENT_WITH_NOTICE",
        legal_basis_explanation="Signed up on the website",
    )
    edited = dataclasses.replace(plan, changes=(*plan.changes, forged), blocked=())
    save_plan(edited, project / "plan.json", created_at=at("2026-11-23"))
    result = hub.hsprefs("apply", "--plan", "plan.json")
    assert "frank@example.com" not in json.dumps(hub.writes())
    assert result.code == 1


def test_inputs_refused_for_a_missing_scope_are_journalled(
    hub: Hub, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refused unsubscribe-all is in the journal with HubSpot's error."""
    seed: dict[str, Any] = yaml.safe_load(SEED.read_text())
    scopes = ["communication_preferences.read", "communication_preferences.statuses.batch.read"]
    seed["tokens"].append({"token": "read-only-token", "name": "auditor", "scopes": scopes})
    other = create_app(EmulatorSettings(seed=seed, rate_limit=0))
    hub.app, original = other, hub.app
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "read-only-token")
    try:
        assert hub.hsprefs("apply", "--auto-approve").code == 1
    finally:
        hub.app = original
        other.state.emulator.close()
    lines = [json.loads(x) for x in (project / ".hsprefs/journal.jsonl").read_text().splitlines()]
    assert [(x["operation"], x["subscriber"], x["outcome"]) for x in lines] == [
        ("unsubscribe-all", "bob@example.com", "failed")
    ]
    assert "communication_preferences.statuses.batch.write" in lines[0]["error"]


def test_redacted_json_masks_addresses_inside_explanations() -> None:
    """No address survives --redact, wherever the config put it."""
    entry = want(
        S, basis="CONSENT_WITH_NOTICE", explanation="Confirmed by mail from pat@example.com"
    )
    out = render_json(diff(desired(entry), live()), redactor=Redactor(key=b"k" * 32))
    assert "pat@example.com" not in out


def test_plan_redact_masks_addresses_in_the_error_line(hub: Hub, project: Path) -> None:
    """With --redact, an error that names a subscriber shows the mask, not the address."""
    path = project / "subscribers" / "customers.yaml"
    contradiction = "    unsubscribe_all: true\n    events: subscribed\n#"
    path.write_text(
        path.read_text().replace("    unsubscribe_all: true          # asked", contradiction)
    )
    result = hub.hsprefs("plan", "--redact")
    assert result.code == 1
    assert "is subscribed to 'events' but has unsubscribe_all" in result.err
    assert "bob@example.com" not in result.err


class _StillOptedOut:
    """A client whose writes fail and whose read-back shows the subscriber still opted out."""

    async def write(
        self, writes: Sequence[StatusWrite], *, stop: asyncio.Event | None = None
    ) -> list[WriteResult]:
        return [WriteResult(w, Outcome.FAILED, error="refused") for w in writes]

    async def read(self, subscribers: Mapping[int, Sequence[str]]) -> LiveState:
        return live(live_status(S), opted_out={(0, EMAIL): "2026-07-01"})


def test_subscribe_is_not_applied_while_the_opt_out_of_all_remains(tmp_path: Path) -> None:
    """An evidenced subscribe past an opt-out of all is applied only once the opt-out is gone."""
    entry = want(S, resubscribe=True, consented_at="2026-08-01", **BASIS)  # type: ignore[arg-type]
    plan = diff(desired(entry), live(live_status(S), opted_out={(0, EMAIL): "2026-07-01"}))
    assert [c.kind for c in plan.changes] == [ChangeKind.SUBSCRIBE]
    client: Any = _StillOptedOut()
    with Journal(tmp_path / "j.jsonl", JournalContext(plan.checksum, 1)) as journal:
        report = asyncio.run(apply_plan(plan, client, journal))
    assert [item.state for item in report.items] == ["failed"]
    assert not report.ok


# -- coverage the existing tests lacked (these pass) ----------------------------------------


def test_not_specified_under_unsubscribe_all_is_blocked() -> None:
    """A status other than unsubscribed next to unsubscribe_all: true is blocked, not written."""
    plan = diff(desired(want(N), opt_outs={(0, EMAIL): True}), live(live_status(S)))
    assert [c.kind for c in plan.changes] == [ChangeKind.UNSUBSCRIBE_ALL]
    (blocked,) = plan.blocked
    assert blocked.reason.startswith("contradicts unsubscribe_all: true")


def test_opt_out_of_all_after_the_plan_makes_it_stale(hub: Hub, project: Path) -> None:
    """alice opts out of all after the plan: apply --plan refuses and writes nothing."""
    assert hub.hsprefs("plan", "-o", "plan.json").code == 0
    path = "/communication-preferences/2026-03/statuses/batch/unsubscribe-all"
    assert hub.api("POST", path, {"inputs": ["alice@example.com"]}, channel="EMAIL").is_success
    hub.reset_counts()
    result = hub.hsprefs("apply", "--plan", "plan.json")
    assert result.code == 1
    assert "the plan is stale" in result.err
    assert _write_calls(hub) == {"statuses.batch.write": 0, "statuses.batch.unsubscribe_all": 0}


def test_write_calls_are_minimal_with_small_batches_and_two_brands(hub: Hub, project: Path) -> None:
    """Batch 2: ⌈6 writes / 2⌉ = 3 write calls, and one unsubscribe-all call per brand."""
    path = project / "subscribers" / "outdoor.yaml"
    path.write_text(
        path.read_text().replace(
            "  ivan@example.com:\n", "  ivan@example.com:\n    unsubscribe_all: true\n"
        )
    )
    hub.reset_counts()
    result = hub.hsprefs("apply", "--auto-approve", "--batch-size", "2")
    assert result.code == 0, result.err
    assert "Applied and verified: 8 of 8 changes (5 calls)." in result.out
    assert _write_calls(hub) == {"statuses.batch.write": 3, "statuses.batch.unsubscribe_all": 2}
