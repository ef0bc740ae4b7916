"""Help pages: options that do nothing for a command are not listed (but still
accepted), every command's help ends with a real example, and shell completion works."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from reconciler.cli import cli, run
from reconciler.emulator import EmulatorSettings, create_app
from tests.cli_hub import Hub, point_at_emulator

ROOT = Path(__file__).resolve().parents[1]
# Every command, in the order their examples build on each other (apply's applies the
# plan that plan's example saved).
COMMANDS = [
    (),
    ("validate",),
    ("plan",),
    ("apply",),
    ("audit",),
    ("export",),
    ("definitions",),
    ("doctor",),
    ("init",),
    ("history",),
    ("emulator",),
    ("emulator", "serve"),
]

HIDDEN = {
    ("validate",): ["--rate-limit", "--batch-size", "--concurrency"],
    ("definitions",): ["--rate-limit", "--batch-size", "--concurrency"],
    ("emulator", "serve"): ["--no-progress"],
}


def help_of(*path: str) -> str:
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="hsprefs")
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path", list(HIDDEN), ids=" ".join)
def test_options_that_do_nothing_are_not_listed(path: tuple[str, ...]) -> None:
    """--rate-limit, --batch-size and --concurrency on validate and definitions (at most
    one call), --no-progress on emulator serve (no progress to draw): not in the help."""
    text = help_of(*path)
    for option in HIDDEN[path]:
        assert option not in text
    assert "--help" in text


@pytest.mark.parametrize("name", ["plan", "apply", "audit", "export", "doctor"])
def test_commands_that_send_calls_list_them(name: str) -> None:
    """Commands whose calls they tune still list them."""
    text = help_of(name)
    for option in ("--rate-limit", "--batch-size", "--concurrency"):
        assert option in text


def test_hidden_options_are_still_accepted(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """validate takes them (scripts that pass them everywhere keep working)."""
    monkeypatch.chdir(ROOT / "examples")
    code = run(["validate", "--rate-limit", "5", "--batch-size", "3", "--concurrency", "2"])
    assert code == 0
    assert (
        capsys.readouterr().out
        == "ok: 4 files, 10 subscribers, 12 managed statuses, 3 opt-out flags\n"
    )


def example_of(*path: str) -> list[str]:
    """The example lines a help page ends with."""
    text = help_of(*path)
    head, _, tail = text.rpartition("\n  Example:\n\n")
    assert head, f"{' '.join(path) or 'hsprefs'} --help has no example"
    lines = tail.splitlines()
    assert all(line.startswith("    hsprefs ") for line in lines), lines
    return [line.strip() for line in lines]


def test_every_command_is_covered() -> None:
    """The list above names every command and subcommand."""
    ctx = click.Context(cli)
    found = [()] + [(name,) for name in cli.list_commands(ctx)]
    emulator = cli.get_command(ctx, "emulator")
    assert isinstance(emulator, click.Group)
    found += [("emulator", name) for name in emulator.commands]
    assert sorted(found) == sorted(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "hsprefs")
def test_help_ends_with_an_example(path: tuple[str, ...]) -> None:
    """Every --help ends with an example, as typed at a shell."""
    assert example_of(*path)


@pytest.fixture
def demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Hub]:
    """The repository's examples/ in a scratch folder, and the demo emulator."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    point_at_emulator(monkeypatch)
    app = create_app(EmulatorSettings(seed=str(ROOT / "examples" / "emulator-seed.yaml")))
    try:
        yield Hub(app, capsys)
    finally:
        app.state.emulator.close()


def test_the_examples_run(demo: Hub) -> None:
    """Each example, run as written against the demo emulator, succeeds (2 is plan's
    'changes' and audit's 'drift'); emulator serve's is parsed, not served."""
    for path in COMMANDS:
        for line in example_of(*path):
            args = shlex.split(line)[1:]
            if args[:2] == ["emulator", "serve"]:
                emulator = cli.get_command(click.Context(cli), "emulator")
                assert isinstance(emulator, click.Group)
                emulator.commands["serve"].make_context("serve", args[2:])
                continue
            result = demo.hsprefs(*args)
            assert result.code in (0, 2), f"{line}: {result.err}"
    assert Path("plan.json").exists()
    # a sending line ahead of each call, and an answer line, per change
    assert len(Path("journal.jsonl").read_text("utf-8").splitlines()) == 16
    assert Path("audit.html").read_text("utf-8").startswith("<!DOCTYPE html>")
    assert Path("partners.yaml").exists()
    assert sorted(p.name for p in Path("exported").iterdir()) == ["account.yaml", "outdoor.yaml"]
    assert "erin@example.com" in Path("erin.md").read_text("utf-8")
    assert Path("portal-config/hsprefs.yaml").read_text("utf-8").startswith("# yaml-language")


def complete(env: dict[str, str]) -> str:
    """What the installed console script answers a shell-completion request with."""
    script = Path(sys.executable).parent / "hsprefs"
    assert script.exists(), "the hsprefs console script is not installed"
    done = subprocess.run(
        [str(script)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("shell", "start"),
    [
        ("bash", "_hsprefs_completion() {"),
        ("zsh", "#compdef hsprefs"),
        ("fish", "function _hsprefs_completion"),
    ],
)
def test_completion_scripts(shell: str, start: str) -> None:
    """_HSPREFS_COMPLETE=<shell>_source prints the script README.md says to install."""
    assert complete({"_HSPREFS_COMPLETE": f"{shell}_source"}).lstrip().startswith(start)


def test_completion_answers() -> None:
    """Commands and options complete; hidden options are not offered."""
    commands = complete(
        {"_HSPREFS_COMPLETE": "bash_complete", "COMP_WORDS": "hsprefs pl", "COMP_CWORD": "1"}
    )
    assert commands == "plain,plan\n"
    options = complete(
        {
            "_HSPREFS_COMPLETE": "bash_complete",
            "COMP_WORDS": "hsprefs validate --",
            "COMP_CWORD": "2",
        }
    ).splitlines()
    assert "plain,--online" in options
    assert "plain,--rate-limit" not in options
