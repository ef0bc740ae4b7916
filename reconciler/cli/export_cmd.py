"""``hsprefs export``: write the live statuses of listed subscribers as a subscriber file.

``hsprefs export [PATH...] --subscribers FILE|- [--business-unit N|all] [--include-unset]
[-o FILE|DIR]``. PATH is the project (as for ``plan``); without one, ``./hsprefs.yaml``
is used when it exists.
:func:`reconciler.export.run_export` does the work (the aliases, the header, the file);
this command reads the list (a file or stdin), opens the output and prints the summary.
"""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TextIO

import click

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
from reconciler.errors import UsageError
from reconciler.export import (
    finding_warnings,
    load_project,
    others_than,
    read_subscriber_data,
    run_export,
    run_export_all,
    schema_modeline,
    summary_lines,
)

__all__ = ["command", "list_data"]


def list_data(name: str) -> tuple[bytes | str, str]:
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


def _brand_or_all(_ctx: click.Context, _param: click.Parameter, value: str) -> int | str:
    """``--business-unit``: a business unit id (0 or more), or ``all``."""
    text = str(value).strip()
    if text == "all":
        return text
    if text.isascii() and text.isdigit():
        return int(text)
    raise click.BadParameter(f"{value!r} is not a business unit id (0 or more) or 'all'")


@click.command(
    "export",
    epilog=example(
        "hsprefs export examples/ --subscribers examples/subscribers/partners.csv -o partners.yaml",
        "hsprefs export examples/ --business-unit all "
        "--subscribers examples/subscribers/partners.csv -o exported/",
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
    metavar="N|all",
    callback=_brand_or_all,
    default="0",
    show_default=True,
    help="Brand (businessUnitId) to read and write the file for; all: every brand, one file each.",
)
@click.option(
    "-o",
    "--out",
    "out_file",
    type=click.Path(readable=False, allow_dash=True, path_type=Path),
    help="Write the subscriber file here instead of stdout (- is stdout); with "
    "--business-unit all, the folder of the files (default: subscribers/ of the project).",
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
    business_unit: int | str,
    out_file: Path | None,
    include_unset: bool,
    **options: object,
) -> int:
    """Write the live statuses of the listed subscribers as a subscriber file (YAML).

    A plan right after, with the file included in the project, shows no changes.
    """
    if business_unit == "all":
        return _export_all(paths, subscribers, out_file, options, include_unset=include_unset)
    assert isinstance(business_unit, int)
    if is_stdout(out_file):
        out_file = None  # -o -: standard output
    elif out_file is not None and out_file.is_dir():
        raise UsageError(
            f"-o {out_file} is a folder",
            hint="give -o a file name, or use --business-unit all to write one file per brand",
        )
    emails = read_subscriber_data(*list_data(subscribers))
    desired, findings = load_project(paths)
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
            modeline=schema_modeline(out_file, desired) if out_file is not None else None,
            include_unset=include_unset,
        ),
    )
    where = str(out_file) if out_file is not None else None
    _say(summary_lines(stats, business_unit, where))
    _say(finding_warnings(others_than(findings, [out_file] if out_file is not None else [])))
    return 0


def _export_all(
    paths: tuple[Path, ...],
    subscribers: str,
    out_dir: Path | None,
    options: dict[str, object],
    *,
    include_unset: bool,
) -> int:
    if out_dir is not None and (is_stdout(out_dir) or (out_dir.exists() and not out_dir.is_dir())):
        raise UsageError(
            f"-o {out_dir} is not a folder",
            hint="with --business-unit all, -o names the folder of the files (one per brand)",
        )
    emails = read_subscriber_data(*list_data(subscribers))
    desired, findings = load_project(paths)
    if out_dir is None:
        root = Path(desired.files[0]).parent if desired is not None and desired.files else Path()
        out_dir = root / "subscribers"
    settings = settings_for(desired, options) if desired is not None else api_settings(options)
    folder = out_dir

    def open_file(path: Path) -> AbstractContextManager[TextIO]:
        folder.mkdir(parents=True, exist_ok=True)
        return output(path)

    done = with_client(
        settings,
        len(emails),
        lambda client: run_export_all(
            client,
            emails,
            desired=desired,
            folder=folder,
            open_output=open_file,
            chunk_size=settings.batch_size * settings.concurrency,
            modeline=lambda path: schema_modeline(path, desired),
            include_unset=include_unset,
        ),
    )
    for item in done:
        _say(summary_lines(item.stats, item.brand, str(item.path)))
    _say(finding_warnings(others_than(findings, [item.path for item in done])))
    return 0


def _say(lines: list[str]) -> None:
    quiet = current_state().quiet
    for line in lines:
        if not quiet or line.startswith("warning:"):
            click.echo(line, err=True)
