"""``hsprefs validate``: check config files against the schema and the semantic rules."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli._common import common_options
from reconciler.errors import HsprefsError

__all__ = ["command"]


@click.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@common_options
def command(paths: tuple[Path, ...], **_options: object) -> int:
    """Check config files against the schema and the semantic rules."""
    raise HsprefsError("'hsprefs validate' is not implemented yet")
