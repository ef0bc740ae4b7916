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
    "OPERATIONS",
    "SCOPE_BATCH_READ",
    "SCOPE_BATCH_WRITE",
    "SCOPE_READ",
    "SCOPE_READ_WRITE",
    "SCOPE_WRITE",
    "UNKNOWN_OPERATION",
    "OperationSpec",
]

SCOPE_READ = "communication_preferences.read"
SCOPE_WRITE = "communication_preferences.write"
SCOPE_READ_WRITE = "communication_preferences.read_write"
SCOPE_BATCH_READ = "communication_preferences.statuses.batch.read"
SCOPE_BATCH_WRITE = "communication_preferences.statuses.batch.write"
ALL_SCOPES = (SCOPE_READ, SCOPE_WRITE, SCOPE_READ_WRITE, SCOPE_BATCH_READ, SCOPE_BATCH_WRITE)

UNKNOWN_OPERATION = "unknown"

_READS = (frozenset({SCOPE_READ_WRITE}), frozenset({SCOPE_READ}))
_WRITES = (frozenset({SCOPE_READ_WRITE}), frozenset({SCOPE_WRITE}))


@dataclass(frozen=True, slots=True)
class OperationSpec:
    """One operation: its name, the scope alternatives, and what faults may hit it."""

    name: str
    scopes: tuple[frozenset[str], ...]
    writes: bool = False
    batch: bool = False

    def required_scopes(self) -> list[str]:
        """Every scope named by any alternative, sorted (what a 403 lists)."""
        return sorted({scope for option in self.scopes for scope in option})


def _ops(*specs: OperationSpec) -> dict[str, OperationSpec]:
    return {spec.name: spec for spec in specs}


OPERATIONS: dict[str, OperationSpec] = _ops(
    OperationSpec("definitions", _READS),
    OperationSpec("statuses.read", _READS),
    OperationSpec("statuses.write", _WRITES, writes=True),
    OperationSpec("statuses.unsubscribe_all_read", _READS),
    OperationSpec("statuses.unsubscribe_all", _WRITES, writes=True),
    OperationSpec("statuses.batch.read", (frozenset({SCOPE_BATCH_READ}),), batch=True),
    OperationSpec(
        "statuses.batch.write", (frozenset({SCOPE_BATCH_WRITE}),), writes=True, batch=True
    ),
    OperationSpec(
        "statuses.batch.unsubscribe_all",
        (frozenset({SCOPE_BATCH_WRITE}),),
        writes=True,
        batch=True,
    ),
    OperationSpec(
        "statuses.batch.unsubscribe_all_read", (frozenset({SCOPE_BATCH_READ}),), batch=True
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
)
