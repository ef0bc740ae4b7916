"""End-to-end fixtures: the CLI in-process against the emulator seeded from examples/."""

from __future__ import annotations

import shutil
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


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of examples/ in a temporary folder, which is also the working directory."""
    target = tmp_path / "config"
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns("*.py", "emulator-seed.yaml"))
    monkeypatch.chdir(target)
    return target
