"""``hsprefs validate``: check config files against the schema and the semantic rules.

Findings go to stdout in one of three formats (:mod:`reconciler.render.validate`):
``text``, ``json`` or ``github`` (GitHub Actions annotations). Exit 0 when there is no
error (warnings allowed), 1 otherwise. ``--online`` also reads ``/definitions`` and
checks the aliases against it; it runs only when the offline checks pass, because it
needs the project's aliases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from reconciler import config
from reconciler.cli._common import (
    TUNING,
    api_options,
    api_settings,
    common_options,
    current_state,
    example,
    hidden,
    with_client,
)
from reconciler.model import Definition, DesiredState
from reconciler.render.validate import render_validate

__all__ = ["command"]


def _definitions(state: DesiredState, options: dict[str, Any]) -> list[Definition]:
    settings = api_settings(
        options,
        project_api_version=state.portal.api_version,
        project_api_mode=state.portal.api_mode,
    )
    return with_client(settings, 0, lambda client: client.definitions())


@click.command("validate", epilog=example("hsprefs validate examples/ --format github"))
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="How to print the findings.",
)
@click.option(
    "--online",
    is_flag=True,
    help="Also check the subscription aliases against HubSpot's /definitions.",
)
@hidden(*TUNING)
@api_options
@common_options
def command(paths: tuple[Path, ...], fmt: str, online: bool, **options: Any) -> int:
    """Check config files against the schema and the semantic rules.

    PATH is the project folder, its hsprefs.yaml, or subscriber files (checked against
    the nearest hsprefs.yaml); none means ./hsprefs.yaml.
    """
    state, findings = config.check(paths)
    if online and state is not None:
        extra = config.check_definitions(state, _definitions(state, options))
        findings = sorted([*findings, *extra], key=lambda f: (f.file, f.line, f.column, f.message))
        if any(f.severity == "error" for f in extra):
            state = None
    quiet = current_state().quiet
    click.echo(render_validate(state, findings, fmt, quiet=quiet), nl=False)
    return 0 if state is not None else 1
