"""Legal basis on a GDPR portal: hsprefs sends the entry's or file's legal basis with
every write that has one; a portal that demands it on every write applies cleanly when
the config gives defaults, and its refusal says what to add."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator import EmulatorSettings, create_app
from tests.cli_hub import Hub, point_at_emulator
from tests.flow.conftest import SEED


@pytest.fixture(params=["professional", "enterprise"])
def strict_hub(
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Hub]:
    """The example GDPR portal refusing every status write without a legal basis, in
    single mode (professional) and in batch mode (enterprise)."""
    point_at_emulator(monkeypatch)
    settings = EmulatorSettings(
        seed=str(SEED), rate_limit=0, tier=request.param, legal_basis_rule="every"
    )
    app = create_app(settings)
    try:
        yield Hub(app, capsys)
    finally:
        app.state.emulator.close()


def test_every_write_carries_the_file_s_legal_basis(strict_hub: Hub, project: Path) -> None:
    """With defaults in every file, every write (unsubscribes and not-specified too)
    carries a legal basis, and the strict portal applies all of them."""
    result = strict_hub.hsprefs("apply", "--auto-approve", "--journal", "j.jsonl")
    assert result.code == 0, result.err
    assert "Applied and verified: 8 of 8 changes" in result.out
    sent = [w for w in strict_hub.writes() if isinstance(w["input"], dict)]
    assert {w["input"]["statusState"] for w in sent} == {
        "SUBSCRIBED",
        "UNSUBSCRIBED",
        "NOT_SPECIFIED",
    }
    assert all(
        w["input"].get("legalBasis") and w["input"].get("legalBasisExplanation") for w in sent
    )


def test_a_refusal_for_a_missing_legal_basis_says_to_add_one(
    strict_hub: Hub, project: Path
) -> None:
    """Without defaults the unsubscribe and not-specified writes are refused; the error
    and the report say to add legal_basis or defaults, not to make a new plan."""
    (project / "subscribers" / "customers.yaml").write_text(
        "version: 1\nsubscribers:\n  alice@example.com:\n    product: unsubscribed\n",
        encoding="utf-8",
    )
    checked = strict_hub.hsprefs("validate")
    assert checked.code == 0
    assert (
        "subscribers/customers.yaml:4:5: warning: unsubscribed has no legal basis, and "
        "portal.gdpr is true: HubSpot may refuse the write" in checked.out
    )
    result = strict_hub.hsprefs("apply", "--auto-approve", "--journal", "j.jsonl")
    assert result.code == 1
    assert "alice@example.com product (102) -> UNSUBSCRIBED" in result.out
    hint = (
        "HubSpot requires a legal basis on these writes (the portal has data-privacy "
        "settings on): add legal_basis and legal_basis_explanation to those entries, or "
        "defaults to their files, then run apply again"
    )
    assert f"What is left: {hint}." in result.out
    assert result.err.rstrip("\n").endswith(f"({hint})")
    assert "make a new plan" not in result.out + result.err


def test_a_refusal_on_a_config_that_says_gdpr_false_says_to_set_it(
    strict_hub: Hub, project: Path
) -> None:
    """A config that says gdpr: false on a portal that wants a legal basis: the report and
    the error say to set gdpr: true in hsprefs.yaml and give a legal basis, not to make a
    new plan."""
    path = project / "hsprefs.yaml"
    path.write_text(path.read_text().replace("gdpr: true", "gdpr: false"), encoding="utf-8")
    (project / "subscribers" / "customers.yaml").write_text(
        "version: 1\nsubscribers:\n  alice@example.com:\n    product: unsubscribed\n",
        encoding="utf-8",
    )
    checked = strict_hub.hsprefs("validate")
    assert checked.code == 0
    assert "legal basis" not in checked.out
    result = strict_hub.hsprefs("apply", "--auto-approve", "--journal", "j.jsonl")
    assert result.code == 1
    hint = (
        "HubSpot requires a legal basis on these writes (the portal has data-privacy "
        "settings on), but hsprefs.yaml says gdpr: false: set gdpr: true under portal in "
        "hsprefs.yaml and give a legal basis (legal_basis and legal_basis_explanation, for "
        "instance in the files' defaults), then run apply again"
    )
    assert result.out.endswith(f"Journal: j.jsonl (3 lines written)\nWhat is left: {hint}.\n")
    assert "  Failed: 1\n    alice@example.com product (102) -> UNSUBSCRIBED: " in result.out
    assert result.err == (
        f"hsprefs: error: 1 of 3 changes did not reach their desired state: 1 failed ({hint})\n"
    )
    assert "make a new plan" not in result.out + result.err
