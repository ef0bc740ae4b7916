"""The checks before apply sends anything: the plan's target and API mode, staleness,
the consent rules against the live values, and the mass-change guard.

Each raises the error that refuses the plan (docs/architecture.md#apply-order);
:func:`already_applied` sets aside the changes HubSpot already shows, so a re-run after a
crash converges instead of being refused as stale.
"""

from __future__ import annotations

from reconciler.diff import consent_refusal, newer_change
from reconciler.errors import PlanFileError, PolicyError, PortalMismatchError, StalePlanError
from reconciler.model import DesiredStatus, LiveState
from reconciler.plan import Change, ChangeKind, Plan, iso, policy_violations, subscription_label

__all__ = [
    "already_applied",
    "check_consent",
    "check_mode",
    "check_policy",
    "check_stale",
    "check_target",
    "shows",
]


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


def check_mode(plan: Plan, api_mode: str) -> None:
    """Refuse ``--api-mode batch|single`` (or ``HSPREFS_API_MODE``) that is not the mode the
    plan was read in: its calls were packed for that mode."""
    if api_mode not in ("auto", plan.target.api_mode):
        raise PlanFileError(
            f"the plan was made in {plan.target.api_mode} mode, but the API mode is {api_mode}",
            hint="apply it without --api-mode (it uses the plan's mode), or make a new plan",
        )


def _drift(change: Change, live: LiveState) -> str | None:
    """How the live values differ from the ones the change was computed from, if they do."""
    wide = live.opt_outs.get(change.subscriber)
    opted_out = live.opted_out(change.subscriber)
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
    status = live.status_of(pair)
    stamp = current.timestamp if current else None
    if status is not change.before:
        return f"planned from {change.before.value}, now {status.value}"
    if current is not None and current.never_set:
        # Still as nobody set it: its timestamp may be the moment of this very read.
        return None
    if stamp != change.live_timestamp:
        return f"changed at {iso(stamp)} (planned from {iso(change.live_timestamp)})"
    return None


def _what(change: Change) -> str:
    if change.subscription_id is None:
        return "unsubscribe-all"
    return subscription_label(change.alias, change.subscription_id)


def already_applied(plan: Plan, live: LiveState) -> tuple[tuple[Change, ...], Plan]:
    """Split a plan by a fresh read: the changes HubSpot already shows (their live
    status equals their planned outcome) and a plan of the rest.

    Re-applying a plan after it, or part of it, was applied (a retried CI job, a rerun
    after a crash) then converges: what is done is skipped and reported, and only the
    rest must still match its planned starting point (:func:`check_stale`). The rest
    keeps the plan's target, policy and batch size; its calls are packed anew.
    """
    done: list[Change] = []
    rest: list[Change] = []
    for change in plan.changes:
        (done if shows(change, live)[0] else rest).append(change)
    if not done:
        return (), plan
    left = {change.subscriber for change in rest if change.kind is ChangeKind.UNSUBSCRIBE_ALL}
    remaining = Plan(
        changes=tuple(rest),
        blocked=plan.blocked,
        unchanged=plan.unchanged,
        managed=plan.managed,
        implied=tuple(key for key in plan.implied if key.subscriber in left),
        batch_size=plan.batch_size,
        target=plan.target,
        config_digest=plan.config_digest,
        read_calls=plan.read_calls,
        policy=plan.policy,
        gdpr=plan.gdpr,
    )
    return tuple(done), remaining


def check_stale(plan: Plan, live: LiveState, *, of: int | None = None) -> None:
    """Refuse the plan when any touched subscriber changed since it was computed.

    ``of`` is the number of changes of the reviewed plan, when ``plan`` is what is left
    of it after :func:`already_applied`.
    """
    stale = [
        f"{change.email} {_what(change)}: {why}"
        for change in plan.changes
        if (why := _drift(change, live)) is not None
    ]
    if stale:
        more = f" and {len(stale) - 1} more" if len(stale) > 1 else ""
        raise StalePlanError(
            f"the plan is stale: {len(stale)} of {of or len(plan.changes)} changes no longer match "
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
            own_evidence=change.own_evidence,
            declared_at=change.declared_at,
        )
        refusal = consent_refusal(want, live)
        current = live.statuses.get(pair)
        if refusal is None and current is not None and not plan.policy.revert_newer_changes:
            refusal = newer_change(want, current, change.declared_at)
        if refusal is not None:
            raise PlanFileError(
                f"the plan asks for a change the consent rules forbid: {change.email} "
                f"{_what(change)} -> {change.after.value}: {refusal}",
                hint="hsprefs plan never makes such a change; make a new plan from the config",
            )


def check_policy(plan: Plan, *, allow_mass_change: bool) -> None:
    """The mass-change guard (docs/architecture.md#consent-rules)."""
    problems = policy_violations(plan, plan.policy)
    if problems and not allow_mass_change:
        raise PolicyError(
            "refusing to apply: " + "; ".join(problems),
            hint="review the plan; if the change is intended, re-run with --allow-mass-change",
        )


def shows(change: Change, live: LiveState) -> tuple[bool, str]:
    """Whether ``live`` (a re-read or the read-back) shows the change, and what it
    shows, in words."""
    if change.kind is ChangeKind.UNSUBSCRIBE_ALL:
        reached = live.opted_out(change.subscriber)
        return reached, "opted out of all" if reached else "not opted out of all"
    pair = change.pair
    assert pair is not None
    reached = live.status_of(pair) is change.after
    shown = live.status_of(pair).value
    if change.kind is ChangeKind.SUBSCRIBE and live.opted_out(change.subscriber):
        # Subscribed on paper means nothing while the opt-out of all stands.
        reached = False
        shown += f", still opted out of all email of brand {change.brand}"
    return reached, shown
