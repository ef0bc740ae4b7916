"""The journal's JSON Schema accepts the lines of every hsprefs version (the file is
append-only, so one journal can span an upgrade)."""

from __future__ import annotations

import jsonschema

from reconciler.resources import load_schema

OLD_LINE = {
    "time": "2026-11-01T10:00:00.000Z",
    "operation": "write",
    "subscriber": "alice@example.com",
    "brand": 0,
    "subscription_id": "101",
    "subscription": "newsletter",
    "before": "NOT_SPECIFIED",
    "after": "SUBSCRIBED",
    "legal_basis": "CONSENT_WITH_NOTICE",
    "legal_basis_explanation": "Signed up on the website",
    "outcome": "confirmed",
    "result": "REQUESTED_CHANGE_OCCURRED",
    "error": None,
    "correlation_id": None,
    "plan_checksum": "sha256:abc",
    "portal_id": 12345678,
    "config_commit": None,
}


def _errors(line: dict[str, object]) -> list[str]:
    validator = jsonschema.Draft202012Validator(load_schema("journal.schema.json"))
    return [error.message for error in validator.iter_errors(line)]


def test_a_line_written_before_verify_lines_existed_still_matches() -> None:
    """A send line without verified/observed/verification_error is valid."""
    assert _errors(OLD_LINE) == []


def test_a_current_send_line_matches() -> None:
    """A send line with the verification fields set to null is valid."""
    assert (
        _errors({**OLD_LINE, "verified": None, "observed": None, "verification_error": None}) == []
    )


def test_an_unknown_field_is_still_refused() -> None:
    """The schema stays closed: a misspelt field is an error."""
    assert _errors({**OLD_LINE, "verifed": "applied"}) == [
        "Additional properties are not allowed ('verifed' was unexpected)"
    ]


def test_a_dirty_config_commit_matches() -> None:
    """config_commit may carry the +dirty mark."""
    assert _errors({**OLD_LINE, "config_commit": "0123456789abcdef" * 2 + "01234567+dirty"}) == []
