"""Diff: desired state + live state -> :class:`~reconciler.plan.Plan`. Pure, no I/O.

Only what the config declares is managed: declared (brand, email, subscription) pairs
and declared ``unsubscribe_all`` flags. Everything else is left alone.

Consent rules (docs/architecture.md#consent-rules), applied to every declared pair:

* Opting out is always allowed.
* A move away from an opt-out (live UNSUBSCRIBED to SUBSCRIBED or NOT_SPECIFIED, or
  SUBSCRIBED for someone opted out of all email of the brand) is BLOCKED unless the
  entry says ``resubscribe: true`` and carries a legal basis and its explanation of its
  own (``DesiredStatus.own_evidence``: a basis inherited from defaults is not evidence
  that this person consented again); and it is always BLOCKED when the live opt-out is
  newer than the entry's ``consented_at`` (or when ``consented_at`` is given but HubSpot
  did not say when the opt-out happened).
* A newer change in HubSpot is never reverted silently: when the live status differs
  from the declared one and HubSpot's timestamp for it is newer than the declaration
  (``DesiredState.declared``, from git, or the entry's ``as_of``), the pair is BLOCKED with who
  changed it and when, unless ``policy.revert_newer_changes``. A declaration whose time
  is unknown (a shallow clone) is BLOCKED the same way rather than guessed. Moves away
  from an opt-out are judged by the rule above first, and neither way through this rule
  lifts it.
* ``unsubscribe_all: false`` against a live opt-out of all is BLOCKED: no API call
  removes an opt-out of all.
* A subscriber declared ``unsubscribe_all: true`` who is not yet opted out gets one
  unsubscribe-all; the per-subscription unsubscribes it brings are implied, not written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from reconciler.model import (
    DesiredOptOut,
    DesiredState,
    DesiredStatus,
    LiveOptOut,
    LiveState,
    LiveStatus,
    PairKey,
    Policy,
    Status,
    SubscriberKey,
)
from reconciler.plan import Blocked, Change, ChangeKind, Plan, Target, iso

__all__ = ["consent_refusal", "diff", "newer_change"]


class _Kept(StrEnum):
    """A declared pair that needs no change of its own."""

    UNCHANGED = "unchanged"  # live already matches
    IMPLIED = "implied"  # the subscriber's unsubscribe-all carries it


@dataclass(frozen=True, slots=True)
class _OptOut:
    """The live opt-out a desired status would move away from."""

    what: str
    at: datetime | None
    source: str | None


def diff(
    desired: DesiredState,
    live: LiveState,
    policy: Policy | None = None,
    *,
    batch_size: int = 100,
    target: Target | None = None,
    read_calls: int = 0,
) -> Plan:
    """Compute the plan that makes ``live`` match ``desired`` where consent allows.

    ``policy`` (default: the config's) travels with the plan; the diff never drops a
    change for it: apply's mass-change guard (:func:`reconciler.plan.policy_violations`)
    checks the finished plan.
    """
    policy = policy or desired.policy
    declared = desired.declared
    changes: list[Change] = []
    blocked: list[Blocked] = []
    implied: list[PairKey] = []
    unchanged = 0
    unsubscribing_all: set[SubscriberKey] = set()

    for key, flag in sorted(desired.opt_outs.items(), key=_subscriber_order):
        wide = live.opt_outs.get(key)
        opted_out = live.opted_out(key)
        where = str(flag.location) if flag.location else None
        if flag.unsubscribe_all and not opted_out:
            unsubscribing_all.add(key)
            changes.append(
                Change(
                    kind=ChangeKind.UNSUBSCRIBE_ALL,
                    brand=key.brand,
                    email=key.email,
                    subscription_id=None,
                    after=Status.UNSUBSCRIBED,
                    before=Status.NOT_SPECIFIED,  # i.e. not opted out of all
                    live_timestamp=wide.timestamp if wide else None,
                    location=where,
                )
            )
        elif not flag.unsubscribe_all and opted_out:
            at = wide.timestamp if wide else None
            blocked.append(
                Blocked(
                    brand=key.brand,
                    email=key.email,
                    subscription_id=None,
                    wanted="not opted out of all",
                    live="opted out of all",
                    reason=(
                        f"opted out of all email of brand {key.brand}{_since(at)}; "
                        "no API call removes an opt-out of all"
                    ),
                    live_timestamp=at,
                    location=where,
                )
            )
        else:
            unchanged += 1

    for pair, want in sorted(desired.statuses.items(), key=_pair_order):
        outcome = _pair(
            want,
            live,
            want.alias in desired.unresolved,
            unsubscribing_all,
            policy=policy,
            declared=declared,
        )
        if outcome is _Kept.UNCHANGED:
            unchanged += 1
        elif outcome is _Kept.IMPLIED:
            implied.append(pair)
        elif isinstance(outcome, Blocked):
            blocked.append(outcome)
        else:
            changes.append(outcome)

    changes.sort(key=lambda c: c.sort_key)
    blocked.sort(key=lambda b: b.sort_key)
    return Plan(
        changes=tuple(changes),
        blocked=tuple(blocked),
        unchanged=unchanged,
        managed=len(desired.statuses) + len(desired.opt_outs),
        implied=tuple(implied),
        batch_size=batch_size,
        target=target or Target(portal_id=desired.portal.id),
        config_digest=desired.digest,
        read_calls=read_calls,
        policy=policy,
        notes=desired.notes,
        counts=desired.counts(),
        gdpr=desired.portal.gdpr,
    )


def _pair_order(item: tuple[PairKey, DesiredStatus]) -> tuple[int, str, str]:
    # Tuples compare in C; the dataclasses' generated ordering is far slower at scale.
    key = item[0]
    return (key.brand, key.email, key.subscription_id)


def _subscriber_order(item: tuple[SubscriberKey, DesiredOptOut]) -> tuple[int, str]:
    return (item[0].brand, item[0].email)


def _since(moment: datetime | None) -> str:
    return f" since {iso(moment)}" if moment else ""


def _pair(
    want: DesiredStatus,
    live: LiveState,
    unresolved: bool,
    unsubscribing_all: set[SubscriberKey],
    *,
    policy: Policy,
    declared: Mapping[PairKey, datetime | None],
) -> Change | Blocked | _Kept:
    key = want.key
    if unresolved:
        raise ValueError(f"alias {want.alias!r} is not bound to a subscription id")
    # Each lookup once: this runs for every declared status.
    current = live.statuses.get(key)
    before = current.status if current is not None else Status.NOT_SPECIFIED
    subscriber = key.subscriber
    wide = live.opt_outs.get(subscriber)
    opted_out_all = wide is not None and wide.opted_out

    if subscriber in unsubscribing_all:
        # unsubscribe-all flips every subscription of the brand to UNSUBSCRIBED.
        if want.status is Status.UNSUBSCRIBED:
            return _Kept.UNCHANGED if before is Status.UNSUBSCRIBED else _Kept.IMPLIED
        return _blocked(
            want,
            before,
            current.timestamp if current else None,
            current.source if current else None,
            "contradicts unsubscribe_all: true for this subscriber",
        )

    aways = _aways(want, current, before, wide)
    if want.status is before and not aways:
        return _Kept.UNCHANGED
    for away in aways:
        refusal = _refusal(want, away)
        if refusal is not None:
            return _blocked(want, before, away.at, away.source, refusal)
    declared_at = want.declared_at
    if current is not None and not policy.revert_newer_changes:
        if key in declared:
            # Dated from git: a time, or None when a shallow clone cannot tell.
            declared_at = declared[key]
            newer = newer_change(want, current, declared_at, unknown=declared_at is None)
        else:
            newer = newer_change(want, current, declared_at)
        if newer is not None:
            return _blocked(want, before, current.timestamp, current.source, newer)
    return Change(
        kind=ChangeKind.for_status(want.status),
        brand=key.brand,
        email=key.email,
        subscription_id=key.subscription_id,
        after=want.status,
        before=before,
        alias=want.alias,
        live_timestamp=current.timestamp if current else None,
        legal_basis=want.legal_basis,
        legal_basis_explanation=want.legal_basis_explanation,
        resubscribe=want.resubscribe,
        location=str(want.location) if want.location else None,
        consented_at=want.consented_at,
        own_evidence=want.own_evidence,
        opted_out_all=opted_out_all,
        opt_out_timestamp=wide.timestamp if wide is not None and opted_out_all else None,
        declared_at=want.as_of or declared_at,
    )


def newer_change(
    want: DesiredStatus,
    current: LiveStatus,
    declared_at: datetime | None,
    *,
    unknown: bool = False,
) -> str | None:
    """Why ``current`` (differing from ``want``) may not be reverted: HubSpot's status
    is newer than the declaration (``want.as_of``, else ``declared_at``; None counts as
    now), or the declaration's time is ``unknown``; None when the declaration is newer,
    HubSpot gives no time, or nobody ever set the status (``LiveStatus.never_set``: its
    timestamp may be the moment of the read, and no one changed anything)."""
    stamp = current.timestamp
    if stamp is None or current.status is want.status or current.never_set:
        return None
    source = f" (source: {current.source})" if current.source else ""
    changed = f"changed in HubSpot to {current.status.value} at {iso(stamp)}{source}"
    wanted = want.status.value.lower()
    if unknown and want.as_of is None:
        return (
            f"{changed}; when the config declared {wanted} is unknown (shallow git "
            "history), so it is not reverted: fetch the full history (git fetch "
            "--unshallow, or fetch-depth: 0), or set as_of: on the entry"
        )
    declared = want.as_of if want.as_of is not None else declared_at
    if declared is None or stamp <= declared:
        return None
    how = "as_of" if want.as_of is not None else "committed"
    return (
        f"{changed}, after the config declared {wanted} ({how} {iso(declared)}); a newer "
        "change is not reverted: re-declare it (edit and commit the line, or set as_of:) "
        "or set policy.revert_newer_changes: true"
    )


def _opt_outs_left(want: DesiredStatus, live: LiveState) -> list[_OptOut]:
    """The live opt-outs that giving ``want`` its status would move the subscriber away from."""
    key = want.key
    current = live.statuses.get(key)
    before = current.status if current is not None else Status.NOT_SPECIFIED
    return _aways(want, current, before, live.opt_outs.get(key.subscriber))


def _aways(
    want: DesiredStatus, current: LiveStatus | None, before: Status, wide: LiveOptOut | None
) -> list[_OptOut]:
    """:func:`_opt_outs_left` from what was already looked up: the pair's live status
    (``before``, NOT_SPECIFIED when unlisted) and the subscriber's wide status."""
    aways: list[_OptOut] = []
    if before is Status.UNSUBSCRIBED and want.status is not Status.UNSUBSCRIBED:
        aways.append(
            _OptOut(
                f"unsubscribed from {want.alias or want.key.subscription_id}",
                current.timestamp if current else None,
                current.source if current else None,
            )
        )
    if want.status is Status.SUBSCRIBED and wide is not None and wide.opted_out:
        what = f"opted out of all email of brand {want.key.brand}"
        aways.append(_OptOut(what, wide.timestamp, None))
    return aways


def consent_refusal(want: DesiredStatus, live: LiveState) -> str | None:
    """Why the consent rules forbid giving ``want`` its status now, or None if they allow it.

    The same judgement the diff makes; apply uses it again on a saved plan against a
    fresh read, so a plan edited by hand cannot move anyone away from an opt-out.
    """
    for away in _opt_outs_left(want, live):
        refusal = _refusal(want, away)
        if refusal is not None:
            return refusal
    return None


def _refusal(want: DesiredStatus, away: _OptOut) -> str | None:
    """Why a move away from an opt-out is refused, or None when the evidence allows it."""
    since = _since(away.at)
    source = f" (source: {away.source})" if away.source else ""
    if not want.resubscribe:
        return (
            f"{away.what}{since}{source}; set resubscribe: true with legal_basis "
            "and legal_basis_explanation to re-subscribe"
        )
    if not (want.legal_basis and want.legal_basis_explanation):
        return (
            f"{away.what}{since}; resubscribe: true needs legal_basis and legal_basis_explanation"
        )
    if not want.own_evidence:
        # Defence in depth: validate already refuses this config, but a DesiredStatus
        # built in code, or a saved plan edited by hand, can still carry it.
        return (
            f"{away.what}{since}; resubscribe: true needs its own legal_basis and "
            "legal_basis_explanation on the entry, not ones inherited from defaults"
        )
    if want.consented_at is not None:
        if away.at is None:
            return (
                f"{away.what}, and HubSpot does not say when; cannot show that consent "
                f"at {iso(want.consented_at)} is newer"
            )
        if away.at > want.consented_at:
            return (
                f"{away.what} at {iso(away.at)}, after the consent at "
                f"{iso(want.consented_at)} (consented_at); the newer opt-out wins"
            )
    return None


def _blocked(
    want: DesiredStatus,
    before: Status,
    at: datetime | None,
    source: str | None,
    reason: str,
) -> Blocked:
    return Blocked(
        brand=want.key.brand,
        email=want.key.email,
        subscription_id=want.key.subscription_id,
        wanted=want.status.value,
        live=before.value,
        reason=reason,
        alias=want.alias,
        live_timestamp=at,
        live_source=source,
        location=str(want.location) if want.location else None,
    )
