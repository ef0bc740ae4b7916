"""``hsprefs apply``: apply a saved or fresh plan, then verify by reading back.

The safety order is the library's (:func:`reconciler.engine.apply_saved` and
:func:`~reconciler.engine.apply_fresh`); this command turns the options into a call of
one of them, asks for the confirmation, draws the progress bars, prints what they
report (:class:`_Terminal`) and routes Ctrl-C and SIGTERM to their ``stop``.

Exit codes (docs/architecture.md#command-line-and-exit-codes): 0 when every change was applied and
verified, 1 otherwise. An interrupted apply (Ctrl-C, or SIGTERM as a cancelled CI job
sends) follows the same rule: it exits 1 when the interrupt kept any change from being
sent (or anything else did not reach its desired state), and 0 only if every call had
already been sent and every change is verified. SIGTERM does not end the process with
143: apply has only 0 and 1, and the calls on the wire are finished and journalled
first. Before the sending starts (reading, asking, checking a saved plan) Ctrl-C and
SIGTERM stop at once, with one error line saying nothing was written to HubSpot. A
refusal that stops the run (401, 403, the daily cap) prints the report, then that
refusal as the error line (said there only); a journal write that fails prints the report, the lines
it could not write (on stderr), then a line naming the journal and the OS error.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType

import click

from reconciler import config
from reconciler.cli._common import (
    Progress,
    State,
    api_options,
    api_settings,
    common_options,
    current_state,
    example,
    run_client,
    use_color,
)
from reconciler.cli.plan_cmd import settings_for
from reconciler.client import HubSpotClient
from reconciler.engine import ApplyEvents, apply_fresh, apply_saved
from reconciler.errors import ApplyError, UsageError
from reconciler.outcome import ApplyReport, nothing_sent_line
from reconciler.plan import Change, Plan
from reconciler.planfile import load_plan
from reconciler.render import render_text
from reconciler.render.apply_report import render_apply_report
from reconciler.words import plural

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
def _signals_stop(stop: asyncio.Event, hurry: asyncio.Event | None = None) -> Iterator[list[str]]:
    """While applying, Ctrl-C (SIGINT) and SIGTERM set ``stop``: the calls on the wire
    finish and are journalled, and no new call leaves (instead of the signal killing
    them). A signal after that sets ``hurry``: the read-back waits no more. Yields a list
    that receives the name of the first signal caught."""
    loop = asyncio.get_running_loop()
    caught: list[str] = []

    def on_signal(name: str) -> None:
        if not stop.is_set():
            click.echo(
                f"hsprefs: stopping after the calls in flight ({_SIGNAL_NAMES[name]})", err=True
            )
        elif hurry is not None and not hurry.is_set():
            hurry.set()
            click.echo(
                f"hsprefs: not waiting for HubSpot any longer ({_SIGNAL_NAMES[name]}); "
                "the journal keeps what was sent",
                err=True,
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


@contextlib.contextmanager
def _sigterm_interrupts(caught: list[str]) -> Iterator[None]:
    """Outside the sending phase (which routes both signals to its ``stop``), SIGTERM
    interrupts the apply as Ctrl-C does, instead of killing it without a word: a cancelled
    CI job's log then says whether anything was sent. ``caught`` receives "SIGTERM"."""

    def on_sigterm(_number: int, frame: FrameType | None) -> None:
        caught.append("SIGTERM")
        # The handler Ctrl-C has now: asyncio's (it cancels the run), or Python's.
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    except (ValueError, OSError, AttributeError):
        # Not the main thread, or no SIGTERM here: the signal keeps its default.
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Terminal(ApplyEvents):
    """The terminal side of an apply: one progress bar at a time, one per phase (the
    client advances the reading bars, the sending bar counts changes answered), the
    lines printed as it goes, and Ctrl-C and SIGTERM routed to ``stop``."""

    def __init__(self, state: State, journal: Path, *, saved: bool) -> None:
        self._state = state
        self._journal = journal
        self._saved = saved
        self._bar: Progress | None = None
        self._reads = False
        # Set once the sending phase routes Ctrl-C and SIGTERM to its stop: from then
        # on a call may have been sent, and the report says what became of each change.
        self.sending = False

    def phase(self, label: str, total: int, *, reads: bool) -> None:
        self.phase_done()
        self._bar = Progress(self._state, label, total)
        self._reads = reads

    def read(self, count: int) -> None:
        """The client's ``on_progress``: subscribers read."""
        if self._reads and self._bar is not None:
            self._bar.advance(count)

    def sent(self, count: int) -> None:
        if not self._reads and self._bar is not None:
            self._bar.advance(count)

    def phase_done(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def planned(self, plan: Plan) -> None:
        click.echo(render_text(plan, color=use_color(sys.stdout)), nl=False)

    def skipping(self, plan: Plan, done: Sequence[Change]) -> None:
        if not self._state.quiet:
            click.echo(
                f"Already applied: HubSpot shows {len(done)} of the plan's "
                f"{plural(len(plan.changes), 'change')}; they are skipped."
            )

    def applying(self, plan: Plan) -> None:
        if self._saved and not self._state.quiet:
            # A saved plan was reviewed elsewhere: say which one is being applied, so the
            # log of a CI job ties the writes to the reviewed artifact.
            click.echo(
                f"Applying plan {plan.checksum} to portal {plan.target.portal_id}: "
                f"{plan.summary.line()}; {plural(len(plan.calls), 'call')} for "
                f"{plural(len(plan.changes), 'change')}."
            )

    def journal_repaired(self, path: Path) -> None:
        click.echo(
            f"hsprefs: warning: the last line of journal {path} was incomplete (a run was "
            "killed while writing it); a newline was added so every line stays one JSON "
            "object",
            err=True,
        )

    def lock_taken_over(self, portal_id: int, pid: int) -> None:
        click.echo(
            f"hsprefs: note: the lock of portal {portal_id} was left by an apply that is no "
            f"longer running (pid {pid}); taken over",
            err=True,
        )

    def settled(self, path: Path, applied: int, not_applied: int) -> None:
        total = applied + not_applied
        click.echo(
            f"hsprefs: note: journal {path} held {plural(total, 'input')} an earlier apply "
            f"sent without recording HubSpot's answer (it was stopped while "
            f"{'its call was' if total == 1 else 'their calls were'} in flight); read back: "
            f"{applied} applied, {not_applied} not applied, journalled as recover lines",
            err=True,
        )

    def stoppable(
        self, stop: asyncio.Event, hurry: asyncio.Event | None = None
    ) -> contextlib.AbstractContextManager[list[str]]:
        self.sending = True
        return _signals_stop(stop, hurry)

    def finished(self, report: ApplyReport, *, signal: str) -> None:
        click.echo(render_apply_report(report, str(self._journal), signal=signal), nl=False)
        # After a failed journal write, the lines it could not write (ASCII JSON, one
        # object a line, ready to append to the journal) go to stderr before the error.
        for line in report.unjournalled:
            click.echo(line, err=True)


def _confirm(plan: Plan) -> bool:
    if not sys.stdin.isatty():
        raise UsageError(
            "apply needs a confirmation and there is no terminal to ask on",
            hint="review the plan and pass --auto-approve, or apply a saved plan with --plan",
        )
    return click.confirm(f"Apply these {plural(len(plan.changes), 'change')}?", default=False)


@click.command(
    "apply",
    epilog=example(
        "hsprefs plan examples/ -o plan.json",
        "hsprefs apply --plan plan.json --journal journal.jsonl",
    ),
)
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
    state = current_state()
    shown = _Terminal(state, journal_path, saved=plan_file is not None)
    work: Callable[[HubSpotClient], Awaitable[ApplyReport | None]]
    if plan_file is not None:
        saved = load_plan(plan_file)
        settings = api_settings(
            options,
            project_api_version=saved.target.api_version or None,
            batch_size=saved.batch_size,
        )
        work = functools.partial(
            apply_saved,
            saved,
            journal=journal_path,
            plan_file=plan_file,
            config=paths[0] if paths else None,
            allow_mass_change=allow_mass_change,
            events=shown,
        )
    else:
        desired = config.load(paths)
        settings = settings_for(desired, options)
        work = functools.partial(
            apply_fresh,
            desired,
            journal=journal_path,
            confirm=None if auto_approve else _confirm,
            allow_mass_change=allow_mass_change,
            events=shown,
        )
    caught: list[str] = []
    try:
        with _sigterm_interrupts(caught):
            report = run_client(settings, work, on_progress=shown.read)
    except KeyboardInterrupt:
        if shown.sending:
            raise
        # Stopped while reading, asking or checking: no call that writes had left.
        raise ApplyError(nothing_sent_line(caught[0] if caught else "SIGINT")) from None
    finally:
        shown.phase_done()
    if report is None and plan_file is not None:
        click.echo("The plan has no changes: nothing to apply.")
    elif report is not None and not report.items and report.already_applied:
        n = len(report.already_applied)
        which = "the plan's one change" if n == 1 else f"all {n} changes of the plan"
        click.echo(f"Already applied: HubSpot shows {which}; nothing was written.")
    return 0
