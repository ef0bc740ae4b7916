"""``hsprefs audit``: read-only drift report of every managed pair."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli._common import api_options, common_options
from reconciler.errors import HsprefsError

__all__ = ["command"]


@click.command("audit")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@api_options
@common_options
def command(paths: tuple[Path, ...], **_options: object) -> int:
    """Read-only drift report of every managed pair."""
    raise HsprefsError("'hsprefs audit' is not implemented yet")
