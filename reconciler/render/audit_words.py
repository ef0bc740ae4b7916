"""The audit in plain words, for people who do not know the tool or HubSpot's API.

Shared by the HTML and Markdown reports (and the JSON's ``meaning`` field): a brand by
its name (``Outdoor (5)``), a status as a sentence ("opted out of all email from
Outdoor" rather than ``BUSINESS_UNIT_WIDE``, "never set" rather than a date and the
``DEFAULT`` source), the legal basis HubSpot holds beside the one the config declares,
and a short line per verdict saying what it means.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC

from reconciler.audit import NOT_OPTED_OUT, OPTED_OUT, AuditItem, PairState

__all__ = [
    "LEGAL_BASES",
    "brand_label",
    "config_words",
    "hubspot_words",
    "legal_basis_words",
    "meaning",
    "since_words",
]

LEGAL_BASES = {
    "LEGITIMATE_INTEREST_PQL": "legitimate interest (product-qualified lead)",
    "LEGITIMATE_INTEREST_CLIENT": "legitimate interest (existing customer)",
    "PERFORMANCE_OF_CONTRACT": "performance of a contract",
    "CONSENT_WITH_NOTICE": "consent, with notice",
    "NON_GDPR": "not subject to the GDPR",
    "PROCESS_AND_STORE": "consent to process and store",
    "LEGITIMATE_INTEREST_OTHER": "legitimate interest (other)",
}
"""HubSpot's legal-basis codes in words (the code is shown beside them)."""

_STATUS = {
    "SUBSCRIBED": "subscribed",
    "UNSUBSCRIBED": "unsubscribed",
    "NOT_SPECIFIED": "not specified",
}


def brand_label(brand: int, names: Mapping[int, str]) -> str:
    """``Outdoor (5)`` with a name from the project, else ``brand 5``."""
    name = names.get(brand)
    return f"{name} ({brand})" if name else f"brand {brand}"


def _brand_name(brand: int, names: Mapping[int, str]) -> str:
    name = names.get(brand)
    return f"the {name} brand" if name else f"brand {brand}"


def config_words(item: AuditItem, names: Mapping[int, str]) -> str:
    """What the config declares, in words."""
    if item.subscription_id is None:
        if item.wanted == OPTED_OUT:
            return f"opted out of all email from {_brand_name(item.brand, names)}"
        return f"not opted out of all email from {_brand_name(item.brand, names)}"
    return _STATUS.get(item.wanted, item.wanted.lower())


def hubspot_words(item: AuditItem, names: Mapping[int, str]) -> str:
    """What HubSpot holds, in words: "never set" for a status nobody set."""
    if item.subscription_id is None:
        if item.live == OPTED_OUT:
            return f"opted out of all email from {_brand_name(item.brand, names)}"
        assert item.live == NOT_OPTED_OUT
        return f"not opted out of all email from {_brand_name(item.brand, names)}"
    if item.never_set:
        return "never set"
    return _STATUS.get(item.live, item.live.lower())


def since_words(item: AuditItem) -> str:
    """When and by what HubSpot says the live value was set ("" when never set)."""
    if item.never_set:
        return ""
    parts = []
    if item.live_timestamp is not None:
        parts.append(f"since {item.live_timestamp.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
    if item.live_source:
        parts.append(f"by {item.live_source}")
    return ", ".join(parts)


def legal_basis_words(basis: str | None, explanation: str | None) -> str:
    """``consent, with notice (CONSENT_WITH_NOTICE): "form #12"``; "none" without one."""
    if not basis and not explanation:
        return "none"
    text = f"{LEGAL_BASES.get(basis, basis)} ({basis})" if basis else "no legal basis code"
    return f'{text}: "{explanation}"' if explanation else text


_NEXT = {
    "subscribe": "subscribe them",
    "unsubscribe": "unsubscribe them",
    "not_specified": "set it back to not specified",
    "unsubscribe_all": "opt them out of all email of the brand",
    "implied": "unsubscribe them, as part of opting them out of all email",
}


def meaning(item: AuditItem) -> str:
    """A short line per verdict: what it means and what happens next."""
    if item.state is PairState.IN_SYNC:
        return "HubSpot holds what the config declares; nothing to do."
    if item.state is PairState.DRIFTED:
        action = _NEXT.get(item.action or "", "change it")
        return f"HubSpot differs from the config; the next apply will {action}."
    return (
        "HubSpot differs from the config, but the consent rules forbid the change, so "
        "apply sends nothing for it."
    )
