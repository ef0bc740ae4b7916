"""The project file (``hsprefs.yaml``) read into values: aliases, portal, policy, include.

Runs after schema validation and is defensive about the parts the schema rejected (they
were reported there): a malformed alias is still *known*, so subscriber files that use
it do not get a second, misleading "unknown alias" finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.config._text import quote
from reconciler.config._yaml import YamlList, YamlMap
from reconciler.errors import Finding
from reconciler.model import Location, Policy, PortalSettings, SubscriptionRef

__all__ = ["Include", "Project", "read_project", "whole"]

RESERVED = frozenset({"unsubscribe_all"})


@dataclass(frozen=True, slots=True)
class Include:
    """One ``include`` pattern and where it is written."""

    pattern: str
    line: int
    column: int


@dataclass(slots=True)
class Project:
    """What the project file declares, with findings about it."""

    file: str
    aliases: dict[str, SubscriptionRef] = field(default_factory=dict)
    known: frozenset[str] = frozenset()
    portal: PortalSettings = field(default_factory=PortalSettings)
    policy: Policy = field(default_factory=Policy)
    includes: list[Include] = field(default_factory=list)
    brand_names: dict[int, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def whole(value: Any) -> Any:
    """``5`` for ``5.0``; anything else unchanged.

    The schema refuses a whole number written as a float (see ``config_validator``), so
    such a config never loads; reading it as the number meant only keeps that one
    finding from causing misleading others (an alias of business unit 5 read as 0).
    """
    if type(value) is float and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


def _get(mapping: Any, key: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(mapping, dict):
        return None
    value = mapping.get(key)
    if isinstance(value, bool) and kind is not bool:
        return None
    if kind is int:
        value = whole(value)
    return value if isinstance(value, kind) else None


def _normalise_id(value: Any) -> str | None:
    value = whole(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 1:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        return str(int(value))
    return None


def read_project(root: Any, file: str) -> Project:
    """Interpret a schema-checked project document (tolerating the parts that failed)."""
    project = Project(file)
    if not isinstance(root, YamlMap):
        return project
    portal = root.get("portal")
    portal_id = _get(portal, "id", int)
    api_version = _get(portal, "api_version", str)
    api_mode = _get(portal, "api_mode", str)
    project.portal = PortalSettings(
        id=portal_id if portal_id is not None and portal_id >= 1 else None,
        gdpr=_get(portal, "gdpr", bool) is True,
        api_version=api_version if api_version in ("2026-03", "v4", "2026-09") else None,
        api_mode=api_mode if api_mode in ("auto", "batch", "single") else None,
    )
    project.policy = _policy(root.get("policy"))
    brands = root.get("brands")
    if isinstance(brands, dict):
        for key, name in brands.items():
            if isinstance(key, str) and key.isdigit() and isinstance(name, str) and name.strip():
                project.brand_names[int(key)] = name.strip()
    _aliases(project, root.get("subscriptions"))
    includes = root.get("include")
    if isinstance(includes, YamlList):
        for index, pattern in enumerate(includes):
            if isinstance(pattern, str) and pattern:
                line, column = includes.locs[index]
                project.includes.append(Include(pattern, line, column))
    return project


def _policy(raw: Any) -> Policy:
    default = Policy()
    percent = _get(raw, "max_change_percent", (int, float))
    managed = _get(raw, "min_managed", int)
    opt_outs = _get(raw, "max_unsubscribe_all", int)
    return Policy(
        max_change_percent=(
            float(percent)
            if percent is not None and 0 <= percent <= 100
            else default.max_change_percent
        ),
        min_managed=managed if managed is not None and managed >= 0 else default.min_managed,
        max_unsubscribe_all=(
            opt_outs if opt_outs is not None and opt_outs >= 0 else default.max_unsubscribe_all
        ),
        revert_newer_changes=_get(raw, "revert_newer_changes", bool) is True,
    )


def _aliases(project: Project, raw: Any) -> None:
    if not isinstance(raw, YamlMap):
        return
    project.known = frozenset(raw)
    by_id: dict[tuple[int, str], str] = {}
    by_name: dict[tuple[int, str], str] = {}
    for alias, spec in raw.items():
        line, column = raw.locs[alias][:2]
        where = Location(project.file, line, column)
        if alias in RESERVED:
            project.findings.append(
                Finding(
                    project.file,
                    line,
                    column,
                    f"{quote(alias)} is a reserved word and cannot be a subscription alias; "
                    "rename the alias",
                    code="reserved-alias",
                )
            )
            continue
        if not isinstance(spec, dict):
            continue
        brand = _get(spec, "business_unit", int)
        brand = brand if brand is not None and brand >= 0 else 0
        sub_id = _normalise_id(spec.get("id"))
        name = _get(spec, "name", str) or None
        if sub_id is None and name is None:
            continue  # the schema reported it
        ref = SubscriptionRef(alias=alias, brand=brand, id=sub_id, name=name, location=where)
        if sub_id is not None:
            other = by_id.get((brand, sub_id))
            if other is not None:
                project.findings.append(
                    Finding(
                        project.file,
                        line,
                        column,
                        f"aliases {quote(other)} and {quote(alias)} both name subscription "
                        f"{sub_id}; keep one alias per subscription",
                        code="duplicate-alias",
                    )
                )
                continue
            by_id[(brand, sub_id)] = alias
        elif name is not None:
            other = by_name.get((brand, name))
            if other is not None:
                project.findings.append(
                    Finding(
                        project.file,
                        line,
                        column,
                        f"aliases {quote(other)} and {quote(alias)} both name the subscription "
                        f"{quote(name)}; keep one alias per subscription",
                        code="duplicate-alias",
                    )
                )
                continue
            by_name[(brand, name)] = alias
        project.aliases[alias] = ref
    # A name-only alias is keyed by its alias until it is resolved; an alias that looks
    # like another alias's id would collide with it.
    ids = {sub_id for (_brand, sub_id) in by_id}
    for alias, ref in list(project.aliases.items()):
        if ref.id is None and alias in ids and ref.location is not None:
            project.findings.append(
                Finding(
                    project.file,
                    ref.location.line,
                    ref.location.column,
                    f"the alias {quote(alias)} is also the id of another subscription; "
                    "give it a name that is not a number",
                    code="duplicate-alias",
                )
            )
            del project.aliases[alias]
