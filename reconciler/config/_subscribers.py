"""Subscriber files read into claims, with every semantic check that one file can make.

Checks here: unknown alias, an alias of another brand than the file's ``business_unit``,
invalid addresses, two spellings of one address in one mapping or group, a subscribed
status without legal basis and explanation on a GDPR portal, ``resubscribe: true``
without a legal basis and explanation of its own (defaults do not count), or with
``unsubscribed``, ``consented_at`` unparseable or in the future, and rosters that are
missing or malformed. Conflicts between places are the business of
:class:`~._claims.Claims`.

This is the hot path for big configs: short-form settings are interpreted once per
distinct value, not once per subscriber.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from reconciler.config._claims import Claims, parse_when, valid_email
from reconciler.config._project import Project, whole
from reconciler.config._roster import Member
from reconciler.config._text import quote, suggest
from reconciler.config._yaml import YamlList, YamlMap
from reconciler.errors import Finding
from reconciler.model import (
    DesiredOptOut,
    DesiredStatus,
    Location,
    PairKey,
    Status,
    SubscriberKey,
    SubscriptionRef,
)

__all__ = ["RosterReader", "Setting", "read_subscribers"]

_STATUS: Final = {
    "subscribed": Status.SUBSCRIBED,
    "unsubscribed": Status.UNSUBSCRIBED,
    "not_specified": Status.NOT_SPECIFIED,
}
_LEGAL_BASES: Final = frozenset(
    {
        "CONSENT_WITH_NOTICE",
        "LEGITIMATE_INTEREST_CLIENT",
        "LEGITIMATE_INTEREST_OTHER",
        "LEGITIMATE_INTEREST_PQL",
        "NON_GDPR",
        "PERFORMANCE_OF_CONTRACT",
        "PROCESS_AND_STORE",
    }
)
OPT_OUT: Final = "unsubscribe_all"

# (members, roster display path) for a members_file value, or findings; given by the
# loader, which owns file access.
RosterReader = Callable[[str, int, int], tuple[list[Member], str]]


@dataclass(frozen=True, slots=True)
class Setting:
    """One interpreted setting: status and evidence, ready to stamp onto subscribers."""

    status: Status
    resubscribe: bool
    consented_at: datetime | None
    legal_basis: str | None
    explanation: str | None
    # Both legal fields written on this setting itself, not taken from defaults: the only
    # evidence a resubscribe accepts (docs/architecture.md#consent-rules).
    own_evidence: bool = False
    # The entry's own declaration date (overrides git history), and the last line of a
    # long form (its lines all declare it).
    as_of: datetime | None = None
    last_line: int = 0
    basis_written: bool = False
    explanation_written: bool = False


@dataclass(slots=True)
class _File:
    project: Project
    file: str
    brand: int
    now: datetime
    claims: Claims
    findings: list[Finding]
    when_cache: dict[str, datetime | None]
    short_cache: dict[tuple[str, str | None, str | None], Setting | None] = field(
        default_factory=dict
    )

    def error(self, line: int, column: int, message: str, code: str) -> None:
        self.findings.append(Finding(self.file, line, column, message, code=code))

    def warning(self, line: int, column: int, message: str, code: str) -> None:
        self.findings.append(Finding(self.file, line, column, message, "warning", code))


def _legal(mapping: Any) -> tuple[str | None, str | None]:
    if not isinstance(mapping, dict):
        return None, None
    basis = mapping.get("legal_basis")
    text = mapping.get("legal_basis_explanation")
    return (
        basis if isinstance(basis, str) and basis in _LEGAL_BASES else None,
        text if isinstance(text, str) and text.strip() else None,
    )


def read_subscribers(
    root: Any,
    file: str,
    project: Project,
    claims: Claims,
    *,
    now: datetime,
    when_cache: dict[str, datetime | None],
    read_roster: RosterReader,
) -> list[Finding]:
    """Add the claims of one schema-checked subscriber document; return its findings."""
    findings: list[Finding] = []
    if not isinstance(root, YamlMap):
        return findings
    brand = whole(root.get("business_unit", 0))
    if not isinstance(brand, int) or isinstance(brand, bool) or brand < 0:
        brand = 0
    ctx = _File(project, file, brand, now, claims, findings, when_cache)
    basis, text = _legal(root.get("defaults"))
    subscribers = root.get("subscribers")
    if isinstance(subscribers, YamlMap):
        _entries(ctx, subscribers, basis, text)
    groups = root.get("groups")
    if isinstance(groups, YamlMap):
        for name, group in groups.items():
            if isinstance(group, YamlMap):
                _group(ctx, name, group, (basis, text), read_roster)
    return findings


# Addresses already in one mapping or group: address -> (as written, file, line, column).
_Spelled = dict[str, tuple[str, str, int, int]]


def _entries(ctx: _File, subscribers: YamlMap, basis: str | None, text: str | None) -> None:
    file = ctx.file
    brand = ctx.brand
    spelled: _Spelled = {}
    for raw, entry in subscribers.items():
        kline, kcol, _vl, _vc = subscribers.locs[raw]
        email = raw.strip().lower()
        if raw == email and email not in spelled and valid_email(email):
            spelled[email] = (raw, file, kline, kcol)
            usable = True
        else:
            usable = _check_email(
                ctx, raw, email, (file, kline, kcol), spelled=spelled, scope="'subscribers'"
            )
        if not isinstance(entry, YamlMap):
            continue
        locs = entry.locs
        for alias, value in entry.items():
            aline, acol, _vline, _vcol = locs[alias]
            if alias == OPT_OUT:
                if usable and type(value) is bool:
                    where = Location(file, aline, acol)
                    ctx.claims.entry_opt_out(
                        DesiredOptOut(SubscriberKey(brand, email), value, where)
                    )
                continue
            ref = _alias(ctx, alias, aline, acol)
            # The value is checked even when the address or the alias is wrong, so that
            # one run reports every problem of the entry, not only the first.
            setting = _setting(ctx, value, (aline, acol), basis, text)
            if not usable or ref is None or setting is None:
                continue
            ctx.claims.entry(_status(ref, email, setting, Location(file, aline, acol)))


def _status(
    ref: SubscriptionRef,
    email: str,
    s: Setting,
    where: Location,
    set_at: Location | None = None,
) -> DesiredStatus:
    """The claim of one setting for one subscriber at ``where``; ``set_at`` is a group's
    setting line, which declares it too (through ``last_line`` for a long form)."""
    return DesiredStatus(
        key=PairKey(ref.brand, email, ref.id if ref.id is not None else ref.alias),
        status=s.status,
        alias=ref.alias,
        resubscribe=s.resubscribe,
        consented_at=s.consented_at,
        legal_basis=s.legal_basis,
        legal_basis_explanation=s.explanation,
        location=where,
        own_evidence=s.own_evidence,
        as_of=s.as_of,
        last_line=s.last_line,
        set_location=set_at,
        basis_written=s.basis_written,
        explanation_written=s.explanation_written,
    )


def _check_email(
    ctx: _File,
    raw: str,
    email: str,
    at: tuple[str, int, int],
    *,
    spelled: _Spelled,
    scope: str,
) -> bool:
    """Report an invalid address at ``at`` (file, line, column), or one already in the
    same mapping or group."""
    file, line, column = at
    if not valid_email(email):
        ctx.findings.append(
            Finding(
                file,
                line,
                column,
                f"{quote(raw, 80)} is not a valid email address",
                code="invalid-email",
            )
        )
        return False
    first = spelled.get(email)
    if first is not None:
        old_raw, old_file, old_line, old_column = first
        old_where = Location(old_file, old_line, old_column)
        if old_raw != raw:
            message = (
                f"{quote(raw, 80)} is the same address as {quote(old_raw, 80)}, which "
                f"{scope} already has at {old_where} (addresses compare trimmed and "
                "lower-cased); keep one"
            )
        else:
            message = (
                f"{quote(raw, 80)} is listed again: {scope} already has it at {old_where}; keep one"
            )
        ctx.findings.append(Finding(file, line, column, message, code="duplicate-email"))
        return False
    spelled[email] = (raw, file, line, column)
    return True


def _alias(ctx: _File, alias: str, line: int, column: int) -> SubscriptionRef | None:
    project = ctx.project
    ref = project.aliases.get(alias)
    if ref is None:
        if alias not in project.known:
            ctx.error(
                line,
                column,
                f"unknown subscription alias {quote(alias, 40)}"
                f"{suggest(alias, [*project.known, OPT_OUT])}; declare it under "
                f"'subscriptions' in {project.file}",
                "unknown-alias",
            )
        return None
    if ref.brand != ctx.brand:
        ctx.error(
            line,
            column,
            f"the alias {quote(alias, 40)} belongs to business unit {ref.brand}, but this "
            f"file is about business unit {ctx.brand}; move it to a file with "
            f"business_unit: {ref.brand}",
            "wrong-brand",
        )
        return None
    return ref


def _setting(
    ctx: _File,
    value: Any,
    at: tuple[int, int],
    basis: str | None,
    text: str | None,
) -> Setting | None:
    """Interpret one setting (short or long form) at ``at`` and check its evidence."""
    aline, acol = at
    if isinstance(value, str):
        cache_key = (value, basis, text)
        if cache_key in ctx.short_cache:
            setting = ctx.short_cache[cache_key]
        else:
            status = _STATUS.get(value)
            setting = None if status is None else Setting(status, False, None, basis, text)
            ctx.short_cache[cache_key] = setting
        if setting is not None:
            _gdpr(ctx, setting, aline, acol)
        return setting
    if not isinstance(value, YamlMap):
        return None
    raw_status = value.get("status")
    # Anything but text (a list or mapping is unhashable) is the schema's finding.
    status = _STATUS.get(raw_status) if isinstance(raw_status, str) else None
    if status is None:
        return None
    own_basis, own_text = _legal(value)
    resubscribe = value.get("resubscribe") is True
    consented_at = None
    raw_when = value.get("consented_at")
    if isinstance(raw_when, str):
        consented_at = _when(ctx, raw_when, *value.locs["consented_at"][2:])
    as_of = None
    raw_as_of = value.get("as_of")
    if isinstance(raw_as_of, str):
        as_of = _when(ctx, raw_as_of, *value.locs["as_of"][2:], field="as_of")
    own = own_basis is not None and own_text is not None
    last = max((locs[2] for locs in value.locs.values()), default=aline)
    setting = Setting(
        status,
        resubscribe,
        consented_at,
        own_basis or basis,
        own_text or text,
        own,
        as_of,
        last,
        own_basis is not None,
        own_text is not None,
    )
    _gdpr(ctx, setting, aline, acol)
    if resubscribe:
        rline, rcol = value.locs["resubscribe"][:2]
        if status is Status.UNSUBSCRIBED:
            ctx.error(
                rline,
                rcol,
                "resubscribe: true has no effect with status unsubscribed; remove it",
                "resubscribe-evidence",
            )
        elif not own:
            missing = [
                name
                for name, have in (
                    ("legal_basis", own_basis),
                    ("legal_basis_explanation", own_text),
                )
                if have is None
            ]
            ctx.error(
                rline,
                rcol,
                f"resubscribe: true needs its own {' and '.join(missing)}: write "
                f"{'them' if len(missing) > 1 else 'it'} in this entry, next to resubscribe "
                "(a value from defaults is not evidence of renewed consent)",
                "resubscribe-evidence",
            )
    return setting


def _gdpr(ctx: _File, setting: Setting, line: int, column: int) -> None:
    if not ctx.project.portal.gdpr or (
        setting.legal_basis is not None and setting.explanation is not None
    ):
        return
    if setting.status is not Status.SUBSCRIBED:
        # HubSpot's guide asks for a legal basis on every status write while data-privacy
        # settings are on; it may refuse this one (docs/plan-and-apply.md#legal-basis).
        ctx.warning(
            line,
            column,
            f"{setting.status.value.lower()} has no legal basis, and portal.gdpr is true: "
            "HubSpot may refuse the write; give legal_basis and legal_basis_explanation in "
            "the long form, the group's defaults or the file's defaults",
            "gdpr-legal-basis-write",
        )
        return
    missing = [
        name
        for name, have in (
            ("legal_basis", setting.legal_basis),
            ("legal_basis_explanation", setting.explanation),
        )
        if have is None
    ]
    ctx.error(
        line,
        column,
        f"subscribed needs {' and '.join(missing)} because portal.gdpr is true; give "
        "them in the long form, the group's defaults or the file's defaults",
        "gdpr-legal-basis",
    )


def _when(
    ctx: _File, raw: str, line: int, column: int, *, field: str = "consented_at"
) -> datetime | None:
    cache = ctx.when_cache
    if raw in cache:
        when = cache[raw]
    else:
        when = cache[raw] = parse_when(raw)
    if when is None:
        ctx.error(
            line,
            column,
            f"{field} {quote(raw, 40)} is not a date or date-time; write it as "
            "2026-09-01 or 2026-09-01T10:00:00Z",
            field.replace("_", "-"),
        )
        return None
    if when > ctx.now:
        why = (
            "consent can only be given in the past"
            if field == "consented_at"
            else "a declaration can only date from the past"
        )
        ctx.error(
            line,
            column,
            f"{field} {quote(raw, 40)} is in the future; {why}",
            "consented-at" if field == "consented_at" else "as-of",
        )
        return None
    return when


def _group(
    ctx: _File,
    name: str,
    group: YamlMap,
    defaults: tuple[str | None, str | None],
    read_roster: RosterReader,
) -> None:
    label = f"group {quote(name, 40)}"
    own_basis, own_text = _legal(group.get("defaults"))
    basis, text = own_basis or defaults[0], own_text or defaults[1]
    statuses: list[tuple[SubscriptionRef, Setting, Location]] = []
    opt_out: bool | None = None
    settings = group.get("set")
    if isinstance(settings, YamlMap):
        for alias, value in settings.items():
            aline, acol, _vline, _vcol = settings.locs[alias]
            if alias == OPT_OUT:
                opt_out = value if type(value) is bool else None
                continue
            ref = _alias(ctx, alias, aline, acol)
            setting = _setting(ctx, value, (aline, acol), basis, text)
            if ref is not None and setting is not None:
                statuses.append((ref, setting, Location(ctx.file, aline, acol)))
    members: list[tuple[str, str, int, int]] = []
    listed = group.get("members")
    if isinstance(listed, YamlList):
        for index, raw in enumerate(listed):
            if isinstance(raw, str):
                line, column = listed.locs[index]
                members.append((raw, ctx.file, line, column))
    roster = group.get("members_file")
    if isinstance(roster, str) and roster:
        rline, rcol = group.locs["members_file"][2:]
        found, shown = read_roster(roster, rline, rcol)
        members.extend((m.text, shown, m.line, m.column) for m in found)
    spelled: _Spelled = {}
    claims = ctx.claims
    for raw, file, line, column in members:
        email = raw.strip().lower()
        if raw == email and email not in spelled and valid_email(email):
            spelled[email] = (raw, file, line, column)
        elif not _check_email(ctx, raw, email, (file, line, column), spelled=spelled, scope=label):
            continue
        where = Location(file, line, column)
        for ref, setting, set_at in statuses:
            claims.group(_status(ref, email, setting, where, set_at), label)
        if opt_out is not None:
            claims.group_opt_out(
                DesiredOptOut(SubscriberKey(ctx.brand, email), opt_out, where), label
            )
