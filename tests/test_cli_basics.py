"""The command-line skeleton: version, help, exit codes and error lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
        # The Commands block ends at the blank line before the help's example.
        for line in result.output.split("Commands:\n", 1)[1].split("\n\n", 1)[0].splitlines()
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
        "init",
        "history",
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
    ("init",): {"--subscribers"} | API,
    ("history",): {"--journal", "--live", "--format"} | API,
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
    "history": ["text", "json", "markdown"],
}


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None, name
        command = found
    return command


@pytest.mark.parametrize("path", list(CONTRACT), ids=" ".join)
def test_every_contract_flag_exists(path: tuple[str, ...]) -> None:
    """Each command has the flags of the contract (names are frozen), plus the common ones."""
    flags = {opt for param in _command(path).params for opt in param.opts}
    assert (CONTRACT[path] | COMMON) - flags == set()


@pytest.mark.parametrize("name", list(FORMATS))
def test_format_choices_are_the_contract_ones(name: str) -> None:
    """--format offers exactly the formats of the contract, in that order."""
    [option] = [p for p in _command((name,)).params if "--format" in p.opts]
    assert isinstance(option.type, click.Choice)
    assert list(option.type.choices) == FORMATS[name]


# -- bad connection settings: one line naming the flag or file, before any request --------

URL_HINT = "(give a URL such as https://api.hubapi.com or http://127.0.0.1:8765)"


@pytest.fixture
def token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A valid token in the environment, and no API URL from it."""
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-basics-test")
    monkeypatch.delenv("HSPREFS_API_URL", raising=False)


def _error_line(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run hsprefs with a transport that fails the test if a request is made."""
    import httpx

    def no_request(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"no request expected, got {request.url}")

    assert run(args, transport=httpx.MockTransport(no_request)) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


def test_a_token_file_that_is_not_utf8_is_one_line(
    tmp_path: Path, token_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A token file holding FF FE (UTF-16's mark) names the file and says what to put in it."""
    token = tmp_path / "tok.txt"
    token.write_bytes(b"\xff\xfe")
    err = _error_line(["definitions", "--token-file", str(token)], capsys)
    assert err == (
        f"hsprefs: error: token file {token} is not UTF-8 text (save only the private app's "
        "token in it, as plain text)\n"
    )


def test_a_token_file_with_a_byte_order_mark_is_read(
    tmp_path: Path, token_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """An editor's UTF-8 byte-order mark is not part of the token."""
    from reconciler.settings import read_token

    token = tmp_path / "tok.txt"
    token.write_bytes(b"\xef\xbb\xbfpat-na1-with-bom\n")
    assert read_token(token) == "pat-na1-with-bom"


def test_a_token_file_that_is_a_directory_is_one_line(
    tmp_path: Path, token_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder given as --token-file is a usage error naming the flag."""
    err = _error_line(["definitions", "--token-file", str(tmp_path)], capsys)
    assert err == (
        f"hsprefs: error: Invalid value for '--token-file': File '{tmp_path}' is a directory. "
        "(see 'hsprefs definitions --help')\n"
    )


def test_a_missing_token_file_is_one_line(
    tmp_path: Path, token_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A token file that does not exist is named, with what to check."""
    missing = tmp_path / "nope.txt"
    err = _error_line(["definitions", "--token-file", str(missing)], capsys)
    assert err == (
        f"hsprefs: error: cannot read token file {missing}: No such file or directory "
        "(check the path given to --token-file and that you may read it)\n"
    )


NOT_A_HOST = "is neither an IP address nor a host name"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:99999", "its port must be a number from 1 to 65535"),
        ("http://127.0.0.1:abc", "its port must be a number from 1 to 65535"),
        ("http://127.0.0.1:0", "its port must be a number from 1 to 65535"),
        ("https://[::1", "its host is not a valid address"),
        ("https://999.1.1.1", f"'999.1.1.1' {NOT_A_HOST}"),
        ("https://-api-.example.com", f"'-api-.example.com' {NOT_A_HOST}"),
        ("https://api..example.com", f"'api..example.com' {NOT_A_HOST}"),
    ],
)
def test_an_api_url_that_cannot_work_is_one_line(
    url: str, reason: str, token_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad port or host in --api-url is named before any request (no internal error)."""
    err = _error_line(["definitions", "--api-url", url], capsys)
    assert err == f"hsprefs: error: invalid API URL {url!r} in --api-url: {reason} {URL_HINT}\n"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8/api?x=1", "https://api.hubapi.com/#top"])
def test_an_api_url_with_a_query_or_fragment_is_refused(
    url: str, token_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A query or fragment would be dropped silently: refused, naming the flag."""
    err = _error_line(["definitions", "--api-url", url], capsys)
    assert err == (
        f"hsprefs: error: invalid API URL {url!r} in --api-url: it has a query or fragment "
        "(after '?' or '#') (give only the base URL, such as https://api.hubapi.com)\n"
    )


def test_an_api_url_with_credentials_is_refused_without_quoting_them(
    token_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """user:password@ in the URL is refused, and the line does not repeat them."""
    err = _error_line(["definitions", "--api-url", "https://me:s3cret@api.hubapi.com"], capsys)
    assert err == (
        "hsprefs: error: the API URL in --api-url holds a user name or password (give the "
        "URL without them; the token goes in HUBSPOT_ACCESS_TOKEN or --token-file)\n"
    )


def test_a_bad_api_url_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, token_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same checks apply to HSPREFS_API_URL, and the line names it."""
    monkeypatch.setenv("HSPREFS_API_URL", "http://127.0.0.1:99999")
    err = _error_line(["definitions"], capsys)
    assert err == (
        "hsprefs: error: invalid API URL 'http://127.0.0.1:99999' in HSPREFS_API_URL: its "
        f"port must be a number from 1 to 65535 {URL_HINT}\n"
    )


@pytest.mark.parametrize(
    "url",
    ["https://api.hubapi.com", "http://127.0.0.1:8765", "http://[::1]:8765", "https://例え.jp"],
)
def test_good_api_urls_pass_the_shape_check(url: str) -> None:
    """Host names (international ones too), IPv4 and IPv6 literals with ports pass."""
    from reconciler.settings import check_api_url as check_url_shape

    check_url_shape(url, "--api-url")


def test_a_path_prefix_is_kept() -> None:
    """A path is a prefix (a gateway in front of HubSpot), not an error."""
    from reconciler.settings import resolve_api_settings

    settings = resolve_api_settings(
        api_url="https://gateway.example.com/hubspot/",
        api_version=None,
        token_file=None,
        rate_limit=None,
        batch_size=None,
        concurrency=None,
        environ={"HUBSPOT_ACCESS_TOKEN": "pat-na1-basics-test"},
    )
    assert settings.api_url == "https://gateway.example.com/hubspot"


@pytest.mark.parametrize(
    ("flag", "said"),
    [
        ("--formt", "No such option '--formt'. Did you mean '--format'?"),
        (
            "--api-ver",
            "No such option '--api-ver'. (Did you mean one of: '--api-mode', '--api-url', "
            "'--api-version'?)",
        ),
    ],
)
def test_a_misspelt_option_gets_one_wording_on_every_click(
    flag: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """hsprefs words an unknown option itself: click's own words changed in 8.4."""
    assert run(["validate", flag]) == 1
    assert capsys.readouterr().err == f"hsprefs: error: {said} (see 'hsprefs validate --help')\n"


def test_the_console_entry_point_collects_garbage_rarely() -> None:
    """``hsprefs`` as a process raises the collector's thresholds before any command:
    a big plan's long-lived statuses are not walked again every 700 allocations."""
    code = (
        "import gc, sys\n"
        "import reconciler.cli as c\n"
        "c.run = lambda: print(gc.get_threshold()) or 0\n"
        "c.main()\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert shown == "(50000, 20, 20)\n"
