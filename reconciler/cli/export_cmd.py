"""``hsprefs export``: write the live statuses of listed subscribers as a subscriber file.

``hsprefs export [PATH...] --subscribers FILE|- [--business-unit N] [-o FILE]``. PATH is
the project (as for ``plan``); without one, ``./hsprefs.yaml`` is used when it exists.
With a project its aliases name the subscriptions and a token of another portal than
``portal.id`` is refused; without one, aliases are made from the definition names and
the file's header lists them. See :mod:`reconciler.export` for what is written.
"""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path

import click

from reconciler import config
from reconciler.addresses import BadByte, decode
from reconciler.cli._common import (
    Progress,
    api_options,
    api_settings,
    common_options,
    current_state,
)
from reconciler.cli._output import is_stdout, output
from reconciler.cli.plan_cmd import settings_for
from reconciler.client import HubSpotClient
from reconciler.config import PROJECT_FILE
from reconciler.engine import check_portal, prepare_desired
from reconciler.errors import UsageError
from reconciler.export import (
    ExportStats,
    alias_line,
    export_subscribers,
    one_line,
    read_subscriber_list,
    suggest_aliases,
)
from reconciler.model import DesiredState
from reconciler.settings import ApiSettings
from reconciler.words import plural

__all__ = ["command"]


def _list_data(name: str) -> tuple[bytes | str, str]:
    """The raw content of ``--subscribers`` (a file, or ``-`` for stdin) and its name."""
    if name == "-":
        binary = getattr(sys.stdin, "buffer", None)
        if binary is None:  # already text (tests hand in a StringIO)
            return sys.stdin.read(), "<stdin>"
        return binary.read(), "<stdin>"
    try:
        return Path(name).read_bytes(), name
    except OSError as exc:
        raise UsageError(
            f"cannot read {name}: {exc.strerror or exc}", hint="check the path of --subscribers"
        ) from None


def _read_list(name: str) -> list[str]:
    data, shown = _list_data(name)
    if isinstance(data, bytes):
        text = decode(data)
        if isinstance(text, BadByte):
            raise UsageError(
                f"{shown}:{text.line}:{text.column}: the file is not valid UTF-8 text "
                f"(byte 0x{text.byte:02X})",
                hint="save the subscriber list as UTF-8",
            )
    else:
        text = data
    # newline="" keeps line ends as written, as a CSV reader wants.
    return read_subscriber_list(io.StringIO(text, newline=""), shown)


def _project(paths: tuple[Path, ...]) -> DesiredState | None:
    # Export only needs the project's aliases, and often writes the first subscriber
    # file of a new config repository: an include that matches nothing yet is fine.
    if paths:
        return config.load(paths, empty_includes=True)
    if Path(PROJECT_FILE).is_file():
        return config.load((), empty_includes=True)
    return None


def _aliases_from_project(desired: DesiredState, brand: int) -> dict[str, str]:
    """subscription id -> alias for ``brand`` (the first alias in name order on a tie)."""
    found: dict[str, str] = {}
    for alias in sorted(desired.subscriptions):
        ref = desired.subscriptions[alias]
        if ref.brand == brand and ref.id is not None:
            found.setdefault(ref.id, alias)
    return found


async def _export(
    settings: ApiSettings,
    desired: DesiredState | None,
    emails: list[str],
    brand: int,
    out_file: Path | None,
) -> tuple[ExportStats, int]:
    state = current_state()
    bar = Progress(state, "Reading HubSpot", len(emails))
    try:
        async with HubSpotClient.from_settings(
            settings, transport=state.transport, retry=state.retry, on_progress=bar.advance
        ) as client:
            if desired is not None:
                portal_id = await check_portal(desired, client)
                bound = await prepare_desired(desired, client)
                aliases = _aliases_from_project(bound, brand)
                note = [
                    f"Subscriptions are named by the aliases of {PROJECT_FILE}; statuses of",
                    "subscriptions without one are left out.",
                ]
            else:
                portal_id = await client.portal_id()
                definitions = [
                    d for d in await client.definitions(business_unit=brand) if d.brand == brand
                ]
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
                "Every status HubSpot lists is here, not_specified included; delete the lines",
                "hsprefs should not manage. Opted out of all email: unsubscribe_all: true.",
                *note,
            ]
            with output(out_file) as stream:
                stats = await export_subscribers(
                    client,
                    emails,
                    stream,
                    brand=brand,
                    aliases=aliases,
                    header=header,
                    chunk_size=settings.batch_size * settings.concurrency,
                )
            return stats, portal_id
    finally:
        bar.close()


def _summary(stats: ExportStats, brand: int, out_file: Path | None) -> list[str]:
    where = f" to {out_file}" if out_file is not None else ""
    lines = [
        f"Exported {plural(stats.subscribers, 'subscriber')} of business unit {brand}{where}: "
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
    if stats.no_legal_basis:
        has = "has" if stats.no_legal_basis == 1 else "have"
        lines.append(
            f"warning: {plural(stats.no_legal_basis, 'subscribed status', 'subscribed statuses')}"
            f" {has} no complete legal basis in HubSpot (marked in the file); on a portal with "
            "data-privacy settings on, add legal_basis and legal_basis_explanation before the "
            "file validates."
        )
    return lines


@click.command("export")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--subscribers",
    "subscribers",
    required=True,
    metavar="FILE|-",
    help="Subscribers to export: one email per line, or CSV with an email column; - is stdin.",
)
@click.option(
    "--business-unit",
    "business_unit",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Brand (businessUnitId) to read and write the file for.",
)
@click.option(
    "-o",
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, readable=False, allow_dash=True, path_type=Path),
    help="Write the subscriber file here instead of stdout (- is stdout).",
)
@api_options
@common_options
def command(
    paths: tuple[Path, ...],
    subscribers: str,
    business_unit: int,
    out_file: Path | None,
    **options: object,
) -> int:
    """Write the live statuses of the listed subscribers as a subscriber file (YAML).

    A plan right after, with the file included in the project, shows no changes.
    """
    if is_stdout(out_file):
        out_file = None  # -o -: standard output
    emails = _read_list(subscribers)
    desired = _project(paths)
    settings = settings_for(desired, options) if desired is not None else api_settings(options)
    stats, _portal = asyncio.run(_export(settings, desired, emails, business_unit, out_file))
    quiet = current_state().quiet
    for line in _summary(stats, business_unit, out_file):
        if not quiet or line.startswith("warning:"):
            click.echo(line, err=True)
    return 0
