"""Apply never undoes an opt-out: the consent rules hold again when a plan is applied.

A plan is checked once more against a fresh read (the stale check and the consent
re-check), so a change in HubSpot since the plan, a plan edited by hand or an alias
pointing into another brand cannot move anyone away from an opt-out, while an
evidenced resubscribe still applies.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply import apply_plan
from reconciler.diff import diff
from reconciler.errors import StalePlanError
from reconciler.journal import Journal, JournalContext
from reconciler.model import LiveState, LiveStatus, Outcome, PairKey, StatusWrite, WriteResult
from reconciler.plan import Change, ChangeKind, Plan
from reconciler.planfile import load_plan, save_plan
from reconciler.preflight import check_stale
from tests.flow.apply_support import write_calls
from tests.flow.conftest import Hub
from tests.plan.builders import EMAIL, S, U, at, desired, live, live_status, want

WIDE_READ = "/communication-preferences/2026-03/statuses/batch/unsubscribe-all/read"
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


def test_opt_out_of_all_after_the_plan_makes_it_stale(hub: Hub, project: Path) -> None:
    """alice opts out of all after the plan: apply --plan refuses and writes nothing."""
    assert hub.hsprefs("plan", "-o", "plan.json").code == 0
    path = "/communication-preferences/2026-03/statuses/batch/unsubscribe-all"
    assert hub.api("POST", path, {"inputs": ["alice@example.com"]}, channel="EMAIL").is_success
    hub.reset_counts()
    result = hub.hsprefs("apply", "--plan", "plan.json")
    assert result.code == 1
    assert "the plan is stale" in result.err
    assert write_calls(hub) == {"statuses.batch.write": 0, "statuses.batch.unsubscribe_all": 0}


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


class _StillOptedOut:
    """A client whose writes fail and whose read-back shows the subscriber still opted out."""

    async def write(
        self,
        writes: Sequence[StatusWrite],
        *,
        stop: asyncio.Event | None = None,
        on_leave: Callable[[Sequence[int]], bool] | None = None,
    ) -> list[WriteResult]:
        if on_leave is not None:
            on_leave(range(len(writes)))
        return [WriteResult(w, Outcome.FAILED, error="refused") for w in writes]

    async def read(
        self, subscribers: Mapping[int, Sequence[str]], *, hurry: object = None, keep: object = None
    ) -> LiveState:
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
