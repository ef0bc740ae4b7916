"""Properties of diff() over random desired and live states (hypothesis).

The oracles here are computed from (desired, live) alone, never from the plan under
test, so a plan with a redundant or a missing change cannot pass.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from reconciler.diff import diff
from reconciler.model import (
    DesiredOptOut,
    DesiredState,
    DesiredStatus,
    LiveOptOut,
    LiveState,
    LiveStatus,
    PairKey,
    Status,
    SubscriberKey,
)
from reconciler.plan import ChangeKind, Plan

EMAILS = ["a@x.com", "b@x.com", "c@x.com", "d@x.com"]
SUBS = {0: ["101", "102", "103"], 5: ["201", "202"]}
BASE = datetime(2026, 1, 1, tzinfo=UTC)
statuses = st.sampled_from(list(Status))
days = st.integers(min_value=0, max_value=300).map(lambda d: BASE + timedelta(days=d))


@st.composite
def scenario(draw: st.DrawFn) -> tuple[DesiredState, LiveState]:
    live_statuses: dict[PairKey, LiveStatus] = {}
    live_wide: dict[SubscriberKey, LiveOptOut] = {}
    want_statuses: dict[PairKey, DesiredStatus] = {}
    want_flags: dict[SubscriberKey, DesiredOptOut] = {}
    for brand, subs in SUBS.items():
        for email in EMAILS:
            sk = SubscriberKey(brand, email)
            if draw(st.booleans()):
                live_wide[sk] = LiveOptOut(sk, draw(st.booleans()), draw(days))
            flag = draw(st.sampled_from([None, None, True, False]))
            if flag is not None:
                want_flags[sk] = DesiredOptOut(sk, flag)
            for sub in subs:
                key = PairKey(brand, email, sub)
                if draw(st.booleans()):
                    live_statuses[key] = LiveStatus(key, draw(statuses), draw(days), "API")
                if draw(st.booleans()):
                    allowed = [Status.UNSUBSCRIBED, Status.NOT_SPECIFIED]
                    value = draw(st.sampled_from(allowed if flag else list(Status)))
                    evidence = draw(st.booleans())
                    want_statuses[key] = DesiredStatus(
                        key=key,
                        status=value,
                        alias=sub,
                        resubscribe=draw(st.booleans()),
                        consented_at=draw(st.one_of(st.none(), days)),
                        legal_basis="CONSENT_WITH_NOTICE" if evidence else None,
                        legal_basis_explanation="form" if evidence else None,
                        # Evidence inherited from defaults (False) must never be enough.
                        own_evidence=evidence and draw(st.booleans()),
                    )
    return (
        DesiredState(statuses=want_statuses, opt_outs=want_flags),
        LiveState(statuses=live_statuses, opt_outs=live_wide),
    )


def apply_like_hubspot(
    plan: Plan, live: LiveState
) -> tuple[dict[PairKey, Status], set[SubscriberKey]]:
    """Carry out the plan's calls the way HubSpot would, in wave order."""
    result = {k: v.status for k, v in live.statuses.items()}
    opted = {k for k, v in live.opt_outs.items() if v.opted_out}
    for _wave, calls in plan.waves():
        for call in calls:
            for index in call.changes:
                change = plan.changes[index]
                if change.kind is ChangeKind.UNSUBSCRIBE_ALL:
                    opted.add(change.subscriber)
                    for sub in SUBS[change.brand]:
                        result[PairKey(change.brand, change.email, sub)] = Status.UNSUBSCRIBED
                else:
                    pair = change.pair
                    assert pair is not None
                    result[pair] = change.after
                    if change.after is Status.SUBSCRIBED:
                        opted.discard(change.subscriber)
    return result, opted


@given(scenario())
def test_plan_reaches_desired_state_for_every_unblocked_pair(
    case: tuple[DesiredState, LiveState],
) -> None:
    """After the plan, every managed pair that is not blocked has its desired status."""
    desired, live = case
    plan = diff(desired, live)
    after, opted = apply_like_hubspot(plan, live)
    blocked = {(b.brand, b.email, b.subscription_id) for b in plan.blocked}
    for key, want in desired.statuses.items():
        if (key.brand, key.email, key.subscription_id) in blocked:
            continue
        assert after.get(key, Status.NOT_SPECIFIED) is want.status, key
    for key, flag in desired.opt_outs.items():
        if (key.brand, key.email, None) not in blocked:
            assert (key in opted) is flag.unsubscribe_all


@given(scenario())
def test_plan_touches_nothing_undeclared(case: tuple[DesiredState, LiveState]) -> None:
    """Pairs of subscribers without a declared unsubscribe-all keep their live status."""
    desired, live = case
    plan = diff(desired, live)
    after, _ = apply_like_hubspot(plan, live)
    unsubscribing = {c.subscriber for c in plan.changes if c.kind is ChangeKind.UNSUBSCRIBE_ALL}
    for brand, subs in SUBS.items():
        for email in EMAILS:
            for sub in subs:
                key = PairKey(brand, email, sub)
                if key in desired.statuses or key.subscriber in unsubscribing:
                    continue
                assert after.get(key) == (
                    live.statuses[key].status if key in live.statuses else None
                )


@given(scenario())
def test_no_move_away_from_an_opt_out_without_evidence(
    case: tuple[DesiredState, LiveState],
) -> None:
    """Every change away from an opt-out has resubscribe, basis and consent not older."""
    desired, live = case
    plan = diff(desired, live)
    for change in plan.changes:
        pair = change.pair
        if pair is None:
            continue
        was_unsub = live.status_of(pair) is Status.UNSUBSCRIBED
        opted_all = live.opted_out(pair.subscriber) and change.after is Status.SUBSCRIBED
        if not (was_unsub or opted_all):
            continue
        want = desired.statuses[pair]
        assert want.resubscribe and want.legal_basis and want.legal_basis_explanation
        assert want.own_evidence
        if want.consented_at is not None:
            times = []
            if was_unsub:
                times.append(live.statuses[pair].timestamp)
            if opted_all:
                times.append(live.opt_outs[pair.subscriber].timestamp)
            assert all(t is not None and t <= want.consented_at for t in times)


def allowed_by_consent(want: DesiredStatus, live: LiveState) -> bool:
    """The consent rules written out again: may ``want`` be given its status over ``live``?"""
    key = want.key
    opt_out_times: list[datetime | None] = []
    if live.status_of(key) is Status.UNSUBSCRIBED and want.status is not Status.UNSUBSCRIBED:
        opt_out_times.append(live.statuses[key].timestamp)
    if want.status is Status.SUBSCRIBED and live.opted_out(key.subscriber):
        opt_out_times.append(live.opt_outs[key.subscriber].timestamp)
    if not opt_out_times:
        return True
    evidence = (
        want.resubscribe
        and want.legal_basis is not None
        and want.legal_basis_explanation is not None
        and want.own_evidence
    )
    if not evidence:
        return False
    consent = want.consented_at
    return consent is None or all(t is not None and t <= consent for t in opt_out_times)


def needed(
    desired: DesiredState, live: LiveState
) -> tuple[dict[PairKey, Status], set[SubscriberKey]]:
    """The writes and unsubscribe-alls that truly have to happen, from (desired, live) alone.

    An unsubscribe-all is needed for a declared ``unsubscribe_all: true`` not yet opted
    out; it makes every subscription of the brand UNSUBSCRIBED, so that subscriber needs
    no write. Any other declared pair needs a write when its status differs, or when it
    should be SUBSCRIBED while the subscriber is opted out of all, and consent allows it.
    """
    unsubscribe_all = {
        key
        for key, flag in desired.opt_outs.items()
        if flag.unsubscribe_all and not live.opted_out(key)
    }
    writes: dict[PairKey, Status] = {}
    for key, want in desired.statuses.items():
        if key.subscriber in unsubscribe_all:
            continue
        differs = live.status_of(key) is not want.status
        past_opt_out_of_all = want.status is Status.SUBSCRIBED and live.opted_out(key.subscriber)
        if (differs or past_opt_out_of_all) and allowed_by_consent(want, live):
            writes[key] = want.status
    return writes, unsubscribe_all


@given(scenario(), st.integers(min_value=1, max_value=5))
def test_plan_has_exactly_the_needed_changes(
    case: tuple[DesiredState, LiveState], size: int
) -> None:
    """The plan's changes are exactly the needed writes and unsubscribe-alls: none more."""
    desired, live = case
    plan = diff(desired, live, batch_size=size)
    writes, unsubscribe_all = needed(desired, live)
    got_writes = [(c.pair, c.after) for c in plan.changes if c.pair is not None]
    got_all = [c.subscriber for c in plan.changes if c.kind is ChangeKind.UNSUBSCRIBE_ALL]
    assert sorted(got_writes) == sorted(writes.items())
    assert sorted(got_all) == sorted(unsubscribe_all)


@given(scenario(), st.integers(min_value=1, max_value=5))
def test_plan_uses_exactly_the_minimal_calls(
    case: tuple[DesiredState, LiveState], size: int
) -> None:
    """Write calls = ⌈needed writes / batch⌉; unsubscribe-all calls per brand likewise."""
    desired, live = case
    plan = diff(desired, live, batch_size=size)
    writes, unsubscribe_all = needed(desired, live)
    per_brand: dict[int, int] = {}
    for key in unsubscribe_all:
        per_brand[key.brand] = per_brand.get(key.brand, 0) + 1
    got_per_brand: dict[int, int] = {}
    for call in plan.calls:
        if call.operation == "unsubscribe-all":
            assert call.brand is not None
            got_per_brand[call.brand] = got_per_brand.get(call.brand, 0) + 1
    assert sum(1 for c in plan.calls if c.operation == "write") == math.ceil(len(writes) / size)
    assert got_per_brand == {b: math.ceil(n / size) for b, n in per_brand.items()}
    sent = sorted(i for call in plan.calls for i in call.changes)
    assert sent == list(range(len(plan.changes)))
    assert all(len(call.changes) <= size for call in plan.calls)
