"""``hsprefs emulator``: the local HubSpot emulator (imported lazily, never by the core)."""

from __future__ import annotations

import click

from reconciler.cli._common import common_options
from reconciler.errors import HsprefsError

__all__ = ["command"]


@click.group("emulator")
def command() -> None:
    """Run the local HubSpot communication-preferences emulator."""


@command.command("serve")
@common_options
def serve(**_options: object) -> None:
    """Serve the emulator over HTTP."""
    raise HsprefsError("'hsprefs emulator serve' is not implemented yet")
