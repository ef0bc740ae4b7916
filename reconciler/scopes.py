"""What a token's scopes let hsprefs do, read from the list HubSpot's token info gives.

Pure: a set of scope names in, words out. HubSpot names each right two ways (the
``communication_preferences.*`` scopes of its specs, and the granular
``subscriptions-status-*`` ones of its 2026-03 pages; docs/client.md#api-modes), and a
token may hold either. ``doctor`` uses it for its write-scope check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MODES", "TokenRights", "rights_of"]

MODES = ("batch", "single")

# Each right in each mode: the scopes that grant it, the first being the one to name
# when it is missing.
_GRANTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("read", "batch"): (
        "communication_preferences.statuses.batch.read",
        "subscriptions-status-batch-read",
    ),
    ("write", "batch"): (
        "communication_preferences.statuses.batch.write",
        "subscriptions-status-batch-write",
    ),
    ("read", "single"): (
        "communication_preferences.read",
        "communication_preferences.read_write",
        "subscriptions-status-read",
    ),
    ("write", "single"): (
        "communication_preferences.write",
        "communication_preferences.read_write",
        "subscriptions-status-write",
    ),
}


@dataclass(frozen=True, slots=True)
class TokenRights:
    """The communication-preferences scopes a token holds, per right and API mode."""

    held: dict[tuple[str, str], tuple[str, ...]]

    def can(self, right: str, mode: str) -> bool:
        """Whether the token may ``read`` or ``write`` statuses in ``mode``."""
        return bool(self.held[(right, mode)])

    @staticmethod
    def needed(right: str, mode: str) -> str:
        """The scope to add for ``right`` in ``mode``."""
        return _GRANTS[(right, mode)][0]

    def listed(self) -> str:
        """``batch read: S; batch write: none; single read: S, T; single write: U``."""
        return "; ".join(
            f"{mode} {right}: {', '.join(self.held[(right, mode)]) or 'none'}"
            for mode in MODES
            for right in ("read", "write")
        )

    def abilities(self) -> str:
        """What the token lets hsprefs do, in one clause."""
        reads = [m for m in MODES if self.can("read", m)]
        both = [m for m in reads if self.can("write", m)]
        if not reads:
            return "the token lets hsprefs neither plan nor apply"
        if both == reads:
            return f"the token lets hsprefs plan, audit and apply in {_modes(reads)}"
        text = f"the token lets hsprefs plan and audit in {_modes(reads)}"
        return f"{text}, and apply in {_modes(both)}" if both else f"{text}, but not apply"


def _modes(modes: list[str]) -> str:
    return f"{' and '.join(modes)} mode"


def rights_of(scopes: Iterable[str]) -> TokenRights:
    """The rights of a token holding ``scopes``."""
    have = set(scopes)
    return TokenRights(
        {key: tuple(s for s in grants if s in have) for key, grants in _GRANTS.items()}
    )
