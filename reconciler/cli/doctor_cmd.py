"""``hsprefs doctor``: preflight: token, scopes, portal id and rate budget."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli._common import api_options, common_options
from reconciler.errors import HsprefsError

__all__ = ["command"]


@click.command("doctor")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@api_options
@common_options
def command(paths: tuple[Path, ...], **_options: object) -> int:
    """Preflight: token, scopes, portal id and rate budget."""
    raise HsprefsError("'hsprefs doctor' is not implemented yet")
