"""``hsprefs apply``: apply a saved or fresh plan, then verify by reading back."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli._common import api_options, common_options
from reconciler.errors import HsprefsError

__all__ = ["command"]


@click.command("apply")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@api_options
@common_options
def command(paths: tuple[Path, ...], **_options: object) -> int:
    """Apply a saved or fresh plan, then verify by reading back."""
    raise HsprefsError("'hsprefs apply' is not implemented yet")
