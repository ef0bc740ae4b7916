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
import secrets
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from reconciler.errors import ApiError, TransportError
from reconciler.journal import Journal, Verification, Verified
from reconciler.model import LiveState, Outcome, Status, WriteResult
from reconciler.outcome import ApplyReport, ItemReport, ItemState
from reconciler.plan import Call, CallOperation, Change, Plan, subscribers_of
from reconciler.preflight import shows

if TYPE_CHECKING:
    from reconciler.client import HubSpotClient

__all__ = ["apply_plan"]

# Why the inputs of a call no attempt of which got a connection were not sent.
_UNREACHED = "not sent: HubSpot could not be reached"


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
            live = await client.read(touched, hurry=impatient, keep=plan.read_scope())
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
    reached, shown = shows(change, live)
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
