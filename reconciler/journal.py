"""The apply journal: append-only JSONL, the consent evidence trail (design §5).

One line per input sent (an unsubscribe-all is one line), written and fsynced as the
results of each call arrive, so a run that is killed leaves a true record of what was
sent. The token never reaches the journal: nothing here ever sees it.
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
from reconciler.model import WriteResult
from reconciler.plan import Change, iso

__all__ = ["Journal", "JournalContext"]


@dataclass(frozen=True, slots=True)
class JournalContext:
    """What every line of one apply shares."""

    plan_checksum: str
    portal_id: int | None
    config_commit: str | None = None


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
        """Append one line per input of a finished call, then flush to disk."""
        if self._handle is None:
            raise RuntimeError("journal is not open")
        now = iso(datetime.now(UTC))
        for change, result in pairs:
            line: dict[str, Any] = {
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
            }
            self._handle.write(json.dumps(line, ensure_ascii=False, sort_keys=False) + "\n")
            self.lines += 1
        self._handle.flush()
        os.fsync(self._handle.fileno())
