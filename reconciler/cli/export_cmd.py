"""``hsprefs export``: write the live statuses of listed subscribers as a subscriber file.

``hsprefs export [PATH...] --subscribers FILE|- [--business-unit N] [--include-unset]
[-o FILE]``. PATH is the project (as for ``plan``); without one, ``./hsprefs.yaml`` is
used when it exists.
:func:`reconciler.export.run_export` does the work (the aliases, the header, the file);
this command reads the list (a file or stdin), opens the output and prints the summary.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from reconciler import config
from reconciler.cli._common import (
    api_options,
    api_settings,
    common_options,
    current_state,
    example,
    with_client,
)
from reconciler.cli._output import is_stdout, output
from reconciler.cli.plan_cmd import settings_for
from reconciler.config import PROJECT_FILE
from reconciler.errors import UsageError
from reconciler.export import read_subscriber_data, run_export, summary_lines
from reconciler.model import DesiredState

__all__ = ["command"]


def _list_data(name: str) -> tuple[bytes | str, str]:
    """The raw content of ``--subscribers`` (a file, or ``-`` for stdin) and its name."""
    if name == "-":
        binary = getattr(sys.stdin, "buffer", None)
        if binary is None:  # already text (tests hand in a StringIO)
            return sys.stdin.read(), "<stdin>"
        return binary.read(), "<stdin>"
    try:
        return Path(name).read_bytes(), name
    except OSError as exc:
        raise UsageError(
            f"cannot read {name}: {exc.strerror or exc}", hint="check the path of --subscribers"
        ) from None


def _project(paths: tuple[Path, ...]) -> DesiredState | None:
    # Export only needs the project's aliases, and often writes the first subscriber
    # file of a new config repository: an include that matches nothing yet is fine.
    if paths:
        return config.load(paths, empty_includes=True)
    if Path(PROJECT_FILE).is_file():
        return config.load((), empty_includes=True)
    return None


@click.command(
    "export",
    epilog=example(
        "hsprefs export examples/ --subscribers examples/subscribers/partners.csv -o partners.yaml"
    ),
)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--subscribers",
    "subscribers",
    required=True,
    metavar="FILE|-",
    help="Subscribers to export: one email per line, or CSV with an email column; - is stdin.",
)
@click.option(
    "--business-unit",
    "business_unit",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Brand (businessUnitId) to read and write the file for.",
)
@click.option(
    "-o",
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, readable=False, allow_dash=True, path_type=Path),
    help="Write the subscriber file here instead of stdout (- is stdout).",
)
@click.option(
    "--include-unset",
    is_flag=True,
    help="Write not_specified statuses too (left out by default: declaring 'never asked' "
    "would keep people there).",
)
@api_options
@common_options
def command(
    paths: tuple[Path, ...],
    subscribers: str,
    business_unit: int,
    out_file: Path | None,
    include_unset: bool,
    **options: object,
) -> int:
    """Write the live statuses of the listed subscribers as a subscriber file (YAML).

    A plan right after, with the file included in the project, shows no changes.
    """
    if is_stdout(out_file):
        out_file = None  # -o -: standard output
    emails = read_subscriber_data(*_list_data(subscribers))
    desired = _project(paths)
    settings = settings_for(desired, options) if desired is not None else api_settings(options)
    stats = with_client(
        settings,
        len(emails),
        lambda client: run_export(
            client,
            emails,
            desired=desired,
            brand=business_unit,
            open_output=lambda: output(out_file),
            chunk_size=settings.batch_size * settings.concurrency,
            include_unset=include_unset,
        ),
    )
    quiet = current_state().quiet
    where = str(out_file) if out_file is not None else None
    for line in summary_lines(stats, business_unit, where):
        if not quiet or line.startswith("warning:"):
            click.echo(line, err=True)
    return 0
