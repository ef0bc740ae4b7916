"""Export: live statuses of a list of subscribers -> a subscriber file in the config language.

What it writes, for one brand (``business_unit``), subscribers sorted by address:

* a subscriber opted out of all email of the brand: ``unsubscribe_all: true`` and
  nothing else (their per-subscription statuses follow from the opt-out, and declaring
  one as SUBSCRIBED would only be blocked);
* anyone else: every status HubSpot lists for them as ``subscribed`` or
  ``unsubscribed``, under its alias (``not_specified`` ones only with ``include_unset``:
  declaring "never asked" would keep someone there, and block their own later
  subscribe as a newer change, docs/plan-and-apply.md#consent-rules); a SUBSCRIBED
  status in long form with HubSpot's legal basis and explanation when it has them, so
  the file validates on a portal with data-privacy settings on (one without is marked
  with a comment);
* someone HubSpot lists nothing for (or only not_specified statuses, left out): a comment
  line, since an entry cannot be empty.

Aliases (:func:`run_export`): with a project file, the project's own (statuses of
subscriptions it has no alias for are left out and counted, since the project decides
what is managed), and a token of another portal than ``portal.id`` is refused; without
one, an alias made from each definition's name
(:func:`reconciler.aliases.suggest_aliases`), and the file's header lists the lines to
paste into ``hsprefs.yaml``. Either way ``hsprefs plan`` right after shows no changes.

Live text (definition names, legal-basis explanations) never breaks the file: values
are YAML scalars with every unprintable character escaped, and comments show such text
on one line, quoted (:mod:`reconciler.aliases`).

Memory: the subscriber list is read line by line and kept as one sorted list of
addresses (needed to sort and de-duplicate the output); live statuses are read and
written one chunk at a time and never held for the whole list.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from reconciler.addresses import BadByte, Problem, decode, read_addresses
from reconciler.aliases import alias_line, one_line, suggest_aliases, yaml_scalar
from reconciler.config import PROJECT_FILE
from reconciler.engine import check_portal, prepare_desired
from reconciler.errors import ApiError, UsageError
from reconciler.model import (
    DesiredState,
    LiveState,
    LiveStatus,
    Status,
    SubscriberKey,
    normalise_email,
    valid_email,
)
from reconciler.words import plural

if TYPE_CHECKING:
    from reconciler.client import HubSpotClient

__all__ = [
    "LIST_HINT",
    "NOTHING_TO_MANAGE",
    "ONLY_UNSET",
    "ExportStats",
    "aliases_of",
    "export_subscribers",
    "read_subscriber_data",
    "read_subscriber_list",
    "run_export",
    "summary_lines",
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


# -- the subscriber list -------------------------------------------------------------------

LIST_HINT = "give one email address per line, or a CSV file with an 'email' column"


def read_subscriber_list(lines: Iterable[str], name: str) -> list[str]:
    """Read a subscriber list: one email per line, or CSV with an ``email`` column.

    The format is :mod:`reconciler.addresses`' (the one group rosters have): CSV per RFC
    4180 when the first record names an ``email`` column, else one address per line;
    blank lines and lines starting with ``#`` are skipped. ``lines`` keep their line ends
    (iterate a file opened with ``newline=""``). Addresses are normalised (trimmed,
    lower-cased), de-duplicated and returned sorted. Every problem is found before
    anything is read from HubSpot; the error names ``file:line:column`` of the first and
    counts the rest. A list without any address is an error too: exporting nobody would
    only overwrite a file with an empty one.
    """
    found: set[str] = set()
    problems: list[Problem] = []
    for item in read_addresses(lines):
        if isinstance(item, Problem):
            problems.append(item)
            continue
        email = normalise_email(item.text)
        if valid_email(email):
            found.add(email)
        else:
            message = f"{_short(item.text)} is not an email address"
            problems.append(Problem(item.line, item.column, message))
    if problems:
        first = problems[0]
        more = len(problems) - 1
        suffix = f" (and {more} more bad {'line' if more == 1 else 'lines'})"
        raise UsageError(
            f"{name}:{first.line}:{first.column}: {first.message}" + (suffix if more else ""),
            hint=None if first.fatal else LIST_HINT,
        )
    if not found:
        raise UsageError(
            f"{name}:1:1: the subscriber list has no email address, so there is nothing to export",
            hint=f"{LIST_HINT}; nothing was written",
        )
    return sorted(found)


def read_subscriber_data(data: bytes | str, name: str) -> list[str]:
    """:func:`read_subscriber_list` of a file's content (``bytes`` must be UTF-8; a byte
    that is not is an error naming ``name:line:column``)."""
    if isinstance(data, bytes):
        text = decode(data)
        if isinstance(text, BadByte):
            raise UsageError(
                f"{name}:{text.line}:{text.column}: the file is not valid UTF-8 text "
                f"(byte 0x{text.byte:02X})",
                hint="save the subscriber list as UTF-8",
            )
    else:
        text = data
    # newline="" keeps line ends as written, as a CSV reader wants.
    return read_subscriber_list(io.StringIO(text, newline=""), name)


def _short(value: str) -> str:
    text = value if len(value) <= 60 else value[:59] + "…"
    return repr(text)


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
    include_unset: bool = False,
) -> ExportStats:
    """Read ``emails`` (sorted, unique) chunk by chunk and write the subscriber file to ``out``.

    ``aliases`` maps subscription id -> alias for ``brand``; statuses of other ids are
    left out and counted, and so are NOT_SPECIFIED ones unless ``include_unset``.
    ``header`` lines are written as comments first. Each chunk is one
    :meth:`HubSpotClient.read` (⌈chunk / batch⌉ status reads and as many wide
    reads), so the calls are the minimal count of docs/architecture.md#minimal-calls
    when ``chunk_size`` is a multiple of the batch size.
    """
    stats = ExportStats()
    for line in header:
        # one_line: a header line built from live text (a definition name) stays a comment.
        out.write(f"# {one_line(line)}".rstrip() + "\n")
    out.write(f"version: 1\nbusiness_unit: {brand}\n")
    opened = False
    waiting: list[str] = []
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
            lines = _entry(
                email,
                opted_out,
                by_email.get(email, ()),
                aliases,
                stats,
                include_unset=include_unset,
            )
            if not lines:
                why = ONLY_UNSET if stats.unset > unset_before else NOTHING_TO_MANAGE
                comment = f"  # {yaml_scalar(email)}: {why}\n"
                if opened:
                    out.write(comment)
                else:
                    # Kept until the mapping opens: a comment above 'subscribers:'
                    # would sit outside the section it is about.
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
    return stats


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


def _entry(
    email: str,
    opted_out: bool,
    statuses: Sequence[LiveStatus],
    aliases: Mapping[str, str],
    stats: ExportStats,
    *,
    include_unset: bool,
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
        if status.status is Status.NOT_SPECIFIED and not include_unset:
            stats.unset += 1
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


# -- the whole export: header, aliases, summary -------------------------------------------


def aliases_of(desired: DesiredState, brand: int) -> dict[str, str]:
    """subscription id -> alias for ``brand`` (the first alias in name order on a tie)."""
    found: dict[str, str] = {}
    for alias in sorted(desired.subscriptions):
        ref = desired.subscriptions[alias]
        if ref.brand == brand and ref.id is not None:
            found.setdefault(ref.id, alias)
    return found


async def run_export(
    client: HubSpotClient,
    emails: Sequence[str],
    *,
    desired: DesiredState | None,
    brand: int,
    open_output: Callable[[], AbstractContextManager[TextIO]],
    chunk_size: int = 800,
    include_unset: bool = False,
) -> ExportStats:
    """Export ``emails`` (sorted, unique) of ``brand``: the header, then every entry
    (``include_unset``: NOT_SPECIFIED statuses too).

    With a project (``desired``) the portal is checked and its aliases bound; without
    one, aliases are made from the brand's definitions and the header lists them.
    ``open_output()`` is entered only once that is done, so a refusal leaves no output.
    """
    if desired is not None:
        portal_id = await check_portal(desired, client)
        aliases = aliases_of(await prepare_desired(desired, client), brand)
        note = [
            f"Subscriptions are named by the aliases of {PROJECT_FILE}; statuses of",
            "subscriptions without one are left out.",
        ]
    else:
        portal_id = await client.portal_id()
        definitions = [d for d in await client.definitions(business_unit=brand) if d.brand == brand]
        aliases = suggest_aliases(definitions)
        by_id = {d.id: d for d in definitions}
        pasted = [
            (alias_line(alias, by_id[sub_id]), by_id[sub_id].name)
            for sub_id, alias in sorted(aliases.items(), key=lambda kv: kv[1])
        ]
        width = max((len(line) for line, _ in pasted), default=0)
        note = [
            f"No {PROJECT_FILE} was given: add these aliases to its `subscriptions:`",
            *(f"  {line.ljust(width)}  # {one_line(name)}" for line, name in pasted),
        ]
    header = [
        f"Exported by hsprefs from portal {portal_id}, business unit "
        f"{brand}: {plural(len(emails), 'subscriber')}.",
        *(
            [
                "Every status HubSpot lists is here, not_specified included; delete the lines",
                "hsprefs should not manage. Opted out of all email: unsubscribe_all: true.",
            ]
            if include_unset
            else [
                "Every subscribed and unsubscribed status HubSpot lists is here (not_specified",
                "ones are left out: --include-unset writes them); delete the lines hsprefs",
                "should not manage. Opted out of all email: unsubscribe_all: true.",
            ]
        ),
        *note,
    ]
    with open_output() as stream:
        return await export_subscribers(
            client, emails, stream, brand=brand, aliases=aliases, header=header,
            chunk_size=chunk_size, include_unset=include_unset,
        )  # fmt: skip


def summary_lines(stats: ExportStats, brand: int, where: str | None) -> list[str]:
    """What an export says it did, on stderr; a line starting ``warning:`` is shown even
    with ``--quiet``. ``where`` is the output file (None: standard output)."""
    to = f" to {where}" if where is not None else ""
    lines = [
        f"Exported {plural(stats.subscribers, 'subscriber')} of business unit {brand}{to}: "
        f"{stats.with_statuses} with {plural(stats.statuses, 'status', 'statuses')}, "
        f"{stats.opted_out} opted out of all, {stats.nothing} with nothing to manage."
    ]
    if stats.left_out:
        ids = ", ".join(sorted(stats.left_out, key=lambda i: (len(i), i)))
        n = sum(stats.left_out.values())
        lines.append(
            f"Left out {plural(n, 'status', 'statuses')} of subscriptions without an alias "
            f"for business unit {brand}: {ids} (add aliases to {PROJECT_FILE} to export them)."
        )
    if stats.unset:
        lines.append(
            f"Left out {plural(stats.unset, 'not_specified status', 'not_specified statuses')} "
            "(--include-unset writes them)."
        )
    if stats.no_legal_basis:
        has = "has" if stats.no_legal_basis == 1 else "have"
        lines.append(
            f"warning: {plural(stats.no_legal_basis, 'subscribed status', 'subscribed statuses')}"
            f" {has} no complete legal basis in HubSpot (marked in the file); on a portal with "
            "data-privacy settings on, add legal_basis and legal_basis_explanation before the "
            "file validates."
        )
    return lines
