"""`hsprefs plan` through the CLI against the emulator seeded from examples/."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema

from reconciler.emulator import DEFAULT_TOKEN
from reconciler.planfile import load_plan
from reconciler.resources import load_schema
from tests.flow.conftest import ROOT, Hub

GOLDEN = Path(__file__).parent / "golden"
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
EMAILS = ("alice@", "bob@", "carol@", "dave@", "erin@", "frank@", "grace@", "heidi@", "ivan@")


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_plan_text_shows_every_change_kind(hub: Hub, project: Path) -> None:
    """The examples plan shows subscribe, unsubscribe, not-specified, unsubscribe-all, blocked."""
    result = hub.hsprefs("plan")
    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines()[0] == (
        "Plan: 4 to subscribe, 2 to unsubscribe, 1 to not-specified, 1 unsubscribe-all, "
        "1 blocked, 6 unchanged"
    )
    check_golden("examples-plan.txt", result.out)


def test_plan_markdown(hub: Hub, project: Path) -> None:
    """--format markdown renders the same plan for a pull-request comment."""
    result = hub.hsprefs("plan", "--format", "markdown")
    assert result.code == 0
    check_golden("examples-plan.md", result.out)


def test_plan_json_validates_against_schema(hub: Hub, project: Path) -> None:
    """--format json prints the versioned plan document."""
    result = hub.hsprefs("plan", "--format", "json")
    assert result.code == 0
    document = json.loads(result.out)
    jsonschema.Draft202012Validator(load_schema("plan.schema.json")).validate(document)
    assert document["summary"] == {
        "subscribe": 4,
        "unsubscribe": 2,
        "not_specified": 1,
        "unsubscribe_all": 1,
        "blocked": 1,
        "unchanged": 6,
    }
    assert document["target"] == {
        "portal_id": 12345678,
        "api_url": "http://127.0.0.1",
        "api_version": "2026-03",
    }


def test_plan_makes_the_minimal_reads(hub: Hub, project: Path) -> None:
    """One account-info, one /definitions (a name alias), one status + one wide read per brand."""
    hub.reset_counts()
    assert hub.hsprefs("plan").code == 0
    counts = {k: v for k, v in hub.counts().items() if v}
    assert counts == {
        "account_info": 1,
        "definitions": 1,
        "statuses.batch.read": 2,
        "statuses.batch.unsubscribe_all_read": 2,
    }


def test_saved_plan_round_trips(hub: Hub, project: Path) -> None:
    """-o saves the plan; it loads back to the plan that was printed."""
    result = hub.hsprefs("plan", "-o", "plan.json", "--format", "json")
    assert result.code == 0
    assert result.err == "Saved the plan to plan.json (it holds real email addresses).\n"
    saved = load_plan(project / "plan.json")
    printed = json.loads(result.out)
    assert saved.checksum == printed["checksum"]
    assert len(saved.changes) == 8


def test_redact_masks_every_address(hub: Hub, project: Path) -> None:
    """--redact leaves no address in any format; the saved plan keeps real ones."""
    for fmt in ("text", "markdown", "json"):
        result = hub.hsprefs("plan", "--redact", "--format", fmt, "-o", "plan.json")
        assert result.code == 0
        for email in EMAILS:
            assert email not in result.out, (fmt, email)
        assert "subscriber-" in result.out
    assert "alice@example.com" in (project / "plan.json").read_text()


def test_detailed_exitcode_two_with_changes(hub: Hub, project: Path) -> None:
    """--detailed-exitcode exits 2 when there are changes."""
    assert hub.hsprefs("plan", "--detailed-exitcode").code == 2


def test_detailed_exitcode_zero_when_only_blocked_remain(hub: Hub, project: Path) -> None:
    """After apply only the blocked pair differs: --detailed-exitcode exits 0."""
    assert hub.hsprefs("apply", "--auto-approve").code == 0
    result = hub.hsprefs("plan", "--detailed-exitcode")
    assert result.code == 0
    assert result.out.splitlines()[0] == (
        "Plan: 0 to subscribe, 0 to unsubscribe, 0 to not-specified, 0 unsubscribe-all, "
        "1 blocked, 14 unchanged"
    )


def test_wrong_portal_stops_before_reading_statuses(hub: Hub, project: Path) -> None:
    """A token of another portal than portal.id is refused before any status read."""
    text = (project / "hsprefs.yaml").read_text().replace("id: 12345678", "id: 87654321")
    (project / "hsprefs.yaml").write_text(text)
    hub.reset_counts()
    result = hub.hsprefs("plan")
    assert result.code == 1
    assert result.out == ""
    assert result.err == (
        "hsprefs: error: the token belongs to portal 12345678, but the config manages portal "
        "87654321 (use the token of the right portal, or fix portal.id in hsprefs.yaml)\n"
    )
    assert {k: v for k, v in hub.counts().items() if v} == {"account_info": 1}


FRANK_BLOCKED = (
    "    newsletter: subscribed         # frank opted out himself: blocked, needs evidence\n"
)
FRANK_RESUBSCRIBES = "    newsletter: {status: subscribed, resubscribe: true}\n"
NEEDS_OWN_EVIDENCE = (
    "subscribers/customers.yaml:25:38: error: resubscribe: true needs its own legal_basis "
    "and legal_basis_explanation: write them in this entry, next to resubscribe (a value "
    "from defaults is not evidence of renewed consent)"
)


def _frank_resubscribes_on_defaults(project: Path) -> None:
    customers = project / "subscribers" / "customers.yaml"
    text = customers.read_text()
    assert text.count(FRANK_BLOCKED) == 1
    customers.write_text(text.replace(FRANK_BLOCKED, FRANK_RESUBSCRIBES))


def test_validate_refuses_resubscribe_on_the_files_defaults(hub: Hub, project: Path) -> None:
    """resubscribe: true leaning on the file's defaults is a validation error at its spot."""
    _frank_resubscribes_on_defaults(project)
    result = hub.hsprefs("validate")
    assert (result.code, result.out, result.err) == (
        1,
        NEEDS_OWN_EVIDENCE + "\n1 error in 1 file\n",
        "",
    )


def test_plan_refuses_resubscribe_on_the_files_defaults(hub: Hub, project: Path) -> None:
    """plan stops on the same finding before reading HubSpot, and writes no plan file."""
    _frank_resubscribes_on_defaults(project)
    hub.reset_counts()
    result = hub.hsprefs("plan", "-o", "plan.json")
    assert (result.code, result.out, result.err) == (
        1,
        "",
        f"hsprefs: error: {NEEDS_OWN_EVIDENCE}\n",
    )
    assert not (project / "plan.json").exists()
    assert {k: v for k, v in hub.counts().items() if v} == {}


def test_bad_token(hub: Hub, project: Path, monkeypatch: object) -> None:
    """A token HubSpot rejects is one error line that does not show the token."""
    os.environ["HUBSPOT_ACCESS_TOKEN"] = "pat-na1-not-a-real-token-1234"
    result = hub.hsprefs("plan")
    assert (result.code, result.out) == (1, "")
    # Only the correlationId, a fresh UUID per answer, is not known in advance.
    assert re.fullmatch(
        re.escape(
            "hsprefs: error: HubSpot rejected the access token for GET "
            "/account-info/v3/details: HubSpot answered 401 Unauthorized: "
            "INVALID_AUTHENTICATION: The access token provided is invalid, expired or "
            "revoked. (check HUBSPOT_ACCESS_TOKEN or --token-file (the private app's token)) "
            "[correlationId "
        )
        + UUID
        + re.escape("]\n"),
        result.err,
    ), result.err
    assert "pat-na1-not-a-real-token-1234" not in result.out + result.err


def test_missing_token(hub: Hub, project: Path) -> None:
    """Without a token, plan says how to give one."""
    del os.environ["HUBSPOT_ACCESS_TOKEN"]
    result = hub.hsprefs("plan")
    assert result.code == 1
    assert result.err == (
        "hsprefs: error: no HubSpot token (set HUBSPOT_ACCESS_TOKEN or pass --token-file FILE)\n"
    )


def test_unreachable_server(project: Path, monkeypatch: object, capsys: object) -> None:
    """A server that does not answer is one clear error line after bounded retries."""
    from reconciler.cli import run
    from reconciler.client import RetryPolicy

    os.environ["HUBSPOT_ACCESS_TOKEN"] = DEFAULT_TOKEN
    code = run(
        ["plan", "--api-url", "http://127.0.0.1:9"],
        retry=RetryPolicy.instant(max_attempts=2),
    )
    captured = capsys.readouterr()  # type: ignore[attr-defined]
    assert (code, captured.out) == (1, "")
    # The words after "ConnectError: " come from the OS and the HTTP library
    # ("All connection attempts failed", "[Errno 111] Connection refused", ...).
    assert re.fullmatch(
        re.escape(
            "hsprefs: error: GET /account-info/v3/details failed after 2 attempts: no answer "
            "from HubSpot (ConnectError: "
        )
        + r"[^\n]+"
        + re.escape(") (check the network and --api-url; HubSpot may be unreachable)\n"),
        captured.err,
    ), captured.err


def test_plain_http_to_a_remote_host_is_refused(hub: Hub, project: Path) -> None:
    """Plain http:// is allowed only to loopback addresses."""
    result = hub.hsprefs("plan", "--api-url", "http://api.example.com")
    assert result.code == 1
    assert result.err == (
        "hsprefs: error: refusing plain http:// to 'api.example.com' (use https://, or "
        "http:// only to a loopback address such as 127.0.0.1)\n"
    )


def test_token_never_in_output_or_plan_file(hub: Hub, project: Path) -> None:
    """The token appears in no output format and not in the saved plan."""
    outputs = []
    for fmt in ("text", "markdown", "json"):
        result = hub.hsprefs("plan", "--format", fmt, "-o", "plan.json", "--debug")
        outputs.append(result.out + result.err)
    outputs.append((project / "plan.json").read_text())
    assert all(DEFAULT_TOKEN not in text for text in outputs)


def test_detailed_exitcode_one_on_error(hub: Hub, project: Path) -> None:
    """--detailed-exitcode still exits 1 on an error, never 2."""
    os.environ["HUBSPOT_ACCESS_TOKEN"] = "wrong-token"
    result = hub.hsprefs("plan", "--detailed-exitcode")
    assert result.code == 1
    assert result.out == ""


def _fenced_after(text: str, heading: str, opening: str) -> str:
    """The body of the first fenced block that opens with ``opening`` after ``heading``."""
    rest = text[text.index(heading) :]
    start = rest.index(opening + "\n") + len(opening) + 1
    fence = opening.rstrip("abcdefghijklmnopqrstuvwxyz")
    return rest[start : rest.index("\n" + fence + "\n", start) + 1]


def test_docs_show_a_real_plan_of_the_examples(hub: Hub, project: Path) -> None:
    """docs/plan-and-apply.md shows exactly what plan prints for examples/, text and Markdown."""
    doc = (ROOT / "docs" / "plan-and-apply.md").read_text(encoding="utf-8")
    # The docs ran against `hsprefs emulator serve` on its default port; the target (and
    # so the checksum) must say the same.
    target = ("--api-url", "http://127.0.0.1:8765")
    text = hub.hsprefs("plan", *target)
    markdown = hub.hsprefs("plan", *target, "--format", "markdown")
    assert (text.code, markdown.code) == (0, 0)
    assert _fenced_after(doc, "## The plan\n", "```") == text.out
    assert _fenced_after(doc, "### The same plan as Markdown", "````markdown") == markdown.out
