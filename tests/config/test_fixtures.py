"""The fixture corpus: every failure has its own file with its exact findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import check, check_definitions
from tests.config.conftest import FIXTURES, TODAY, definitions

INVALID = sorted(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("invalid-*.yaml"))
VALID = sorted(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("valid-*.yaml"))


def expected(name: str, marker: bytes = b"# expect: ") -> list[str]:
    """The '# expect:' lines a fixture starts with."""
    lines = (FIXTURES / name).read_bytes().split(b"\n")
    return [line[len(marker) :].decode() for line in lines if line.startswith(marker)]


def test_corpus_covers_every_named_check() -> None:
    """Each check and hostile input of the issue has a fixture named after it."""
    names = " ".join(INVALID)
    for check_name in (
        "unknown-alias",
        "online-definitions",
        "conflict-groups",
        "email-two-spellings",
        "email-address",
        "unsubscribe-all-with-subscribed",
        "alias-wrong-business-unit",
        "gdpr-missing-legal-basis",
        "resubscribe-without-legal-basis",
        "consented-at-future",
        "consented-at-unparseable",
        "roster-missing",
        "roster-no-email-column",
        "roster-bad-rows",
        "yaml-alias-bomb",
        "yaml-deep-nesting",
        "yaml-huge-scalar",
        "yaml-duplicate-key",
        "yaml-not-utf8",
        "yaml-tab-indent",
    ):
        assert f"invalid-{check_name}.yaml" in names, check_name


@pytest.mark.parametrize("name", INVALID)
@pytest.mark.usefixtures("in_fixtures")
def test_invalid_fixture_gives_exactly_its_findings(name: str) -> None:
    """Validated alone, an invalid fixture yields exactly the findings it lists."""
    state, findings = check([name], today=TODAY)
    want = expected(name)
    assert [str(f) for f in findings] == want
    if "online" in name:
        assert state is not None
    else:
        assert want, f"{name} lists no '# expect:' lines"
        assert state is None


@pytest.mark.parametrize("name", [n for n in INVALID if "online" in n])
@pytest.mark.usefixtures("in_fixtures")
def test_online_fixture_gives_exactly_its_findings(name: str) -> None:
    """Checked against definitions.json, an online fixture yields exactly what it lists."""
    state, _ = check([name], today=TODAY)
    assert state is not None
    found = check_definitions(state, definitions())
    assert [str(f) for f in found] == expected(name, b"# expect-online: ")


@pytest.mark.parametrize("name", VALID)
@pytest.mark.usefixtures("in_fixtures")
def test_valid_fixture_has_no_findings(name: str) -> None:
    """A valid fixture, validated alone against the fixture project, has no findings."""
    state, findings = check([name], today=TODAY)
    assert [str(f) for f in findings] == []
    assert state is not None


@pytest.mark.usefixtures("in_fixtures")
def test_fixture_project_binds_online() -> None:
    """The fixture project's aliases all bind to definitions.json."""
    state, _ = check(["valid-short-and-long-forms.yaml"], today=TODAY)
    assert state is not None
    assert check_definitions(state, definitions()) == []


@pytest.mark.usefixtures("in_fixtures")
def test_conflict_between_two_files_names_both() -> None:
    """Two subscriber files that disagree give one finding naming both places."""
    _, findings = check(["invalid-conflict-files"], today=TODAY)
    assert [str(f) for f in findings] == expected("invalid-conflict-files/hsprefs.yaml")


def test_examples_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    """`hsprefs validate examples/` passes."""
    monkeypatch.chdir(FIXTURES.parents[2])
    state, findings = check([Path("examples")])
    assert [str(f) for f in findings] == []
    assert state is not None
