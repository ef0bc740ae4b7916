"""docs/commands.md shows real output: every example in it is run here and compared.

The page says its examples ran against ``hsprefs emulator serve --port 8080 --seed
examples/emulator-seed.yaml`` from ``examples/``; so do these, in-process. Each console
block is split into its ``$`` commands and what each printed (stdout, then stderr).
What differs from run to run is made the same on both sides first: correlationIds
(``[correlationId ...]``), the report's ``created_at``, and the random ``--redact``
masks (numbered by first appearance). A line ``...`` in the page stands for lines left
out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from reconciler.cli import run
from reconciler.client import RetryPolicy
from reconciler.emulator import EmulatorSettings, create_app
from tests.cli_hub import Hub, point_at_emulator
from tests.flow.conftest import ROOT, SEED

DOC = ROOT / "docs" / "commands.md"
DOC_URL = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class Example:
    command: str  # the text after "$ "
    shown: str  # what the page says it printed


def examples(text: str) -> Iterator[Example]:
    """Every ``$`` command of the page's console blocks, with the lines shown after it."""
    for block in re.findall(r"^```console\n(.*?)^```$", text, re.S | re.M):
        command: str | None = None
        shown: list[str] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    yield Example(command, "".join(shown))
                command, shown = line[2:], []
            else:
                shown.append(line + "\n")
        if command is not None:
            yield Example(command, "".join(shown))


def _fenced_after(text: str, heading: str, opening: str) -> str:
    """The body of the first fenced block that opens with ``opening`` after ``heading``."""
    rest = text[text.index(heading) :]
    start = rest.index(opening + "\n") + len(opening) + 1
    return rest[start : rest.index("\n```\n", start) + 1]


def normalised(text: str) -> str:
    """What differs between runs made the same: correlationIds, times, masks."""
    text = re.sub(r"\[correlationId [^\]]*\]", "[correlationId ...]", text)
    text = re.sub(r'"created_at": "[^"]*"', '"created_at": "..."', text)
    masks: dict[str, str] = {}
    return re.sub(
        r"subscriber-[0-9a-f]{8}@",
        lambda m: masks.setdefault(m.group(0), f"subscriber-{len(masks) + 1}@"),
        text,
    )


def matches(shown: str, printed: str) -> bool:
    """Whether ``printed`` is ``shown``, where a line ``...`` of ``shown`` stands for any
    lines left out."""
    pattern = "".join(
        r"(?:.*\n)*?" if line.strip() in ("...", "...,") else re.escape(line + "\n")
        for line in normalised(shown).splitlines()
    )
    return re.fullmatch(pattern, normalised(printed)) is not None


class Runner:
    """hsprefs in the project, against a fresh emulator serving the demo portal."""

    def __init__(self, hub: Hub, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.hub = hub
        self.project = project
        self.capsys = capsys

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        result = self.hub.hsprefs(*args, stdin=stdin)
        return result.out + result.err


def _doctor_expired(r: Runner, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-expired")
    return r("doctor")


def _doctor_busy_window(r: Runner, _monkeypatch: pytest.MonkeyPatch) -> str:
    # --rate-limit 20, and another integration made 5 calls a moment ago.
    r.hub.admin("PATCH", "settings", {"rate_limit": 20})
    for _ in range(5):
        assert r.hub.api("GET", "/account-info/v3/details").status_code == 200
    return r("doctor", "--batch-size", "1")


def _definitions_of_another_shape(r: Runner, _monkeypatch: pytest.MonkeyPatch) -> str:
    def answer(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"results": "x"}, headers={"X-HubSpot-Correlation-Id": "c"})

    r.capsys.readouterr()
    run(["definitions"], transport=httpx.MockTransport(answer), retry=RetryPolicy.instant())
    captured = r.capsys.readouterr()
    return captured.out + captured.err


Step = Callable[[Runner, pytest.MonkeyPatch], str]


def _hsprefs(*args: str, stdin: str | None = None, files: dict[str, str] | None = None) -> Step:
    """Run hsprefs with ``args``, once ``files`` (name -> text) are written."""

    def step(r: Runner, _monkeypatch: pytest.MonkeyPatch) -> str:
        for name, text in (files or {}).items():
            (r.project / name).write_text(text, encoding="utf-8")
        return r(*args, stdin=stdin)

    return step


def _cat(name: str, *, files: dict[str, str] | None = None, after: Step | None = None) -> Step:
    """The file ``name``, once ``files`` are written or ``after`` ran."""

    def step(r: Runner, monkeypatch: pytest.MonkeyPatch) -> str:
        for written, text in (files or {}).items():
            (r.project / written).write_text(text, encoding="utf-8")
        if after is not None:
            after(r, monkeypatch)
        return (r.project / name).read_text(encoding="utf-8")

    return step


def _export_without_project(r: Runner, _monkeypatch: pytest.MonkeyPatch) -> str:
    (r.project / "hsprefs.yaml").unlink()
    stdin = "ivan@example.com\njudy@example.com\n"
    return r("export", "--subscribers", "-", "--business-unit", "5", stdin=stdin)


OUTDOOR = {
    "outdoor.csv": (
        "email,name\nIvan@Example.com,Ivan\njudy@example.com,Judy\nalice@example.com,Alice\n"
    )
}
EXPORTED = "subscribers/outdoor-export.yaml"
EXPORT_OUTDOOR = _hsprefs(
    "export", "--subscribers", "outdoor.csv", "--business-unit", "5", "-o", EXPORTED, files=OUTDOOR
)
# The inputs behind the page's refusals (the page shows only what was printed).
BAD_LINE = {"list.txt": "ann@example.com\nbob at example.com\n"}
TWO_EMAIL_COLUMNS = {"team.csv": "email,email\nann@example.com,ann@example.com\n"}
UNCLOSED = {"team.csv": 'email,name\na@example.com,A\nb@example.com,B\nc@ex.co.uk,"C\n'}
TWO = {"list.txt": "ann@example.com\nbob@example.com\n"}
CONTACTS = {
    "contacts.csv": (
        "email\nalice@example.com\nbob@example.com\nivan@example.com\njudy@example.com\n"
    )
}


def _export(name: str, files: dict[str, str], *more: str, stdin: str | None = None) -> Step:
    return _hsprefs("export", "--subscribers", name, *more, files=files, stdin=stdin)


# Every example of the page, in its order: the command as the page shows it, and what
# runs it here.
CASES: list[tuple[str, Step]] = [
    ("hsprefs audit -o reports/today.html", _hsprefs("audit", "-o", "reports/today.html")),
    ("hsprefs plan -o /dev/full", _hsprefs("plan", "-o", "/dev/full")),
    ("hsprefs doctor", _hsprefs("doctor")),
    ("hsprefs doctor", _doctor_expired),
    ("hsprefs doctor --batch-size 1", _doctor_busy_window),
    ("hsprefs definitions", _hsprefs("definitions")),
    ("hsprefs definitions", _definitions_of_another_shape),
    ("cat outdoor.csv", _cat("outdoor.csv", files=OUTDOOR)),
    (
        f"hsprefs export --subscribers outdoor.csv --business-unit 5 -o {EXPORTED}",
        EXPORT_OUTDOOR,
    ),
    (f"cat {EXPORTED}", _cat(EXPORTED, after=EXPORT_OUTDOOR)),
    (
        "printf 'ivan@example.com\\njudy@example.com\\n' | hsprefs export --subscribers - "
        "--business-unit 5",
        _export_without_project,
    ),
    ("hsprefs export --subscribers list.txt", _export("list.txt", BAD_LINE)),
    ("hsprefs export --subscribers team.csv", _export("team.csv", TWO_EMAIL_COLUMNS)),
    ("hsprefs export --subscribers team.csv", _export("team.csv", UNCLOSED)),
    (
        "hsprefs export --subscribers - -o subscribers/all.yaml </dev/null",
        _export("-", {}, "-o", "subscribers/all.yaml", stdin=""),
    ),
    (
        "hsprefs export --subscribers list.txt --business-unit 9",
        _export("list.txt", TWO, "--business-unit", "9"),
    ),
    (
        "hsprefs export --business-unit all --subscribers contacts.csv",
        _export("contacts.csv", CONTACTS, "--business-unit", "all"),
    ),
    ("hsprefs init", _hsprefs("init")),
    ("hsprefs audit", _hsprefs("audit")),
    (
        "hsprefs audit --format markdown --redact",
        _hsprefs("audit", "--format", "markdown", "--redact"),
    ),
]


@pytest.fixture
def runner(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, project: Path
) -> Iterator[Runner]:
    """The page's set-up: the demo portal with the serve defaults, the examples folder."""
    point_at_emulator(monkeypatch)
    monkeypatch.setenv("HSPREFS_API_URL", DOC_URL)
    app = create_app(EmulatorSettings(seed=str(SEED)))
    try:
        yield Runner(Hub(app, capsys), project, capsys)
    finally:
        app.state.emulator.close()


def test_every_example_of_the_page_has_a_case() -> None:
    """The page's commands are these cases, in order: a new example needs its case."""
    documented = [example.command for example in examples(DOC.read_text(encoding="utf-8"))]
    assert documented == [command for command, _step in CASES]


@pytest.mark.parametrize("index", range(len(CASES)))
def test_an_example_prints_what_the_page_shows(
    runner: Runner, monkeypatch: pytest.MonkeyPatch, index: int
) -> None:
    """One example: the command printed exactly what the page shows after it."""
    command, step = CASES[index]
    if command.endswith("/dev/full") and not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    shown = list(examples(DOC.read_text(encoding="utf-8")))[index].shown
    printed = step(runner, monkeypatch)
    assert matches(shown, printed), printed


def test_the_json_excerpt_is_real(runner: Runner) -> None:
    """The audit JSON excerpt is the start and the end of the real document."""
    excerpt = _fenced_after(DOC.read_text(encoding="utf-8"), "An excerpt:", "```json")
    assert matches(excerpt, runner("audit", "--format", "json"))


def test_the_matcher_can_fail() -> None:
    """A line of the page that differs, or lines left out without ``...``, do not match."""
    assert matches("a\n...\nd\n", "a\nb\nc\nd\n")
    assert not matches("a\nd\n", "a\nb\nc\nd\n")
    assert not matches("a\nx\n", "a\nb\n")
    assert matches("[correlationId 0a1b...]\n", "[correlationId 5e2c-99]\n")
