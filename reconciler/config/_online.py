"""Checks against HubSpot's subscription definitions (``validate --online``, plan, apply).

Pure functions over a :class:`~reconciler.model.DesiredState` and the definitions a
client read; no I/O here.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.config._files import PROJECT_FILE
from reconciler.config._text import quote, suggest
from reconciler.errors import ConfigError, Finding
from reconciler.model import Definition, DesiredState, Location, SubscriptionRef

__all__ = ["check_definitions", "resolve_aliases"]


def _at(ref: SubscriptionRef, message: str, severity: str = "error") -> Finding:
    where = ref.location or Location(PROJECT_FILE, 1, 1)
    return Finding(where.file, where.line, where.column, message, severity, "definition")


def _bind(
    ref: SubscriptionRef, definitions: Sequence[Definition]
) -> tuple[Definition | None, list[Finding]]:
    alias = quote(ref.alias, 40)
    if ref.id is not None:
        match = next((d for d in definitions if d.id == ref.id), None)
        if match is None:
            return None, [
                _at(
                    ref,
                    f"the alias {alias} names subscription id {ref.id}, which is not a "
                    "subscription definition of this portal; check it with "
                    "'hsprefs definitions'",
                )
            ]
        found: list[Finding] = []
        if ref.name is not None and ref.name != match.name:
            found.append(
                _at(
                    ref,
                    f"the alias {alias} says name {quote(ref.name, 60)}, but definition "
                    f"{match.id} is called {quote(match.name, 60)}; fix the name or the id",
                )
            )
        return match, found
    name = ref.name or ""
    named = [d for d in definitions if d.name == name]
    here = [d for d in named if d.brand == ref.brand]
    if len(here) == 1:
        return here[0], []
    if len(here) > 1:
        ids = ", ".join(sorted(d.id for d in here))
        return None, [
            _at(
                ref,
                f"the alias {alias}: several definitions are named {quote(name, 60)} in "
                f"business unit {ref.brand} (ids {ids}); give the id instead of the name",
            )
        ]
    if named:
        brands = ", ".join(sorted({str(d.brand) for d in named}))
        return None, [
            _at(
                ref,
                f"the alias {alias}: no definition named {quote(name, 60)} in business unit "
                f"{ref.brand}, but there is one in business unit {brands}; set its "
                "business_unit",
            )
        ]
    hint = suggest(name, sorted({d.name for d in definitions if d.brand == ref.brand}))
    return None, [
        _at(
            ref,
            f"the alias {alias}: no subscription definition is named {quote(name, 60)}"
            f"{hint}; check the names with 'hsprefs definitions'",
        )
    ]


def check_definitions(desired: DesiredState, definitions: Sequence[Definition]) -> list[Finding]:
    """Every problem binding the project's aliases to HubSpot's definitions.

    An alias whose id or name matches no definition, whose brand is not the
    definition's, whose name is ambiguous, or that lands on the same definition as
    another alias is an error; an inactive definition is a warning.
    """
    findings: list[Finding] = []
    taken: dict[str, str] = {}
    for alias in sorted(desired.subscriptions):
        ref = desired.subscriptions[alias]
        match, problems = _bind(ref, definitions)
        findings.extend(problems)
        if match is None:
            continue
        if match.brand != ref.brand:
            findings.append(
                _at(
                    ref,
                    f"the alias {quote(alias, 40)} is for business unit {ref.brand}, but "
                    f"definition {match.id} ({quote(match.name, 60)}) belongs to business "
                    f"unit {match.brand}; set business_unit: {match.brand}",
                )
            )
        other = taken.setdefault(match.id, alias)
        if other != alias:
            findings.append(
                _at(
                    ref,
                    f"the aliases {quote(other, 40)} and {quote(alias, 40)} both refer to "
                    f"definition {match.id} ({quote(match.name, 60)}); keep one alias per "
                    "subscription",
                )
            )
        if not match.is_active:
            findings.append(
                _at(
                    ref,
                    f"definition {match.id} ({quote(match.name, 60)}) of the alias "
                    f"{quote(alias, 40)} is not active in HubSpot",
                    "warning",
                )
            )
    return sorted(findings, key=lambda f: (f.file, f.line, f.column, f.message))


def resolve_aliases(desired: DesiredState, definitions: Sequence[Definition]) -> DesiredState:
    """Bind name-only aliases to definition ids; :class:`ConfigError` if any does not bind."""
    errors = [f for f in check_definitions(desired, definitions) if f.severity == "error"]
    if errors:
        raise ConfigError(errors)
    ids: dict[str, str] = {}
    for alias in desired.unresolved:
        ref = desired.subscriptions.get(alias)
        if ref is None:
            continue
        match, _problems = _bind(ref, definitions)
        if match is not None:
            ids[alias] = match.id
    return desired.bind(ids)
