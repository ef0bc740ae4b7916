"""Reading and checking a seed: every problem found, each at file:line:column.

:func:`load_seed` reads a seed file (through :mod:`reconciler.emulator._yamlloc`) or
takes a mapping, and :func:`parse_seed` checks it: :class:`SeedChecker` walks the
document, collects a :class:`~reconciler.errors.Finding` per problem and builds the
:class:`~reconciler.emulator.seed.Seed`. Every problem is reported at once, as one
:class:`~reconciler.errors.ConfigError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.emulator._yamlloc import load_located, position_of
from reconciler.emulator.clock import format_ts, parse_ts
from reconciler.emulator.emails import is_email
from reconciler.emulator.knobs import is_bearer_token
from reconciler.emulator.operations import ALL_SCOPES, SINGLE_SCOPES, TIERS
from reconciler.emulator.seed import (
    DEFAULT_CREATED,
    DEFAULT_SOURCE,
    DEMO_SEED,
    LEGAL_BASES,
    STATUSES,
    BrandSeed,
    DefinitionSeed,
    OptOutSeed,
    Seed,
    StatusSeed,
    TokenSeed,
    TranslationSeed,
)
from reconciler.errors import ConfigError, Finding

__all__ = ["SeedChecker", "load_seed", "parse_seed"]


class SeedChecker:
    """Collects every problem of one seed document; each names where it is."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.findings: list[Finding] = []

    def fail(self, container: object, key: object, path: str, message: str) -> None:
        line, column = position_of(container, key)
        self.findings.append(Finding(self.source, line, column, f"{path}: {message}"))

    def mapping(
        self, container: Any, key: Any, path: str, allowed: tuple[str, ...]
    ) -> Mapping[str, Any] | None:
        value = container[key]
        if not isinstance(value, Mapping):
            self.fail(container, key, path, "expected a mapping")
            return None
        for extra in sorted((str(k) for k in value if k not in allowed), key=str):
            self.fail(
                value, extra, f"{path}.{extra}", f"unknown key (allowed: {', '.join(allowed)})"
            )
        return value

    def items(self, doc: Mapping[str, Any], key: str) -> list[tuple[int, Any]]:
        value = doc.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(doc, key, key, "expected a list")
            return []
        return list(enumerate(value))

    def text(
        self, m: Mapping[str, Any], key: str, path: str, *, default: str | None = None
    ) -> str | None:
        value = m.get(key)
        if value is None:
            if default is None:
                self.fail(m, key, f"{path}.{key}", "is required")
            return default
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.fail(m, key, f"{path}.{key}", "expected text")
            return default
        return str(value)

    def optional_text(self, m: Mapping[str, Any], key: str, path: str) -> str | None:
        if m.get(key) is None:
            return None
        return self.text(m, key, path)

    def integer(
        self, m: Mapping[str, Any], key: str, path: str, *, default: int | None = None
    ) -> int | None:
        value = m.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(m, key, f"{path}.{key}", "expected a whole number of at least 0")
            return None
        return value

    def flag(self, m: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = m.get(key, default)
        if not isinstance(value, bool):
            self.fail(m, key, f"{path}.{key}", "expected true or false")
            return default
        return value

    def stamp(self, m: Mapping[str, Any], key: str, path: str, default: str) -> str:
        value = m.get(key)
        if value is None:
            return default
        try:
            return format_ts(parse_ts(value))
        except ValueError as exc:
            self.fail(m, key, f"{path}.{key}", f"{exc} (write e.g. 2026-03-01T10:00:00Z)")
            return default

    def email(self, m: Mapping[str, Any], path: str) -> str | None:
        value = self.text(m, "email", path)
        if value is None:
            return None
        if not is_email(value):
            self.fail(m, "email", f"{path}.email", f"{value!r} is not an email address")
            return None
        return value.strip().lower()

    def seed(self, data: Any) -> Seed | None:
        top = ("version", "portal", "brands", "definitions", "tokens", "statuses", "opt_outs")
        doc = self.mapping([data], 0, "seed", top)
        if doc is None:
            return None
        if doc.get("version", 1) != 1:
            self.fail(doc, "version", "version", "only version 1 exists")
        portal = (
            self.mapping(
                doc,
                "portal",
                "portal",
                ("id", "gdpr", "created_at", "time_zone", "currency", "tier"),
            )
            if "portal" in doc
            else None
        )
        if portal is None:
            if "portal" not in doc:
                self.fail(doc, "portal", "portal", "is required (at least its id)")
            return None
        portal_id = self.integer(portal, "id", "portal")
        if portal_id == 0:
            self.fail(portal, "id", "portal.id", "must be a positive number")
        created = self.stamp(portal, "created_at", "portal", format_ts(parse_ts(DEFAULT_CREATED)))
        brands = self.brands(doc)
        brand_ids = {b.id for b in brands}
        definitions = self.definitions(doc, brand_ids, created)
        by_id = {d.id: d for d in definitions}
        statuses = self.statuses(doc, by_id, created)
        opt_outs = self.opt_outs(doc, brand_ids, by_id, statuses, created)
        tier = self.text(portal, "tier", "portal", default="enterprise") or "enterprise"
        if tier not in TIERS:
            self.fail(portal, "tier", "portal.tier", f"must be one of {', '.join(TIERS)}")
        if portal_id is None:
            return None
        return Seed(
            portal_id=portal_id,
            gdpr=self.flag(portal, "gdpr", "portal", False),
            created_at=created,
            time_zone=self.text(portal, "time_zone", "portal", default="UTC") or "UTC",
            currency=self.text(portal, "currency", "portal", default="EUR") or "EUR",
            brands=tuple(brands),
            definitions=tuple(definitions),
            tokens=tuple(self.tokens(doc)),
            statuses=tuple(statuses)
            + self.implied_opt_out_statuses(definitions, statuses, opt_outs),
            opt_outs=tuple(opt_outs),
            tier=tier if tier in TIERS else "enterprise",
        )

    def brands(self, doc: Mapping[str, Any]) -> list[BrandSeed]:
        found: dict[int, BrandSeed] = {}
        for index, _ in self.items(doc, "brands"):
            path = f"brands[{index}]"
            item = self.mapping(doc["brands"], index, path, ("id", "name"))
            if item is None:
                continue
            brand_id = self.integer(item, "id", path)
            name = self.text(item, "name", path)
            if brand_id is None or name is None:
                continue
            if brand_id in found:
                self.fail(item, "id", f"{path}.id", f"brand {brand_id} is listed twice")
                continue
            found[brand_id] = BrandSeed(brand_id, name)
        found.setdefault(0, BrandSeed(0, "Account"))
        return sorted(found.values(), key=lambda b: b.id)

    def definitions(
        self, doc: Mapping[str, Any], brands: set[int], created: str
    ) -> list[DefinitionSeed]:
        keys = (
            "id", "business_unit", "name", "description", "purpose", "communication_method",
            "active", "default", "internal", "created_at", "updated_at", "translations",
        )  # fmt: skip
        found: dict[str, DefinitionSeed] = {}
        for index, _ in self.items(doc, "definitions"):
            path = f"definitions[{index}]"
            item = self.mapping(doc["definitions"], index, path, keys)
            if item is None:
                continue
            def_id = self.text(item, "id", path)
            name = self.text(item, "name", path)
            brand = self.integer(item, "business_unit", path, default=0)
            if def_id is not None and not def_id.isdigit():
                self.fail(
                    item,
                    "id",
                    f"{path}.id",
                    'must be digits, e.g. "101" (statuses carry it as a number)',
                )
                def_id = None
            if brand is not None and brand not in brands:
                self.fail(
                    item,
                    "business_unit",
                    f"{path}.business_unit",
                    f"brand {brand} is not listed under brands",
                )
                brand = None
            if def_id is not None and def_id in found:
                self.fail(item, "id", f"{path}.id", f"definition {def_id} is listed twice")
                continue
            created_at = self.stamp(item, "created_at", path, created)
            definition = DefinitionSeed(
                id=def_id or "",
                brand=brand or 0,
                name=name or "",
                description=self.text(item, "description", path, default="") or "",
                purpose=self.optional_text(item, "purpose", path),
                communication_method=self.optional_text(item, "communication_method", path),
                active=self.flag(item, "active", path, True),
                default=self.flag(item, "default", path, False),
                internal=self.flag(item, "internal", path, False),
                created_at=created_at,
                updated_at=self.stamp(item, "updated_at", path, created_at),
                translations=self.translations(item, path, def_id),
            )
            if def_id is not None and name is not None and brand is not None:
                found[def_id] = definition
        return sorted(found.values(), key=lambda d: (d.brand, int(d.id)))

    def translations(
        self, item: Mapping[str, Any], path: str, def_id: str | None
    ) -> tuple[TranslationSeed, ...]:
        out: list[TranslationSeed] = []
        for index, _ in self.items(item, "translations"):
            tpath = f"{path}.translations[{index}]"
            entry = self.mapping(
                item["translations"],
                index,
                tpath,
                ("language", "name", "description", "created_at", "updated_at"),
            )
            if entry is None:
                continue
            language = self.text(entry, "language", tpath)
            name = self.text(entry, "name", tpath)
            created = self.integer(entry, "created_at", tpath, default=0)
            updated = self.integer(entry, "updated_at", tpath, default=created or 0)
            if language is None or name is None or created is None or updated is None:
                continue
            out.append(
                TranslationSeed(
                    language,
                    name,
                    self.text(entry, "description", tpath, default="") or "",
                    created,
                    updated,
                )
            )
        return tuple(out)

    def tokens(self, doc: Mapping[str, Any]) -> list[TokenSeed]:
        found: dict[str, TokenSeed] = {}
        for index, _ in self.items(doc, "tokens"):
            path = f"tokens[{index}]"
            item = self.mapping(doc["tokens"], index, path, ("token", "name", "scopes"))
            if item is None:
                continue
            token = self.text(item, "token", path)
            scopes = self.scopes(item, path)
            if token is None or scopes is None:
                continue
            if token in found:
                self.fail(item, "token", f"{path}.token", "this token is listed twice")
                continue
            if not is_bearer_token(token):
                self.fail(
                    item,
                    "token",
                    f"{path}.token",
                    "a token is one word of visible ASCII characters (no spaces)",
                )
                continue
            found[token] = TokenSeed(
                token, self.text(item, "name", path, default=f"token {index + 1}") or "", scopes
            )
        return list(found.values())

    def scopes(self, item: Mapping[str, Any], path: str) -> tuple[str, ...] | None:
        value = item.get("scopes", "all")
        if value == "all":
            return ALL_SCOPES
        if value == "single":
            return SINGLE_SCOPES
        if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value):
            self.fail(
                item,
                "scopes",
                f"{path}.scopes",
                "expected 'all', 'single' or a list of scope names",
            )
            return None
        return tuple(dict.fromkeys(value))

    def statuses(
        self, doc: Mapping[str, Any], definitions: Mapping[str, DefinitionSeed], created: str
    ) -> list[StatusSeed]:
        keys = (
            "email", "subscription", "business_unit", "status", "timestamp", "source",
            "legal_basis", "legal_basis_explanation",
        )  # fmt: skip
        found: dict[tuple[str, str], StatusSeed] = {}
        for index, _ in self.items(doc, "statuses"):
            path = f"statuses[{index}]"
            item = self.mapping(doc["statuses"], index, path, keys)
            if item is None:
                continue
            email = self.email(item, path)
            sub = self.text(item, "subscription", path)
            if sub is not None and sub not in definitions:
                self.fail(
                    item, "subscription", f"{path}.subscription", f"no definition has id {sub!r}"
                )
                sub = None
            stated_brand = item.get("business_unit")
            if (
                sub is not None
                and stated_brand is not None
                and stated_brand != definitions[sub].brand
            ):
                self.fail(
                    item,
                    "business_unit",
                    f"{path}.business_unit",
                    f"subscription {sub} belongs to brand {definitions[sub].brand}",
                )
            status = self.text(item, "status", path)
            if status is not None and status.upper() not in STATUSES:
                self.fail(
                    item, "status", f"{path}.status", f"expected one of {', '.join(STATUSES)}"
                )
                status = None
            basis = self.optional_text(item, "legal_basis", path)
            if basis is not None and basis not in LEGAL_BASES:
                self.fail(
                    item,
                    "legal_basis",
                    f"{path}.legal_basis",
                    f"expected one of {', '.join(LEGAL_BASES)}",
                )
            if email is None or sub is None or status is None:
                continue
            if (email, sub) in found:
                self.fail(item, "email", f"{path}", f"{email} already has a status for {sub}")
                continue
            found[(email, sub)] = StatusSeed(
                email=email,
                subscription=sub,
                status=status.upper(),
                timestamp=self.stamp(item, "timestamp", path, created),
                source=self.text(item, "source", path, default=DEFAULT_SOURCE) or DEFAULT_SOURCE,
                legal_basis=basis,
                legal_basis_explanation=self.optional_text(item, "legal_basis_explanation", path),
            )
        return list(found.values())

    def opt_outs(
        self,
        doc: Mapping[str, Any],
        brands: set[int],
        definitions: Mapping[str, DefinitionSeed],
        statuses: list[StatusSeed],
        created: str,
    ) -> list[OptOutSeed]:
        found: dict[tuple[str, int], OptOutSeed] = {}
        subscribed = {
            (s.email, definitions[s.subscription].brand): s
            for s in statuses
            if s.status == "SUBSCRIBED"
        }
        for index, _ in self.items(doc, "opt_outs"):
            path = f"opt_outs[{index}]"
            item = self.mapping(
                doc["opt_outs"], index, path, ("email", "business_unit", "timestamp", "source")
            )
            if item is None:
                continue
            email = self.email(item, path)
            brand = self.integer(item, "business_unit", path, default=0)
            if brand is not None and brand not in brands:
                self.fail(
                    item,
                    "business_unit",
                    f"{path}.business_unit",
                    f"brand {brand} is not listed under brands",
                )
                continue
            if email is None or brand is None:
                continue
            if (email, brand) in found:
                self.fail(item, "email", path, f"{email} is already opted out of brand {brand}")
                continue
            clash = subscribed.get((email, brand))
            if clash is not None:
                self.fail(
                    item,
                    "email",
                    path,
                    f"{email} cannot be opted out of brand {brand} and SUBSCRIBED to "
                    f"{clash.subscription}",
                )
                continue
            found[(email, brand)] = OptOutSeed(
                email=email,
                brand=brand,
                timestamp=self.stamp(item, "timestamp", path, created),
                source=self.text(item, "source", path, default=DEFAULT_SOURCE) or DEFAULT_SOURCE,
            )
        return list(found.values())

    @staticmethod
    def implied_opt_out_statuses(
        definitions: list[DefinitionSeed], statuses: list[StatusSeed], opt_outs: list[OptOutSeed]
    ) -> tuple[StatusSeed, ...]:
        """An opt-out leaves every subscription of its brand UNSUBSCRIBED, as in HubSpot."""
        given = {(s.email, s.subscription) for s in statuses}
        implied: list[StatusSeed] = []
        for opt in opt_outs:
            for d in definitions:
                if d.brand == opt.brand and (opt.email, d.id) not in given:
                    implied.append(
                        StatusSeed(opt.email, d.id, "UNSUBSCRIBED", opt.timestamp, opt.source)
                    )
        return tuple(implied)


def load_seed(spec: str | Path | Mapping[str, Any] | None) -> Seed:
    """Read a seed from a file path or a mapping; None gives the built-in demo portal."""
    if spec is None:
        return parse_seed(DEMO_SEED, source="<built-in demo seed>")
    if isinstance(spec, Mapping):
        return parse_seed(spec)
    path = Path(spec)
    return parse_seed(load_located(path), source=str(path))


def parse_seed(data: Any, *, source: str = "<seed>") -> Seed:
    """Check a loaded seed document and build a :class:`Seed`, or raise ConfigError."""
    checker = SeedChecker(source)
    seed = checker.seed(data)
    if checker.findings or seed is None:
        raise ConfigError(checker.findings or [Finding(source, 1, 1, "invalid seed")])
    return seed
