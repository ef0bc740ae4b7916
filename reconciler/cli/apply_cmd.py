"""``hsprefs apply``: apply a saved or fresh plan, then verify by reading back.

Exit codes (design §4): 0 when every change was applied and verified, 1 otherwise. An
interrupted apply (Ctrl-C) follows the same rule: it exits 1 when the interrupt kept any
change from being sent (or anything else did not reach its desired state), and 0 only if
every call had already been sent and every change is verified. A refusal that stops the
run (401, 403, the daily cap) prints the report, then that refusal as the error line.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
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
    State,
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
from reconciler.render.apply_report import render_apply_failure, render_apply_report
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
    """While applying, Ctrl-C sets ``stop``: the calls on the wire finish and are
    journalled, and no new call leaves (instead of a KeyboardInterrupt killing them)."""
    loop = asyncio.get_running_loop()

    def on_interrupt() -> None:
        if not stop.is_set():
            click.echo("hsprefs: stopping after the calls in flight (Ctrl-C)", err=True)
        stop.set()

    restore: Callable[[], object] | None
    try:
        loop.add_signal_handler(signal.SIGINT, on_interrupt)
        restore = functools.partial(loop.remove_signal_handler, signal.SIGINT)
    except (NotImplementedError, RuntimeError, ValueError):
        # No loop signal handlers (Windows): a plain handler hands the interrupt to the
        # loop. Outside the main thread neither works and Ctrl-C stays KeyboardInterrupt.
        try:
            previous = signal.signal(
                signal.SIGINT, lambda _sig, _frame: loop.call_soon_threadsafe(on_interrupt)
            )
            # None: the handler was not set from Python; Python's own is the fair default.
            back = previous if previous is not None else signal.default_int_handler
            restore = functools.partial(signal.signal, signal.SIGINT, back)
        except ValueError:
            restore = None
    try:
        yield
    finally:
        if restore is not None:
            restore()


class _Bars:
    """One progress bar at a time, for each phase of an apply: the client advances the
    reading bars (subscribers read), apply_plan the sending bar (changes answered)."""

    def __init__(self, state: State) -> None:
        self._state = state
        self._bar: Progress | None = None
        self._reads = False

    def start(self, label: str, total: int, *, reads: bool) -> None:
        """Close the current bar and open the next phase's."""
        self.close()
        self._bar = Progress(self._state, label, total)
        self._reads = reads

    def read(self, count: int) -> None:
        """The client's ``on_progress``: subscribers read."""
        if self._reads and self._bar is not None:
            self._bar.advance(count)

    def sent(self, count: int) -> None:
        """apply_plan's ``on_progress``: changes carried by a call that was answered."""
        if not self._reads and self._bar is not None:
            self._bar.advance(count)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _confirm(plan: Plan) -> None:
    if not sys.stdin.isatty():
        raise UsageError(
            "apply needs a confirmation and there is no terminal to ask on",
            hint="review the plan and pass --auto-approve, or apply a saved plan with --plan",
        )
    n = len(plan.changes)
    if not click.confirm(f"Apply these {n} {'change' if n == 1 else 'changes'}?", default=False):
        raise HsprefsError("apply cancelled; nothing was written")


def _count(subscribers: dict[int, list[str]]) -> int:
    return sum(len(emails) for emails in subscribers.values())


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
    bars = _Bars(state)
    try:
        async with HubSpotClient.from_settings(
            settings, transport=state.transport, retry=state.retry, on_progress=bars.read
        ) as client:
            return await _apply(
                client,
                bars,
                saved=saved,
                desired=desired,
                auto_approve=auto_approve,
                allow_mass_change=allow_mass_change,
                journal_path=journal_path,
                commit=commit,
            )
    finally:
        bars.close()


async def _apply(
    client: HubSpotClient,
    bars: _Bars,
    *,
    saved: Plan | None,
    desired: DesiredState | None,
    auto_approve: bool,
    allow_mass_change: bool,
    journal_path: Path,
    commit: str | None,
) -> tuple[Plan, ApplyReport | None]:
    state = current_state()
    settings = client.settings
    if saved is not None:
        plan = saved
        portal_id = await client.portal_id()
        check_target(plan, portal_id, settings.api_url, settings.api_version)
        needs_stale_check = True
    else:
        assert desired is not None
        bars.start("Reading HubSpot", _count(desired.subscribers()), reads=True)
        plan = await build_plan(desired, client)
        bars.close()
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
        touched = plan.touched()
        bars.start("Checking the plan is current", _count(touched), reads=True)
        fresh = await client.read(touched)
        bars.close()
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
    bars.start("Applying", len(plan.changes), reads=False)
    stop = asyncio.Event()
    context = JournalContext(plan.checksum, plan.target.portal_id, commit)
    with Journal(journal_path, context) as journal, _ctrl_c_stops(stop):
        report = await apply_plan(
            plan,
            client,
            journal,
            stop=stop,
            on_progress=bars.sent,
            on_verify=lambda total: bars.start("Verifying", total, reads=True),
        )
    bars.close()
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
    _plan, report = asyncio.run(
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
    if report.stopped_by is not None:
        # The refusal that stopped the run is the error line, as if it had been raised
        # straight away; the report above says what happened before it.
        raise report.stopped_by
    if report.ok:
        return 0
    raise HsprefsError(render_apply_failure(report), hint="see the report above and the journal")
