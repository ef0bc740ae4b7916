"""Apply: make HubSpot match a reviewed plan, journal every input, then verify.

Order (docs/architecture.md#apply-order): the unsubscribe-all calls, then the write calls in waves
(unsubscribes, not-specified, subscribes); the calls of one wave run concurrently and a
wave starts only when the one before has finished, so a partial failure leaves people
less subscribed, never more. Per-item failures do not stop the rest. An item counts as
applied only when the read-back shows it.

Stopping part-way: once ``stop`` is set (Ctrl-C, SIGTERM), HubSpot refuses a call in a
way that stops everything (401, 403, the daily cap), or a journal write fails (a full
disk), no further call or retry leaves; the calls already on the wire finish and are
journalled (or, when the journal failed, kept as its unwritten lines), and the rest are
reported as not sent (a call stopped before a retry after an attempt that may have been
applied is journalled as unconfirmed). The run still reads back what was sent and
reports it.

Every call here is idempotent (it sets a status), so the client's retries are safe and a
re-run converges.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from reconciler.diff import consent_refusal, newer_change
from reconciler.errors import (
    ApiError,
    PlanFileError,
    PolicyError,
    PortalMismatchError,
    StalePlanError,
    TransportError,
)
from reconciler.journal import Journal, Verification, Verified
from reconciler.model import DesiredStatus, LiveState, Outcome, Status, WriteResult
from reconciler.plan import (
    Call,
    CallOperation,
    Change,
    ChangeKind,
    Plan,
    iso,
    policy_violations,
    subscribers_of,
    subscription_label,
)

if TYPE_CHECKING:
    from reconciler.client import HubSpotClient

__all__ = [
    "GDPR_OFF_HINT",
    "LEGAL_BASIS_HINT",
    "ApplyReport",
    "ItemReport",
    "ItemState",
    "already_applied",
    "apply_plan",
    "check_consent",
    "check_mode",
    "check_policy",
    "check_stale",
    "check_target",
    "failure_line",
    "lacks_legal_basis",
    "legal_basis_hint",
    "nothing_sent_line",
]


class ItemState(StrEnum):
    """How one change ended."""

    APPLIED = "applied"  # the read-back shows it
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"  # not known to be applied
    NOT_SENT = "not_sent"


@dataclass(frozen=True, slots=True)
class ItemReport:
    """How one change ended: applied (verified), failed, unconfirmed or not sent."""

    change: Change
    state: ItemState
    detail: str | None = None
    correlation_id: str | None = None


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """What an apply did.

    ``calls_made`` counts the calls that went to HubSpot (answered or refused), of
    ``calls_planned``; a call HubSpot did not act on (answered 429, or never connected)
    and that was stopped before its retry counts as not sent. ``interrupted`` is true
    when the caller's ``stop`` was set (Ctrl-C, SIGTERM) before anything else stopped the
    run; ``stopped_by`` is HubSpot's refusal that stopped it (401, 403, the daily cap), if
    one did. ``read_back_error`` says why the verification read was refused, if it was.
    ``journal_error`` is the OS error of a failed journal write (the run stopped sending
    then), and ``unjournalled`` the lines it could not write (ASCII JSON), which the
    caller must show so the evidence is not lost.
    """

    items: tuple[ItemReport, ...] = ()
    calls_made: int = 0
    interrupted: bool = False
    journal_lines: int = 0
    implied_missing: tuple[str, ...] = field(default=())
    calls_planned: int = 0
    stopped_by: ApiError | None = None
    read_back_error: str | None = None
    journal_error: str | None = None
    unjournalled: tuple[str, ...] = ()
    # Changes of the plan that HubSpot already showed at the re-read (a re-run after a
    # crash or a retried CI job): skipped, not written, not in ``items``.
    already_applied: tuple[Change, ...] = ()
    # The config's portal.gdpr (from the plan), for what to do after a refusal for want
    # of a legal basis.
    gdpr: bool | None = None

    @property
    def nothing_sent(self) -> bool:
        """No change of the run can have reached HubSpot: every one is not sent (a call
        HubSpot answered 429 and that was not retried counts as not sent)."""
        return bool(self.items) and all(item.state == ItemState.NOT_SENT for item in self.items)

    def of(self, state: ItemState) -> list[ItemReport]:
        """The items that ended in ``state``."""
        return [item for item in self.items if item.state == state]

    @property
    def ok(self) -> bool:
        """Every change applied and verified (exit 0), however the run was stopped.

        An interrupt that came after every call had been sent changed nothing, so it does
        not make the run fail; one that kept a change from being sent does, through that
        change.
        """
        return (
            self.stopped_by is None
            and self.journal_error is None
            and all(item.state == ItemState.APPLIED for item in self.items)
            and not self.implied_missing
        )


# Why the inputs of a call no attempt of which got a connection were not sent.
_UNREACHED = "not sent: HubSpot could not be reached"

# How the error line names the signal that interrupted a run.
_STOPPED_BY = {"SIGINT": "interrupted (Ctrl-C)", "SIGTERM": "terminated (SIGTERM)"}


def nothing_sent_line(signal: str = "SIGINT") -> str:
    """What an apply interrupted before any change was sent says (``signal``: SIGINT or
    SIGTERM): plainly, that HubSpot holds nothing of it."""
    how = _STOPPED_BY.get(signal, _STOPPED_BY["SIGINT"])
    return f"the apply was {how} before any change was sent: nothing was written to HubSpot"


def failure_line(report: ApplyReport, *, signal: str = "SIGINT") -> str:
    """The one-line error of an apply that did not reach every desired state, naming how
    many changes ended in each state; ``signal`` (SIGINT or SIGTERM) names what
    interrupted the run, if something did."""
    total = len(report.items)
    counts = [
        f"{len(report.of(ItemState.FAILED))} failed",
        f"{len(report.of(ItemState.UNCONFIRMED))} unconfirmed",
        f"{len(report.of(ItemState.NOT_SENT))} not sent",
    ]
    parts = [part for part in counts if not part.startswith("0 ")]
    if report.implied_missing:
        parts.append(
            f"{len(report.implied_missing)} implied "
            f"{'unsubscribe' if len(report.implied_missing) == 1 else 'unsubscribes'} "
            "not shown by the read-back"
        )
    applied = len(report.of(ItemState.APPLIED))
    listed = ", ".join(parts)
    if report.interrupted:
        how = _STOPPED_BY.get(signal, _STOPPED_BY["SIGINT"])
        if report.nothing_sent:
            return nothing_sent_line(signal)
        return f"the apply was {how}: {applied} of {total} changes applied and verified, {listed}"
    if applied == total:
        return f"all {total} changes were applied and verified, but {listed}"
    return f"{total - applied} of {total} changes did not reach their desired state: {listed}"


# How HubSpot's refusal of a write for want of a legal basis reads ("legalBasis and
# legalBasisExplanation are required", "A legal basis ... is required").
_LEGAL_BASIS = re.compile(r"legal\s*basis", re.IGNORECASE)

# What to do when HubSpot refused writes for want of a legal basis: a new plan of the same
# config would be refused again.
LEGAL_BASIS_HINT = (
    "HubSpot requires a legal basis on these writes (the portal has data-privacy settings "
    "on): add legal_basis and legal_basis_explanation to those entries, or defaults to "
    "their files, then run apply again"
)

# The same, when the config says the portal has no data-privacy settings: the config is
# wrong about the portal, and gdpr: true makes validate name every entry that lacks one.
GDPR_OFF_HINT = (
    "HubSpot requires a legal basis on these writes (the portal has data-privacy settings "
    "on), but hsprefs.yaml says gdpr: false: set gdpr: true under portal in hsprefs.yaml "
    "and give a legal basis (legal_basis and legal_basis_explanation, for instance in the "
    "files' defaults), then run apply again"
)


def legal_basis_hint(gdpr: bool | None) -> str:
    """What to do after HubSpot refused writes for want of a legal basis, given the
    config's ``portal.gdpr`` (None: not known, a plan saved before it was recorded)."""
    return GDPR_OFF_HINT if gdpr is False else LEGAL_BASIS_HINT


def lacks_legal_basis(report: ApplyReport) -> bool:
    """Whether HubSpot refused some write of ``report`` for want of a legal basis."""
    return any(
        item.detail is not None and _LEGAL_BASIS.search(item.detail)
        for item in report.of(ItemState.FAILED)
    )


def check_target(plan: Plan, portal_id: int, api_url: str, api_version: str) -> None:
    """Refuse a plan made for another portal or another API."""
    if plan.target.portal_id is not None and plan.target.portal_id != portal_id:
        raise PortalMismatchError(
            f"the plan was made for portal {plan.target.portal_id}, "
            f"but the token belongs to portal {portal_id}",
            hint="use the token of the portal the plan was made for",
        )
    if (plan.target.api_url, plan.target.api_version) != (api_url, api_version):
        raise PlanFileError(
            f"the plan was made against {plan.target.api_url} (API {plan.target.api_version}), "
            f"not {api_url} (API {api_version})",
            hint="apply it with the same --api-url and --api-version, or make a new plan",
        )


def check_mode(plan: Plan, api_mode: str) -> None:
    """Refuse ``--api-mode batch|single`` (or ``HSPREFS_API_MODE``) that is not the mode the
    plan was read in: its calls were packed for that mode."""
    if api_mode not in ("auto", plan.target.api_mode):
        raise PlanFileError(
            f"the plan was made in {plan.target.api_mode} mode, but the API mode is {api_mode}",
            hint="apply it without --api-mode (it uses the plan's mode), or make a new plan",
        )


def _drift(change: Change, live: LiveState) -> str | None:
    """How the live values differ from the ones the change was computed from, if they do."""
    wide = live.opt_outs.get(change.subscriber)
    opted_out = live.opted_out(change.subscriber)
    if change.kind is ChangeKind.UNSUBSCRIBE_ALL:
        return f"now opted out of all email of brand {change.brand}" if opted_out else None
    if opted_out != change.opted_out_all:
        return (
            f"now opted out of all email of brand {change.brand}"
            if opted_out
            else f"no longer opted out of all email of brand {change.brand}"
        )
    if opted_out and wide is not None and wide.timestamp != change.opt_out_timestamp:
        return (
            f"opted out of all email of brand {change.brand} again at {iso(wide.timestamp)} "
            f"(planned from {iso(change.opt_out_timestamp)})"
        )
    pair = change.pair
    assert pair is not None
    current = live.statuses.get(pair)
    status = live.status_of(pair)
    stamp = current.timestamp if current else None
    if status is not change.before:
        return f"planned from {change.before.value}, now {status.value}"
    if current is not None and current.never_set:
        # Still as nobody set it: its timestamp may be the moment of this very read.
        return None
    if stamp != change.live_timestamp:
        return f"changed at {iso(stamp)} (planned from {iso(change.live_timestamp)})"
    return None


def _what(change: Change) -> str:
    if change.subscription_id is None:
        return "unsubscribe-all"
    return subscription_label(change.alias, change.subscription_id)


def already_applied(plan: Plan, live: LiveState) -> tuple[tuple[Change, ...], Plan]:
    """Split a plan by a fresh read: the changes HubSpot already shows (their live
    status equals their planned outcome) and a plan of the rest.

    Re-applying a plan after it, or part of it, was applied (a retried CI job, a rerun
    after a crash) then converges: what is done is skipped and reported, and only the
    rest must still match its planned starting point (:func:`check_stale`). The rest
    keeps the plan's target, policy and batch size; its calls are packed anew.
    """
    done: list[Change] = []
    rest: list[Change] = []
    for change in plan.changes:
        (done if _observe(change, live)[0] else rest).append(change)
    if not done:
        return (), plan
    left = {change.subscriber for change in rest if change.kind is ChangeKind.UNSUBSCRIBE_ALL}
    remaining = Plan(
        changes=tuple(rest),
        blocked=plan.blocked,
        unchanged=plan.unchanged,
        managed=plan.managed,
        implied=tuple(key for key in plan.implied if key.subscriber in left),
        batch_size=plan.batch_size,
        target=plan.target,
        config_digest=plan.config_digest,
        read_calls=plan.read_calls,
        policy=plan.policy,
        gdpr=plan.gdpr,
    )
    return tuple(done), remaining


def check_stale(plan: Plan, live: LiveState, *, of: int | None = None) -> None:
    """Refuse the plan when any touched subscriber changed since it was computed.

    ``of`` is the number of changes of the reviewed plan, when ``plan`` is what is left
    of it after :func:`already_applied`.
    """
    stale = [
        f"{change.email} {_what(change)}: {why}"
        for change in plan.changes
        if (why := _drift(change, live)) is not None
    ]
    if stale:
        more = f" and {len(stale) - 1} more" if len(stale) > 1 else ""
        raise StalePlanError(
            f"the plan is stale: {len(stale)} of {of or len(plan.changes)} changes no longer match "
            f"HubSpot ({stale[0]}{more})",
            hint="run 'hsprefs plan -o FILE' again, review it and apply the new plan",
        )


def check_consent(plan: Plan, live: LiveState) -> None:
    """Apply the consent rules again to every change, against a fresh read.

    ``hsprefs plan`` never emits a change they forbid; this catches a saved plan that was
    edited (its checksum is not a signature), so no file can undo an opt-out.
    """
    for change in plan.changes:
        pair = change.pair
        if pair is None:
            continue
        want = DesiredStatus(
            key=pair,
            status=change.after,
            alias=change.alias,
            resubscribe=change.resubscribe,
            consented_at=change.consented_at,
            legal_basis=change.legal_basis,
            legal_basis_explanation=change.legal_basis_explanation,
            own_evidence=change.own_evidence,
            declared_at=change.declared_at,
        )
        refusal = consent_refusal(want, live)
        current = live.statuses.get(pair)
        if refusal is None and current is not None and not plan.policy.revert_newer_changes:
            refusal = newer_change(want, current, change.declared_at)
        if refusal is not None:
            raise PlanFileError(
                f"the plan asks for a change the consent rules forbid: {change.email} "
                f"{_what(change)} -> {change.after.value}: {refusal}",
                hint="hsprefs plan never makes such a change; make a new plan from the config",
            )


def check_policy(plan: Plan, *, allow_mass_change: bool) -> None:
    """The mass-change guard (docs/architecture.md#consent-rules)."""
    problems = policy_violations(plan, plan.policy)
    if problems and not allow_mass_change:
        raise PolicyError(
            "refusing to apply: " + "; ".join(problems),
            hint="review the plan; if the change is intended, re-run with --allow-mass-change",
        )


async def apply_plan(
    plan: Plan,
    client: HubSpotClient,
    journal: Journal,
    *,
    stop: asyncio.Event | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_verify: Callable[[int], None] | None = None,
    hurry: asyncio.Event | None = None,
) -> ApplyReport:
    """Send the plan's calls wave by wave, journal each result, then verify by reading back.

    ``stop`` (set on Ctrl-C) lets the calls on the wire finish and sends no new one; the
    apply sets it too when HubSpot refuses a call in a way that stops everything, and
    when a journal write fails.
    ``on_progress(n)`` is called as each call's answer arrives, with the number of
    changes it carried; ``on_verify(n)`` once before the read-back, with the number of
    subscribers to read.

    The read-back waits for the rate limit like any read, unless the caller is in a
    hurry: a ``stop`` set while it runs, or ``hurry`` (a second Ctrl-C) after a ``stop``
    set while sending, ends its waits at once, and what it did not read is unknown (the
    next apply settles it from the journal).
    """
    run = _Run(plan, client, journal, stop or asyncio.Event(), on_progress)
    for _kind, calls in plan.waves():
        if run.stop.is_set():
            break
        # Wait for every call of the wave, so each journals its own answer; a call that
        # is still waiting for its turn when ``stop`` is set comes back NOT_SENT.
        outcomes = await asyncio.gather(*(run.send(call) for call in calls), return_exceptions=True)
        unexpected = [o for o in outcomes if isinstance(o, BaseException)]
        if unexpected:
            raise unexpected[0]
    interrupted = run.stop.is_set() and not run.stopped_itself
    sent = sorted(run.results)
    live: LiveState | None = None
    read_back_error: str | None = None
    if sent:
        # The read-back reads the subscribers something was sent for.
        touched = subscribers_of(plan.changes[i] for i in sent)
        if on_verify is not None:
            on_verify(sum(len(emails) for emails in touched.values()))
        # A stop that comes now has nothing left to stop but the waits of the read-back.
        impatient = hurry if run.stop.is_set() else run.stop
        try:
            live = await client.read(touched, hurry=impatient)
        except ApiError as exc:
            # Everything sent is journalled; without a read-back nothing counts as applied.
            # The error's hint is advice for a plan's read, so only its facts are kept.
            read_back_error = " ".join(exc.message.split())
            if exc.correlation_id:
                read_back_error += f" [correlationId {exc.correlation_id}]"
    checks = {
        index: _verify(
            plan.changes[index], run.results[index], live, read_back_error, run.call_ids[index]
        )
        for index in sent
    }
    journal.verified([checks[index] for index in sent])
    stopped = "interrupted" if interrupted else "the apply stopped"
    items = [
        _judge(checks[index])
        if index in checks
        else ItemReport(change, ItemState.NOT_SENT, _unsent(stopped, run.unsent.get(index)))
        for index, change in enumerate(plan.changes)
    ]
    missing: tuple[str, ...] = ()
    if live is not None:
        missing = tuple(
            f"{key.email} {key.subscription_id}"
            for key in plan.implied
            if any(
                i.state == ItemState.APPLIED and i.change.subscriber == key.subscriber
                for i in items
            )
            and live.status_of(key) is not Status.UNSUBSCRIBED
        )
    return ApplyReport(
        items=tuple(items),
        calls_made=run.calls_made,
        interrupted=interrupted,
        journal_lines=journal.lines,
        implied_missing=missing,
        calls_planned=len(plan.calls),
        stopped_by=run.stopped_by,
        read_back_error=read_back_error,
        journal_error=journal.failure,
        unjournalled=tuple(journal.unwritten),
        gdpr=plan.gdpr,
    )


class _Run:
    """The sending half of one apply: what was sent, what came back, what stopped it."""

    def __init__(
        self,
        plan: Plan,
        client: HubSpotClient,
        journal: Journal,
        stop: asyncio.Event,
        on_progress: Callable[[int], None] | None,
    ) -> None:
        self.plan = plan
        self.client = client
        self.journal = journal
        self.stop = stop
        self.on_progress = on_progress
        self.results: dict[int, WriteResult] = {}  # change index -> answer, sent inputs only
        # change index -> why a call HubSpot answered without acting on it was not retried
        self.unsent: dict[int, str] = {}
        self.calls_made = 0
        # Names this run's calls in the journal (``call_id``): the run, then the call.
        self.run_id = secrets.token_hex(6)
        self.call_ids: dict[int, str] = {}  # change index -> the call that carried it
        self.call_ids_made: list[str] = []
        self.stopped_by: ApiError | None = None
        # The run set ``stop`` itself (a refusal, a failed journal write) before the
        # caller did: then the run was not interrupted, whatever came after.
        self.stopped_itself = False

    def halt(self) -> None:
        """Stop sending: no new call leaves; the calls on the wire finish."""
        if not self.stop.is_set():
            self.stopped_itself = True
            self.stop.set()

    async def send(self, call: Call) -> None:
        """Send one call (unless ``stop`` is set before it leaves) and journal its answer."""
        changes = [self.plan.changes[i] for i in call.changes]
        call_id = f"{self.run_id}-{len(self.call_ids_made) + 1}"
        self.call_ids_made.append(call_id)
        left: set[int] = set()  # positions (in ``changes``) journalled as being sent

        def on_leave(positions: Sequence[int]) -> bool:
            # Written ahead, fsynced, before the call leaves: a run killed while the call
            # is in flight leaves these lines for the next apply to settle.
            ok = self.journal.sending([changes[p] for p in positions], call.operation, call_id)
            if ok:
                left.update(positions)
            else:
                self.halt()
            return ok

        answers: Sequence[WriteResult]
        try:
            if call.operation is CallOperation.UNSUBSCRIBE_ALL:
                answers = await self.client.unsubscribe_all(
                    [c.subscriber for c in changes], stop=self.stop, on_leave=on_leave
                )
            else:
                answers = await self.client.write(
                    [c.to_write() for c in changes], stop=self.stop, on_leave=on_leave
                )
        except ApiError as exc:
            # The client raises only for a refusal that stops everything (401, 403, the
            # daily cap). Stop every call still waiting, and journal each input of this
            # one as HubSpot's refusal left it.
            if self.stopped_by is None:
                self.stopped_by = exc
                self.halt()
            answers = _refused(changes, exc)
        sent = [
            (index, change, answer)
            for index, change, answer in zip(call.changes, changes, answers, strict=True)
            if answer.outcome is not Outcome.NOT_SENT
        ]
        self.unsent.update(
            (index, answer.error)
            for index, answer in zip(call.changes, answers, strict=True)
            if answer.outcome is Outcome.NOT_SENT and answer.error
        )
        # Inputs journalled as being sent that HubSpot cannot have acted on after all
        # (answered 429 or never connected, then stopped) close their intent as not sent.
        closed = [
            (change, answer)
            for position, (change, answer) in enumerate(zip(changes, answers, strict=True))
            if answer.outcome is Outcome.NOT_SENT and position in left
        ]
        if closed:
            self.journal.record(closed, call.operation, call_id)
        if not sent:
            return
        self.calls_made += 1
        self.call_ids.update((index, call_id) for index, _c, _a in sent)
        self.journal.record(
            [(change, answer) for _i, change, answer in sent], call.operation, call_id
        )
        if self.journal.failure is not None:
            # The evidence trail broke (a full disk): send nothing more. What this call
            # got back is kept as the journal's unwritten lines, for the caller to show.
            self.halt()
        self.results.update((index, answer) for index, _c, answer in sent)
        if self.on_progress is not None:
            self.on_progress(len(sent))


def _refused(changes: Sequence[Change], error: ApiError) -> list[WriteResult]:
    """The inputs of a call refused in a way that stops the apply.

    FAILED when the refusal answered the call's first attempt; UNCONFIRMED when an
    earlier attempt may have been applied (a 504, a dropped connection) and only a retry
    was refused, so the read-back decides. The journal keeps HubSpot's refusal and its
    correlationId per input; the advice (the hint) is for the person running apply, in
    the error line.
    """
    if isinstance(error, TransportError) and error.never_connected:
        # No attempt got a connection: nothing was carried, so nothing was sent.
        return [
            WriteResult(
                change.to_write() if change.pair else change.subscriber,
                Outcome.NOT_SENT,
                error=f"{_UNREACHED}: {error.message}",
            )
            for change in changes
        ]
    if error.may_have_applied:
        # The client's wording for the same case (a retry refused after such an attempt).
        outcome = Outcome.UNCONFIRMED
        message = (
            f"may have been applied by an earlier attempt; a retry was refused: {error.message}"
        )
    else:
        outcome, message = Outcome.FAILED, error.message
    return [
        WriteResult(
            change.to_write() if change.pair else change.subscriber,
            outcome,
            error=message,
            correlation_id=error.correlation_id,
        )
        for change in changes
    ]


def _unsent(stopped: str, why: str | None) -> str:
    """Why a change was not sent: the run ``stopped`` before its call left, or before a
    retry of a call whose attempts HubSpot did not act on (``why`` says what they got)."""
    if why is None:
        return f"{stopped} before it was sent"
    if why.startswith(_UNREACHED):
        return why
    return f"{stopped} before a retry; {why}"


def _observe(change: Change, live: LiveState) -> tuple[bool, str]:
    """Whether the read-back shows the change, and what it shows, in words."""
    if change.kind is ChangeKind.UNSUBSCRIBE_ALL:
        reached = live.opted_out(change.subscriber)
        return reached, "opted out of all" if reached else "not opted out of all"
    pair = change.pair
    assert pair is not None
    reached = live.status_of(pair) is change.after
    shown = live.status_of(pair).value
    if change.kind is ChangeKind.SUBSCRIBE and live.opted_out(change.subscriber):
        # Subscribed on paper means nothing while the opt-out of all stands.
        reached = False
        shown += f", still opted out of all email of brand {change.brand}"
    return reached, shown


def _verify(
    change: Change,
    result: WriteResult,
    live: LiveState | None,
    read_back_error: str | None,
    call_id: str | None = None,
) -> Verification:
    if live is None:
        return Verification(
            change, result, Verified.UNKNOWN, error=read_back_error, call_id=call_id
        )
    reached, shown = _observe(change, live)
    verified = Verified.APPLIED if reached else Verified.NOT_APPLIED
    return Verification(change, result, verified, observed=shown, call_id=call_id)


def _judge(check: Verification) -> ItemReport:
    change, result = check.change, check.sent
    cid = result.correlation_id
    if check.verified is Verified.APPLIED:
        return ItemReport(change, ItemState.APPLIED, result.reason, cid)
    if result.outcome is Outcome.FAILED:
        return ItemReport(
            change, ItemState.FAILED, result.error or "HubSpot reported an error", cid
        )
    if check.verified is Verified.UNKNOWN:
        said = (
            "HubSpot confirmed it"
            if result.outcome is Outcome.CONFIRMED
            else result.error or "HubSpot did not confirm it"
        )
        return ItemReport(change, ItemState.UNCONFIRMED, f"{said}; the read-back was refused", cid)
    if result.outcome is Outcome.CONFIRMED:
        detail = f"HubSpot confirmed the write, but the read-back shows {check.observed}"
        return ItemReport(change, ItemState.FAILED, detail, cid)
    detail = result.error or "HubSpot did not confirm it"
    shows = f"{detail}; the read-back shows {check.observed}"
    return ItemReport(change, ItemState.UNCONFIRMED, shows, cid)
