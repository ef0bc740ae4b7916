"""The workflows: config + HubSpot -> plan (plan, audit), and plan -> HubSpot (apply).

This is the one place that strings the rooms together; the CLI calls it and renders what
it returns. It talks to HubSpot only through a :class:`reconciler.client.HubSpotClient`
handed in by the caller.

:func:`apply_saved` and :func:`apply_fresh` hold apply's safety order
(docs/architecture.md#the-safety-order-of-apply): the journal checked and locked, the
target and portal checked, the mass-change guard, the confirmation, a re-read, the
stale check, the consent re-check, the journal opened, the sending (by
:func:`reconciler.apply.apply_plan`) and the verification. What the caller shows while
that runs (progress bars, the plan, the report) goes through :class:`ApplyEvents`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.apply import (
    LEGAL_BASIS_HINT,
    ApplyReport,
    apply_plan,
    check_consent,
    check_mode,
    check_policy,
    check_stale,
    check_target,
    failure_line,
    lacks_legal_basis,
)
from reconciler.diff import diff
from reconciler.errors import ApplyError, PortalMismatchError
from reconciler.journal import Journal, JournalContext, check_journal, config_commit
from reconciler.lock import journal_lock
from reconciler.model import DesiredState, LiveState
from reconciler.plan import Plan, Target

if TYPE_CHECKING:
    from reconciler.client import HubSpotClient

__all__ = [
    "ApplyEvents",
    "Snapshot",
    "apply_fresh",
    "apply_saved",
    "build_plan",
    "check_portal",
    "prepare_desired",
    "read_state",
]


async def check_portal(desired: DesiredState, client: HubSpotClient) -> int:
    """Read the token's portal id and refuse a token of another portal than ``portal.id``."""
    portal_id = await client.portal_id()
    expected = desired.portal.id
    if expected is not None and portal_id != expected:
        raise PortalMismatchError(
            f"the token belongs to portal {portal_id}, but the config manages portal {expected}",
            hint="use the token of the right portal, or fix portal.id in hsprefs.yaml",
        )
    return portal_id


async def prepare_desired(desired: DesiredState, client: HubSpotClient) -> DesiredState:
    """Check every alias against HubSpot's definitions and bind those given by name.

    One ``/definitions`` call. It is made even when every alias has an id: an id alias
    whose ``business_unit`` is not its definition's brand would otherwise make plan read
    the wrong brand, and miss an opt-out of all in the right one.
    """
    if not desired.subscriptions:
        return desired
    from reconciler.config import resolve_aliases

    definitions = await client.definitions()
    return resolve_aliases(desired, definitions)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The config bound to HubSpot's definitions, and what HubSpot says of it."""

    desired: DesiredState
    live: LiveState
    target: Target
    read_calls: int


async def read_state(desired: DesiredState, client: HubSpotClient) -> Snapshot:
    """Check the portal, bind aliases and read the declared subscribers (plan and audit).

    Calls made (docs/architecture.md#minimal-calls): one account-info, one
    ``/definitions``, and per brand ⌈N/batch⌉ status reads plus ⌈N/batch⌉ wide-status
    reads; in single mode one status read and one opt-out read per subscriber and brand,
    after at most one batch read refused for want of the batch scopes (``auto``).
    """
    portal_id = await check_portal(desired, client)
    bound = await prepare_desired(desired, client)
    before = client.stats.total_requests
    live = await client.read(bound.subscribers())
    settings = client.settings
    # "auto" is still unsettled only when nothing was read: no change can come of it.
    mode = client.api_mode if client.api_mode != "auto" else "batch"
    target = Target(
        portal_id=portal_id,
        api_url=settings.api_url,
        api_version=settings.api_version,
        api_mode=mode,
    )
    return Snapshot(bound, live, target, client.stats.total_requests - before)


async def build_plan(desired: DesiredState, client: HubSpotClient) -> Plan:
    """Read HubSpot (:func:`read_state`) and diff."""
    snap = await read_state(desired, client)
    return diff(
        snap.desired,
        snap.live,
        snap.desired.policy,
        batch_size=client.settings.batch_size,
        target=snap.target,
        read_calls=snap.read_calls,
    )


# -- apply ---------------------------------------------------------------------------------


class ApplyEvents:
    """What an apply tells its caller while it runs; every method here does nothing.

    The CLI's subclass draws a progress bar per phase, prints, and routes Ctrl-C and
    SIGTERM to ``stop``. The reading phases advance through the client's own
    ``on_progress`` (the subscribers read); the sending phase through :meth:`sent`.
    """

    def phase(self, label: str, total: int, *, reads: bool) -> None:
        """A phase starts (the one before it ends): ``total`` subscribers to read when
        ``reads``, else changes to send."""

    def phase_done(self) -> None:
        """The current phase is over."""

    def sent(self, count: int) -> None:
        """A call was answered; it carried ``count`` changes."""

    def planned(self, plan: Plan) -> None:
        """:func:`apply_fresh` computed its plan, before any check on it."""

    def applying(self, plan: Plan) -> None:
        """Every check passed and the journal is locked: the journal opens and sending
        starts."""

    def journal_repaired(self, path: Path) -> None:
        """The journal's last line was cut short by a killed run; a newline ended it."""

    def stoppable(self, stop: asyncio.Event) -> AbstractContextManager[Sequence[str]]:
        """Held around the sending: what may set ``stop`` meanwhile (the CLI: Ctrl-C and
        SIGTERM). Yields a sequence that receives the name of the signal that set it."""
        return contextlib.nullcontext(())

    def finished(self, report: ApplyReport, *, signal: str) -> None:
        """Everything sent was journalled and read back; the lock is still held.
        ``signal`` names what interrupted the run, if anything did. A caller must show
        ``report.unjournalled`` (the lines a failed journal write lost)."""


async def apply_saved(
    plan: Plan,
    client: HubSpotClient,
    *,
    journal: Path,
    plan_file: Path | None = None,
    config: Path | None = None,
    allow_mass_change: bool = False,
    events: ApplyEvents | None = None,
) -> ApplyReport | None:
    """Apply a saved (reviewed) plan: the safety order of ``apply --plan``.

    The journal is checked and locked first; then the plan's portal and API target are
    checked, the mass-change guard, a re-read of the touched subscribers for the stale
    check and the consent rules, and only then is anything sent, journalled and
    verified. ``plan_file`` may not be the journal; ``config`` is where the config
    repository is, for the journal's ``config_commit`` (default: the current folder).

    Returns None when the plan has no changes, the report when every change was applied
    and verified; raises :class:`ApplyError` (with the report) when any was not, and the
    refusal of the step that stopped it (:class:`PortalMismatchError`,
    :class:`PlanFileError`, :class:`PolicyError`, :class:`StalePlanError`) before
    anything is sent.
    """
    shown = events or ApplyEvents()
    folder = config or Path.cwd()
    commit = _prepare_journal(
        journal,
        reserved=[(plan_file, "the plan file")] if plan_file is not None else [],
        folder=folder if folder.is_dir() else folder.parent,
        files=None,
    )
    with journal_lock(journal):
        portal_id = await client.portal_id()
        settings = client.settings
        check_target(plan, portal_id, settings.api_url, settings.api_version)
        check_mode(plan, settings.api_mode)
        # The plan's mode, without a probe: it was settled when the plan was read.
        client.use_mode(plan.target.api_mode)
        if not plan.has_changes:
            return None
        check_policy(plan, allow_mass_change=allow_mass_change)
        await _recheck(plan, client, shown)
        return await _send(plan, client, journal, commit, shown)


async def apply_fresh(
    desired: DesiredState,
    client: HubSpotClient,
    *,
    journal: Path,
    confirm: Callable[[Plan], bool] | None,
    allow_mass_change: bool = False,
    events: ApplyEvents | None = None,
) -> ApplyReport | None:
    """Plan afresh, ask, and apply: the safety order of ``apply`` without ``--plan``.

    The journal is checked and locked first; then HubSpot is read (the portal checked)
    and the plan shown (:meth:`ApplyEvents.planned`), the mass-change guard applied, and
    ``confirm(plan)`` asked; ``confirm=None`` means approved already (``--auto-approve``),
    and then nothing can have changed since the read. After a confirmation the touched
    subscribers are read again for the stale check and the consent rules, since time has
    passed while the plan was reviewed. Returns and raises as :func:`apply_saved`, and
    :class:`ApplyError` when ``confirm`` says no.
    """
    shown = events or ApplyEvents()
    files = desired.files
    folder = Path(files[0]).parent if files else Path.cwd()
    commit = _prepare_journal(
        journal,
        reserved=[(Path(name), "a config file") for name in files],
        folder=folder if folder.is_dir() else folder.parent,
        files=files,
    )
    with journal_lock(journal):
        shown.phase("Reading HubSpot", _count(desired.subscribers()), reads=True)
        plan = await build_plan(desired, client)
        shown.phase_done()
        shown.planned(plan)
        if not plan.has_changes:
            return None
        check_policy(plan, allow_mass_change=allow_mass_change)
        if confirm is not None:
            if not confirm(plan):
                raise ApplyError("apply cancelled; nothing was written")
            await _recheck(plan, client, shown)
        return await _send(plan, client, journal, commit, shown)


def _prepare_journal(
    path: Path, *, reserved: Sequence[tuple[Path, str]], folder: Path, files: Sequence[str] | None
) -> str | None:
    """Refuse a journal that is not one (before anything is read); the config's commit."""
    check_journal(path, reserved=reserved)
    return config_commit(folder, files)


def _count(subscribers: dict[int, list[str]]) -> int:
    return sum(len(emails) for emails in subscribers.values())


async def _recheck(plan: Plan, client: HubSpotClient, events: ApplyEvents) -> None:
    """Read the touched subscribers again: refuse a stale plan, and any change the
    consent rules forbid now."""
    touched = plan.touched()
    events.phase("Checking the plan is current", _count(touched), reads=True)
    fresh = await client.read(touched)
    events.phase_done()
    check_stale(plan, fresh)
    check_consent(plan, fresh)


async def _send(
    plan: Plan, client: HubSpotClient, path: Path, commit: str | None, events: ApplyEvents
) -> ApplyReport:
    """Open the journal, send, journal, verify; the report, or ApplyError."""
    events.applying(plan)
    stop = asyncio.Event()
    context = JournalContext(plan.checksum, plan.target.portal_id, commit)
    # Opening the journal is the append test (a regular file, with room for the plan's
    # lines): it fails here, before anything is sent.
    with Journal(path, context, expect=plan.changes) as journal:
        if journal.repaired:
            events.journal_repaired(path)
        events.phase("Applying", len(plan.changes), reads=False)
        with events.stoppable(stop) as caught:
            report = await apply_plan(
                plan,
                client,
                journal,
                stop=stop,
                on_progress=events.sent,
                on_verify=lambda total: events.phase("Verifying", total, reads=True),
            )
    events.phase_done()
    signal = caught[0] if caught else "SIGINT"
    events.finished(report, signal=signal)
    if report.journal_error is not None:
        missing = len(report.unjournalled)
        raise ApplyError(
            f"cannot write journal {path}: {report.journal_error}; the apply stopped "
            f"sending, and the {missing} journal {'line' if missing == 1 else 'lines'} it "
            f"could not write {'is' if missing == 1 else 'are'} printed above",
            hint="free some space or fix the file, append those lines to the journal, then "
            "make a new plan with 'hsprefs plan -o FILE' for what is left",
            report=report,
        )
    if report.stopped_by is not None:
        # The refusal that stopped the run is the error, as if it had been raised
        # straight away; the report says what happened before it.
        raise ApplyError(report.stopped_by.one_line(), report=report) from report.stopped_by
    if not report.ok:
        hint = "see the report above and the journal"
        if lacks_legal_basis(report):
            hint = LEGAL_BASIS_HINT
        raise ApplyError(failure_line(report, signal=signal), hint=hint, report=report)
    return report
