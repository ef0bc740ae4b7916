"""``hsprefs audit``: a read-only drift report of every managed pair.

Reads exactly what ``plan`` reads (one account-info call, at most one ``/definitions``,
per brand ⌈N/batch⌉ status reads and as many wide reads) and never writes. Exit 0 when
HubSpot matches the config, 2 on drift (blocked pairs count), 1 on any error.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from reconciler import config
from reconciler.audit import AuditReport, audit
from reconciler.cli._common import (
    api_options,
    common_options,
    current_state,
    example,
    use_color,
    with_client,
)
from reconciler.cli._output import is_stdout, output
from reconciler.cli.plan_cmd import settings_for
from reconciler.client import HubSpotClient
from reconciler.engine import read_state
from reconciler.model import DesiredState
from reconciler.outfile import check_output
from reconciler.redact import Redactor
from reconciler.render.audit_html import render_audit_html
from reconciler.render.audit_json import render_audit_json
from reconciler.render.audit_markdown import render_audit_markdown
from reconciler.render.audit_text import render_audit_text
from reconciler.settings import ApiSettings

__all__ = ["collect_audit", "command"]

FORMATS = ("text", "json", "markdown", "html")


def collect_audit(desired: DesiredState, settings: ApiSettings) -> AuditReport:
    """Check the portal, bind aliases, read the declared subscribers and audit them."""

    async def work(client: HubSpotClient) -> AuditReport:
        snap = await read_state(desired, client)
        return audit(snap.desired, snap.live, target=snap.target, read_calls=snap.read_calls)

    total = sum(len(emails) for emails in desired.subscribers().values())
    return with_client(settings, total, work)


@click.command(
    "audit", epilog=example("hsprefs audit examples/ --format html -o audit.html --redact")
)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Report format; html is one self-contained file.",
)
@click.option(
    "-o",
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, readable=False, allow_dash=True, path_type=Path),
    help="Write the report to this file instead of stdout (- is stdout).",
)
@click.option("--redact", is_flag=True, help="Mask email addresses in the report.")
@api_options
@common_options
def command(
    paths: tuple[Path, ...],
    fmt: str,
    out_file: Path | None,
    redact: bool,
    **options: object,
) -> int:
    """Report, without writing anything, which managed pairs drifted from the config.

    Exit 0 in sync, 2 when any pair drifted or is blocked, 1 on error.
    """
    redactor = Redactor(enabled=redact)
    if redact:
        # The CLI masks the error line too: config findings and HubSpot's messages can
        # name subscribers, and --redact promises no address on the terminal.
        current_state().redactor = redactor
    if is_stdout(out_file):
        out_file = None  # -o -: standard output
    if out_file is not None:
        check_output(out_file, what="report")  # before HubSpot is read
    desired = config.load(paths)
    settings = settings_for(desired, options)
    report = collect_audit(desired, settings)
    now = datetime.now(UTC).replace(microsecond=0)
    if fmt == "json":
        text = render_audit_json(report, created_at=now, redactor=redactor)
    elif fmt == "markdown":
        text = render_audit_markdown(report, redactor=redactor)
    elif fmt == "html":
        text = render_audit_html(report, created_at=now, redactor=redactor)
    else:
        color = out_file is None and use_color(sys.stdout)
        text = render_audit_text(report, color=color, redactor=redactor)
    with output(out_file, what="report") as stream:
        stream.write(text)
    if out_file is not None and not current_state().quiet:
        click.echo(f"Audit: {report.totals.line()}. Wrote the report to {out_file}.", err=True)
    return 0 if report.in_sync else 2
