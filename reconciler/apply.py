"""Apply: make HubSpot match a reviewed plan, journal every input, then verify.

Order (design §5): the unsubscribe-all calls, then the write calls in waves
(unsubscribes, not-specified, subscribes); the calls of one wave run concurrently and a
wave starts only when the one before has finished, so a partial failure leaves people
less subscribed, never more. Per-item failures do not stop the rest. An item counts as
applied only when the read-back shows it.

Every call here is idempotent (it sets a status), so the client's retries are safe and a
re-run converges.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reconciler.diff import consent_refusal
from reconciler.errors import (
    ApiError,
    PlanFileError,
    PolicyError,
    PortalMismatchError,
    StalePlanError,
)
from reconciler.journal import Journal
from reconciler.model import DesiredStatus, LiveState, Outcome, Status, WriteResult
from reconciler.plan import Call, Change, ChangeKind, Plan, iso, policy_violations
from reconciler.render.text import subscription_label

if TYPE_CHECKING:
    from reconciler.client import HubSpotClient

__all__ = [
    "ApplyReport",
    "ItemReport",
    "apply_plan",
    "check_consent",
    "check_policy",
    "check_stale",
    "check_target",
]


@dataclass(frozen=True, slots=True)
class ItemReport:
    """How one change ended: applied (verified), failed, unconfirmed or not sent."""

    change: Change
    state: str  # "applied" | "failed" | "unconfirmed" | "not_sent"
    detail: str | None = None
    correlation_id: str | None = None


@dataclass(frozen=True, slots=True)
class ApplyReport:
    items: tuple[ItemReport, ...] = ()
    calls_made: int = 0
    interrupted: bool = False
    journal_lines: int = 0
    implied_missing: tuple[str, ...] = field(default=())

    def of(self, state: str) -> list[ItemReport]:
        return [item for item in self.items if item.state == state]

    @property
    def ok(self) -> bool:
        return (
            not self.interrupted
            and all(item.state == "applied" for item in self.items)
            and not self.implied_missing
        )


def check_target(plan: Plan, portal_id: int, api_url: str, api_version: str) -> None:
    """Refuse a plan made for another portal or another API."""
    if plan.target.portal_id is not None and plan.target.portal_id != portal_id:
        raise PortalMismatchError(
            f"the plan was made for portal {plan.target.portal_id}, "
            f"but the token belongs to portal {portal_id}",
            hint="use the token of the portal the plan was made for",
        )
    if (plan.target.api_url, plan.target.api_version) != (api_url, api_version):
        raise PlanFileError(
            f"the plan was made against {plan.target.api_url} (API {plan.target.api_version}), "
            f"not {api_url} (API {api_version})",
            hint="apply it with the same --api-url and --api-version, or make a new plan",
        )


def _drift(change: Change, live: LiveState) -> str | None:
    """How the live values differ from the ones the change was computed from, if they do."""
    wide = live.opt_outs.get(change.subscriber)
    opted_out = wide is not None and wide.opted_out
    if change.kind is ChangeKind.UNSUBSCRIBE_ALL:
        return f"now opted out of all email of brand {change.brand}" if opted_out else None
    if opted_out != change.opted_out_all:
        return (
            f"now opted out of all email of brand {change.brand}"
            if opted_out
            else f"no longer opted out of all email of brand {change.brand}"
        )
    if opted_out and wide is not None and wide.timestamp != change.opt_out_timestamp:
        return (
            f"opted out of all email of brand {change.brand} again at {iso(wide.timestamp)} "
            f"(planned from {iso(change.opt_out_timestamp)})"
        )
    pair = change.pair
    assert pair is not None
    current = live.statuses.get(pair)
    status = current.status if current else Status.NOT_SPECIFIED
    stamp = current.timestamp if current else None
    if status is not change.before:
        return f"planned from {change.before.value}, now {status.value}"
    if stamp != change.live_timestamp:
        return f"changed at {iso(stamp)} (planned from {iso(change.live_timestamp)})"
    return None


def _what(change: Change) -> str:
    if change.subscription_id is None:
        return "unsubscribe-all"
    return subscription_label(change.alias, change.subscription_id)


def check_stale(plan: Plan, live: LiveState) -> None:
    """Refuse the plan when any touched subscriber changed since it was computed."""
    stale = [
        f"{change.email} {_what(change)}: {why}"
        for change in plan.changes
        if (why := _drift(change, live)) is not None
    ]
    if stale:
        more = f" and {len(stale) - 1} more" if len(stale) > 1 else ""
        raise StalePlanError(
            f"the plan is stale: {len(stale)} of {len(plan.changes)} changes no longer match "
            f"HubSpot ({stale[0]}{more})",
            hint="run 'hsprefs plan -o FILE' again, review it and apply the new plan",
        )


def check_consent(plan: Plan, live: LiveState) -> None:
    """Apply the consent rules again to every change, against a fresh read.

    ``hsprefs plan`` never emits a change they forbid; this catches a saved plan that was
    edited (its checksum is not a signature), so no file can undo an opt-out.
    """
    for change in plan.changes:
        pair = change.pair
        if pair is None:
            continue
        want = DesiredStatus(
            key=pair,
            status=change.after,
            alias=change.alias,
            resubscribe=change.resubscribe,
            consented_at=change.consented_at,
            legal_basis=change.legal_basis,
            legal_basis_explanation=change.legal_basis_explanation,
        )
        refusal = consent_refusal(want, live)
        if refusal is not None:
            raise PlanFileError(
                f"the plan asks for a change the consent rules forbid: {change.email} "
                f"{_what(change)} -> {change.after.value}: {refusal}",
                hint="hsprefs plan never makes such a change; make a new plan from the config",
            )


def check_policy(plan: Plan, *, allow_mass_change: bool) -> None:
    """The mass-change guard (design §6)."""
    problems = policy_violations(plan, plan.policy)
    if problems and not allow_mass_change:
        raise PolicyError(
            "refusing to apply: " + "; ".join(problems),
            hint="review the plan; if the change is intended, re-run with --allow-mass-change",
        )


async def apply_plan(
    plan: Plan,
    client: HubSpotClient,
    journal: Journal,
    *,
    stop: asyncio.Event | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ApplyReport:
    """Send the plan's calls wave by wave, journal each result, then verify by reading back.

    ``stop`` (set on Ctrl-C) lets the calls in flight finish and sends no new one.
    """
    stopper = stop or asyncio.Event()
    results: dict[int, WriteResult] = {}
    calls_made = 0
    for _kind, calls in plan.waves():
        if stopper.is_set():
            break
        # Wait for every call of the wave even when one fails hard (auth, daily cap):
        # each call journals its own results, so nothing sent goes unrecorded.
        outcomes = await asyncio.gather(
            *(_send(plan, call, client, journal, stopper) for call in calls),
            return_exceptions=True,
        )
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if failures:
            raise failures[0]
        for done in outcomes:
            if done is None or isinstance(done, BaseException):
                continue
            calls_made += 1
            results.update(done)
            if on_progress is not None:
                on_progress(len(done))
    try:
        live = await client.read(plan.touched()) if results else LiveState()
    except ApiError as exc:
        # Everything sent is journalled; without a read-back nothing counts as applied.
        items = [
            ItemReport(change, "unconfirmed", f"could not read back: {exc.one_line()}")
            if index in results
            else ItemReport(change, "not_sent", "not sent: the apply was interrupted")
            for index, change in enumerate(plan.changes)
        ]
        return ApplyReport(
            items=tuple(items),
            calls_made=calls_made,
            interrupted=stopper.is_set(),
            journal_lines=journal.lines,
        )
    items = [
        _judge(change, results.get(index), live, sent=index in results)
        for index, change in enumerate(plan.changes)
    ]
    missing = tuple(
        f"{key.email} {key.subscription_id}"
        for key in plan.implied
        if any(i.state == "applied" and i.change.subscriber == key.subscriber for i in items)
        and live.status_of(key) is not Status.UNSUBSCRIBED
    )
    return ApplyReport(
        items=tuple(items),
        calls_made=calls_made,
        interrupted=stopper.is_set(),
        journal_lines=journal.lines,
        implied_missing=missing,
    )


async def _send(
    plan: Plan, call: Call, client: HubSpotClient, journal: Journal, stop: asyncio.Event
) -> dict[int, WriteResult] | None:
    if stop.is_set():
        return None
    changes = [plan.changes[i] for i in call.changes]
    answers: Sequence[WriteResult]
    try:
        if call.operation == "unsubscribe-all":
            answers = await client.unsubscribe_all([c.subscriber for c in changes])
        else:
            answers = await client.write([c.to_write() for c in changes])
    except ApiError as exc:
        # A refusal that stops the apply (401, 403, the daily cap) is still an answer to
        # inputs that were sent: the journal records each of them before it propagates.
        refused = [
            (
                change,
                WriteResult(
                    change.to_write() if change.pair else change.subscriber,
                    Outcome.FAILED,
                    error=exc.one_line(),
                    correlation_id=exc.correlation_id,
                ),
            )
            for change in changes
        ]
        journal.record(refused, call.operation)
        raise
    journal.record(list(zip(changes, answers, strict=True)), call.operation)
    return dict(zip(call.changes, answers, strict=True))


def _judge(
    change: Change, result: WriteResult | None, live: LiveState, *, sent: bool
) -> ItemReport:
    if not sent or result is None:
        return ItemReport(change, "not_sent", "not sent: the apply was interrupted")
    if change.kind is ChangeKind.UNSUBSCRIBE_ALL:
        reached = live.opted_out(change.subscriber)
        shown = "opted out of all" if reached else "not opted out of all"
    else:
        pair = change.pair
        assert pair is not None
        reached = live.status_of(pair) is change.after
        shown = live.status_of(pair).value
        if change.kind is ChangeKind.SUBSCRIBE and live.opted_out(change.subscriber):
            # Subscribed on paper means nothing while the opt-out of all stands.
            reached = False
            shown += f", still opted out of all email of brand {change.brand}"
    if reached:
        return ItemReport(change, "applied", result.reason, result.correlation_id)
    if result.outcome is Outcome.FAILED:
        return ItemReport(
            change, "failed", result.error or "HubSpot reported an error", result.correlation_id
        )
    if result.outcome is Outcome.CONFIRMED:
        detail = f"HubSpot confirmed the write, but the read-back shows {shown}"
        return ItemReport(change, "failed", detail, result.correlation_id)
    detail = result.error or "HubSpot did not confirm it"
    return ItemReport(
        change, "unconfirmed", f"{detail}; the read-back shows {shown}", result.correlation_id
    )
