"""``hsprefs plan``: read live statuses, diff them with the config and print the plan."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli._common import api_options, common_options
from reconciler.errors import HsprefsError

__all__ = ["command"]


@click.command("plan")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@api_options
@common_options
def command(paths: tuple[Path, ...], **_options: object) -> int:
    """Read live statuses, diff them with the config and print the plan."""
    raise HsprefsError("'hsprefs plan' is not implemented yet")
