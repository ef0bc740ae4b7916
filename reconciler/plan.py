"""The plan: a value, with no I/O.

A :class:`Plan` holds the changes in deterministic order (brand, email, kind in apply's
order, subscription id: :attr:`Change.sort_key`), the blocked pairs with their reasons,
the API calls that will carry the changes, a summary, a checksum, the portal id and the
API target. It is built by :func:`reconciler.diff.diff`, rendered by
:mod:`reconciler.render`, saved and loaded by :mod:`reconciler.planfile`, and carried
out by :mod:`reconciler.apply`.

Each part that a saved plan holds has its ``to_dict`` and its ``from_dict`` side by
side, so a field is added in one place (and in ``schemas/plan.schema.json``); the
checksum is taken over the same dicts.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from reconciler.model import (
    Counts,
    PairKey,
    Policy,
    ReadScope,
    Shared,
    Status,
    StatusWrite,
    SubscriberKey,
)

__all__ = [
    "PLAN_FORMAT_VERSION",
    "Blocked",
    "Call",
    "CallOperation",
    "Change",
    "ChangeKind",
    "Plan",
    "Sharing",
    "Summary",
    "Target",
    "from_iso",
    "guard_refusal",
    "iso",
    "minimal_write_calls",
    "policy_dict",
    "policy_from_dict",
    "policy_violations",
    "same_as_ascii_json",
    "sharing",
    "subscribers_of",
    "subscription_label",
]

PLAN_FORMAT_VERSION = 1


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with a ``Z`` for UTC, or None."""
    if moment is None:
        return None
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def from_iso(text: str | None) -> datetime | None:
    """The moment :func:`iso` wrote, or None."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def subscription_label(alias: str | None, subscription_id: str | None) -> str:
    """``newsletter (101)``, or just the id when there is no alias."""
    if alias and alias != subscription_id:
        return f"{alias} ({subscription_id})"
    return str(subscription_id)


class ChangeKind(StrEnum):
    """The four change kinds, in the order apply carries them out."""

    UNSUBSCRIBE_ALL = "unsubscribe_all"
    UNSUBSCRIBE = "unsubscribe"
    NOT_SPECIFIED = "not_specified"
    SUBSCRIBE = "subscribe"

    @property
    def order(self) -> int:
        return _KIND_ORDER[self]

    @classmethod
    def for_status(cls, status: Status) -> ChangeKind:
        return {
            Status.SUBSCRIBED: cls.SUBSCRIBE,
            Status.UNSUBSCRIBED: cls.UNSUBSCRIBE,
            Status.NOT_SPECIFIED: cls.NOT_SPECIFIED,
        }[status]


class CallOperation(StrEnum):
    """The two write operations a plan's calls use (and the journal's ``operation``)."""

    UNSUBSCRIBE_ALL = "unsubscribe-all"
    WRITE = "write"


_KIND_ORDER = {
    ChangeKind.UNSUBSCRIBE_ALL: 0,
    ChangeKind.UNSUBSCRIBE: 1,
    ChangeKind.NOT_SPECIFIED: 2,
    ChangeKind.SUBSCRIBE: 3,
}


@dataclass(frozen=True, slots=True)
class Change:
    """One change. ``subscription_id`` is None for an unsubscribe-all.

    ``before`` and ``live_timestamp`` are the live value the change was computed from,
    ``opted_out_all`` and ``opt_out_timestamp`` the subscriber's opt-out of all email of
    the brand at that moment; a saved plan is stale when a re-read shows anything else.
    ``consented_at`` and ``own_evidence`` (the legal basis and explanation were written
    on the entry itself, not inherited from defaults) are the entry's evidence, so apply
    can check the consent rules again.
    For an unsubscribe-all, ``before`` is always NOT_SPECIFIED, read as "not opted out of
    all".
    """

    kind: ChangeKind
    brand: int
    email: str
    subscription_id: str | None
    after: Status
    before: Status
    alias: str | None = None
    live_timestamp: datetime | None = None
    legal_basis: str | None = None
    legal_basis_explanation: str | None = None
    resubscribe: bool = False
    location: str | None = None
    consented_at: datetime | None = None
    opted_out_all: bool = False
    opt_out_timestamp: datetime | None = None
    own_evidence: bool = False
    # When the config declared it (None: counts as now), for apply's re-check of the
    # newer-change rule.
    declared_at: datetime | None = None

    @property
    def sort_key(self) -> tuple[int, str, int, str]:
        """(brand, email, kind order, subscription id): a subscriber's changes are listed
        in the order apply carries them out (unsubscribe-all, unsubscribe, not-specified,
        subscribe), so the plan reads top to bottom as it will happen."""
        return (self.brand, self.email, self.kind.order, self.subscription_id or "")

    @property
    def subscriber(self) -> SubscriberKey:
        return SubscriberKey(self.brand, self.email)

    @property
    def pair(self) -> PairKey | None:
        if self.subscription_id is None:
            return None
        return PairKey(self.brand, self.email, self.subscription_id)

    def to_write(self) -> StatusWrite:
        """The batch-write input that carries this change (not for unsubscribe-all)."""
        if self.subscription_id is None:
            raise ValueError("an unsubscribe-all is not a status write")
        return StatusWrite(
            brand=self.brand,
            email=self.email,
            subscription_id=self.subscription_id,
            status=self.after,
            legal_basis=self.legal_basis,
            legal_basis_explanation=self.legal_basis_explanation,
        )

    def to_dict(self) -> dict[str, Any]:
        item = {
            "kind": self.kind.value,
            "brand": self.brand,
            "email": self.email,
            "subscription_id": self.subscription_id,
            "alias": self.alias,
            "before": self.before.value,
            "after": self.after.value,
            "live_timestamp": iso(self.live_timestamp),
            "legal_basis": self.legal_basis,
            "legal_basis_explanation": self.legal_basis_explanation,
            "resubscribe": self.resubscribe,
            "location": self.location,
            "consented_at": iso(self.consented_at),
            "opted_out_all": self.opted_out_all,
            "opt_out_timestamp": iso(self.opt_out_timestamp),
            "own_evidence": self.own_evidence,
        }
        if self.declared_at is not None:
            # Written only when known, so plans saved before it existed keep their checksum.
            item["declared_at"] = iso(self.declared_at)
        return item

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], shared: Sharing | None = None) -> Change:
        """The change :meth:`to_dict` wrote (a saved plan's ``changes[]`` entry). With
        ``shared`` (one per plan), equal texts and times of its changes are one object
        each: a million-change plan repeats a few subscription ids, legal bases and
        dates, and would otherwise hold a copy of each per change."""
        texts, times = shared or _UNSHARED
        return cls(
            kind=ChangeKind(data["kind"]),
            brand=data["brand"],
            email=_text(texts, data["email"]),
            subscription_id=_text(texts, data["subscription_id"]),
            after=Status(data["after"]),
            before=Status(data["before"]),
            alias=_text(texts, data["alias"]),
            live_timestamp=_time(times, data["live_timestamp"]),
            legal_basis=_text(texts, data["legal_basis"]),
            legal_basis_explanation=_text(texts, data["legal_basis_explanation"]),
            resubscribe=data["resubscribe"],
            location=data["location"],
            consented_at=_time(times, data["consented_at"]),
            opted_out_all=data["opted_out_all"],
            opt_out_timestamp=_time(times, data["opt_out_timestamp"]),
            own_evidence=data["own_evidence"],
            declared_at=_time(times, data.get("declared_at")),
        )


# The texts, then the times, of one plan's changes (:func:`sharing`).
Sharing = tuple[Shared[str, str], Shared[str, datetime | None]]


def sharing() -> Sharing:
    """The texts and the times of one plan's changes, each parsed once and shared."""
    return Shared(str), Shared(from_iso)


# Parses every value and keeps none: Change.from_dict without a plan's sharing.
_UNSHARED: Sharing = (Shared(str, limit=0), Shared(from_iso, limit=0))


def _text(texts: Shared[str, str], value: Any) -> Any:
    return texts[value] if type(value) is str else value


def _time(times: Shared[str, datetime | None], text: str | None) -> datetime | None:
    return times[text] if text else None


@dataclass(frozen=True, slots=True)
class Blocked:
    """A difference that the consent rules forbid: reported, never sent, not a change."""

    brand: int
    email: str
    subscription_id: str | None  # None: the unsubscribe_all flag
    wanted: str
    live: str
    reason: str
    alias: str | None = None
    live_timestamp: datetime | None = None
    live_source: str | None = None
    location: str | None = None

    @property
    def sort_key(self) -> tuple[int, str, str]:
        return (self.brand, self.email, self.subscription_id or "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "brand": self.brand,
            "email": self.email,
            "subscription_id": self.subscription_id,
            "alias": self.alias,
            "wanted": self.wanted,
            "live": self.live,
            "live_timestamp": iso(self.live_timestamp),
            "live_source": self.live_source,
            "reason": self.reason,
            "location": self.location,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Blocked:
        """The blocked pair :meth:`to_dict` wrote (a saved plan's ``blocked[]`` entry)."""
        return cls(
            brand=data["brand"],
            email=data["email"],
            subscription_id=data["subscription_id"],
            wanted=data["wanted"],
            live=data["live"],
            reason=data["reason"],
            alias=data["alias"],
            live_timestamp=from_iso(data["live_timestamp"]),
            live_source=data["live_source"],
            location=data["location"],
        )


@dataclass(frozen=True, slots=True)
class Call:
    """One API call of the apply: which operation, which brand, which changes.

    ``wave`` orders the calls: every call of wave n finishes before wave n+1 starts, and
    the calls of one wave may run concurrently. A write call's wave is the kind of its
    last input, so no subscribe is sent before every unsubscribe has been answered.
    """

    operation: CallOperation
    brand: int | None
    wave: ChangeKind
    changes: tuple[int, ...]  # indexes into Plan.changes

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation.value,
            "brand": self.brand,
            "wave": self.wave.value,
            "changes": list(self.changes),
        }


@dataclass(frozen=True, slots=True)
class Target:
    """Where the plan applies: the portal, the API it was read from, and the API mode
    (``batch`` or ``single``) its reads used, which its calls use too."""

    portal_id: int | None = None
    api_url: str = ""
    api_version: str = ""
    api_mode: str = "batch"

    def to_dict(self) -> dict[str, Any]:
        return {
            "portal_id": self.portal_id,
            "api_url": self.api_url,
            "api_version": self.api_version,
            "api_mode": self.api_mode,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Target:
        """The target :meth:`to_dict` wrote (a plan saved before API modes existed has no
        ``api_mode``: it was made in batch mode)."""
        return cls(
            data["portal_id"], data["api_url"], data["api_version"], data.get("api_mode", "batch")
        )

    def checksum_dict(self) -> dict[str, Any]:
        """What the checksum covers: :meth:`to_dict`, without ``api_mode`` in batch mode,
        so a plan saved before API modes existed keeps its checksum."""
        body = self.to_dict()
        if self.api_mode == "batch":
            del body["api_mode"]
        return body

    @property
    def single(self) -> bool:
        """One call per subscriber and change (docs/architecture.md#minimal-calls)."""
        return self.api_mode == "single"


@dataclass(frozen=True, slots=True)
class Summary:
    subscribe: int = 0
    unsubscribe: int = 0
    not_specified: int = 0
    unsubscribe_all: int = 0
    blocked: int = 0
    unchanged: int = 0

    def line(self) -> str:
        """The summary line (docs/architecture.md#the-plan), in its fixed wording."""
        return (
            f"{self.subscribe} to subscribe, {self.unsubscribe} to unsubscribe, "
            f"{self.not_specified} to not-specified, {self.unsubscribe_all} unsubscribe-all, "
            f"{self.blocked} blocked, {self.unchanged} unchanged"
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
            "not_specified": self.not_specified,
            "unsubscribe_all": self.unsubscribe_all,
            "blocked": self.blocked,
            "unchanged": self.unchanged,
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """The reviewed unit of work. Build it with :func:`reconciler.diff.diff`."""

    changes: tuple[Change, ...] = ()
    blocked: tuple[Blocked, ...] = ()
    unchanged: int = 0
    managed: int = 0
    implied: tuple[PairKey, ...] = ()
    batch_size: int = 100
    target: Target = field(default_factory=Target)
    config_digest: str = ""
    read_calls: int = 0
    policy: Policy = field(default_factory=Policy)
    # What the plan says once (declarations that could not be dated); not checksummed.
    notes: tuple[str, ...] = ()
    # The config's subscribers, managed statuses and opt-out flags (informational).
    counts: Counts | None = None
    # The config's portal.gdpr, so a refusal for want of a legal basis can say what to set
    # (None: a plan saved before it was recorded); not checksummed.
    gdpr: bool | None = None
    calls: tuple[Call, ...] = field(init=False)
    checksum: str = field(init=False)

    def __post_init__(self) -> None:
        # In single mode every call carries one change: the per-subscriber endpoints take
        # one input each.
        size = 1 if self.target.single else self.batch_size
        object.__setattr__(self, "calls", tuple(_pack_calls(self.changes, size)))
        # Computed once: renderers, the saved plan and the journal all ask for it.
        object.__setattr__(self, "checksum", self._checksum())

    @property
    def summary(self) -> Summary:
        counts = dict.fromkeys(ChangeKind, 0)
        for change in self.changes:
            counts[change.kind] += 1
        return Summary(
            subscribe=counts[ChangeKind.SUBSCRIBE],
            unsubscribe=counts[ChangeKind.UNSUBSCRIBE],
            not_specified=counts[ChangeKind.NOT_SPECIFIED],
            unsubscribe_all=counts[ChangeKind.UNSUBSCRIBE_ALL],
            blocked=len(self.blocked),
            unchanged=self.unchanged,
        )

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def read_scope(self) -> ReadScope:
        """What apply's reads keep: the pairs of the changes and the implied ones (the
        checks and the verification look at nothing else; a wide status matters only as
        an opt-out)."""
        pairs = [change.pair for change in self.changes]
        return ReadScope({key: key for key in (*pairs, *self.implied) if key is not None})

    def touched(self) -> dict[int, list[str]]:
        """Subscribers with a change, per brand (sorted): what apply re-reads."""
        return subscribers_of(self.changes)

    def waves(self) -> Iterator[tuple[ChangeKind, list[Call]]]:
        """The calls grouped in the order apply runs them."""
        for kind in sorted(ChangeKind, key=lambda k: k.order):
            calls = [call for call in self.calls if call.wave is kind]
            if calls:
                yield kind, calls

    def _checksum(self) -> str:
        """sha256 over what the plan would do and what it was computed from: the canonical
        JSON (sorted keys, no spaces, ASCII) of those parts, hashed as it is written, a
        thousand changes at a time, so a million-change plan never exists as one string."""
        lists: dict[str, Callable[[], Iterator[Any]]] = {
            "blocked": lambda: (item.to_dict() for item in self.blocked),
            "changes": lambda: (change.to_dict() for change in self.changes),
            "implied": lambda: ([k.brand, k.email, k.subscription_id] for k in self.implied),
        }
        scalars: dict[str, Any] = {
            "batch_size": self.batch_size,
            "managed": self.managed,
            "policy": policy_dict(self.policy),
            "target": self.target.checksum_dict(),
            "version": PLAN_FORMAT_VERSION,
        }
        digest = hashlib.sha256()
        separator = "{"
        for key in sorted([*lists, *scalars]):
            digest.update(f"{separator}{json.dumps(key)}:".encode("ascii"))
            separator = ","
            if key in scalars:
                digest.update(_canonical(scalars[key]).encode("ascii"))
                continue
            digest.update(b"[")
            items = lists[key]()
            comma = ""
            while chunk := list(itertools.islice(items, _CHUNK)):
                digest.update(comma.encode("ascii") + _canonical_list(chunk)[1:-1])
                comma = ","
            digest.update(b"]")
        digest.update(b"}")
        return "sha256:" + digest.hexdigest()


# Items per piece when a plan's long lists are hashed or written a part at a time.
_CHUNK = 1000


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _canonical_list(items: list[Any]) -> bytes:
    """:func:`_canonical` of a list of flat dicts, in ASCII bytes: orjson writes the same
    text for texts, whole numbers, booleans and nulls (a fifth of the time), and a value
    beyond ASCII or with a DEL, which it would not escape, goes the standard library's
    way."""
    try:
        text = orjson.dumps(items, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits, a lone surrogate
        return _canonical(items).encode("ascii")
    return text if same_as_ascii_json(text) else _canonical(items).encode("ascii")


def same_as_ascii_json(text: bytes) -> bool:
    """Whether orjson's ``text`` is what the standard library writes with
    ``ensure_ascii=True``: it is unless it holds a character beyond ASCII (which the
    standard library escapes) or a DEL (which only the standard library escapes)."""
    return text.isascii() and b"\x7f" not in text


def subscribers_of(changes: Iterable[Change]) -> dict[int, list[str]]:
    """The subscribers of ``changes``, per brand, each list sorted (a read's input)."""
    found: dict[int, set[str]] = {}
    for change in changes:
        found.setdefault(change.brand, set()).add(change.email)
    return {brand: sorted(emails) for brand, emails in sorted(found.items())}


def policy_dict(policy: Policy) -> dict[str, float | int | bool]:
    """The thresholds a plan carries (``policy`` of a saved plan; :func:`policy_from_dict`
    reads it back). ``revert_newer_changes`` is written only when set, so plans saved
    before it existed keep their checksum."""
    out: dict[str, float | int | bool] = {
        "max_change_percent": policy.max_change_percent,
        "min_managed": policy.min_managed,
        "max_unsubscribe_all": policy.max_unsubscribe_all,
    }
    if policy.revert_newer_changes:
        out["revert_newer_changes"] = True
    return out


def policy_from_dict(data: Mapping[str, Any]) -> Policy:
    """The policy :func:`policy_dict` wrote."""
    return Policy(
        max_change_percent=data["max_change_percent"],
        min_managed=data["min_managed"],
        max_unsubscribe_all=data["max_unsubscribe_all"],
        revert_newer_changes=data.get("revert_newer_changes", False) is True,
    )


def _pack_calls(changes: Sequence[Change], batch_size: int) -> Iterator[Call]:
    """Pack changes into the fewest calls (docs/architecture.md#minimal-calls).

    Unsubscribe-alls go per brand in batches; the status writes of every brand share
    full batches in the order unsubscribes, not-specified, subscribes.
    """
    size = max(1, batch_size)
    per_brand: dict[int, list[int]] = {}
    writes: list[int] = []
    for index, change in enumerate(changes):
        if change.kind is ChangeKind.UNSUBSCRIBE_ALL:
            per_brand.setdefault(change.brand, []).append(index)
        else:
            writes.append(index)
    for brand in sorted(per_brand):
        indexes = per_brand[brand]
        for start in range(0, len(indexes), size):
            chunk = tuple(indexes[start : start + size])
            yield Call(CallOperation.UNSUBSCRIBE_ALL, brand, ChangeKind.UNSUBSCRIBE_ALL, chunk)
    writes.sort(key=lambda i: (changes[i].kind.order, changes[i].sort_key))
    for start in range(0, len(writes), size):
        chunk = tuple(writes[start : start + size])
        yield Call(CallOperation.WRITE, None, changes[chunk[-1]].kind, chunk)


def minimal_write_calls(plan: Plan) -> int:
    """⌈writes / batch⌉ + per brand ⌈unsubscribe-alls / batch⌉: the count apply must meet
    (in single mode the batch is 1: one call per change)."""
    writes = sum(1 for c in plan.changes if c.kind is not ChangeKind.UNSUBSCRIBE_ALL)
    per_brand: dict[int, int] = {}
    for change in plan.changes:
        if change.kind is ChangeKind.UNSUBSCRIBE_ALL:
            per_brand[change.brand] = per_brand.get(change.brand, 0) + 1
    size = 1 if plan.target.single else plan.batch_size
    return math.ceil(writes / size) + sum(math.ceil(n / size) for n in per_brand.values())


def policy_violations(plan: Plan, policy: Policy) -> list[str]:
    """The mass-change thresholds this plan exceeds, each said with its numbers.

    Blocked pairs and implied per-subscription unsubscribes are not changes, so they do
    not count (docs/architecture.md#consent-rules).
    """
    problems: list[str] = []
    changes = len(plan.changes)
    if plan.managed >= policy.min_managed and plan.managed > 0:
        percent = 100.0 * changes / plan.managed
        if percent > policy.max_change_percent:
            allowed = math.floor(plan.managed * policy.max_change_percent / 100.0)
            problems.append(
                f"{changes} changes are {percent:.1f}% of {plan.managed} managed statuses "
                f"and opt-out flags, over max_change_percent {policy.max_change_percent:g}% "
                f"(at most {allowed} allowed, {changes - allowed} over)"
            )
    unsub_all = plan.summary.unsubscribe_all
    if unsub_all > policy.max_unsubscribe_all:
        problems.append(
            f"{unsub_all} unsubscribe-all exceed max_unsubscribe_all "
            f"{policy.max_unsubscribe_all} ({unsub_all - policy.max_unsubscribe_all} over)"
        )
    return problems


def guard_refusal(plan: Plan) -> str | None:
    """What the plan's summary says when apply's mass-change guard will refuse it (the
    same thresholds as :func:`policy_violations`, said in short), or None when it passes.

    ``apply will refuse this plan without --allow-mass-change: 68 changes are 32.2% of
    211 managed statuses (max_change_percent 30)``; reviewers learn it before the merge.
    """
    policy = plan.policy
    parts: list[str] = []
    changes = len(plan.changes)
    if plan.managed >= policy.min_managed and plan.managed > 0:
        percent = 100.0 * changes / plan.managed
        if percent > policy.max_change_percent:
            parts.append(
                f"{changes} changes are {percent:.1f}% of {plan.managed} managed statuses "
                f"and opt-out flags (max_change_percent {policy.max_change_percent:g})"
            )
    unsub_all = plan.summary.unsubscribe_all
    if unsub_all > policy.max_unsubscribe_all:
        parts.append(
            f"{unsub_all} unsubscribe-all are more than max_unsubscribe_all "
            f"{policy.max_unsubscribe_all}"
        )
    if not parts:
        return None
    return "apply will refuse this plan without --allow-mass-change: " + "; ".join(parts)
