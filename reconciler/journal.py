"""The apply journal: append-only JSONL, the consent evidence trail (design §5).

One line per input sent (an unsubscribe-all is one line), written and fsynced as the
results of each call arrive, so a run that is killed leaves a true record of what was
sent. An input that was never sent (the run stopped before its call left, or before a
retry of a call HubSpot had not acted on: answered 429, or never connected) gets no
line: the journal records only what HubSpot may have acted on.

After the read-back, a ``verify`` line is appended for every sent input whose read-back
tells something its send line does not: a confirmed write the read-back does not show,
a failed or unconfirmed one whatever it shows, and every sent input when the read-back
itself was refused. A ``confirmed`` line with no ``verify`` line after it was verified as
applied (when the run got as far as verification; its report says so).

Imports: the standard library, :mod:`reconciler.model`, :mod:`reconciler.plan` and
:mod:`reconciler.errors`. The token never reaches the journal: nothing here ever sees it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from reconciler.errors import HsprefsError
from reconciler.model import Outcome, WriteResult
from reconciler.plan import Change, iso

__all__ = ["VERIFIED_STATES", "Journal", "JournalContext", "Verification"]

# What the read-back showed for a sent input (the ``verified`` field of a verify line).
VERIFIED_STATES = ("applied", "not_applied", "unknown")


@dataclass(frozen=True, slots=True)
class JournalContext:
    """What every line of one apply shares."""

    plan_checksum: str
    portal_id: int | None
    config_commit: str | None = None


@dataclass(frozen=True, slots=True)
class Verification:
    """What the read-back showed for one sent input.

    ``verified`` is one of :data:`VERIFIED_STATES`; ``observed`` what the read-back
    showed, in words (None when it could not be read); ``error`` why it could not be.
    """

    change: Change
    sent: WriteResult
    verified: str
    observed: str | None = None
    error: str | None = None

    @property
    def agrees(self) -> bool:
        """Whether the send line already said what the read-back shows."""
        return (self.sent.outcome, self.verified) in (
            (Outcome.CONFIRMED, "applied"),
            (Outcome.FAILED, "not_applied"),
        )


class Journal:
    """An open journal file. Use as a context manager; ``record`` appends and fsyncs."""

    def __init__(self, path: Path, context: JournalContext) -> None:
        self.path = path
        self.context = context
        self.lines = 0
        self._handle: IO[str] | None = None

    def __enter__(self) -> Journal:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._handle = os.fdopen(fd, "a", encoding="utf-8")
        except OSError as exc:
            raise HsprefsError(
                f"cannot open journal {self.path}: {exc.strerror or exc}",
                hint="pass --journal FILE with a writable path",
            ) from None
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def record(self, pairs: Sequence[tuple[Change, WriteResult]], operation: str) -> None:
        """Append one line per input of a finished call, then flush to disk.

        Refuses a NOT_SENT result: an input that never left has no place here.
        """
        if any(result.outcome is Outcome.NOT_SENT for _change, result in pairs):
            raise ValueError("the journal records only inputs that were sent")
        now = iso(datetime.now(UTC))
        self._write([self._line(now, operation, change, result) for change, result in pairs])

    def verified(self, checks: Sequence[Verification]) -> None:
        """Append a ``verify`` line for each check that does not merely agree with its
        send line (see the module docstring), then flush to disk."""
        now = iso(datetime.now(UTC))
        self._write(
            [
                self._line(
                    now,
                    "verify",
                    check.change,
                    check.sent,
                    verified=check.verified,
                    observed=check.observed,
                    verification_error=check.error,
                )
                for check in checks
                if not check.agrees
            ]
        )

    def _write(self, lines: Sequence[dict[str, Any]]) -> None:
        if self._handle is None:
            raise RuntimeError("journal is not open")
        if not lines:
            return
        for line in lines:
            self._handle.write(json.dumps(line, ensure_ascii=False, sort_keys=False) + "\n")
            self.lines += 1
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def _line(
        self,
        now: str | None,
        operation: str,
        change: Change,
        result: WriteResult,
        *,
        verified: str | None = None,
        observed: str | None = None,
        verification_error: str | None = None,
    ) -> dict[str, Any]:
        # The field names are a contract (design §5): add, never rename. A send line
        # carries null in the verification fields; a verify line restates its send's
        # outcome, result, error and correlationId, so it reads on its own.
        return {
            "time": now,
            "operation": operation,
            "subscriber": change.email,
            "brand": change.brand,
            "subscription_id": change.subscription_id,
            "subscription": change.alias,
            "before": change.before.value,
            "after": change.after.value,
            "legal_basis": change.legal_basis,
            "legal_basis_explanation": change.legal_basis_explanation,
            "outcome": result.outcome.value,
            "result": result.reason,
            "error": result.error,
            "correlation_id": result.correlation_id,
            "plan_checksum": self.context.plan_checksum,
            "portal_id": self.context.portal_id,
            "config_commit": self.context.config_commit,
            "verified": verified,
            "observed": observed,
            "verification_error": verification_error,
        }
