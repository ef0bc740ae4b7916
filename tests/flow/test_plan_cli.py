"""`hsprefs plan` through the CLI against the emulator seeded from examples/."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest

from reconciler.emulator import DEFAULT_TOKEN
from reconciler.planfile import load_plan
from reconciler.resources import load_schema
from tests.flow.conftest import ROOT, Hub
from tests.golden import golden_checker

GOLDEN = Path(__file__).parent / "golden"
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
EMAILS = ("alice@", "bob@", "carol@", "dave@", "erin@", "frank@", "grace@", "heidi@", "ivan@")


check_golden = golden_checker(GOLDEN)


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
        "guard": None,
    }
    assert document["target"] == {
        "portal_id": 12345678,
        "api_url": "http://127.0.0.1",
        "api_version": "2026-03",
        "api_mode": "batch",
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
OWN_EVIDENCE_AT = "subscribers/customers.yaml:25:38"
OWN_EVIDENCE = (
    "resubscribe: true needs its own legal_basis and legal_basis_explanation: write them in "
    "this entry, next to resubscribe (a value from defaults is not evidence of renewed consent)"
)
NEEDS_OWN_EVIDENCE = f"{OWN_EVIDENCE_AT}: error: {OWN_EVIDENCE}"


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
    """plan stops on the same finding before reading HubSpot, and writes no plan file;
    the line has one 'error:' prefix, not the finding's own as well."""
    _frank_resubscribes_on_defaults(project)
    hub.reset_counts()
    result = hub.hsprefs("plan", "-o", "plan.json")
    assert (result.code, result.out, result.err) == (
        1,
        "",
        f"hsprefs: error: {OWN_EVIDENCE_AT}: {OWN_EVIDENCE}\n",
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
    """A server that does not answer is one clear error line after bounded retries,
    each retry told in one line before it."""
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
            "hsprefs: retrying GET account-info/v3/details after a failed connection "
            "(attempt 2 of 2)\n"
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
        "hsprefs: error: refusing plain http:// to 'api.example.com' in --api-url (use "
        "https://, or http:// only to a loopback address such as 127.0.0.1)\n"
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


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def test_plan_names_how_many_more_findings_there_are(hub: Hub, project: Path) -> None:
    """With several findings, plan's one line gives the first and says how to see all."""
    _replace(project / "hsprefs.yaml", 'newsletter: {id: "101"}', "newsletter: {id: 101.0}")
    _replace(project / "hsprefs.yaml", "min_managed: 10", "min_managed: 10.0")
    hub.reset_counts()
    for command in ("plan", "apply"):
        result = (
            hub.hsprefs(command, "--auto-approve") if command == "apply" else hub.hsprefs(command)
        )
        assert (result.code, result.out, result.err) == (
            1,
            "",
            "hsprefs: error: hsprefs.yaml:10:20: 'id' must be a whole number: write 101, not "
            "101.0 (and 1 more; run 'hsprefs validate' to see all)\n",
        )
    assert {k: v for k, v in hub.counts().items() if v} == {}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "id: 12345678 ",
            "id: 12345678.0 ",
            "hsprefs.yaml:6:7: 'id' must be a whole number: write 12345678, not 12345678.0",
        ),
        (
            "max_unsubscribe_all: 5",
            "max_unsubscribe_all: 0.0",
            "hsprefs.yaml:18:24: 'max_unsubscribe_all' must be a whole number: write 0, not 0.0",
        ),
        (
            'outdoor-news: {id: "201", business_unit: 5}',
            'outdoor-news: {id: "201", business_unit: 5.0}',
            "hsprefs.yaml:13:44: 'business_unit' must be a whole number: write 5, not 5.0",
        ),
    ],
)
def test_plan_refuses_a_whole_number_written_as_a_float(
    hub: Hub, project: Path, old: str, new: str, message: str
) -> None:
    """A project number written as N.0 stops plan at its spot; nothing is silently dropped."""
    _replace(project / "hsprefs.yaml", old, new)
    hub.reset_counts()
    result = hub.hsprefs("plan")
    assert (result.code, result.out, result.err) == (1, "", f"hsprefs: error: {message}\n")
    assert {k: v for k, v in hub.counts().items() if v} == {}


def test_plan_refuses_a_subscriber_file_business_unit_written_as_a_float(
    hub: Hub, project: Path
) -> None:
    """business_unit: 5.0 in a subscriber file is not read as brand 0."""
    _replace(project / "subscribers" / "outdoor.yaml", "business_unit: 5", "business_unit: 5.0")
    result = hub.hsprefs("plan")
    assert (result.code, result.out, result.err) == (
        1,
        "",
        "hsprefs: error: subscribers/outdoor.yaml:4:16: 'business_unit' must be a whole number: "
        "write 5, not 5.0\n",
    )


def test_plan_with_a_file_name_that_is_not_utf8(hub: Hub, project: Path) -> None:
    """An included file whose name has non-UTF-8 bytes is one error line, not a crash."""
    raw = os.path.join(os.fsencode(project / "subscribers"), b"c\xe9.yaml")
    with open(raw, "wb") as handle:
        handle.write(b"version: 1\n")
    for command in ("plan", "validate"):
        result = hub.hsprefs(command)
        assert result.code == 1
        line = (
            "hsprefs.yaml:20:5: include 'subscribers/*.yaml': subscribers/c\\xe9.yaml: its name "
            "is not valid UTF-8; rename it"
        )
        if command == "plan":
            assert (result.out, result.err) == ("", f"hsprefs: error: {line}\n")
        else:
            assert (result.out, result.err) == (
                line.replace(": include", ": error: include", 1) + "\n1 error in 1 file\n",
                "",
            )


def test_plan_with_an_unreadable_subfolder(
    hub: Hub, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder the include cannot list stops plan instead of leaving its people out."""
    from reconciler.config import _files

    _replace(project / "hsprefs.yaml", "- subscribers/*.yaml", "- subscribers/**/*.yaml")
    (project / "subscribers" / "secret").mkdir()
    real = os.scandir

    def scandir(path: object) -> object:
        if os.path.basename(os.fspath(path)) == "secret":  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied")
        return real(path)  # type: ignore[call-overload]

    monkeypatch.setattr(_files.os, "scandir", scandir)
    result = hub.hsprefs("plan")
    assert (result.code, result.out, result.err) == (
        1,
        "",
        "hsprefs: error: hsprefs.yaml:20:5: include 'subscribers/**/*.yaml': subscribers/secret: "
        "cannot list this folder: permission denied; give the user running hsprefs read access "
        "to it\n",
    )


def test_plan_of_a_missing_path(hub: Hub, project: Path) -> None:
    """A PATH that does not exist says what to give instead."""
    result = hub.hsprefs("plan", "nonexist")
    assert (result.code, result.out, result.err) == (
        1,
        "",
        "hsprefs: error: nonexist:1:1: no such file or folder; check the path: give the project "
        "folder, its hsprefs.yaml, or a subscriber file it includes\n",
    )


def test_junk_api_version_in_the_environment(hub: Hub, project: Path) -> None:
    """HSPREFS_API_VERSION=junk is one line naming the variable and what to set it to."""
    os.environ["HSPREFS_API_VERSION"] = "junk"
    try:
        result = hub.hsprefs("plan")
    finally:
        del os.environ["HSPREFS_API_VERSION"]
    assert (result.code, result.out, result.err) == (
        1,
        "",
        "hsprefs: error: unsupported API version 'junk' in HSPREFS_API_VERSION (set "
        "HSPREFS_API_VERSION to one of 2026-03, v4, 2026-09, or unset it)\n",
    )


def test_a_leading_space_in_the_api_url_variable_is_dropped(hub: Hub, project: Path) -> None:
    """HSPREFS_API_URL=' http://...' reaches the emulator instead of failing in httpx."""
    os.environ["HSPREFS_API_URL"] = " " + os.environ["HSPREFS_API_URL"]
    result = hub.hsprefs("plan", "--detailed-exitcode")
    assert (result.code, result.err) == (2, "")
