"""Doctor: preflight checks for a new token or CI secret, as a list of result values.

Each check is a :class:`CheckResult`: ``ok``, ``fail`` (with what to do) or ``skip``
(could not be checked, and why). The checks, in order:

1. the API is reachable (any HTTP answer to the account-info call counts);
2. the token is accepted (that call did not answer 401) and which portal it belongs to;
3. the read scopes plan and apply need are granted, found by calling each read
   operation once: ``GET /definitions`` and the status reads of the API mode (in
   ``auto`` the batch read is the probe: a 403 naming a batch scope means single mode,
   which is not a failure). The write scope is read from HubSpot's private-app token
   info (``POST /oauth/v2/private-apps/get/access-token-info``), which lists the
   token's scopes: the check reports the read and write scopes (batch and single) and
   what they let hsprefs do. Where HubSpot does not tell (an OAuth token, a 404 or
   401) it says so plainly and is not checked, unless a 403 of a read already named
   the write scope as missing;
4. the API mode the token allows, and what a plan of this config costs in each mode:
   calls, and time at the rate limit (docs/client.md#api-modes);
5. the portal id matches ``portal.id`` of the project;
6. every alias resolves: an id alias to a definition of its brand, a name alias
   through ``/definitions`` exactly as plan resolves it;
7. the remaining daily budget (HubSpot's rate-limit headers) covers the minimal calls
   of a plan of this config (docs/architecture.md#minimal-calls), and how many rate
   windows that plan needs; the current window's remaining count
   (``X-HubSpot-RateLimit-Remaining``) is shown, and the check fails when other traffic
   on the app leaves less of the window than the plan's first window of calls needs.
   Other traffic is what HubSpot counted beyond doctor's own calls and those of
   earlier runs of hsprefs (``earlier``, from :mod:`reconciler.traffic`).

Only :func:`diagnose` talks to HubSpot, through the client handed in; everything else is
pure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from reconciler.errors import (
    ApiError,
    AuthError,
    HsprefsError,
    RateLimitError,
    ScopeError,
    TransportError,
)
from reconciler.model import Definition, DesiredState
from reconciler.scopes import MODES, TokenRights, rights_of

if TYPE_CHECKING:
    from reconciler.client import HubSpotClient, RateLimitInfo

__all__ = [
    "APPLY_WRITE_SCOPE",
    "PROBE_EMAIL",
    "CheckResult",
    "CheckStatus",
    "diagnose",
    "failed_check",
    "minimal_plan_calls",
    "summary_line",
]

APPLY_WRITE_SCOPE = "communication_preferences.statuses.batch.write"
SINGLE_WRITE_SCOPE = "communication_preferences.write"
READ_SCOPE = "communication_preferences.read"
BATCH_READ_SCOPE = "communication_preferences.statuses.batch.read"
# Where to get a token, said in every hint about one.
CREDENTIALS = "a Service Key (Settings > Integrations > Service Keys) or a private app's token"
# Read when the config declares nobody: a read of an unknown address changes nothing.
PROBE_EMAIL = "hsprefs-doctor-probe@example.com"


class CheckStatus(StrEnum):
    OK = "ok"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check: its name, the verdict, what was found and (on failure) what to do."""

    name: str
    status: CheckStatus
    detail: str
    hint: str | None = None

    def line(self) -> str:
        """``ok    token accepted: portal 12345678``; a failure ends with what to do."""
        text = f"{self.name}: {self.detail}"
        if self.hint:
            text = f"{text.rstrip('. ')}; {self.hint}"
        return f"{self.status.value:<4}  " + " ".join(text.split())


def failed_check(name: str, error: HsprefsError) -> CheckResult:
    """A failed check from an error (its message and hint)."""
    return CheckResult(name, CheckStatus.FAIL, error.message, error.hint)


def summary_line(checks: Sequence[CheckResult]) -> str:
    """``Doctor: 6 ok, 1 failed, 2 not checked.``"""
    count = {s: sum(1 for c in checks if c.status is s) for s in CheckStatus}
    return (
        f"Doctor: {count[CheckStatus.OK]} ok, {count[CheckStatus.FAIL]} failed, "
        f"{count[CheckStatus.SKIP]} not checked."
    )


def minimal_plan_calls(desired: DesiredState, batch_size: int, *, single: bool = False) -> int:
    """The calls of a plan of ``desired`` (docs/architecture.md#minimal-calls):
    account-info, one ``/definitions`` (every alias is checked against HubSpot's), and per
    brand ⌈N/batch⌉ status reads and as many wide reads; in single mode one status read
    and one opt-out read per subscriber and brand (a batch of 1)."""
    size = 1 if single else batch_size
    reads = sum(2 * math.ceil(len(emails) / size) for emails in desired.subscribers().values())
    return 1 + (1 if desired.subscriptions else 0) + reads


def floor_seconds(calls: int, max_requests: int, window: float) -> float:
    """The least time ``calls`` take at ``max_requests`` per rolling ``window`` seconds:
    a window's worth at once, the next when the oldest ages out."""
    if calls <= 0 or max_requests <= 0:
        return 0.0
    return (calls - 1) // max_requests * window


def _skip_all(names: Sequence[str], why: str) -> list[CheckResult]:
    return [CheckResult(name, CheckStatus.SKIP, why) for name in names]


_LATER = (
    "read scope",
    "batch read scope",
    "API mode",
    "write scope",
    "portal id",
    "aliases",
    "rate budget",
)


async def diagnose(
    client: HubSpotClient,
    desired: DesiredState | None,
    *,
    no_project: str | None = None,
    earlier: Callable[[int], Sequence[float]] | None = None,
) -> list[CheckResult]:
    """Run the checks against HubSpot through ``client``.

    ``desired`` is the loaded project, or None (then ``no_project`` says why, and the
    checks that need a project are skipped). ``earlier(portal_id)`` says how many seconds
    ago earlier runs of hsprefs had answers from that portal: they are hsprefs's own
    calls, left out of the other traffic the rate-budget check names.
    """
    checks: list[CheckResult] = []
    url = f"{client.settings.api_url} (API {client.settings.api_version})"
    try:
        portal_id = await client.portal_id()
    except TransportError as exc:
        checks.append(
            CheckResult(
                "API reachable",
                CheckStatus.FAIL,
                f"no answer from {url}: {exc.message}",
                "check --api-url or HSPREFS_API_URL, the network and any proxy",
            )
        )
        return checks + _skip_all(("token accepted", *_LATER), "not checked: no API answer")
    except AuthError as exc:
        checks.append(CheckResult("API reachable", CheckStatus.OK, f"{url} answered"))
        checks.append(
            CheckResult(
                "token accepted",
                CheckStatus.FAIL,
                exc.message,
                f"create {CREDENTIALS} with the scopes of docs/client.md#api-modes, and set "
                "HUBSPOT_ACCESS_TOKEN (or --token-file)",
            )
        )
        return checks + _skip_all(_LATER, "not checked: the token was refused")
    except ApiError as exc:
        checks.append(CheckResult("API reachable", CheckStatus.OK, f"{url} answered"))
        checks.append(failed_check("token accepted", exc))
        return checks + _skip_all(_LATER, "not checked: the account-info call failed")
    checks.append(CheckResult("API reachable", CheckStatus.OK, f"{url} answered"))
    checks.append(CheckResult("token accepted", CheckStatus.OK, f"portal {portal_id}"))
    if earlier is not None:
        client.limiter.note_earlier(earlier(portal_id))

    missing: set[str] = set()
    definitions: list[Definition] | None = None
    try:
        definitions = await client.definitions()
    except ApiError as exc:
        checks.append(_scope_failure("read scope", "GET /definitions", exc, missing))
    else:
        checks.append(CheckResult("read scope", CheckStatus.OK, "GET /definitions answered"))
    reads = await _batch_read_check(client, desired, missing)
    checks.append(reads)
    checks.append(_mode_check(client, desired, reads_ok=reads.status is not CheckStatus.FAIL))
    checks.append(_write_scope_check(client, missing, await _token_rights(client)))
    checks.append(_portal_check(desired, portal_id, no_project))
    checks.append(await _alias_check(client, desired, definitions, no_project))
    checks.append(_budget_check(client, desired))
    return checks


def _scope_failure(name: str, what: str, error: ApiError, missing: set[str]) -> CheckResult:
    if isinstance(error, ScopeError):
        missing.update(error.missing_scopes)
        scopes = ", ".join(error.missing_scopes) or "HubSpot did not say which"
        return CheckResult(
            name,
            CheckStatus.FAIL,
            f"{what} answered 403: the token lacks {scopes}",
            _scope_hint(error.missing_scopes),
        )
    return CheckResult(
        name,
        CheckStatus.FAIL,
        f"could not check: {what} failed: {error.message}",
        error.hint or "run doctor again; if it persists, check HubSpot's status page",
    )


def _scope_hint(scopes: Sequence[str]) -> str:
    if any("batch" in scope.lower() for scope in scopes):
        return (
            "HubSpot grants the batch scopes only to Marketing Hub Enterprise portals: use "
            f"--api-mode auto or single, or add them to {CREDENTIALS}, then use its new token"
        )
    return f"add the scope to {CREDENTIALS}, then use its new token"


_BATCH_READS = "POST /statuses/batch/read and /statuses/batch/unsubscribe-all/read"
_SINGLE_READS = "GET /statuses/{email} and /statuses/{email}/unsubscribe-all"


async def _batch_read_check(
    client: HubSpotClient, desired: DesiredState | None, missing: set[str]
) -> CheckResult:
    subscribers = desired.subscribers() if desired is not None else {}
    brand, emails = next(iter(subscribers.items()), (0, [PROBE_EMAIL]))
    try:
        await client.read({brand: emails[:1]})
    except (ScopeError, AuthError, RateLimitError, TransportError) as exc:
        name, what = _read_check_names(client)
        return _scope_failure(name, what, exc, missing)
    except ApiError as exc:
        # HubSpot looked at the request and answered (a per-item error, a 4xx other than
        # 401/403): the scope let it through.
        name, what = _read_check_names(client)
        return CheckResult(
            name, CheckStatus.OK, f"{what} passed the scope check (HubSpot answered: {exc.message})"
        )
    refusal = client.probe_refusal
    if refusal is not None:
        missing.update(refusal.missing_scopes)
        scopes = ", ".join(refusal.missing_scopes) or "HubSpot did not say which"
        return CheckResult(
            "batch read scope",
            CheckStatus.SKIP,
            f"not granted: {_BATCH_READS} answered 403 naming {scopes} (HubSpot grants the "
            f"batch scopes only to Marketing Hub Enterprise); single mode works: {_SINGLE_READS} "
            "answered",
        )
    name, what = _read_check_names(client)
    return CheckResult(name, CheckStatus.OK, f"{what} answered")


def _read_check_names(client: HubSpotClient) -> tuple[str, str]:
    """The read check's name and calls: batch reads, or (single mode) the single ones."""
    if client.api_mode == "single":
        return "status read scope", _SINGLE_READS
    return "batch read scope", _BATCH_READS


def _mode_check(
    client: HubSpotClient, desired: DesiredState | None, *, reads_ok: bool
) -> CheckResult:
    """Which mode the token allows, and what a plan of this config costs in each."""
    chosen = client.settings.api_mode
    mode = client.api_mode
    if mode == "auto" or not reads_ok:
        return CheckResult("API mode", CheckStatus.SKIP, "not checked: the reads failed")
    if chosen == "auto":
        why = (
            "the token has no batch scopes"
            if mode == "single"
            else "the token has the batch scopes"
        )
        detail = f"auto uses {mode} mode ({why})"
    else:
        detail = f"{mode} mode (--api-mode, HSPREFS_API_MODE or portal.api_mode)"
    if desired is not None:
        info = client.limiter.info()
        costs = []
        for name in ("batch", "single"):
            calls = minimal_plan_calls(desired, client.settings.batch_size, single=name == "single")
            if name == "single" and chosen == "auto":
                calls += 1  # the probe refused with 403
            seconds = floor_seconds(calls, info.max_requests, info.window)
            took = f"about {seconds:.0f} s" if seconds else "within one window"
            costs.append(f"{name} {calls} calls ({took})")
        detail += (
            f"; a plan of this config costs {' or '.join(costs)} at {info.max_requests} "
            f"requests per {info.window:g} s"
        )
    return CheckResult("API mode", CheckStatus.OK, detail)


async def _token_rights(client: HubSpotClient) -> TokenRights | None:
    """The token's scopes from HubSpot's private-app token info, or None where HubSpot
    does not tell (an OAuth token or a key it does not introspect: 404, 401, ...)."""
    try:
        return rights_of(await client.token_scopes())
    except ApiError:
        return None


def _write_scope_check(
    client: HubSpotClient, missing: set[str], rights: TokenRights | None
) -> CheckResult:
    single = client.api_mode == "single"
    needed = SINGLE_WRITE_SCOPE if single else APPLY_WRITE_SCOPE
    writes = sorted(
        scope for scope in missing if "write" in scope and ("batch" in scope) is not single
    )
    if writes:
        return CheckResult(
            "write scope",
            CheckStatus.FAIL,
            f"HubSpot named {', '.join(writes)} as missing",
            f"add it to {CREDENTIALS}; apply cannot write without it",
        )
    also = " (or communication_preferences.read_write)" if single else ""
    if rights is None:
        return CheckResult(
            "write scope",
            CheckStatus.SKIP,
            "cannot check the write scope with this token: apply may still be refused "
            f"(HubSpot's token info does not answer for it); apply needs {needed}{also} "
            "(plan and audit do not)",
        )
    detail = f"HubSpot's token info lists {rights.listed()}; {rights.abilities()}"
    modes = (client.api_mode,) if client.api_mode in MODES else MODES
    if not any(rights.can("write", mode) for mode in modes):
        mode = modes[0]
        return CheckResult(
            "write scope",
            CheckStatus.FAIL,
            detail,
            f"add {rights.needed('write', mode)} to {CREDENTIALS}; apply cannot write in "
            f"{mode} mode without it",
        )
    return CheckResult("write scope", CheckStatus.OK, detail)


def _portal_check(
    desired: DesiredState | None, portal_id: int, no_project: str | None
) -> CheckResult:
    if desired is None:
        return CheckResult("portal id", CheckStatus.SKIP, f"not checked: {no_project}")
    expected = desired.portal.id
    if expected is None:
        return CheckResult(
            "portal id",
            CheckStatus.SKIP,
            f"not checked: hsprefs.yaml sets no portal.id (the token's portal is {portal_id})",
        )
    if expected != portal_id:
        return CheckResult(
            "portal id",
            CheckStatus.FAIL,
            f"the token belongs to portal {portal_id}, but portal.id is {expected}",
            "use the token of the right portal, or fix portal.id in hsprefs.yaml",
        )
    return CheckResult("portal id", CheckStatus.OK, f"{portal_id} matches portal.id")


async def _alias_check(
    client: HubSpotClient,
    desired: DesiredState | None,
    definitions: list[Definition] | None,
    no_project: str | None,
) -> CheckResult:
    name = "aliases"
    if desired is None:
        return CheckResult(name, CheckStatus.SKIP, f"not checked: {no_project}")
    if not desired.subscriptions:
        return CheckResult(name, CheckStatus.OK, "hsprefs.yaml defines no aliases")
    if definitions is None:
        return CheckResult(name, CheckStatus.SKIP, "not checked: /definitions could not be read")
    # Without businessUnitId HubSpot may list only some brands: read each aliased brand.
    found = {(d.brand, d.id): d for d in definitions}
    try:
        for brand in sorted({ref.brand for ref in desired.subscriptions.values()}):
            found.update(((d.brand, d.id), d) for d in await client.definitions(brand))
    except ApiError as exc:
        return CheckResult(name, CheckStatus.SKIP, f"not checked: {exc.message}")
    from reconciler.config import check_definitions

    findings = check_definitions(desired, list(found.values()))
    errors = [f for f in findings if f.severity == "error"]
    n = len(desired.subscriptions)
    if errors:
        return CheckResult(
            name,
            CheckStatus.FAIL,
            f"{len(errors)} {'problem' if len(errors) == 1 else 'problems'} binding "
            f"{n} aliases: "
            + "; ".join(f"{f.file}:{f.line}:{f.column}: {f.message}" for f in errors),
            "fix the aliases in hsprefs.yaml",
        )
    warnings = "".join(f"; {f.message}" for f in findings if f.severity != "error")
    return CheckResult(
        name, CheckStatus.OK, f"{n} {'alias resolves' if n == 1 else 'aliases resolve'}{warnings}"
    )


def _budget_check(client: HubSpotClient, desired: DesiredState | None) -> CheckResult:
    info = client.limiter.info()
    batch = client.settings.batch_size
    single = client.api_mode == "single"
    needed = minimal_plan_calls(desired, batch, single=single) if desired is not None else None
    if needed is not None and single and client.settings.api_mode == "auto":
        needed += 1  # the batch read refused with 403 that settles auto on single
    parts: list[str] = []
    hints: list[str] = []
    if needed is not None:
        parts.append(f"a plan of this config needs {needed} calls")
    window = f"{info.max_requests} per {info.window:g} s window"
    if info.from_headers:
        rounds = math.ceil(needed / info.max_requests) if needed else 0
        spans = f", so it spans {rounds} {'window' if rounds == 1 else 'windows'}"
        parts.append(window + (spans if needed else ""))
        if info.remaining is not None:
            parts.append(_window_part(info, needed, hints))
    else:
        parts.append(f"no window headers from HubSpot (assuming {window})")
    if info.daily_remaining is None:
        parts.append("HubSpot sent no daily budget header")
    else:
        daily = f"{info.daily_remaining:,}"
        if info.daily:
            daily += f" of {info.daily:,}"
        parts.append(f"{daily} calls left today")
        if needed is not None and info.daily_remaining < needed:
            hints.append("wait for the daily budget to reset (midnight in the portal's time zone)")
    detail = "; ".join(parts)
    if hints:
        return CheckResult("rate budget", CheckStatus.FAIL, detail, "; ".join(hints))
    if info.daily_remaining is None:
        return CheckResult("rate budget", CheckStatus.SKIP, "not checked: " + detail)
    return CheckResult("rate budget", CheckStatus.OK, detail)


def _window_part(info: RateLimitInfo, needed: int | None, hints: list[str]) -> str:
    """The current window's remaining count; adds a hint when others leave too little.

    Doctor's own calls are not held against the plan: they age out like any other, and
    a plan run alone would have the whole window. Only others' traffic (what HubSpot
    counted beyond this client's calls) is.
    """
    assert info.remaining is not None
    # Remaining is HubSpot's count, so it is told against HubSpot's window size; a
    # --rate-limit below it is the client's own ceiling, said separately.
    server_max = info.server_max or info.max_requests
    text = f"{info.remaining:,} of {server_max:,} calls left in the current window"
    if info.others:
        text += f" ({info.others:,} used by other traffic on this app)"
    if info.max_requests < server_max:
        text += f"; hsprefs sends at most {info.max_requests:,} per window (--rate-limit)"
    first = min(needed, info.max_requests) if needed else 0
    free = min(info.max_requests, server_max - info.others)
    if free < first:
        text += f", but the plan's first window needs {first:,} and only {free:,} are free of it"
        hints.append(
            f"wait for the window ({info.window:g} s) to pass and run doctor again; "
            "if it stays low, another integration is using this app's budget"
        )
    return text
