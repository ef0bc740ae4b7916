"""Text from outside never drives the terminal: control characters are shown escaped.

A HubSpot ``source`` of ``ESC ] 0 ; pwned BEL`` + line break + ``FAKE LINE`` would, printed
raw, retitle the terminal and forge an output line. Plan text, audit text and the CLI's
error line show it as ``\\x1b]0;pwned\\x07\\nFAKE LINE`` instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.cli import run
from reconciler.emulator import EmulatorSettings, create_app
from reconciler.render.safe import terminal_safe
from tests.cli_hub import API_URL, Hub

HOSTILE = "\x1b]0;pwned\x07\nFAKE LINE"
SHOWN = "\\x1b]0;pwned\\x07\\nFAKE LINE"
TOKEN = "pat-na1-terminal-safety-secret"

SEED: dict[str, Any] = {
    "version": 1,
    "portal": {"id": 4343, "gdpr": False, "created_at": "2024-01-01T00:00:00Z"},
    "brands": [{"id": 0, "name": "Account"}],
    "definitions": [{"id": "11", "business_unit": 0, "name": "Newsletter"}],
    "tokens": [{"token": TOKEN, "name": "tests", "scopes": "all"}],
    "statuses": [
        {
            "email": "cid@example.com",
            "subscription": "11",
            "status": "UNSUBSCRIBED",
            "timestamp": "2026-02-02T08:00:00Z",
            "source": HOSTILE,
        }
    ],
}

PROJECT = """\
version: 1
subscriptions:
  newsletter: {id: "11"}
include:
  - subscribers.yaml
"""

# cid opted out of the newsletter; the config wants her subscribed without resubscribe:
# a blocked pair whose reason, in plan and audit, quotes HubSpot's source.
SUBSCRIBERS = """\
version: 1
subscribers:
  cid@example.com:
    newsletter: subscribed
"""


@pytest.fixture
def hub(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Hub]:
    """The emulator with the hostile source, and a project wanting cid subscribed."""
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("HSPREFS_API_URL", API_URL)
    for name in ("HSPREFS_API_VERSION", "CI", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "hsprefs.yaml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "subscribers.yaml").write_text(SUBSCRIBERS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    app = create_app(EmulatorSettings(seed=SEED, rate_limit=0))
    try:
        yield Hub(app, capsys, token=TOKEN)
    finally:
        app.state.emulator.close()


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text, ünïcödé and emoji 🙂", "plain text, ünïcödé and emoji 🙂"),
        ("C:\\path\\file.yaml", "C:\\path\\file.yaml"),
        ("a\x1b[2Jb", "a\\x1b[2Jb"),
        ("bell\x07 nul\x00 del\x7f", "bell\\x07 nul\\x00 del\\x7f"),
        ("tab\there\r\nnext", "tab\\there\\r\\nnext"),
        ("c1 csi\x9b31m nel\x85", "c1 csi\\x9b31m nel\\x85"),
        ("line\u2028para\u2029end", "line\\u2028para\\u2029end"),
        ("bidi \u202eevil\u202c \u2066iso\u2069", "bidi \\u202eevil\\u202c \\u2066iso\\u2069"),
    ],
)
def test_terminal_safe_escapes_controls_and_keeps_the_rest(raw: str, shown: str) -> None:
    """Controls, line breaks and bidi overrides are escaped; all other text is kept."""
    assert terminal_safe(raw) == shown


def test_plan_text_shows_a_hostile_source_escaped(hub: Hub) -> None:
    """`hsprefs plan` prints the blocked pair's HubSpot source escaped, on its own line."""
    result = hub.hsprefs("plan")
    assert result.code == 0, result.err
    blocked = [line for line in result.out.splitlines() if line.startswith("  x ")]
    assert blocked == [
        "  x cid@example.com newsletter (11): UNSUBSCRIBED -> SUBSCRIBED: unsubscribed from "
        f"newsletter since 2026-02-02T08:00:00Z (source: {SHOWN}); set resubscribe: true "
        "with legal_basis and legal_basis_explanation to re-subscribe"
    ]
    assert "\x1b" not in result.out
    assert "\x07" not in result.out
    assert not any(line.startswith("FAKE LINE") for line in result.out.splitlines())


def test_audit_text_shows_a_hostile_source_escaped(hub: Hub) -> None:
    """`hsprefs audit` prints the live source escaped, inside the pair's one line."""
    result = hub.hsprefs("audit")
    assert result.code == 2, result.err
    assert (
        "  brand 0 cid@example.com newsletter (11): wanted SUBSCRIBED, live UNSUBSCRIBED "
        f"since 2026-02-02T08:00:00Z (source: {SHOWN})\n"
    ) in result.out
    assert "\x1b" not in result.out
    assert "\x07" not in result.out
    assert not any(line.startswith("FAKE LINE") for line in result.out.splitlines())


def test_plan_text_in_colour_escapes_the_source_but_keeps_its_colour(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With colour on, the only escape codes in the blocked line are hsprefs' own."""
    import click.utils

    from reconciler.cli import plan_cmd

    monkeypatch.setattr(plan_cmd, "use_color", lambda _stream: True)
    # click.echo drops colour codes when stdout is not a terminal; this one is "a terminal".
    monkeypatch.setattr(click.utils, "should_strip_ansi", lambda *_args: False)
    result = hub.hsprefs("plan")
    line = next(line for line in result.out.splitlines() if "  x " in line)
    assert line == (
        "\x1b[35m  x cid@example.com newsletter (11): UNSUBSCRIBED -> SUBSCRIBED: unsubscribed "
        f"from newsletter since 2026-02-02T08:00:00Z (source: {SHOWN}); set resubscribe: true "
        "with legal_basis and legal_basis_explanation to re-subscribe\x1b[0m"
    )


def test_an_error_message_from_hubspot_is_shown_escaped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """HubSpot's error message reaches the error line escaped, still one line."""

    def refuse(_request: httpx.Request) -> httpx.Response:
        body = {"status": "error", "category": "VALIDATION_ERROR", "message": HOSTILE}
        return httpx.Response(400, content=json.dumps(body).encode())

    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
    monkeypatch.delenv("HSPREFS_API_URL", raising=False)
    code = run(
        ["definitions", "--api-url", "http://127.0.0.1:9"], transport=httpx.MockTransport(refuse)
    )
    assert code == 1
    assert capsys.readouterr().err == (
        "hsprefs: error: GET /communication-preferences/2026-03/definitions was refused: "
        "HubSpot answered 400 Bad Request: VALIDATION_ERROR: \\x1b]0;pwned\\x07 FAKE LINE\n"
    )


def test_a_usage_error_quoting_a_hostile_value_is_escaped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """click's usage error line quotes the bad value escaped."""
    assert run(["validate", "--format", "\x1b[2Jxml"]) == 1
    assert capsys.readouterr().err == (
        "hsprefs: error: Invalid value for '--format': '\\x1b[2Jxml' is not one of 'text', "
        "'json', 'github'. (see 'hsprefs validate --help')\n"
    )


def test_an_internal_error_line_is_escaped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Even a bug's message cannot retitle the terminal."""
    from reconciler.cli import definitions_cmd

    def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError(HOSTILE)

    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
    monkeypatch.setattr(definitions_cmd, "_read", broken)
    assert run(["definitions", "--api-url", "http://127.0.0.1:9"]) == 1
    assert capsys.readouterr().err == (
        "hsprefs: internal error: RuntimeError: \\x1b]0;pwned\\x07 FAKE LINE "
        "(re-run with --debug for a traceback and report it)\n"
    )
