"""engine.apply_fresh and engine.apply_saved called as a library, without the CLI: the
safety order, what they tell their caller, and the errors they raise."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from reconciler import config
from reconciler.client import HubSpotClient, RetryPolicy
from reconciler.emulator import DEFAULT_TOKEN
from reconciler.engine import ApplyEvents, apply_fresh, apply_saved, build_plan
from reconciler.errors import ApplyError, PolicyError, PortalMismatchError, StalePlanError
from reconciler.outcome import ApplyReport
from reconciler.plan import Plan, Target
from reconciler.settings import ApiSettings
from tests.cli_hub import API_URL, Hub
from tests.flow.apply_support import write_calls

T = TypeVar("T")
SETTINGS = ApiSettings(
    api_url=API_URL, api_version="2026-03", token=DEFAULT_TOKEN, rate_limit=None
)  # fmt: skip
CAROL_UNSUBSCRIBES = {
    "inputs": [
        {
            "subscriberIdString": "carol@example.com",
            "subscriptionId": 103,
            "statusState": "UNSUBSCRIBED",
            "channel": "EMAIL",
        }
    ]
}


class Recorder(ApplyEvents):
    """Every event, in order, as a short word."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def phase(self, label: str, total: int, *, reads: bool) -> None:
        self.seen.append(f"phase {label} ({total})")

    def planned(self, plan: Plan) -> None:
        self.seen.append(f"planned {len(plan.changes)}")

    def applying(self, plan: Plan) -> None:
        self.seen.append("applying")

    def stoppable(
        self, stop: asyncio.Event, hurry: asyncio.Event | None = None
    ) -> contextlib.AbstractContextManager[Sequence[str]]:
        self.seen.append("stoppable")
        return contextlib.nullcontext(())

    def finished(self, report: ApplyReport, *, signal: str) -> None:
        self.seen.append(f"finished {len(report.items)} {signal}")


def with_client(hub: Hub, work: Callable[[HubSpotClient], Awaitable[T]]) -> T:
    async def go() -> T:
        transport = httpx.ASGITransport(app=hub.app)
        async with HubSpotClient.from_settings(
            SETTINGS, transport=transport, retry=RetryPolicy.instant()
        ) as client:
            return await work(client)

    return asyncio.run(go())


@contextlib.contextmanager
def raises_before_sending(hub: Hub, error: type[Exception]) -> Iterator[None]:
    """The block raises ``error`` and HubSpot got no write."""
    hub.reset_counts()
    with pytest.raises(error):
        yield
    assert write_calls(hub) == {"statuses.batch.write": 0, "statuses.batch.unsubscribe_all": 0}


def test_apply_fresh_runs_the_safety_order(hub: Hub, project: Path) -> None:
    """Read, show the plan, ask, re-read, then send and verify, telling each step."""
    events = Recorder()
    asked: list[int] = []

    def confirm(plan: Plan) -> bool:
        asked.append(len(plan.changes))
        return True

    report = with_client(
        hub,
        lambda client: apply_fresh(
            config.load(()), client, journal=project / "j.jsonl", confirm=confirm, events=events
        ),
    )
    assert report is not None and report.ok
    assert asked == [8]
    assert events.seen == [
        "phase Reading HubSpot (11)",
        "planned 8",
        "phase Checking the plan is current (7)",
        "applying",
        "phase Applying (8)",
        "stoppable",
        "phase Verifying (7)",
        "finished 8 SIGINT",
    ]


def test_apply_fresh_without_confirm_does_not_read_again(hub: Hub, project: Path) -> None:
    """confirm=None is an approval given up front: the plan's own read is current."""
    events = Recorder()
    with_client(
        hub,
        lambda client: apply_fresh(
            config.load(()), client, journal=project / "j.jsonl", confirm=None, events=events
        ),
    )
    assert "phase Checking the plan is current (7)" not in events.seen


def test_a_declined_confirmation_is_an_apply_error(hub: Hub, project: Path) -> None:
    """Saying no sends nothing, writes no journal, and raises ApplyError without a report."""
    with raises_before_sending(hub, ApplyError):
        with_client(
            hub,
            lambda client: apply_fresh(
                config.load(()), client, journal=project / "j.jsonl", confirm=lambda _p: False
            ),
        )
    assert not (project / "j.jsonl").exists()


def test_the_guard_comes_before_the_confirmation(hub: Hub, project: Path) -> None:
    """A plan over the mass-change thresholds is refused before anyone is asked."""
    path = project / "hsprefs.yaml"
    path.write_text(path.read_text().replace("max_unsubscribe_all: 5", "max_unsubscribe_all: 0"))
    asked: list[Plan] = []
    with raises_before_sending(hub, PolicyError):
        with_client(
            hub,
            lambda client: apply_fresh(
                config.load(()),
                client,
                journal=project / "j.jsonl",
                confirm=lambda plan: bool(asked.append(plan)),
            ),
        )
    assert asked == []


def _saved_plan(hub: Hub) -> Plan:
    return with_client(hub, lambda client: build_plan(config.load(()), client))


def test_apply_saved_refuses_a_stale_plan(hub: Hub, project: Path) -> None:
    """A change in HubSpot after the plan was made stops apply_saved before any write."""
    plan = _saved_plan(hub)
    assert hub.api("POST", "/communication-preferences/2026-03/statuses/batch/write",
                   CAROL_UNSUBSCRIBES).status_code == 200  # fmt: skip
    with raises_before_sending(hub, StalePlanError):
        with_client(hub, lambda client: apply_saved(plan, client, journal=project / "j.jsonl"))


def test_apply_saved_refuses_a_plan_of_another_portal(hub: Hub, project: Path) -> None:
    """The target check is the first step: nothing is read but the portal."""
    plan = _saved_plan(hub)
    other = Plan(
        changes=plan.changes,
        blocked=plan.blocked,
        unchanged=plan.unchanged,
        managed=plan.managed,
        implied=plan.implied,
        batch_size=plan.batch_size,
        target=Target(portal_id=99, api_url=API_URL, api_version="2026-03"),
        policy=plan.policy,
    )
    with raises_before_sending(hub, PortalMismatchError):
        with_client(hub, lambda client: apply_saved(other, client, journal=project / "j.jsonl"))
    assert hub.counts() == {"account_info": 1}


def test_apply_saved_returns_the_verified_report(hub: Hub, project: Path) -> None:
    """A current plan is applied and verified, and the report says so for every change."""
    plan = _saved_plan(hub)
    report = with_client(hub, lambda client: apply_saved(plan, client, journal=project / "j.jsonl"))
    assert report is not None and report.ok
    assert len(report.items) == len(plan.changes) == 8
