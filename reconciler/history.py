"""``hsprefs history``: one person's consent history, from the journals.

:func:`journal_files` turns ``--journal`` values into files: a file is itself; a folder
is every ``*.jsonl`` file in it, in name order (``journal/2026-11.jsonl``, one file per
month, as the GitHub Action commits them; ``.hsprefs/`` holds ``journal.jsonl``).
:func:`read_history` streams them line by line: a line is parsed only when it contains
one of the addresses asked for (as written, or as JSON escapes it), so a year of
journals (100k lines) costs a substring test per line. Lines that name none of them are
never held.

Every line kind is kept, known or not (``write``, ``unsubscribe-all``, ``verify``, and
the kinds later versions add), with all of its fields, so nothing a journal says is
lost. A line that names the person but is not a JSON object (a line cut short by a
crashed run, ended by the next apply) is reported as a :class:`Skipped` with its
``file:line``, never silently dropped. The same line found in two journals (the local
journal and its copy committed under ``journal/``) is shown once.

:func:`read_live` adds HubSpot's current statuses and sources for the same people
(``--live``): one status read and one opt-out read per brand.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.engine import check_portal
from reconciler.errors import HsprefsError, UsageError
from reconciler.model import DesiredState, LiveState, normalise_email, valid_email

if TYPE_CHECKING:
    from reconciler.client import HubSpotClient

__all__ = [
    "KNOWN_KINDS",
    "Event",
    "History",
    "Skipped",
    "journal_files",
    "people_of",
    "read_history",
    "read_live",
]

KNOWN_KINDS = ("write", "unsubscribe-all", "verify", "recover")
"""Line kinds (``operation``) this version words; any other is shown with its fields."""

_HEAD = 1 << 16


@dataclass(frozen=True, slots=True)
class Event:
    """One journal line about a person: where it is and everything it says."""

    file: str
    line: int
    fields: Mapping[str, Any]

    @property
    def time(self) -> str:
        value = self.fields.get("time")
        return value if isinstance(value, str) else ""

    @property
    def kind(self) -> str:
        value = self.fields.get("operation")
        return value if isinstance(value, str) else "unknown"

    @property
    def known(self) -> bool:
        return self.kind in KNOWN_KINDS

    @property
    def brand(self) -> int | None:
        value = self.fields.get("brand")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def text(self, name: str) -> str | None:
        """A field as text (None when absent, null or not a string)."""
        value = self.fields.get(name)
        return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class Skipped:
    """A line that names the person but could not be read."""

    file: str
    line: int
    why: str


@dataclass(slots=True)
class History:
    """What the journals (and HubSpot, with ``--live``) say about some people."""

    emails: tuple[str, ...]
    files: tuple[str, ...]
    lines_read: int = 0
    events: dict[str, list[Event]] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    live: LiveState | None = None
    live_brands: tuple[int, ...] = ()
    brand_names: Mapping[int, str] = field(default_factory=dict)

    def brands_of(self, email: str) -> list[int]:
        """The brands the person's journal lines name, sorted."""
        return sorted({e.brand for e in self.events.get(email, []) if e.brand is not None})


def people_of(values: Sequence[str]) -> tuple[str, ...]:
    """The addresses asked for, normalised; a value that is not one is a usage error."""
    found: list[str] = []
    for value in values:
        email = normalise_email(value)
        if not valid_email(email):
            raise UsageError(
                f"{value!r} is not an email address",
                hint="give history the email addresses of the people to look up",
            )
        if email not in found:
            found.append(email)
    return tuple(found)


def journal_files(paths: Sequence[Path]) -> list[Path]:
    """The journal files of ``--journal`` values (a file, or a folder of ``*.jsonl``)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.suffix == ".jsonl" and p.is_file())
            files.extend(inside)
        elif path.is_file():
            files.append(path)
        elif os.path.lexists(path):
            raise UsageError(
                f"journal {path} is not a regular file or a folder",
                hint="pass --journal FILE or --journal DIR (a folder of *.jsonl journals)",
            )
        else:
            raise UsageError(
                f"journal {path} does not exist",
                hint="pass --journal with the journal file or its folder (.hsprefs/ by "
                "default; journal/ where the GitHub Action commits it)",
            )
    unique: dict[str, Path] = {}
    for file in files:
        unique.setdefault(os.path.realpath(file), file)
    return list(unique.values())


def _needles(email: str) -> tuple[str, ...]:
    """The address as a journal line may spell it: raw (``ensure_ascii=False``) or with
    JSON's escapes (an ASCII journal line, a line printed for a failed write)."""
    raw = json.dumps(email, ensure_ascii=False)[1:-1]
    ascii_form = json.dumps(email, ensure_ascii=True)[1:-1]
    return tuple(dict.fromkeys((email, raw, ascii_form)))


def read_history(emails: Sequence[str], files: Sequence[Path]) -> History:
    """Stream ``files`` and collect every line about ``emails``, sorted by time."""
    shown = tuple(str(f) for f in files)
    history = History(tuple(emails), shown)
    needles = {email: _needles(email) for email in emails}
    seen: set[str] = set()
    for file in files:
        for number, line in _lines(file):
            history.lines_read += 1
            hits = [e for e, forms in needles.items() if any(n in line for n in forms)]
            if not hits:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                history.skipped.append(
                    Skipped(str(file), number, "not a JSON object (cut short by a crashed run?)")
                )
                continue
            subscriber = record.get("subscriber")
            if not isinstance(subscriber, str):
                continue  # the address is in another field (an explanation, an error)
            email = normalise_email(subscriber)
            if email not in needles:
                continue
            key = line.strip()
            if key in seen:
                continue
            seen.add(key)
            history.events.setdefault(email, []).append(Event(str(file), number, record))
    for email, events in history.events.items():
        events.sort(key=lambda e: e.time)  # stable: the journals' order on a tie
        history.events[email] = _answered_intents_folded(events)
    return history


def _answered_intents_folded(events: list[Event]) -> list[Event]:
    """Leave out each ``sending`` line (the intent journalled before a call left) whose
    answer line follows with the same ``call_id`` and subscription: the answer says all
    it did. An intent without an answer stays (the run ended while its call was out), and
    so does the ``recover`` line a later run settled it with."""

    def key(event: Event) -> tuple[str | None, str | None]:
        return event.text("call_id"), event.text("subscription_id")

    answered = {
        key(e)
        for e in events
        if e.text("call_id") and e.text("outcome") != "sending" and e.kind != "recover"
    }
    return [e for e in events if not (e.text("outcome") == "sending" and key(e) in answered)]


def _lines(file: Path) -> Iterator[tuple[int, str]]:
    try:
        handle = file.open("r", encoding="utf-8", errors="replace", newline="")
    except OSError as exc:
        raise HsprefsError(
            f"cannot read journal {file}: {exc.strerror or exc}",
            hint="check the path and permissions of --journal",
        ) from None
    with handle:
        first = True
        for number, line in enumerate(handle, 1):
            if first and line.strip():
                first = False
                _check_head(file, line)
            yield number, line


def _check_head(file: Path, line: str) -> None:
    """A journal's first line is a JSON object with a ``time``; anything else is not a
    journal (a config file, a saved plan given by mistake)."""
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("time"), str):
        raise UsageError(
            f"{file}:1: not an hsprefs journal (its first line is not a journal line)",
            hint="pass --journal the journal (.hsprefs/journal.jsonl) or a folder of them",
        )


async def read_live(
    client: HubSpotClient,
    history: History,
    brands: Iterable[int] = (),
    *,
    desired: DesiredState | None = None,
) -> History:
    """Add HubSpot's current statuses of the people: every brand their journal lines
    name, ``brands`` and brand 0 (one status read and one opt-out read per brand).

    With a project (``desired``) the token's portal is checked first (one account-info
    call): statuses of another portal would answer the question about the wrong one.
    """
    if desired is not None:
        await check_portal(desired, client)
    every = sorted({0, *brands, *(b for e in history.emails for b in history.brands_of(e))})
    history.live = await client.read({brand: list(history.emails) for brand in every})
    history.live_brands = tuple(every)
    return history
