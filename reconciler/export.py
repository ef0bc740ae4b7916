"""Export: live statuses of a list of subscribers -> a subscriber file in the config language.

What it writes, for one brand (``business_unit``), subscribers sorted by address:

* a subscriber opted out of all email of the brand: ``unsubscribe_all: true`` and
  nothing else (their per-subscription statuses follow from the opt-out, and declaring
  one as SUBSCRIBED would only be blocked);
* anyone else: every status HubSpot lists for them (``subscribed``, ``unsubscribed``,
  ``not_specified``), under its alias; a SUBSCRIBED status in long form with HubSpot's
  legal basis and explanation when it has them, so the file validates on a portal with
  data-privacy settings on (one without is marked with a comment);
* someone HubSpot lists nothing for: a comment line, since an entry cannot be empty.

Aliases: with a project file, the project's own (statuses of subscriptions it has no
alias for are left out and counted, since the project decides what is managed);
without one, an alias made from each definition's name (``Product Updates`` ->
``product-updates``; a clash gets ``-<id>``), and the file's header lists the lines to
paste into ``hsprefs.yaml``. Either way ``hsprefs plan`` right after shows no changes.

Memory: the subscriber list is read line by line and kept as one sorted list of
addresses (needed to sort and de-duplicate the output); live statuses are read and
written one chunk at a time and never held for the whole list.

Imports: the standard library, :mod:`reconciler.model`, :mod:`reconciler.errors`; the
client is handed in (only its ``read`` is used).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from reconciler.errors import UsageError
from reconciler.model import (
    Definition,
    LiveState,
    LiveStatus,
    Status,
    SubscriberKey,
    normalise_email,
    valid_email,
)

if TYPE_CHECKING:
    from reconciler.client import HubSpotClient

__all__ = [
    "NOTHING_TO_MANAGE",
    "ExportStats",
    "alias_line",
    "export_subscribers",
    "read_subscriber_list",
    "slug",
    "suggest_aliases",
    "yaml_scalar",
]

_ALIAS_MAX = 48  # leaves room for a "-<id>" suffix under the language's 64 characters
NOTHING_TO_MANAGE = "HubSpot lists no status and no opt-out for this subscriber"
"""The comment written for a subscriber with nothing to export (an entry cannot be empty)."""


@dataclass(slots=True)
class ExportStats:
    """What an export wrote, for the summary the CLI prints."""

    subscribers: int = 0
    with_statuses: int = 0
    opted_out: int = 0
    nothing: int = 0
    statuses: int = 0
    no_legal_basis: int = 0
    left_out: dict[str, int] = field(default_factory=dict)  # subscription id -> statuses


# -- the subscriber list -------------------------------------------------------------------


def read_subscriber_list(lines: Iterable[str], name: str) -> list[str]:
    """Read a subscriber list: one email per line, or CSV with an ``email`` column.

    Blank lines and lines starting with ``#`` are skipped. A first line with a comma is
    a CSV header and must name an ``email`` column (any case); a first line that is just
    ``email`` is a one-column header. Addresses are normalised (trimmed, lower-cased),
    de-duplicated and returned sorted. Every bad line is found before anything is read
    from HubSpot; the error names ``file:line:column`` of the first and counts the rest.
    """
    found: set[str] = set()
    problems: list[str] = []
    for line_no, column, value in _cells(lines, name):
        email = normalise_email(value)
        if valid_email(email):
            found.add(email)
        else:
            problems.append(f"{name}:{line_no}:{column}: {_short(value)} is not an email address")
    if problems:
        more = len(problems) - 1
        suffix = f" (and {more} more bad {'line' if more == 1 else 'lines'})" if more else ""
        raise UsageError(
            problems[0] + suffix,
            hint="give one email address per line, or a CSV file with an 'email' column",
        )
    return sorted(found)


def _short(value: str) -> str:
    text = value if len(value) <= 60 else value[:59] + "…"
    return repr(text)


def _cells(lines: Iterable[str], name: str) -> Iterator[tuple[int, int, str]]:
    """(line, column, text) of every address cell, streaming."""
    numbered = _numbered(lines)
    for line_no, raw in numbered:
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        if "," in text:
            yield from _csv_cells(line_no, raw, numbered, name)
            return
        if text.lower() in ("email", '"email"'):
            break  # a one-column header: what follows is one address per line
        yield line_no, _column(raw, text), text.strip('"')
        break
    for line_no, raw in numbered:
        text = raw.strip()
        if text and not text.startswith("#"):
            yield line_no, _column(raw, text), text.strip('"')


def _numbered(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    for index, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if index == 1:
            line = line.removeprefix("\ufeff")  # a byte-order mark from spreadsheet tools
        yield index, line


def _column(raw: str, text: str) -> int:
    return raw.find(text) + 1 if text else 1


def _csv_cells(
    header_line: int, header: str, rest: Iterator[tuple[int, str]], name: str
) -> Iterator[tuple[int, int, str]]:
    columns = [c.strip().lower() for c in next(csv.reader([header]))]
    if "email" not in columns:
        shown = ", ".join(repr(c) for c in columns[:8])
        raise UsageError(
            f"{name}:{header_line}:1: the CSV header has no 'email' column (it has {shown})",
            hint="name the column of addresses 'email', or give one address per line",
        )
    index = columns.index("email")
    for line_no, raw in rest:
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        row = next(csv.reader([raw]), [])
        if index >= len(row):
            yield line_no, len(raw) + 1, ""
            continue
        value = row[index].strip()
        yield line_no, _column(raw, value) if value else 1, value


# -- aliases ------------------------------------------------------------------------------


def slug(name: str) -> str:
    """An alias made from a definition name: ``Product Updates`` -> ``product-updates``."""
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return text[:_ALIAS_MAX].rstrip("-")


def suggest_aliases(definitions: Sequence[Definition]) -> dict[str, str]:
    """An alias for every definition id: its name as a slug, ``-<id>`` added on a clash.

    Deterministic: definitions are taken in order of brand and numeric id.
    """
    ordered = sorted(definitions, key=lambda d: (d.brand, _id_order(d.id), d.id))
    taken: set[str] = set()
    out: dict[str, str] = {}
    for definition in ordered:
        if definition.id in out:
            continue
        base = slug(definition.name) or "subscription"
        alias = base if base not in taken else f"{base}-{definition.id}"
        if alias in taken or not alias[0].isalnum():
            alias = f"subscription-{definition.id}"
        taken.add(alias)
        out[definition.id] = alias
    return out


def _id_order(sub_id: str) -> int:
    return int(sub_id) if sub_id.isdigit() else 1 << 62


def alias_line(alias: str, definition: Definition) -> str:
    """The ``hsprefs.yaml`` line for an alias, e.g. ``newsletter: {id: "101"}``."""
    brand = f", business_unit: {definition.brand}" if definition.brand else ""
    return f"{alias}: {{id: {yaml_scalar(definition.id, always_quote=True)}{brand}}}"


# -- YAML ---------------------------------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+@%/-]*$")
_RESERVED = re.compile(
    r"^(?:y|n|yes|no|on|off|true|false|null|~|[-+]?[0-9][0-9_:.eE+-]*|\.inf|\.nan)$",
    re.IGNORECASE,
)
# Characters JSON leaves alone that YAML would not read back as themselves inside a
# double-quoted scalar: non-printables, and the line breaks NEL, LS and PS (YAML folds them).
_UNPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")


def yaml_scalar(text: str, *, always_quote: bool = False) -> str:
    """``text`` as a YAML scalar: plain when that is unambiguous, else double-quoted."""
    if not always_quote and _PLAIN.fullmatch(text) and not _RESERVED.fullmatch(text):
        return text
    quoted = json.dumps(text, ensure_ascii=False)
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", quoted)


# -- the export ---------------------------------------------------------------------------


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
) -> ExportStats:
    """Read ``emails`` (sorted, unique) chunk by chunk and write the subscriber file to ``out``.

    ``aliases`` maps subscription id -> alias for ``brand``; statuses of other ids are
    left out and counted. ``header`` lines are written as comments first. Each chunk is
    one :meth:`HubSpotClient.read` (⌈chunk / batch⌉ status reads and as many wide reads),
    so the calls are the minimal count of design §5 when ``chunk_size`` is a multiple of
    the batch size.
    """
    stats = ExportStats()
    for line in header:
        out.write(f"# {line}".rstrip() + "\n")
    out.write(f"version: 1\nbusiness_unit: {brand}\n")
    opened = False
    for chunk in _chunks(emails, max(1, chunk_size)):
        live = await client.read({brand: list(chunk)})
        by_email = _statuses_by_email(live, brand)
        for email in chunk:
            opted_out = live.opted_out(SubscriberKey(brand, email))
            lines = _entry(email, opted_out, by_email.get(email, ()), aliases, stats)
            if lines and not opened:
                out.write("subscribers:\n")
                opened = True
            out.writelines(lines or [f"  # {yaml_scalar(email)}: {NOTHING_TO_MANAGE}\n"])
    if not opened:
        out.write("subscribers: {}\n")
    return stats


def _statuses_by_email(live: LiveState, brand: int) -> dict[str, list[LiveStatus]]:
    found: dict[str, list[LiveStatus]] = {}
    for key, status in live.statuses.items():
        if key.brand == brand:
            found.setdefault(key.email, []).append(status)
    return found


def _entry(
    email: str,
    opted_out: bool,
    statuses: Sequence[LiveStatus],
    aliases: Mapping[str, str],
    stats: ExportStats,
) -> list[str]:
    stats.subscribers += 1
    head = f"  {yaml_scalar(email)}:\n"
    if opted_out:
        stats.opted_out += 1
        return [head, "    unsubscribe_all: true\n"]
    body: list[tuple[str, list[str]]] = []
    for status in statuses:
        alias = aliases.get(status.key.subscription_id)
        if alias is None:
            sub_id = status.key.subscription_id
            stats.left_out[sub_id] = stats.left_out.get(sub_id, 0) + 1
            continue
        body.append((alias, _setting(alias, status, stats)))
    if not body:
        stats.nothing += 1
        return []
    stats.with_statuses += 1
    stats.statuses += len(body)
    lines = [head]
    for _alias, setting in sorted(body):
        lines.extend(setting)
    return lines


def _setting(alias: str, status: LiveStatus, stats: ExportStats) -> list[str]:
    word = status.status.value.lower()
    key = f"    {yaml_scalar(alias)}:"
    if status.status is not Status.SUBSCRIBED:
        return [f"{key} {word}\n"]
    if not (status.legal_basis and status.legal_basis_explanation):
        stats.no_legal_basis += 1
    if not (status.legal_basis or status.legal_basis_explanation):
        return [f"{key} {word}  # no legal basis in HubSpot\n"]
    note = (
        ""
        if status.legal_basis and status.legal_basis_explanation
        else "  # incomplete legal basis"
    )
    lines = [f"{key}{note}\n", f"      status: {word}\n"]
    if status.legal_basis:
        lines.append(f"      legal_basis: {yaml_scalar(status.legal_basis)}\n")
    if status.legal_basis_explanation:
        lines.append(
            "      legal_basis_explanation: "
            f"{yaml_scalar(status.legal_basis_explanation, always_quote=True)}\n"
        )
    return lines
