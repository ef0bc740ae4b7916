"""The newer-change rule end to end: a git repository, a committed config, a status
changed through HubSpot's API afterwards; plan blocks it, apply leaves it alone, and a
committed re-declaration changes it. Also a shallow clone and a folder outside git."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.flow.apply_support import write_calls
from tests.flow.conftest import Hub

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="the rule reads git")

WRITE = "/communication-preferences/2026-03/statuses/batch/write"
PROJECT = """\
version: 1
portal: {id: 12345678}
subscriptions:
  newsletter: {id: "101"}
include: [subscribers/*.yaml]
"""
PEOPLE = """\
version: 1
business_unit: 0
subscribers:
  zoe@example.com:
    newsletter: not_specified
  yan@example.com:
    newsletter: unsubscribed
"""


def git(folder: Path, *args: str, when: datetime | None = None) -> str:
    env = dict(os.environ)
    if when is not None:
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S+0000")
        env.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
    out = subprocess.run(
        [
            "git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@example.com",
            "-c", "commit.gpgsign=false", *args,
        ],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return out.stdout.strip()


def commit_all(folder: Path, message: str, when: datetime) -> None:
    git(folder, "add", ".")
    git(folder, "commit", "-q", "-m", message, when=when)


def subscribe_through_a_form(hub: Hub, email: str) -> str:
    """Subscribe ``email`` to 101 through HubSpot's API, as a form would; its timestamp."""
    response = hub.api(
        "POST",
        WRITE,
        {
            "inputs": [
                {
                    "subscriberIdString": email,
                    "subscriptionId": 101,
                    "statusState": "SUBSCRIBED",
                    "channel": "EMAIL",
                    "legalBasis": "CONSENT_WITH_NOTICE",
                    "legalBasisExplanation": "Signed up on the website",
                }
            ]
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["results"][0]["timestamp"])


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository whose config was committed an hour ago; the working directory."""
    root = tmp_path / "config"
    (root / "subscribers").mkdir(parents=True)
    (root / "hsprefs.yaml").write_text(PROJECT)
    (root / "subscribers" / "people.yaml").write_text(PEOPLE)
    git(root, "init", "-q")
    commit_all(root, "config", datetime.now(UTC) - timedelta(hours=1))
    monkeypatch.chdir(root)
    return root


def iso(text: str) -> str:
    """HubSpot's timestamp as the plan writes it."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.isoformat().replace("+00:00", "Z")


def committed_at(root: Path) -> str:
    moment = datetime.fromtimestamp(int(git(root, "log", "-1", "--format=%ct")), UTC)
    return moment.isoformat().replace("+00:00", "Z")


def blocked(stamp: str, declared: str) -> list[str]:
    return [
        "Blocked (reported, never sent):",
        "  x zoe@example.com newsletter (101): SUBSCRIBED -> NOT_SPECIFIED: changed in "
        f"HubSpot to SUBSCRIBED at {stamp} (source: Public status API), after the config declared "
        f"not_specified ({declared}); a newer change is not reverted: re-declare it (edit and "
        "commit the line, or set as_of:) or set policy.revert_newer_changes: true",
        "      declared at subscribers/people.yaml:5:5",
    ]


def block_of(text: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index("Blocked (reported, never sent):")
    return lines[start : start + 3]


def test_a_newer_change_in_hubspot_is_blocked_and_apply_leaves_it(hub: Hub, repo: Path) -> None:
    """Committed before the subscriber's own subscribe: plan blocks the pair, apply skips it."""
    stamp = iso(subscribe_through_a_form(hub, "zoe@example.com"))
    plan = hub.hsprefs("plan", "-o", "plan.json")
    assert plan.code == 0, plan.err
    assert plan.out.splitlines()[0] == (
        "Plan: 0 to subscribe, 1 to unsubscribe, 0 to not-specified, 0 unsubscribe-all, "
        "1 blocked, 0 unchanged"
    )
    assert "Note:" not in plan.out
    assert block_of(plan.out) == blocked(stamp, f"committed {committed_at(repo)}")
    hub.reset_counts()
    applied = hub.hsprefs("apply", "--plan", "plan.json")
    assert applied.code == 0, applied.err
    assert write_calls(hub)["statuses.batch.write"] == 1  # yan's unsubscribe only
    zoe = [w for w in hub.writes() if w["input"]["subscriberIdString"] == "zoe@example.com"]
    assert len(zoe) == 1  # the form's own write, none of apply's
    again = hub.hsprefs("plan")
    assert block_of(again.out) == blocked(stamp, f"committed {committed_at(repo)}")


def test_a_committed_re_declaration_changes_it(hub: Hub, repo: Path) -> None:
    """After git commit of a re-declaration, the next plan makes the change."""
    subscribe_through_a_form(hub, "zoe@example.com")
    people = repo / "subscribers" / "people.yaml"
    people.write_text(
        PEOPLE.replace("newsletter: not_specified", "newsletter: not_specified  # asked")
    )
    commit_all(repo, "re-declare zoe", datetime.now(UTC) + timedelta(seconds=5))
    plan = hub.hsprefs("plan")
    assert plan.code == 0, plan.err
    assert "~ newsletter (101): SUBSCRIBED -> NOT_SPECIFIED" in plan.out
    assert "Blocked" not in plan.out


def test_an_uncommitted_edit_counts_as_now(hub: Hub, repo: Path) -> None:
    """An edited, uncommitted declaring line is declared now: newer than HubSpot's change."""
    subscribe_through_a_form(hub, "zoe@example.com")
    people = repo / "subscribers" / "people.yaml"
    people.write_text(
        PEOPLE.replace("newsletter: not_specified", "newsletter: not_specified  # yes")
    )
    plan = hub.hsprefs("plan")
    assert "~ newsletter (101): SUBSCRIBED -> NOT_SPECIFIED" in plan.out
    assert "Blocked" not in plan.out


def test_as_of_overrides_the_history(hub: Hub, repo: Path) -> None:
    """as_of: before HubSpot's change keeps it blocked (saying as_of); after it, changes it."""
    stamp = iso(subscribe_through_a_form(hub, "zoe@example.com"))
    people = repo / "subscribers" / "people.yaml"
    long_form = "newsletter: {status: not_specified, as_of: %s}"
    people.write_text(PEOPLE.replace("newsletter: not_specified", long_form % "2020-01-01"))
    commit_all(repo, "as_of in the past", datetime.now(UTC) + timedelta(seconds=5))
    plan = hub.hsprefs("plan")
    assert block_of(plan.out) == blocked(stamp, "as_of 2020-01-01T00:00:00Z")
    time.sleep(1.05)  # as_of has whole seconds and may not be in the future
    after = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    people.write_text(PEOPLE.replace("newsletter: not_specified", long_form % after))
    commit_all(repo, "as_of after the change", datetime.now(UTC) - timedelta(hours=2))
    plan = hub.hsprefs("plan")
    assert "~ newsletter (101): SUBSCRIBED -> NOT_SPECIFIED" in plan.out, plan.out


def test_revert_newer_changes_lets_the_config_win(hub: Hub, repo: Path) -> None:
    """policy.revert_newer_changes: true plans the revert instead of blocking it."""
    subscribe_through_a_form(hub, "zoe@example.com")
    (repo / "hsprefs.yaml").write_text(PROJECT + "policy: {revert_newer_changes: true}\n")
    commit_all(repo, "config wins", datetime.now(UTC) - timedelta(hours=1))
    plan = hub.hsprefs("plan", "--format", "json")
    document = json.loads(plan.out)
    assert document["summary"]["blocked"] == 0
    assert document["policy"]["revert_newer_changes"] is True
    assert [c["email"] for c in document["changes"]] == ["yan@example.com", "zoe@example.com"]


def test_a_group_member_counts_the_later_of_member_and_set_lines(hub: Hub, repo: Path) -> None:
    """A group's set line committed after HubSpot's change re-declares every member."""
    people = repo / "subscribers" / "people.yaml"
    people.write_text(
        "version: 1\nsubscribers: {}\ngroups:\n  g:\n    members: [zoe@example.com]\n"
        "    set:\n      newsletter: not_specified\n"
    )
    commit_all(repo, "group", datetime.now(UTC) - timedelta(hours=1))
    subscribe_through_a_form(hub, "zoe@example.com")
    assert "x zoe@example.com newsletter" in hub.hsprefs("plan").out
    people.write_text(people.read_text().replace("not_specified", "not_specified  # again"))
    commit_all(repo, "re-set", datetime.now(UTC) + timedelta(seconds=5))
    assert "~ newsletter (101): SUBSCRIBED -> NOT_SPECIFIED" in hub.hsprefs("plan").out


def test_a_shallow_clone_says_the_times_are_unknown(
    hub: Hub, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a shallow clone the declaration times are unknown: the pair is blocked, not
    guessed, and the plan says once to fetch the full history."""
    (repo / "README").write_text("x\n")
    commit_all(repo, "readme", datetime.now(UTC) - timedelta(minutes=20))
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(clone)], check=True)
    monkeypatch.chdir(clone)
    stamp = iso(subscribe_through_a_form(hub, "zoe@example.com"))
    plan = hub.hsprefs("plan", "--format", "json")
    document = json.loads(plan.out)
    assert document["notes"] == [
        "the config's git history is shallow (a clone with --depth, such as "
        "actions/checkout's default fetch-depth: 1), so when its lines were committed is "
        "unknown: a pair HubSpot changed is blocked rather than guessed; fetch the full "
        "history (git fetch --unshallow, or fetch-depth: 0)"
    ]
    reasons = {b["email"]: b["reason"] for b in document["blocked"]}
    assert sorted(reasons) == ["zoe@example.com"]  # nothing guessed
    # yan's newsletter was never set in HubSpot: no one changed it there, so the
    # unsubscribe reverts nothing and is planned whatever the history says.
    assert [(c["email"], c["kind"]) for c in document["changes"]] == [
        ("yan@example.com", "unsubscribe")
    ]
    assert [reasons["zoe@example.com"]] == [
        f"changed in HubSpot to SUBSCRIBED at {stamp} (source: Public status API); when the config "
        "declared not_specified is unknown (shallow git history), so it is not reverted: "
        "fetch the full history (git fetch --unshallow, or fetch-depth: 0), or set as_of: on "
        "the entry"
    ]
    text = hub.hsprefs("plan").out
    assert text.count("Note: the config's git history is shallow") == 1


def test_outside_a_git_repository_plan_says_so_once(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a git repository: one note, and every declaration counts as now."""
    root = tmp_path / "plain"
    (root / "subscribers").mkdir(parents=True)
    (root / "hsprefs.yaml").write_text(PROJECT)
    (root / "subscribers" / "people.yaml").write_text(PEOPLE)
    monkeypatch.chdir(root)
    subscribe_through_a_form(hub, "zoe@example.com")
    plan = hub.hsprefs("plan")
    lines = plan.out.splitlines()
    assert lines[4] == (
        "Note: the config is not in a git repository, so the newer-change rule cannot date "
        "its declarations: each counts as made now"
    )
    assert plan.out.count("Note:") == 1
    assert "~ newsletter (101): SUBSCRIBED -> NOT_SPECIFIED" in plan.out


def test_the_blame_is_cached_by_blob(hub: Hub, repo: Path) -> None:
    """The second plan reuses the cached blame under .hsprefs/blame (git-ignored)."""
    subscribe_through_a_form(hub, "zoe@example.com")
    first = hub.hsprefs("plan").out
    cache = repo / ".hsprefs" / "blame"
    entries = sorted(p.name for p in cache.iterdir())
    assert ".gitignore" in entries and len(entries) == 2
    assert git(repo, "status", "--porcelain") == ""  # the cache is ignored
    assert hub.hsprefs("plan").out == first
