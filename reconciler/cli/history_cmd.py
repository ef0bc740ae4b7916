"""``hsprefs history``: one person's consent history from the journals.

``hsprefs history EMAIL... [--journal FILE|DIR]... [--live] [--format text|json|markdown]``:
:func:`reconciler.history.read_history` streams the journals; with ``--live``,
:func:`reconciler.history.read_live` adds HubSpot's current statuses. Without
``--live`` nothing is sent and no token is needed.
"""

from __future__ import annotations

from pathlib import Path

import click

from reconciler import config
from reconciler.cli._common import api_options, api_settings, common_options, example, with_client
from reconciler.cli._output import output
from reconciler.config import PROJECT_FILE
from reconciler.history import journal_files, people_of, read_history, read_live
from reconciler.model import DesiredState
from reconciler.render.history import (
    render_history_json,
    render_history_markdown,
    render_history_text,
)

__all__ = ["command"]

DEFAULT_JOURNALS = (Path(".hsprefs"),)


def _project() -> DesiredState | None:
    """The project in the working directory, for brand names and its brands (optional:
    history reads journals, and a broken or absent project does not stop it)."""
    if not Path(PROJECT_FILE).is_file():
        return None
    state, _findings = config.check((), empty_includes=True, project_only=True)
    return state


@click.command(
    "history",
    epilog=example(
        "hsprefs history erin@example.com --journal journal.jsonl --live",
        "hsprefs history erin@example.com --journal journal.jsonl --format markdown -o erin.md",
    ),
)
@click.argument("emails", nargs=-1, required=True, metavar="EMAIL...")
@click.option(
    "--journal",
    "journals",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A journal file, or a folder of *.jsonl journals such as journal/ (repeat for "
    "several; default .hsprefs/).",
)
@click.option(
    "--live", is_flag=True, help="Also read HubSpot's current statuses and their sources."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="text for a terminal, json for tools, markdown for a reply to an access request.",
)
@click.option(
    "-o",
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, readable=False, allow_dash=True, path_type=Path),
    help="Write the history here instead of stdout (- is stdout).",
)
@api_options
@common_options
def command(
    emails: tuple[str, ...],
    journals: tuple[Path, ...],
    live: bool,
    fmt: str,
    out_file: Path | None,
    **options: object,
) -> int:
    """Show every change hsprefs made for EMAIL, with its evidence, from the journals.

    When, brand and subscription, before -> after, the legal basis sent, HubSpot's
    answer and correlationId, the plan checksum and the config commit.
    """
    people = people_of(emails)
    files = journal_files(journals or DEFAULT_JOURNALS)
    history = read_history(people, files)
    project = _project()
    if project is not None:
        history.brand_names = dict(project.brand_names)
    if live:
        brands = {ref.brand for ref in project.subscriptions.values()} if project else set()
        settings = api_settings(options)
        with_client(settings, 0, lambda client: read_live(client, history, brands, desired=project))
    render = {
        "json": render_history_json,
        "markdown": render_history_markdown,
        "text": render_history_text,
    }[fmt]
    with output(out_file) as stream:
        stream.write(render(history))
    return 0
