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

import contextlib
import io
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, TextIO

from reconciler import config
from reconciler.addresses import BadByte, Problem, decode, read_addresses
from reconciler.aliases import alias_line, one_line, slug, suggest_aliases
from reconciler.config import PROJECT_FILE
from reconciler.engine import check_portal, prepare_desired
from reconciler.errors import ConfigError, Finding, UsageError
from reconciler.exportfile import (
    NOTHING_TO_MANAGE,
    ONLY_UNSET,
    Basis,
    ExportStats,
    export_subscribers,
    read_entries,
    write_entries,
)
from reconciler.model import (
    Definition,
    DesiredState,
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
    "BrandExport",
    "ExportStats",
    "aliases_of",
    "brand_file",
    "export_subscribers",
    "finding_warnings",
    "load_project",
    "others_than",
    "read_entries",
    "read_subscriber_data",
    "read_subscriber_list",
    "run_export",
    "run_export_all",
    "schema_modeline",
    "summary_lines",
    "write_entries",
]

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


# -- the whole export: header, aliases, summary -------------------------------------------


def aliases_of(desired: DesiredState, brand: int) -> dict[str, str]:
    """subscription id -> alias for ``brand`` (the first alias in name order on a tie)."""
    found: dict[str, str] = {}
    for alias in sorted(desired.subscriptions):
        ref = desired.subscriptions[alias]
        if ref.brand == brand and ref.id is not None:
            found.setdefault(ref.id, alias)
    return found


def _header(
    portal_id: int, brand: int, count: int, note: Sequence[str], *, include_unset: bool
) -> list[str]:
    return [
        f"Exported by hsprefs from portal {portal_id}, business unit "
        f"{brand}: {plural(count, 'subscriber')}.",
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


_PROJECT_NOTE = (
    f"Subscriptions are named by the aliases of {PROJECT_FILE}; statuses of",
    "subscriptions without one are left out.",
)


def _pasted(definitions: Sequence[Definition], aliases: Mapping[str, str]) -> list[str]:
    """The header's alias lines to paste into the project file, names and ``(inactive)``
    noted as ``hsprefs definitions`` notes them."""
    by_id = {d.id: d for d in definitions}
    pasted = [
        (
            alias_line(alias, by_id[sub_id]),
            one_line(by_id[sub_id].name) + ("" if by_id[sub_id].is_active else " (inactive)"),
        )
        for sub_id, alias in sorted(aliases.items(), key=lambda kv: kv[1])
        if sub_id in by_id
    ]
    width = max((len(line) for line, _ in pasted), default=0)
    return [
        f"No {PROJECT_FILE} was given: add these aliases to its `subscriptions:`",
        *(f"  {line.ljust(width)}  # {name}" for line, name in pasted),
    ]


async def run_export(
    client: HubSpotClient,
    emails: Sequence[str],
    *,
    desired: DesiredState | None,
    brand: int,
    open_output: Callable[[], AbstractContextManager[TextIO]],
    chunk_size: int = 800,
    modeline: str | None = None,
    include_unset: bool = False,
) -> ExportStats:
    """Export ``emails`` (sorted, unique) of ``brand``: the header, then every entry.

    With a project (``desired``) the portal is checked and its aliases bound; without
    one, aliases are made from the brand's definitions and the header lists them.
    ``open_output()`` is entered only once everything is read, so a refusal or a failed
    read leaves no output.
    """
    if desired is not None:
        portal_id = await check_portal(desired, client)
        aliases = aliases_of(await prepare_desired(desired, client), brand)
        note: Sequence[str] = _PROJECT_NOTE
    else:
        portal_id = await client.portal_id()
        definitions = [d for d in await client.definitions(business_unit=brand) if d.brand == brand]
        aliases = suggest_aliases(definitions)
        note = _pasted(definitions, aliases)
    header = _header(portal_id, brand, len(emails), note, include_unset=include_unset)
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        stats, shared = await read_entries(
            client, emails, spool, brand=brand, aliases=aliases, chunk_size=chunk_size,
            include_unset=include_unset,
        )  # fmt: skip
        spool.seek(0)
        with open_output() as stream:
            write_entries(
                stream, spool, stats, brand=brand, header=header, shared=shared,
                modeline=modeline,
            )  # fmt: skip
    return stats


@dataclass(frozen=True, slots=True)
class BrandExport:
    """One file of ``export --business-unit all``."""

    brand: int
    path: Path
    stats: ExportStats


def brand_file(brand: int, names: Mapping[int, str]) -> str:
    """The file name of a brand's export: its name's slug (``trail.yaml``; brand 0 is
    ``Account`` unless the project names it) when no other brand's name gives the same
    slug, else ``brand-<id>.yaml``."""
    named = {0: "Account", **names}
    slugs = [slug(name) for name in named.values()]
    own = slug(named.get(brand, ""))
    if own and re.search("[a-z]", own) and slugs.count(own) == 1 and own != "brand":
        return f"{own}.yaml"
    return f"brand-{brand}.yaml"


async def run_export_all(
    client: HubSpotClient,
    emails: Sequence[str],
    *,
    desired: DesiredState | None,
    folder: Path,
    open_output: Callable[[Path], AbstractContextManager[TextIO]],
    chunk_size: int = 800,
    modeline: Callable[[Path], str | None] = lambda _path: None,
    include_unset: bool = False,
) -> list[BrandExport]:
    """Export ``emails`` of every brand, one file per brand in ``folder``.

    The brands are those the project has aliases for (with a project), else those
    ``/definitions`` lists. Subscribers HubSpot lists nothing for in a brand are left
    out of its file (counted). Every brand is read before any file is written, so a
    failed read leaves every file as it was.
    """
    if desired is not None:
        portal_id = await check_portal(desired, client)
        bound = await prepare_desired(desired, client)
        brands = sorted({ref.brand for ref in bound.subscriptions.values() if ref.id})
        per_brand = {brand: aliases_of(bound, brand) for brand in brands}
        notes: dict[int, Sequence[str]] = dict.fromkeys(brands, _PROJECT_NOTE)
        names = dict(desired.brand_names)
    else:
        portal_id = await client.portal_id()
        definitions = await client.definitions()
        every = suggest_aliases(definitions)
        brands = sorted({d.brand for d in definitions})
        per_brand = {
            brand: {d.id: every[d.id] for d in definitions if d.brand == brand} for brand in brands
        }
        notes = {
            brand: _pasted([d for d in definitions if d.brand == brand], per_brand[brand])
            for brand in brands
        }
        names = {}
    if not brands:
        raise UsageError(
            "there is no subscription type to export",
            hint=f"add aliases to {PROJECT_FILE} (hsprefs definitions lists them); "
            "nothing was written",
        )
    done: list[BrandExport] = []
    with contextlib.ExitStack() as stack:
        spools: list[tuple[int, IO[str], ExportStats, Basis | None]] = []
        for brand in brands:
            spooled: IO[str] = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8"))
            stats, shared = await read_entries(
                client, emails, spooled, brand=brand, aliases=per_brand[brand],
                chunk_size=chunk_size, include_unset=include_unset,
            )  # fmt: skip
            spools.append((brand, spooled, stats, shared))
        for brand, spool, stats, shared in spools:
            path = folder / brand_file(brand, names)
            header = _header(
                portal_id, brand, len(emails), notes[brand], include_unset=include_unset
            )
            spool.seek(0)
            with open_output(path) as stream:
                write_entries(
                    stream, spool, stats, brand=brand, header=header, shared=shared,
                    skip_nothing=True, modeline=modeline(path),
                )  # fmt: skip
            done.append(BrandExport(brand, path, stats))
    return done


def load_project(paths: Sequence[Path]) -> tuple[DesiredState | None, list[Finding]]:
    """The project for an export, and the findings of the other files.

    Export needs only the project file (its aliases): that one must be valid. A finding
    in a subscriber file does not stop the export: it is returned, for the caller to
    drop those of the files it replaces (:func:`others_than`) and warn of the rest
    (:func:`finding_warnings`). None without a project (no PATH and no
    ``./hsprefs.yaml``).
    """
    if not paths and not Path(PROJECT_FILE).is_file():
        return None, []
    state, findings = config.check(paths, empty_includes=True, project_only=True)
    if state is None:
        raise ConfigError([f for f in findings if f.severity == "error"])
    _all, everything = config.check(paths, empty_includes=True)
    own = {(f.file, f.line, f.column, f.message) for f in findings}
    return state, [f for f in everything if (f.file, f.line, f.column, f.message) not in own]


def others_than(findings: Sequence[Finding], written: Sequence[Path]) -> list[Finding]:
    """The findings of files other than those ``written`` (replaced by the export)."""
    replaced = {os.path.realpath(p) for p in written}
    return [f for f in findings if os.path.realpath(f.file) not in replaced]


def finding_warnings(findings: Sequence[Finding]) -> list[str]:
    """The ``warning:`` lines for findings in files an export did not write."""
    if not findings:
        return []
    files = sorted({f.file for f in findings})
    lines = [
        f"warning: {f.file}:{f.line}:{f.column}: {f.message}" for f in findings[:_SHOWN_FINDINGS]
    ]
    if len(findings) > _SHOWN_FINDINGS:
        lines.append(f"warning: ... and {len(findings) - _SHOWN_FINDINGS} more")
    lines.append(
        f"warning: {plural(len(findings), 'finding')} in {', '.join(files[:3])}"
        f"{' and others' if len(files) > 3 else ''} (not written by this export): the export "
        "went ahead; fix them before hsprefs plan (hsprefs validate lists them)."
    )
    return lines


_SHOWN_FINDINGS = 5


def schema_modeline(path: Path, desired: DesiredState | None) -> str | None:
    """The editor comment's schema path for a subscriber file at ``path``: the project's
    ``schemas/subscribers.schema.json`` (as ``hsprefs init`` copies it), relative to the
    file; None when the project has none."""
    if desired is None or not desired.files:
        return None
    schema = Path(desired.files[0]).parent / "schemas" / "subscribers.schema.json"
    if not schema.is_file():
        return None
    try:
        return Path(os.path.relpath(schema, path.parent)).as_posix()
    except ValueError:  # another drive
        return None


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
