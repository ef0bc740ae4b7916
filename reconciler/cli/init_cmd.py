"""``hsprefs init``: start a config repository from the portal.

``hsprefs init [DIR] [--subscribers FILE|-] [--business-unit N]...``: reads the portal
(:func:`reconciler.init.read_portal`) and writes the new repository's files
(:func:`reconciler.init.write_repository`), refusing before any call when one exists.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from reconciler.cli._common import api_options, api_settings, common_options, example, with_client
from reconciler.cli.export_cmd import list_data
from reconciler.export import read_subscriber_data
from reconciler.init import check_free, next_steps, read_portal, write_repository

__all__ = ["command"]


@click.command(
    "init",
    epilog=example("hsprefs init portal-config --subscribers examples/subscribers/partners.csv"),
)
@click.argument("folder", required=False, default=".", type=click.Path(path_type=Path))
@click.option(
    "--subscribers",
    "subscribers",
    metavar="FILE|-",
    default=None,
    help="Subscribers whose statuses show whether the portal has data-privacy settings on "
    "(legal bases); one email per line or CSV with an email column.",
)
@click.option(
    "--business-unit",
    "business_units",
    type=click.IntRange(min=0),
    multiple=True,
    help="Also read this brand's subscription types (repeat for several); for portals "
    "where HubSpot lists only the default brand's without one.",
)
@api_options
@common_options
def command(
    folder: Path, subscribers: str | None, business_units: tuple[int, ...], **options: object
) -> int:
    """Start a config repository in FOLDER (default: here) from the portal.

    Writes hsprefs.yaml (portal id, brands, one alias per subscription type, the
    default policy, the include), a .gitignore for .hsprefs/, a README and the editor
    schemas. Never overwrites a file.
    """
    check_free(folder)
    emails = read_subscriber_data(*list_data(subscribers)) if subscribers is not None else []
    settings = api_settings(options)
    facts = with_client(
        settings,
        len(emails),
        lambda client: read_portal(client, brands=business_units, emails=emails),
    )
    written = write_repository(folder, facts, today=datetime.now(UTC).date())
    for line in next_steps(folder, facts, written):
        click.echo(line)
    return 0
