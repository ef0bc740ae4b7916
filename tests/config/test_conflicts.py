"""Conflicts mean conflicts: the same value for the same pair in two files is fine, even
with different inherited legal bases unless it is subscribed; real differences name the
field and both values."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import check
from tests.config.conftest import TODAY, write

A_DEFAULTS = "defaults:\n  legal_basis: CONSENT_WITH_NOTICE\n  legal_basis_explanation: web form\n"
B_DEFAULTS = (
    "defaults:\n  legal_basis: LEGITIMATE_INTEREST_CLIENT\n  legal_basis_explanation: contract\n"
)


QUINN = "subscribers:\n  quinn@example.com:\n"


def _files(project: Path, a: str, b: str) -> list[str]:
    write(
        project,
        {
            "subscribers/a.yaml": f"version: 1\n{A_DEFAULTS}{QUINN}{a}",
            "subscribers/b.yaml": f"version: 1\n{B_DEFAULTS}{QUINN}{b}",
        },
    )
    state, findings = check([], today=TODAY)
    return [str(f) for f in findings] if findings else ["valid", str(state is not None)]


@pytest.mark.parametrize("value", ["unsubscribed", "not_specified"])
def test_the_same_value_with_different_inherited_bases_validates(project: Path, value: str) -> None:
    """Two files, the same unsubscribed or not_specified, different defaults: valid, and the
    first file in include order gives the basis sent."""
    line = f"    newsletter: {value}\n"
    assert _files(project, line, line) == ["valid", "True"]
    state, _ = check([], today=TODAY)
    assert state is not None
    (want,) = state.statuses.values()
    assert (want.legal_basis, str(want.location)) == (
        "CONSENT_WITH_NOTICE",
        "subscribers/a.yaml:7:5",
    )


def test_subscribed_with_different_inherited_bases_conflicts(project: Path) -> None:
    """For subscribed the inherited basis is evidence: two differing ones conflict."""
    line = "    newsletter: subscribed\n"
    assert _files(project, line, line) == [
        "subscribers/b.yaml:7:5: error: conflicting settings for quinn@example.com "
        "'newsletter' (business unit 0): subscribed in both places, but legal_basis is "
        "'LEGITIMATE_INTEREST_CLIENT' here and 'CONSENT_WITH_NOTICE' at "
        "subscribers/a.yaml:7:5; set it in one place"
    ]


def test_a_written_legal_basis_that_differs_conflicts(project: Path) -> None:
    """A legal basis written in an entry differs from the other declaration's: a conflict."""
    own = "    newsletter:\n      status: unsubscribed\n      legal_basis: PROCESS_AND_STORE\n"
    assert _files(project, "    newsletter: unsubscribed\n", own) == [
        "subscribers/b.yaml:7:5: error: conflicting settings for quinn@example.com "
        "'newsletter' (business unit 0): unsubscribed in both places, but legal_basis is "
        "'PROCESS_AND_STORE' here and 'CONSENT_WITH_NOTICE' at subscribers/a.yaml:7:5; set "
        "it in one place"
    ]


def test_a_different_consented_at_conflicts(project: Path) -> None:
    """consented_at is always the entry's own: differing ones conflict, naming both."""
    a = "    newsletter: {status: not_specified, consented_at: 2026-01-01}\n"
    b = "    newsletter: {status: not_specified, consented_at: 2026-02-01}\n"
    assert _files(project, a, b) == [
        "subscribers/b.yaml:7:5: error: conflicting settings for quinn@example.com "
        "'newsletter' (business unit 0): not_specified in both places, but consented_at is "
        "2026-02-01T00:00:00Z here and 2026-01-01T00:00:00Z at subscribers/a.yaml:7:5; set "
        "it in one place"
    ]


def test_a_different_status_names_both_values(project: Path) -> None:
    """Different statuses: both values and both places."""
    assert _files(project, "    newsletter: unsubscribed\n", "    newsletter: not_specified\n") == [
        "subscribers/b.yaml:7:5: error: conflicting settings for quinn@example.com "
        "'newsletter' (business unit 0): not_specified here, unsubscribed at "
        "subscribers/a.yaml:7:5; set it in one place"
    ]
