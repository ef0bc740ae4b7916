"""Audit: desired state + live state -> :class:`AuditReport`. Pure, no I/O.

The audit does not judge consent itself. It runs :func:`reconciler.diff.diff` and sorts
every managed pair by what the plan would do with it:

* **in sync**: the plan leaves it alone;
* **drifted**: the plan would change it (a change of its own, or a per-subscription
  unsubscribe carried by an unsubscribe-all);
* **blocked**: live differs, but the change is a move away from an opt-out that the
  consent rules forbid (docs/architecture.md#consent-rules). Blocked pairs count as drift.

A managed pair is a declared (brand, subscriber, subscription) status or a declared
``unsubscribe_all`` flag (then ``subscription_id`` is None). Each item carries the live
status, when HubSpot says it last changed and HubSpot's ``source``, so a contact's own
opt-out (for example through the preference centre) can be told apart from an API or
import change. Totals come per brand and per subscription.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from reconciler.diff import diff
from reconciler.model import Counts, DesiredState, LiveState, SubscriberKey
from reconciler.plan import Blocked, Change, ChangeKind, Target, iso

__all__ = [
    "AUDIT_FORMAT_VERSION",
    "NOT_OPTED_OUT",
    "OPTED_OUT",
    "AuditItem",
    "AuditReport",
    "BrandTotals",
    "PairState",
    "SubscriptionTotals",
    "Totals",
    "audit",
    "describe_action",
]

AUDIT_FORMAT_VERSION = 1

# How an unsubscribe_all row spells its wanted and live values.
OPTED_OUT = "OPTED_OUT"
NOT_OPTED_OUT = "NOT_OPTED_OUT"


class PairState(StrEnum):
    """What the audit found for one managed pair."""

    IN_SYNC = "in_sync"
    DRIFTED = "drifted"
    BLOCKED = "blocked"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


@dataclass(frozen=True, slots=True)
class AuditItem:
    """One managed pair: what the config wants, what HubSpot has, and the verdict.

    ``subscription_id`` is None for an ``unsubscribe_all`` flag; ``wanted`` and ``live``
    are then :data:`OPTED_OUT` or :data:`NOT_OPTED_OUT`, else status values.
    ``action`` names what a plan would do with a drifted pair (a change kind, or
    ``implied`` for an unsubscribe carried by an unsubscribe-all); ``reason`` says why a
    blocked pair is blocked. ``live_scope`` is HubSpot's ``wideStatusType`` of an opt-out.
    """

    brand: int
    email: str
    subscription_id: str | None
    state: PairState
    wanted: str
    live: str
    alias: str | None = None
    live_timestamp: datetime | None = None
    live_source: str | None = None
    live_scope: str | None = None
    action: str | None = None
    reason: str | None = None
    location: str | None = None
    live_legal_basis: str | None = None
    live_legal_basis_explanation: str | None = None
    wanted_legal_basis: str | None = None
    wanted_legal_basis_explanation: str | None = None

    @property
    def never_set(self) -> bool:
        """A status nobody ever set: NOT_SPECIFIED with HubSpot's "Not specified" source
        (older emulators: ``DEFAULT``), or no record at all."""
        return (
            self.subscription_id is not None
            and self.live == "NOT_SPECIFIED"
            and (
                self.live_source is None
                or self.live_source.strip().lower() in ("not specified", "default", "")
            )
        )

    @property
    def sort_key(self) -> tuple[int, str, str]:
        return (self.brand, self.email, self.subscription_id or "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "brand": self.brand,
            "email": self.email,
            "subscription_id": self.subscription_id,
            "alias": self.alias,
            "state": self.state.value,
            "wanted": self.wanted,
            "live": self.live,
            "live_timestamp": iso(self.live_timestamp),
            "live_source": self.live_source,
            "live_scope": self.live_scope,
            "action": self.action,
            "reason": self.reason,
            "location": self.location,
            "live_legal_basis": self.live_legal_basis,
            "live_legal_basis_explanation": self.live_legal_basis_explanation,
            "wanted_legal_basis": self.wanted_legal_basis,
            "wanted_legal_basis_explanation": self.wanted_legal_basis_explanation,
            "never_set": self.never_set,
        }


@dataclass(frozen=True, slots=True)
class Totals:
    """Counts of managed pairs by verdict."""

    in_sync: int = 0
    drifted: int = 0
    blocked: int = 0

    @property
    def managed(self) -> int:
        return self.in_sync + self.drifted + self.blocked

    @property
    def drift(self) -> int:
        """Pairs that differ from the config: drifted and blocked."""
        return self.drifted + self.blocked

    def line(self) -> str:
        """``12 managed: 9 in sync, 2 drifted, 1 blocked``."""
        return (
            f"{self.managed} managed: {self.in_sync} in sync, {self.drifted} drifted, "
            f"{self.blocked} blocked"
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "managed": self.managed,
            "in_sync": self.in_sync,
            "drifted": self.drifted,
            "blocked": self.blocked,
        }

    @classmethod
    def count(cls, items: Iterable[AuditItem]) -> Totals:
        tally = dict.fromkeys(PairState, 0)
        for item in items:
            tally[item.state] += 1
        return cls(tally[PairState.IN_SYNC], tally[PairState.DRIFTED], tally[PairState.BLOCKED])


@dataclass(frozen=True, slots=True)
class BrandTotals:
    brand: int
    totals: Totals

    def to_dict(self) -> dict[str, Any]:
        return {"brand": self.brand, **self.totals.to_dict()}

    def named(self, names: Mapping[int, str]) -> dict[str, Any]:
        """:meth:`to_dict` with the brand's name from the project (None without one)."""
        return {**self.to_dict(), "brand_name": names.get(self.brand)}


@dataclass(frozen=True, slots=True)
class SubscriptionTotals:
    """Totals of one subscription of one brand; ``subscription_id`` None: the opt-out flags."""

    brand: int
    subscription_id: str | None
    alias: str | None
    totals: Totals

    def to_dict(self) -> dict[str, Any]:
        return {
            "brand": self.brand,
            "subscription_id": self.subscription_id,
            "alias": self.alias,
            **self.totals.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class AuditReport:
    """Every managed pair with its verdict, in order (brand, email, subscription)."""

    items: tuple[AuditItem, ...] = ()
    target: Target = field(default_factory=Target)
    config_digest: str = ""
    read_calls: int = 0
    counts: Counts | None = None  # the config's, as validate and plan say them
    brand_names: Mapping[int, str] = field(default_factory=dict)

    @property
    def totals(self) -> Totals:
        return Totals.count(self.items)

    @property
    def in_sync(self) -> bool:
        """True when no pair drifted and none is blocked."""
        return self.totals.drift == 0

    def of(self, state: PairState) -> list[AuditItem]:
        return [item for item in self.items if item.state is state]

    def brands(self) -> list[BrandTotals]:
        """Totals per brand, by brand id."""
        groups: dict[int, list[AuditItem]] = {}
        for item in self.items:
            groups.setdefault(item.brand, []).append(item)
        return [BrandTotals(b, Totals.count(groups[b])) for b in sorted(groups)]

    def subscriptions(self) -> list[SubscriptionTotals]:
        """Totals per subscription of each brand; the opt-out flags of a brand come first."""
        groups: dict[tuple[int, str], list[AuditItem]] = {}
        for item in self.items:
            groups.setdefault((item.brand, item.subscription_id or ""), []).append(item)
        out: list[SubscriptionTotals] = []
        for brand, sub in sorted(groups, key=_subscription_order):
            items = groups[(brand, sub)]
            alias = next((i.alias for i in items if i.alias), None)
            out.append(SubscriptionTotals(brand, sub or None, alias, Totals.count(items)))
        return out


def _subscription_order(key: tuple[int, str]) -> tuple[int, int, int, str]:
    brand, sub = key
    # Numeric ids in numeric order ("99" before "101"), the opt-out row ("") first.
    return (brand, 0 if not sub else 1, int(sub) if sub.isdigit() else 1 << 62, sub)


def audit(
    desired: DesiredState,
    live: LiveState,
    *,
    target: Target | None = None,
    read_calls: int = 0,
) -> AuditReport:
    """Classify every managed pair of ``desired`` against ``live``.

    ``desired`` must have its aliases bound to ids (see
    :func:`reconciler.engine.prepare_desired`). The verdicts are the plan's: a pair is
    drifted when :func:`reconciler.diff.diff` would change it and blocked when it reports
    it as blocked, so the audit and the plan can never disagree.
    """
    plan = diff(desired, live, desired.policy)
    changes: dict[tuple[int, str, str], Change] = {
        (c.brand, c.email, c.subscription_id or ""): c for c in plan.changes
    }
    blocked: dict[tuple[int, str, str], Blocked] = {b.sort_key: b for b in plan.blocked}
    implied = set(plan.implied)
    items: list[AuditItem] = []

    for key, flag in desired.opt_outs.items():
        wide = live.opt_outs.get(key)
        opted_out = live.opted_out(key)
        sort_key = (key.brand, key.email, "")
        state, action, reason = _verdict(sort_key, changes, blocked, implied=False)
        items.append(
            AuditItem(
                brand=key.brand,
                email=key.email,
                subscription_id=None,
                state=state,
                wanted=OPTED_OUT if flag.unsubscribe_all else NOT_OPTED_OUT,
                live=OPTED_OUT if opted_out else NOT_OPTED_OUT,
                live_timestamp=wide.timestamp if wide else None,
                live_source=_opt_out_source(live, key) if opted_out else None,
                live_scope=wide.wide_status_type if wide and opted_out else None,
                action=action,
                reason=reason,
                location=str(flag.location) if flag.location else None,
            )
        )

    for pair, want in desired.statuses.items():
        current = live.statuses.get(pair)
        sort_key = (pair.brand, pair.email, pair.subscription_id)
        state, action, reason = _verdict(sort_key, changes, blocked, implied=pair in implied)
        items.append(
            AuditItem(
                brand=pair.brand,
                email=pair.email,
                subscription_id=pair.subscription_id,
                state=state,
                wanted=want.status.value,
                live=live.status_of(pair).value,
                alias=want.alias,
                live_timestamp=current.timestamp if current else None,
                live_source=current.source if current else None,
                action=action,
                reason=reason,
                location=str(want.location) if want.location else None,
                live_legal_basis=current.legal_basis if current else None,
                live_legal_basis_explanation=current.legal_basis_explanation if current else None,
                wanted_legal_basis=want.legal_basis,
                wanted_legal_basis_explanation=want.legal_basis_explanation,
            )
        )

    items.sort(key=lambda i: i.sort_key)
    return AuditReport(
        items=tuple(items),
        target=target or Target(portal_id=desired.portal.id),
        config_digest=desired.digest,
        read_calls=read_calls,
        counts=desired.counts(),
        brand_names=dict(desired.brand_names),
    )


def _opt_out_source(live: LiveState, key: SubscriberKey) -> str | None:
    """Who or what opted the subscriber out of all, where HubSpot tells: the wide status
    has no source, but an opt-out of all sets every subscription of the brand to
    UNSUBSCRIBED, and the newest such status read carries it."""
    newest: tuple[datetime, str] | None = None
    for pair, status in live.statuses.items():
        if pair.brand != key.brand or pair.email != key.email:
            continue
        if status.status.value != "UNSUBSCRIBED" or not status.source:
            continue
        when = status.timestamp or datetime.min.replace(tzinfo=UTC)
        if newest is None or when > newest[0]:
            newest = (when, status.source)
    return newest[1] if newest else None


def _verdict(
    key: tuple[int, str, str],
    changes: dict[tuple[int, str, str], Change],
    blocked: dict[tuple[int, str, str], Blocked],
    *,
    implied: bool,
) -> tuple[PairState, str | None, str | None]:
    if key in blocked:
        return PairState.BLOCKED, None, blocked[key].reason
    change = changes.get(key)
    if change is not None:
        return PairState.DRIFTED, change.kind.value, None
    if implied:
        return PairState.DRIFTED, "implied", None
    return PairState.IN_SYNC, None, None


def describe_action(action: str | None) -> str:
    """What a plan would do with a drifted pair, in words."""
    return _ACTIONS.get(action or "", "")


_ACTIONS = {
    ChangeKind.SUBSCRIBE.value: "plan would subscribe",
    ChangeKind.UNSUBSCRIBE.value: "plan would unsubscribe",
    ChangeKind.NOT_SPECIFIED.value: "plan would set not-specified",
    ChangeKind.UNSUBSCRIBE_ALL.value: "plan would unsubscribe from all email",
    "implied": "plan's unsubscribe-all would unsubscribe",
}
