"""The emulator's knobs: one frozen value mirroring the ``hsprefs emulator serve`` flags.

The admin surface changes settings at run time by building a new value with
:meth:`EmulatorSettings.update`, so every consumer reads the current value from the
running emulator, never a copy.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.emulator.operations import TIERS
from reconciler.errors import UsageError

__all__ = [
    "DEFAULT_TOKEN",
    "FAULT_KINDS",
    "LEGAL_BASIS_RULES",
    "NEVER_SET_DATES",
    "RUNTIME_FIELDS",
    "WIDE_STATUS_STYLES",
    "EmulatorSettings",
    "is_bearer_token",
    "parse_faults",
]

DEFAULT_TOKEN = "hsprefs-emulator-token"  # noqa: S105 - the documented demo token

# "504" answers after the work was committed; "drop" closes the connection mid-answer
# after the work was committed; "slow" commits and answers after ``slow_ms``; "pending"
# answers a batch call with status PENDING; "lie" answers a write as applied without
# applying it. The others answer before doing any work.
FAULT_KINDS = ("500", "502", "503", "504", "429", "drop", "slow", "pending", "lie")

# How a wide-status read answers for someone who is not opted out: "empty" lists
# nothing, "explicit" lists a SUBSCRIBED entry. HubSpot's docs do not say which.
WIDE_STATUS_STYLES = ("empty", "explicit")

# How a status nobody ever set is dated: "created" (the definition's creation, stable)
# or "request" (the moment of each read). HubSpot's docs show a timestamp without
# saying which.
NEVER_SET_DATES = ("created", "request")

# Which writes a GDPR portal refuses without a legal basis: "subscribe" (only
# SUBSCRIBED) or "every" (every status write, as HubSpot's guide may be read).
LEGAL_BASIS_RULES = ("subscribe", "every")

# The fields ``PATCH /_emulator/settings`` may change; db, seed and token are fixed.
RUNTIME_FIELDS = (
    "rate_limit",
    "rate_window_ms",
    "daily_limit",
    "batch_limit",
    "latency_ms",
    "latency_jitter_ms",
    "fault_rate",
    "faults",
    "fault_seed",
    "slow_ms",
    "retry_after",
    "wide_status_style",
    "error_context",
    "never_set_dates",
    "legal_basis_rule",
)


def parse_faults(value: str | Iterable[str]) -> tuple[str, ...]:
    """Read ``--faults`` (comma-separated, or ``all``) into a tuple of fault kinds."""
    items = value.split(",") if isinstance(value, str) else list(value)
    kinds: list[str] = []
    for raw in items:
        kind = str(raw).strip().lower()
        if not kind:
            continue
        if kind == "all":
            kinds.extend(FAULT_KINDS)
            continue
        if kind not in FAULT_KINDS:
            raise UsageError(
                f"unknown fault kind {kind!r}",
                hint=f"choose among {', '.join(FAULT_KINDS)} or 'all'",
            )
        kinds.append(kind)
    return tuple(dict.fromkeys(kinds))


@dataclass(frozen=True, slots=True, kw_only=True)
class EmulatorSettings:
    """How an emulator instance behaves; every field mirrors a ``serve`` flag.

    ``db`` is a SQLite file or ``":memory:"``; ``seed`` a YAML/JSON path, a mapping in the
    seed format, or None for the built-in demo portal (applied only to an empty
    database). ``token`` is accepted with every scope on top of the seed's tokens.
    ``rate_limit`` requests per ``rate_window_ms`` and ``daily_limit`` per UTC day, per
    token (0 turns either off). ``retry_after`` on a 429: ``"auto"`` (seconds until the
    window frees, rounded up), a number of seconds, or None for no header. Faults: with
    probability ``fault_rate`` a request gets one of ``faults`` (empty means every kind),
    drawn from a generator seeded with ``fault_seed``.
    """

    db: str | Path = ":memory:"
    seed: str | Path | Mapping[str, Any] | None = None
    token: str | None = None
    rate_limit: int = 190
    rate_window_ms: int = 10_000
    daily_limit: int = 625_000
    batch_limit: int = 100
    latency_ms: int = 0
    latency_jitter_ms: int | None = None
    fault_rate: float = 0.0
    faults: tuple[str, ...] = ()
    fault_seed: int | None = None
    slow_ms: int = 60_000
    retry_after: float | str | None = None
    wide_status_style: str = "empty"
    error_context: bool = True
    never_set_dates: str = "created"
    legal_basis_rule: str = "subscribe"
    tier: str | None = None
    token_scopes: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "db", os.fspath(self.db))
        object.__setattr__(self, "faults", parse_faults(self.faults))
        if isinstance(self.retry_after, str) and self.retry_after != "auto":
            object.__setattr__(self, "retry_after", _retry_after_number(self.retry_after))
        self._check()

    def __repr__(self) -> str:
        # The token is a credential even when it is only the emulator's.
        shown = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "token"
        }
        body = ", ".join(f"{name}={value!r}" for name, value in shown.items())
        token = "<redacted>" if self.token else "None"
        return f"EmulatorSettings({body}, token={token})"

    def _check(self) -> None:
        for name in ("rate_limit", "rate_window_ms", "daily_limit", "latency_ms", "slow_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UsageError(f"{name} must be a whole number of at least 0, got {value!r}")
        if self.rate_window_ms == 0:
            raise UsageError("rate_window_ms must be at least 1")
        jitter = self.latency_jitter_ms
        if jitter is not None and (isinstance(jitter, bool) or not isinstance(jitter, int)):
            raise UsageError(f"latency_jitter_ms must be a whole number, got {jitter!r}")
        if jitter is not None and jitter < 0:
            raise UsageError(f"latency_jitter_ms must be at least 0, got {jitter!r}")
        if isinstance(self.batch_limit, bool) or not isinstance(self.batch_limit, int):
            raise UsageError(f"batch_limit must be a whole number, got {self.batch_limit!r}")
        if self.batch_limit < 1:
            raise UsageError(f"batch_limit must be at least 1, got {self.batch_limit}")
        rate = self.fault_rate
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise UsageError(f"fault_rate must be a number from 0 to 1, got {rate!r}")
        seed = self.fault_seed
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise UsageError(f"fault_seed must be a whole number, got {seed!r}")
        retry = self.retry_after
        if (retry is not None and retry != "auto") and (
            isinstance(retry, bool) or not isinstance(retry, int | float) or retry < 0
        ):
            raise UsageError(f"retry_after must be 'auto', a number or null, got {retry!r}")
        if self.wide_status_style not in WIDE_STATUS_STYLES:
            raise UsageError(
                f"wide_status_style must be one of {', '.join(WIDE_STATUS_STYLES)}, "
                f"got {self.wide_status_style!r}"
            )
        if self.never_set_dates not in NEVER_SET_DATES:
            raise UsageError(
                f"never_set_dates must be one of {', '.join(NEVER_SET_DATES)}, "
                f"got {self.never_set_dates!r}"
            )
        if self.legal_basis_rule not in LEGAL_BASIS_RULES:
            raise UsageError(
                f"legal_basis_rule must be one of {', '.join(LEGAL_BASIS_RULES)}, "
                f"got {self.legal_basis_rule!r}"
            )
        if self.tier is not None and self.tier not in TIERS:
            raise UsageError(f"tier must be one of {', '.join(TIERS)}, got {self.tier!r}")
        if not isinstance(self.error_context, bool):
            raise UsageError(f"error_context must be true or false, got {self.error_context!r}")
        if self.token is not None and (
            not isinstance(self.token, str) or not is_bearer_token(self.token)
        ):
            raise UsageError(
                "token must be one word of visible ASCII characters (no spaces), as a bearer "
                "token in an HTTP header is"
            )

    @property
    def jitter_ms(self) -> int:
        """The latency jitter in effect: explicit, else a fifth of the latency."""
        if self.latency_jitter_ms is not None:
            return self.latency_jitter_ms
        return self.latency_ms // 5

    @property
    def active_faults(self) -> tuple[str, ...]:
        """The fault kinds the random draw chooses among."""
        return self.faults or FAULT_KINDS

    def update(self, changes: Mapping[str, Any]) -> EmulatorSettings:
        """A copy with run-time ``changes`` applied (only :data:`RUNTIME_FIELDS`)."""
        unknown = sorted(set(changes) - set(RUNTIME_FIELDS))
        if unknown:
            raise UsageError(
                f"cannot change {', '.join(unknown)} at run time",
                hint=f"changeable: {', '.join(RUNTIME_FIELDS)}",
            )
        values = dict(changes)
        if "faults" in values and values["faults"] is None:
            values["faults"] = ()
        return dataclasses.replace(self, **values)

    def runtime_dict(self) -> dict[str, Any]:
        """The run-time settings as JSON (what ``GET /_emulator/settings`` returns)."""
        out: dict[str, Any] = {name: getattr(self, name) for name in RUNTIME_FIELDS}
        out["faults"] = list(self.faults)
        return out


def _retry_after_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(
            f"retry_after must be 'auto', a number of seconds or 'off', got {text!r}"
        ) from None
    return int(value) if value.is_integer() else value


_BEARER = re.compile(r"[\x21-\x7e]+")


def is_bearer_token(text: str) -> bool:
    """Whether ``text`` can be sent as ``Authorization: Bearer <text>``: visible ASCII, no
    spaces (hsprefs itself refuses any other token, so the emulator never hands one out)."""
    return _BEARER.fullmatch(text) is not None
