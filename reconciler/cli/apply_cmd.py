"""``hsprefs apply``: apply a saved or fresh plan, then verify by reading back."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from reconciler import config
from reconciler.apply import (
    ApplyReport,
    apply_plan,
    check_consent,
    check_policy,
    check_stale,
    check_target,
)
from reconciler.cli._common import (
    Progress,
    api_options,
    api_settings,
    common_options,
    current_state,
    use_color,
)
from reconciler.cli.plan_cmd import settings_for
from reconciler.client import HubSpotClient
from reconciler.engine import build_plan
from reconciler.errors import HsprefsError, UsageError
from reconciler.journal import Journal, JournalContext
from reconciler.model import DesiredState
from reconciler.plan import Plan
from reconciler.planfile import load_plan
from reconciler.render import render_text
from reconciler.render.apply_report import render_apply_report
from reconciler.settings import ApiSettings

__all__ = ["command"]

DEFAULT_JOURNAL = Path(".hsprefs") / "journal.jsonl"


def config_commit(folder: Path) -> str | None:
    """The git commit of the config repository, when it is one."""
    try:
        out = subprocess.run(  # noqa: S603
            ["git", "-C", str(folder), "rev-parse", "HEAD"],  # noqa: S607 (git from PATH, fixed arguments)
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else None


@contextlib.contextmanager
def _ctrl_c_stops(stop: asyncio.Event) -> Iterator[None]:
    """While applying, Ctrl-C lets the calls in flight finish instead of killing them."""
    loop = asyncio.get_running_loop()

    def on_interrupt() -> None:
        if not stop.is_set():
            click.echo("hsprefs: stopping after the calls in flight (Ctrl-C)", err=True)
        stop.set()

    try:
        loop.add_signal_handler(signal.SIGINT, on_interrupt)
        installed = True
    except (NotImplementedError, RuntimeError, ValueError):
        installed = False
    try:
        yield
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)


def _confirm(plan: Plan) -> None:
    if not sys.stdin.isatty():
        raise UsageError(
            "apply needs a confirmation and there is no terminal to ask on",
            hint="review the plan and pass --auto-approve, or apply a saved plan with --plan",
        )
    n = len(plan.changes)
    if not click.confirm(f"Apply these {n} {'change' if n == 1 else 'changes'}?", default=False):
        raise HsprefsError("apply cancelled; nothing was written")


async def _run(
    settings: ApiSettings,
    *,
    saved: Plan | None,
    desired: DesiredState | None,
    auto_approve: bool,
    allow_mass_change: bool,
    journal_path: Path,
    commit: str | None,
) -> tuple[Plan, ApplyReport | None]:
    state = current_state()
    async with HubSpotClient.from_settings(
        settings, transport=state.transport, retry=state.retry
    ) as client:
        if saved is not None:
            plan = saved
            portal_id = await client.portal_id()
            check_target(plan, portal_id, settings.api_url, settings.api_version)
            needs_stale_check = True
        else:
            assert desired is not None
            plan = await build_plan(desired, client)
            click.echo(render_text(plan, color=use_color(sys.stdout)), nl=False)
            needs_stale_check = False
        if not plan.has_changes:
            if saved is not None:
                click.echo("The plan has no changes: nothing to apply.")
            return plan, None
        check_policy(plan, allow_mass_change=allow_mass_change)
        if saved is None and not auto_approve:
            _confirm(plan)
            needs_stale_check = True  # time has passed while the plan was reviewed
        if needs_stale_check:
            fresh = await client.read(plan.touched())
            check_stale(plan, fresh)
            check_consent(plan, fresh)
        if saved is not None and not state.quiet:
            # A saved plan was reviewed elsewhere: say which one is being applied, so the
            # log of a CI job ties the writes to the reviewed artifact.
            n = len(plan.changes)
            click.echo(
                f"Applying plan {plan.checksum} to portal {plan.target.portal_id}: "
                f"{plan.summary.line()}; {len(plan.calls)} "
                f"{'call' if len(plan.calls) == 1 else 'calls'} for {n} "
                f"{'change' if n == 1 else 'changes'}."
            )
        bar = Progress(state, "Applying", len(plan.changes))
        stop = asyncio.Event()
        context = JournalContext(plan.checksum, plan.target.portal_id, commit)
        try:
            with Journal(journal_path, context) as journal, _ctrl_c_stops(stop):
                report = await apply_plan(plan, client, journal, stop=stop, on_progress=bar.advance)
        finally:
            bar.close()
        return plan, report


@click.command("apply")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Apply this saved plan (refused if stale); needs no confirmation.",
)
@click.option("--auto-approve", is_flag=True, help="Apply a fresh plan without asking.")
@click.option(
    "--allow-mass-change", is_flag=True, help="Apply even when the policy thresholds are exceeded."
)
@click.option(
    "--journal",
    "journal_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_JOURNAL,
    show_default=True,
    help="Append-only JSONL record of every input sent.",
)
@api_options
@common_options
def command(
    paths: tuple[Path, ...],
    plan_file: Path | None,
    auto_approve: bool,
    allow_mass_change: bool,
    journal_path: Path,
    **options: object,
) -> int:
    """Apply a saved plan, or plan afresh, ask, and apply; then verify by reading back."""
    saved: Plan | None = None
    desired: DesiredState | None = None
    if plan_file is not None:
        saved = load_plan(plan_file)
        settings = api_settings(
            options,
            project_api_version=saved.target.api_version or None,
            batch_size=saved.batch_size,
        )
        folder = paths[0] if paths else Path.cwd()
    else:
        desired = config.load(paths)
        settings = settings_for(desired, options)
        folder = Path(desired.files[0]).parent if desired.files else Path.cwd()
    commit = config_commit(folder if folder.is_dir() else folder.parent)
    plan, report = asyncio.run(
        _run(
            settings,
            saved=saved,
            desired=desired,
            auto_approve=auto_approve,
            allow_mass_change=allow_mass_change,
            journal_path=journal_path,
            commit=commit,
        )
    )
    if report is None:
        return 0
    click.echo(render_apply_report(report, str(journal_path)), nl=False)
    if report.ok:
        return 0
    not_done = len(report.items) - len(report.of("applied"))
    click.echo(
        f"hsprefs: error: {not_done} of {len(plan.changes)} changes did not reach their "
        "desired state (see the report above and the journal)",
        err=True,
    )
    return 1
