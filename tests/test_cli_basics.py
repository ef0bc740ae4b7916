"""The command-line skeleton: version, help, exit codes and error lines."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from reconciler import __version__
from reconciler.cli import cli, run


def test_version_prints_name_and_version() -> None:
    """`hsprefs --version` prints the distribution name and version."""
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"hsprefs {__version__}\n"


def test_help_lists_every_contract_command() -> None:
    """`hsprefs --help` lists the commands of the design's CLI contract, in order."""
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = [
        line.split()[0]
        for line in result.output.split("Commands:\n", 1)[1].splitlines()
        if line.startswith("  ")
    ]
    assert listed == [
        "validate",
        "plan",
        "apply",
        "audit",
        "export",
        "definitions",
        "doctor",
        "emulator",
    ]


def test_usage_error_exits_one_not_two(capsys: pytest.CaptureFixture[str]) -> None:
    """click's usage errors map to exit code 1: 2 is reserved for changes and drift."""
    assert run(["validate", "--no-such-flag"]) == 1
    err = capsys.readouterr().err
    assert (
        err == "hsprefs: error: No such option '--no-such-flag'. (see 'hsprefs validate --help')\n"
    )


def test_unknown_command_exits_one(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown command is a usage error: exit 1 and one line on stderr."""
    assert run(["frobnicate"]) == 1
    assert capsys.readouterr().err == (
        "hsprefs: error: No such command 'frobnicate'. (see 'hsprefs --help')\n"
    )


def test_bad_choice_exits_one(capsys: pytest.CaptureFixture[str]) -> None:
    """A value outside an option's choices is a usage error: exit 1, one line naming them."""
    assert run(["validate", "--format", "xml"]) == 1
    assert capsys.readouterr().err == (
        "hsprefs: error: Invalid value for '--format': 'xml' is not one of 'text', 'json', "
        "'github'. (see 'hsprefs validate --help')\n"
    )


def test_python_dash_m_runs_the_cli() -> None:
    """`python -m reconciler --version` is the same program."""
    out = subprocess.run(
        [sys.executable, "-m", "reconciler", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == f"hsprefs {__version__}\n"


def test_emulator_without_its_extra_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without starlette/uvicorn, `emulator serve` names the extra to install."""
    import builtins

    real_import = builtins.__import__

    def no_starlette(name: str, *args: object, **kwargs: object) -> object:
        if name == "reconciler.emulator" or name.startswith("reconciler.emulator."):
            raise ModuleNotFoundError("No module named 'starlette'", name="starlette")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_starlette)
    assert run(["emulator", "serve", "--port", "0"]) == 1
    assert capsys.readouterr().err == (
        "hsprefs: error: the emulator needs starlette, which is not installed "
        "(install the extra: pip install 'hsprefs[emulator]')\n"
    )


def test_an_error_is_one_line_without_debug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An hsprefs error is exactly one line on stderr, no traceback, exit 1."""
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    assert run(["definitions"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "hsprefs: error: no HubSpot token (set HUBSPOT_ACCESS_TOKEN or pass --token-file FILE)\n"
    )


def test_debug_adds_the_traceback_before_the_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--debug prints the traceback, then the same one-line error last."""
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    assert run(["definitions", "--debug"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):\n")
    assert err.endswith(
        "reconciler.errors.UsageError: no HubSpot token\n"
        "hsprefs: error: no HubSpot token (set HUBSPOT_ACCESS_TOKEN or pass --token-file FILE)\n"
    )


def test_an_unexpected_exception_is_one_line_asking_for_a_report(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug (any other exception) is still one line and exit 1, never a bare traceback."""
    from reconciler.cli import definitions_cmd

    def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-test")
    monkeypatch.setattr(definitions_cmd, "_read", broken)
    assert run(["definitions", "--api-url", "http://127.0.0.1:9"]) == 1
    assert capsys.readouterr().err == (
        "hsprefs: internal error: RuntimeError: boom second line "
        "(re-run with --debug for a traceback and report it)\n"
    )


@pytest.mark.parametrize(("args", "usage"), [([], "hsprefs"), (["emulator"], "hsprefs emulator")])
def test_a_group_without_a_command_shows_its_help(
    capsys: pytest.CaptureFixture[str], args: list[str], usage: str
) -> None:
    """`hsprefs` alone shows the help on stderr, not wrapped in an error line; exit 1."""
    assert run(args) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"Usage: {usage} [OPTIONS] COMMAND [ARGS]...\n")
    assert "hsprefs: error" not in captured.err
    assert "(see '" not in captured.err


COMMON = {"--debug", "--quiet", "--no-progress"}
API = {"--api-url", "--api-version", "--token-file", "--rate-limit", "--batch-size"}
API |= {"--concurrency"}
CONTRACT: dict[tuple[str, ...], set[str]] = {
    ("validate",): {"--format", "--online"} | API,
    ("plan",): {"-o", "--format", "--detailed-exitcode", "--redact"} | API,
    ("apply",): {"--plan", "--auto-approve", "--allow-mass-change", "--journal"} | API,
    ("audit",): {"--format", "-o", "--redact"} | API,
    ("export",): {"--subscribers", "--business-unit", "-o"} | API,
    ("definitions",): {"--business-unit", "--format"} | API,
    ("doctor",): API,
    ("emulator", "serve"): {
        "--host",
        "--port",
        "--db",
        "--seed",
        "--token",
        "--rate-limit",
        "--rate-window-ms",
        "--batch-limit",
        "--latency-ms",
        "--fault-rate",
        "--faults",
    },
}
FORMATS = {
    "validate": ["text", "json", "github"],
    "plan": ["text", "json", "markdown"],
    "audit": ["text", "json", "markdown", "html"],
    "definitions": ["text", "json"],
}


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


@pytest.mark.parametrize("path", list(CONTRACT), ids=" ".join)
def test_every_contract_flag_exists(path: tuple[str, ...]) -> None:
    """Each command has the flags of design §4 (names are frozen), plus the common ones."""
    flags = {opt for param in _command(path).params for opt in param.opts}
    assert (CONTRACT[path] | COMMON) - flags == set()


@pytest.mark.parametrize("name", list(FORMATS))
def test_format_choices_are_the_contract_ones(name: str) -> None:
    """--format offers exactly the formats of design §4, in that order."""
    [option] = [p for p in _command((name,)).params if "--format" in p.opts]
    assert isinstance(option.type, click.Choice)
    assert list(option.type.choices) == FORMATS[name]
