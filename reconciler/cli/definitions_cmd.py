"""``hsprefs definitions``: list the portal's subscription types."""

from __future__ import annotations

import click

from reconciler.cli._common import api_options, common_options
from reconciler.errors import HsprefsError

__all__ = ["command"]


@click.command("definitions")
@api_options
@common_options
def command(**_options: object) -> int:
    """List the portal's subscription types."""
    raise HsprefsError("'hsprefs definitions' is not implemented yet")
