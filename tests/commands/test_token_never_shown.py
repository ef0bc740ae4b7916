"""The access token never appears in any output of audit, export, definitions or doctor."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.commands.conftest import TOKEN, Hub

CUSTOMERS = """\
version: 1
defaults:
  legal_basis: CONSENT_WITH_NOTICE
  legal_basis_explanation: "Signed up at the shop"
subscribers:
  ann@example.com:
    newsletter: subscribed
  cid@example.com:
    newsletter: subscribed
"""

RUNS = [
    ("audit",),
    ("audit", "--format", "json"),
    ("audit", "--format", "markdown", "--redact"),
    ("audit", "--format", "html", "-o", "report.html"),
    ("export", "--subscribers", "list.txt"),
    ("export", "--subscribers", "list.txt", "-o", "export.yaml", "--business-unit", "7"),
    ("definitions",),
    ("definitions", "--format", "json"),
    ("doctor",),
    ("doctor", "--debug"),
    ("audit", "--debug", "--api-version", "v4"),
]


@pytest.fixture
def ready(project: Path) -> Path:
    (project / "subscribers" / "customers.yaml").write_text(CUSTOMERS, encoding="utf-8")
    (project / "list.txt").write_text("ann@example.com\ndot@example.com\n", encoding="utf-8")
    return project


def _everything(result_out: str, result_err: str, folder: Path) -> str:
    files = [p.read_text(encoding="utf-8") for p in folder.glob("*.*") if p.suffix != ".txt"]
    return "\n".join([result_out, result_err, *files])


@pytest.mark.parametrize("args", RUNS, ids=" ".join)
def test_token_absent_when_it_works(hub: Hub, ready: Path, args: tuple[str, ...]) -> None:
    """A successful run shows the token nowhere: stdout, stderr or files written."""
    result = hub.hsprefs(*args)
    assert result.code in (0, 2), result.err
    assert TOKEN not in _everything(result.out, result.err, ready)


@pytest.mark.parametrize("args", RUNS, ids=" ".join)
def test_token_absent_when_it_is_refused(
    hub: Hub, ready: Path, args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused token (echoed back by nobody) is not shown either, even with --debug."""
    wrong = "pat-na1-" + "9" * 24
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", wrong)
    result = hub.hsprefs(*args)
    assert result.code == 1
    text = _everything(result.out, result.err, ready)
    assert wrong not in text
    assert TOKEN not in text


def test_token_from_a_file_is_not_shown(
    hub: Hub, ready: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--token-file: the file's content appears in no output."""
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN")
    (ready / "token.secret").write_text(TOKEN + "\n", encoding="utf-8")
    result = hub.hsprefs("doctor", "--token-file", "token.secret")
    assert result.code == 0, result.out
    assert TOKEN not in result.out + result.err


@pytest.mark.parametrize("where", ["file", "environment"])
@pytest.mark.parametrize(
    "token", [f"{TOKEN}\nsecond-line", f"{TOKEN} second-word", f"{TOKEN}\u00e9"], ids=repr
)
def test_a_malformed_token_is_refused_unquoted(
    hub: Hub, ready: Path, monkeypatch: pytest.MonkeyPatch, where: str, token: str
) -> None:
    """A token that cannot travel in a header: one line naming its source, nothing sent."""
    if where == "file":
        monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN")
        (ready / "token.secret").write_text(token + "\n", encoding="utf-8")
        result = hub.hsprefs("definitions", "--token-file", "token.secret")
        source = "token file token.secret"
    else:
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", token)
        result = hub.hsprefs("definitions")
        source = "HUBSPOT_ACCESS_TOKEN"
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"hsprefs: error: the token in {source} is not a valid access token: it holds spaces, "
        "line breaks, control or non-ASCII characters (copy the private app's access token "
        "again; it is a single word)\n"
    )
    assert hub.app.state.emulator.recorder.requests_json()["total"] == 0
