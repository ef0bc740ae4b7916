"""The apply journal: append-only JSONL, the consent evidence trail.

Its fields are a contract (docs/architecture.md#the-journal).

It is written ahead: just before a call leaves, each input it carries gets a
``sending`` line (its ``outcome``), fsynced, naming the call by ``call_id``; when the
answer arrives each input gets its result line (``confirmed``, ``failed``,
``unconfirmed``, or ``not_sent`` when no attempt of the call can have reached HubSpot
after all: answered 429 or never connected, then stopped), with the same ``call_id``. So
a run killed at any point leaves every input HubSpot may have acted on in the journal.
An input whose call never left (the run stopped first) gets no line.

A ``sending`` line with no result line after it is an *unfinished intent*: its run
ended while the call was in flight. The next apply with this journal finds them
(:func:`unfinished`), reads those subscribers back before anything else, and appends a
``recover`` line for each (:meth:`Journal.recovered`): ``verified`` applied or
not_applied, with what the read showed, so the evidence is complete before anything new
is sent.

After the read-back, a ``verify`` line is appended for every sent input whose read-back
tells something its send line does not: a confirmed write the read-back does not show,
a failed or unconfirmed one whatever it shows, and every sent input when the read-back
itself was refused. A ``confirmed`` line with no ``verify`` line after it was verified as
applied (when the run got as far as verification; its report says so).

Keeping the trail true:

- :func:`check_journal` refuses, before anything is read or written, a ``--journal``
  that is the plan file or a config file, is not a regular file, or is a file whose
  first line is not a journal line (a JSON document, a YAML file).
- :func:`reconciler.lock.journal_lock` holds ``<journal>.lock`` for the whole apply.
- Opening the journal is the append test: it must be a regular file that opens for
  appending, with room for the lines the plan will need. A last line cut short by a
  crashed run is ended first, so every line stays one JSON object.
- A write that fails part-way (a full disk) never raises: the journal keeps the OS
  error in :attr:`Journal.failure`, cuts off the partial line, writes nothing more, and
  keeps every line it could not write in :attr:`Journal.unwritten`, so the caller stops
  sending and shows them instead of losing them.

:func:`config_commit` is the ``config_commit`` field: the git commit of the config
repository, marked ``+dirty`` when the config files differ from it.

The token never reaches the journal: nothing here ever sees it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from reconciler.errors import HsprefsError, UsageError
from reconciler.model import Outcome, WriteResult
from reconciler.plan import CallOperation, Change, iso

__all__ = [
    "VERIFIED_STATES",
    "Intent",
    "Journal",
    "JournalContext",
    "Verification",
    "Verified",
    "check_journal",
    "config_commit",
    "unfinished",
]


class Verified(StrEnum):
    """What the read-back showed for a sent input (the ``verified`` field of a verify line)."""

    APPLIED = "applied"
    NOT_APPLIED = "not_applied"
    UNKNOWN = "unknown"


VERIFIED_STATES = tuple(Verified)
# The ``operation`` of a line: a call's operation, or a read-back's.
VERIFY = "verify"
RECOVER = "recover"
OPERATIONS = (*(op.value for op in CallOperation), VERIFY, RECOVER)
# The ``outcome`` of a line written just before its call leaves.
SENDING = "sending"
# What a recover line says of the answer (none was journalled).
_NO_ANSWER = "no answer was journalled: the run that sent it ended before the answer came"
# How much of an existing journal is read to tell it is one (its first line).
_HEAD = 1 << 16
# Room kept per line beyond its known fields: HubSpot's reason or error, a correlationId.
_LINE_SLACK = 512
_GIT_TIMEOUT = 10


@dataclass(frozen=True, slots=True)
class JournalContext:
    """What every line of one apply shares."""

    plan_checksum: str
    portal_id: int | None
    config_commit: str | None = None


@dataclass(frozen=True, slots=True)
class Verification:
    """What the read-back showed for one sent input.

    ``verified`` says what the read-back showed (:class:`Verified`); ``observed`` what it
    showed, in words (None when it could not be read); ``error`` why it could not be.
    """

    change: Change
    sent: WriteResult
    verified: Verified
    observed: str | None = None
    error: str | None = None
    call_id: str | None = None

    @property
    def agrees(self) -> bool:
        """Whether the send line already said what the read-back shows."""
        return (self.sent.outcome, self.verified) in (
            (Outcome.CONFIRMED, Verified.APPLIED),
            (Outcome.FAILED, Verified.NOT_APPLIED),
        )


class Journal:
    """An open journal file. Use as a context manager; ``record`` appends and fsyncs.

    ``expect`` (the plan's changes) sizes the free-space check made on opening. After a
    failed write, :attr:`failure` holds the OS error and :attr:`unwritten` every line
    that did not reach the disk (ASCII JSON, one object each); :attr:`lines` counts the
    lines written and fsynced but the ``sending`` ones, which :attr:`intents` counts
    (a report's "N lines written" is the answers and what became of them);
    :attr:`repaired` says a cut-short last line was ended.
    """

    def __init__(
        self, path: Path, context: JournalContext, *, expect: Sequence[Change] = ()
    ) -> None:
        self.path = path
        self.context = context
        self.lines = 0
        self.intents = 0
        self.repaired = False
        self.failure: str | None = None
        self.unwritten: list[str] = []
        self._expect = expect
        self._fd: int | None = None
        self._size = 0  # bytes of whole lines in the file: where a partial line is cut

    def __enter__(self) -> Journal:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
            self._fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise HsprefsError(
                f"cannot open journal {self.path}: {_why(exc)}",
                hint="pass --journal FILE with a writable path; nothing was sent",
            ) from None
        try:
            self._prepare()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _prepare(self) -> None:
        """The append test: a regular file, ending in a whole line, with room to grow."""
        assert self._fd is not None
        info = os.fstat(self._fd)
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(self.path)
        self._size = info.st_size
        try:
            if self._size and _last_byte(self.path, self._size) != b"\n":
                # A run killed mid-line left half a line: end it, so the next line is
                # not glued onto it and every line stays one JSON object.
                self._append(b"\n")
                os.fsync(self._fd)
                self._size += 1
                self.repaired = True
        except OSError as exc:
            raise HsprefsError(
                f"cannot write journal {self.path}: {_why(exc)}",
                hint="free some space or pass --journal FILE with a writable path; "
                "nothing was sent",
            ) from None
        needed = self._needed()
        try:
            free = shutil.disk_usage(self.path.parent).free
        except OSError:
            return  # no way to tell: the writes themselves will say
        if free < needed:
            raise HsprefsError(
                f"not enough free space for journal {self.path}: about {_kib(needed)} "
                f"needed for {len(self._expect)} changes, {_kib(free)} free",
                hint="free some space or pass --journal FILE on another disk; nothing was sent",
            )

    def _needed(self) -> int:
        """About how many bytes the plan's lines take, two per change (``sending``, then
        its result): one line written out in full, and for every other change only the
        texts that differ (building and encoding every line cost more than a second
        at 100,000 changes)."""
        if not self._expect:
            return 0
        first = self._expect[0]
        target = first.to_write() if first.pair else first.subscriber
        sent = WriteResult(target, Outcome.CONFIRMED)
        line = self._line(iso(datetime.now(UTC)), CallOperation.WRITE, first, sent)
        fixed = len(_encode(line)) - _varying(first) + _LINE_SLACK
        return 2 * sum(fixed + _varying(change) for change in self._expect)

    def sending(self, changes: Sequence[Change], operation: CallOperation, call_id: str) -> bool:
        """Append a ``sending`` line per input of a call about to leave, then flush to
        disk. False when they did not all reach the disk (the call must not leave)."""
        now = iso(datetime.now(UTC))
        before = self.failure
        kept = len(self.unwritten)
        self._write(
            intents=True,
            lines=[
                self._line(
                    now,
                    operation,
                    change,
                    WriteResult(
                        change.to_write() if change.pair else change.subscriber, Outcome.UNCONFIRMED
                    ),
                    call_id=call_id,
                    outcome=SENDING,
                )
                for change in changes
            ],
        )
        if before is None and self.failure is None:
            return True
        # The call will not leave: lines for it are no evidence of anything, so they are
        # not kept to be shown (one that did reach the disk is settled by the next run).
        del self.unwritten[kept:]
        return False

    def record(
        self,
        pairs: Sequence[tuple[Change, WriteResult]],
        operation: CallOperation,
        call_id: str | None = None,
    ) -> None:
        """Append one line per input of a finished call (its result; ``not_sent`` for an
        input whose ``sending`` line was written but which HubSpot cannot have acted
        on), then flush to disk. A write that fails does not raise: see :attr:`failure`
        and :attr:`unwritten`. Refuses a NOT_SENT result without ``call_id``: an input
        that never left has a line only to close its ``sending`` line.
        """
        if call_id is None and any(r.outcome is Outcome.NOT_SENT for _c, r in pairs):
            raise ValueError("the journal records a not-sent input only after its sending line")
        now = iso(datetime.now(UTC))
        self._write(
            [
                self._line(now, operation, change, result, call_id=call_id)
                for change, result in pairs
            ]
        )

    def recovered(self, settled: Sequence[tuple[Intent, Verified, str | None]]) -> None:
        """Append a ``recover`` line per unfinished intent of an earlier run: what the
        read-back showed of it (applied or not_applied, and in words), then flush."""
        now = iso(datetime.now(UTC))
        lines = []
        for intent, verified, observed in settled:
            line = {key: intent.line.get(key) for key in _FIELDS}
            line.update(
                time=now,
                operation=RECOVER,
                outcome=Outcome.UNCONFIRMED.value,
                result=None,
                error=_NO_ANSWER,
                correlation_id=None,
                verified=str(verified),
                observed=observed,
                verification_error=None,
                call_id=intent.call_id,
            )
            lines.append(line)
        self._write(lines)

    def verified(self, checks: Sequence[Verification]) -> None:
        """Append a ``verify`` line for each check that does not merely agree with its
        send line (see the module docstring), then flush to disk."""
        now = iso(datetime.now(UTC))
        self._write(
            [
                self._line(
                    now,
                    VERIFY,
                    check.change,
                    check.sent,
                    verified=check.verified,
                    observed=check.observed,
                    verification_error=check.error,
                    call_id=check.call_id,
                )
                for check in checks
                if not check.agrees
            ]
        )

    def _write(self, lines: Sequence[dict[str, Any]], *, intents: bool = False) -> None:
        if self._fd is None:
            raise RuntimeError("journal is not open")
        if not lines:
            return
        if self.failure is not None:
            # After a failed write the file may end in a cut line; nothing more goes in.
            self.unwritten.extend(_ascii(line) for line in lines)
            return
        texts = [_encode(line) + b"\n" for line in lines]
        data = b"".join(texts)
        start = self._size
        done = len(lines)
        try:
            # One write for the lines of a call, and one fsync: as durable as a write
            # per line, for a fraction of the system calls.
            self._append(data)
            self._size += len(data)
        except OSError as exc:
            self._fail(exc)
            done = self._whole_lines(start, texts)
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)  # cut the partial line off
        if done:
            try:
                os.fsync(self._fd)
            except OSError as exc:
                # Written but not known to be on disk: shown as unwritten too (a line
                # twice is better than a line lost).
                self._fail(exc)
                done = 0
        if intents:
            self.intents += done
        else:
            self.lines += done
        self.unwritten.extend(_ascii(line) for line in lines[done:])

    def _whole_lines(self, start: int, texts: Sequence[bytes]) -> int:
        """After a write that failed part-way: how many of ``texts`` (written from byte
        ``start``) reached the file whole; :attr:`_size` is set to where they end."""
        assert self._fd is not None
        try:
            reached = os.fstat(self._fd).st_size - start
        except OSError:
            reached = 0
        done = end = 0
        for text in texts:
            size = len(text)
            if end + size > reached:
                break
            end += size
            done += 1
        self._size = start + end
        return done

    def _append(self, data: bytes) -> None:
        """Write all of ``data`` at the end of the file (whole lines, or the newline that
        ends a cut-short one); raises OSError when the disk refuses."""
        assert self._fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def _fail(self, exc: OSError) -> None:
        if self.failure is None:
            self.failure = _why(exc)

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
        call_id: str | None = None,
        outcome: str | None = None,
    ) -> dict[str, Any]:
        # The field names are a contract (docs/architecture.md#the-journal): add, never
        # rename. A send line carries null in the verification fields; a verify line
        # restates its send's outcome, result, error and correlationId, so it reads on
        # its own.
        return {
            "time": now,
            "operation": str(operation),
            "subscriber": change.email,
            "brand": change.brand,
            "subscription_id": change.subscription_id,
            "subscription": change.alias,
            "before": change.before.value,
            "after": change.after.value,
            "legal_basis": change.legal_basis,
            "legal_basis_explanation": change.legal_basis_explanation,
            "outcome": outcome or result.outcome.value,
            "result": result.reason,
            "error": result.error,
            "correlation_id": result.correlation_id,
            "plan_checksum": self.context.plan_checksum,
            "portal_id": self.context.portal_id,
            "config_commit": self.context.config_commit,
            "verified": str(verified) if verified is not None else None,
            "observed": observed,
            "verification_error": verification_error,
            "call_id": call_id,
        }


def _varying(change: Change) -> int:
    """The UTF-8 bytes of a change's own texts in its journal lines."""
    texts = (
        change.email,
        change.subscription_id or "",
        change.alias or "",
        change.legal_basis or "",
        change.legal_basis_explanation or "",
    )
    return sum(len(text) if text.isascii() else len(text.encode("utf-8")) for text in texts)


# Every field of a line, in the order lines are written (recover lines copy them).
_FIELDS = (
    "time",
    "operation",
    "subscriber",
    "brand",
    "subscription_id",
    "subscription",
    "before",
    "after",
    "legal_basis",
    "legal_basis_explanation",
    "outcome",
    "result",
    "error",
    "correlation_id",
    "plan_checksum",
    "portal_id",
    "config_commit",
    "verified",
    "observed",
    "verification_error",
    "call_id",
)


@dataclass(frozen=True, slots=True)
class Intent:
    """A ``sending`` line no result or recover line followed: an input an earlier run may
    have sent, with no record of what became of it. ``line`` is the line itself."""

    line: dict[str, Any]

    @property
    def call_id(self) -> str:
        return str(self.line["call_id"])

    @property
    def operation(self) -> str:
        return str(self.line["operation"])

    @property
    def key(self) -> tuple[str, str, int, str | None]:
        """What identifies the input within its call."""
        return (
            self.call_id,
            str(self.line["subscriber"]),
            int(self.line["brand"]),
            self.line.get("subscription_id"),
        )


# Cheap looks at a line before parsing it: only lines of a call matter here.
_CALL_ID = re.compile(rb'"call_id": "([^"]+)"')


def unfinished(path: Path) -> list[Intent]:
    """The unfinished intents of earlier runs in the journal at ``path``, in order.

    An intent is finished by a later line of the same call and input whose outcome is a
    result (or a ``recover`` line). Lines that are not JSON (one cut short by a crash)
    are skipped: a ``sending`` line is fsynced before its call leaves, so a cut one
    belongs to a call that never left. No journal yet: none.
    """
    open_intents: dict[tuple[str, str, int, str | None], Intent] = {}
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise HsprefsError(
            f"cannot read journal {path}: {_why(exc)}",
            hint="pass --journal FILE with a path you can read and write; nothing was sent",
        ) from None
    with handle:
        for raw in handle:
            if _CALL_ID.search(raw) is None:
                continue
            try:
                line = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue
            if not isinstance(line, dict) or not isinstance(line.get("call_id"), str):
                continue
            try:
                intent = Intent(line)
                key = intent.key
            except (TypeError, ValueError, KeyError):
                continue
            if line.get("outcome") == SENDING and line.get("operation") != RECOVER:
                open_intents[key] = intent
            else:
                open_intents.pop(key, None)
    return list(open_intents.values())


# The text of a key and the ": " after it, as json.dumps writes them.
_KEYS: dict[str, bytes] = {}
_PLAIN = (str, int, bool, type(None))


def _encode(line: dict[str, Any]) -> bytes:
    """``json.dumps(line, ensure_ascii=False)`` in UTF-8, byte for byte, about four times
    faster: orjson encodes each value (the same text as json.dumps for every character)
    and the separators are json.dumps' own. Anything but a flat line of texts, integers,
    booleans and nulls goes through json.dumps itself."""
    parts = []
    try:
        for key, value in line.items():
            if type(value) not in _PLAIN:
                raise TypeError
            prefix = _KEYS.get(key)
            if prefix is None:
                prefix = _KEYS.setdefault(key, orjson.dumps(key) + b": ")
            parts.append(prefix + (b"null" if value is None else orjson.dumps(value)))
    except TypeError:  # another type, an integer beyond 64 bits, a lone surrogate
        return json.dumps(line, ensure_ascii=False).encode("utf-8")
    return b"{" + b", ".join(parts) + b"}"


def _ascii(line: dict[str, Any]) -> str:
    """A journal line as ASCII JSON: the same object, safe to print on any terminal
    (JSON escapes every control character but DEL, escaped here too)."""
    return json.dumps(line, ensure_ascii=True).replace("\x7f", "\\u007f")


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _kib(size: int) -> str:
    return f"{(size + 1023) // 1024} KiB"


def _last_byte(path: Path, size: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(size - 1)
        return handle.read(1)


def _not_regular(path: Path) -> UsageError:
    return UsageError(
        f"journal {path} is not a regular file",
        hint="pass --journal FILE naming a file: the journal is kept as consent evidence",
    )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _is_journal_head(head: bytes) -> bool:
    """Whether the start of a file is the start of a journal: its first line is a
    journal line, or it is a single line cut short by a crash."""
    first, newline, _rest = head.partition(b"\n")
    try:
        line = json.loads(first.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        # Only a first line that never got its end may be cut short.
        return not newline and len(head) < _HEAD and first.startswith(b'{"time": "')
    return (
        isinstance(line, dict)
        and line.get("operation") in OPERATIONS
        and "plan_checksum" in line
        and "subscriber" in line
    )


def check_journal(path: Path, *, reserved: Sequence[tuple[Path, str]] = ()) -> None:
    """Refuse a journal path that is not, and cannot become, a journal; writes nothing.

    ``reserved`` pairs files the command reads with what they are (``"the plan file"``):
    the journal may not be one of them. An existing journal must be a regular file whose
    first line is a journal line (or empty).
    """
    for other, what in reserved:
        if _same_file(path, other):
            raise UsageError(
                f"--journal {path} is {what}",
                hint="give the journal a file of its own, such as .hsprefs/journal.jsonl; "
                "nothing was written",
            )
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise HsprefsError(
            f"cannot use journal {path}: {_why(exc)}",
            hint="pass --journal FILE with a writable path",
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise _not_regular(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD)
    except OSError as exc:
        raise HsprefsError(
            f"cannot read journal {path}: {_why(exc)}",
            hint="pass --journal FILE with a path you can read and write",
        ) from None
    if head and not _is_journal_head(head):
        raise UsageError(
            f"{path} is not an hsprefs journal (its first line is not a journal line)",
            hint="pass --journal FILE naming a journal or a new file; nothing was written",
        )


def _git(folder: Path, *args: str) -> str | None:
    """Run git in ``folder``; its stdout, or None when git is absent or fails."""
    try:
        out = subprocess.run(  # noqa: S603
            ["git", "-C", str(folder), *args],  # noqa: S607 (git from PATH, fixed arguments)
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
            # status may refresh the index; another git at work here must not be blocked
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def config_commit(folder: Path, files: Sequence[str | Path] | None = None) -> str | None:
    """The git commit of the config repository, ``+dirty`` when the config differs.

    ``files`` are the config files (the project file and the files it includes); the
    commit is marked ``<commit>+dirty`` when any of them inside the repository is
    modified, staged or untracked. Without ``files`` (a saved plan was applied, so no
    config was loaded) every YAML file under ``folder`` counts. None when git is absent,
    ``folder`` is not in a repository with a commit, or git cannot tell.
    """
    head = _git(folder, "rev-parse", "--show-toplevel", "HEAD")
    if head is None:
        return None
    top, _newline, commit = head.strip().partition("\n")
    commit = commit.strip()
    if not commit:
        return None
    if files is None:
        specs = ["*.yaml", "*.yml"]
    else:
        root = os.path.realpath(top)
        real = [os.path.realpath(f) for f in files]
        # A file outside the repository is not described by its commit either way.
        specs = [f for f in real if os.path.commonpath([root, f]) == root]
        if not specs:
            return commit
    status = _git(folder, "status", "--porcelain", "--", *specs)
    if status is None:
        return None
    return f"{commit}+dirty" if status.strip() else commit
