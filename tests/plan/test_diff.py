"""diff(): change kinds, the consent rules and minimal calls, as tables of cases."""

from __future__ import annotations

import pytest

from reconciler.diff import consent_refusal, diff
from reconciler.model import Status
from reconciler.plan import ChangeKind, minimal_write_calls
from tests.plan.builders import EMAIL, N, S, U, desired, live, live_status, want

BASIS = {"basis": "CONSENT_WITH_NOTICE", "explanation": "form #88"}


@pytest.mark.parametrize(
    ("live_value", "wanted", "kind"),
    [
        (None, S, ChangeKind.SUBSCRIBE),
        (N, S, ChangeKind.SUBSCRIBE),
        (S, U, ChangeKind.UNSUBSCRIBE),
        (None, U, ChangeKind.UNSUBSCRIBE),
        (N, U, ChangeKind.UNSUBSCRIBE),
        (S, N, ChangeKind.NOT_SPECIFIED),
    ],
)
def test_plain_differences_become_changes(
    live_value: Status | None, wanted: Status, kind: ChangeKind
) -> None:
    """A difference that is not a move away from an opt-out is a change of its kind."""
    current = live(live_status(live_value)) if live_value else live()
    plan = diff(desired(want(wanted)), current)
    assert [c.kind for c in plan.changes] == [kind]
    assert plan.changes[0].before is (live_value or N)
    assert plan.changes[0].after is wanted
    assert plan.blocked == ()


@pytest.mark.parametrize(("value"), [S, U, N])
def test_equal_statuses_are_unchanged(value: Status) -> None:
    """A pair whose live status equals the desired one is counted as unchanged."""
    current = live(live_status(value))
    plan = diff(desired(want(value)), current)
    assert plan.changes == ()
    assert plan.unchanged == 1


def test_absent_live_pair_reads_not_specified() -> None:
    """A pair HubSpot does not list is NOT_SPECIFIED: declaring not_specified is in sync."""
    plan = diff(desired(want(N)), live())
    assert plan.changes == () and plan.unchanged == 1


@pytest.mark.parametrize(
    ("entry", "live_when", "allowed", "reason_part"),
    [
        ({}, "2026-05-01", False, "set resubscribe: true with legal_basis"),
        (
            {"resubscribe": True},
            "2026-05-01",
            False,
            "needs legal_basis and legal_basis_explanation",
        ),
        (
            {"resubscribe": True, "basis": "CONSENT_WITH_NOTICE"},
            "2026-05-01",
            False,
            "needs legal_basis",
        ),
        ({"resubscribe": True, **BASIS}, "2026-05-01", True, None),
        ({"resubscribe": True, **BASIS, "consented_at": "2026-06-01"}, "2026-05-01", True, None),
        (
            {"resubscribe": True, **BASIS, "consented_at": "2026-04-01"},
            "2026-05-01",
            False,
            "after the consent at 2026-04-01T00:00:00Z (consented_at); the newer opt-out wins",
        ),
    ],
)
@pytest.mark.parametrize("wanted", [S, N])
def test_move_away_from_unsubscribed(
    entry: dict[str, object], live_when: str, allowed: bool, reason_part: str | None, wanted: Status
) -> None:
    """UNSUBSCRIBED -> SUBSCRIBED or NOT_SPECIFIED needs resubscribe, basis and fresh consent."""
    plan = diff(desired(want(wanted, **entry)), live(live_status(U, when=live_when)))  # type: ignore[arg-type]
    if allowed:
        assert [c.kind for c in plan.changes] == [ChangeKind.for_status(wanted)]
        assert plan.blocked == ()
    else:
        assert plan.changes == ()
        (blocked,) = plan.blocked
        assert blocked.live == "UNSUBSCRIBED" and blocked.wanted == wanted.value
        assert reason_part is not None and reason_part in blocked.reason


def test_resubscribe_with_evidence_inherited_from_defaults_is_blocked() -> None:
    """A legal basis that came from defaults is not evidence for a resubscribe."""
    entry = want(S, resubscribe=True, own=False, **BASIS)  # type: ignore[arg-type]
    plan = diff(desired(entry), live(live_status(U, when="2026-10-02T08:30:00")))
    assert plan.changes == ()
    assert [(b.wanted, b.live, b.reason) for b in plan.blocked] == [
        (
            "SUBSCRIBED",
            "UNSUBSCRIBED",
            "unsubscribed from alias-101 since 2026-10-02T08:30:00Z; resubscribe: true needs "
            "its own legal_basis and legal_basis_explanation on the entry, not ones "
            "inherited from defaults",
        )
    ]


def test_subscribe_past_opt_out_of_all_with_inherited_evidence_is_blocked() -> None:
    """Past an opt-out of all, too, inherited evidence blocks the subscribe."""
    entry = want(S, resubscribe=True, consented_at="2026-08-01", own=False, **BASIS)  # type: ignore[arg-type]
    plan = diff(desired(entry), live(opted_out={(0, EMAIL): "2026-07-01"}))
    assert plan.changes == ()
    assert [b.reason for b in plan.blocked] == [
        "opted out of all email of brand 0 since 2026-07-01T00:00:00Z; resubscribe: true "
        "needs its own legal_basis and legal_basis_explanation on the entry, not ones "
        "inherited from defaults"
    ]


def test_inherited_evidence_still_travels_with_a_plain_subscribe() -> None:
    """Defaults are fine for a subscribe that leaves no opt-out: the write carries them."""
    plan = diff(desired(want(S, own=False, **BASIS)), live())  # type: ignore[arg-type]
    (change,) = plan.changes
    assert (change.kind, change.legal_basis, change.own_evidence) == (
        ChangeKind.SUBSCRIBE,
        "CONSENT_WITH_NOTICE",
        False,
    )


def test_allowed_resubscribe_records_its_own_evidence() -> None:
    """The change of an allowed resubscribe says its evidence was the entry's own."""
    plan = diff(desired(want(S, resubscribe=True, **BASIS)), live(live_status(U)))  # type: ignore[arg-type]
    assert [(c.resubscribe, c.own_evidence) for c in plan.changes] == [(True, True)]


def test_consent_refusal_refuses_inherited_evidence() -> None:
    """consent_refusal (apply's re-check) gives the same reason as the diff."""
    entry = want(S, resubscribe=True, own=False, **BASIS)  # type: ignore[arg-type]
    assert consent_refusal(entry, live(live_status(U))) == (
        "unsubscribed from alias-101 since 2026-05-01T00:00:00Z; resubscribe: true needs "
        "its own legal_basis and legal_basis_explanation on the entry, not ones inherited "
        "from defaults"
    )
    assert consent_refusal(want(S, resubscribe=True, **BASIS), live(live_status(U))) is None  # type: ignore[arg-type]


def test_opting_out_is_always_allowed() -> None:
    """SUBSCRIBED -> UNSUBSCRIBED needs no evidence at all."""
    plan = diff(desired(want(U)), live(live_status(S)))
    assert [c.kind for c in plan.changes] == [ChangeKind.UNSUBSCRIBE]


def test_blocked_reason_names_time_and_source() -> None:
    """The reason says when the opt-out happened and where it came from."""
    plan = diff(desired(want(S)), live(live_status(U, when="2026-10-02T08:30:00")))
    assert plan.blocked[0].reason == (
        "unsubscribed from alias-101 since 2026-10-02T08:30:00Z (source: API); "
        "set resubscribe: true with legal_basis and legal_basis_explanation to re-subscribe"
    )


def test_subscribe_while_opted_out_of_all_is_blocked() -> None:
    """SUBSCRIBED for someone opted out of all email of the brand needs evidence."""
    plan = diff(desired(want(S)), live(opted_out={(0, EMAIL): "2026-07-01"}))
    assert plan.changes == ()
    assert plan.blocked[0].reason.startswith("opted out of all email of brand 0 since 2026-07-01")


def test_subscribe_while_opted_out_of_all_with_evidence() -> None:
    """With resubscribe, basis and consent newer than the opt-out of all, it is a subscribe."""
    entry = want(S, resubscribe=True, consented_at="2026-08-01", **BASIS)  # type: ignore[arg-type]
    plan = diff(desired(entry), live(opted_out={(0, EMAIL): "2026-07-01"}))
    assert [c.kind for c in plan.changes] == [ChangeKind.SUBSCRIBE]
    assert plan.changes[0].legal_basis == "CONSENT_WITH_NOTICE"
    assert plan.changes[0].legal_basis_explanation == "form #88"


def test_opt_out_of_all_newer_than_consent_is_blocked() -> None:
    """The opt-out of all wins when it is newer than consented_at."""
    entry = want(S, resubscribe=True, consented_at="2026-06-01", **BASIS)  # type: ignore[arg-type]
    plan = diff(desired(entry), live(opted_out={(0, EMAIL): "2026-07-01"}))
    assert plan.changes == () and len(plan.blocked) == 1


def test_unknown_opt_out_time_blocks_when_consent_time_given() -> None:
    """If HubSpot does not say when the opt-out happened, consent cannot be shown newer."""
    entry = want(S, resubscribe=True, consented_at="2026-06-01", **BASIS)  # type: ignore[arg-type]
    plan = diff(desired(entry), live(opted_out={(0, EMAIL): None}))
    assert plan.changes == ()
    assert "HubSpot does not say when" in plan.blocked[0].reason


def test_unsubscribe_all_when_not_opted_out() -> None:
    """unsubscribe_all: true for someone not opted out is one unsubscribe-all change."""
    plan = diff(desired(opt_outs={(0, EMAIL): True}), live())
    (change,) = plan.changes
    assert change.kind is ChangeKind.UNSUBSCRIBE_ALL and change.subscription_id is None
    assert [c.operation for c in plan.calls] == ["unsubscribe-all"]


def test_unsubscribe_all_already_opted_out_is_unchanged() -> None:
    """unsubscribe_all: true for someone already opted out changes nothing."""
    plan = diff(desired(opt_outs={(0, EMAIL): True}), live(opted_out={(0, EMAIL): "2026-01-01"}))
    assert plan.changes == () and plan.unchanged == 1


def test_unsubscribe_all_false_against_live_opt_out_is_blocked() -> None:
    """unsubscribe_all: false cannot undo an opt-out of all: blocked, never a change."""
    plan = diff(desired(opt_outs={(0, EMAIL): False}), live(opted_out={(0, EMAIL): "2026-01-01"}))
    assert plan.changes == ()
    assert plan.blocked[0].subscription_id is None
    assert plan.blocked[0].reason == (
        "opted out of all email of brand 0 since 2026-01-01T00:00:00Z; "
        "no API call removes an opt-out of all"
    )


def test_not_specified_under_unsubscribe_all_is_blocked() -> None:
    """A status other than unsubscribed next to unsubscribe_all: true is blocked, not written."""
    plan = diff(desired(want(N), opt_outs={(0, EMAIL): True}), live(live_status(S)))
    assert [c.kind for c in plan.changes] == [ChangeKind.UNSUBSCRIBE_ALL]
    (blocked,) = plan.blocked
    assert blocked.reason.startswith("contradicts unsubscribe_all: true")


def test_unsubscribe_all_implies_per_subscription_unsubscribes() -> None:
    """Declared unsubscribes of a subscriber being unsubscribed from all are implied."""
    state = desired(want(U, sub="101"), want(U, sub="102"), opt_outs={(0, EMAIL): True})
    plan = diff(state, live(live_status(S, sub="101"), live_status(U, sub="102")))
    assert [c.kind for c in plan.changes] == [ChangeKind.UNSUBSCRIBE_ALL]
    assert [k.subscription_id for k in plan.implied] == ["101"]
    assert plan.unchanged == 1
    assert minimal_write_calls(plan) == 1


def test_undeclared_pairs_are_left_alone() -> None:
    """Live statuses the config does not declare never appear in the plan."""
    current = live(
        live_status(U, sub="101"),
        live_status(S, sub="999"),
        live_status(S, email="other@example.com"),
    )
    plan = diff(desired(want(U, sub="101")), current)
    assert plan.changes == () and plan.blocked == () and plan.unchanged == 1


def test_legal_basis_travels_with_the_write() -> None:
    """The entry's legal basis and explanation go into the write input."""
    plan = diff(desired(want(S, **BASIS)), live())  # type: ignore[arg-type]
    write = plan.changes[0].to_write()
    assert (write.legal_basis, write.legal_basis_explanation) == ("CONSENT_WITH_NOTICE", "form #88")


def test_calls_pack_writes_in_kind_order_into_full_batches() -> None:
    """Writes share full batches: unsubscribes, then not-specified, then subscribes."""
    statuses = [want(S, email=f"s{i}@x.com") for i in range(3)]
    statuses += [want(U, email=f"u{i}@x.com") for i in range(3)]
    statuses += [want(N, email=f"n{i}@x.com") for i in range(2)]
    current = live(*[live_status(S, email=f"n{i}@x.com") for i in range(2)])
    plan = diff(desired(*statuses), current, batch_size=3)
    kinds = [[plan.changes[i].kind.value for i in call.changes] for call in plan.calls]
    assert kinds == [
        ["unsubscribe"] * 3,
        ["not_specified", "not_specified", "subscribe"],
        ["subscribe", "subscribe"],
    ]
    assert [c.wave.value for c in plan.calls] == ["unsubscribe", "subscribe", "subscribe"]
    assert minimal_write_calls(plan) == 3


def test_unsubscribe_all_calls_are_grouped_per_brand() -> None:
    """Unsubscribe-alls are batched per brand, before every write."""
    flags = {(0, f"a{i}@x.com"): True for i in range(3)} | {(5, "b@x.com"): True}
    plan = diff(desired(want(S, email="c@x.com"), opt_outs=flags), live(), batch_size=2)
    assert [(c.operation, c.brand, len(c.changes)) for c in plan.calls] == [
        ("unsubscribe-all", 0, 2),
        ("unsubscribe-all", 0, 1),
        ("unsubscribe-all", 5, 1),
        ("write", None, 1),
    ]


def test_changes_are_sorted_by_brand_email_subscription() -> None:
    """Output order is deterministic: brand, then email, then subscription."""
    state = desired(
        want(S, email="b@x.com", sub="2", brand=5),
        want(S, email="b@x.com", sub="1"),
        want(S, email="a@x.com", sub="3"),
    )
    plan = diff(state, live())
    assert [(c.brand, c.email, c.subscription_id) for c in plan.changes] == [
        (0, "a@x.com", "3"),
        (0, "b@x.com", "1"),
        (5, "b@x.com", "2"),
    ]


def test_one_subscribers_changes_are_sorted_by_kind_before_subscription() -> None:
    """Within a subscriber, changes follow apply's kind order first, then subscription id."""
    state = desired(
        want(S, sub="101", **BASIS),  # type: ignore[arg-type]
        want(N, sub="102"),
        want(U, sub="103"),
        opt_outs={(0, "a@x.com"): True},
    )
    current = live(live_status(S, sub="102"), live_status(S, sub="103"))
    plan = diff(state, current)
    assert [(c.email, c.kind.value, c.subscription_id) for c in plan.changes] == [
        ("a@x.com", "unsubscribe_all", None),
        (EMAIL, "unsubscribe", "103"),
        (EMAIL, "not_specified", "102"),
        (EMAIL, "subscribe", "101"),
    ]


def test_checksum_depends_on_live_values() -> None:
    """Two plans with the same changes from different live timestamps differ in checksum."""
    one = diff(desired(want(U)), live(live_status(S, when="2026-01-01")))
    two = diff(desired(want(U)), live(live_status(S, when="2026-01-02")))
    assert one.checksum != two.checksum
    assert one.checksum == diff(desired(want(U)), live(live_status(S, when="2026-01-01"))).checksum


def test_every_opt_out_a_move_leaves_must_be_older_than_consent() -> None:
    """Unsubscribed from the subscription and opted out of all: consent must follow both."""
    entry = want(S, resubscribe=True, consented_at="2026-06-01", **BASIS)  # type: ignore[arg-type]
    current = live(live_status(U, when="2026-05-01"), opted_out={(0, EMAIL): "2026-07-01"})
    plan = diff(desired(entry), current)
    assert plan.changes == ()
    assert plan.blocked[0].reason.startswith("opted out of all email of brand 0 at 2026-07-01")


def test_apply_reads_keep_the_pairs_of_changes_and_implied_unsubscribes() -> None:
    """A plan's read scope (what apply's re-read and read-back keep) is the pairs its
    changes and implied unsubscribes name, and no flag: only opt-outs are kept wide."""
    other = "lee@example.com"
    state = desired(
        want(U, sub="101"), want(S, sub="103", email=other), opt_outs={(0, EMAIL): True}
    )
    plan = diff(state, live(live_status(S, sub="101")))
    scope = plan.read_scope()
    assert sorted(scope.pairs) == [(0, other, "103"), (0, EMAIL, "101")]
    assert all(scope.pairs[key] is key for key in scope.pairs)
    assert (0, EMAIL) not in scope.flags
