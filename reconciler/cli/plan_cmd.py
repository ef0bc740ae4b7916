"""``hsprefs plan``: read live statuses, diff them with the config and print the plan.

``-o FILE`` saves the plan document for ``apply --plan`` (see :func:`save_plan` for how a
file, a device or a FIFO is written); ``-o -`` writes it to standard output, and the plan
as ``--format`` shows it then goes to stderr, so stdout is the document alone.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from reconciler import config
from reconciler.cli._common import (
    api_options,
    api_settings,
    common_options,
    current_state,
    example,
    use_color,
    with_client,
)
from reconciler.cli._output import is_stdout
from reconciler.engine import build_plan
from reconciler.model import DesiredState
from reconciler.outfile import check_output
from reconciler.plan import Plan
from reconciler.planfile import plan_text, render_json, save_plan
from reconciler.redact import Redactor
from reconciler.render import render_markdown, render_text
from reconciler.settings import ApiSettings

__all__ = ["command", "compute_plan", "settings_for"]


def settings_for(desired: DesiredState, options: dict[str, object]) -> ApiSettings:
    """Resolve connection settings for a loaded config from the api_options values."""
    return api_settings(
        options,
        project_api_version=desired.portal.api_version,
        project_api_mode=desired.portal.api_mode,
    )


def compute_plan(desired: DesiredState, settings: ApiSettings) -> Plan:
    """Read HubSpot and diff, with a progress bar over the subscribers read."""
    total = sum(len(emails) for emails in desired.subscribers().values())
    return with_client(settings, total, lambda client: build_plan(desired, client))


@click.command("plan", epilog=example("hsprefs plan examples/ -o plan.json --detailed-exitcode"))
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    "plan_file",
    # readable=False: only written, and /dev/stdout may be write-only.
    type=click.Path(dir_okay=False, readable=False, allow_dash=True, path_type=Path),
    help="Save the plan (JSON, never redacted) for 'hsprefs apply --plan'; - writes it to "
    "standard output (the plan display then goes to stderr).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="How to print the plan.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes (blocked pairs alone do not count).",
)
@click.option("--redact", is_flag=True, help="Mask email addresses in what is printed.")
@api_options
@common_options
def command(
    paths: tuple[Path, ...],
    plan_file: Path | None,
    fmt: str,
    detailed_exitcode: bool,
    redact: bool,
    **options: object,
) -> int:
    """Read live statuses, diff them with the config and print the plan."""
    redactor = Redactor(enabled=redact)
    if redact:
        current_state().redactor = redactor
    to_stdout = plan_file is not None and is_stdout(plan_file)
    if plan_file is not None and not to_stdout:
        check_output(plan_file, what="plan file")  # before HubSpot is read
    desired = config.load(paths)
    settings = settings_for(desired, options)
    plan = compute_plan(desired, settings)
    now = datetime.now(UTC).replace(microsecond=0)
    if plan_file is not None and not to_stdout:
        save_plan(plan, plan_file, created_at=now)
    # With -o - stdout carries the saved plan alone; what people read goes to stderr.
    shown = sys.stderr if to_stdout else sys.stdout
    if fmt == "json":
        out = render_json(plan, created_at=now, redactor=redactor)
    elif fmt == "markdown":
        out = render_markdown(plan, redactor=redactor)
    else:
        out = render_text(plan, color=use_color(shown), redactor=redactor)
    click.echo(out, nl=False, err=to_stdout)
    if to_stdout:
        click.echo(plan_text(plan, created_at=now), nl=False)
    if plan_file is not None and not current_state().quiet:
        where = "standard output" if to_stdout else str(plan_file)
        click.echo(f"Saved the plan to {where} (it holds real email addresses).", err=True)
    return 2 if detailed_exitcode and plan.has_changes else 0
