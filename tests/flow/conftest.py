"""End-to-end fixtures: the CLI in-process against the emulator seeded from examples/."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator import EmulatorSettings, create_app
from tests.cli_hub import Hub, point_at_emulator

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SEED = EXAMPLES / "emulator-seed.yaml"


@pytest.fixture
def hub(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    point_at_emulator(monkeypatch)
    app = create_app(EmulatorSettings(seed=str(SEED), rate_limit=0))
    try:
        yield Hub(app, capsys)
    finally:
        app.state.emulator.close()


# When the copy of examples/ was committed: after every timestamp of the seed, so the
# newer-change rule blocks only what a test changes through HubSpot's API itself.
COMMITTED = "2026-11-01T00:00:00+0000"


def commit_config(folder: Path) -> None:
    """Make ``folder`` a git repository with its files committed at COMMITTED, as a
    config repository is (without git, plan notes that declarations count as now)."""
    if shutil.which("git") is None:
        return
    env = {**os.environ, "GIT_AUTHOR_DATE": COMMITTED, "GIT_COMMITTER_DATE": COMMITTED}
    for args in (
        ["init", "-q"],
        ["add", "."],
        ["commit", "-q", "--no-verify", "-m", "config"],
    ):
        subprocess.run(
            ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@example.com",
             "-c", "commit.gpgsign=false", *args],
            check=True, capture_output=True, env=env,
        )  # fmt: skip


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of examples/ in a temporary folder, committed to git (the config repository),
    which is also the working directory."""
    target = tmp_path / "config"
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns("*.py", "emulator-seed.yaml"))
    commit_config(target)
    monkeypatch.chdir(target)
    return target
