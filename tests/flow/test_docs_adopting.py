"""docs/adopting.md shows real output: its console blocks are run in order, in one
folder, against the demo portal, and must print what the page shows.

``$ hsprefs ...`` runs in-process against the emulator (``examples/emulator-seed.yaml``,
as the page says); any other ``$`` line (``cat``, ``sed``, ``printf``) runs in a shell in
the same folder. A line ``...`` of the page stands for lines left out; correlationIds,
times, checksums and ``--redact`` masks are made equal on both sides first.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator import EmulatorSettings, create_app
from tests.cli_hub import Hub, point_at_emulator
from tests.flow.conftest import ROOT, SEED
from tests.flow.test_docs_commands import DOC_URL, examples

DOC = ROOT / "docs" / "adopting.md"
CONTACTS = ROOT / "tests" / "fixtures" / "adopting-contacts.csv"


def _same(text: str) -> str:
    text = re.sub(r"\[correlationId [^\]]*\]", "[correlationId ...]", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "TIME", text)
    text = re.sub(r"\b20\d\d-\d\d-\d\d\b", "DATE", text)
    text = re.sub(r"sha256:[0-9a-f]{6,64}…?", "sha256:CHECKSUM", text)
    text = re.sub(r"\b[0-9a-f]{40}(\+dirty)?\b", "COMMIT", text)
    masks: dict[str, str] = {}
    return re.sub(
        r"subscriber-[0-9a-f]{8}@",
        lambda m: masks.setdefault(m.group(0), f"subscriber-{len(masks) + 1}@"),
        text,
    )


def _matches(shown: str, printed: str) -> bool:
    pattern = "".join(
        r"(?:.*\n)*?" if line.strip() == "..." else re.escape(line + "\n")
        for line in _same(shown).splitlines()
    )
    return re.fullmatch(pattern, _same(printed)) is not None


@pytest.fixture
def hub(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Hub]:
    point_at_emulator(monkeypatch)
    monkeypatch.setenv("HSPREFS_API_URL", DOC_URL)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "contacts.csv").write_bytes(CONTACTS.read_bytes())
    app = create_app(EmulatorSettings(seed=str(SEED)))
    try:
        yield Hub(app, capsys)
    finally:
        app.state.emulator.close()


def test_the_guide_prints_what_it_shows(hub: Hub, tmp_path: Path) -> None:
    """Every command of the guide, in order, printed exactly what the guide shows."""
    steps = list(examples(DOC.read_text(encoding="utf-8")))
    assert len(steps) > 5
    for step in steps:
        if step.command.startswith("hsprefs "):
            stdin = None
            args = shlex.split(step.command)[1:]
            if "<" in args:
                at = args.index("<")
                stdin = (tmp_path / args[at + 1]).read_text(encoding="utf-8")
                args = args[:at]
            result = hub.hsprefs(*args, stdin=stdin)
            printed = result.out + result.err
        else:
            done = subprocess.run(
                ["/bin/sh", "-c", step.command],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                check=False,
                timeout=30,
            )
            printed = done.stdout + done.stderr
        assert _matches(step.shown, printed), f"$ {step.command}\n{printed}"
