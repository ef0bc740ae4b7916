"""What a valid config loads to: the DesiredState, key by key."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from reconciler.config import check, load
from reconciler.errors import ConfigError, Finding
from reconciler.model import (
    DesiredOptOut,
    DesiredStatus,
    Location,
    PairKey,
    Policy,
    PortalSettings,
    Status,
    SubscriberKey,
    SubscriptionRef,
)
from tests.config.conftest import FIXTURES, TODAY, write

FORMS = "valid-short-and-long-forms.yaml"
WEBSITE = {
    "legal_basis": "CONSENT_WITH_NOTICE",
    "legal_basis_explanation": "Signed up on the website",
}
CAROL = {
    "last_line": 22,
    "basis_written": True,
    "explanation_written": True,
    "resubscribe": True,
    "consented_at": datetime(2026, 9, 1, tzinfo=UTC),
    "legal_basis": "LEGITIMATE_INTEREST_CLIENT",
    "legal_basis_explanation": "Re-opted in at the 2026 conference, form #88",
    "own_evidence": True,
}
# (email, subscription key, status, alias, line of the setting, evidence) of FORMS
DECLARED: list[tuple[str, str, Status, str, int, dict[str, Any]]] = [
    ("alice@example.com", "101", Status.SUBSCRIBED, "newsletter", 9, WEBSITE),
    ("alice@example.com", "product", Status.UNSUBSCRIBED, "product", 10, WEBSITE),
    ("alice@example.com", "103", Status.NOT_SPECIFIED, "events", 11, WEBSITE),
    ("bob@example.com", "101", Status.UNSUBSCRIBED, "newsletter", 14, WEBSITE),
    ("carol@example.com", "101", Status.SUBSCRIBED, "newsletter", 17, CAROL),
    ("dan@example.com", "103", Status.SUBSCRIBED, "events", 24, {**WEBSITE, "last_line": 24}),
]


@pytest.mark.usefixtures("in_fixtures")
def test_every_declared_setting_is_one_status() -> None:
    """The statuses are exactly the declared (brand, email, subscription) settings."""
    state = load([FORMS], today=TODAY)
    assert sorted(state.statuses) == sorted(PairKey(0, e, s) for e, s, *_ in DECLARED)


@pytest.mark.usefixtures("in_fixtures")
@pytest.mark.parametrize(
    ("email", "subscription", "status", "alias", "line", "evidence"),
    DECLARED,
    ids=[f"{email.partition('@')[0]}-{alias}" for email, _s, _v, alias, _l, _e in DECLARED],
)
def test_short_and_long_forms_become_statuses(
    email: str, subscription: str, status: Status, alias: str, line: int, evidence: dict[str, Any]
) -> None:
    """Each declared (brand, email, subscription) becomes one DesiredStatus with its evidence."""
    state = load([FORMS], today=TODAY)
    key = PairKey(0, email, subscription)
    assert state.statuses[key] == DesiredStatus(
        key, status, alias=alias, location=Location(FORMS, line, 5), **evidence
    )


@pytest.mark.usefixtures("in_fixtures")
def test_own_evidence_marks_only_legal_fields_written_on_the_setting() -> None:
    """own_evidence is True where the setting gives both legal fields, False from defaults."""
    state = load(["valid-resubscribe-own-evidence.yaml"], today=TODAY)
    assert {
        (k.email, v.alias): (
            v.resubscribe,
            v.legal_basis,
            v.legal_basis_explanation,
            v.own_evidence,
        )
        for k, v in state.statuses.items()
    } == {
        ("erin@example.com", "newsletter"): (
            True,
            "CONSENT_WITH_NOTICE",
            "Re-opted in at the 2026 conference, form #88",
            True,
        ),
        ("erin@example.com", "events"): (
            False,
            "CONSENT_WITH_NOTICE",
            "Signed up on the website",
            False,
        ),
        ("frank@example.com", "newsletter"): (
            True,
            "CONSENT_WITH_NOTICE",
            "Signed the renewal form #12",
            True,
        ),
        ("frank@example.com", "events"): (
            False,
            "LEGITIMATE_INTEREST_CLIENT",
            "Partner agreement",
            False,
        ),
    }


@pytest.mark.usefixtures("in_fixtures")
def test_unsubscribe_all_true_and_false_are_opt_outs() -> None:
    """Every declared unsubscribe_all, true or false, is a DesiredOptOut."""
    state = load(["valid-short-and-long-forms.yaml"], today=TODAY)
    file = "valid-short-and-long-forms.yaml"
    assert dict(state.opt_outs) == {
        SubscriberKey(0, "bob@example.com"): DesiredOptOut(
            SubscriberKey(0, "bob@example.com"), True, Location(file, 13, 5)
        ),
        SubscriberKey(0, "carol@example.com"): DesiredOptOut(
            SubscriberKey(0, "carol@example.com"), False, Location(file, 16, 5)
        ),
    }


@pytest.mark.usefixtures("in_fixtures")
def test_opted_out_subscriber_gets_only_what_is_declared() -> None:
    """unsubscribe_all: true implies no per-subscription statuses."""
    state = load(["valid-short-and-long-forms.yaml"], today=TODAY)
    assert [k for k in state.statuses if k.email == "bob@example.com"] == [
        PairKey(0, "bob@example.com", "101")
    ]


@pytest.mark.usefixtures("in_fixtures")
def test_project_settings_are_loaded() -> None:
    """portal, policy and the aliases come from the project file."""
    state = load(["valid-empty-sections.yaml"], today=TODAY)
    assert state.portal == PortalSettings(id=12345678, gdpr=True, api_version="2026-03")
    assert state.policy == Policy(max_change_percent=25.5, min_managed=5, max_unsubscribe_all=10)
    assert dict(state.subscriptions) == {
        "newsletter": SubscriptionRef(
            "newsletter", 0, "101", None, Location("hsprefs.yaml", 12, 3)
        ),
        "product": SubscriptionRef(
            "product", 0, None, "Product Updates", Location("hsprefs.yaml", 13, 3)
        ),
        "events": SubscriptionRef("events", 0, "103", None, Location("hsprefs.yaml", 14, 3)),
        "outdoor-news": SubscriptionRef(
            "outdoor-news", 5, "201", None, Location("hsprefs.yaml", 15, 3)
        ),
        "outdoor-offers": SubscriptionRef(
            "outdoor-offers", 5, "202", "Outdoor offers", Location("hsprefs.yaml", 16, 3)
        ),
    }
    assert state.unresolved == frozenset({"product"})


def test_policy_defaults_apply(project: Path) -> None:
    """Without a policy section the model's defaults apply."""
    write(project, {"subscribers/a.yaml": "version: 1\n"})
    state = load(today=TODAY)
    assert state.policy == Policy()
    assert state.portal == PortalSettings()


@pytest.mark.usefixtures("in_fixtures")
def test_consent_times_are_utc() -> None:
    """Dates mean the start of the day in UTC; date-times keep their instant, naive is UTC."""
    state = load(["valid-dates-and-times.yaml"], today=TODAY)
    got = {k.email: v.consented_at for k, v in state.statuses.items()}
    assert got == {
        "d1@example.com": datetime(2026, 1, 2, tzinfo=UTC),
        "d2@example.com": datetime(2026, 1, 2, 10, 30, tzinfo=UTC),
        "d3@example.com": datetime(2026, 1, 2, 8, 30, tzinfo=UTC),
        "d4@example.com": datetime(2026, 1, 2, 10, 30, tzinfo=UTC),
        "d5@example.com": datetime(2026, 1, 2, tzinfo=UTC),
    }
    assert all(v.consented_at and v.consented_at.tzinfo is UTC for v in state.statuses.values())


GROUPS = "valid-groups-and-rosters.yaml"
PARTNER = "LEGITIMATE_INTEREST_CLIENT"
FILE_DEFAULTS = (Status.UNSUBSCRIBED, "CONSENT_WITH_NOTICE", "Signed up on the website")
NEWSLETTER_FORM = (Status.SUBSCRIBED, PARTNER, "Partner newsletter form")
AGREEMENT = (Status.SUBSCRIBED, PARTNER, "Partner agreement")
# (email, alias) -> (status, legal basis, explanation) and where the member is written
MEMBERS: list[tuple[tuple[str, str], tuple[Status, str, str], str]] = [
    (("gina@example.com", "events"), FILE_DEFAULTS, f"{GROUPS}:9:5"),
    (("gina@example.com", "newsletter"), NEWSLETTER_FORM, f"{GROUPS}:12:15"),
    (("hank@example.com", "events"), AGREEMENT, f"{GROUPS}:12:33"),
    (("hank@example.com", "newsletter"), NEWSLETTER_FORM, f"{GROUPS}:12:33"),
    (("iris@example.com", "events"), AGREEMENT, "rosters/partners.csv:2:1"),
    (("iris@example.com", "newsletter"), NEWSLETTER_FORM, "rosters/partners.csv:2:1"),
    (("jack@example.com", "events"), AGREEMENT, "rosters/partners.csv:4:2"),
    (("jack@example.com", "newsletter"), NEWSLETTER_FORM, "rosters/partners.csv:4:2"),
]


@pytest.mark.usefixtures("in_fixtures")
def test_groups_expand_to_members_with_roster_positions() -> None:
    """A group's settings go to each member; the entry wins; legal basis group > file."""
    state = load([GROUPS], today=TODAY)
    got = {
        (k.email, v.alias): (v.status, v.legal_basis, v.legal_basis_explanation, str(v.location))
        for k, v in state.statuses.items()
    }
    assert got == {key: (*setting, where) for key, setting, where in MEMBERS}


@pytest.mark.usefixtures("in_fixtures")
def test_group_can_opt_members_out_of_all() -> None:
    """A group with set: {unsubscribe_all: true} opts each member out (roster lines kept)."""
    state = load(["valid-groups-and-rosters.yaml"], today=TODAY)
    assert {k.email: (v.unsubscribe_all, str(v.location)) for k, v in state.opt_outs.items()} == {
        "kate@example.com": (True, "rosters/suppressed.txt:2:1"),
        "leo@example.com": (True, "rosters/suppressed.txt:4:1"),
    }


@pytest.mark.usefixtures("in_fixtures")
def test_files_lists_every_file_read_in_order() -> None:
    """`files` holds the project, the subscriber files and the rosters, as shown to the user."""
    state = load(["valid-groups-and-rosters.yaml"], today=TODAY)
    assert state.files == (
        "hsprefs.yaml",
        "valid-groups-and-rosters.yaml",
        "rosters/partners.csv",
        "rosters/suppressed.txt",
    )


@pytest.mark.usefixtures("in_fixtures")
def test_digest_is_sha256_over_files_and_paths() -> None:
    """The digest is sha256 of the sorted 'sha256  project-relative-path' lines."""
    state = load(["valid-groups-and-rosters.yaml"], today=TODAY)
    names = sorted(
        [
            "hsprefs.yaml",
            "valid-groups-and-rosters.yaml",
            "rosters/partners.csv",
            "rosters/suppressed.txt",
        ]
    )
    lines = sorted(
        f"{hashlib.sha256((FIXTURES / n).read_bytes()).hexdigest()}  {n}\n" for n in names
    )
    assert state.digest == hashlib.sha256("".join(lines).encode()).hexdigest()


def test_digest_does_not_depend_on_the_current_folder(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same files give the same digest from inside and from outside the project."""
    write(project, {"subscribers/a.yaml": "version: 1\n"})
    inside = load(today=TODAY).digest
    monkeypatch.chdir(project.parent)
    assert load([project.name], today=TODAY).digest == inside


def test_files_outside_the_current_folder_are_absolute(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A project outside the current folder is shown with absolute paths."""
    write(project, {"subscribers/a.yaml": "version: 1\n"})
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    state = load([project], today=TODAY)
    assert state.files == (
        (project / "hsprefs.yaml").as_posix(),
        (project / "subscribers" / "a.yaml").as_posix(),
    )


def test_same_email_across_brands_and_files_merges(project: Path) -> None:
    """Two files may declare one subscriber: different aliases merge, the same value is fine."""
    write(
        project,
        {
            "subscribers/a.yaml": (
                "version: 1\nsubscribers:\n  x@example.com: {newsletter: unsubscribed}\n"
            ),
            "subscribers/b.yaml": (
                "version: 1\nsubscribers:\n  X@example.com:\n"
                "    newsletter: unsubscribed\n    events: not_specified\n"
            ),
            "subscribers/c.yaml": (
                "version: 1\nbusiness_unit: 5\n"
                "subscribers:\n  x@example.com: {outdoor: subscribed}\n"
            ),
        },
    )
    state = load(today=TODAY)
    assert sorted(state.statuses) == [
        PairKey(0, "x@example.com", "101"),
        PairKey(0, "x@example.com", "103"),
        PairKey(5, "x@example.com", "201"),
    ]
    assert str(state.statuses[PairKey(0, "x@example.com", "101")].location) == (
        "subscribers/a.yaml:3:19"
    )


def test_load_raises_config_error_with_every_finding(project: Path) -> None:
    """load() raises ConfigError carrying every finding, sorted by file, line, column."""
    write(
        project,
        {
            "subscribers/b.yaml": "version: 2\n",
            "subscribers/a.yaml": (
                "version: 1\nsubscribers:\n  x@y: {events: not_specified}\n"
                "  z@example.com: {nope: subscribed}\n"
            ),
        },
    )
    with pytest.raises(ConfigError) as caught:
        load(today=TODAY)
    assert caught.value.findings == (
        Finding(
            "subscribers/a.yaml", 3, 3, "'x@y' is not a valid email address", code="invalid-email"
        ),
        Finding(
            "subscribers/a.yaml",
            4,
            19,
            "unknown subscription alias 'nope'; declare it under 'subscriptions' in hsprefs.yaml",
            code="unknown-alias",
        ),
        Finding(
            "subscribers/b.yaml", 1, 10, "'version' must be 1, not the number 2", code="schema"
        ),
    )
    assert caught.value.one_line() == (
        "subscribers/a.yaml:3:3: error: 'x@y' is not a valid email address "
        "(and 2 more; run 'hsprefs validate' to see all)"
    )


def test_check_returns_findings_without_raising(project: Path) -> None:
    """check() returns (None, findings) for an invalid config."""
    write(project, {"subscribers/a.yaml": "version: 2\n"})
    state, findings = check(today=TODAY)
    assert state is None
    assert [str(f) for f in findings] == [
        "subscribers/a.yaml:1:10: error: 'version' must be 1, not the number 2"
    ]


def test_today_defaults_to_the_clock(project: Path) -> None:
    """Without today=, consent a minute from now is in the future."""
    soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    write(
        project,
        {
            "subscribers/a.yaml": (
                "version: 1\nsubscribers:\n  x@example.com:\n"
                f"    newsletter: {{status: unsubscribed, consented_at: '{soon}'}}\n"
            )
        },
    )
    _, findings = check()
    assert [f.code for f in findings] == ["consented-at"]


def test_naive_today_means_utc(project: Path) -> None:
    """A naive today is read as UTC: consent at 10:00+02:00 is 08:00 UTC, before 09:00."""
    write(
        project,
        {
            "subscribers/a.yaml": (
                "version: 1\nsubscribers:\n  x@example.com:\n"
                "    newsletter: {status: unsubscribed, consented_at: 2026-10-01T10:00:00+02:00}\n"
            )
        },
    )
    state, findings = check(today=datetime(2026, 10, 1, 9, 0))
    assert findings == []
    assert state is not None
    aware = check(today=datetime(2026, 10, 1, 7, 0, tzinfo=timezone(timedelta(hours=-1))))
    assert aware[1] == []


def test_ids_are_normalised(project: Path) -> None:
    """Ids given as numbers or with leading zeros key statuses by their plain digits."""
    write(
        project,
        {
            "hsprefs.yaml": (
                'version: 1\nsubscriptions:\n  a: {id: 101}\n  b: {id: "0202"}\n'
                "include: [subscribers/*.yaml]\n"
            ),
            "subscribers/s.yaml": (
                "version: 1\nsubscribers:\n  x@example.com: {a: unsubscribed, b: unsubscribed}\n"
            ),
        },
    )
    state = load(today=TODAY)
    assert sorted(k.subscription_id for k in state.statuses) == ["101", "202"]


def test_public_api_is_curated() -> None:
    """reconciler.config exports exactly its five functions, sorted."""
    import reconciler.config as config

    assert config.__all__ == [
        "check",
        "check_definitions",
        "date_declarations",
        "load",
        "resolve_aliases",
    ]
    for name in config.__all__:
        assert callable(getattr(config, name))
