"""The newer-change rule in the diff, and reading git blame's porcelain output."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reconciler.config._history import parse_blame
from reconciler.diff import diff
from reconciler.model import Policy, Status
from reconciler.plan import Plan
from tests.plan.builders import N, S, U, at, desired, live, live_status, want


def _plan(declared: str | None, *, status: Status = N, unknown: bool = False, **kw: object) -> Plan:
    wanted = replace(want(status), **kw)  # type: ignore[arg-type]
    state = desired(wanted)
    if declared or unknown:
        state = replace(state, declared={wanted.key: at(declared) if declared else None})
    return diff(state, live(live_status(S, when="2026-05-01")), Policy())


@pytest.mark.parametrize(
    ("declared", "blocked"),
    [
        ("2026-04-30", True),  # HubSpot changed it after the declaration
        ("2026-05-02", False),  # declared after HubSpot's change
        (None, False),  # uncommitted or no history: counts as now
    ],
)
def test_a_newer_live_change_is_blocked(declared: str | None, blocked: bool) -> None:
    """Blocked exactly when HubSpot's timestamp is newer than the declaration."""
    plan = _plan(declared)
    assert (len(plan.blocked), len(plan.changes)) == ((1, 0) if blocked else (0, 1))


def test_the_reason_names_source_time_and_the_ways_through() -> None:
    """Who changed it, when, when the config declared it, and how to proceed."""
    (entry,) = _plan("2026-04-30").blocked
    assert entry.reason == (
        "changed in HubSpot to SUBSCRIBED at 2026-05-01T00:00:00Z (source: API), after the "
        "config declared not_specified (committed 2026-04-30T00:00:00Z); a newer change is "
        "not reverted: re-declare it (edit and commit the line, or set as_of:) or set "
        "policy.revert_newer_changes: true"
    )
    assert (entry.live_source, entry.live_timestamp) == ("API", at("2026-05-01"))


def test_as_of_overrides_the_commit_time() -> None:
    """An entry's as_of is its declaration time, whatever git says."""
    assert not _plan("2026-04-30", as_of=at("2026-05-02")).blocked
    (entry,) = _plan("2026-05-02", as_of=at("2026-04-01")).blocked
    assert "(as_of 2026-04-01T00:00:00Z)" in entry.reason


def test_unknown_declaration_times_are_blocked_not_guessed() -> None:
    """A shallow clone's unknown time blocks a differing pair HubSpot dated."""
    (entry,) = _plan(None, unknown=True).blocked
    assert "is unknown (shallow git history)" in entry.reason


@pytest.mark.parametrize("source", ["Not specified", "DEFAULT", None])
def test_a_status_nobody_set_is_no_newer_change(source: str | None) -> None:
    """NOT_SPECIFIED that nobody set may be dated at the read (after any commit): it is
    no change made in HubSpot, so subscribing it is planned, not blocked."""
    wanted = want(S)
    never = live_status(N, when="2026-05-01")._replace(source=source)
    plan = diff(
        replace(desired(wanted), declared={wanted.key: at("2026-04-30")}), live(never), Policy()
    )
    assert (len(plan.changes), len(plan.blocked)) == (1, 0)


def test_revert_newer_changes_plans_the_revert() -> None:
    """policy.revert_newer_changes: true lets the config win."""
    wanted = want(N)
    plan = diff(
        replace(desired(wanted), declared={wanted.key: at("2026-04-30")}),
        live(live_status(S, when="2026-05-01")),
        Policy(revert_newer_changes=True),
    )
    assert (len(plan.changes), len(plan.blocked)) == (1, 0)


def test_opt_outs_keep_their_stricter_rule() -> None:
    """A newer opt-out stays blocked by the resubscribe rule, revert_newer_changes or not."""
    wanted = replace(
        want(S, basis="CONSENT_WITH_NOTICE", explanation="form"), as_of=at("2026-06-01")
    )
    plan = diff(
        desired(wanted),
        live(live_status(U, when="2026-05-01")),
        Policy(revert_newer_changes=True),
    )
    (entry,) = plan.blocked
    assert entry.reason.startswith("unsubscribed from alias-101 since 2026-05-01T00:00:00Z")


def test_a_pair_in_sync_is_unchanged_whatever_its_time() -> None:
    """Same value: nothing to revert, nothing blocked."""
    plan = _plan("2026-04-30", status=S)
    assert (plan.unchanged, plan.blocked, plan.changes) == (1, (), ())


SHA_A = "a" * 40
SHA_B = "b" * 40
PORCELAIN = "\n".join(
    [
        f"{SHA_A} 1 1 2",
        "author t",
        "committer-time 1700000000",
        "boundary",
        "filename x.yaml",
        "\tversion: 1",
        f"{SHA_A} 2 2",
        "\tsubscribers:",
        f"{SHA_B} 3 3 1",
        "committer-time 1800000000",
        "filename x.yaml",
        "\t  a@example.com: {news: subscribed}",
        f"{'0' * 40} 4 4 1",
        "committer-time 1900000000",
        "filename x.yaml",
        "\t  b@example.com: {news: subscribed}",
        "",
    ]
)


def test_parse_blame_reads_times_per_line() -> None:
    """Committed lines get their committer time, uncommitted ones now (-1)."""
    assert parse_blame(PORCELAIN, shallow=False) == [-1, 1700000000, 1700000000, 1800000000, -1]


def test_parse_blame_in_a_shallow_clone_marks_boundary_lines_unknown() -> None:
    """Lines of the shallow boundary commit are unknown (-2), never its time."""
    assert parse_blame(PORCELAIN, shallow=True) == [-1, -2, -2, 1800000000, -1]
