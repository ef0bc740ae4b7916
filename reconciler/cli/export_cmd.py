"""``hsprefs export``: write live statuses of given subscribers as config YAML."""

from __future__ import annotations

import click

from reconciler.cli._common import api_options, common_options
from reconciler.errors import HsprefsError

__all__ = ["command"]


@click.command("export")
@api_options
@common_options
def command(**_options: object) -> int:
    """Write live statuses of given subscribers as config YAML."""
    raise HsprefsError("'hsprefs export' is not implemented yet")
