"""The subscriber file an export writes, in two passes over a spool.

:func:`read_entries` reads the live statuses chunk by chunk and spools one JSON line
per subscriber, counting what it saw; :func:`write_entries` then writes the file from
the spool, with the legal basis most subscribed statuses share in the file's
``defaults`` (so it is not repeated on every entry). Memory stays flat: the spool is a
temporary file, never the whole list of statuses.

What an entry says, for one brand: ``unsubscribe_all: true`` alone for a subscriber
opted out of all email of the brand (their per-subscription statuses follow from the
opt-out); else every status HubSpot lists under its alias, a SUBSCRIBED one in long
form with HubSpot's legal basis unless it is the file's default (one without is marked
with a comment); a subscriber HubSpot lists nothing for gets a comment line (an entry
cannot be empty), or is left out of a file of several brands. ``not_specified`` statuses
are written only with ``include_unset``: declaring "never asked" would keep someone
there, and block their own later subscribe as a newer change
(docs/plan-and-apply.md#consent-rules); they are counted instead.
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, TextIO

from reconciler.aliases import one_line, yaml_scalar
from reconciler.errors import ApiError
from reconciler.model import LiveState, LiveStatus, Status, SubscriberKey
from reconciler.words import plural

if TYPE_CHECKING:
    from reconciler.client import HubSpotClient

__all__ = [
    "NOTHING_TO_MANAGE",
    "ONLY_UNSET",
    "Basis",
    "ExportStats",
    "export_subscribers",
    "read_entries",
    "write_entries",
]

NOTHING_TO_MANAGE = "HubSpot lists no status and no opt-out for this subscriber"
"""The comment written for a subscriber with nothing to export (an entry cannot be empty)."""

ONLY_UNSET = (
    "HubSpot lists only not_specified statuses for this subscriber (--include-unset writes them)"
)
"""The comment written for a subscriber whose statuses are all left out as not_specified."""


@dataclass(slots=True)
class ExportStats:
    """What an export wrote, for the summary the CLI prints."""

    subscribers: int = 0
    with_statuses: int = 0
    opted_out: int = 0
    nothing: int = 0
    statuses: int = 0
    no_legal_basis: int = 0
    unset: int = 0  # not_specified statuses left out (no include_unset)
    left_out: dict[str, int] = field(default_factory=dict)  # subscription id -> statuses


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def export_subscribers(
    client: HubSpotClient,
    emails: Sequence[str],
    out: TextIO,
    *,
    brand: int,
    aliases: Mapping[str, str],
    header: Sequence[str] = (),
    chunk_size: int = 800,
    skip_nothing: bool = False,
    modeline: str | None = None,
    include_unset: bool = False,
) -> ExportStats:
    """Read ``emails`` (sorted, unique) chunk by chunk and write the subscriber file to ``out``.

    ``aliases`` maps subscription id -> alias for ``brand``; statuses of other ids are
    left out and counted. ``header`` lines are written as comments first (after the
    editor's ``modeline``, when given). Each chunk is one :meth:`HubSpotClient.read`
    (⌈chunk / batch⌉ status reads and as many wide reads), so the calls are the minimal
    count of docs/architecture.md#minimal-calls when ``chunk_size`` is a multiple of the
    batch size. ``skip_nothing`` leaves out subscribers HubSpot lists nothing for (one
    file of several brands), instead of a comment line each.
    """
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        stats, shared = await read_entries(
            client, emails, spool, brand=brand, aliases=aliases, chunk_size=chunk_size,
            include_unset=include_unset,
        )  # fmt: skip
        spool.seek(0)
        write_entries(
            out, spool, stats, brand=brand, header=header, shared=shared,
            skip_nothing=skip_nothing, modeline=modeline,
        )  # fmt: skip
    return stats


Basis = tuple[str, str]  # (legal basis, explanation)


async def read_entries(
    client: HubSpotClient,
    emails: Sequence[str],
    spool: IO[str],
    *,
    brand: int,
    aliases: Mapping[str, str],
    chunk_size: int = 800,
    include_unset: bool = False,
) -> tuple[ExportStats, Basis | None]:
    """The first pass: read ``emails`` of ``brand`` chunk by chunk, one JSON line per
    subscriber into ``spool``; the counts and the legal basis most entries share.

    The shared basis is the one of more than half of the SUBSCRIBED statuses (and of at
    least two): it goes into the file's ``defaults`` instead of every entry.
    """
    stats = ExportStats()
    counts: Counter[Basis] = Counter()
    subscribed = 0
    done = 0
    for chunk in _chunks(emails, max(1, chunk_size)):
        try:
            live = await client.read({brand: list(chunk)})
        except ApiError as exc:
            raise _read_failed(exc, brand, done, len(emails)) from None
        done += len(chunk)
        by_email = _statuses_by_email(live, brand)
        for email in chunk:
            opted_out = live.opted_out(SubscriberKey(brand, email))
            unset_before = stats.unset
            entry = _entry(
                email, opted_out, by_email.get(email, ()), aliases, stats,
                include_unset=include_unset,
            )  # fmt: skip
            for _alias, word, basis, why in entry or ():
                if word == "subscribed":
                    subscribed += 1
                    if basis and why:
                        counts[(basis, why)] += 1
            only_unset = entry is None and stats.unset > unset_before
            spool.write(json.dumps([email, opted_out, entry, only_unset]) + "\n")
    shared: Basis | None = None
    if counts:
        (top, n), *_ = counts.most_common(1)
        if n >= 2 and 2 * n > subscribed:
            shared = top
    return stats, shared


def write_entries(
    out: TextIO,
    spool: Iterable[str],
    stats: ExportStats,
    *,
    brand: int,
    header: Sequence[str] = (),
    shared: Basis | None = None,
    skip_nothing: bool = False,
    modeline: str | None = None,
) -> None:
    """The second pass: the file, from the lines :func:`read_entries` spooled."""
    if modeline is not None:
        out.write(f"# yaml-language-server: $schema={modeline}\n")
    for line in header:
        # one_line: a header line built from live text (a definition name) stays a comment.
        out.write(f"# {one_line(line)}".rstrip() + "\n")
    out.write(f"version: 1\nbusiness_unit: {brand}\n")
    if shared is not None:
        out.write(
            "defaults:                 # the legal basis most subscribed statuses share\n"
            f"  legal_basis: {yaml_scalar(shared[0])}\n"
            f"  legal_basis_explanation: {yaml_scalar(shared[1], always_quote=True)}\n"
        )
    opened = False
    waiting: list[str] = []
    for line in spool:
        email, opted_out, entry, only_unset = json.loads(line)
        lines = _entry_lines(email, opted_out, entry, shared)
        if not lines:
            if skip_nothing:
                continue
            why = ONLY_UNSET if only_unset else NOTHING_TO_MANAGE
            comment = f"  # {yaml_scalar(email)}: {why}\n"
            if opened:
                out.write(comment)
            else:
                # Kept until the mapping opens: a comment above 'subscribers:' would sit
                # outside the section it is about.
                waiting.append(comment)
            continue
        if not opened:
            out.write("subscribers:\n")
            out.writelines(waiting)
            waiting.clear()
            opened = True
        out.writelines(lines)
    if not opened:
        out.write("subscribers: {}\n")
        out.writelines(waiting)


def _read_failed(exc: ApiError, brand: int, done: int, total: int) -> ApiError:
    """The client's read error, reworded for export (the read's own hint is about plans).

    The same class and fields (status, correlationId, the unread subscribers), so the CLI
    reports it as it reports any API error.
    """
    where = f" after reading {done} of {plural(total, 'subscriber')}" if done else ""
    failed = copy.copy(exc)
    failed.message = f"export of business unit {brand} failed{where}: {exc.message}"
    failed.args = (failed.message,)
    failed.hint = "nothing was written; fix the cause and run export again"
    return failed


def _statuses_by_email(live: LiveState, brand: int) -> dict[str, list[LiveStatus]]:
    found: dict[str, list[LiveStatus]] = {}
    for key, status in live.statuses.items():
        if key.brand == brand:
            found.setdefault(key.email, []).append(status)
    return found


Setting = tuple[str, str, "str | None", "str | None"]  # alias, status word, basis, explanation


def _entry(
    email: str,
    opted_out: bool,
    statuses: Sequence[LiveStatus],
    aliases: Mapping[str, str],
    stats: ExportStats,
    *,
    include_unset: bool = False,
) -> list[Setting] | None:
    """A subscriber's settings, sorted by alias; ``[]`` for an opt-out of all (it has
    none), None when there is nothing to write."""
    stats.subscribers += 1
    if opted_out:
        stats.opted_out += 1
        return []
    body: list[Setting] = []
    for status in statuses:
        alias = aliases.get(status.key.subscription_id)
        if alias is None:
            sub_id = status.key.subscription_id
            stats.left_out[sub_id] = stats.left_out.get(sub_id, 0) + 1
            continue
        if status.status is Status.NOT_SPECIFIED and not include_unset:
            stats.unset += 1
            continue
        word = status.status.value.lower()
        if status.status is Status.SUBSCRIBED:
            if not (status.legal_basis and status.legal_basis_explanation):
                stats.no_legal_basis += 1
            body.append((alias, word, status.legal_basis, status.legal_basis_explanation))
        else:
            body.append((alias, word, None, None))
    if not body:
        stats.nothing += 1
        return None
    stats.with_statuses += 1
    stats.statuses += len(body)
    return sorted(body)


def _entry_lines(
    email: str, opted_out: bool, entry: Sequence[Sequence[str | None]] | None, shared: Basis | None
) -> list[str]:
    head = f"  {yaml_scalar(email)}:\n"
    if opted_out:
        return [head, "    unsubscribe_all: true\n"]
    if not entry:
        return []
    lines = [head]
    for alias, word, basis, why in entry:
        assert alias is not None
        assert word is not None
        lines.extend(_setting(alias, word, basis, why, shared))
    return lines


def _setting(
    alias: str, word: str, basis: str | None, why: str | None, shared: Basis | None
) -> list[str]:
    key = f"    {yaml_scalar(alias)}:"
    if word != "subscribed":
        return [f"{key} {word}\n"]
    if shared is not None and (basis, why) == shared:
        return [f"{key} {word}\n"]
    if not (basis or why):
        note = "  # no legal basis in HubSpot"
        if shared is not None:
            note += " (the file's defaults would be sent)"
        return [f"{key} {word}{note}\n"]
    note = "" if basis and why else "  # incomplete legal basis"
    lines = [f"{key}{note}\n", f"      status: {word}\n"]
    if basis:
        lines.append(f"      legal_basis: {yaml_scalar(basis)}\n")
    if why:
        lines.append(f"      legal_basis_explanation: {yaml_scalar(why, always_quote=True)}\n")
    return lines
