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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.apply import apply_plan
from reconciler.diff import diff
from reconciler.errors import ApiError, ApplyError, PortalMismatchError
from reconciler.journal import (
    Intent,
    Journal,
    JournalContext,
    Verified,
    check_journal,
    config_commit,
    unfinished,
)
from reconciler.lock import journal_lock, portal_lock
from reconciler.model import (
    DesiredState,
    LiveState,
    PairKey,
    Status,
    SubscriberKey,
    normalise_email,
)
from reconciler.outcome import ApplyReport, failure_line, lacks_legal_basis, legal_basis_hint
from reconciler.plan import Change, Plan, Target
from reconciler.preflight import (
    already_applied,
    check_consent,
    check_mode,
    check_policy,
    check_stale,
    check_target,
)
from reconciler.words import plural

if TYPE_CHECKING:
    from reconciler.client import HubSpotClient

__all__ = [
    "ApplyEvents",
    "Snapshot",
    "apply_fresh",
    "apply_saved",
    "build_plan",
    "check_portal",
    "date_differing",
    "prepare_desired",
    "read_state",
    "settle",
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


def date_differing(desired: DesiredState, live: LiveState) -> DesiredState:
    """``desired`` with the declarations dated (git blame, the newer-change rule) whose
    live status differs: the only ones the rule judges, so a plan in sync runs no git."""
    differing = [
        want for key, want in desired.statuses.items() if live.status_of(key) is not want.status
    ]
    if not differing:
        return desired
    from reconciler.config import date_declarations

    return date_declarations(desired, differing)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The config bound to HubSpot's definitions, and what HubSpot says of it."""

    desired: DesiredState
    live: LiveState
    target: Target
    read_calls: int


async def read_state(
    desired: DesiredState, client: HubSpotClient, *, declared_only: bool = False
) -> Snapshot:
    """Check the portal, bind aliases and read the declared subscribers (plan and audit);
    the declarations whose live status differs are dated from git (:func:`date_differing`).
    With ``declared_only`` the live state holds only what the diff compares (a plan; an
    audit lists the other subscriptions too): see :meth:`HubSpotClient.read`.

    Calls made (docs/architecture.md#minimal-calls): one account-info, one
    ``/definitions``, and per brand ⌈N/batch⌉ status reads plus ⌈N/batch⌉ wide-status
    reads; in single mode one status read and one opt-out read per subscriber and brand,
    after at most one batch read refused for want of the batch scopes (``auto``).
    """
    portal_id = await check_portal(desired, client)
    bound = await prepare_desired(desired, client)
    before = client.stats.total_requests
    scope = bound.read_scope() if declared_only else None
    live = await client.read(bound.subscribers(), keep=scope)
    bound = date_differing(bound, live)
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
    snap = await read_state(desired, client, declared_only=True)
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
        starts. ``plan`` is the reviewed plan, even when some of it is skipped."""

    def skipping(self, plan: Plan, done: Sequence[Change]) -> None:
        """The re-read shows ``done`` (changes of ``plan``) already applied, some but
        not all of them: they are skipped (called just before :meth:`applying`)."""

    def journal_repaired(self, path: Path) -> None:
        """The journal's last line was cut short by a killed run; a newline ended it."""

    def lock_taken_over(self, portal_id: int, pid: int) -> None:
        """The portal's lock was left by an apply (``pid``) that is no longer running; it
        was taken over."""

    def settled(self, path: Path, applied: int, not_applied: int) -> None:
        """The journal held inputs an earlier run sent without recording the answer (it
        was killed meanwhile); they were read back and a ``recover`` line journalled for
        each: ``applied`` of them show in HubSpot, ``not_applied`` do not."""

    def stoppable(
        self, stop: asyncio.Event, hurry: asyncio.Event | None = None
    ) -> AbstractContextManager[Sequence[str]]:
        """Held around the sending and the read-back: what may set ``stop`` meanwhile
        (the CLI: Ctrl-C and SIGTERM), and ``hurry`` when ``stop`` is set already (a
        second signal: no more waiting for HubSpot). Yields a sequence that receives the
        name of the signal that set ``stop``."""
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
    and verified (a change HubSpot already shows at the re-read is skipped and listed in
    ``already_applied``; when all are, nothing is sent and the report has no items);
    raises :class:`ApplyError` (with the report) when any was not, and the
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
    with journal_lock(journal), await _portal_locked(journal, client, shown):
        await settle(journal, client, shown)
        portal_id = await client.portal_id()
        settings = client.settings
        check_target(plan, portal_id, settings.api_url, settings.api_version)
        check_mode(plan, settings.api_mode)
        # The plan's mode, without a probe: it was settled when the plan was read.
        client.use_mode(plan.target.api_mode)
        if not plan.has_changes:
            return None
        check_policy(plan, allow_mass_change=allow_mass_change)
        rest, done = await _recheck(plan, client, shown)
        if not rest.has_changes:
            return ApplyReport(already_applied=done)
        return await _send(
            plan, rest, done=done, client=client, path=journal, commit=commit, events=shown
        )


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
    with journal_lock(journal), await _portal_locked(journal, client, shown):
        await settle(journal, client, shown)
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
            rest, done = await _recheck(plan, client, shown)
            if not rest.has_changes:
                return ApplyReport(already_applied=done)
            return await _send(
                plan, rest, done=done, client=client, path=journal, commit=commit, events=shown
            )
        return await _send(
            plan, plan, done=(), client=client, path=journal, commit=commit, events=shown
        )


async def _portal_locked(
    journal: Path, client: HubSpotClient, events: ApplyEvents
) -> AbstractContextManager[Path]:
    """The per-portal lock (:func:`reconciler.lock.portal_lock`) of the token's portal at
    the client's API address: read the portal id (the one account-info call every apply
    makes anyway) and return the lock, not yet taken."""
    portal_id = await client.portal_id()
    return portal_lock(
        portal_id,
        client.settings.api_url,
        journal,
        on_takeover=lambda pid: events.lock_taken_over(portal_id, pid),
    )


async def settle(path: Path, client: HubSpotClient, events: ApplyEvents | None = None) -> int:
    """Finish the evidence of earlier runs: the journal's unfinished intents (``sending``
    lines no answer followed: the run was killed while their call was in flight) are read
    back and a ``recover`` line is journalled for each, before anything new is read for a
    plan or sent. Returns how many were settled.

    Refuses (nothing is sent) when the intents are another portal's than the token's, when
    the read-back fails, or when the recover lines cannot be written.
    """
    intents = unfinished(path)
    if not intents:
        return 0
    shown = events or ApplyEvents()
    portal_id = await client.portal_id()
    others = sorted({p for i in intents if (p := i.line.get("portal_id")) not in (None, portal_id)})
    if others:
        raise ApplyError(
            f"journal {path} holds {plural(len(intents), 'input')} an earlier apply sent to "
            f"portal {others[0]} without recording HubSpot's answer, but the token belongs to "
            f"portal {portal_id}",
            hint=f"run apply once with the token of portal {others[0]} to settle them, or "
            "pass another --journal; nothing was sent",
        )
    subscribers: dict[int, list[str]] = {}
    for intent in intents:
        emails = subscribers.setdefault(int(intent.line["brand"]), [])
        emails.append(str(intent.line["subscriber"]))
    shown.phase("Settling an earlier run", _count(subscribers), reads=True)
    try:
        live = await client.read(subscribers)
    except ApiError as exc:
        raise ApplyError(
            f"cannot settle the {plural(len(intents), 'input')} an earlier apply sent without "
            f"recording HubSpot's answer (journal {path}): {exc.message}",
            hint="try again when HubSpot answers; nothing was sent",
        ) from exc
    finally:
        shown.phase_done()
    settled = [(intent, *observe_intent(intent, live)) for intent in intents]
    context = JournalContext("", portal_id)
    with Journal(path, context) as journal:
        if journal.repaired:
            shown.journal_repaired(path)
        journal.recovered(settled)
        if journal.failure is not None:
            raise ApplyError(
                f"cannot write journal {path}: {journal.failure}; the earlier run's inputs "
                "were read back but their recover lines could not be written",
                hint="free some space or fix the file; nothing was sent",
            )
    applied = sum(1 for _i, verified, _o in settled if verified is Verified.APPLIED)
    shown.settled(path, applied, len(settled) - applied)
    return len(settled)


def observe_intent(intent: Intent, live: LiveState) -> tuple[Verified, str]:
    """Whether the read-back shows an unfinished intent applied, and what it shows."""
    line = intent.line
    subscriber = SubscriberKey(int(line["brand"]), normalise_email(str(line["subscriber"])))
    opted_out = live.opted_out(subscriber)
    subscription = line.get("subscription_id")
    if subscription is None:
        shown = "opted out of all" if opted_out else "not opted out of all"
        return (Verified.APPLIED if opted_out else Verified.NOT_APPLIED), shown
    status = live.status_of(PairKey(subscriber.brand, subscriber.email, str(subscription)))
    reached = status.value == line.get("after")
    shown = status.value
    if reached and status is Status.SUBSCRIBED and opted_out:
        reached = False
        shown += f", still opted out of all email of brand {subscriber.brand}"
    return (Verified.APPLIED if reached else Verified.NOT_APPLIED), shown


def _prepare_journal(
    path: Path, *, reserved: Sequence[tuple[Path, str]], folder: Path, files: Sequence[str] | None
) -> str | None:
    """Refuse a journal that is not one (before anything is read); the config's commit."""
    check_journal(path, reserved=reserved)
    return config_commit(folder, files)


def _count(subscribers: dict[int, list[str]]) -> int:
    return sum(len(emails) for emails in subscribers.values())


async def _recheck(
    plan: Plan, client: HubSpotClient, events: ApplyEvents
) -> tuple[Plan, tuple[Change, ...]]:
    """Read the touched subscribers again: skip what HubSpot already shows (a re-apply
    converges), refuse a stale plan for the rest, and any change the consent rules
    forbid now. Returns the plan of what is left to send, and the changes skipped."""
    touched = plan.touched()
    events.phase("Checking the plan is current", _count(touched), reads=True)
    fresh = await client.read(touched, keep=plan.read_scope())
    events.phase_done()
    done, rest = already_applied(plan, fresh)
    check_stale(rest, fresh, of=len(plan.changes))
    check_consent(rest, fresh)
    return rest, done


async def _send(
    reviewed: Plan,
    plan: Plan,
    *,
    done: tuple[Change, ...],
    client: HubSpotClient,
    path: Path,
    commit: str | None,
    events: ApplyEvents,
) -> ApplyReport:
    """Open the journal, send ``plan`` (what is left of ``reviewed`` once the changes
    ``done`` are skipped), journal, verify; the report, or ApplyError. The journal and
    the events name the reviewed plan's checksum."""
    if done:
        events.skipping(reviewed, done)
    events.applying(reviewed)
    stop = asyncio.Event()
    hurry = asyncio.Event()
    context = JournalContext(reviewed.checksum, plan.target.portal_id, commit)
    # Opening the journal is the append test (a regular file, with room for the plan's
    # lines): it fails here, before anything is sent.
    with Journal(path, context, expect=plan.changes) as journal:
        if journal.repaired:
            events.journal_repaired(path)
        events.phase("Applying", len(plan.changes), reads=False)
        with events.stoppable(stop, hurry) as caught:
            report = await apply_plan(
                plan,
                client,
                journal,
                stop=stop,
                on_progress=events.sent,
                on_verify=lambda total: events.phase("Verifying", total, reads=True),
                hurry=hurry,
            )
    events.phase_done()
    report = replace(report, already_applied=done)
    signal = caught[0] if caught else "SIGINT"
    events.finished(report, signal=signal)
    if report.journal_error is not None and not report.unjournalled:
        raise ApplyError(
            f"cannot write journal {path}: {report.journal_error}; the apply stopped "
            "sending before the next call left (every call is journalled before it leaves)",
            hint="free some space or fix the file, then make a new plan with "
            "'hsprefs plan -o FILE' for what is left",
            report=report,
        )
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
            hint = legal_basis_hint(report.gdpr)
        raise ApplyError(failure_line(report, signal=signal), hint=hint, report=report)
    return report
