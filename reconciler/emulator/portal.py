"""HubSpot's subscription semantics over the store: reads, writes, opt-outs of all.

This is where the emulator decides what HubSpot would do: which statuses a subscriber
reads as, what a write changes and which ``setStatusSuccessReason`` it answers, what
an unsubscribe-all flips, when GDPR needs a legal basis, and when an opt-out of all is
cleared. Per-input problems raise :class:`ItemError`, which callers turn into one entry
of a batch's ``errors[]`` (or a 400 for single-subscriber calls). Callers hold a store
transaction around writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconciler.emulator.clock import Clock
from reconciler.emulator.seed import LEGAL_BASES, STATUSES, BrandSeed, DefinitionSeed, Seed
from reconciler.emulator.store import StatusRow, Store, WideRow

__all__ = [
    "NOT_SET_SOURCE",
    "ItemError",
    "Portal",
    "PortalView",
]

# Source reported for a status nobody ever set: HubSpot's v4 guide shows "Not specified".
NOT_SET_SOURCE = "Not specified"

SUBSCRIBED = "SUBSCRIBED"
UNSUBSCRIBED = "UNSUBSCRIBED"
NOT_SPECIFIED = "NOT_SPECIFIED"


class ItemError(Exception):
    """One input failed; the others of its batch go on."""

    def __init__(
        self,
        message: str,
        *,
        context: Mapping[str, Sequence[str]] | None = None,
        category: str = "VALIDATION_ERROR",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.category = category
        self.context = {k: list(v) for k, v in (context or {}).items()}


@dataclass(frozen=True, slots=True)
class PortalView:
    """The static part of the portal (from its seed), indexed for lookups."""

    seed: Seed
    brands: Mapping[int, BrandSeed]
    definitions: Mapping[str, DefinitionSeed]
    by_brand: Mapping[int, tuple[DefinitionSeed, ...]]
    tokens: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, seed: Seed) -> PortalView:
        by_brand: dict[int, list[DefinitionSeed]] = {b.id: [] for b in seed.brands}
        for d in seed.definitions:
            by_brand.setdefault(d.brand, []).append(d)
        return cls(
            seed=seed,
            brands={b.id: b for b in seed.brands},
            definitions={d.id: d for d in seed.definitions},
            by_brand={b: tuple(ds) for b, ds in by_brand.items()},
            tokens={t.token: t.scopes for t in seed.tokens},
        )

    def wide_type(self, brand: int) -> str:
        """PORTAL_WIDE for brand 0 of a portal without brands, else BUSINESS_UNIT_WIDE."""
        return "PORTAL_WIDE" if brand == 0 and len(self.brands) == 1 else "BUSINESS_UNIT_WIDE"


def _default_row(email: str, d: DefinitionSeed, at: str | None = None) -> StatusRow:
    # A status nobody set reads as NOT_SPECIFIED dated at the definition's creation (so
    # repeated reads never look like a change), or at ``at`` (the request: HubSpot's
    # guide shows a timestamp without saying what it means).
    return StatusRow(email, d.id, NOT_SPECIFIED, at or d.created_at, NOT_SET_SOURCE)


class Portal:
    """The semantics of one emulated portal."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        assert store.seed is not None, "the store must be seeded first"
        self.view = PortalView.of(store.seed)

    def refresh(self) -> None:
        """Re-read the static portal after the store was (re)seeded."""
        assert self.store.seed is not None
        self.view = PortalView.of(self.store.seed)

    @property
    def gdpr(self) -> bool:
        return self.view.seed.gdpr

    def listed(self, brand: int, rows: Mapping[str, StatusRow]) -> list[DefinitionSeed]:
        """The subscriptions a read lists: active ones, plus inactive ones with a status."""
        return [d for d in self.view.by_brand.get(brand, ()) if d.active or d.id in rows]

    def read(
        self, emails: Sequence[str], brand: int | None, *, never_set_at: str | None = None
    ) -> dict[str, list[StatusRow]]:
        """Each subscriber's statuses in one brand (every brand when None); unknown pairs
        read NOT_SPECIFIED, dated ``never_set_at`` when given."""
        stored = self.store.statuses(emails)
        brands = [brand] if brand is not None else sorted(self.view.by_brand)
        out: dict[str, list[StatusRow]] = {}
        for email in emails:
            rows = stored.get(email, {})
            out[email] = [
                rows.get(d.id) or _default_row(email, d, never_set_at)
                for b in brands
                for d in self.listed(b, rows)
            ]
        return out

    def read_wide(self, emails: Sequence[str], brand: int, style: str) -> dict[str, list[WideRow]]:
        """Each subscriber's wide status in one brand, as a list of zero or one entries.

        A stored row is listed as it is. With ``style == "explicit"`` someone without
        a row reads as an explicit SUBSCRIBED entry dated at the portal's creation;
        with ``"empty"`` they read as an empty list and SUBSCRIBED rows are hidden too,
        so "not opted out" always looks the same within one style.
        """
        stored = self.store.wide(emails, brand)
        out: dict[str, list[WideRow]] = {}
        for email in emails:
            row = stored.get(email)
            if style == "explicit":
                row = row or WideRow(
                    email, brand, SUBSCRIBED, self.view.seed.created_at, NOT_SET_SOURCE
                )
                out[email] = [row]
            else:
                out[email] = [row] if row is not None and row.status != SUBSCRIBED else []
        return out

    def definition(self, subscription_id: object, *, brand: int | None = None) -> DefinitionSeed:
        """The definition a write names, or an ItemError saying why it cannot be used."""
        key = str(subscription_id)
        d = self.view.definitions.get(key)
        context = {"subscriptionId": [key]}
        if d is None:
            raise ItemError(
                f"Subscription {key} does not exist in portal {self.view.seed.portal_id}",
                context=context,
            )
        if brand is not None and d.brand != brand:
            raise ItemError(
                f"Subscription {key} belongs to business unit {d.brand}, not {brand}",
                context={**context, "businessUnitId": [str(brand)]},
            )
        return d

    def write(
        self,
        email: str,
        subscription_id: object,
        state: str,
        legal_basis: str | None,
        explanation: str | None,
        *,
        source: str,
        brand: int | None = None,
        basis_for_every: bool = False,
    ) -> tuple[StatusRow, DefinitionSeed, str]:
        """Set one status; returns the stored row, its definition and the success reason.

        On a GDPR portal a SUBSCRIBED write needs a legal basis; with ``basis_for_every``
        every write does."""
        d = self.definition(subscription_id, brand=brand)
        context = {"subscriberIdString": [email], "subscriptionId": [d.id]}
        if state not in STATUSES:
            raise ItemError(
                f"statusState must be one of {', '.join(STATUSES)}; got {state!r}", context=context
            )
        if legal_basis is not None and legal_basis not in LEGAL_BASES:
            raise ItemError(
                f"legalBasis must be one of {', '.join(LEGAL_BASES)}; got {legal_basis!r}",
                context=context,
            )
        if not d.active:
            raise ItemError(f"Subscription {d.id} is not active", context=context)
        wide = self.store.wide([email], d.brand).get(email)
        opted_out = wide is not None and wide.status == UNSUBSCRIBED
        has_basis = bool(legal_basis) and bool(explanation and explanation.strip())
        if state == SUBSCRIBED and self.gdpr and not has_basis:
            raise ItemError(
                "A legal basis (legalBasis and legalBasisExplanation) is required to subscribe "
                "a contact while data privacy settings are on",
                context=context,
            )
        if basis_for_every and self.gdpr and not has_basis:
            raise ItemError(
                "A legal basis (legalBasis and legalBasisExplanation) is required to update "
                "a subscription status while data privacy settings are on",
                context=context,
            )
        if state == SUBSCRIBED and opted_out and not has_basis:
            raise ItemError(
                f"{email} has opted out of all email of business unit {d.brand}; a resubscribe "
                "needs legalBasis and legalBasisExplanation",
                context=context,
            )
        current = self.store.statuses([email]).get(email, {}).get(d.id) or _default_row(email, d)
        if current.status == state and not (state == SUBSCRIBED and opted_out):
            return current, d, "NO_STATUS_CHANGE"
        stamp = self.clock.tick()
        subscribed = state == SUBSCRIBED
        row = StatusRow(
            email,
            d.id,
            state,
            stamp,
            source,
            legal_basis if subscribed else None,
            explanation if subscribed else None,
        )
        self.store.put_statuses([row])
        if subscribed and opted_out:
            # docs/architecture.md#the-emulator: a SUBSCRIBED write with legal basis
            # clears the opt-out of all.
            self.store.put_wide(WideRow(email, d.brand, SUBSCRIBED, stamp, source))
        if subscribed and (current.status == UNSUBSCRIBED or opted_out):
            return row, d, "RESUBSCRIBE_OCCURRED"
        return row, d, "REQUESTED_CHANGE_OCCURRED"

    def unsubscribe_all(
        self, email: str, brand: int, *, source: str
    ) -> list[tuple[StatusRow, DefinitionSeed, str]]:
        """Opt a subscriber out of all email of a brand; every listed status is flipped."""
        stamp = self.clock.tick()
        wide = self.store.wide([email], brand).get(email)
        if wide is None or wide.status != UNSUBSCRIBED:
            self.store.put_wide(WideRow(email, brand, UNSUBSCRIBED, stamp, source))
        rows = self.store.statuses([email]).get(email, {})
        results: list[tuple[StatusRow, DefinitionSeed, str]] = []
        changed: list[StatusRow] = []
        for d in self.listed(brand, rows):
            current = rows.get(d.id) or _default_row(email, d)
            if current.status == UNSUBSCRIBED:
                results.append((current, d, "NO_STATUS_CHANGE"))
                continue
            row = StatusRow(email, d.id, UNSUBSCRIBED, stamp, source)
            changed.append(row)
            results.append((row, d, "UNSUBSCRIBE_FROM_ALL_OCCURRED"))
        self.store.put_statuses(changed)
        return results

    def opted_out_brands(self, email: str) -> dict[int, WideRow]:
        """The brands a subscriber has opted out of all email of."""
        return {w.brand: w for w in self.store.wide_all_brands(email) if w.status == UNSUBSCRIBED}

    def all_statuses(self, email: str) -> dict[str, StatusRow]:
        """Every stored status of one subscriber, by subscription id."""
        return self.store.statuses([email]).get(email, {})
