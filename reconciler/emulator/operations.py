"""The operations the emulator serves: stable names, required scopes, and their kind.

The names are a contract for tests and benchmarks, which count calls with them
(``GET /_emulator/requests``). The scope alternatives copy the ``security`` lists of
HubSpot's specs (``../shared/hubspot-openapi``): a token passes when it holds every
scope of at least one alternative.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ALL_SCOPES",
    "BATCH_SCOPES",
    "GRANULAR_SCOPES",
    "OPERATIONS",
    "SCOPE_BATCH_READ",
    "SCOPE_BATCH_WRITE",
    "SCOPE_READ",
    "SCOPE_READ_WRITE",
    "SCOPE_WRITE",
    "SINGLE_SCOPES",
    "TIERS",
    "UNKNOWN_OPERATION",
    "OperationSpec",
]

SCOPE_READ = "communication_preferences.read"
SCOPE_WRITE = "communication_preferences.write"
SCOPE_READ_WRITE = "communication_preferences.read_write"
SCOPE_BATCH_READ = "communication_preferences.statuses.batch.read"
SCOPE_BATCH_WRITE = "communication_preferences.statuses.batch.write"
ALL_SCOPES = (SCOPE_READ, SCOPE_WRITE, SCOPE_READ_WRITE, SCOPE_BATCH_READ, SCOPE_BATCH_WRITE)
# HubSpot's 2026-03 reference pages name granular scopes, and its spec history moves
# between them and the names above; a token may hold either set. HubSpot's pages name
# the single-subscriber ones; the batch ones follow the same pattern (docs/emulator.md).
GRANULAR_DEFINITIONS = "subscriptions-definition-read"
GRANULAR_READ = "subscriptions-status-read"
GRANULAR_WRITE = "subscriptions-status-write"
GRANULAR_BATCH_READ = "subscriptions-status-batch-read"
GRANULAR_BATCH_WRITE = "subscriptions-status-batch-write"
GRANULAR_SCOPES = (
    GRANULAR_DEFINITIONS,
    GRANULAR_READ,
    GRANULAR_WRITE,
    GRANULAR_BATCH_READ,
    GRANULAR_BATCH_WRITE,
)
# Marketing Hub tiers; HubSpot grants the batch scopes only to enterprise portals.
TIERS = ("free", "starter", "professional", "enterprise")
# The scopes HubSpot grants only to Marketing Hub Enterprise portals.
BATCH_SCOPES = frozenset(
    {SCOPE_BATCH_READ, SCOPE_BATCH_WRITE, GRANULAR_BATCH_READ, GRANULAR_BATCH_WRITE}
)
# What a token of a portal below Enterprise can hold: everything but the batch scopes.
SINGLE_SCOPES = tuple(s for s in ALL_SCOPES if s not in BATCH_SCOPES)

UNKNOWN_OPERATION = "unknown"

_READS = (frozenset({SCOPE_READ_WRITE}), frozenset({SCOPE_READ}))
_WRITES = (frozenset({SCOPE_READ_WRITE}), frozenset({SCOPE_WRITE}))
_BATCH_READS = (frozenset({SCOPE_BATCH_READ}),)
_BATCH_WRITES = (frozenset({SCOPE_BATCH_WRITE}),)
# The granular alternatives each operation also accepts (not named by a 403, which
# names the spec's own).
_GRANULAR: dict[str, frozenset[str]] = {
    "definitions": frozenset({GRANULAR_DEFINITIONS}),
    "reads": frozenset({GRANULAR_READ}),
    "writes": frozenset({GRANULAR_WRITE}),
    "batch_reads": frozenset({GRANULAR_BATCH_READ}),
    "batch_writes": frozenset({GRANULAR_BATCH_WRITE}),
}


@dataclass(frozen=True, slots=True)
class OperationSpec:
    """One operation: its name, the scope alternatives, and what faults may hit it."""

    name: str
    scopes: tuple[frozenset[str], ...]
    writes: bool = False
    batch: bool = False
    granular: frozenset[str] = frozenset()

    def required_scopes(self) -> list[str]:
        """Every scope named by any alternative of the spec, sorted (what a 403 lists)."""
        return sorted({scope for option in self.scopes for scope in option})

    def allows(self, held: frozenset[str]) -> bool:
        """Whether ``held`` covers one alternative: the spec's, or the granular one."""
        if not self.scopes or any(option <= held for option in self.scopes):
            return True
        return bool(self.granular) and self.granular <= held


def _ops(*specs: OperationSpec) -> dict[str, OperationSpec]:
    return {spec.name: spec for spec in specs}


OPERATIONS: dict[str, OperationSpec] = _ops(
    OperationSpec("definitions", _READS, granular=_GRANULAR["definitions"]),
    OperationSpec("statuses.read", _READS, granular=_GRANULAR["reads"]),
    OperationSpec("statuses.write", _WRITES, writes=True, granular=_GRANULAR["writes"]),
    OperationSpec("statuses.unsubscribe_all_read", _READS, granular=_GRANULAR["reads"]),
    OperationSpec("statuses.unsubscribe_all", _WRITES, writes=True, granular=_GRANULAR["writes"]),
    OperationSpec(
        "statuses.batch.read", _BATCH_READS, batch=True, granular=_GRANULAR["batch_reads"]
    ),
    OperationSpec(
        "statuses.batch.write",
        _BATCH_WRITES,
        writes=True,
        batch=True,
        granular=_GRANULAR["batch_writes"],
    ),
    OperationSpec(
        "statuses.batch.unsubscribe_all",
        _BATCH_WRITES,
        writes=True,
        batch=True,
        granular=_GRANULAR["batch_writes"],
    ),
    OperationSpec(
        "statuses.batch.unsubscribe_all_read",
        _BATCH_READS,
        batch=True,
        granular=_GRANULAR["batch_reads"],
    ),
    OperationSpec(
        "links.generate",
        (frozenset({SCOPE_READ, SCOPE_WRITE}), frozenset({SCOPE_READ_WRITE})),
    ),
    OperationSpec("v3.definitions", _READS),
    OperationSpec("v3.status", _READS),
    OperationSpec("v3.subscribe", _WRITES, writes=True),
    OperationSpec("v3.unsubscribe", _WRITES, writes=True),
    # The specs give /resubscribe an empty security list; the emulator still asks for
    # a write scope, as every other write does.
    OperationSpec("v3.resubscribe", _WRITES, writes=True),
    # Account details need only a valid token.
    OperationSpec("account_info", ()),
    OperationSpec("account_info.api_usage", ()),
    # A private app's token info (its scopes) needs only a valid token too.
    OperationSpec("oauth.access_token_info", ()),
)
