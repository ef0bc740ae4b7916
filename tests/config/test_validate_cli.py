"""`hsprefs validate`: output formats, exit codes, --online against the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema
import pytest

from reconciler import __version__
from reconciler.cli import run
from reconciler.client import RetryPolicy
from reconciler.emulator import DEFAULT_TOKEN, EmulatorSettings, create_app
from reconciler.resources import load_schema
from tests.config.conftest import ROOT, write

SEED = ROOT / "examples" / "emulator-seed.yaml"
BROKEN = {
    "subscribers/a.yaml": (
        "version: 1\nsubscribers:\n  x@example.com:\n    newsleter: subscribed\n"
        "    events: {status: nope}\n"
    ),
    "subscribers/b.yaml": "version: 1\nsubscribers:\n  y@example.com: {newsletter: subscribed}\n",
}


def hsprefs(capsys: pytest.CaptureFixture[str], *args: str, **kw: object) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(list(args), **kw)  # type: ignore[arg-type]
    out = capsys.readouterr()
    return code, out.out, out.err


def test_valid_config_text(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A valid config prints the ok summary and exits 0."""
    write(project, {"subscribers/b.yaml": BROKEN["subscribers/b.yaml"]})
    assert hsprefs(capsys, "validate") == (
        0,
        "ok: 2 files, 1 subscriber, 1 managed status\n",
        "",
    )


def test_invalid_config_text(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An invalid config prints file:line:col lines and a summary, and exits 1."""
    write(project, BROKEN)
    assert hsprefs(capsys, "validate") == (
        1,
        "subscribers/a.yaml:4:5: error: unknown subscription alias 'newsleter' (did you mean "
        "'newsletter'?); declare it under 'subscriptions' in hsprefs.yaml\n"
        "subscribers/a.yaml:5:22: error: 'status' must be subscribed, unsubscribed or "
        "not_specified, not text 'nope'\n"
        "2 errors in 1 file\n",
        "",
    )


def test_quiet_prints_nothing_when_valid(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--quiet leaves out the ok line; findings are still printed when there are some."""
    write(project, {"subscribers/b.yaml": BROKEN["subscribers/b.yaml"]})
    assert hsprefs(capsys, "validate", "--quiet") == (0, "", "")


def test_json_document(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format json prints the versioned document, valid against its schema."""
    write(project, BROKEN)
    code, out, err = hsprefs(capsys, "validate", "--format", "json")
    document = json.loads(out)
    jsonschema.validate(document, load_schema("validate.schema.json"))
    assert (code, err) == (1, "")
    assert document == {
        "format": "hsprefs-validate",
        "version": 1,
        "generator": f"hsprefs {__version__}",
        "valid": False,
        "summary": {
            "errors": 2,
            "warnings": 0,
            "files": 1,
            "subscribers": 0,
            "statuses": 0,
            "opt_outs": 0,
        },
        "files": [],
        "findings": [
            {
                "file": "subscribers/a.yaml",
                "line": 4,
                "column": 5,
                "severity": "error",
                "code": "unknown-alias",
                "message": "unknown subscription alias 'newsleter' (did you mean 'newsletter'?); "
                "declare it under 'subscriptions' in hsprefs.yaml",
            },
            {
                "file": "subscribers/a.yaml",
                "line": 5,
                "column": 22,
                "severity": "error",
                "code": "schema",
                "message": "'status' must be subscribed, unsubscribed or not_specified, "
                "not text 'nope'",
            },
        ],
    }


def test_json_document_when_valid(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A valid config's JSON document lists the files read and the counts."""
    write(project, {"subscribers/b.yaml": BROKEN["subscribers/b.yaml"]})
    code, out, _ = hsprefs(capsys, "validate", "--format", "json")
    document = json.loads(out)
    jsonschema.validate(document, load_schema("validate.schema.json"))
    assert code == 0
    assert document["valid"] is True
    assert document["files"] == ["hsprefs.yaml", "subscribers/b.yaml"]
    assert document["summary"] == {
        "errors": 0,
        "warnings": 0,
        "files": 2,
        "subscribers": 1,
        "statuses": 1,
        "opt_outs": 0,
    }


def test_github_annotations(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format github prints one ::error annotation per finding, escaped, then the summary."""
    write(
        project,
        {"sub,scribers/a:b.yaml": "version: 1\nsubscribers:\n  x@example.com: {nope: on}\n"},
    )
    (project / "hsprefs.yaml").write_text(
        "version: 1\nsubscriptions: {newsletter: {id: '101'}}\ninclude: ['sub,scribers/*.yaml']\n"
    )
    assert hsprefs(capsys, "validate", "--format", "github") == (
        1,
        "::error file=sub%2Cscribers/a%3Ab.yaml,line=3,col=19::unknown subscription alias "
        "'nope'; declare it under 'subscriptions' in hsprefs.yaml\n"
        "::error file=sub%2Cscribers/a%3Ab.yaml,line=3,col=25::'nope' must be subscribed, "
        "unsubscribed or not_specified, or a mapping, not 'on', which YAML reads as true; "
        "write subscribed or unsubscribed\n"
        "2 errors in 1 file\n",
        "",
    )


def test_paths_are_relative_to_the_current_folder(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from a parent folder, the files are shown relative to it."""
    write(project, BROKEN)
    monkeypatch.chdir(project.parent)
    code, out, _ = hsprefs(capsys, "validate", project.name)
    assert code == 1
    assert out.splitlines()[0].startswith(f"{project.name}/subscribers/a.yaml:4:5: error: ")


def test_unknown_format_is_a_usage_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown --format exits 1 with click's message on stderr."""
    code, out, err = hsprefs(capsys, "validate", "--format", "xml")
    assert (code, out) == (1, "")
    assert err.startswith("hsprefs: error: Invalid value for '--format': 'xml' is not one of")


def test_hostile_file_gives_one_line_and_no_traceback(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An alias bomb is one finding, exit 1, nothing on stderr."""
    bomb = "version: 1\na: &a [lol, lol]\nb: [*a, *a]\n"
    write(project, {"subscribers/bomb.yaml": bomb})
    assert hsprefs(capsys, "validate") == (
        1,
        "subscribers/bomb.yaml:2:4: error: YAML anchors and aliases (&a) are not supported; "
        "write the value out, or share settings with defaults and groups\n"
        "1 error in 1 file\n",
        "",
    )


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    """An in-process emulator seeded with the examples' portal; kwargs for run()."""
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("HSPREFS_API_URL", "http://127.0.0.1")
    monkeypatch.delenv("HSPREFS_API_VERSION", raising=False)
    app = create_app(EmulatorSettings(seed=str(SEED), rate_limit=0))
    try:
        yield {"transport": httpx.ASGITransport(app=app), "retry": RetryPolicy.instant()}
    finally:
        app.state.emulator.close()


def test_online_examples_bind(
    emulator: dict[str, object], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`validate --online examples` reads /definitions and finds every alias."""
    monkeypatch.chdir(ROOT)
    assert hsprefs(capsys, "validate", "--online", "examples", **emulator) == (
        0,
        "ok: 4 files, 10 subscribers, 12 managed statuses\n",
        "",
    )


def test_online_reports_aliases_that_do_not_bind(
    project: Path, emulator: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    """--online turns an alias without definition into a finding and exit 1."""
    (project / "hsprefs.yaml").write_text(
        "version: 1\nsubscriptions:\n  newsletter: {id: '101'}\n  gone: {id: '999'}\n"
        "  catalogue: {name: Print Catalogue}\n"
    )
    assert hsprefs(capsys, "validate", "--online", **emulator) == (
        1,
        "hsprefs.yaml:4:3: error: the alias 'gone' names subscription id 999, which is not a "
        "subscription definition of this portal; check it with 'hsprefs definitions'\n"
        "hsprefs.yaml:5:3: warning: definition 104 ('Print Catalogue') of the alias 'catalogue' "
        "is not active in HubSpot\n"
        "1 error, 1 warning in 1 file\n",
        "",
    )


def test_online_warnings_alone_pass(
    project: Path, emulator: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    """A warning (an inactive definition) does not fail validation."""
    (project / "hsprefs.yaml").write_text(
        "version: 1\nsubscriptions:\n  catalogue: {name: Print Catalogue}\n"
    )
    assert hsprefs(capsys, "validate", "--online", **emulator) == (
        0,
        "hsprefs.yaml:3:3: warning: definition 104 ('Print Catalogue') of the alias 'catalogue' "
        "is not active in HubSpot\n"
        "ok: 1 file, 0 subscribers, 0 managed statuses, 1 warning\n",
        "",
    )


def test_online_without_token(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--online without a token is one error line on stderr and exit 1."""
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    write(project, {"subscribers/b.yaml": BROKEN["subscribers/b.yaml"]})
    assert hsprefs(capsys, "validate", "--online") == (
        1,
        "",
        "hsprefs: error: no HubSpot token (set HUBSPOT_ACCESS_TOKEN or pass --token-file FILE)\n",
    )


def test_online_skipped_when_offline_checks_fail(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With offline errors, --online reads nothing (no token needed) and reports them."""
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    write(project, BROKEN)
    code, out, err = hsprefs(capsys, "validate", "--online")
    assert (code, err) == (1, "")
    assert out.endswith("2 errors in 1 file\n")


def test_github_escapes_message_and_properties() -> None:
    """Annotations escape %, CR and LF in messages, and also : and , in properties."""
    from reconciler.errors import Finding
    from reconciler.render.validate import render_validate as render

    finding = Finding("a,b:c.yaml", 2, 3, "100% wrong\r\nreally", severity="warning")
    assert render(None, [finding], "github") == (
        "::warning file=a%2Cb%3Ac.yaml,line=2,col=3::100%25 wrong%0D%0Areally\n"
        "0 errors, 1 warning in 1 file\n"
    )


def test_validate_examples_passes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hsprefs validate examples/` exits 0 with the ok summary."""
    monkeypatch.chdir(ROOT)
    assert hsprefs(capsys, "validate", "examples/") == (
        0,
        "ok: 4 files, 10 subscribers, 12 managed statuses\n",
        "",
    )


def test_online_never_prints_the_token(
    project: Path,
    emulator: dict[str, object],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rejected token gives an error (with --debug, a traceback) that never shows it."""
    secret = "pat-na1-11111111-2222-3333-4444-555555555555"
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", secret)
    write(project, {"subscribers/b.yaml": BROKEN["subscribers/b.yaml"]})
    code, out, err = hsprefs(capsys, "validate", "--online", "--debug", **emulator)
    assert (code, out) == (1, "")
    assert err.splitlines()[-1].startswith("hsprefs: error: ")
    assert secret not in err
