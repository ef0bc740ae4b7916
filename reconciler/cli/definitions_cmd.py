"""``hsprefs definitions``: list the portal's subscription types.

One ``GET /definitions`` call; :mod:`reconciler.render.definitions` prints a table and
the alias lines to paste into ``hsprefs.yaml``, or a versioned JSON document.
"""

from __future__ import annotations

import click

from reconciler.cli._common import (
    TUNING,
    api_options,
    api_settings,
    common_options,
    example,
    hidden,
    with_client,
)
from reconciler.model import Definition
from reconciler.render.definitions import render_definitions_json, render_definitions_text
from reconciler.settings import ApiSettings

__all__ = ["command"]


def _read(settings: ApiSettings, business_unit: int | None) -> list[Definition]:
    return with_client(settings, 0, lambda client: client.definitions(business_unit=business_unit))


@click.command("definitions", epilog=example("hsprefs definitions --business-unit 5"))
@click.option(
    "--business-unit",
    "business_unit",
    type=click.IntRange(min=0),
    default=None,
    help="Only this brand's subscription types (default: what HubSpot lists without one).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: a table and alias lines; json: a versioned document.",
)
@hidden(*TUNING)
@api_options
@common_options
def command(business_unit: int | None, fmt: str, **options: object) -> int:
    """List subscription types: id, name, brand, active flag, purpose, and alias lines."""
    settings = api_settings(options)
    definitions = _read(settings, business_unit)
    if fmt == "json":
        click.echo(render_definitions_json(definitions), nl=False)
    else:
        click.echo(render_definitions_text(definitions), nl=False)
    return 0
