"""The model: frozen values that flow between the rooms of hsprefs.

``config`` produces a :class:`DesiredState`, ``client`` produces a :class:`LiveState`
(and :class:`WriteResult` values for writes), ``diff`` turns both into a plan. Nothing in
this module does I/O or imports another part of the package.

Natural keys: a managed status is a :class:`PairKey` (brand, email, subscription id); an
opt-out of all email of a brand is a :class:`SubscriberKey` (brand, email). Both sort by
brand first, then email, then subscription, which is the order of every output. Keys,
:class:`Location` and the live values (:class:`LiveStatus`, :class:`LiveOptOut`) are
named tuples rather than dataclasses: a big portal makes, hashes, compares and sorts
hundreds of thousands of them, and a tuple does that in C (a frozen dataclass calls
Python code for each field). A key equals a plain tuple of the same fields, so no
mapping may mix keys with other tuples (a lookup by a plain tuple finds its key, which
the client's reads use); a live value is changed with ``_replace``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple, TypeVar

from reconciler.words import plural

__all__ = [
    "Counts",
    "Definition",
    "DesiredOptOut",
    "DesiredState",
    "DesiredStatus",
    "LiveOptOut",
    "LiveState",
    "LiveStatus",
    "Location",
    "Outcome",
    "PairKey",
    "Policy",
    "PortalSettings",
    "Status",
    "StatusWrite",
    "SubscriberKey",
    "SubscriptionRef",
    "WriteResult",
    "normalise_email",
    "valid_email",
]


class Status(StrEnum):
    """A subscription status as HubSpot's v4 / date-versioned API spells it."""

    SUBSCRIBED = "SUBSCRIBED"
    UNSUBSCRIBED = "UNSUBSCRIBED"
    NOT_SPECIFIED = "NOT_SPECIFIED"

    @classmethod
    def parse(cls, value: str) -> Status:
        """Read a status from the API or the config language (v3's NOT_SUBSCRIBED included)."""
        text = value.strip().upper().replace("-", "_")
        if text == "NOT_SUBSCRIBED":
            return cls.UNSUBSCRIBED
        return cls(text)


_K = TypeVar("_K")
_V = TypeVar("_V")


class Shared(dict[_K, _V]):
    """Raw value -> parsed value, each distinct one parsed once and then shared.

    Big answers and big saved plans repeat the same few ids, timestamps, sources and
    legal bases thousands of times. A missing key is parsed by ``parse`` and kept while
    there are fewer than ``limit`` (so a hostile server cannot grow it without limit).
    Callers look up only keys of one exact type (``type(key) is str``): ``True == 1``
    and ``1 == 1.0`` must not share an entry.
    """

    def __init__(self, parse: Callable[[_K], _V], limit: int = 100_000) -> None:
        super().__init__()
        self._parse = parse
        self._limit = limit

    def __missing__(self, raw: _K) -> _V:
        parsed = self._parse(raw)
        if len(self) < self._limit:
            self[raw] = parsed
        return parsed


def normalise_email(email: str) -> str:
    """Emails are compared trimmed and lower-cased (docs/architecture.md#config-language).

    An address already in that form comes back as the same object, so that the many
    values of one subscriber share one string."""
    text = email.strip().lower()
    return email if text == email else text


# A pragmatic address check, shared by the config language and export so that export
# never writes an address validate would reject: a dot-atom local part and a domain
# with at least two labels, checked after normalisation (lower case).
_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
)


def valid_email(email: str) -> bool:
    """Whether a normalised address is acceptable (syntax and lengths)."""
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        return False
    return len(email.partition("@")[0]) <= 64


class Location(NamedTuple):
    """A 1-based position in a config file."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class SubscriberKey(NamedTuple):
    """One subscriber in one brand (business unit)."""

    brand: int
    email: str


class PairKey(NamedTuple):
    """One managed status: a subscriber's status for one subscription of one brand."""

    brand: int
    email: str
    subscription_id: str

    @property
    def subscriber(self) -> SubscriberKey:
        return SubscriberKey(self.brand, self.email)


@dataclass(frozen=True, slots=True)
class SubscriptionRef:
    """A subscription alias of the project file: by ``id``, or by ``name`` (resolved online)."""

    alias: str
    brand: int = 0
    id: str | None = None
    name: str | None = None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class PortalSettings:
    """The ``portal`` section of the project file."""

    id: int | None = None
    gdpr: bool = False
    api_version: str | None = None
    api_mode: str | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """Safety thresholds of the mass-change guard (docs/architecture.md#consent-rules)."""

    max_change_percent: float = 30.0
    min_managed: int = 10
    max_unsubscribe_all: int = 50
    # Configs meant to win always: a newer change in HubSpot is reverted, not blocked.
    revert_newer_changes: bool = False


@dataclass(frozen=True, slots=True)
class DesiredStatus:
    """What the config says one (brand, email, subscription) should be, and the evidence.

    ``legal_basis`` and ``legal_basis_explanation`` may be inherited from defaults (they
    go into the write either way); ``own_evidence`` is True only when both were written
    on the setting itself. A resubscribe needs its own evidence
    (docs/architecture.md#consent-rules): a default is not proof that this person
    consented again.

    When it was declared (the newer-change rule, docs/architecture.md#consent-rules):
    ``location`` is its declaring line, through ``last_line`` for a long form; for a
    group member ``set_location`` is the group's setting line too. ``as_of`` is the
    entry's own date, which overrides the history. ``declared_at`` is that time when it
    is known here (a saved plan's change; from git, :attr:`DesiredState.declared` holds
    it): None counts as now.
    """

    key: PairKey
    status: Status
    alias: str | None = None
    resubscribe: bool = False
    consented_at: datetime | None = None
    legal_basis: str | None = None
    legal_basis_explanation: str | None = None
    location: Location | None = None
    own_evidence: bool = False
    as_of: datetime | None = None
    last_line: int = 0
    set_location: Location | None = None
    declared_at: datetime | None = None
    # Which legal fields the setting wrote itself (False: inherited from defaults); two
    # declarations of one pair may differ only in inherited ones, and only when the
    # value is not subscribed (docs/config.md#precedence-and-conflicts).
    basis_written: bool = False
    explanation_written: bool = False


@dataclass(frozen=True, slots=True)
class DesiredOptOut:
    """An ``unsubscribe_all`` declaration: True means opted out of all email of the brand."""

    key: SubscriberKey
    unsubscribe_all: bool
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class Counts:
    """What a config manages, in the words every command uses
    (docs/plan-and-apply.md#counts): subscribers (addresses, once whatever their
    brands), managed statuses (declared subscriber, brand and subscription) and opt-out
    flags (declared ``unsubscribe_all``, true or false, per subscriber and brand)."""

    subscribers: int = 0
    statuses: int = 0
    opt_out_flags: int = 0

    @property
    def managed(self) -> int:
        """Managed statuses and opt-out flags: what the mass-change guard counts against."""
        return self.statuses + self.opt_out_flags

    def line(self) -> str:
        """``10 subscribers, 12 managed statuses, 3 opt-out flags``."""
        return (
            f"{plural(self.subscribers, 'subscriber')}, "
            f"{plural(self.statuses, 'managed status', 'managed statuses')}, "
            f"{plural(self.opt_out_flags, 'opt-out flag')}"
        )


def _frozen(mapping: Mapping[object, object] | None) -> Mapping[object, object]:
    if isinstance(mapping, MappingProxyType):
        # Already frozen (by a value this module made, over a copy of its own):
        # ``dataclasses.replace`` of a big state need not copy and re-hash it.
        return mapping
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class DesiredState:
    """Everything the config declares, keyed by natural keys.

    Aliases given by name only are not resolved by the loader: their statuses are keyed
    with the alias in ``PairKey.subscription_id`` and the alias is listed in
    ``unresolved``. :meth:`bind` swaps in the definition ids read from HubSpot.
    """

    statuses: Mapping[PairKey, DesiredStatus] = field(default_factory=dict)
    opt_outs: Mapping[SubscriberKey, DesiredOptOut] = field(default_factory=dict)
    subscriptions: Mapping[str, SubscriptionRef] = field(default_factory=dict)
    portal: PortalSettings = field(default_factory=PortalSettings)
    policy: Policy = field(default_factory=Policy)
    files: tuple[str, ...] = ()
    digest: str = ""
    unresolved: frozenset[str] = frozenset()
    # The project's ``brands:`` names by brand id (reports show them beside the ids).
    brand_names: Mapping[int, str] = field(default_factory=dict)
    # When git says the statuses were declared (the newer-change rule), from
    # :func:`reconciler.config.date_declarations`: a time, or None when the history
    # cannot tell (a shallow clone); a status not listed counts as declared now. Kept
    # apart from the statuses so that dating 100,000 of them builds no new values.
    declared: Mapping[PairKey, datetime | None] = field(default_factory=dict)
    # What the plan says once about dating declarations (not a git repository, a
    # shallow clone).
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "brand_names", _frozen(self.brand_names))  # type: ignore[arg-type]
        object.__setattr__(self, "statuses", _frozen(self.statuses))  # type: ignore[arg-type]
        object.__setattr__(self, "opt_outs", _frozen(self.opt_outs))  # type: ignore[arg-type]
        object.__setattr__(self, "subscriptions", _frozen(self.subscriptions))  # type: ignore[arg-type]
        object.__setattr__(self, "declared", _frozen(self.declared))  # type: ignore[arg-type]

    def counts(self) -> Counts:
        """Subscribers, managed statuses and opt-out flags (:class:`Counts`)."""
        emails = {key.email for key in self.statuses} | {key.email for key in self.opt_outs}
        return Counts(len(emails), len(self.statuses), len(self.opt_outs))

    def read_scope(self) -> ReadScope:
        """What a plan's read keeps: the declared pairs and the declared flags."""
        return ReadScope({key: key for key in self.statuses}, self.opt_outs)

    def subscribers(self) -> dict[int, list[str]]:
        """Declared subscribers per brand, each list sorted: the set that plan reads."""
        found: dict[int, set[str]] = {}
        for pair in self.statuses:
            found.setdefault(pair.brand, set()).add(pair.email)
        for sub in self.opt_outs:
            found.setdefault(sub.brand, set()).add(sub.email)
        return {brand: sorted(emails) for brand, emails in sorted(found.items())}

    def bind(self, ids_by_alias: Mapping[str, str]) -> DesiredState:
        """Return a copy whose name-only aliases are replaced by definition ids."""
        if not self.unresolved:
            return self
        statuses: dict[PairKey, DesiredStatus] = {}
        for key, want in self.statuses.items():
            if want.alias in self.unresolved and want.alias in ids_by_alias:
                new_key = PairKey(key.brand, key.email, ids_by_alias[want.alias])
                statuses[new_key] = replace(want, key=new_key)
            else:
                statuses[key] = want
        subscriptions = {
            alias: (
                replace(ref, id=ids_by_alias[alias])
                if alias in ids_by_alias and ref.id is None
                else ref
            )
            for alias, ref in self.subscriptions.items()
        }
        return replace(
            self,
            statuses=statuses,
            subscriptions=subscriptions,
            unresolved=frozenset(a for a in self.unresolved if a not in ids_by_alias),
        )


@dataclass(frozen=True, slots=True)
class Definition:
    """A subscription type as ``GET /definitions`` describes it (``id`` as a string)."""

    id: str
    name: str
    brand: int = 0
    is_active: bool = True
    purpose: str | None = None
    description: str | None = None
    is_default: bool = False
    is_internal: bool = False
    communication_method: str | None = None


class LiveStatus(NamedTuple):
    """A status as HubSpot reports it. A pair HubSpot does not list reads as NOT_SPECIFIED.

    A named tuple, like the keys: a plan parses one per status HubSpot lists."""

    key: PairKey
    status: Status
    timestamp: datetime | None = None
    source: str | None = None
    legal_basis: str | None = None
    legal_basis_explanation: str | None = None
    subscription_name: str | None = None

    @property
    def never_set(self) -> bool:
        """NOT_SPECIFIED as nobody ever set it: HubSpot's source for that is "Not
        specified" (or none). Its timestamp means nothing HubSpot documents: it may be
        a fixed date or the moment of the read, so nothing may depend on it."""
        if self.status is not Status.NOT_SPECIFIED:
            return False
        return self.source is None or self.source.strip().lower() in _NEVER_SET_SOURCES


# The sources HubSpot (and older emulators) give a status nobody set.
_NEVER_SET_SOURCES = frozenset({"not specified", "default", ""})


class LiveOptOut(NamedTuple):
    """The wide (unsubscribe-all) status of a subscriber for one brand (a named tuple)."""

    key: SubscriberKey
    opted_out: bool
    timestamp: datetime | None = None
    wide_status_type: str | None = None


class ReadScope(NamedTuple):
    """What a read keeps of HubSpot's answers (``HubSpotClient.read(keep=...)``): the
    statuses of ``pairs``, each keyed by the key object ``pairs`` maps it to, and the
    wide statuses that are opt-outs or belong to a subscriber in ``flags``. The rest is
    dropped as it is parsed: a diff or a check of the same pairs never looks at it, and
    at a million subscribers it would be hundreds of megabytes. A subscriber whose wide
    status is dropped reads as not opted out, which is what it said."""

    pairs: Mapping[PairKey, PairKey]
    flags: Container[SubscriberKey] = frozenset()


@dataclass(frozen=True, slots=True)
class LiveState:
    """What HubSpot says about the subscribers that were read."""

    statuses: Mapping[PairKey, LiveStatus] = field(default_factory=dict)
    opt_outs: Mapping[SubscriberKey, LiveOptOut] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "statuses", _frozen(self.statuses))  # type: ignore[arg-type]
        object.__setattr__(self, "opt_outs", _frozen(self.opt_outs))  # type: ignore[arg-type]

    def status_of(self, key: PairKey) -> Status:
        """The live status of a pair; a pair HubSpot did not list is NOT_SPECIFIED."""
        live = self.statuses.get(key)
        return live.status if live is not None else Status.NOT_SPECIFIED

    def opted_out(self, key: SubscriberKey) -> bool:
        """Whether the subscriber has opted out of all email of the brand."""
        live = self.opt_outs.get(key)
        return live is not None and live.opted_out

    @classmethod
    def merge(cls, parts: Iterable[LiveState]) -> LiveState:
        statuses: dict[PairKey, LiveStatus] = {}
        opt_outs: dict[SubscriberKey, LiveOptOut] = {}
        for part in parts:
            statuses.update(part.statuses)
            opt_outs.update(part.opt_outs)
        return cls(statuses=statuses, opt_outs=opt_outs)


@dataclass(frozen=True, slots=True, order=True)
class StatusWrite:
    """One input of a batch write: set ``subscription_id`` of ``email`` to ``status``."""

    brand: int
    email: str
    subscription_id: str
    status: Status
    legal_basis: str | None = None
    legal_basis_explanation: str | None = None

    @property
    def key(self) -> PairKey:
        return PairKey(self.brand, self.email, self.subscription_id)


class Outcome(StrEnum):
    """What HubSpot said about one input of a batch call."""

    CONFIRMED = "confirmed"  # listed in results[] of a COMPLETE batch
    FAILED = "failed"  # an error named this input
    UNCONFIRMED = "unconfirmed"  # neither: verification decides
    # not applied: the caller asked to stop before the call left, or before a retry of a
    # call HubSpot had not acted on (answered 429, or never connected)
    NOT_SENT = "not_sent"


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The per-input answer of a batch write or unsubscribe-all.

    ``target`` is the :class:`StatusWrite` sent, or the :class:`SubscriberKey` of an
    unsubscribe-all. ``reason`` is HubSpot's ``setStatusSuccessReason`` when confirmed,
    ``error`` its message when failed.
    """

    target: StatusWrite | SubscriberKey
    outcome: Outcome
    reason: str | None = None
    error: str | None = None
    correlation_id: str | None = None
    statuses: tuple[LiveStatus, ...] = ()
