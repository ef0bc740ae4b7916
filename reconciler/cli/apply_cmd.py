"""``hsprefs apply``: apply a saved or fresh plan, then verify by reading back.

Exit codes (design §4): 0 when every change was applied and verified, 1 otherwise. An
interrupted apply (Ctrl-C, or SIGTERM as a cancelled CI job sends) follows the same
rule: it exits 1 when the interrupt kept any change from being sent (or anything else
did not reach its desired state), and 0 only if every call had already been sent and
every change is verified. SIGTERM does not end the process with 143: design §4 gives
apply only 0 and 1, and the calls on the wire are finished and journalled first. A
refusal that stops the run (401, 403, the daily cap) prints the report, then that
refusal as the error line; a journal write that fails prints the report, the lines it
could not write (on stderr), then a line naming the journal and the OS error.

The journal is checked before anything is read (:func:`check_journal`), and
``<journal>.lock`` is held from then until the report is printed, so a second apply
against the same journal is refused instead of passing the same stale check.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
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
from reconciler.journal import Journal, JournalContext, check_journal, config_commit
from reconciler.lock import journal_lock
from reconciler.model import DesiredState
from reconciler.plan import Plan
from reconciler.planfile import load_plan
from reconciler.render import render_text
from reconciler.render.apply_report import render_apply_failure, render_apply_report
from reconciler.settings import ApiSettings

__all__ = ["command"]

DEFAULT_JOURNAL = Path(".hsprefs") / "journal.jsonl"


# The signals that stop an apply gracefully, and how the stop notice names them.
_SIGNAL_NAMES = {"SIGINT": "Ctrl-C", "SIGTERM": "SIGTERM"}


def _catch(
    loop: asyncio.AbstractEventLoop, number: signal.Signals, callback: Callable[[], None]
) -> Callable[[], object] | None:
    """Route one signal to ``callback`` on the loop; return how to undo it, or None."""
    previous = signal.getsignal(number)
    if previous is None:
        # Not set from Python: Python's own behaviour is the fair one to put back.
        previous = signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL
    try:
        loop.add_signal_handler(number, callback)
    except (NotImplementedError, RuntimeError, ValueError):
        # No loop signal handlers (Windows): a plain handler hands the signal to the
        # loop. Outside the main thread neither works and the signal keeps its default.
        try:
            signal.signal(number, lambda _sig, _frame: loop.call_soon_threadsafe(callback))
        except (ValueError, OSError):
            return None
        return functools.partial(signal.signal, number, previous)

    def restore() -> None:
        loop.remove_signal_handler(number)
        signal.signal(number, previous)

    return restore


@contextlib.contextmanager
def _signals_stop(stop: asyncio.Event) -> Iterator[list[str]]:
    """While applying, Ctrl-C (SIGINT) and SIGTERM set ``stop``: the calls on the wire
    finish and are journalled, and no new call leaves (instead of the signal killing
    them). Yields a list that receives the name of the first signal caught."""
    loop = asyncio.get_running_loop()
    caught: list[str] = []

    def on_signal(name: str) -> None:
        if not stop.is_set():
            click.echo(
                f"hsprefs: stopping after the calls in flight ({_SIGNAL_NAMES[name]})", err=True
            )
        if not caught:
            caught.append(name)
        stop.set()

    undo = [
        _catch(loop, getattr(signal, name), functools.partial(on_signal, name))
        for name in _SIGNAL_NAMES
        if hasattr(signal, name)
    ]
    try:
        yield caught
    finally:
        for restore in reversed(undo):
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
) -> tuple[ApplyReport | None, str]:
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
) -> tuple[ApplyReport | None, str]:
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
        return None, ""
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
    stop = asyncio.Event()
    context = JournalContext(plan.checksum, plan.target.portal_id, commit)
    # Opening the journal is the append test (a regular file, with room for the plan's
    # lines): it fails here, before anything is sent.
    with Journal(journal_path, context, expect=plan.changes) as journal:
        if journal.repaired:
            click.echo(
                f"hsprefs: warning: the last line of journal {journal_path} was incomplete "
                "(a run was killed while writing it); a newline was added so every line "
                "stays one JSON object",
                err=True,
            )
        bars.start("Applying", len(plan.changes), reads=False)
        with _signals_stop(stop) as caught:
            report = await apply_plan(
                plan,
                client,
                journal,
                stop=stop,
                on_progress=bars.sent,
                on_verify=lambda total: bars.start("Verifying", total, reads=True),
            )
    bars.close()
    return report, caught[0] if caught else "SIGINT"


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
    help="Append-only JSONL record of every input sent (the consent evidence); "
    "FILE.lock next to it is held while the apply runs.",
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
    reserved = [(plan_file, "the plan file")] if plan_file is not None else []
    if desired is not None:
        reserved += [(Path(name), "a config file") for name in desired.files]
    check_journal(journal_path, reserved=reserved)
    commit = config_commit(
        folder if folder.is_dir() else folder.parent,
        desired.files if desired is not None else None,
    )
    with journal_lock(journal_path):
        report, caught = asyncio.run(
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
        click.echo(render_apply_report(report, str(journal_path), signal=caught), nl=False)
    if report.journal_error is not None:
        _rescue(report, journal_path)
    if report.stopped_by is not None:
        # The refusal that stopped the run is the error line, as if it had been raised
        # straight away; the report above says what happened before it.
        raise report.stopped_by
    if report.ok:
        return 0
    raise HsprefsError(
        render_apply_failure(report, signal=caught), hint="see the report above and the journal"
    )


def _rescue(report: ApplyReport, journal_path: Path) -> None:
    """After a failed journal write: the lines it could not write, on stderr (ASCII JSON,
    one object a line, ready to append to the journal), then the error line."""
    for line in report.unjournalled:
        click.echo(line, err=True)
    missing = len(report.unjournalled)
    raise HsprefsError(
        f"cannot write journal {journal_path}: {report.journal_error}; the apply stopped "
        f"sending, and the {missing} journal {'line' if missing == 1 else 'lines'} it could "
        f"not write {'is' if missing == 1 else 'are'} printed above",
        hint="free some space or fix the file, append those lines to the journal, then make "
        "a new plan with 'hsprefs plan -o FILE' for what is left",
    )
