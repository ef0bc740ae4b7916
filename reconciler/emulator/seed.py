"""The seed format: a portal, its brands, definitions, tokens and starting statuses.

A seed is YAML, JSON or a mapping (``examples/emulator-seed.yaml`` shows every key).
This module holds the checked values (:class:`Seed` and its parts) and
:data:`DEMO_SEED`, the built-in demo portal used when no seed is given; reading and
checking a document is :func:`reconciler.emulator._seedcheck.load_seed`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.knobs import DEFAULT_TOKEN

__all__ = [
    "DEFAULT_CREATED",
    "DEFAULT_SOURCE",
    "DEMO_SEED",
    "LEGAL_BASES",
    "STATUSES",
    "BrandSeed",
    "DefinitionSeed",
    "OptOutSeed",
    "Seed",
    "StatusSeed",
    "TokenSeed",
    "TranslationSeed",
    "is_text",
]

STATUSES = ("SUBSCRIBED", "UNSUBSCRIBED", "NOT_SPECIFIED")
LEGAL_BASES = (
    "CONSENT_WITH_NOTICE",
    "LEGITIMATE_INTEREST_CLIENT",
    "LEGITIMATE_INTEREST_OTHER",
    "LEGITIMATE_INTEREST_PQL",
    "NON_GDPR",
    "PERFORMANCE_OF_CONTRACT",
    "PROCESS_AND_STORE",
)
DEFAULT_CREATED = "2024-01-01T00:00:00Z"
DEFAULT_SOURCE = "Imported"


def is_text(value: str) -> bool:
    """Whether ``value`` can be stored as UTF-8 (no lone surrogates from JSON escapes)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class BrandSeed:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class TranslationSeed:
    language: str
    name: str
    description: str
    created_at: int  # epoch milliseconds, as the spec types it
    updated_at: int


@dataclass(frozen=True, slots=True)
class DefinitionSeed:
    id: str
    brand: int
    name: str
    description: str
    purpose: str | None
    communication_method: str | None
    active: bool
    default: bool
    internal: bool
    created_at: str
    updated_at: str
    translations: tuple[TranslationSeed, ...] = ()


@dataclass(frozen=True, slots=True)
class TokenSeed:
    token: str
    name: str
    scopes: tuple[str, ...]

    def __repr__(self) -> str:
        return f"TokenSeed(token=<redacted>, name={self.name!r}, scopes={self.scopes!r})"


@dataclass(frozen=True, slots=True)
class StatusSeed:
    email: str
    subscription: str
    status: str
    timestamp: str
    source: str
    legal_basis: str | None = None
    legal_basis_explanation: str | None = None


@dataclass(frozen=True, slots=True)
class OptOutSeed:
    email: str
    brand: int
    timestamp: str
    source: str


@dataclass(frozen=True, slots=True)
class Seed:
    """A checked seed; every email is normalised and every timestamp formatted."""

    portal_id: int
    gdpr: bool
    created_at: str
    time_zone: str
    currency: str
    brands: tuple[BrandSeed, ...]
    definitions: tuple[DefinitionSeed, ...]
    tokens: tuple[TokenSeed, ...]
    statuses: tuple[StatusSeed, ...]
    opt_outs: tuple[OptOutSeed, ...]
    # Marketing Hub tier: below "enterprise" HubSpot grants no batch scopes.
    tier: str = "enterprise"

    def to_dict(self, *, include_tokens: bool = True) -> dict[str, Any]:
        """The seed in its own format, as JSON; ``parse_seed`` reads it back unchanged."""
        out: dict[str, Any] = {
            "version": 1,
            "portal": {
                "id": self.portal_id,
                "gdpr": self.gdpr,
                "created_at": self.created_at,
                "time_zone": self.time_zone,
                "currency": self.currency,
                "tier": self.tier,
            },
            "brands": [{"id": b.id, "name": b.name} for b in self.brands],
            "definitions": [_definition_dict(d) for d in self.definitions],
            "statuses": [_status_dict(s) for s in self.statuses],
            "opt_outs": [
                {
                    "email": o.email,
                    "business_unit": o.brand,
                    "timestamp": o.timestamp,
                    "source": o.source,
                }
                for o in self.opt_outs
            ],
        }
        if include_tokens:
            out["tokens"] = [
                {"token": t.token, "name": t.name, "scopes": list(t.scopes)} for t in self.tokens
            ]
        return out


def _definition_dict(d: DefinitionSeed) -> dict[str, Any]:
    return {
        "id": d.id,
        "business_unit": d.brand,
        "name": d.name,
        "description": d.description,
        "purpose": d.purpose,
        "communication_method": d.communication_method,
        "active": d.active,
        "default": d.default,
        "internal": d.internal,
        "created_at": d.created_at,
        "updated_at": d.updated_at,
        "translations": [
            {
                "language": t.language,
                "name": t.name,
                "description": t.description,
                "created_at": t.created_at,
                "updated_at": t.updated_at,
            }
            for t in d.translations
        ],
    }


def _status_dict(s: StatusSeed) -> dict[str, Any]:
    return {
        "email": s.email,
        "subscription": s.subscription,
        "status": s.status,
        "timestamp": s.timestamp,
        "source": s.source,
        "legal_basis": s.legal_basis,
        "legal_basis_explanation": s.legal_basis_explanation,
    }


def _definition(
    id_: str, brand: int, name: str, description: str, purpose: str, *, active: bool = True
) -> dict[str, Any]:
    return {
        "id": id_,
        "business_unit": brand,
        "name": name,
        "description": description,
        "purpose": purpose,
        "communication_method": "Email",
        "active": active,
        "created_at": "2024-01-10T09:00:00Z",
        "updated_at": "2025-06-01T12:00:00Z",
    }


# The built-in demo portal: what `hsprefs emulator serve` starts with when the database
# is empty and no seed is given. examples/emulator-seed.yaml repeats it with statuses.
DEMO_SEED: Mapping[str, Any] = {
    "version": 1,
    "portal": {"id": 12345678, "gdpr": True, "created_at": DEFAULT_CREATED},
    "brands": [{"id": 0, "name": "Account"}, {"id": 5, "name": "Outdoor"}],
    "definitions": [
        _definition("101", 0, "Newsletter", "Our monthly newsletter.", "Marketing"),
        _definition("102", 0, "Product Updates", "News about features and releases.", "Product"),
        _definition("103", 0, "Events", "Invitations to webinars and meetups.", "Marketing"),
        _definition(
            "104",
            0,
            "Print Catalogue",
            "Retired: the printed catalogue is no longer sent.",
            "Marketing",
            active=False,
        ),
        _definition("201", 5, "Outdoor News", "Stories from the outdoor shop.", "Marketing"),
        _definition("202", 5, "Outdoor Offers", "Seasonal offers of the outdoor shop.", "Sales"),
    ],
    "tokens": [{"token": DEFAULT_TOKEN, "name": "demo", "scopes": "all"}],
    "statuses": [],
    "opt_outs": [],
}
