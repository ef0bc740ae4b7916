"""The plan comment and job summary: what comes first, the size caps, the guard."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hsprefs_action.markdown import (
    COMMENT_LIMIT,
    Where,
    cell,
    guard_problems,
    marker,
    render_comment,
    render_failure,
    render_plan_summary,
)
from hypothesis import given
from hypothesis import strategies as st

from reconciler.model import Policy, Status
from reconciler.plan import Blocked, Change, ChangeKind, Plan, Target, policy_violations
from reconciler.planfile import plan_document
from reconciler.redact import Redactor

GITHUB_COMMENT_MAX = 65_536
SUMMARY_MAX = 1024 * 1024
WHERE = Where(
    "https://github.com/acme/config/actions/runs/4242",
    "hsprefs-plan",
    "https://github.com/acme/config/actions/runs/4242/artifacts/99",
)


def big_plan(changes: int, blocked: int, resubscribes: int) -> Plan:
    """A plan with ``changes`` changes (the first ``resubscribes`` of them resubscribes)
    and ``blocked`` blocked pairs, as diff would build it."""
    items = []
    for i in range(changes):
        if i < resubscribes:
            items.append(
                Change(
                    ChangeKind.SUBSCRIBE,
                    0,
                    f"back{i:06d}@example.com",
                    "101",
                    Status.SUBSCRIBED,
                    Status.UNSUBSCRIBED,
                    alias="newsletter",
                    legal_basis="CONSENT_WITH_NOTICE",
                    legal_basis_explanation=f"Re-opted in on form #{i}",
                    resubscribe=True,
                )
            )
        else:
            items.append(
                Change(
                    ChangeKind.UNSUBSCRIBE,
                    i % 3,
                    f"person{i:06d}@example.com",
                    "102",
                    Status.UNSUBSCRIBED,
                    Status.SUBSCRIBED,
                    alias="product",
                )
            )
    stuck = tuple(
        Blocked(
            0,
            f"stuck{i:05d}@example.com",
            "101",
            "SUBSCRIBED",
            "UNSUBSCRIBED",
            "unsubscribed from newsletter since 2026-10-02T08:30:00Z (source: Self-service "
            "preference center); set resubscribe: true with legal_basis and "
            "legal_basis_explanation to re-subscribe",
            alias="newsletter",
        )
        for i in range(blocked)
    )
    return Plan(
        changes=tuple(sorted(items, key=lambda c: c.sort_key)),
        blocked=stuck,
        managed=changes + blocked + 10,
        target=Target(12345678, "https://api.hubapi.com", "2026-03"),
        policy=Policy(max_change_percent=30, min_managed=10, max_unsubscribe_all=50),
    )


def document(plan: Plan, *, redact: bool = False) -> dict[str, Any]:
    doc = plan_document(plan, redactor=Redactor(enabled=redact))
    return json.loads(json.dumps(doc))


@pytest.fixture(scope="module")
def huge() -> dict[str, Any]:
    """The document of a 100,000-change plan with 60 blocked pairs and 40 resubscribes."""
    return document(big_plan(100_000, blocked=60, resubscribes=40))


def test_a_100000_change_plan_fits_a_comment_and_keeps_what_matters(huge: dict[str, Any]) -> None:
    """100,000 changes: the comment stays under 65,536 characters and holds the summary,
    the guard, every blocked pair and resubscribe, the first changes, and where the rest is."""
    doc = huge
    body = render_comment(doc, key=".", title="hsprefs plan", where=WHERE)
    assert len(body) <= COMMENT_LIMIT < GITHUB_COMMENT_MAX
    assert body.startswith("<!-- hsprefs-plan-comment: . -->\n### hsprefs plan\n")
    assert "**Plan: 40 to subscribe, 99960 to unsubscribe, 0 to not-specified" in body
    assert "**Mass-change guard: apply will refuse this plan**: 100000 changes are" in body
    for i in range(60):
        assert f"stuck{i:05d}@example.com" in body
    for i in range(40):
        assert f"back{i:06d}@example.com" in body
    shown = body.count("| SUBSCRIBED → UNSUBSCRIBED |") + body.count(
        "| UNSUBSCRIBED → SUBSCRIBED (resubscribe) |"
    )
    assert shown == 200  # comment-changes' default
    assert body.endswith(
        "\n_Not shown here: 99,800 of 100,000 changes._ The full plan is in [the job summary "
        "of this run](https://github.com/acme/config/actions/runs/4242) and in the artifact "
        "[`hsprefs-plan`](https://github.com/acme/config/actions/runs/4242/artifacts/99) "
        "(`plan.json`, with real email addresses).\n"
    )


def test_the_cap_holds_when_blocked_pairs_alone_overflow(huge: dict[str, Any]) -> None:
    """5,000 blocked pairs cannot all fit: the cap still holds and the rest is counted."""
    doc = copy.deepcopy(huge)
    template = doc["blocked"][0]
    doc["blocked"] = [{**template, "email": f"stuck{i:05d}@example.com"} for i in range(5_000)]
    for change in doc["changes"][:3_000]:
        change["resubscribe"] = True
    body = render_comment(doc, key=".", title="hsprefs plan", where=WHERE)
    assert len(body) <= COMMENT_LIMIT
    assert "stuck00000@example.com" in body
    assert "stuck04999@example.com" not in body
    tail = body.rsplit("\n_Not shown here: ", 1)[1]
    assert tail.startswith("4,")  # most blocked pairs did not fit
    assert (
        "of 5,000 blocked pairs, 3,000 of 3,000 resubscribes, 100,000 of 100,000 changes." in tail
    )


def test_the_job_summary_stays_under_a_mebibyte(huge: dict[str, Any]) -> None:
    """The job summary of 100,000 changes fits its cap and names the artifact."""
    doc = huge
    text = render_plan_summary(doc, title="hsprefs plan", where=WHERE, limit=1_000_000)
    assert len(text.encode("utf-8")) <= 1_000_000 < SUMMARY_MAX
    assert "stuck00059@example.com" in text
    assert text.endswith(
        " (GitHub keeps 1 MiB of a job summary.) The full plan is in the artifact "
        "[`hsprefs-plan`](https://github.com/acme/config/actions/runs/4242/artifacts/99) "
        "(`plan.json`, with real email addresses)._\n"
    )


def test_a_small_plan_is_whole() -> None:
    """Nothing is left out of a small plan; the comment still says where the plan is."""
    doc = document(big_plan(3, blocked=1, resubscribes=1))
    body = render_comment(
        doc, key="portals/eu", title="hsprefs plan for `portals/eu`", where=Where()
    )
    assert body.startswith("<!-- hsprefs-plan-comment: portals/eu -->\n")
    assert "Not shown here" not in body
    assert body.endswith("\nThe full plan is in the job summary of this run.\n")
    assert "<details open><summary><b>Changes (3)</b></summary>" in body


def test_live_text_cannot_break_the_comment() -> None:
    """A reason holding HTML, a comment end or table pipes is shown, not obeyed."""
    plan = big_plan(1, blocked=0, resubscribes=0)
    nasty = Blocked(
        0,
        "x@example.com",
        "101",
        "SUBSCRIBED",
        "UNSUBSCRIBED",
        "source: --> </details> <img src=x> | cell | `code` [link](http://evil)",
    )
    doc = document(Plan(changes=plan.changes, blocked=(nasty,), managed=5))
    body = render_comment(doc, key="a -- b", title="t", where=Where())
    assert body.count("-->") == 1  # the marker's own
    assert body.startswith("<!-- hsprefs-plan-comment: a-b -->\n")
    assert (
        "&lt;/details&gt; &lt;img src=x&gt; \\| cell \\| \\`code\\` \\[link\\](http://evil)" in body
    )
    assert cell("a\nb|c") == "a b\\|c"


def test_the_marker_depends_on_the_key_only() -> None:
    """One marker per key; odd characters fold into dashes."""
    assert marker(".") == "<!-- hsprefs-plan-comment: . -->"
    assert marker("portals/eu") == "<!-- hsprefs-plan-comment: portals/eu -->"
    assert marker("a b<c>") == "<!-- hsprefs-plan-comment: a-b-c -->"


def test_no_changes() -> None:
    """A plan with nothing to do says so."""
    doc = document(Plan(managed=4, unchanged=4))
    body = render_comment(doc, key=".", title="hsprefs plan", where=Where())
    assert "No changes. HubSpot matches the config." in body
    assert "Mass-change guard" not in body


def test_failure_comment() -> None:
    """A failed run: its error in a code block that cannot be closed from inside."""
    body = render_failure("hsprefs plan: no plan", "it failed", ["a ```` b"], key=".")
    assert body == (
        "<!-- hsprefs-plan-comment: . -->\n### hsprefs plan: no plan\n\n**it failed**\n\n"
        "````\na ` ` ` ` b\n````\n\nSee the job log and its annotations for the details.\n"
    )


@given(
    changes=st.integers(0, 300),
    unsub_all=st.integers(0, 80),
    extra=st.integers(0, 300),
    percent=st.sampled_from([0, 5, 30, 33.3, 60, 100]),
    min_managed=st.integers(0, 200),
    max_unsub=st.integers(0, 60),
)
def test_the_guard_verdict_is_hsprefs_own(
    changes: int, unsub_all: int, extra: int, percent: float, min_managed: int, max_unsub: int
) -> None:
    """The comment's guard says exactly what apply's guard will (policy_violations)."""
    unsub_all = min(unsub_all, changes)
    items = tuple(
        Change(
            ChangeKind.UNSUBSCRIBE_ALL if i < unsub_all else ChangeKind.UNSUBSCRIBE,
            0,
            f"p{i}@example.com",
            None if i < unsub_all else "1",
            Status.UNSUBSCRIBED,
            Status.NOT_SPECIFIED if i < unsub_all else Status.SUBSCRIBED,
        )
        for i in range(changes)
    )
    policy = Policy(
        max_change_percent=percent, min_managed=min_managed, max_unsubscribe_all=max_unsub
    )
    plan = Plan(changes=items, managed=changes + extra, policy=policy)
    assert guard_problems(document(plan)) == policy_violations(plan, policy)
